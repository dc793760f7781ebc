//! The HTTP API (axum, JSON). Resources live under `/v1` and need an API key;
//! `/healthz` and `/openapi.json` do not. Every route is registered in
//! [`routes`] from its handler's `#[utoipa::path]`, which is also what
//! `/openapi.json` describes.

mod api_keys;
mod audit;
mod auth;
mod body;
mod catalog;
mod catalog_csv;
mod clients;
mod day_close;
mod departments;
mod envelope;
mod error;
mod health_plans;
mod invoices;
mod language;
pub mod openapi;
mod payments;
mod plugin_config;
mod plugins;
mod settings;
mod terminals;

use axum::Router;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

pub use auth::Caller;
pub use error::ApiError;

use crate::service::Clinic;
use error::ErrorCode;

/// Largest plugin upload accepted.
const MAX_PLUGIN_BYTES: usize = 16 * 1024 * 1024;

/// What every handler can reach: the clinic, and through it its store and
/// plugin runtime (one copy of each, not a second one beside it).
#[derive(Clone)]
pub struct AppState {
    pub clinic: Clinic,
}

impl AppState {
    pub fn new(clinic: Clinic) -> Self {
        Self { clinic }
    }
}

pub fn router(state: AppState) -> Router {
    let (routes, _) = routes().split_for_parts();
    routes
        .layer(axum::middleware::map_request(envelope::refuse_nul))
        .layer(axum::middleware::map_response(envelope::json_errors))
        .with_state(state)
}

/// Liveness: answers ok.
#[utoipa::path(
    get,
    path = "/healthz",
    summary = "Liveness: answers ok",
    extensions(("x-vetpay-role" = json!("public"))),
    responses((status = 200, description = "The host is up", content_type = "text/plain", body = String))
)]
async fn healthz() -> &'static str {
    "ok"
}

/// Every route, each with its OpenAPI operation: `routes!` adds both at once,
/// so what is served and what `/openapi.json` describes are the same list.
/// A route handlers of one path share is registered in one `routes!`.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::base())
        .routes(routes!(healthz))
        .routes(routes!(openapi::serve))
        .routes(routes!(departments::list, departments::create))
        .routes(routes!(departments::get))
        .routes(routes!(day_close::close))
        .routes(routes!(day_close::report))
        .routes(routes!(settings::organisation, settings::set_organisation))
        .routes(routes!(settings::department, settings::set_department))
        .routes(
            routes!(plugins::list, plugins::install)
                .layer(axum::extract::DefaultBodyLimit::max(MAX_PLUGIN_BYTES)),
        )
        .routes(routes!(plugins::enable_market, plugins::disable_market))
        .routes(routes!(
            plugin_config::organisation,
            plugin_config::set_organisation
        ))
        .routes(routes!(
            plugin_config::allowed_hosts,
            plugin_config::set_allowed_hosts
        ))
        .routes(routes!(
            plugin_config::department_settings,
            plugin_config::set_department_settings
        ))
        .routes(routes!(terminals::list, terminals::create))
        .routes(routes!(terminals::get, terminals::remove))
        .routes(routes!(terminals::reconcile))
        .routes(routes!(terminals::provider_terminals))
        .routes(routes!(clients::list, clients::create))
        .routes(routes!(clients::get))
        .routes(routes!(clients::patients, clients::create_patient))
        .routes(routes!(clients::cards, clients::save_card))
        .routes(routes!(clients::delete_card))
        .routes(routes!(clients::set_default_card))
        .routes(routes!(clients::prepayments, clients::create_prepayment))
        .routes(routes!(catalog::search, catalog::create))
        .routes(routes!(catalog::get, catalog::change))
        .routes(routes!(catalog::discounts, catalog::create_discount))
        .routes(routes!(catalog::change_discount))
        .routes(routes!(catalog_csv::export))
        .routes(routes!(catalog_csv::import))
        .routes(routes!(invoices::list, invoices::create))
        .routes(routes!(invoices::get))
        .routes(routes!(invoices::replace_lines))
        .routes(routes!(invoices::finalise))
        .routes(routes!(invoices::credit_note))
        .routes(routes!(invoices::payments, invoices::pay))
        .routes(routes!(payments::get))
        .routes(routes!(payments::events))
        .routes(routes!(payments::abort))
        .routes(routes!(payments::resolve))
        .routes(routes!(payments::refunds, payments::refund))
        .routes(routes!(health_plans::plans, health_plans::create_plan))
        .routes(routes!(health_plans::plan))
        .routes(routes!(
            health_plans::subscriptions,
            health_plans::subscribe
        ))
        .routes(routes!(health_plans::subscription))
        .routes(routes!(health_plans::activate))
        .routes(routes!(health_plans::cancel))
        .routes(routes!(health_plans::period_invoice))
        .routes(routes!(health_plans::runs, health_plans::start_run))
        .routes(routes!(health_plans::run))
        .routes(routes!(api_keys::list, api_keys::create))
        .routes(routes!(api_keys::revoke))
        .routes(routes!(api_keys::rotate))
        .routes(routes!(audit::list))
        .fallback(|| async {
            ApiError::new(
                ErrorCode::NotFound,
                "no such route; GET /openapi.json lists every route",
            )
        })
}
