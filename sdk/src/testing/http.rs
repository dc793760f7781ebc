//! The fake host's HTTP: scripted answers, the record of what was sent, and a
//! handler that forwards to a real loopback server.

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::host::{HttpRequest, HttpResponse};
use crate::http::{Error, Method};

/// A request the plugin sent, as the host received it.
#[derive(Debug, Clone)]
pub struct SentRequest {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub timeout: Option<Duration>,
    /// The virtual clock when it was sent.
    pub at_ms: u64,
}

impl SentRequest {
    pub(super) fn of(request: &HttpRequest, at_ms: u64) -> Self {
        Self {
            method: request.method,
            url: request.url.clone(),
            headers: request.headers.clone(),
            body: request.body.clone(),
            timeout: request
                .timeout_ms
                .map(|ms| Duration::from_millis(ms.into())),
            at_ms,
        }
    }

    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; panics (failing the test) when it is not.
    pub fn json<T: DeserializeOwned>(&self) -> T {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{} {} sent no JSON body: {e}",
                method(self.method),
                self.url
            )
        })
    }
}

/// A scripted answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    /// A status without a body.
    pub fn status(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// A JSON body with its content type.
    pub fn json(status: u16, body: &impl Serialize) -> Self {
        Self::status(status)
            .header("content-type", "application/json")
            .body(serde_json::to_vec(body).expect("a JSON value"))
    }

    pub fn text(status: u16, body: &str) -> Self {
        Self::status(status)
            .header("content-type", "text/plain")
            .body(body.as_bytes().to_vec())
    }

    /// Adds a header (names are lower case, as the host delivers them).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers
            .push((name.to_ascii_lowercase(), value.to_owned()));
        self
    }

    pub fn body(mut self, body: Vec<u8>) -> Self {
        self.body = body;
        self
    }

    pub(super) fn into_response(self) -> HttpResponse {
        HttpResponse {
            status: self.status,
            headers: self.headers,
            body: self.body,
        }
    }
}

pub(super) fn method(m: Method) -> &'static str {
    match m {
        Method::Get => "GET",
        Method::Post => "POST",
        Method::Put => "PUT",
        Method::Patch => "PATCH",
        Method::Delete => "DELETE",
        Method::Head => "HEAD",
    }
}

/// A handler for [`FakeHost::handle`](super::FakeHost::handle) that sends every
/// request on to a real server, such as a provider simulator on 127.0.0.1. A
/// refused connection is `not-sent`, a timeout `timeout`, anything after
/// sending `transport`, as the host reports them. It blocks: call plugin code
/// from a plain thread, not from inside an async runtime.
pub fn loopback() -> impl Fn(&SentRequest) -> Result<Reply, Error> + 'static {
    let client = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("an HTTP client");
    move |sent: &SentRequest| {
        let method =
            reqwest::Method::from_bytes(method(sent.method).as_bytes()).expect("a standard method");
        let mut request = client.request(method, &sent.url).body(sent.body.clone());
        for (name, value) in &sent.headers {
            request = request.header(name, value);
        }
        if let Some(timeout) = sent.timeout {
            request = request.timeout(timeout);
        }
        let response = request.send().map_err(|e| {
            if e.is_connect() {
                Error::NotSent(e.to_string())
            } else if e.is_timeout() {
                Error::Timeout(e.to_string())
            } else if e.is_builder() {
                Error::Invalid(e.to_string())
            } else {
                Error::Transport(e.to_string())
            }
        })?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    v.to_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        let body = response.bytes().map_err(|e| {
            if e.is_timeout() {
                Error::Timeout(e.to_string())
            } else {
                Error::Transport(e.to_string())
            }
        })?;
        Ok(Reply {
            status,
            headers,
            body: body.to_vec(),
        })
    }
}
