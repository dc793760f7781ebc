//! The checks, by group: [`payments`] (what the card holder does),
//! [`recovery`] (what happens when something goes wrong on the way) and
//! [`safety`] (what the plugin declares and what it lets out).

mod payments;
mod recovery;
mod safety;

use crate::plugin::types::{Money, Outcome, PaymentRequest, TransactionKind};
use crate::plugin::{CallError, Capability};

use super::context::Suite;
use super::report::Verdict;

/// One check of the suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    PurchaseApproved,
    DeclineWithCode,
    CancelledByClient,
    AbortedByClinic,
    Refund,
    SameRequestIdOnce,
    StatusFindsApproved,
    ClosedPortNotSent,
    ServerErrorNeverFailed,
    Capabilities,
    DeadlineRespected,
    NoSecretLeak,
}

impl Check {
    /// In the order they run: the secrets check last, as it reads everything before it.
    pub const ALL: [Check; 12] = [
        Check::PurchaseApproved,
        Check::DeclineWithCode,
        Check::CancelledByClient,
        Check::AbortedByClinic,
        Check::Refund,
        Check::SameRequestIdOnce,
        Check::StatusFindsApproved,
        Check::ClosedPortNotSent,
        Check::ServerErrorNeverFailed,
        Check::Capabilities,
        Check::DeadlineRespected,
        Check::NoSecretLeak,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Check::PurchaseApproved => "purchase-approved",
            Check::DeclineWithCode => "decline-with-code",
            Check::CancelledByClient => "cancelled-by-client",
            Check::AbortedByClinic => "aborted-by-clinic",
            Check::Refund => "refund",
            Check::SameRequestIdOnce => "same-request-id-once",
            Check::StatusFindsApproved => "status-finds-approved",
            Check::ClosedPortNotSent => "closed-port-not-sent",
            Check::ServerErrorNeverFailed => "server-error-never-failed",
            Check::Capabilities => "capabilities",
            Check::DeadlineRespected => "deadline-respected",
            Check::NoSecretLeak => "no-secret-leak",
        }
    }

    pub async fn run(self, suite: &Suite) -> Verdict {
        match self {
            Check::PurchaseApproved => payments::purchase_approved(suite).await,
            Check::DeclineWithCode => payments::decline_with_code(suite).await,
            Check::CancelledByClient => payments::cancelled_by_client(suite).await,
            Check::AbortedByClinic => payments::aborted_by_clinic(suite).await,
            Check::Refund => payments::refund(suite).await,
            Check::SameRequestIdOnce => recovery::same_request_id_once(suite).await,
            Check::StatusFindsApproved => recovery::status_finds_approved(suite).await,
            Check::ClosedPortNotSent => recovery::closed_port_not_sent(suite).await,
            Check::ServerErrorNeverFailed => recovery::server_error_never_failed(suite).await,
            Check::Capabilities => safety::capabilities(suite).await,
            Check::DeadlineRespected => recovery::deadline_respected(suite).await,
            Check::NoSecretLeak => safety::no_secret_leak(suite),
        }
    }
}

/// The amount every payment of the suite asks for, in minor units.
pub const AMOUNT: i64 = 1234;

/// `Err(skipped)` unless the plugin declares every one of `needed`.
fn requires(suite: &Suite, needed: &[Capability]) -> Result<(), Verdict> {
    let missing: Vec<&str> = needed
        .iter()
        .filter(|c| !suite.plugin.manifest().supports(**c))
        .map(|c| c.export_name())
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(Verdict::Skipped(format!(
            "the plugin does not declare {}",
            missing.join(", ")
        )))
    }
}

fn money(suite: &Suite) -> Money {
    Money {
        minor_units: AMOUNT,
        currency: suite.currency.clone(),
    }
}

fn request(suite: &Suite, request_id: String, kind: TransactionKind) -> PaymentRequest {
    PaymentRequest {
        request_id,
        kind,
        amount: money(suite),
        terminal_id: suite.terminal.clone(),
        original_reference: None,
        description: Some("vetpay conformance".into()),
    }
}

/// Runs `process` and keeps the answer for the secrets check.
async fn process(suite: &Suite, request: PaymentRequest) -> Result<Outcome, CallError> {
    let answer = suite.plugin.process(&suite.env, request).await;
    suite.keep(&answer);
    answer
}

/// An answer in a few words, for a detail column.
fn shown(answer: &Result<Outcome, CallError>) -> String {
    match answer {
        Ok(o) => outcome_name(o).to_owned(),
        Err(e) => format!("error {} ({:?}): {e}", e.kind(), e.disposition()),
    }
}

fn outcome_name(o: &Outcome) -> &'static str {
    match o {
        Outcome::Approved(_) => "approved",
        Outcome::Declined(_) => "declined",
        Outcome::CancelledByClient(_) => "cancelled-by-client",
        Outcome::AbortedByClinic(_) => "aborted-by-clinic",
        Outcome::InProgress(_) => "in-progress",
        Outcome::Unknown(_) => "unknown",
        Outcome::NotFound(_) => "not-found",
    }
}

/// Lifts a control-API failure into a failed check.
fn control<T>(r: Result<T, super::control::ControlError>) -> Result<T, Verdict> {
    r.map_err(|e| Verdict::Failed(e.to_string()))
}

/// A check's result: passed with its detail, or the verdict it stopped at.
fn verdict(r: Result<String, Verdict>) -> Verdict {
    match r {
        Ok(detail) => Verdict::Passed(detail),
        Err(v) => v,
    }
}
