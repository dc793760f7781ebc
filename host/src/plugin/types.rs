//! The host's own types for what it exchanges with a payment provider. They
//! mirror the latest contract (`sdk/wit/since_v0.2.0/types.wit` documents every
//! field) but belong to the host: the service, billing and API use these, and
//! each contract version's module in `plugin/wit/` converts to and from its
//! generated bindings, so a new contract version changes nothing above the
//! plugin layer.

/// An exact amount: integer minor units of an ISO 4217 currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Money {
    pub minor_units: i64,
    pub currency: String,
}

/// One setting value handed to the plugin (secrets as their placeholder).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    pub key: String,
    pub value: String,
}

/// Who is calling and with which configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallContext {
    pub market: String,
    pub organisation_id: String,
    pub department_id: Option<String>,
    pub organisation_settings: Vec<Setting>,
    pub department_settings: Vec<Setting>,
}

/// What a card-present request asks the terminal to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransactionKind {
    Purchase,
    Refund,
    Deposit,
}

/// A card-present request on a payment terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentRequest {
    pub request_id: String,
    pub kind: TransactionKind,
    pub amount: Money,
    pub terminal_id: String,
    pub original_reference: Option<String>,
    pub description: Option<String>,
}

/// A payment on a saved card, without a terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenCharge {
    pub request_id: String,
    pub card_token: String,
    pub amount: Money,
    pub description: Option<String>,
}

/// A refund to the card of an earlier transaction, without a terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRefund {
    pub request_id: String,
    pub original_reference: String,
    pub card_token: Option<String>,
    pub amount: Money,
    pub description: Option<String>,
}

/// A card presented on a terminal only to be saved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaveCardRequest {
    pub request_id: String,
    pub terminal_id: String,
    pub currency: String,
}

/// Which earlier request `status` asks about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusQuery {
    pub request_id: String,
    pub terminal_id: Option<String>,
    pub kind: TransactionKind,
    pub amount: Money,
    /// When the attempt's first request left the host (ms since the epoch).
    pub sent_at_ms: Option<u64>,
    /// The attempt sent on the same terminal just before this one.
    pub previous_request_id: Option<String>,
    /// Whether another attempt was sent on the same terminal since this one.
    pub superseded: bool,
}

/// A merchant abort of a running request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AbortRequest {
    pub request_id: String,
    pub terminal_id: String,
}

/// The card as the provider reports it (masked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardDetails {
    pub masked_pan: String,
    pub brand: Option<String>,
    pub expiry: Option<String>,
    pub entry_method: Option<String>,
}

/// Receipt texts as the provider formats them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub customer: Option<String>,
    pub merchant: Option<String>,
}

/// An approved transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    pub provider_reference: String,
    pub amount: Money,
    pub authorization_code: Option<String>,
    pub card: Option<CardDetails>,
    pub card_token: Option<String>,
    pub receipt: Option<Receipt>,
}

/// A transaction the issuer or the provider refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decline {
    pub code: Option<String>,
    pub message: String,
    pub provider_reference: Option<String>,
    pub receipt: Option<Receipt>,
}

/// A transaction someone stopped before money moved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stopped {
    pub message: String,
    pub provider_reference: Option<String>,
}

/// What happened to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Approved(Approval),
    Declined(Decline),
    CancelledByClient(Stopped),
    AbortedByClinic(Stopped),
    InProgress(String),
    Unknown(String),
    /// Only from `status`: the provider proves the request never started.
    NotFound(String),
}

/// Why a setting is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigurationError {
    pub setting: String,
    pub message: String,
}

/// Why a terminal could not take the request (nothing was processed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TerminalProblem {
    Busy,
    Offline,
    NotFound,
    NeedsReconciliation,
    UnsupportedModel(String),
}

/// A failure a plugin reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginError {
    NotSupported(String),
    NotSent(String),
    Configuration(ConfigurationError),
    Terminal(TerminalProblem),
    /// The provider received the request and refused it (contract 0.2).
    Rejected(Refusal),
    Other(String),
}

/// A provider's refusal of a request it received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: Option<String>,
    pub message: String,
}

/// A terminal known to the provider account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerminalInfo {
    pub id: String,
    pub model: Option<String>,
    pub name: Option<String>,
    pub supported: bool,
    pub note: Option<String>,
}

/// The result of an End of Day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reconciliation {
    pub reference: Option<String>,
    pub report: String,
    /// `None` when the provider (or a contract 0.1 plugin) reports no totals.
    pub totals: Option<Vec<CurrencyTotals>>,
    /// `None` when the provider does not list the transactions.
    pub transactions: Option<Vec<ReconciledTransaction>>,
}

/// Counts and sums of one currency in an End of Day report (minor units).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrencyTotals {
    pub currency: String,
    pub purchase_count: u32,
    pub purchase_total: i64,
    pub refund_count: u32,
    pub refund_total: i64,
}

/// One transaction an End of Day report lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconciledTransaction {
    pub order_id: Option<String>,
    pub provider_reference: Option<String>,
    pub kind: TransactionKind,
    pub amount: Money,
}

/// Where a running request is, as the plugin reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stage {
    Connecting,
    WaitingForCard,
    WaitingForPin,
    Processing,
    WaitingForResult,
    Cancelling,
    Other(String),
}
