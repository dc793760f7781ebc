//! What Connect@Cloud's answers mean: the wire shapes and their exhaustive
//! mapping to the contract's outcomes and errors. Pure code, no host calls,
//! so that every shape and wording is tested natively.
//!
//! **Classification never reads message text** but in one place: a refusal
//! given as plain text (`{"failure":"..."}`) carries nothing else, so
//! [`plain_refusal`] matches its key words. Everything else is decided by
//! `Result`, `ResponseCode` and vetpay's own abort flag:
//!
//! | `Result` | `ResponseCode` | abort flag | meaning |
//! | --- | --- | --- | --- |
//! | 0 | any | any | approved [known] |
//! | 2 | an issuer code (`05`, `51`, ...) | any | declined by the issuer [known] |
//! | 2 | none or empty | set | aborted by the clinic: vetpay sent `cancelAction` [inferred] |
//! | 2 | none or empty | not set | cancelled on the terminal by the card holder [inferred] |
//! | 2 | [`BUSY`] | any | `terminal(busy)` [inferred] |
//! | 2 | [`NEEDS_RECONCILIATION`] | any | `terminal(needs-reconciliation)` [inferred] |
//! | 99 | any | any | lost communication: look the transaction up [known] |
//! | 1 or other | any | any | nothing final: unknown |
//!
//! [inferred] A transaction stopped before the issuer was asked (a cancel on
//! the terminal or a merchant `cancelAction`) has no issuer response code, and
//! the two read alike on the wire: only vetpay's abort flag tells them apart.
//! Nets does not publish codes for a busy or unreconciled terminal refused in
//! the failure object; the two below are the plugin's and the simulator's.

use serde_json::Value;
use vetpay_sdk::prelude::*;

/// [inferred] `ResponseCode` of a failure object refusing a busy terminal.
pub const BUSY: &str = "BUSY";
/// [inferred] `ResponseCode` of a failure object refusing a terminal that
/// needs End of Day first.
pub const NEEDS_RECONCILIATION: &str = "RECONCILE";

/// A transaction request's answer, by shape [known].
#[derive(Debug)]
pub enum Reply<'a> {
    /// `{"result":[{"localModeEventArgs":{..},"customerReceipt":..,"merchantReceipt":..}]}`
    Result { args: &'a Value, receipt: Receipt },
    /// `{"failure":{"error":"..","localModeEventArgs":{..}}}`
    FailureWithArgs {
        args: &'a Value,
        error: Option<&'a str>,
    },
    /// `{"failure":{"error":".."}}` without event args: refused, nothing to read.
    FailureWithoutArgs { error: String },
    /// `{"failure":"plain text"}`
    FailureText(&'a str),
    /// None of the documented shapes.
    Unrecognised,
}

impl<'a> Reply<'a> {
    pub fn of(body: &'a Value) -> Self {
        match body.get("failure") {
            Some(Value::String(text)) => Reply::FailureText(text),
            Some(failure @ Value::Object(_)) => match failure.get("localModeEventArgs") {
                Some(args @ Value::Object(_)) => Reply::FailureWithArgs {
                    args,
                    error: failure["error"].as_str(),
                },
                _ => Reply::FailureWithoutArgs {
                    error: failure["error"].as_str().unwrap_or_default().to_owned(),
                },
            },
            Some(_) => Reply::Unrecognised,
            None => {
                let first = &body["result"][0];
                match first.get("localModeEventArgs") {
                    Some(args @ Value::Object(_)) => Reply::Result {
                        args,
                        receipt: Receipt {
                            customer: first["customerReceipt"].as_str().map(str::to_owned),
                            merchant: first["merchantReceipt"].as_str().map(str::to_owned),
                        },
                    },
                    _ => Reply::Unrecognised,
                }
            }
        }
    }
}

/// `localModeEventArgs.Result` [known].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultCode {
    FinancialOk,
    AdministrativeOk,
    Rejected,
    LostCommunication,
    /// Missing, or a value nobody documented.
    Unrecognised(Option<u64>),
}

impl ResultCode {
    pub fn of(args: &Value) -> Self {
        match args.get("Result").and_then(Value::as_u64) {
            Some(0) => ResultCode::FinancialOk,
            Some(1) => ResultCode::AdministrativeOk,
            Some(2) => ResultCode::Rejected,
            Some(99) => ResultCode::LostCommunication,
            other => ResultCode::Unrecognised(other),
        }
    }
}

/// Why a `Result` 2 was rejected, from its `ResponseCode`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// The issuer answered with this code.
    Issuer(String),
    /// Stopped before the issuer was asked: a cancel.
    Stopped,
    Busy,
    NeedsReconciliation,
}

impl Rejection {
    pub fn of(args: &Value) -> Self {
        match text(args, "ResponseCode") {
            None => Rejection::Stopped,
            Some(code) if code == BUSY => Rejection::Busy,
            Some(code) if code == NEEDS_RECONCILIATION => Rejection::NeedsReconciliation,
            Some(code) => Rejection::Issuer(code),
        }
    }
}

/// What the plugin does with a transaction's event args.
#[derive(Debug)]
pub enum Verdict {
    /// Report this (boxed: an outcome is large beside the others).
    Outcome(Box<Outcome>),
    /// The terminal could not take the request: nothing was processed.
    Refused(TerminalProblem),
    /// `Result` 99: look the transaction up.
    LookUp,
}

