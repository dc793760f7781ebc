//! What the card holder does: approve, decline, cancel; what the clinic does:
//! abort; and a refund of an approved purchase.

use std::time::Duration;

use crate::plugin::Capability;
use crate::plugin::types::{AbortRequest, Outcome, TransactionKind};

use super::{AMOUNT, Check, control, outcome_name, process, request, requires, shown, verdict};
use crate::conform::context::Suite;
use crate::conform::control::Action;
use crate::conform::report::Verdict;

/// How long `process` must still block before the clinic aborts it.
const BLOCKING: Duration = Duration::from_millis(500);

pub async fn purchase_approved(suite: &Suite) -> Verdict {
    verdict(purchase_approved_(suite).await)
}

async fn purchase_approved_(suite: &Suite) -> Result<String, Verdict> {
    requires(suite, &[Capability::Process])?;
    control(
        suite
            .control
            .next(&suite.terminal, Action::Approve, None, Duration::ZERO)
            .await,
    )?;
    let id = suite.request_id(Check::PurchaseApproved.name(), 1);
    let answer = process(suite, request(suite, id.clone(), TransactionKind::Purchase)).await;
    let Ok(Outcome::Approved(a)) = &answer else {
        return Err(Verdict::Failed(format!(
            "expected approved, got {}",
            shown(&answer)
        )));
    };
    if a.amount.minor_units != AMOUNT || a.amount.currency != suite.currency {
        return Err(Verdict::Failed(format!(
            "approved {:?}, asked {AMOUNT} {}",
            a.amount, suite.currency
        )));
    }
    let ledger = control(suite.control.ledger().await)?;
    match ledger.iter().find(|e| e.request_id == id) {
        Some(e) if e.approved && e.amount == AMOUNT && e.kind == "purchase" => Ok(format!(
            "approved {AMOUNT} {}, reference {}; the ledger agrees",
            suite.currency, a.provider_reference
        )),
        Some(e) => Err(Verdict::Failed(format!("the ledger holds {e:?}"))),
        None => Err(Verdict::Failed(format!(
            "approved, but the simulator's ledger has no entry for request id {id}"
        ))),
    }
}

pub async fn decline_with_code(suite: &Suite) -> Verdict {
    verdict(decline_with_code_(suite).await)
}

async fn decline_with_code_(suite: &Suite) -> Result<String, Verdict> {
    requires(suite, &[Capability::Process])?;
    control(
        suite
            .control
            .next(&suite.terminal, Action::Decline, Some("05"), Duration::ZERO)
            .await,
    )?;
    let id = suite.request_id(Check::DeclineWithCode.name(), 1);
    let answer = process(suite, request(suite, id, TransactionKind::Purchase)).await;
    let Ok(Outcome::Declined(d)) = &answer else {
        return Err(Verdict::Failed(format!(
            "expected declined, got {}",
            shown(&answer)
        )));
    };
    match (&d.code, suite.info.decline_codes) {
        (Some(code), true) if code == "05" => Ok("declined with code 05".into()),
        (code, true) => Err(Verdict::Failed(format!(
            "declined with code {code:?}, scripted 05"
        ))),
        (_, false) => Ok("declined (the simulator's provider reports no decline codes)".into()),
    }
}

pub async fn cancelled_by_client(suite: &Suite) -> Verdict {
    verdict(cancelled_by_client_(suite).await)
}

async fn cancelled_by_client_(suite: &Suite) -> Result<String, Verdict> {
    requires(suite, &[Capability::Process])?;
    control(
        suite
            .control
            .next(
                &suite.terminal,
                Action::Cancel,
                None,
                Duration::from_millis(100),
            )
            .await,
    )?;
    let id = suite.request_id(Check::CancelledByClient.name(), 1);
    let answer = process(suite, request(suite, id, TransactionKind::Purchase)).await;
    match &answer {
        Ok(Outcome::CancelledByClient(_)) => Ok("cancelled-by-client".into()),
        _ => Err(Verdict::Failed(format!(
            "expected cancelled-by-client, got {}",
            shown(&answer)
        ))),
    }
}

