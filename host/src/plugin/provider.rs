//! What the service and billing know of a payment provider: a trait over the
//! host's own types (`plugin::types`), the way Zed's `extension::Extension`
//! stands between its host and the WebAssembly runtime. The wasm runtime
//! ([`WasmPlugin`](super::WasmPlugin)) implements it for every contract
//! version; nothing above the plugin layer sees generated bindings.

use std::sync::Arc;

use async_trait::async_trait;

use super::call_env::CallEnv;
use super::contract::PluginFileInfo;
use super::error::CallError;
use super::manifest::Manifest;
use super::types::{
    AbortRequest, Outcome, PaymentRequest, Reconciliation, SaveCardRequest, StatusQuery,
    TerminalInfo, TokenCharge, TokenRefund,
};

/// A payment provider, shared by every caller.
pub type Provider = Arc<dyn PaymentProvider>;

/// The exports of a payment provider, each answering in host types; an answer
/// has been validated (amounts, masked card numbers, sizes) and scrubbed of
/// secrets before it is returned.
#[async_trait]
pub trait PaymentProvider: Send + Sync + 'static {
    /// The plugin file: manifest, hash and exported contract version.
    fn info(&self) -> &PluginFileInfo;

    fn manifest(&self) -> &Manifest {
        &self.info().manifest
    }

    /// The code's SHA-256: one loaded provider per hash.
    fn sha256(&self) -> &str {
        &self.info().sha256
    }

    /// A card-present purchase, refund or deposit on a terminal.
    async fn process(&self, env: &CallEnv, request: PaymentRequest) -> Result<Outcome, CallError>;

    /// Asks the provider to stop a running request.
    async fn abort(&self, env: &CallEnv, request: AbortRequest) -> Result<(), CallError>;

    /// What happened to an earlier request; never starts a new one.
    async fn status(&self, env: &CallEnv, query: StatusQuery) -> Result<Outcome, CallError>;

    /// Charges a saved card.
    async fn charge_token(&self, env: &CallEnv, request: TokenCharge)
    -> Result<Outcome, CallError>;

    /// Refunds to the card of an earlier transaction.
    async fn refund_token(&self, env: &CallEnv, request: TokenRefund)
    -> Result<Outcome, CallError>;

    /// Takes a card on a terminal only to save it.
    async fn save_card(
        &self,
        env: &CallEnv,
        request: SaveCardRequest,
    ) -> Result<Outcome, CallError>;

    /// The terminals of the provider account.
    async fn list_terminals(&self, env: &CallEnv) -> Result<Vec<TerminalInfo>, CallError>;

    /// End of Day on a terminal.
    async fn reconcile(
        &self,
        env: &CallEnv,
        terminal_id: &str,
    ) -> Result<Reconciliation, CallError>;
}
