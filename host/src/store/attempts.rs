//! Leases and send marks of plugin attempts (issue 12). While an attempt is
//! `processing`, `next_check_at` is the running host's lease: the host renews it
//! while the call is alive, and any host's recovery takes the attempt over once
//! it lapses. `sent_at` says whether anything left for the provider: it is set,
//! once per attempt, just before the first request leaves, and only while the
//! attempt is still this host's to run, so recovery and a late first request
//! can never both win.

use super::payments::payment as payment_of;
use super::{Backend, Payment, Store, StoreError, now_ms};

impl Store {
    /// Extends this host's lease of a running attempt; false if the attempt is
    /// no longer running under it (settled, or taken over).
    pub async fn renew_attempt_lease(
        &self,
        id: &str,
        owner: &str,
        until: i64,
    ) -> Result<bool, StoreError> {
        let done = self
            .execute_write(
                sqlx::query(
                    "UPDATE payments SET next_check_at = $1 \
                     WHERE id = $2 AND status = 'processing' AND lease_owner = $3",
                )
                .bind(until)
                .bind(id)
                .bind(owner),
            )
            .await?
            .rows_affected();
        Ok(done == 1)
    }

    /// Settles an orphaned attempt that never sent anything: nothing can have
    /// moved, so it ends at once (`failed`, or `cancelled` for a clinic abort),
    /// freeing its terminal and invoice. `None` if a request did leave (or the
    /// attempt is settled): then the provider must be asked.
    pub async fn settle_unsent(
        &self,
        id: &str,
        cancelled: bool,
        message: &str,
    ) -> Result<Option<Payment>, StoreError> {
        let now = now_ms();
        let status = if cancelled { "cancelled" } else { "failed" };
        let mut tx = self.write().await?;
        let done = sqlx::query(
            "UPDATE payments SET status = $1, message = $2, next_check_at = NULL, updated_at = $3, finished_at = $3 \
             WHERE id = $4 AND sent_at IS NULL AND lease_owner IS NOT NULL AND status IN ('processing', 'unknown')",
        )
        .bind(status)
        .bind(message)
        .bind(now)
        .bind(id)
        .execute(&mut *tx.tx)
        .await?
        .rows_affected();
        if done != 1 {
            tx.commit().await?;
            return Ok(None);
        }
        let row = sqlx::query("SELECT * FROM payments WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *tx.tx)
            .await?;
        tx.commit().await?;
        Ok(Some(payment_of(&row)?))
    }

    /// At a host's start: the attempts it was running are orphans now, due at
    /// once. Embedded SQLite has one host, so every attempt written before
    /// `started` is; on PostgreSQL only those leased under this host's id.
    pub async fn take_back_attempts(&self, owner: &str, started: i64) -> Result<u64, StoreError> {
        let now = now_ms();
        let query = match self.backend() {
            Backend::Sqlite => sqlx::query(
                "UPDATE payments SET next_check_at = $1 \
                 WHERE status = 'processing' AND lease_owner IS NOT NULL AND next_check_at > $1 AND created_at < $2",
            )
            .bind(now)
            .bind(started),
            Backend::Postgres => sqlx::query(
                "UPDATE payments SET next_check_at = $1 \
                 WHERE status = 'processing' AND lease_owner = $2 AND next_check_at > $1",
            )
            .bind(now)
            .bind(owner),
        };
        Ok(self.execute_write(query).await?.rows_affected())
    }
}

/// What the host knows of a terminal around one attempt, for `status`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TerminalHistory {
    /// The attempt sent on the terminal just before this one.
    pub previous_request_id: Option<String>,
    /// Whether another attempt was sent on the terminal since this one (a tie
    /// in time counts: the terminal's last transaction may then be either).
    pub superseded: bool,
}

impl Store {
    /// The attempts sent on `terminal_id` just before and after attempt `id`,
    /// which was sent at `sent_at` (or, when nothing was recorded, created then).
    pub async fn terminal_history(
        &self,
        terminal_id: &str,
        id: &str,
        sent_at: i64,
    ) -> Result<TerminalHistory, StoreError> {
        let previous: Option<String> = sqlx::query_scalar(
            "SELECT id FROM payments WHERE terminal_id = $1 AND id <> $2 \
             AND sent_at IS NOT NULL AND sent_at < $3 ORDER BY sent_at DESC LIMIT 1",
        )
        .bind(terminal_id)
        .bind(id)
        .bind(sent_at)
        .fetch_optional(self.pool())
        .await?;
        let later: Option<String> = sqlx::query_scalar(
            "SELECT id FROM payments WHERE terminal_id = $1 AND id <> $2 \
             AND sent_at IS NOT NULL AND sent_at >= $3 LIMIT 1",
        )
        .bind(terminal_id)
        .bind(id)
        .bind(sent_at)
        .fetch_optional(self.pool())
        .await?;
        Ok(TerminalHistory {
            previous_request_id: previous,
            superseded: later.is_some(),
        })
    }

    /// A payment by id alone, whatever its organisation: for the host's own
    /// jobs (relayed events), never for a caller.
    pub async fn payment_by_id(&self, id: &str) -> Result<Option<Payment>, StoreError> {
        let row = sqlx::query("SELECT * FROM payments WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(payment_of).transpose()
    }
}
