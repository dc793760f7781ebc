//! A native Rust connector for Gravity's tokenized charge and Nets' purchase,
//! for the sandbox-tax benchmark only (this crate is never shipped). It does
//! the HTTP the wasm plugins do, request for request, with a client built by
//! the host's own `http_client::client` from the runtime's limits and network
//! policy, reads the Nets token through the same plugin cache, reports the
//! same progress and passes the same first-send gate. What it leaves out is
//! what the sandbox costs: a fresh instance per call, the concurrency slot,
//! settings turned into placeholders and back, the allow-list, answer
//! validation and scrubbing.
//!
//! It implements [`PaymentProvider`] with the wasm plugin's file info, so that
//! inserted into the service's plugin registry it stands in for the plugin.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::{Value, json};
use vetpay::plugin::kv::{PluginCache, Scope};
use vetpay::plugin::types::{
    AbortRequest, Approval, CardDetails, ConfigurationError, Money, Outcome, PaymentRequest,
    PluginError, Receipt, Reconciliation, SaveCardRequest, Stage, StatusQuery, TerminalInfo,
    TokenCharge, TokenRefund, TransactionKind,
};
use vetpay::plugin::{
    CallEnv, CallError, PaymentProvider, PluginFileInfo, ProgressEvent, RuntimeConfig, SendGate,
    http_client,
};

/// Which provider's wire protocol the connector speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    Gravity,
    Nets,
}

/// Why the connector cannot stand in for a plugin.
#[derive(Debug)]
pub struct UnknownPlugin(pub String);

impl std::fmt::Display for UnknownPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "no native connector for plugin '{}'", self.0)
    }
}

impl std::error::Error for UnknownPlugin {}

pub struct NativeConnector {
    info: PluginFileInfo,
    wire: Wire,
    http: reqwest::Client,
    limits: vetpay::plugin::http_client::HttpLimits,
    cache: Arc<dyn PluginCache>,
}

const NETS_TOKEN_KEY: &str = "jwt";
const GRAVITY_MAX_RATE_LIMITED: u32 = 20;

impl NativeConnector {
    /// A connector for the plugin `info` describes (Gravity or Nets), with the
    /// HTTP client the runtime of `config` gives plugins and its plugin cache.
    pub fn new(
        info: PluginFileInfo,
        config: &RuntimeConfig,
        cache: Arc<dyn PluginCache>,
    ) -> Result<Self, UnknownPlugin> {
        let wire = match info.manifest.id.as_str() {
            "gravity" => Wire::Gravity,
            "nets-connect-cloud" => Wire::Nets,
            other => return Err(UnknownPlugin(other.to_owned())),
        };
        Ok(Self {
            http: http_client::client(&config.http, &config.network),
            limits: config.http.clone(),
            wire,
            info,
            cache,
        })
    }

    pub fn wire(&self) -> Wire {
        self.wire
    }

    fn id(&self) -> String {
        self.info.manifest.id.to_string()
    }

    fn plugin_error(&self, error: PluginError) -> CallError {
        CallError::Plugin {
            plugin: self.id(),
            error,
        }
    }

    fn other(&self, message: impl Into<String>) -> CallError {
        self.plugin_error(PluginError::Other(message.into()))
    }

    fn not_supported(&self, export: &str) -> CallError {
        CallError::NotSupported {
            plugin: self.id(),
            export: export.to_owned(),
        }
    }

    /// A setting as the plugin's context gives it: the department's, the
    /// organisation's, or the manifest's default.
    fn setting<'a>(&'a self, env: &'a CallEnv, key: &str) -> Result<&'a str, CallError> {
        env.department_settings
            .get(key)
            .or_else(|| env.organisation_settings.get(key))
            .map(String::as_str)
            .or_else(|| {
                self.info
                    .manifest
                    .settings
                    .iter()
                    .find(|s| s.key == key)
                    .and_then(|s| s.default.as_deref())
            })
            .ok_or_else(|| {
                self.plugin_error(PluginError::Configuration(ConfigurationError {
                    setting: key.to_owned(),
                    message: format!("the setting '{key}' is missing"),
                }))
            })
    }

