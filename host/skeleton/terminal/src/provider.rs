//! Polderpay Cloud's answers as types, and what each means for vetpay. Pure
//! code: the native tests check every mapping without a host.
//!
//! Decide by codes and states, never by message text: a provider words its
//! messages as it likes, and rewords them.

use serde::Deserialize;
use vetpay_sdk::prelude::*;

/// A payment as the provider reports it.
#[derive(Debug, Clone, Deserialize)]
pub struct Payment {
    pub id: String,
    pub reference: String,
    pub amount: i64,
    pub currency: String,
    pub state: State,
    #[serde(default)]
    pub response_code: Option<String>,
    #[serde(default)]
    pub authorisation: Option<String>,
    #[serde(default)]
    pub card: Option<Card>,
    /// The saved card's token, on an approved `save-card`.
    #[serde(default)]
    pub token: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Card {
    pub last4: String,
    #[serde(default)]
    pub brand: Option<String>,
}

/// Every state the provider documents, and one for any it adds later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    WaitingForCard,
    WaitingForPin,
    Approved,
    Declined,
    /// The card holder pressed Cancel on the terminal.
    Cancelled,
    /// Stopped through the API: by the clinic's abort.
    Aborted,
    /// A state this plugin does not know: never guessed, always `unknown`.
    #[serde(other)]
    Unrecognised,
}

/// An error body: `{"error": code, "message": words}`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Problem {
    #[serde(default)]
    pub error: String,
    #[serde(default)]
    pub message: String,
}

/// A terminal of the account.
#[derive(Debug, Clone, Deserialize)]
pub struct Terminal {
    pub id: String,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Terminals {
    pub terminals: Vec<Terminal>,
}

/// The terminal models this plugin drives.
pub const SUPPORTED_MODELS: &[&str] = &["P400", "P630"];

impl From<Terminal> for TerminalInfo {
    fn from(t: Terminal) -> Self {
        let supported = t
            .model
            .as_deref()
            .is_some_and(|m| SUPPORTED_MODELS.contains(&m));
        TerminalInfo {
            note: (!supported).then(|| {
                format!(
                    "model {} is not supported; use one of {}",
                    t.model.as_deref().unwrap_or("(none)"),
                    SUPPORTED_MODELS.join(", ")
                )
            }),
            id: t.id,
            model: t.model,
            name: t.name,
            supported,
        }
    }
}

/// Where a payment stands.
pub enum Step {
    /// Still at the terminal: report the stage and poll again.
    Waiting(Stage),
    /// The final outcome (boxed: an outcome is much larger than a stage).
    Done(Box<Outcome>),
}

/// What the provider's payment means. Exhaustive: a new state must be mapped
/// on purpose.
pub fn step(payment: Payment) -> Step {
    let outcome = match payment.state {
        State::WaitingForCard => return Step::Waiting(Stage::WaitingForCard),
        State::WaitingForPin => return Step::Waiting(Stage::WaitingForPin),
        State::Approved => Outcome::Approved(Approval {
            amount: Money::new(payment.amount, &payment.currency),
            authorization_code: payment.authorisation,
            card: payment.card.map(|c| CardDetails {
                masked_pan: format!("************{}", c.last4),
                brand: c.brand,
                expiry: None,
                entry_method: None,
            }),
            card_token: payment.token,
            receipt: None,
            provider_reference: payment.id,
        }),
        State::Declined => Outcome::Declined(Decline {
            code: payment.response_code,
            message: "declined by the card issuer".into(),
            provider_reference: Some(payment.id),
            receipt: None,
        }),
        State::Cancelled => Outcome::CancelledByClient(Stopped {
            message: "the card holder cancelled on the terminal".into(),
            provider_reference: Some(payment.id),
        }),
        State::Aborted => Outcome::AbortedByClinic(Stopped {
            message: "stopped by the clinic".into(),
            provider_reference: Some(payment.id),
        }),
        State::Unrecognised => Outcome::Unknown(format!(
            "Polderpay reported a state this plugin does not know for payment {}",
            payment.id
        )),
    };
    Step::Done(Box::new(outcome))
}

/// What an answer that is not a success means. `None`: the request may or
/// may not have been processed (5xx and anything unexpected).
pub fn refusal(status: u16, problem: &Problem) -> Option<PluginError> {
    Some(match (status, problem.error.as_str()) {
        (401 | 403, _) => PluginError::configuration("api-key", "Polderpay refused the API key"),
        (404, "unknown-terminal") => PluginError::terminal(TerminalProblem::NotFound),
        (409, "terminal-busy") => PluginError::terminal(TerminalProblem::Busy),
        (409, "terminal-offline") => PluginError::terminal(TerminalProblem::Offline),
        // Received and refused as such: nothing moved, but it arrived, so it
        // is `rejected`, never `not-sent`.
        (400..=499, code) => PluginError::rejected(
            (!code.is_empty()).then(|| code.to_owned()),
            format!("Polderpay refused the request: {}", problem.message),
        ),
        _ => return None,
    })
}
//~ card-on-file

/// A charge or refund of a saved card, as the provider reports it.
#[derive(Debug, Clone, Deserialize)]
pub struct Charge {
    pub id: String,
    pub reference: String,
    pub amount: i64,
    pub currency: String,
    pub state: ChargeState,
    #[serde(default)]
    pub response_code: Option<String>,
    #[serde(default)]
    pub token: Option<String>,
}

/// A charge is decided at once: approved or declined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChargeState {
    Approved,
    Declined,
    #[serde(other)]
    Unrecognised,
}

/// What the provider's charge means. Exhaustive, as [`step`].
pub fn charged(charge: Charge) -> Outcome {
    match charge.state {
        ChargeState::Approved => Outcome::Approved(Approval {
            amount: Money::new(charge.amount, &charge.currency),
            authorization_code: None,
            card: None,
            card_token: charge.token,
            receipt: None,
            provider_reference: charge.id,
        }),
        ChargeState::Declined => Outcome::Declined(Decline {
            code: charge.response_code,
            message: "declined by the card issuer".into(),
            provider_reference: Some(charge.id),
            receipt: None,
        }),
        ChargeState::Unrecognised => Outcome::Unknown(format!(
            "Polderpay reported a state this plugin does not know for charge {}",
            charge.id
        )),
    }
}
//~ end
