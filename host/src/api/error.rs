//! API errors: `{"error":{"code":"...","message":"..."}}` with the right status.
//! Every message says what was wrong and how to fix it.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::plugin::CallError;
use crate::plugin::types::PluginError;
use crate::service::ServiceError;
use crate::store::{Conflict, StoreError};

/// Every `error.code` the API answers, and the one place that gives each its
/// HTTP status. Listed in `/openapi.json` as the `ErrorCode` schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    BadRequest,
    Unauthorized,
    Forbidden,
    HealthPlansDisabled,
    NotFound,
    MethodNotAllowed,
    TooLarge,
    UnsupportedMediaType,
    Conflict,
    TerminalBusy,
    TerminalUnavailable,
    RevokingOwnKey,
    Invalid,
    InvalidPlugin,
    DestinationRefused,
    PluginConfiguration,
    NotSupported,
    NotDone,
    Internal,
    ProviderError,
    PluginBusy,
    PluginUnavailable,
    SecretUnavailable,
    /// An answer axum made itself with a status not listed here.
    Error,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 24] = [
        Self::BadRequest,
        Self::Unauthorized,
        Self::Forbidden,
        Self::HealthPlansDisabled,
        Self::NotFound,
        Self::MethodNotAllowed,
        Self::TooLarge,
        Self::UnsupportedMediaType,
        Self::Conflict,
        Self::TerminalBusy,
        Self::TerminalUnavailable,
        Self::RevokingOwnKey,
        Self::Invalid,
        Self::InvalidPlugin,
        Self::DestinationRefused,
        Self::PluginConfiguration,
        Self::NotSupported,
        Self::NotDone,
        Self::Internal,
        Self::ProviderError,
        Self::PluginBusy,
        Self::PluginUnavailable,
        Self::SecretUnavailable,
        Self::Error,
    ];

    pub fn status(self) -> StatusCode {
        use ErrorCode::*;
        match self {
            BadRequest => StatusCode::BAD_REQUEST,
            Unauthorized => StatusCode::UNAUTHORIZED,
            Forbidden | HealthPlansDisabled => StatusCode::FORBIDDEN,
            NotFound => StatusCode::NOT_FOUND,
            MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Conflict | TerminalBusy | TerminalUnavailable | RevokingOwnKey => StatusCode::CONFLICT,
            Invalid | InvalidPlugin | DestinationRefused | PluginConfiguration | NotSupported
            | NotDone => StatusCode::UNPROCESSABLE_ENTITY,
            Internal | Error => StatusCode::INTERNAL_SERVER_ERROR,
            ProviderError => StatusCode::BAD_GATEWAY,
            PluginBusy | PluginUnavailable | SecretUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    pub fn as_str(self) -> &'static str {
        use ErrorCode::*;
        match self {
            BadRequest => "bad_request",
            Unauthorized => "unauthorized",
            Forbidden => "forbidden",
            HealthPlansDisabled => "health_plans_disabled",
            NotFound => "not_found",
            MethodNotAllowed => "method_not_allowed",
            TooLarge => "too_large",
            UnsupportedMediaType => "unsupported_media_type",
            Conflict => "conflict",
            TerminalBusy => "terminal_busy",
            TerminalUnavailable => "terminal_unavailable",
            RevokingOwnKey => "revoking_own_key",
            Invalid => "invalid",
            InvalidPlugin => "invalid_plugin",
            DestinationRefused => "destination_refused",
            PluginConfiguration => "plugin_configuration",
            NotSupported => "not_supported",
            NotDone => "not_done",
            Internal => "internal",
            ProviderError => "provider_error",
            PluginBusy => "plugin_busy",
            PluginUnavailable => "plugin_unavailable",
            SecretUnavailable => "secret_unavailable",
            Error => "error",
        }
    }
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: ErrorCode,
    pub message: String,
}