    fn setting_u64(&self, env: &CallEnv, key: &str) -> Result<u64, CallError> {
        self.setting(env, key)?
            .parse()
            .map_err(|_| self.other(format!("the setting '{key}' is not a number")))
    }

    fn progress(&self, env: &CallEnv, stage: Stage, message: Option<&str>) {
        if let Some(sink) = &env.progress {
            let _ = sink.send(ProgressEvent {
                plugin: self.id(),
                stage,
                message: message.map(str::to_owned),
            });
        }
    }

    fn scope(&self, env: &CallEnv) -> Scope {
        Scope {
            plugin: self.id(),
            organisation: env.organisation_id.clone(),
        }
    }

    /// Sends one request the way the host's `http` import does: the call's
    /// gate first, then the timeout the plugin asked for within the host's limits.
    async fn send(
        &self,
        gate: &Option<SendGate>,
        request: reqwest::RequestBuilder,
        timeout: Option<Duration>,
    ) -> Result<(u16, bytes::Bytes), CallError> {
        if let Some(gate) = gate
            && !gate.pass().await
        {
            return Err(self.plugin_error(PluginError::NotSent(
                "this attempt was taken over by recovery (or settled); nothing was sent".into(),
            )));
        }
        let timeout = timeout
            .unwrap_or(self.limits.default_timeout)
            .min(self.limits.max_timeout);
        let response = request
            .timeout(timeout)
            .send()
            .await
            .map_err(|e| self.other(format!("HTTP request failed: {e}")))?;
        let status = response.status().as_u16();
        let body = response
            .bytes()
            .await
            .map_err(|e| self.other(format!("reading the answer failed: {e}")))?;
        Ok((status, body))
    }

    fn json<T: serde::de::DeserializeOwned>(&self, body: &[u8]) -> Result<T, CallError> {
        serde_json::from_slice(body).map_err(|e| self.other(format!("unexpected answer: {e}")))
    }

    // --- Gravity ---

    async fn gravity_charge(
        &self,
        env: &CallEnv,
        request: TokenCharge,
    ) -> Result<Outcome, CallError> {
        let base = self.setting(env, "base-url")?.trim_end_matches('/');
        let oid = self.setting(env, "oid")?;
        let token = self.setting(env, "auth-token")?;
        let backoff = Duration::from_millis(self.setting_u64(env, "rate-limit-backoff-ms")?);
        self.progress(env, Stage::Processing, None);
        let amount = vetpay_money::Money::of(request.amount.minor_units, &request.amount.currency)
            .map_err(|e| self.other(e.to_string()))?
            .to_decimal_string();
        let mut data = json!({
            "uniqueTransId": request.card_token,
            "externalTransactionId": request.request_id,
            "amount": amount,
        });
        if let Some(reference) = &request.description {
            data["transactionReference"] = json!(reference);
        }
        let body = serde_json::to_vec(&json!({ "transactionData": data }))
            .map_err(|e| self.other(e.to_string()))?;
        let url = format!("{base}/orgs/{oid}/transactions/tokenizedPayment");
        let gate = env.first_send.clone().map(SendGate::new);
        let mut limited = 0;
        let (status, answer) = loop {
            let put = self
                .http
                .put(&url)
                .bearer_auth(token)
                .header("Content-Type", "application/json")
                .header("Accept", "application/json")
                .header("idempotency-key", &request.request_id)
                .body(body.clone());
            let (status, answer) = self.send(&gate, put, None).await?;
            if status != 429 {
                break (status, answer);
            }
            limited += 1;
            if limited > GRAVITY_MAX_RATE_LIMITED {
                return Err(self.other("emergepay kept answering 429 (rate limited)"));
            }
            tokio::time::sleep(backoff * limited.min(5)).await;
        };
        if !(200..300).contains(&status) {
            return Err(self.other(format!("emergepay answered HTTP {status}")));
        }
        let envelope: GravityEnvelope = self.json(&answer)?;
        self.gravity_outcome(envelope.transaction_response)
    }

