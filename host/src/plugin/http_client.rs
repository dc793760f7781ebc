//! The host side of the `http` import: the only way a plugin reaches the network.
//!
//! Order of checks, as in Spin's outbound HTTP: the allow-list first (before any
//! secret is touched), then secrets are substituted, then the request leaves with
//! the host's timeouts, and the response is read up to the size limit. Redirects
//! are followed here, each hop checked against the allow-list again.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use super::bindings::vetpay::terminal::http::{self, Denied, Error as HttpError, Method};
use super::egress::{Denial, Destination};
use super::network::{self, GuardedResolver, NetworkPolicy, Refused};
use super::secrets::Encoding;
use super::state::{CallScope, CallState};

/// Limits on outbound HTTP.
#[derive(Debug, Clone)]
pub struct HttpLimits {
    pub connect_timeout: Duration,
    /// Used when the plugin asks for no timeout.
    pub default_timeout: Duration,
    /// The most a plugin may ask for (Nets' blocking transaction call needs 300 s).
    pub max_timeout: Duration,
    pub max_response_bytes: u64,
    pub max_request_bytes: usize,
    pub max_redirects: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            default_timeout: Duration::from_secs(30),
            max_timeout: Duration::from_secs(330),
            max_response_bytes: 1024 * 1024,
            max_request_bytes: 1024 * 1024,
            max_redirects: 5,
        }
    }
}

/// The shared client. Redirects are off because each hop must pass the
/// allow-list; every name is resolved through the network policy, and no proxy
/// from the environment is used (a proxy would resolve names out of our sight).
pub fn client(limits: &HttpLimits, network: &NetworkPolicy) -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(limits.connect_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .dns_resolver(Arc::new(GuardedResolver {
            policy: network.clone(),
        }))
        .user_agent(concat!("vetpay/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("the HTTP client's TLS backend initialises")
}

impl From<Denial> for Denied {
    fn from(d: Denial) -> Self {
        Denied {
            destination: d.destination,
            setting: d.setting,
            message: d.message,
        }
    }
}

fn method_of(m: Method) -> reqwest::Method {
    match m {
        Method::Get => reqwest::Method::GET,
        Method::Post => reqwest::Method::POST,
        Method::Put => reqwest::Method::PUT,
        Method::Patch => reqwest::Method::PATCH,
        Method::Delete => reqwest::Method::DELETE,
        Method::Head => reqwest::Method::HEAD,
    }
}

/// How secrets go into a body, judged by its content type.
fn body_encoding(headers: &[(String, String)]) -> Encoding {
    let content_type = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.to_ascii_lowercase())
        .unwrap_or_default();
    if content_type.contains("json") {
        Encoding::JsonString
    } else if content_type.contains("x-www-form-urlencoded") {
        Encoding::Form
    } else {
        Encoding::Raw
    }
}

impl http::Host for CallState {
    async fn send(&mut self, request: http::Request) -> Result<http::Response, HttpError> {
        let started = Instant::now();
        let method = method_of(request.method);
        // The URL as the plugin wrote it, placeholders and all: safe to log.
        let shown_url = request.url.clone();
        let result = send_checked(&self.scope, method.clone(), request).await;
        let elapsed_ms = started.elapsed().as_millis() as u64;
        let plugin = &*self.scope.plugin;
        match &result {
            Ok(r) => {
                tracing::info!(target: "vetpay::plugin_http", plugin, %method, url = %shown_url,
                status = r.status, elapsed_ms, "plugin HTTP request")
            }
            Err(e) => {
                tracing::warn!(target: "vetpay::plugin_http", plugin, %method, url = %shown_url,
                error = ?e, elapsed_ms, "plugin HTTP request failed")
            }
        }
        result
    }
}

async fn send_checked(
    scope: &CallScope,
    method: reqwest::Method,
    request: http::Request,
) -> Result<http::Response, HttpError> {
    let limits = &scope.http_limits;
    let template = url::Url::parse(&request.url).map_err(|e| {
        HttpError::Invalid(format!("'{}' is not an absolute URL: {e}", request.url))
    })?;
    let mut destination = scope
        .egress
        .check(&scope.plugin, &template)
        .map_err(|d| HttpError::Denied(d.into()))?;
    scope
        .network
        .check_host(&destination.host)
        .map_err(|r| refused(&destination, r))?;
    if request.body.len() > limits.max_request_bytes {
        return Err(HttpError::Invalid(format!(
            "the body is {} bytes; at most {} are sent",
            request.body.len(),
            limits.max_request_bytes
        )));
    }
    let unknown = |e: super::secrets::UnknownSecret| HttpError::Invalid(e.to_string());
    let mut url = url::Url::parse(
        &scope
            .secrets
            .substitute(&request.url, Encoding::Url)
            .map_err(unknown)?,
    )
    .map_err(|e| {
        HttpError::Invalid(format!(
            "the URL is invalid once secrets are filled in: {e}"
        ))
    })?;
    if Destination::of_url(&url).as_ref() != Some(&destination) {
        return Err(HttpError::Invalid(
            "a secret placeholder may not change the URL's scheme, host or port".into(),
        ));
    }
    let mut headers = HeaderMap::new();
    for (name, value) in &request.headers {
        let value = scope
            .secrets
            .substitute(value, Encoding::Raw)
            .map_err(unknown)?;
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| HttpError::Invalid(format!("'{name}' is not a valid header name")))?;
        let value = HeaderValue::from_str(&value).map_err(|_| {
            HttpError::Invalid(format!("the value of header '{name}' is not valid"))
        })?;
        headers.append(name, value);
    }
    let mut body = scope
        .secrets
        .substitute_bytes(&request.body, body_encoding(&request.headers))
        .map_err(unknown)?;
    let wanted = request
        .timeout_ms
        .map(|ms| Duration::from_millis(u64::from(ms)))
        .unwrap_or(limits.default_timeout);
    let timeout = wanted.min(limits.max_timeout).min(scope.remaining());
    if timeout.is_zero() {
        return Err(HttpError::NotSent("the call's deadline has passed".into()));
    }
    let deadline = Instant::now() + timeout;
    let mut method = method;
    let mut redirects = 0;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let response = scope
            .http
            .request(method.clone(), url.clone())
            .headers(headers.clone())
            .body(body.clone())
            .timeout(left)
            .send()
            .await
            .map_err(transport_error)?;
        let status = response.status();
        if status.is_redirection()
            && let Some(location) = response.headers().get(reqwest::header::LOCATION)
        {
            redirects += 1;
            if redirects > limits.max_redirects {
                return Err(HttpError::Transport(format!(
                    "more than {} redirects",
                    limits.max_redirects
                )));
            }
            let next = location
                .to_str()
                .ok()
                .and_then(|l| url.join(l).ok())
                .ok_or_else(|| {
                    HttpError::Transport("a redirect with an invalid Location".into())
                })?;
            let next_destination = scope.egress.check(&scope.plugin, &next).map_err(|mut d| {
                d.message = format!("redirect refused: {}", d.message);
                HttpError::Denied(d.into())
            })?;
            scope
                .network
                .check_host(&next_destination.host)
                .map_err(|r| refused(&next_destination, r))?;
            if next_destination != destination {
                // Credentials stay with the destination they were meant for.
                headers.remove(reqwest::header::AUTHORIZATION);
                headers.remove(reqwest::header::COOKIE);
            }
            if matches!(status.as_u16(), 301..=303) && method != reqwest::Method::HEAD {
                method = reqwest::Method::GET;
                body.clear();
                headers.remove(reqwest::header::CONTENT_TYPE);
            }
            url = next;
            destination = next_destination;
            continue;
        }
        return read_response(scope, response, deadline).await;
    }
}

