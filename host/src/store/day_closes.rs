//! The day's close (migration 0016): which settled payments a close takes in
//! (each at most once), the payments still open when it runs, and the stored
//! report, which never changes once written.

use sqlx::Row;
use sqlx::any::AnyRow;

use vetpay_domain::{Method, PaymentKind, PaymentStatus};

use super::text_enum::column;
use super::{Store, StoreError, invalid, new_id};

/// A settled payment a close takes in.
#[derive(Debug, Clone)]
pub struct SettledPayment {
    pub id: String,
    pub kind: PaymentKind,
    pub method: Method,
    pub amount: i64,
    pub currency: String,
    pub terminal_id: Option<String>,
    pub plugin_id: Option<String>,
    pub finished_at: i64,
}

/// A payment of the department still running, unknown or waiting for review
/// when the close ran: its money may or may not have moved.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct OpenPayment {
    pub id: String,
    pub status: PaymentStatus,
    pub method: Method,
    pub amount: i64,
    pub currency: String,
    pub terminal_id: Option<String>,
    pub created_at: i64,
}

/// Who closes a day.
#[derive(Debug)]
pub enum CloseClaim {
    /// This request: the close's id, to write its report under.
    Claimed(String),
    /// The day was closed already (by another request or host): its report.
    AlreadyClosed(String),
}

/// A claim no report followed this long after (its request died) may be
/// taken over.
const STALE_CLAIM_MS: i64 = 10 * 60 * 1000;

fn settled(row: &AnyRow) -> Result<SettledPayment, StoreError> {
    Ok(SettledPayment {
        kind: column(row, "payments", "kind")?,
        method: column(row, "payments", "method")?,
        id: row.try_get("id")?,
        amount: row.try_get("amount")?,
        currency: row.try_get("currency")?,
        terminal_id: row.try_get("terminal_id")?,
        plugin_id: row.try_get("plugin_id")?,
        finished_at: row.try_get("finished_at")?,
    })
}