    fn gravity_outcome(&self, r: GravityResponse) -> Result<Outcome, CallError> {
        if r.result_status != "true" {
            return Ok(Outcome::Declined(vetpay::plugin::types::Decline {
                code: None,
                message: r.result_message,
                provider_reference: r.unique_trans_id,
                receipt: None,
            }));
        }
        let reference = r
            .unique_trans_id
            .clone()
            .ok_or_else(|| self.other("an approval without a uniqueTransId"))?;
        let processed = r
            .amount_processed
            .as_deref()
            .or(r.amount.as_deref())
            .ok_or_else(|| self.other("an approval without an amount"))?;
        let currency =
            vetpay_money::Currency::parse("USD").map_err(|e| self.other(e.to_string()))?;
        let amount = vetpay_money::Money::from_decimal_str(processed, currency)
            .map_err(|e| self.other(e.to_string()))?;
        let brand = r.account_card_type.as_deref().map(gravity_brand);
        let text = format!(
            "APPROVED\nUSD {}\n{} {}\nAUTH {}\nREF {}",
            amount.to_decimal_string(),
            brand.clone().unwrap_or_default().to_uppercase(),
            r.masked_account.as_deref().unwrap_or(""),
            r.approval_number_result.as_deref().unwrap_or("-"),
            reference,
        );
        Ok(Outcome::Approved(Approval {
            receipt: Some(Receipt {
                customer: Some(text.clone()),
                merchant: Some(text),
            }),
            provider_reference: reference.clone(),
            amount: Money {
                minor_units: amount.minor_units,
                currency: "USD".into(),
            },
            authorization_code: r.approval_number_result.filter(|a| !a.is_empty()),
            card: r.masked_account.map(|masked_pan| CardDetails {
                masked_pan,
                brand,
                expiry: r.account_expiry_date,
                entry_method: r.account_entry_method.map(|m| m.to_ascii_lowercase()),
            }),
            card_token: Some(reference),
        }))
    }

    // --- Nets ---