/// A non-empty string or a number, as text.
pub fn text(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The exhaustive mapping of event args to a verdict. `aborted` is vetpay's
/// abort flag for the request; `error` the failure object's text, kept as the
/// message only.
pub fn verdict(
    args: &Value,
    error: Option<&str>,
    receipt: Option<Receipt>,
    aborted: bool,
    currency: &str,
) -> Verdict {
    let reference = || {
        [
            text(args, "TerminalID"),
            text(args, "SessionNumber"),
            text(args, "StanAuth"),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("-")
    };
    let message = |fallback: &str| {
        error
            .filter(|e| !e.is_empty())
            .unwrap_or(fallback)
            .to_owned()
    };
    let outcome = match ResultCode::of(args) {
        ResultCode::FinancialOk => approval(args, reference(), receipt, currency),
        ResultCode::Rejected => match Rejection::of(args) {
            Rejection::Issuer(code) => Outcome::Declined(Decline {
                code: Some(code),
                message: message("declined"),
                provider_reference: Some(reference()),
                receipt,
            }),
            Rejection::Stopped if aborted => Outcome::AbortedByClinic(Stopped {
                message: message("aborted by the clinic"),
                provider_reference: None,
            }),
            Rejection::Stopped => Outcome::CancelledByClient(Stopped {
                message: message("cancelled on the terminal"),
                provider_reference: None,
            }),
            Rejection::Busy => return Verdict::Refused(TerminalProblem::Busy),
            Rejection::NeedsReconciliation => {
                return Verdict::Refused(TerminalProblem::NeedsReconciliation);
            }
        },
        ResultCode::LostCommunication => return Verdict::LookUp,
        ResultCode::AdministrativeOk => {
            Outcome::Unknown("an administrative Result 1 for a transaction".into())
        }
        ResultCode::Unrecognised(code) => {
            Outcome::Unknown(format!("unexpected Result {code:?} for a transaction"))
        }
    };
    Verdict::Outcome(Box::new(outcome))
}

fn approval(args: &Value, reference: String, receipt: Option<Receipt>, currency: &str) -> Outcome {
    let Some(amount) = args.get("TotalAmount").and_then(Value::as_i64) else {
        return Outcome::Unknown("an approval without TotalAmount".into());
    };
    Outcome::Approved(Approval {
        provider_reference: reference,
        amount: Money::new(amount, currency),
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
    })
}

/// A refusal given as plain text, the one shape with nothing but words
/// [inferred: the wordings]. Unrecognised words are a refusal by a provider
/// that was reached: `rejected`, never `not-sent`.
pub fn plain_refusal(text: &str) -> PluginError {
    let t = text.to_ascii_lowercase();
    let problem = if t.contains("busy") || t.contains("in use") || t.contains("another transaction")
    {
        Some(TerminalProblem::Busy)
    } else if t.contains("reconcil") || t.contains("end of day") {
        Some(TerminalProblem::NeedsReconciliation)
    } else if t.contains("offline") || t.contains("not connected") {
        Some(TerminalProblem::Offline)
    } else if t.contains("not found") || t.contains("unknown terminal") {
        Some(TerminalProblem::NotFound)
    } else {
        None
    };
    match problem {
        Some(problem) => PluginError::terminal(problem),
        None => PluginError::rejected(None, format!("Connect@Cloud refused the request: {text}")),
    }
}

/// A failure object without event args: refused after it arrived.
pub fn refused_without_args(error: &str) -> PluginError {
    PluginError::rejected(None, format!("Connect@Cloud refused the request: {error}"))
}

/// An End of Day batch's totals, when the terminal sends them as
/// `[{currency, purchaseCount, purchaseAmount, refundCount, refundAmount}]`
/// ([inferred]); `None` for the documented answer (print text only) or any
/// entry that is not whole. Amounts are minor units; refunds count positive.
pub fn batch_totals(v: &Value) -> Option<Vec<CurrencyTotals>> {
    let list = v.as_array()?;
    list.iter()
        .map(|t| {
            let count = |key: &str| t[key].as_u64().and_then(|n| u32::try_from(n).ok());
            Some(CurrencyTotals {
                currency: t["currency"].as_str()?.to_owned(),
                purchase_count: count("purchaseCount")?,
                purchase_total: t["purchaseAmount"].as_i64()?,
                refund_count: count("refundCount")?,
                refund_total: t["refundAmount"].as_i64()?,
            })
        })
        .collect()
}

/// The batch's transactions, when the terminal lists them as
/// `[{orderId, transactionType, amount}]` ([inferred]). A terminal takes one
/// currency: the batch's, known from its totals; without exactly one, `None`.
pub fn batch_transactions(
    v: &Value,
    totals: Option<&[CurrencyTotals]>,
) -> Option<Vec<ReconciledTransaction>> {
    let [only] = totals? else {
        return None;
    };
    let list = v.as_array()?;
    list.iter()
        .map(|t| {
            let kind = match t["transactionType"].as_str()? {
                "purchase" | "purchaseWithCashback" => TransactionKind::Purchase,
                "returnOfGoods" => TransactionKind::Refund,
                "deposit" => TransactionKind::Deposit,
                _ => return None,
            };
            Some(ReconciledTransaction {
                order_id: t["orderId"].as_str().map(str::to_owned),
                provider_reference: None,
                kind,
                amount: Money::new(t["amount"].as_i64()?, &only.currency),
            })
        })
        .collect()
}
