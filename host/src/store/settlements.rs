//! How attempts ended, booked with their invoices (issue 15). On SQLite the
//! settlements that wait at the same moment share one write turn and one
//! transaction ([`super::groups`]): each is booked as it would be alone, one
//! after the other, and if any fails the group is rolled back and each is
//! booked alone, for an error of its own. PostgreSQL books each alone: it
//! writes in parallel, and a group would only hold row locks longer.

use tokio::sync::oneshot;
use vetpay_domain::{Decider, PaymentStatus};

use super::groups::Queue;
use super::{Payment, Settlement, Store, StoreError};
use sqlx::AnyConnection;

/// The settlements waiting for the next group's transaction.
pub(crate) type Settlements = Queue<Waiting>;

pub(crate) struct Waiting {
    id: String,
    settlement: Settlement,
    /// What the booking gave, or `None` when the group's transaction failed:
    /// then the caller books it alone.
    answer: oneshot::Sender<Option<Option<Payment>>>,
}

impl Store {
    /// Ends an attempt with `s`. Returns the payment as it now is, or `None` if
    /// it had already ended (final states never move back).
    pub async fn finish_payment(
        &self,
        id: &str,
        s: Settlement,
    ) -> Result<Option<Payment>, StoreError> {
        if self.write_lock.is_none() {
            return self.finish_payment_alone(id, s).await;
        }
        let (answer, answered) = oneshot::channel();
        let first = self.settlements.push(Waiting {
            id: id.to_owned(),
            settlement: s.clone(),
            answer,
        });
        if first {
            let store = self.clone();
            tokio::spawn(async move { store.write_settlements().await });
        }
        match answered.await {
            Ok(Some(settled)) => Ok(settled),
            _ => self.finish_payment_alone(id, s).await,
        }
    }

    /// Takes the write turn, then every settlement waiting by then, and books
    /// them in one transaction.
    async fn write_settlements(&self) {
        let tx = self.write().await;
        let mut waiting = self.settlements.take();
        let mut tx = match tx {
            Ok(tx) => tx,
            Err(e) => {
                tracing::warn!(error = %e, settlements = waiting.len(),
                    "no transaction for a group of settlements; each is booked alone");
                for w in waiting {
                    let _ = w.answer.send(None);
                }
                return;
            }
        };
        let mut settled = Vec::with_capacity(waiting.len());
        let mut failed = None;
        // Each caller kept its own copy to book alone: these can be moved.
        for w in &mut waiting {
            let settlement = std::mem::take(&mut w.settlement);
            match self.settle_one(&mut tx.tx, &w.id, settlement).await {
                Ok(p) => settled.push(p),
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        let written = match failed {
            // Dropping the transaction rolls the group back.
            Some(e) => Err(e),
            None => tx.commit().await,
        };
        match written {
            Ok(()) => {
                for (w, p) in waiting.into_iter().zip(settled) {
                    let _ = w.answer.send(Some(p));
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, settlements = waiting.len(),
                    "settlements not booked together; each is booked alone");
                for w in waiting {
                    let _ = w.answer.send(None);
                }
            }
        }
    }

    /// One settlement in a transaction of its own.
    async fn finish_payment_alone(
        &self,
        id: &str,
        s: Settlement,
    ) -> Result<Option<Payment>, StoreError> {
        let mut tx = self.write().await?;
        let settled = self.settle_one(&mut tx.tx, id, s).await?;
        tx.commit().await?;
        Ok(settled)
    }

    /// Books `s` inside the caller's transaction, if the payment's state
    /// allows the provider's outcome to move it.
    async fn settle_one(
        &self,
        conn: &mut AnyConnection,
        id: &str,
        s: Settlement,
    ) -> Result<Option<Payment>, StoreError> {
        let Some(mut p) = self.payment_in(conn, None, id, true).await? else {
            return Ok(None);
        };
        if !p.status.can_move_to(
            s.status.unwrap_or(PaymentStatus::Unknown),
            Decider::Provider,
        ) {
            return Ok(None);
        }
        self.settle(conn, &mut p, s, Decider::Provider).await?;
        Ok(Some(p))
    }
}
