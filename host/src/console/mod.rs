//! The clinic console: the counter's pages (invoices, payments and the
//! terminal dialog, refunds, clients) and the admin pages, server-rendered
//! and served by vetpay itself at `/`. Every page reads and writes through
//! the JSON API (`backend`), as the signed-in key, so roles, rules and the
//! audit trail are the API's; the browser only adds the live dialog
//! (`assets/console.js`, the browser's own `EventSource`).

mod admin;
mod assets;
mod backend;
mod catalog;
mod clients;
mod closing;
mod counter;
mod error;
pub mod i18n;
mod items;
mod render;
mod session;
mod sign_in;

use axum::Router;
use axum::extract::{FromRequestParts, OriginalUri};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde_json::Value;

pub use backend::Backend;
pub use error::ConsoleError;
use render::{Frame, Templates};
use session::{Flash, Sessions, Signed};

use crate::service::Clinic;

/// What the console's handlers share.
#[derive(Clone)]
pub struct ConsoleState {
    /// Only for checking a key at sign-in, as the API's own auth does.
    clinic: Clinic,
    backend: Backend,
    sessions: Sessions,
    templates: Templates,
}

/// The console's routes; `api` is the JSON API router the pages call.
pub fn router(clinic: Clinic, api: Router) -> Router {
    let state = ConsoleState {
        sessions: Sessions::new(clinic.store().clone()),
        clinic,
        backend: Backend::new(api),
        templates: Templates::new(),
    };
    Router::new()
        .route("/", get(|| async { Redirect::to("/invoices") }))
        .route("/sign-in", get(sign_in::page).post(sign_in::submit))
        .route("/sign-out", post(sign_in::sign_out))
        .route("/lang/{code}", get(sign_in::switch_language))
        .route("/assets/{file}", get(assets::serve))
        .route("/invoices", get(counter::invoices))
        .route("/invoices/{id}", get(counter::invoice))
        .route("/invoices/{id}/finalise", post(counter::finalise))
        .route("/invoices/{id}/credit-note", post(counter::credit_note))
        .route(
            "/invoices/{id}/pay",
            get(counter::pay_form).post(counter::pay),
        )
        .route("/payments/{id}/events", get(counter::events))
        .route("/payments/{id}/abort", post(counter::abort))
        .route(
            "/payments/{id}/refund",
            get(counter::refund_form).post(counter::refund),
        )
        .route("/clients", get(clients::list))
        .route("/clients/{id}", get(clients::show))
        .route("/clients/{id}/deposit", post(clients::deposit))
        .route("/clients/{id}/health-plans", post(clients::sign_up))
        .route(
            "/clients/{id}/subscriptions/{sub}/activate",
            post(clients::activate),
        )
        .route(
            "/clients/{id}/cards/{card}/default",
            post(clients::set_default),
        )
        .route(
            "/clients/{id}/cards/{card}/delete",
            post(clients::delete_card),
        )
        .route("/admin/plugins", get(admin::plugins).post(admin::upload))
        .route("/admin/plugins/{id}", get(admin::plugin))
        .route("/admin/plugins/{id}/markets", post(admin::market))
        .route("/admin/plugins/{id}/settings", post(admin::plugin_settings))
        .route(
            "/admin/plugins/{id}/allowed-hosts",
            post(admin::allowed_hosts),
        )
        .route(
            "/admin/terminals",
            get(admin::terminals).post(admin::add_terminal),
        )
        .route("/admin/terminals/{id}/end-of-day", post(admin::end_of_day))
        .route(
            "/admin/settings",
            get(admin::settings).post(admin::save_settings),
        )
        .route(
            "/admin/health-plans",
            get(catalog::health_plans).post(catalog::create_plan),
        )
        .route(
            "/admin/billing-runs",
            get(catalog::billing_runs).post(catalog::start_billing_run),
        )
        .route("/admin/billing-runs/{id}", get(catalog::billing_run))
        .route(
            "/admin/billing-runs/{id}/progress",
            get(catalog::billing_run_progress),
        )
        .route("/day-close", get(closing::page).post(closing::close))
        .route("/day-close/{department}/{date}", get(closing::report))
        .route("/admin/catalog", get(items::page).post(items::add))
        .route("/admin/catalog/{id}/archive", post(items::archive))
        .route("/admin/keys", get(admin::keys).post(admin::create_key))
        .route("/admin/keys/{id}/revoke", post(admin::revoke_key))
        .route("/admin/audit", get(admin::audit))
        .layer(axum::extract::DefaultBodyLimit::max(16 * 1024 * 1024))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            session::csrf_guard,
        ))
        .with_state(state)
}

