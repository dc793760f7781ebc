//! API errors: `{"error":{"code":"...","message":"..."}}` with the right status.
//! Every message says what was wrong and how to fix it.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::plugin::CallError;
use crate::plugin::bindings::PluginError;
use crate::service::ServiceError;
use crate::store::{Conflict, StoreError};

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the request could not be completed; nothing was changed, try again",
        )
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no {what} with this id in your organisation"),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "error": { "code": self.code, "message": self.message } });
        (self.status, Json(body)).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Invalid { field, message } => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                format!("{field}: {message}"),
            ),
            StoreError::Conflict(c) => {
                let code = match c {
                    Conflict::TerminalBusy { .. } => "terminal_busy",
                    _ => "conflict",
                };
                let message = match how_to_fix(&c) {
                    Some(hint) => format!("{c}{hint}"),
                    None => c.to_string(),
                };
                Self::new(StatusCode::CONFLICT, code, message)
            }
            // Never the caller's fault: the log names the row, the caller
            // learns only that it failed.
            StoreError::Corrupt {
                table,
                column,
                row,
                value,
            } => {
                tracing::error!(table, column, row = %row, value = %value, "corrupt stored value");
                Self::internal()
            }
            // A plugin secret that does not open with this host's keys: the
            // operator must start it with the right key. The message names the
            // key id only, never a value.
            StoreError::Vault(e) => {
                tracing::error!(error = %e, "a plugin secret does not open");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "secret_unavailable",
                    e.to_string(),
                )
            }
            other => {
                // The details stay in the log; the caller learns only that it failed.
                tracing::error!(error = %other, "store failure");
                Self::internal()
            }
        }
    }
}

/// The route that resolves a conflict, where one does: the store speaks of
/// rules, the API of how to move on.
fn how_to_fix(c: &Conflict) -> Option<String> {
    Some(match c {
        Conflict::InvoiceBeingPaid { payment_id } => format!(" (GET /v1/payments/{payment_id})"),
        Conflict::InvoiceIsDraft => " (POST /v1/invoices/{id}/finalise)".to_owned(),
        Conflict::KeyRevoked | Conflict::KeyExpired => {
            "; make a new one with POST /v1/api-keys".to_owned()
        }
        Conflict::PluginNotEnabled {
            plugin_id, market, ..
        } => format!("; an admin enables it with PUT /v1/plugins/{plugin_id}/markets/{market}"),
        _ => return None,
    })
}

/// JSON bodies that do not parse get a 400 that says why, not axum's plain text.
impl From<axum::extract::rejection::JsonRejection> for ApiError {
    fn from(r: axum::extract::rejection::JsonRejection) -> Self {
        Self::new(r.status(), "bad_request", r.body_text())
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Store(e) => e.into(),
            ServiceError::NotFound(m) => Self::new(StatusCode::NOT_FOUND, "not_found", m),
            ServiceError::Unavailable(m) => {
                Self::new(StatusCode::SERVICE_UNAVAILABLE, "plugin_unavailable", m)
            }
            ServiceError::NotDone(m) => Self::new(StatusCode::UNPROCESSABLE_ENTITY, "not_done", m),
            ServiceError::Plugin(e) => e.into(),
        }
    }
}

/// A plugin call that failed while the caller waited (abort, save card, End of Day).
impl From<CallError> for ApiError {
    fn from(e: CallError) -> Self {
        let message = e.to_string();
        match (&e, e.plugin_error()) {
            (_, Some(PluginError::Configuration(c))) => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "plugin_configuration",
                format!(
                    "{message}; an admin sets '{}' at /v1/plugins/{{id}}/settings or /v1/departments/{{id}}/plugins/{{plugin}}/settings",
                    c.setting
                ),
            ),
            (_, Some(PluginError::Terminal(_))) => {
                Self::new(StatusCode::CONFLICT, "terminal_unavailable", message)
            }
            (_, Some(PluginError::NotSupported(_)))
            | (CallError::NotSupported { .. }, _)
            | (CallError::MarketNotServed { .. }, _)
            | (CallError::CurrencyNotServed { .. }, _)
            | (CallError::InvalidRequest(_), _) => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, "not_supported", message)
            }
            (CallError::Busy { .. }, _) => {
                Self::new(StatusCode::SERVICE_UNAVAILABLE, "plugin_busy", message)
            }
            _ => Self::new(StatusCode::BAD_GATEWAY, "provider_error", message),
        }
    }
}
