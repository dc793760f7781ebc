//! Starting a host: the runtime (with the database-backed plugin cache when
//! the database is shared), the service and its recovery job, and the API.

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

/// Serves the API on `listener` with the recovery job running, until the
/// future is dropped or the listener fails.
pub async fn serve(listener: tokio::net::TcpListener, clinic: Clinic) -> std::io::Result<()> {
    let recovery = clinic.start_recovery();
    let billing = clinic.start_billing_schedule();
    let relay = clinic.start_relay().await;
    let app = router(AppState::new(clinic));
    let result = axum::serve(listener, app).await;
    recovery.abort();
    if let Some(r) = relay {
        r.abort();
    }
    if let Some(b) = billing {
        b.abort();
    }
    result
}
