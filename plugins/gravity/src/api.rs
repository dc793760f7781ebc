//! emergepay's REST API as publicly documented **[known]**: paths under
//! `/virtualterminal/v1`, the OID in the path, `Authorization: Bearer <authToken>`,
//! decimal-string amounts, results in `transactionResponse` with `resultStatus`
//! as the string "true"/"false", and 404 from the retrieval until a result exists.

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;
use vetpay_sdk::prelude::*;

/// The settings every call needs.
pub struct Client {
    pub base: String,
    pub oid: String,
    pub token: String,
    pub backoff: Duration,
}

/// How many 429 answers in a row are waited out before giving up.
const MAX_RATE_LIMITED: u32 = 20;

impl Client {
    pub fn from(ctx: &Context) -> Result<Self, PluginError> {
        ctx.require("oid")?;
        ctx.require("auth-token")?;
        Ok(Self {
            base: ctx.require("base-url")?.trim_end_matches('/').to_owned(),
            // Secrets: placeholders that the host fills in on the way out.
            oid: ctx.secret("oid"),
            token: ctx.secret("auth-token"),
            backoff: Duration::from_millis(ctx.require_u64("rate-limit-backoff-ms")?),
        })
    }

    pub fn org_url(&self, path: &str) -> String {
        format!("{}/orgs/{}/{path}", self.base, self.oid)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}/{path}", self.base)
    }

    /// Sends a request, waiting out 429s (every request here is idempotent:
    /// retrievals, or writes keyed by the external transaction id).
    pub fn send(&self, request: http::Request) -> Result<http::Response, PluginError> {
        let request = request
            .bearer(&self.token)
            .header("Content-Type", "application/json")
            .header("Accept", "application/json");
        let mut limited = 0;
        loop {
            let response = request.send()?;
            if response.status != 429 {
                return check_auth(response);
            }
            limited += 1;
            if limited > MAX_RATE_LIMITED {
                return Err(PluginError::other(
                    "emergepay kept answering 429 (rate limited)",
                ));
            }
            log::warn("emergepay answered 429; backing off");
            vetpay_sdk::sleep(self.backoff * limited.min(5));
        }
    }
}

/// Credentials refused: a setting an admin must fix.
fn check_auth(response: http::Response) -> Result<http::Response, PluginError> {
    match response.status {
        401 => Err(PluginError::configuration(
            "auth-token",
            "emergepay refused the auth token: check the Gravity auth token setting",
        )),
        403 => Err(PluginError::configuration(
            "oid",
            "emergepay refused this OID for the auth token: check the Gravity OID setting",
        )),
        _ => Ok(response),
    }
}

/// A status other than success, after a request that reached emergepay.
pub fn unexpected(response: &http::Response) -> PluginError {
    let body: String = response.text().chars().take(300).collect();
    if response.status == 429 {
        // Rate limited: turned away before anything was looked at.
        PluginError::not_sent(format!("emergepay is rate limiting (HTTP 429): {body}"))
    } else if (400..500).contains(&response.status) {
        // emergepay refused the request as such: nothing was processed, but
        // it did arrive.
        PluginError::rejected(
            Some(response.status.to_string()),
            format!("emergepay refused the request: {body}"),
        )
    } else {
        PluginError::other(format!(
            "emergepay answered HTTP {}: {body}",
            response.status
        ))
    }
}

/// `{"transactionResponse": {...}}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    pub transaction_response: TransactionResponse,
}

/// The result fields vetpay reads; emergepay sends more.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransactionResponse {
    pub result_status: ResultStatus,
    #[serde(default)]
    pub result_message: String,
    #[serde(default)]
    pub unique_trans_id: Option<String>,
    #[serde(default)]
    pub approval_number_result: Option<String>,
    #[serde(default)]
    pub amount: Option<String>,
    #[serde(default)]
    pub amount_processed: Option<String>,
    #[serde(default)]
    pub masked_account: Option<String>,
    #[serde(default)]
    pub account_card_type: Option<String>,
    #[serde(default)]
    pub account_expiry_date: Option<String>,
    #[serde(default)]
    pub account_entry_method: Option<String>,
}

/// `resultStatus`, the *string* "true" or "false" [known]. Any other value
/// fails to parse: an unexpected answer, never a final state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum ResultStatus {
    #[serde(rename = "true")]
    True,
    #[serde(rename = "false")]
    False,
}

impl TransactionResponse {
    pub fn approved(&self) -> bool {
        match self.result_status {
            ResultStatus::True => true,
            ResultStatus::False => false,
        }
    }
}

pub fn parse(response: &http::Response) -> Result<TransactionResponse, PluginError> {
    Ok(response.json::<Envelope>()?.transaction_response)
}

/// The `transactionData` body of the synchronous calls.
pub fn transaction_data(fields: Value) -> Value {
    serde_json::json!({ "transactionData": fields })
}

/// Card brand codes of `accountCardType`.
pub fn brand(code: &str) -> String {
    match code {
        "VS" => "visa".into(),
        "MC" => "mastercard".into(),
        "AX" => "amex".into(),
        "DS" => "discover".into(),
        other => other.to_ascii_lowercase(),
    }
}
