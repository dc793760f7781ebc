//! The card-holder control protocol (docs/CONFORMANCE.md): the wire types both
//! simulators serve under `/_conform`, mapped onto their own scripts and books.
//! `vetpay plugin conform` drives a simulator or a sandbox adapter through it.

use serde::{Deserialize, Serialize};

/// Version of the protocol a simulator speaks, in `GET /_conform`.
pub const PROTOCOL_VERSION: u32 = 1;

/// What the card holder does with the next transaction on a terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Approve,
    Decline,
    /// Presses Cancel on the terminal.
    Cancel,
    /// Never answers (until the clinic aborts).
    Never,
}

/// `POST /_conform/terminals/{id}/next`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Next {
    pub action: Action,
    /// The issuer's response code of a decline, where the provider reports one.
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub after_ms: u64,
}

/// `POST /_conform/fail-next`: the next request that moves money is processed,
/// then answered with this HTTP status (a 5xx after sending).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct FailNext {
    pub status: u16,
}

/// `GET /_conform`: what this simulator is and can do.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Info {
    pub protocol: u32,
    pub provider: String,
    /// Whether declines carry the scripted response code back.
    pub decline_codes: bool,
}

/// The kind of a ledger entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Purchase,
    Refund,
    Deposit,
    SaveCard,
    TokenCharge,
    TokenRefund,
    Void,
    Other,
}

/// One entry of the provider's books, in `GET /_conform/ledger`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The order id, external id or idempotency key the plugin sent.
    pub request_id: String,
    pub kind: Kind,
    /// Minor units.
    pub amount: i64,
    /// ISO 4217, where the provider's books say.
    pub currency: Option<String>,
    pub approved: bool,
    pub voided: bool,
    pub terminal: Option<String>,
}

/// `GET /_conform/ledger`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Ledger {
    pub entries: Vec<Entry>,
}