    async fn nets_login(
        &self,
        env: &CallEnv,
        gate: &Option<SendGate>,
    ) -> Result<String, CallError> {
        let base = self.setting(env, "base-url")?.trim_end_matches('/');
        let body = json!({
            "username": self.setting(env, "username")?,
            "password": self.setting(env, "password")?,
        });
        let post = self.http.post(format!("{base}/v1/login")).json(&body);
        let (status, answer) = self.send(gate, post, None).await?;
        if status != 200 {
            return Err(self.other(format!("Connect@Cloud login answered HTTP {status}")));
        }
        let token = self
            .json::<Value>(&answer)?
            .get("token")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| self.other("the login answer has no token"))?;
        let exp = jwt_expiry(&token).ok_or_else(|| self.other("the login token has no exp"))?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let margin = self.setting_u64(env, "token-refresh-margin-s")?;
        let keep = exp.saturating_sub(now).saturating_sub(margin);
        if keep > 0 {
            self.cache
                .set(
                    &self.scope(env),
                    NETS_TOKEN_KEY,
                    token.clone().into_bytes(),
                    Duration::from_secs(keep),
                )
                .await;
        }
        Ok(token)
    }

    /// An authenticated request, logging in again once on a 401, as the plugin does.
    async fn nets_send(
        &self,
        env: &CallEnv,
        gate: &Option<SendGate>,
        build: impl Fn() -> reqwest::RequestBuilder,
        timeout: Option<Duration>,
    ) -> Result<(u16, bytes::Bytes), CallError> {
        let cached = self.cache.get(&self.scope(env), NETS_TOKEN_KEY).await;
        let token = match cached.and_then(|t| String::from_utf8(t).ok()) {
            Some(t) => t,
            None => self.nets_login(env, gate).await?,
        };
        let (status, body) = self
            .send(gate, build().bearer_auth(&token), timeout)
            .await?;
        if status != 401 {
            return Ok((status, body));
        }
        self.cache.delete(&self.scope(env), NETS_TOKEN_KEY).await;
        let token = self.nets_login(env, gate).await?;
        self.send(gate, build().bearer_auth(&token), timeout).await
    }

    async fn nets_process(
        &self,
        env: &CallEnv,
        request: PaymentRequest,
    ) -> Result<Outcome, CallError> {
        let base = self
            .setting(env, "base-url")?
            .trim_end_matches('/')
            .to_owned();
        let timeout = Duration::from_secs(self.setting_u64(env, "transaction-timeout-s")?);
        let (terminal, id, currency) = (
            &request.terminal_id,
            &request.request_id,
            &request.amount.currency,
        );
        let url = format!("{base}/v1/terminal/{terminal}/transaction");
        let gate = env.first_send.clone().map(SendGate::new);
        self.progress(env, Stage::Connecting, None);
        // The retry check: the terminal's last transaction, matched by order id.
        let (status, body) = self
            .nets_send(env, &gate, || self.http.get(&url), None)
            .await?;
        if !matches!(status, 400 | 404) {
            if !(200..300).contains(&status) {
                return Err(self.other(format!("Connect@Cloud answered HTTP {status}")));
            }
            let last: Value = self.json(&body)?;
            let result = &last["result"];
            if text(result, "orderId").as_deref() == Some(id.as_str()) {
                let receipt = result["printText"]["Text"].as_str().map(|t| Receipt {
                    customer: Some(t.to_owned()),
                    merchant: Some(t.to_owned()),
                });
                return self.nets_verdict(&result["latestTransactionResult"], receipt, currency);
            }
        }
        let kind = match request.kind {
            TransactionKind::Purchase => "purchase",
            TransactionKind::Refund => "returnOfGoods",
            TransactionKind::Deposit => "deposit",
        };
        let body = json!({
            "transactionType": kind,
            "amount": request.amount.minor_units,
            "orderId": id,
        });
        self.progress(
            env,
            Stage::WaitingForCard,
            Some("follow the instructions on the terminal"),
        );
        let (status, answer) = self
            .nets_send(
                env,
                &gate,
                || self.http.post(&url).json(&body),
                Some(timeout),
            )
            .await?;
        if !matches!(status, 200 | 400) {
            return Err(self.other(format!("Connect@Cloud answered HTTP {status}")));
        }
        let reply: Value = self.json(&answer)?;
        let first = &reply["result"][0];
        let Some(args) = first.get("localModeEventArgs").filter(|a| a.is_object()) else {
            return Err(
                self.plugin_error(PluginError::Rejected(vetpay::plugin::types::Refusal {
                    code: None,
                    message: format!("Connect@Cloud refused the request: {reply}"),
                })),
            );
        };
        let receipt = Receipt {
            customer: first["customerReceipt"].as_str().map(str::to_owned),
            merchant: first["merchantReceipt"].as_str().map(str::to_owned),
        };
        self.progress(env, Stage::Processing, None);
        // The plugin reads its abort flag here; so does the connector.
        let _aborted = self
            .cache
            .get(&self.scope(env), &format!("abort:{id}"))
            .await
            .is_some();
        self.nets_verdict(args, Some(receipt), currency)
    }

    /// An approval as the plugin maps it; anything else is reported as not
    /// final (the benchmark only pays).
    fn nets_verdict(
        &self,
        args: &Value,
        receipt: Option<Receipt>,
        currency: &str,
    ) -> Result<Outcome, CallError> {
        if args.get("Result").and_then(Value::as_u64) != Some(0) {
            return Ok(Outcome::Unknown(format!(
                "the native connector maps approvals only; got {args}"
            )));
        }
        let Some(amount) = args.get("TotalAmount").and_then(Value::as_i64) else {
            return Ok(Outcome::Unknown("an approval without TotalAmount".into()));
        };
        let reference = [
            text(args, "TerminalID"),
            text(args, "SessionNumber"),
            text(args, "StanAuth"),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("-");
        Ok(Outcome::Approved(Approval {
            provider_reference: reference,
            amount: Money {
                minor_units: amount,
                currency: currency.to_owned(),
            },
            authorization_code: text(args, "StanAuth"),
            card: text(args, "TruncatedPAN").map(|masked_pan| CardDetails {
                masked_pan,
                brand: text(args, "CardIssuerName").map(|b| b.to_ascii_lowercase()),
                expiry: None,
                entry_method: match args.get("CVM").and_then(Value::as_u64) {
                    Some(0) => Some("chip-pin".into()),
                    Some(1) => Some("signature".into()),
                    Some(2) => Some("contactless".into()),
                    _ => None,
                },
            }),
            card_token: None,
            receipt,
        }))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GravityEnvelope {
    transaction_response: GravityResponse,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GravityResponse {
    result_status: String,
    #[serde(default)]
    result_message: String,
    #[serde(default)]
    unique_trans_id: Option<String>,
    #[serde(default)]
    approval_number_result: Option<String>,
    #[serde(default)]
    amount: Option<String>,
    #[serde(default)]
    amount_processed: Option<String>,
    #[serde(default)]
    masked_account: Option<String>,
    #[serde(default)]
    account_card_type: Option<String>,
    #[serde(default)]
    account_expiry_date: Option<String>,
    #[serde(default)]
    account_entry_method: Option<String>,
}

fn gravity_brand(code: &str) -> String {
    match code {
        "VS" => "visa".into(),
        "MC" => "mastercard".into(),
        "AX" => "amex".into(),
        "DS" => "discover".into(),
        other => other.to_ascii_lowercase(),
    }
}

/// A non-empty string or a number, as text (Nets sends both).
fn text(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn jwt_expiry(jwt: &str) -> Option<u64> {
    let claims = jwt.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(claims.trim_end_matches('=')).ok()?;
    serde_json::from_slice::<Value>(&bytes)
        .ok()?
        .get("exp")?
        .as_u64()
}

#[async_trait]
impl PaymentProvider for NativeConnector {
    fn info(&self) -> &PluginFileInfo {
        &self.info
    }

    async fn process(&self, env: &CallEnv, request: PaymentRequest) -> Result<Outcome, CallError> {
        match self.wire {
            Wire::Nets => self.nets_process(env, request).await,
            Wire::Gravity => Err(self.not_supported("process")),
        }
    }

    async fn abort(&self, _: &CallEnv, _: AbortRequest) -> Result<(), CallError> {
        Err(self.not_supported("abort"))
    }

    async fn status(&self, _: &CallEnv, _: StatusQuery) -> Result<Outcome, CallError> {
        Err(self.not_supported("status"))
    }

    async fn charge_token(
        &self,
        env: &CallEnv,
        request: TokenCharge,
    ) -> Result<Outcome, CallError> {
        match self.wire {
            Wire::Gravity => self.gravity_charge(env, request).await,
            Wire::Nets => Err(self.not_supported("charge-token")),
        }
    }

    async fn refund_token(&self, _: &CallEnv, _: TokenRefund) -> Result<Outcome, CallError> {
        Err(self.not_supported("refund-token"))
    }

    async fn save_card(&self, _: &CallEnv, _: SaveCardRequest) -> Result<Outcome, CallError> {
        Err(self.not_supported("save-card"))
    }

    async fn list_terminals(&self, _: &CallEnv) -> Result<Vec<TerminalInfo>, CallError> {
        Err(self.not_supported("list-terminals"))
    }

    async fn reconcile(&self, _: &CallEnv, _: &str) -> Result<Reconciliation, CallError> {
        Err(self.not_supported("reconcile"))
    }
}
