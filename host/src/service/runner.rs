//! Runs one plugin attempt in the background and books its outcome. The
//! mapping from outcome to payment state is exhaustive on purpose: a new
//! outcome in the contract must be decided here.

use std::sync::Arc;
use std::time::Duration;

use super::{Clinic, PaymentEvent, ServiceError};
use crate::plugin::types::{
    Money, Outcome, PaymentRequest, Stage, StatusQuery, TokenCharge, TokenRefund, TransactionKind,
};
use crate::plugin::{CallEnv, CallError, Disposition, ProgressEvent, Provider};
use crate::store::now_ms;
use crate::store::{Method, Payment, PaymentKind, PaymentStatus, Settlement, TerminalHistory};

/// A stage as the events and the payment row spell it.
pub(super) fn stage_name(stage: &Stage) -> String {
    match stage {
        Stage::Connecting => "connecting".into(),
        Stage::WaitingForCard => "waiting-for-card".into(),
        Stage::WaitingForPin => "waiting-for-pin".into(),
        Stage::Processing => "processing".into(),
        Stage::WaitingForResult => "waiting-for-result".into(),
        Stage::Cancelling => "cancelling".into(),
        Stage::Other(s) => s.chars().take(64).collect(),
    }
}

pub(super) fn describe(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Approved(a) => format!("approved ({})", a.provider_reference),
        Outcome::Declined(d) => match &d.code {
            Some(code) => format!("declined ({code}): {}", d.message),
            None => format!("declined: {}", d.message),
        },
        Outcome::CancelledByClient(s) => format!("cancelled on the terminal: {}", s.message),
        Outcome::AbortedByClinic(s) => format!("aborted by the clinic: {}", s.message),
        Outcome::InProgress(m) => format!("still in progress: {m}"),
        Outcome::Unknown(m) => format!("outcome unknown: {m}"),
        Outcome::NotFound(m) => format!("the provider has no such transaction: {m}"),
    }
}

fn kind_of(p: &Payment) -> TransactionKind {
    match p.kind {
        PaymentKind::Payment => TransactionKind::Purchase,
        PaymentKind::Deposit => TransactionKind::Deposit,
        PaymentKind::Refund => TransactionKind::Refund,
    }
}

fn final_state(status: PaymentStatus, message: String) -> Settlement {
    Settlement {
        status: Some(status),
        message: Some(message),
        ..Settlement::default()
    }
}

/// What an outcome means for the payment; `None` when it is not known yet.
pub(super) fn settlement_of(outcome: &Outcome) -> Option<Settlement> {
    Some(match outcome {
        Outcome::Approved(a) => Settlement {
            status: Some(PaymentStatus::Succeeded),
            message: None,
            provider_reference: Some(a.provider_reference.clone()),
            authorization_code: a.authorization_code.clone(),
            masked_pan: a.card.as_ref().map(|c| c.masked_pan.clone()),
            card_brand: a.card.as_ref().and_then(|c| c.brand.clone()),
            card_token: a.card_token.clone(),
            next_check_at: None,
        },
        // The provider proves the request never started: nothing moved.
        Outcome::Declined(_) | Outcome::CancelledByClient(_) | Outcome::NotFound(_) => {
            final_state(PaymentStatus::Failed, describe(outcome))
        }
        Outcome::AbortedByClinic(_) => final_state(PaymentStatus::Cancelled, describe(outcome)),
        Outcome::InProgress(_) | Outcome::Unknown(_) => return None,
    })
}

/// What a failed call means: failed if nothing was sent or the provider
/// refused, needs review on a suspicious approval, otherwise unknown.
pub(super) fn settlement_of_error(e: &CallError) -> Option<Settlement> {
    if matches!(e, CallError::AmountMismatch { .. }) {
        return Some(final_state(PaymentStatus::NeedsReview, e.to_string()));
    }
    match e.disposition() {
        Disposition::NotSent | Disposition::Refused => {
            Some(final_state(PaymentStatus::Failed, e.to_string()))
        }
        Disposition::Unknown => None,
    }
}

/// Records an attempt's first send, durably, before the request leaves: one
/// write per attempt, and the proof recovery needs that nothing was sent
/// when it is missing.
struct SendMark {
    clinic: Clinic,
    payment_id: String,
}

