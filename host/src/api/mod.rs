//! The HTTP API (axum, JSON). Resources live under `/v1` and need an API key;
//! `/healthz` does not. Issue 5 is building it out; today it serves tenancy
//! settings and plugin administration.

mod auth;
mod departments;
mod error;
mod plugins;
mod settings;

use axum::Router;
use axum::routing::get;

pub use auth::Caller;
pub use error::ApiError;

use crate::plugin::Runtime;
use crate::store::Store;

/// Largest plugin upload accepted.
const MAX_PLUGIN_BYTES: usize = 16 * 1024 * 1024;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub runtime: Runtime,
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/v1/departments",
            get(departments::list).post(departments::create),
        )
        .route("/v1/departments/{id}", get(departments::get))
        .route(
            "/v1/settings",
            get(settings::organisation).put(settings::set_organisation),
        )
        .route(
            "/v1/departments/{id}/settings",
            get(settings::department).put(settings::set_department),
        )
        .route(
            "/v1/plugins",
            get(plugins::list)
                .post(plugins::install)
                .layer(axum::extract::DefaultBodyLimit::max(MAX_PLUGIN_BYTES)),
        )
        .route(
            "/v1/plugins/{id}/markets/{country}",
            axum::routing::put(plugins::enable_market).delete(plugins::disable_market),
        )
        .with_state(state)
}
