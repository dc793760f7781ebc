//! Starting a host: the runtime (with the database-backed plugin cache when
//! the database is shared), the service and its recovery job, the API and the
//! clinic console.

use std::sync::Arc;

use crate::api::{AppState, router};
use crate::plugin::kv::MemoryCache;
use crate::plugin::{Runtime, RuntimeConfig};
use crate::service::{Clinic, ClinicConfig};
use crate::store::{Backend, DbCache, Store};

/// Builds the service over `store`. On PostgreSQL the plugins' cache lives in
/// the database so that every host sees it (Gravity hands the transaction
/// token from `process` to `abort` through it).
pub fn clinic(
    store: Store,
    runtime: RuntimeConfig,
    config: ClinicConfig,
) -> Result<Clinic, crate::plugin::runtime::RuntimeError> {
    let runtime = match store.backend() {
        Backend::Postgres => Runtime::with_cache(runtime, Arc::new(DbCache::new(store.clone())))?,
        Backend::Sqlite => Runtime::with_cache(runtime, Arc::new(MemoryCache::default()))?,
    };
    Ok(Clinic::new(store, runtime, config))
}

/// The API and, around it, the clinic console: the console's pages first,
/// every other path (`/v1/...`, `/healthz`, `/openapi.json`) to the API. The
/// console calls the same API router for everything it shows and does.
pub fn app(clinic: Clinic) -> axum::Router {
    let api = router(AppState::new(clinic.clone()));
    crate::console::router(clinic, api.clone()).fallback_service(api)
}

/// Serves the API and the console on `listener` with the recovery job running, until the
/// future is dropped or the listener fails.
pub async fn serve(listener: tokio::net::TcpListener, clinic: Clinic) -> std::io::Result<()> {
    let recovery = clinic.start_recovery();
    let billing = clinic.start_billing_schedule();
    let relay = clinic.start_relay().await;
    let result = axum::serve(listener, app(clinic)).await;
    recovery.abort();
    if let Some(r) = relay {
        r.abort();
    }
    if let Some(b) = billing {
        b.abort();
    }
    result
}