#[async_trait::async_trait]
impl crate::plugin::FirstSend for SendMark {
    async fn first_send(&self) -> bool {
        let owner = &self.clinic.inner.config.host_id;
        let started = std::time::Instant::now();
        let recorded = self
            .clinic
            .store()
            .mark_attempt_sent(&self.payment_id, owner)
            .await;
        // What the record costs a payment (the API benchmark reads these).
        tracing::trace!(target: "vetpay::first_send", payment = %self.payment_id,
            elapsed_us = started.elapsed().as_micros() as u64, "first send recorded");
        match recorded {
            Ok(true) => true,
            Ok(false) => {
                tracing::warn!(payment = %self.payment_id,
                    "attempt no longer this host's to run; its request was not sent");
                false
            }
            // Unrecorded, a send could later be taken for "nothing sent": refuse it.
            Err(e) => {
                tracing::error!(payment = %self.payment_id, error = %e,
                    "first send not recorded; the request was not sent");
                false
            }
        }
    }
}

/// What the start of an attempt already read and checked (the department,
/// the usable plugin, the terminal's provider id), handed to its run so the
/// call does not read it again. Runs started elsewhere (recovery) read it.
pub(super) struct Ready {
    pub plugin: Provider,
    pub department: crate::store::Department,
    pub provider_terminal_id: Option<String>,
}

/// The waits before an abort is delivered again while its attempt runs:
/// again at 0.5, 1.5, 3.5 and 7.5 s.
const ABORT_AGAIN_AFTER: [Duration; 4] = [
    Duration::from_millis(500),
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(4),
];

/// How long a stage must last before it is written to the payment row.
const STAGE_SETTLE: Duration = Duration::from_millis(250);

impl Clinic {
    /// Calls the plugin for a fresh attempt and books what happened.
    pub(super) async fn run_attempt(self, payment: Payment, ready: Option<Ready>) {
        let (sink, mut progress) = tokio::sync::mpsc::unbounded_channel::<ProgressEvent>();
        let watcher = {
            let clinic = self.clone();
            let id = payment.id.clone();
            tokio::spawn(async move {
                // Watchers on this host get every stage at once. The row gets a
                // stage only once it has lasted STAGE_SETTLE (a card holder
                // thinking), so quick payments cost no extra writes; dialogs on
                // other hosts still see the stages that matter.
                let mut pending: Option<String> = None;
                loop {
                    let event = if pending.is_some() {
                        match tokio::time::timeout(STAGE_SETTLE, progress.recv()).await {
                            Ok(event) => event,
                            Err(_) => {
                                let stage = pending.take().unwrap_or_default();
                                if let Err(e) = clinic.store().set_payment_stage(&id, &stage).await
                                {
                                    tracing::warn!(payment = %id, error = %e, "stage not recorded");
                                }
                                continue;
                            }
                        }
                    } else {
                        progress.recv().await
                    };
                    let Some(event) = event else { break };
                    let stage = stage_name(&event.stage);
                    pending = Some(stage.clone());
                    clinic.events().publish(
                        &id,
                        PaymentEvent::Stage {
                            stage,
                            message: event.message,
                        },
                    );
                }
            })
        };
        let renewal = self.keep_lease(&payment.id);
        let result = self.call_for(&payment, Some(sink), ready).await;
        renewal.abort();
        // The sink is dropped with the call, so the watcher ends after the last stage.
        let _ = watcher.await;
        let settlement = match &result {
            Ok(outcome) => settlement_of(outcome),
            Err(ServiceError::Plugin(e)) => settlement_of_error(e),
            Err(e) => Some(final_state(PaymentStatus::Failed, e.to_string())),
        };
        let settlement = settlement.unwrap_or_else(|| Settlement {
            status: Some(PaymentStatus::Unknown),
            message: Some(match &result {
                Ok(o) => describe(o),
                Err(e) => e.to_string(),
            }),
            next_check_at: Some(
                now_ms() + self.inner.config.recovery.first_delay.as_millis() as i64,
            ),
            ..Settlement::default()
        });
        if let Err(e) = &result {
            tracing::warn!(payment = %payment.id, error = %e, "payment attempt failed");
        }
        self.book(&payment.id, settlement).await;
    }

