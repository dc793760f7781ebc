//! The console's only way to the books: the JSON API itself, called in
//! process with the signed-in user's key. What third parties can do and what
//! the console does are one code path (rules, roles, audit, idempotency).

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use axum::response::Response;
use serde_json::Value;
use tower::ServiceExt;

use super::error::ConsoleError;

/// The API router, called as a service.
#[derive(Clone)]
pub struct Backend {
    api: Router,
}

/// One API request.
pub struct Call<'a> {
    pub method: Method,
    pub path: &'a str,
    pub json: Option<Value>,
    pub bytes: Option<(Vec<u8>, &'static str)>,
    pub idempotency_key: Option<&'a str>,
}

impl<'a> Call<'a> {
    pub fn get(path: &'a str) -> Self {
        Self::with(Method::GET, path)
    }

    pub fn with(method: Method, path: &'a str) -> Self {
        Self {
            method,
            path,
            json: None,
            bytes: None,
            idempotency_key: None,
        }
    }

    pub fn json(mut self, body: Value) -> Self {
        self.json = Some(body);
        self
    }

    pub fn idempotent(mut self, key: &'a str) -> Self {
        self.idempotency_key = Some(key);
        self
    }
}

impl Backend {
    pub fn new(api: Router) -> Self {
        Self { api }
    }

    /// Sends `call` as the holder of `key`; the raw response (the event
    /// stream is passed on as it comes).
    pub async fn raw(&self, key: &str, call: Call<'_>) -> Result<Response, ConsoleError> {
        let mut request = Request::builder()
            .method(call.method)
            .uri(call.path)
            .header(header::AUTHORIZATION, format!("Bearer {key}"));
        if let Some(k) = call.idempotency_key {
            request = request.header("Idempotency-Key", k);
        }
        let body = match (call.json, call.bytes) {
            (Some(json), _) => {
                request = request.header(header::CONTENT_TYPE, "application/json");
                Body::from(json.to_string())
            }
            (None, Some((bytes, content_type))) => {
                request = request.header(header::CONTENT_TYPE, content_type);
                Body::from(bytes)
            }
            (None, None) => Body::empty(),
        };
        let request = request
            .body(body)
            .map_err(|e| ConsoleError::Internal(e.to_string()))?;
        // The router's error type is Infallible.
        Ok(self
            .api
            .clone()
            .oneshot(request)
            .await
            .unwrap_or_else(|e| match e {}))
    }

    /// Sends `call`; the JSON answer, or the API's error as it words it.
    pub async fn send(&self, key: &str, call: Call<'_>) -> Result<Value, ConsoleError> {
        let response = self.raw(key, call).await?;
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 64 * 1024 * 1024)
            .await
            .map_err(|e| ConsoleError::Internal(e.to_string()))?;
        let body: Value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        };
        if status.is_success() {
            return Ok(body);
        }
        let message = body["error"]["message"]
            .as_str()
            .unwrap_or("the request failed")
            .to_owned();
        let code = body["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        Err(match (status, code.as_str()) {
            (StatusCode::UNAUTHORIZED, _) => ConsoleError::SignedOut,
            // A role refusal; other 403s (an add-on switched off) are worded.
            (StatusCode::FORBIDDEN, "forbidden") => ConsoleError::Forbidden,
            (StatusCode::NOT_FOUND, _) => ConsoleError::NotFound(message),
            _ => ConsoleError::Refused {
                status,
                code,
                message,
            },
        })
    }

    pub async fn get(&self, key: &str, path: &str) -> Result<Value, ConsoleError> {
        self.send(key, Call::get(path)).await
    }
}
