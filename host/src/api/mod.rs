//! The HTTP API (axum, JSON). Resources live under `/v1` and need an API key;
//! `/healthz` does not. Issue 5 is building it out; today it serves tenancy
//! and settings.

mod auth;
mod departments;
mod error;
mod settings;

use axum::Router;
use axum::routing::get;

pub use auth::Caller;
pub use error::ApiError;

use crate::store::Store;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
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
        .with_state(state)
}