impl Store {
    /// The stored report of a department's close of `date`, if closed.
    pub async fn day_close(
        &self,
        organisation_id: &str,
        department_id: &str,
        date: &str,
    ) -> Result<Option<String>, StoreError> {
        let row = sqlx::query(
            "SELECT report FROM day_closes WHERE organisation_id = $1 AND department_id = $2 AND business_date = $3 AND report <> ''",
        )
        .bind(organisation_id)
        .bind(department_id)
        .bind(date)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|r| r.try_get("report")).transpose()?)
    }

    /// The latest closed date of the department.
    pub async fn last_closed_date(
        &self,
        department_id: &str,
    ) -> Result<Option<String>, StoreError> {
        let row = sqlx::query(
            "SELECT business_date FROM day_closes WHERE department_id = $1 AND report <> '' ORDER BY business_date DESC LIMIT 1",
        )
        .bind(department_id)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|r| r.try_get("business_date")).transpose()?)
    }

    /// The department's succeeded payments that no close has taken in,
    /// finished before `cut`, oldest first; and those still open.
    pub async fn payments_to_close(
        &self,
        department_id: &str,
        cut: i64,
    ) -> Result<(Vec<SettledPayment>, Vec<OpenPayment>), StoreError> {
        let rows = sqlx::query(
            "SELECT id, kind, method, amount, currency, terminal_id, plugin_id, finished_at FROM payments p \
             WHERE department_id = $1 AND status = 'succeeded' AND finished_at < $2 \
             AND NOT EXISTS (SELECT 1 FROM day_close_payments c WHERE c.payment_id = p.id) \
             ORDER BY finished_at, id",
        )
        .bind(department_id)
        .bind(cut)
        .fetch_all(self.pool())
        .await?;
        let settled = rows.iter().map(settled).collect::<Result<Vec<_>, _>>()?;
        let rows = sqlx::query(
            "SELECT id, status, method, amount, currency, terminal_id, created_at FROM payments \
             WHERE department_id = $1 AND status IN ('processing', 'unknown', 'needs_review') AND created_at < $2 \
             ORDER BY created_at, id",
        )
        .bind(department_id)
        .bind(cut)
        .fetch_all(self.pool())
        .await?;
        let open = rows
            .iter()
            .map(|row| {
                Ok(OpenPayment {
                    status: column(row, "payments", "status")?,
                    method: column(row, "payments", "method")?,
                    id: row.try_get("id")?,
                    amount: row.try_get("amount")?,
                    currency: row.try_get("currency")?,
                    terminal_id: row.try_get("terminal_id")?,
                    created_at: row.try_get("created_at")?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok((settled, open))
    }

    /// Claims the close of a day before its End of Day runs, so that two
    /// requests (or hosts) never both run it: a row with an empty report is
    /// the claim. The unique index decides who wins; a claim whose request
    /// died is taken over after a while.
    pub async fn claim_day_close(
        &self,
        organisation_id: &str,
        department_id: &str,
        date: &str,
        now: i64,
    ) -> Result<CloseClaim, StoreError> {
        let id = new_id();
        let inserted = self
            .execute_write(
                sqlx::query(
                    "INSERT INTO day_closes (id, organisation_id, department_id, business_date, closed_at, report) \
                     VALUES ($1, $2, $3, $4, $5, '')",
                )
                .bind(&id)
                .bind(organisation_id)
                .bind(department_id)
                .bind(date)
                .bind(now),
            )
            .await;
        if inserted.is_ok() {
            return Ok(CloseClaim::Claimed(id));
        }
        let row = sqlx::query(
            "SELECT id, report, closed_at FROM day_closes WHERE department_id = $1 AND business_date = $2",
        )
        .bind(department_id)
        .bind(date)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else {
            // Not a duplicate: the insert failed for its own reason.
            return Err(inserted
                .err()
                .unwrap_or_else(|| invalid("date", "cannot close")));
        };
        let report: String = row.try_get("report")?;
        if !report.is_empty() {
            return Ok(CloseClaim::AlreadyClosed(report));
        }
        let claimed_at: i64 = row.try_get("closed_at")?;
        let stale = now - claimed_at > STALE_CLAIM_MS;
        let existing: String = row.try_get("id")?;
        if stale {
            let taken = self
                .execute_write(
                    sqlx::query(
                        "UPDATE day_closes SET closed_at = $1 WHERE id = $2 AND report = '' AND closed_at = $3",
                    )
                    .bind(now)
                    .bind(&existing)
                    .bind(claimed_at),
                )
                .await?
                .rows_affected();
            if taken == 1 {
                return Ok(CloseClaim::Claimed(existing));
            }
        }
        Err(StoreError::Conflict(super::Conflict::DayBeingClosed {
            date: date.to_owned(),
        }))
    }

    /// Writes the report of a claimed close with the payments it takes in,
    /// in one transaction. A payment another close took in meanwhile makes
    /// it fail (and the claim stays, to be taken over by a later close).
    pub async fn write_day_close(
        &self,
        id: &str,
        closed_at: i64,
        payment_ids: &[String],
        report: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        let done = sqlx::query(
            "UPDATE day_closes SET report = $1, closed_at = $2 WHERE id = $3 AND report = ''",
        )
        .bind(report)
        .bind(closed_at)
        .bind(id)
        .execute(&mut *tx.tx)
        .await?
        .rows_affected();
        if done != 1 {
            return Err(invalid(
                "date",
                "the close's claim was taken over; close again",
            ));
        }
        for payment in payment_ids {
            let taken = sqlx::query(
                "INSERT INTO day_close_payments (close_id, payment_id) VALUES ($1, $2)",
            )
            .bind(id)
            .bind(payment)
            .execute(&mut *tx.tx)
            .await;
            if taken.is_err() {
                return Err(invalid(
                    "date",
                    "another close took in some of these payments while this one ran; close again",
                ));
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Which of these (order id, provider reference) pairs name a payment of
    /// the department: the order ids and references found.
    pub async fn payments_known(
        &self,
        department_id: &str,
        listed: &[(Option<String>, Option<String>)],
    ) -> Result<std::collections::BTreeSet<String>, StoreError> {
        let mut found = std::collections::BTreeSet::new();
        for (order, reference) in listed {
            let row = sqlx::query(
                "SELECT id, provider_reference FROM payments WHERE department_id = $1 \
                 AND (id = $2 OR (provider_reference IS NOT NULL AND $3 <> '' AND provider_reference = $3)) LIMIT 1",
            )
            .bind(department_id)
            .bind(order.as_deref().unwrap_or(""))
            .bind(reference.as_deref().unwrap_or(""))
            .fetch_optional(self.pool())
            .await?;
            if row.is_some() {
                found.extend(order.iter().cloned());
                found.extend(reference.iter().cloned());
            }
        }
        Ok(found)
    }

    /// Lets go of a claim whose close failed before its report was written.
    pub async fn release_day_close(&self, id: &str) -> Result<(), StoreError> {
        self.execute_write(
            sqlx::query("DELETE FROM day_closes WHERE id = $1 AND report = ''").bind(id),
        )
        .await?;
        Ok(())
    }
}
