//! The client side of the card-holder control protocol (docs/CONFORMANCE.md).
//! The wire types are declared here again rather than taken from the
//! simulators crate, which a build without the demo does not have.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Why the simulator could not be driven.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("the simulator's control API at {url} did not answer: {source}")]
    Unreachable { url: String, source: reqwest::Error },
    #[error("the simulator's control API answered {status} to {url}")]
    Status { url: String, status: u16 },
    #[error("the simulator's control API sent an unreadable answer from {url}: {source}")]
    Body { url: String, source: reqwest::Error },
}

/// What the card holder does with the next transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Approve,
    Decline,
    Cancel,
    Never,
}

#[derive(Debug, Clone, Serialize)]
struct Next<'a> {
    action: Action,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<&'a str>,
    after_ms: u64,
}

/// `GET /_conform`.
#[derive(Debug, Clone, Deserialize)]
pub struct Info {
    pub protocol: u32,
    pub provider: String,
    pub decline_codes: bool,
}

/// One entry of the provider's books.
#[derive(Debug, Clone, Deserialize)]
pub struct Entry {
    pub request_id: String,
    /// purchase, refund, deposit, save-card, token-charge, token-refund, void, other.
    pub kind: String,
    pub amount: i64,
    pub currency: Option<String>,
    pub approved: bool,
    pub voided: bool,
}

#[derive(Debug, Deserialize)]
struct Ledger {
    entries: Vec<Entry>,
}

/// A simulator's control API, at its base URL.
#[derive(Debug, Clone)]
pub struct Control {
    base: String,
    http: reqwest::Client,
}

impl Control {
    pub fn new(base: &str) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        Self {
            base: base.trim_end_matches('/').to_owned(),
            http,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/_conform{path}", self.base)
    }

    async fn send(
        &self,
        request: reqwest::RequestBuilder,
        url: String,
    ) -> Result<reqwest::Response, ControlError> {
        let response = request
            .send()
            .await
            .map_err(|source| ControlError::Unreachable {
                url: url.clone(),
                source,
            })?;
        if !response.status().is_success() {
            return Err(ControlError::Status {
                url,
                status: response.status().as_u16(),
            });
        }
        Ok(response)
    }

    pub async fn info(&self) -> Result<Info, ControlError> {
        let url = self.url("");
        let response = self.send(self.http.get(&url), url.clone()).await?;
        response
            .json()
            .await
            .map_err(|source| ControlError::Body { url, source })
    }

    /// Scripts the card holder of `terminal` for the next transaction.
    pub async fn next(
        &self,
        terminal: &str,
        action: Action,
        code: Option<&str>,
        after: Duration,
    ) -> Result<(), ControlError> {
        let url = self.url(&format!("/terminals/{terminal}/next"));
        let body = Next {
            action,
            code,
            after_ms: after.as_millis() as u64,
        };
        self.send(self.http.post(&url).json(&body), url).await?;
        Ok(())
    }

    /// The next money-moving request is processed, then answered with `status`.
    pub async fn fail_next(&self, status: u16) -> Result<(), ControlError> {
        let url = self.url("/fail-next");
        let body = serde_json::json!({ "status": status });
        self.send(self.http.post(&url).json(&body), url).await?;
        Ok(())
    }

    /// The next money-moving request is processed, then its answer is cut off.
    pub async fn lose_next(&self) -> Result<(), ControlError> {
        let url = self.url("/lose-next");
        self.send(self.http.post(&url), url).await?;
        Ok(())
    }

    pub async fn ledger(&self) -> Result<Vec<Entry>, ControlError> {
        let url = self.url("/ledger");
        let response = self.send(self.http.get(&url), url.clone()).await?;
        let ledger: Ledger = response
            .json()
            .await
            .map_err(|source| ControlError::Body { url, source })?;
        Ok(ledger.entries)
    }

    /// Forgets scripts, faults and the ledger; lets go of blocked terminals.
    pub async fn reset(&self) -> Result<(), ControlError> {
        let url = self.url("/reset");
        self.send(self.http.post(&url), url).await?;
        Ok(())
    }
}