pub async fn aborted_by_clinic(suite: &Suite) -> Verdict {
    verdict(aborted_by_clinic_(suite).await)
}

async fn aborted_by_clinic_(suite: &Suite) -> Result<String, Verdict> {
    requires(suite, &[Capability::Process, Capability::Abort])?;
    control(
        suite
            .control
            .next(&suite.terminal, Action::Never, None, Duration::ZERO)
            .await,
    )?;
    let id = suite.request_id(Check::AbortedByClinic.name(), 1);
    let (plugin, env) = (suite.plugin.clone(), suite.env.clone());
    let req = request(suite, id.clone(), TransactionKind::Purchase);
    let running = tokio::spawn(async move { plugin.process(&env, req).await });
    tokio::time::sleep(BLOCKING).await;
    if running.is_finished() {
        let answer = running.await.map_err(|e| Verdict::Failed(e.to_string()))?;
        suite.keep(&answer);
        return Err(Verdict::Failed(format!(
            "process did not wait for the card holder: it answered {} at once",
            shown(&answer)
        )));
    }
    let abort = AbortRequest {
        request_id: id,
        terminal_id: suite.terminal.clone(),
    };
    let aborted = suite.plugin.abort(&suite.env, abort).await;
    suite.keep(&aborted);
    if let Err(e) = aborted {
        running.abort();
        return Err(Verdict::Failed(format!(
            "abort answered {} : {e}",
            e.kind()
        )));
    }
    let answer = running.await.map_err(|e| Verdict::Failed(e.to_string()))?;
    suite.keep(&answer);
    match &answer {
        Ok(Outcome::AbortedByClinic(_)) => Ok("aborted-by-clinic after abort".into()),
        _ => Err(Verdict::Failed(format!(
            "expected aborted-by-clinic, got {}",
            shown(&answer)
        ))),
    }
}

pub async fn refund(suite: &Suite) -> Verdict {
    verdict(refund_(suite).await)
}

async fn refund_(suite: &Suite) -> Result<String, Verdict> {
    requires(suite, &[Capability::Process])?;
    let purchase_id = suite.request_id(Check::Refund.name(), 1);
    let answer = process(
        suite,
        request(suite, purchase_id, TransactionKind::Purchase),
    )
    .await;
    let Ok(Outcome::Approved(purchase)) = &answer else {
        return Err(Verdict::Failed(format!(
            "the purchase to refund was {}",
            shown(&answer)
        )));
    };
    let refund_id = suite.request_id(Check::Refund.name(), 2);
    let mut req = request(suite, refund_id.clone(), TransactionKind::Refund);
    req.original_reference = Some(purchase.provider_reference.clone());
    let answer = process(suite, req).await;
    let Ok(Outcome::Approved(refund)) = &answer else {
        return Err(Verdict::Failed(format!(
            "expected the refund approved, got {}",
            shown(&answer)
        )));
    };
    if refund.amount.minor_units != AMOUNT {
        return Err(Verdict::Failed(format!(
            "refunded {:?}, asked {AMOUNT}",
            refund.amount
        )));
    }
    let ledger = control(suite.control.ledger().await)?;
    match ledger.iter().find(|e| e.request_id == refund_id) {
        Some(e) if e.kind == "refund" && e.approved && e.amount == AMOUNT => {
            Ok(format!("refunded {AMOUNT}; the ledger agrees"))
        }
        Some(e) => Err(Verdict::Failed(format!("the ledger holds {e:?}"))),
        None => Err(Verdict::Failed(format!(
            "{} refund, but the ledger has no entry for {refund_id}",
            outcome_name(answer.as_ref().expect("approved"))
        ))),
    }
}