async fn read_response(
    scope: &CallScope,
    mut response: reqwest::Response,
    deadline: Instant,
) -> Result<http::Response, HttpError> {
    let limit = scope.http_limits.max_response_bytes;
    if response.content_length().is_some_and(|n| n > limit) {
        return Err(HttpError::TooLarge(limit));
    }
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(n, v)| {
            let value = String::from_utf8_lossy(v.as_bytes());
            (n.as_str().to_owned(), scope.secrets.redact(&value))
        })
        .collect();
    let mut body = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let chunk = tokio::time::timeout(left, response.chunk())
            .await
            .map_err(|_| HttpError::Timeout("the response body did not arrive in time".into()))?
            .map_err(transport_error)?;
        let Some(chunk) = chunk else { break };
        if body.len() as u64 + chunk.len() as u64 > limit {
            return Err(HttpError::TooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(http::Response {
        status,
        headers,
        body: scope.secrets.redact_bytes(body),
    })
}

/// A destination whose address the operator has not allowed.
fn refused(destination: &Destination, r: Refused) -> HttpError {
    HttpError::Denied(Denied {
        destination: destination.to_string(),
        setting: network::OPERATOR_OPTION.to_owned(),
        message: r.to_string(),
    })
}

/// Whether the request can have left: only a failed connection proves it did not.
fn transport_error(e: reqwest::Error) -> HttpError {
    if let Some(r) = network::refusal_in(&e) {
        // Refused by the resolver: nothing was sent.
        return HttpError::Denied(Denied {
            destination: e
                .url()
                .and_then(Destination::of_url)
                .map(|d| d.to_string())
                .unwrap_or_default(),
            setting: network::OPERATOR_OPTION.to_owned(),
            message: r.to_string(),
        });
    }
    let text = error_chain(&e);
    if e.is_connect() {
        HttpError::NotSent(text)
    } else if e.is_timeout() {
        HttpError::Timeout(text)
    } else {
        HttpError::Transport(text)
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
