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

/// Why a close was not written.
#[derive(Debug)]
pub enum CloseWrite {
    /// Written: the close's id.
    Written(String),
    /// The day was closed already (by another request or host): its report.
    AlreadyClosed(String),
}

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
            "SELECT report FROM day_closes WHERE organisation_id = $1 AND department_id = $2 AND business_date = $3",
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
            "SELECT business_date FROM day_closes WHERE department_id = $1 ORDER BY business_date DESC LIMIT 1",
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

    /// Writes a close with the payments it takes in, in one transaction. A
    /// close of the same day written first (here or on another host) wins:
    /// its report is answered instead. A payment another close took in
    /// meanwhile makes this one fail as a conflict, to be run again.
    pub async fn write_day_close(
        &self,
        organisation_id: &str,
        department_id: &str,
        date: &str,
        closed_at: i64,
        payment_ids: &[String],
        report: impl FnOnce(&str) -> String,
    ) -> Result<CloseWrite, StoreError> {
        let mut tx = self.write().await?;
        let existing = sqlx::query(
            "SELECT report FROM day_closes WHERE department_id = $1 AND business_date = $2",
        )
        .bind(department_id)
        .bind(date)
        .fetch_optional(&mut *tx.tx)
        .await?;
        if let Some(row) = existing {
            return Ok(CloseWrite::AlreadyClosed(row.try_get("report")?));
        }
        let id = new_id();
        let written = sqlx::query(
            "INSERT INTO day_closes (id, organisation_id, department_id, business_date, closed_at, report) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&id)
        .bind(organisation_id)
        .bind(department_id)
        .bind(date)
        .bind(closed_at)
        .bind(report(&id))
        .execute(&mut *tx.tx)
        .await;
        if let Err(e) = written {
            drop(tx);
            // Another host closed the day between the read and the insert.
            return match self.day_close(organisation_id, department_id, date).await? {
                Some(report) => Ok(CloseWrite::AlreadyClosed(report)),
                None => Err(e.into()),
            };
        }
        for payment in payment_ids {
            let taken = sqlx::query(
                "INSERT INTO day_close_payments (close_id, payment_id) VALUES ($1, $2)",
            )
            .bind(&id)
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
        Ok(CloseWrite::Written(id))
    }
}