impl ApiError {
    /// An error with `code`'s status ([`ErrorCode::status`]).
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::with_status(code.status(), code, message)
    }

    /// For answers whose status axum decided (its rejections, its own
    /// 404/405/413), wrapped in the envelope.
    pub fn with_status(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    fn internal() -> Self {
        Self::new(
            ErrorCode::Internal,
            "the request could not be completed; nothing was changed, try again",
        )
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(
            ErrorCode::NotFound,
            format!("no {what} with this id in your organisation"),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "error": { "code": self.code.as_str(), "message": self.message } });
        (self.status, Json(body)).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Invalid { field, message } => {
                Self::new(ErrorCode::Invalid, format!("{field}: {message}"))
            }
            StoreError::Conflict(c) => {
                let code = match c {
                    Conflict::TerminalBusy { .. } | Conflict::TerminalInUse { .. } => {
                        ErrorCode::TerminalBusy
                    }
                    _ => ErrorCode::Conflict,
                };
                let message = match how_to_fix(&c) {
                    Some(hint) => format!("{c}{hint}"),
                    None => c.to_string(),
                };
                Self::new(code, message)
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
                Self::new(ErrorCode::SecretUnavailable, e.to_string())
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
        Conflict::InvoiceBeingPaid { payment_id } | Conflict::TerminalInUse { payment_id, .. } => {
            format!(" (GET /v1/payments/{payment_id})")
        }
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
        Self::with_status(r.status(), ErrorCode::BadRequest, r.body_text())
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Store(e) => e.into(),
            ServiceError::NotFound(m) => Self::new(ErrorCode::NotFound, m),
            ServiceError::Unavailable(m) => Self::new(ErrorCode::PluginUnavailable, m),
            ServiceError::NotDone(m) => Self::new(ErrorCode::NotDone, m),
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
                ErrorCode::PluginConfiguration,
                format!(
                    "{message}; an admin sets '{}' at /v1/plugins/{{id}}/settings or /v1/departments/{{id}}/plugins/{{plugin}}/settings",
                    c.setting
                ),
            ),
            (_, Some(PluginError::Terminal(_))) => {
                Self::new(ErrorCode::TerminalUnavailable, message)
            }
            (_, Some(PluginError::NotSupported(_)))
            | (CallError::NotSupported { .. }, _)
            | (CallError::MarketNotServed { .. }, _)
            | (CallError::CurrencyNotServed { .. }, _)
            | (CallError::InvalidRequest(_), _) => Self::new(ErrorCode::NotSupported, message),
            (CallError::Busy { .. }, _) => Self::new(ErrorCode::PluginBusy, message),
            _ => Self::new(ErrorCode::ProviderError, message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_code_is_spelled_once_and_listed_in_the_openapi_document() {
        let doc = serde_json::to_value(crate::api::openapi::document()).unwrap();
        let listed = &doc["components"]["schemas"]["ErrorCode"]["enum"];
        let listed: Vec<&str> = listed
            .as_array()
            .unwrap_or_else(|| panic!("ErrorCode schema: {listed}"))
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
            assert!(seen.insert(code.as_str()), "{code:?} twice");
            assert!(
                listed.contains(&code.as_str()),
                "{code:?} not in {listed:?}"
            );
        }
        assert_eq!(listed.len(), ErrorCode::ALL.len());
        assert_eq!(
            doc["components"]["schemas"]["ErrorDetail"]["properties"]["code"]["$ref"],
            "#/components/schemas/ErrorCode"
        );
    }

    #[test]
    fn conflicts_are_decided_by_variant() {
        let busy = ApiError::from(StoreError::Conflict(Conflict::TerminalBusy {
            payment_id: Some("p1".into()),
            status: Some(crate::store::PaymentStatus::Unknown),
        }));
        assert_eq!(
            (busy.status, busy.code),
            (StatusCode::CONFLICT, ErrorCode::TerminalBusy)
        );
        assert!(
            busy.message.contains("payment p1 is unknown"),
            "{}",
            busy.message
        );
        // A terminal kept by its unknown payment: the same code, and how to move on.
        let kept = ApiError::from(StoreError::Conflict(Conflict::TerminalInUse {
            payment_id: "p3".into(),
            status: crate::store::PaymentStatus::Unknown,
        }));
        assert_eq!(
            (kept.status, kept.code),
            (StatusCode::CONFLICT, ErrorCode::TerminalBusy)
        );
        assert!(
            kept.message
                .starts_with("payment p3 is unknown on this terminal")
                && kept.message.contains("resolve the unknown payment first")
                && kept.message.ends_with("(GET /v1/payments/p3)"),
            "{}",
            kept.message
        );
        let paid = ApiError::from(StoreError::Conflict(Conflict::InvoiceBeingPaid {
            payment_id: "p2".into(),
        }));
        assert_eq!(
            (paid.status, paid.code),
            (StatusCode::CONFLICT, ErrorCode::Conflict)
        );
        assert!(
            paid.message.ends_with("(GET /v1/payments/p2)"),
            "{}",
            paid.message
        );
        let corrupt = ApiError::from(StoreError::Corrupt {
            table: "invoice_lines",
            column: "discount_percent",
            row: "i1:1".into(),
            value: "ten".into(),
        });
        assert_eq!(
            (corrupt.status, corrupt.code),
            (StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::Internal)
        );
        assert!(!corrupt.message.contains("ten"), "{}", corrupt.message);
    }
}
