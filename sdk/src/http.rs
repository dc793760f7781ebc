//! HTTP through the host, with JSON helpers.
//!
//! Only destinations in the manifest's `allowed-hosts` (or added by an admin)
//! are reachable. Write secrets as [`Context::secret`](crate::Context::secret)
//! placeholders; the host fills them in on the way out.

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::PluginError;
use crate::bindings::vetpay::terminal::http as wire;

pub use wire::{Denied, Error, Method};

/// A request being built.
#[derive(Debug, Clone)]
pub struct Request {
    inner: wire::Request,
}

impl Request {
    pub fn new(method: Method, url: impl Into<String>) -> Self {
        Self {
            inner: wire::Request {
                method,
                url: url.into(),
                headers: Vec::new(),
                body: Vec::new(),
                timeout_ms: None,
            },
        }
    }
    pub fn get(url: impl Into<String>) -> Self {
        Self::new(Method::Get, url)
    }
    pub fn post(url: impl Into<String>) -> Self {
        Self::new(Method::Post, url)
    }
    pub fn put(url: impl Into<String>) -> Self {
        Self::new(Method::Put, url)
    }
    pub fn delete(url: impl Into<String>) -> Self {
        Self::new(Method::Delete, url)
    }

    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.inner.headers.push((name.into(), value.into()));
        self
    }

    /// `Authorization: Bearer <token>`; pass a secret placeholder for a secret token.
    pub fn bearer(self, token: impl AsRef<str>) -> Self {
        let value = format!("Bearer {}", token.as_ref());
        self.header("Authorization", value)
    }

    /// A JSON body, with its content type.
    pub fn json<T: Serialize + ?Sized>(mut self, body: &T) -> Self {
        // Serialising plain data into memory cannot fail.
        self.inner.body = serde_json::to_vec(body).unwrap_or_default();
        self.header("Content-Type", "application/json")
            .header("Accept", "application/json")
    }

    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.inner.body = body.into();
        self
    }

    /// The time this request may take; the host caps it.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.inner.timeout_ms = Some(u32::try_from(timeout.as_millis()).unwrap_or(u32::MAX));
        self
    }

    pub fn send(&self) -> Result<Response, Error> {
        crate::host::http_send(&self.inner).map(|r| Response {
            status: r.status,
            headers: r.headers,
            body: r.body,
        })
    }
}

/// A response of any status.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The first value of a header (names are lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON. A body that does not parse means the provider answered
    /// something unexpected after the request arrived: an `other` error.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, PluginError> {
        serde_json::from_slice(&self.body).map_err(|e| {
            let snippet: String = self.text().chars().take(200).collect();
            PluginError::other(format!(
                "unexpected response (HTTP {}): {e}: {snippet}",
                self.status
            ))
        })
    }
}

impl From<Error> for PluginError {
    /// What a failed request means for the plugin's caller: a denied destination
    /// is a setting to change; a request that never left is safe to retry;
    /// anything after sending is unknown.
    fn from(e: Error) -> Self {
        match e {
            Error::Denied(d) => PluginError::configuration(&d.setting, d.message),
            Error::Invalid(m) => PluginError::not_sent(format!("invalid request: {m}")),
            Error::NotSent(m) => PluginError::not_sent(m),
            Error::Timeout(m) => PluginError::other(format!("timed out: {m}")),
            Error::TooLarge(limit) => PluginError::other(format!(
                "response larger than the host's limit of {limit} bytes"
            )),
            Error::Transport(m) => {
                PluginError::other(format!("connection failed after sending: {m}"))
            }
        }
    }
}
