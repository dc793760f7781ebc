//! The recovery job: attempts whose outcome is unknown (a timeout, a trap, a
//! lost answer, or a host that stopped mid-call) are asked about through the
//! plugin's `status`, with backoff, until the provider gives a final answer or
//! the attempts run out and a person must review the payment. Each attempt is
//! leased in the database, so several hosts never ask about the same one at once.

use std::time::Duration;

use super::runner::{backoff, describe, settlement_of};
use super::{Clinic, PaymentEvent, ServiceError};
use crate::plugin::Capability;
use crate::store::now_ms;
use crate::store::{Payment, PaymentStatus, Settlement};

#[derive(Debug, Clone)]
pub struct RecoveryConfig {
    /// How often the job looks for attempts to ask about.
    pub poll_every: Duration,
    /// Wait before the first question, doubled after each inconclusive one.
    pub first_delay: Duration,
    pub max_delay: Duration,
    /// Questions before the payment is left for a person (needs review).
    pub max_attempts: i64,
    /// Attempts asked about per round.
    pub batch: i64,
    /// How long an attempt's lease lasts without renewal: a dead host's
    /// attempts are taken over this long after its last renewal at most.
    pub attempt_lease: Duration,
}

impl Default for RecoveryConfig {
    fn default() -> Self {
        Self {
            poll_every: Duration::from_secs(1),
            first_delay: Duration::from_secs(5),
            max_delay: Duration::from_secs(300),
            max_attempts: 20,
            batch: 50,
            attempt_lease: Duration::from_secs(30),
        }
    }
}

impl Clinic {
    /// Ends an attempt that sent nothing: failed, or cancelled when the clinic
    /// asked to abort. False if something was sent after all (or it is settled).
    pub(super) async fn settle_if_unsent(&self, id: &str, aborted: bool) -> bool {
        let message = if aborted {
            "aborted by the clinic before anything was sent to the provider"
        } else {
            "the host running this attempt stopped before anything was sent to the provider; nothing was charged"
        };
        match self.store().settle_unsent(id, aborted, message).await {
            Ok(Some(p)) => {
                self.events().publish(
                    id,
                    PaymentEvent::Status {
                        payment: Box::new(p),
                    },
                );
                true
            }
            Ok(None) => false,
            Err(e) => {
                tracing::warn!(payment = %id, error = %e, "unsent attempt not settled");
                false
            }
        }
    }

    /// Takes back, at start, the attempts this host was running when it stopped.
    pub(super) async fn take_back_orphans(&self) {
        let started = self.inner.started_at;
        match self
            .store()
            .take_back_attempts(&self.inner.config.host_id, started)
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                attempts = n,
                "taking back attempts left running by this host"
            ),
            Err(e) => tracing::warn!(error = %e, "could not take back this host's attempts"),
        }
    }

    pub(super) async fn recovery_loop(self) {
        self.take_back_orphans().await;
        let every = self.inner.config.recovery.poll_every;
        loop {
            tokio::time::sleep(every).await;
            if let Err(e) = self.recover_due().await {
                tracing::warn!(error = %e, "recovery round failed");
            }
        }
    }

    /// One round: asks about every attempt that is due; returns how many.
    pub async fn recover_due(&self) -> Result<usize, ServiceError> {
        let config = &self.inner.config.recovery;
        let due = self.store().payments_to_recover(config.batch).await?;
        let lease =
            self.runtime().config().deadlines.of(Capability::Status) + Duration::from_secs(5);
        let mut claimed = Vec::new();
        for p in due {
            if self
                .store()
                .claim_recovery(&p, now_ms() + lease.as_millis() as i64)
                .await?
            {
                claimed.push(p);
            }
        }
        let n = claimed.len();
        futures::future::join_all(claimed.into_iter().map(|p| self.recover_one(p))).await;
        Ok(n)
    }

    async fn recover_one(&self, p: Payment) {
        let config = &self.inner.config.recovery;
        // An orphan: its host stopped (or lost its lease) mid-call.
        if p.status == PaymentStatus::Processing && p.lease_owner.is_some() {
            // Nothing left the host, so nothing can have moved: it ends now.
            if p.sent_at.is_none() && self.settle_if_unsent(&p.id, p.abort_requested).await {
                return;
            }
            // Its abort outlives the host that received it.
            if p.abort_requested {
                self.abort_on_provider(&p).await;
            }
        }
        let attempts = p.recovery_attempts + 1;
        let answer = self.ask_status(&p).await;
        let settled = match &answer {
            Ok(outcome) => settlement_of(outcome),
            Err(e) => {
                tracing::warn!(payment = %p.id, error = %e, "status query failed");
                None
            }
        };
        let what = match &answer {
            Ok(o) => describe(o),
            Err(e) => e.to_string(),
        };
        let settlement = match settled {
            Some(s) => s,
            None if attempts >= config.max_attempts => Settlement {
                status: Some(PaymentStatus::NeedsReview),
                message: Some(format!(
                    "the provider gave no final answer after {attempts} status queries (last: {what}); check the provider's records"
                )),
                ..Settlement::default()
            },
            None => Settlement {
                status: Some(PaymentStatus::Unknown),
                message: Some(format!(
                    "asked the provider {attempts} times; last answer: {what}"
                )),
                next_check_at: Some(
                    now_ms()
                        + backoff(config.first_delay, config.max_delay, attempts).as_millis()
                            as i64,
                ),
                ..Settlement::default()
            },
        };
        self.book(&p.id, settlement).await;
    }
}