/// A signed-in request: the state, the visitor, and the page's path.
pub(crate) struct Ctx {
    state: ConsoleState,
    signed: Signed,
    path: String,
    /// The message left for this page, taken from the session when a page
    /// (GET) is asked for, shown once.
    flash: std::sync::Mutex<Option<Flash>>,
}

impl FromRequestParts<ConsoleState> for Ctx {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ConsoleState,
    ) -> Result<Self, Self::Rejection> {
        let signed = Signed::from_request_parts(parts, state).await?;
        let uri = OriginalUri::from_request_parts(parts, state)
            .await
            .unwrap_or_else(|e| match e {});
        let flash = match parts.method {
            axum::http::Method::GET => state.sessions.take_flash(&signed.id, &signed.session).await,
            _ => None,
        };
        Ok(Ctx {
            state: state.clone(),
            flash: std::sync::Mutex::new(flash),
            signed,
            path: uri
                .0
                .path_and_query()
                .map(|p| p.to_string())
                .unwrap_or_default(),
        })
    }
}

impl Ctx {
    fn key(&self) -> &str {
        self.signed.key()
    }

    fn api(&self) -> &Backend {
        &self.state.backend
    }

    async fn get(&self, path: &str) -> Result<Value, ConsoleError> {
        self.state.backend.get(self.key(), path).await
    }

    fn frame(&self, nav: &'static str) -> Frame {
        let flash = self.flash.lock().unwrap_or_else(|p| p.into_inner()).take();
        Frame::of(&self.signed, nav, self.path.clone(), flash)
    }

    fn t(&self, key: &str) -> String {
        self.signed.lang.t(key)
    }

    fn render(&self, name: &str, nav: &'static str, data: Value) -> Result<Response, ConsoleError> {
        self.state.templates.page(name, self.frame(nav), data)
    }

    /// The page, or what went wrong in its place: a key that stopped working
    /// ends the session and asks to sign in again.
    fn finish(&self, nav: &'static str, result: Result<Response, ConsoleError>) -> Response {
        match result {
            Ok(r) => r,
            Err(ConsoleError::SignedOut) => {
                // The key stopped working: the session goes, whether or not
                // this write lands before the next request (which the key
                // would refuse again).
                let (sessions, id) = (self.state.sessions.clone(), self.signed.id.clone());
                tokio::spawn(async move { sessions.end(&id).await });
                Redirect::to("/sign-in").into_response()
            }
            Err(e) => self.state.templates.error(self.frame(nav), &e),
        }
    }

    /// After a form: back to `to`, with what happened shown there.
    async fn after(&self, to: &str, result: Result<String, ConsoleError>) -> Response {
        let flash = match result {
            Ok(text) => Flash {
                kind: "ok".into(),
                text,
            },
            Err(ConsoleError::SignedOut) => {
                self.state.sessions.end(&self.signed.id).await;
                return Redirect::to("/sign-in").into_response();
            }
            Err(ConsoleError::Forbidden) => {
                return self
                    .state
                    .templates
                    .error(self.frame(""), &ConsoleError::Forbidden);
            }
            Err(e) => Flash {
                kind: "error".into(),
                text: e.to_string(),
            },
        };
        self.state.sessions.flash(&self.signed.id, flash).await;
        Redirect::to(to).into_response()
    }
}

impl Ctx {
    /// After a payment form: back to `to` naming the payment, whose page
    /// opens the dialog while it runs or announces its result once final
    /// (a payment may be final before the page is shown).
    async fn to_payment(&self, to: &str, started: Result<Value, ConsoleError>) -> Response {
        match started {
            Ok(payment) => {
                let join = if to.contains('?') { '&' } else { '?' };
                let id = payment["id"].as_str().unwrap_or_default();
                Redirect::to(&format!("{to}{join}result={}", seg(id))).into_response()
            }
            Err(e) => self.after(to, Err(e)).await,
        }
    }
}

/// A path segment as the API wants it in a URL.
fn seg(id: &str) -> String {
    percent_encoding::utf8_percent_encode(id, percent_encoding::NON_ALPHANUMERIC).to_string()
}
