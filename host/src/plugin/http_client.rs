//! The host side of the `http` import: the only way a plugin reaches the network.
//!
//! Order of checks, as in Spin's outbound HTTP: the allow-list first (before any
//! secret is touched), then secrets are substituted, then the request leaves with
//! the host's timeouts, and the response is read up to the size limit. Redirects
//! are followed here, each hop checked against the allow-list again.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

// The `http` import speaks 0.1.0's types; a later contract version converts its
// own to these in its module.
use super::egress::{Denial, Destination};
use super::network::{self, GuardedResolver, NetworkPolicy, Refused};
use super::secrets::Encoding;
use super::state::{CallScope, CallState, HttpTiming};
use super::wit::since_v0_1_0::http::{self, Denied, Error as HttpError, Method};

pub use super::http_limits::HttpLimits;

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

impl CallState {
    pub(crate) async fn http_send(
        &mut self,
        request: http::Request,
    ) -> Result<http::Response, HttpError> {
        let started = Instant::now();
        let method = method_of(request.method);
        // The URL as the plugin wrote it, placeholders and all: safe to log.
        let shown_url = request.url.clone();
        let mut timing = HttpTiming::default();
        let result = send_checked(&self.scope, method.clone(), request, &mut timing)
            .await
            .map_err(|e| scrub_error(e, &self.scope.secrets));
        timing.total = started.elapsed();
        self.http.add(timing);
        let elapsed_ms = timing.total.as_millis() as u64;
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
    timing: &mut HttpTiming,
) -> Result<http::Response, HttpError> {
    let checking = Instant::now();
    let limits = &scope.http_limits;
    // What the plugin wrote, for error texts; the filled-in URL never is one.
    let shown_url = request.url.clone();
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
    // Every check passed: the request is about to leave. The first one of an
    // attempt is recorded by the caller first, and refused if the attempt is no
    // longer the caller's to run.
    if let Some(gate) = &scope.first_send
        && !gate.pass().await
    {
        return Err(HttpError::NotSent(
            "this attempt was taken over by recovery (or settled); nothing was sent".into(),
        ));
    }
    timing.checks = checking.elapsed();
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
            .map_err(|e| transport_error(e, &shown_url))?;
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
        let reading = Instant::now();
        let answer = read_response(scope, response, deadline, &shown_url).await;
        timing.body = reading.elapsed();
        return answer;
    }
}

async fn read_response(
    scope: &CallScope,
    mut response: reqwest::Response,
    deadline: Instant,
    shown_url: &str,
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
            .map_err(|e| transport_error(e, shown_url))?;
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
///
/// The text is built from what the plugin wrote (`shown_url`, placeholders in
/// place) and the kind of failure, never from reqwest's own message, which
/// quotes the URL with the secrets filled in. What the error's causes say is
/// kept, without any URL, and the caller scrubs it with the vault as well.
fn transport_error(e: reqwest::Error, shown_url: &str) -> HttpError {
    if let Some(r) = network::refusal_in(&e) {
        // Refused by the resolver: nothing was sent. Only the destination
        // (scheme, host, port) is named, which a secret can never change.
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
    let (connect, timeout) = (e.is_connect(), e.is_timeout());
    let what = if connect {
        "could not connect"
    } else if timeout {
        "timed out"
    } else if e.is_body() {
        "the body could not be sent or read"
    } else if e.is_decode() {
        "the response could not be decoded"
    } else if e.is_request() {
        "the request failed"
    } else {
        "the connection failed"
    };
    let causes = causes(&e.without_url());
    let text = if causes.is_empty() {
        format!("{what} ({shown_url})")
    } else {
        format!("{what} ({shown_url}): {causes}")
    };
    if connect {
        HttpError::NotSent(text)
    } else if timeout {
        HttpError::Timeout(text)
    } else {
        HttpError::Transport(text)
    }
}

/// The causes of `e` (not `e` itself), joined.
fn causes(e: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut source = e.source();
    while let Some(s) = source {
        parts.push(s.to_string());
        source = s.source();
    }
    parts.join(": ")
}

/// Scrubs every text an error carries with the call's vault.
fn scrub_error(e: HttpError, secrets: &super::secrets::SecretVault) -> HttpError {
    match e {
        HttpError::Invalid(m) => HttpError::Invalid(secrets.redact(&m)),
        HttpError::NotSent(m) => HttpError::NotSent(secrets.redact(&m)),
        HttpError::Timeout(m) => HttpError::Timeout(secrets.redact(&m)),
        HttpError::Transport(m) => HttpError::Transport(secrets.redact(&m)),
        HttpError::Denied(d) => HttpError::Denied(Denied {
            destination: secrets.redact(&d.destination),
            setting: d.setting,
            message: secrets.redact(&d.message),
        }),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::secrets::SecretVault;

    /// A real refused connection to a URL holding a secret.
    #[tokio::test]
    async fn a_refused_connection_is_described_without_the_filled_in_url() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let secret = "Sup3rSecretOid";
        let filled = format!("http://127.0.0.1:{port}/orgs/{secret}/start");
        let shown = format!("http://127.0.0.1:{port}/orgs/{{{{secret:oid}}}}/start");
        let e = client(&HttpLimits::default(), &NetworkPolicy::with_loopback())
            .get(&filled)
            .send()
            .await
            .expect_err("nobody listens");
        // reqwest's own text quotes the URL it was given.
        assert!(error_text(&e).contains(secret));
        let HttpError::NotSent(text) = transport_error(e, &shown) else {
            panic!("a refused connection was not sent");
        };
        assert!(!text.contains(secret), "{text}");
        assert!(text.starts_with("could not connect"), "{text}");
        assert!(text.contains(&shown), "{text}");
    }

    fn error_text(e: &dyn std::error::Error) -> String {
        let mut text = e.to_string();
        let mut source = e.source();
        while let Some(s) = source {
            text.push_str(&s.to_string());
            source = s.source();
        }
        text
    }

    #[test]
    fn every_error_text_is_scrubbed() {
        let mut vault = SecretVault::default();
        vault.insert("oid", "0idValue");
        for e in [
            HttpError::Invalid("bad 0idValue".into()),
            HttpError::NotSent("bad 0IDVALUE".into()),
            HttpError::Timeout("bad 0idvalue".into()),
            HttpError::Transport("bad 0idValue".into()),
            HttpError::Denied(Denied {
                destination: "https://0idValue.example".into(),
                setting: "base-url".into(),
                message: "0idValue refused".into(),
            }),
        ] {
            let text = format!("{:?}", scrub_error(e, &vault));
            assert!(!text.to_ascii_lowercase().contains("0idvalue"), "{text}");
            assert!(text.contains("{{secret:oid}}"), "{text}");
        }
    }
}
