//! Request bodies and the `Idempotency-Key` header.

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::ApiError;
use super::error::ErrorCode;
use crate::store::{Idempotency, Payment, Started};

pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";

fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::BadRequest, message)
}

/// Parses a JSON body; serde's message names the field and what it expected.
pub fn json<T: DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    if body.is_empty() {
        return Err(bad_request("send a JSON object as the request body"));
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| bad_request(format!("the JSON body is not valid: {e}")))?;
    check_text(&value)?;
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." || path.is_empty() {
            bad_request(format!("the JSON body is not valid: {inner}"))
        } else {
            bad_request(format!("the JSON body is not valid at '{path}': {inner}"))
        }
    })
}

/// A body that may be left out: none, or JSON `null` (as `/openapi.json`
/// describes such a body), is `None`.
pub fn optional<T: DeserializeOwned>(body: &Bytes) -> Result<Option<T>, ApiError> {
    if body.is_empty() {
        return Ok(None);
    }
    json(body)
}

/// Longest name-like text (names, labels, species...), in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// Longest other text (descriptions, notes, setting values), in characters.
pub const MAX_TEXT_CHARS: usize = 4096;
/// Most items in one list (invoice lines, plan items, hosts, settings).
pub const MAX_ITEMS: usize = 1000;

/// Fields held to [`MAX_NAME_CHARS`].
const NAME_FIELDS: &[&str] = &[
    "name",
    "label",
    "species",
    "breed",
    "email",
    "phone",
    "code",
    "country",
    "currency",
    "time_zone",
    "device_id",
    "role",
];

/// Refuses, naming where, any string or list of a JSON body beyond its limit,
/// and any text with a NUL character: PostgreSQL cannot store one, and the
/// caller should hear so (422), not that the host failed (500).
pub fn check_text(value: &Value) -> Result<(), ApiError> {
    within_limits(value, &mut String::from("$"))
}

fn nul(path: &str) -> ApiError {
    ApiError::new(
        ErrorCode::Invalid,
        format!("{path}: contains a NUL character (U+0000), which cannot be stored; remove it"),
    )
}

fn within_limits(value: &Value, path: &mut String) -> Result<(), ApiError> {
    match value {
        Value::String(text) => {
            let field = path.rsplit('.').next().unwrap_or_default();
            let max = if NAME_FIELDS.contains(&field) {
                MAX_NAME_CHARS
            } else {
                MAX_TEXT_CHARS
            };
            if text.contains('\0') {
                return Err(nul(path));
            }
            if text.chars().count() > max {
                return Err(ApiError::new(
                    ErrorCode::Invalid,
                    format!("{path}: is longer than {max} characters; shorten it"),
                ));
            }
        }
        Value::Array(items) => {
            if items.len() > MAX_ITEMS {
                return Err(ApiError::new(
                    ErrorCode::Invalid,
                    format!("{path}: has more than {MAX_ITEMS} items; send fewer"),
                ));
            }
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                within_limits(item, path)?;
                path.truncate(len);
            }
        }
        Value::Object(fields) => {
            for (key, item) in fields {
                if key.contains('\0') {
                    return Err(nul(path));
                }
                if key.chars().count() > MAX_NAME_CHARS {
                    return Err(ApiError::new(
                        ErrorCode::Invalid,
                        format!("{path}: a key is longer than {MAX_NAME_CHARS} characters"),
                    ));
                }
                let len = path.len();
                path.push('.');
                path.push_str(key);
                within_limits(item, path)?;
                path.truncate(len);
            }
        }
        _ => {}
    }
    Ok(())
}

/// A decimal from a JSON number or string, exactly as written ("2.5", 2.5).
pub fn decimal(field: &str, value: &Value) -> Result<Decimal, ApiError> {
    let text = match value {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.trim().to_owned(),
        _ => {
            return Err(ApiError::new(
                ErrorCode::Invalid,
                format!("{field}: expects a decimal number such as 2.5 or \"2.5\""),
            ));
        }
    };
    text.parse::<Decimal>()
        .or_else(|_| Decimal::from_scientific(&text))
        .map_err(|_| {
            ApiError::new(
                ErrorCode::Invalid,
                format!("{field}: '{text}' is not a decimal number"),
            )
        })
}

/// The `Idempotency-Key` header of a route that moves money, as
/// `/openapi.json` describes it (`params(IdempotencyKey)`).
pub struct IdempotencyKey;

impl utoipa::IntoParams for IdempotencyKey {
    fn into_params(
        _: impl Fn() -> Option<utoipa::openapi::path::ParameterIn>,
    ) -> Vec<utoipa::openapi::path::Parameter> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        vec![
            utoipa::openapi::path::ParameterBuilder::new()
                .name("Idempotency-Key")
                .parameter_in(utoipa::openapi::path::ParameterIn::Header)
                .required(utoipa::openapi::Required::True)
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .min_length(Some(1))
                        .max_length(Some(255))
                        .pattern(Some("^[!-~]+$")),
                ))
                .description(Some("A new key per payment, the same key to retry it: a repeat returns the first answer and moves nothing."))
                .build(),
        ]
    }
}

/// The request's `Idempotency-Key`, with a hash of what it asks, so the same
/// key sent with a different request is refused.
pub fn idempotency(
    headers: &HeaderMap,
    method: &str,
    path: &str,
    body: &Bytes,
) -> Result<Idempotency, ApiError> {
    if headers.get_all(IDEMPOTENCY_HEADER).iter().count() > 1 {
        return Err(bad_request(
            "send one Idempotency-Key header, not several: which one would a retry repeat?",
        ));
    }
    let key = headers
        .get(IDEMPOTENCY_HEADER)
        .ok_or_else(|| {
            bad_request(
                "send an Idempotency-Key header (a new UUID per payment, the same one when retrying) so that a retry can never move money twice",
            )
        })?
        .to_str()
        .map_err(|_| bad_request("the Idempotency-Key must be visible ASCII"))?
        .trim()
        .to_owned();
    if key.is_empty() || key.len() > 255 {
        return Err(bad_request(
            "the Idempotency-Key must be 1 to 255 characters",
        ));
    }
    let mut hash = Sha256::new();
    hash.update(method.as_bytes());
    hash.update(b" ");
    hash.update(path.as_bytes());
    hash.update(b"\n");
    hash.update(body);
    Ok(Idempotency {
        key,
        request_hash: hex::encode(hash.finalize()),
    })
}

/// The answer to a started payment: 201 with the payment, or the first answer
/// again (marked `Idempotent-Replayed: true`) for a repeated request.
pub fn started(started: Started) -> Response {
    match started {
        Started::Fresh(p) => (StatusCode::CREATED, axum::Json::<Payment>(*p)).into_response(),
        Started::Repeat(first) => {
            let status = StatusCode::from_u16(first.status).unwrap_or(StatusCode::OK);
            let mut response = (
                status,
                [(axum::http::header::CONTENT_TYPE, "application/json")],
                first.body,
            )
                .into_response();
            response
                .headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
            response
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Pay {
        method: crate::store::Method,
        amount: i64,
    }

    #[test]
    fn errors_name_the_field() {
        let body = Bytes::from_static(br#"{"amount":10.5,"method":"cash"}"#);
        let e = json::<Pay>(&body).unwrap_err();
        assert!(e.message.contains("'amount'"), "{}", e.message);
    }
}