    /// Renews this host's lease of a running attempt while its call is alive,
    /// at a third of the lease, so one missed renewal does not lose it. Quick
    /// payments end before the first renewal: they cost no extra write.
    fn keep_lease(&self, id: &str) -> tokio::task::JoinHandle<()> {
        let clinic = self.clone();
        let id = id.to_owned();
        tokio::spawn(async move {
            let lease = clinic.inner.config.recovery.attempt_lease;
            let owner = clinic.inner.config.host_id.clone();
            loop {
                tokio::time::sleep(lease / 3).await;
                let until = now_ms() + lease.as_millis() as i64;
                match clinic.store().renew_attempt_lease(&id, &owner, until).await {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!(payment = %id, "attempt lease lost: another host took it over");
                        break;
                    }
                    Err(e) => {
                        tracing::warn!(payment = %id, error = %e, "attempt lease not renewed")
                    }
                }
            }
        })
    }

    /// Asks the provider to abort a running attempt on its terminal; the
    /// outcome still comes from `process` or `status`.
    pub(super) async fn deliver_abort(&self, p: &Payment) -> Result<(), ServiceError> {
        let (plugin, env, terminal) = self.prepare(p, None, None).await?;
        let Some(terminal_id) = terminal else {
            return Ok(());
        };
        plugin
            .abort(
                &env,
                crate::plugin::types::AbortRequest {
                    request_id: p.id.clone(),
                    terminal_id,
                },
            )
            .await?;
        Ok(())
    }

    /// [`Self::deliver_abort`] for a job with no caller to tell: a failure is logged.
    pub(super) async fn abort_on_provider(&self, p: &Payment) {
        if let Err(e) = self.deliver_abort(p).await {
            tracing::warn!(payment = %p.id, error = %e, "abort not delivered to the provider");
        }
    }

    /// Delivers an abort again while its attempt still runs, after each of
    /// [`ABORT_AGAIN_AFTER`]. The first delivery can overtake the attempt's
    /// own request to the provider (Nets' `cancelAction` stops whatever runs
    /// on the terminal, and nothing ran yet); a plugin's abort is idempotent.
    pub(super) fn keep_aborting(&self, p: &Payment) {
        let clinic = self.clone();
        let (organisation_id, id) = (p.organisation_id.clone(), p.id.clone());
        tokio::spawn(async move {
            for wait in ABORT_AGAIN_AFTER {
                tokio::time::sleep(wait).await;
                match clinic.store().payment(&organisation_id, &id).await {
                    Ok(Some(p)) if p.status == PaymentStatus::Processing && p.abort_requested => {
                        tracing::info!(payment = %id, "abort delivered again: the attempt still runs");
                        clinic.abort_on_provider(&p).await;
                    }
                    Ok(_) => break,
                    Err(e) => tracing::warn!(payment = %id, error = %e, "abort not re-checked"),
                }
            }
        });
    }

    /// Books a settlement and tells the watchers.
    pub(super) async fn book(&self, id: &str, settlement: Settlement) {
        match self.store().finish_payment(id, settlement).await {
            Ok(Some(p)) => self.events().publish(
                id,
                PaymentEvent::Status {
                    payment: Box::new(p),
                },
            ),
            Ok(None) => {}
            // The row stays running; the recovery job takes it over later.
            Err(e) => tracing::error!(payment = %id, error = %e, "payment outcome not booked"),
        }
    }

    /// The plugin, environment and provider ids an attempt needs; what the
    /// start already read is taken from `ready`, the rest is read.
    async fn prepare(
        &self,
        p: &Payment,
        progress: Option<crate::plugin::ProgressSink>,
        ready: Option<Ready>,
    ) -> Result<(Provider, CallEnv, Option<String>), ServiceError> {
        let org = &p.organisation_id;
        let ready = match ready {
            Some(ready) => ready,
            None => {
                let plugin_id = p
                    .plugin_id
                    .as_deref()
                    .ok_or_else(|| ServiceError::NotFound("the payment has no plugin".into()))?;
                Ready {
                    department: self.department(org, &p.department_id).await?,
                    plugin: self.plugin(org, plugin_id).await?,
                    provider_terminal_id: match &p.terminal_id {
                        Some(t) => Some(self.terminal(org, t).await?.provider_terminal_id),
                        None => None,
                    },
                }
            }
        };
        let env = self
            .call_env(org, &ready.plugin, &ready.department, progress)
            .await?;
        Ok((ready.plugin, env, ready.provider_terminal_id))
    }

    fn amount(p: &Payment) -> Money {
        Money {
            minor_units: p.amount.minor_units.abs(),
            currency: p.currency.code().to_owned(),
        }
    }

    /// The original payment of a refund, for its provider reference and token.
    async fn original(&self, p: &Payment) -> Result<Option<Payment>, ServiceError> {
        match &p.original_payment_id {
            Some(id) => Ok(self.store().payment(&p.organisation_id, id).await?),
            None => Ok(None),
        }
    }

    async fn call_for(
        &self,
        p: &Payment,
        progress: Option<crate::plugin::ProgressSink>,
        ready: Option<Ready>,
    ) -> Result<Outcome, ServiceError> {
        let (plugin, mut env, terminal) = self.prepare(p, progress, ready).await?;
        env.first_send = Some(Arc::new(SendMark {
            clinic: self.clone(),
            payment_id: p.id.clone(),
        }));
        let original = self.original(p).await?;
        let original_reference = original.as_ref().and_then(|o| o.provider_reference.clone());
        let description = Some(match p.kind {
            PaymentKind::Payment => "Invoice payment".to_owned(),
            PaymentKind::Deposit => "Client prepayment".to_owned(),
            PaymentKind::Refund => "Return of goods".to_owned(),
        });
        let outcome = match (p.method, p.kind) {
            (Method::Card, _) => {
                plugin
                    .process(
                        &env,
                        PaymentRequest {
                            request_id: p.id.clone(),
                            kind: kind_of(p),
                            amount: Self::amount(p),
                            terminal_id: terminal.unwrap_or_default(),
                            original_reference,
                            description,
                        },
                    )
                    .await?
            }
            (Method::SavedCard, PaymentKind::Refund) => {
                let token = match original.as_ref().and_then(|o| o.card_token.clone()) {
                    Some(t) => Some(t),
                    None => self.card_token(p).await?,
                };
                plugin
                    .refund_token(
                        &env,
                        TokenRefund {
                            request_id: p.id.clone(),
                            original_reference: original_reference.unwrap_or_default(),
                            card_token: token,
                            amount: Self::amount(p),
                            description,
                        },
                    )
                    .await?
            }
            (Method::SavedCard, _) => {
                let token = self
                    .card_token(p)
                    .await?
                    .ok_or_else(|| ServiceError::NotFound("the saved card is gone".into()))?;
                plugin
                    .charge_token(
                        &env,
                        TokenCharge {
                            request_id: p.id.clone(),
                            card_token: token,
                            amount: Self::amount(p),
                            description,
                        },
                    )
                    .await?
            }
            (other, _) => {
                return Err(ServiceError::NotFound(format!(
                    "method {} does not go through a plugin",
                    other.as_str()
                )));
            }
        };
        Ok(outcome)
    }

    async fn card_token(&self, p: &Payment) -> Result<Option<String>, ServiceError> {
        let Some(card_id) = &p.card_id else {
            return Ok(None);
        };
        Ok(self
            .store()
            .card(&p.organisation_id, &p.client_id, card_id)
            .await?
            .map(|c| c.token))
    }

    /// Asks the provider what became of an attempt.
    pub(super) async fn ask_status(&self, p: &Payment) -> Result<Outcome, ServiceError> {
        let (plugin, env, terminal) = self.prepare(p, None, None).await?;
        // The facts a plugin needs to prove a request never started.
        let history = match &p.terminal_id {
            Some(terminal) => {
                self.store()
                    .terminal_history(terminal, &p.id, p.sent_at.unwrap_or(p.created_at))
                    .await?
            }
            None => TerminalHistory::default(),
        };
        Ok(plugin
            .status(
                &env,
                StatusQuery {
                    request_id: p.id.clone(),
                    terminal_id: terminal,
                    kind: kind_of(p),
                    amount: Self::amount(p),
                    sent_at_ms: p.sent_at.and_then(|t| u64::try_from(t).ok()),
                    previous_request_id: history.previous_request_id,
                    superseded: history.superseded,
                },
            )
            .await?)
    }
}

/// How long the recovery job waits before asking again after `attempts`.
pub(super) fn backoff(first: Duration, max: Duration, attempts: i64) -> Duration {
    let factor = 2u32.saturating_pow(attempts.clamp(0, 30) as u32);
    first.saturating_mul(factor).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let first = Duration::from_secs(2);
        let max = Duration::from_secs(60);
        assert_eq!(backoff(first, max, 0), Duration::from_secs(2));
        assert_eq!(backoff(first, max, 3), Duration::from_secs(16));
        assert_eq!(backoff(first, max, 10), max);
        assert_eq!(backoff(first, max, 1000), max);
    }
}
