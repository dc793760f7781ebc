//! Every error answer carries the JSON envelope, including the ones axum makes
//! itself before a handler runs: a body over the limit (413), a query string
//! or path that does not parse (400), a method the route does not have (405).
//! Their text is kept as the message; the code follows the status.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::ApiError;
use super::error::ErrorCode;

/// Plain-text error bodies are short; anything longer is not one of axum's.
const MAX_REWRAPPED_BYTES: usize = 16 * 1024;

fn code_of(status: StatusCode) -> ErrorCode {
    match status {
        StatusCode::BAD_REQUEST => ErrorCode::BadRequest,
        StatusCode::UNAUTHORIZED => ErrorCode::Unauthorized,
        StatusCode::FORBIDDEN => ErrorCode::Forbidden,
        StatusCode::NOT_FOUND => ErrorCode::NotFound,
        StatusCode::METHOD_NOT_ALLOWED => ErrorCode::MethodNotAllowed,
        StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::TooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorCode::UnsupportedMediaType,
        StatusCode::UNPROCESSABLE_ENTITY => ErrorCode::Invalid,
        s if s.is_server_error() => ErrorCode::Internal,
        _ => ErrorCode::Error,
    }
}

fn hint(status: StatusCode) -> &'static str {
    match status {
        StatusCode::METHOD_NOT_ALLOWED => {
            "this route does not take that method; GET /openapi.json lists each route's methods"
        }
        StatusCode::PAYLOAD_TOO_LARGE => "the request body is too large; send a smaller one",
        StatusCode::NOT_FOUND => "no such route; GET /openapi.json lists every route",
        _ => "the request could not be handled",
    }
}

/// Refuses a path or query string with an encoded NUL (`%00`) before any
/// handler reads it: no id or filter holds one, and PostgreSQL would fail on
/// it (a 500) instead of finding nothing.
pub async fn refuse_nul(
    request: axum::extract::Request,
) -> Result<axum::extract::Request, ApiError> {
    let uri = request.uri();
    let encoded_nul = |text: &str| {
        text.as_bytes()
            .windows(3)
            .any(|w| w[0] == b'%' && w[1] == b'0' && w[2] == b'0')
    };
    if encoded_nul(uri.path()) || uri.query().is_some_and(encoded_nul) {
        return Err(ApiError::new(
            ErrorCode::BadRequest,
            "the path or query string contains a NUL character (%00); no id or filter holds one",
        ));
    }
    Ok(request)
}

/// Rewrites an error answer that is not JSON into the envelope.
pub async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, MAX_REWRAPPED_BYTES)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let message = if text.is_empty() {
        hint(status).to_owned()
    } else {
        format!("{text} ({})", hint(status))
    };
    let mut wrapped = ApiError::with_status(status, code_of(status), message).into_response();
    // Keep what the original answer said beside its body (Allow on a 405, say).
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            wrapped.headers_mut().append(name.clone(), value.clone());
        }
    }
    wrapped.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    wrapped
}
