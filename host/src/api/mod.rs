//! The HTTP API (axum, JSON). Resources live under `/v1` and need an API key;
//! `/healthz` and `/openapi.json` do not. Every route is listed in
//! [`openapi::ROUTES`], which `/openapi.json` is built from.

mod api_keys;
mod audit;
mod auth;
mod body;
mod clients;
mod departments;
mod envelope;
mod error;
mod health_plans;
mod invoices;
pub mod openapi;
mod payments;
mod plugin_config;
mod plugins;
mod settings;
mod terminals;

use axum::Router;
use axum::routing::{delete, get, post, put};

pub use auth::Caller;
pub use error::ApiError;

use crate::plugin::Runtime;
use crate::service::Clinic;
use crate::store::Store;
use error::ErrorCode;

/// Largest plugin upload accepted.
const MAX_PLUGIN_BYTES: usize = 16 * 1024 * 1024;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub runtime: Runtime,
    pub clinic: Clinic,
}

impl AppState {
    pub fn new(clinic: Clinic) -> Self {
        Self {
            store: clinic.store().clone(),
            runtime: clinic.runtime().clone(),
            clinic,
        }
    }
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/openapi.json", get(openapi::serve))
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
            put(plugins::enable_market).delete(plugins::disable_market),
        )
        .route(
            "/v1/plugins/{id}/settings",
            get(plugin_config::organisation).put(plugin_config::set_organisation),
        )
        .route(
            "/v1/plugins/{id}/allowed-hosts",
            get(plugin_config::allowed_hosts).put(plugin_config::set_allowed_hosts),
        )
        .route(
            "/v1/departments/{id}/plugins/{plugin}/settings",
            get(plugin_config::department_settings).put(plugin_config::set_department_settings),
        )
        .route(
            "/v1/departments/{id}/terminals",
            get(terminals::list).post(terminals::create),
        )
        .route("/v1/terminals/{id}/reconcile", post(terminals::reconcile))
        .route("/v1/clients", get(clients::list).post(clients::create))
        .route("/v1/clients/{id}", get(clients::get))
        .route(
            "/v1/clients/{id}/patients",
            get(clients::patients).post(clients::create_patient),
        )
        .route(
            "/v1/clients/{id}/cards",
            get(clients::cards).post(clients::save_card),
        )
        .route(
            "/v1/clients/{id}/cards/{card}",
            delete(clients::delete_card),
        )
        .route(
            "/v1/clients/{id}/cards/{card}/default",
            put(clients::set_default_card),
        )
        .route(
            "/v1/clients/{id}/prepayments",
            get(clients::prepayments).post(clients::create_prepayment),
        )
        .route("/v1/invoices", get(invoices::list).post(invoices::create))
        .route("/v1/invoices/{id}", get(invoices::get))
        .route("/v1/invoices/{id}/lines", put(invoices::replace_lines))
        .route("/v1/invoices/{id}/finalise", post(invoices::finalise))
        .route(
            "/v1/invoices/{id}/credit-notes",
            post(invoices::credit_note),
        )
        .route(
            "/v1/invoices/{id}/payments",
            get(invoices::payments).post(invoices::pay),
        )
        .route("/v1/payments/{id}", get(payments::get))
        .route("/v1/payments/{id}/events", get(payments::events))
        .route("/v1/payments/{id}/abort", post(payments::abort))
        .route("/v1/payments/{id}/resolve", post(payments::resolve))
        .route(
            "/v1/payments/{id}/refunds",
            get(payments::refunds).post(payments::refund),
        )
        .route(
            "/v1/health-plans",
            get(health_plans::plans).post(health_plans::create_plan),
        )
        .route("/v1/health-plans/{id}", get(health_plans::plan))
        .route(
            "/v1/subscriptions",
            get(health_plans::subscriptions).post(health_plans::subscribe),
        )
        .route("/v1/subscriptions/{id}", get(health_plans::subscription))
        .route(
            "/v1/subscriptions/{id}/activate",
            post(health_plans::activate),
        )
        .route("/v1/subscriptions/{id}/cancel", post(health_plans::cancel))
        .route(
            "/v1/subscriptions/{id}/invoices",
            post(health_plans::period_invoice),
        )
        .route(
            "/v1/billing-runs",
            get(health_plans::runs).post(health_plans::start_run),
        )
        .route("/v1/billing-runs/{id}", get(health_plans::run))
        .route("/v1/api-keys", get(api_keys::list).post(api_keys::create))
        .route("/v1/api-keys/{id}", delete(api_keys::revoke))
        .route("/v1/api-keys/{id}/rotate", post(api_keys::rotate))
        .route("/v1/audit-events", get(audit::list))
        .fallback(|| async {
            ApiError::new(
                ErrorCode::NotFound,
                "no such route; GET /openapi.json lists every route",
            )
        })
        .layer(axum::middleware::map_response(envelope::json_errors))
        .with_state(state)
}
