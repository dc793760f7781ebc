//! Writes that invoices, plans and billing share: invoice numbers, and what
//! paying a plan invoice does to its month and its subscription. This module
//! imports none of theirs, so they form no ring; the decisions are the
//! domain's (`vetpay_domain::plan`).

use sqlx::{AnyConnection, Row};
use vetpay_domain::{MonthStatus, Standing, SubscriptionStatus};

use super::text_enum::stored;
use super::{Store, StoreError, now_ms};

/// Takes `count` consecutive invoice numbers of an organisation, inside the
/// caller's transaction; returns the first.
pub(crate) async fn reserve_numbers(
    conn: &mut AnyConnection,
    organisation_id: &str,
    count: i64,
) -> Result<i64, StoreError> {
    sqlx::query(
        "INSERT INTO invoice_counters (organisation_id, last_number) VALUES ($1, 0) ON CONFLICT (organisation_id) DO NOTHING",
    )
    .bind(organisation_id)
    .execute(&mut *conn)
    .await?;
    let row = sqlx::query(
        "UPDATE invoice_counters SET last_number = last_number + $1 WHERE organisation_id = $2 RETURNING last_number",
    )
    .bind(count)
    .bind(organisation_id)
    .fetch_one(&mut *conn)
    .await?;
    let last: i64 = row.try_get("last_number")?;
    Ok(last - count + 1)
}

/// A subscription's status and failure count from a row with `id`, `status`
/// and `failed_charges`.
pub(crate) fn standing(row: &sqlx::any::AnyRow) -> Result<Standing, StoreError> {
    Ok(Standing {
        status: super::text_enum::column::<SubscriptionStatus>(row, "subscriptions", "status")?,
        failed_charges: row.try_get("failed_charges")?,
    })
}

impl Store {
    /// A subscription's standing, locked for the rest of the caller's
    /// transaction (PostgreSQL; SQLite has one writer).
    pub(crate) async fn locked_standing(
        &self,
        conn: &mut AnyConnection,
        subscription_id: &str,
    ) -> Result<Option<Standing>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT id, status, failed_charges FROM subscriptions WHERE id = $1{}",
            self.for_update()
        ))
        .bind(subscription_id)
        .fetch_optional(&mut *conn)
        .await?;
        row.as_ref().map(standing).transpose()
    }

    /// Writes a standing the domain decided, if it changed.
    pub(crate) async fn write_standing(
        conn: &mut AnyConnection,
        subscription_id: &str,
        before: Standing,
        after: Standing,
    ) -> Result<(), StoreError> {
        if before == after {
            return Ok(());
        }
        sqlx::query("UPDATE subscriptions SET status = $1, failed_charges = $2 WHERE id = $3")
            .bind(after.status.as_str())
            .bind(after.failed_charges)
            .bind(subscription_id)
            .execute(&mut *conn)
            .await?;
        Ok(())
    }

    /// A plan invoice was paid, however it was paid: its month is settled,
    /// and the subscription's failures are forgiven (a suspended one is
    /// active again).
    pub(crate) async fn plan_invoice_paid(
        &self,
        conn: &mut AnyConnection,
        subscription_id: &str,
        invoice_id: &str,
    ) -> Result<(), StoreError> {
        let months = sqlx::query(&format!(
            "SELECT id, status FROM billing_periods WHERE invoice_id = $1{}",
            self.for_update()
        ))
        .bind(invoice_id)
        .fetch_all(&mut *conn)
        .await?;
        let now = now_ms();
        for row in &months {
            let id: String = row.try_get("id")?;
            let status: MonthStatus = stored(
                "billing_periods",
                "status",
                &id,
                &row.try_get::<String, _>("status")?,
            )?;
            if status.is_settled() {
                continue;
            }
            sqlx::query(
                "UPDATE billing_periods SET status = $1, lease_until = NULL, lease_owner = NULL, next_attempt_at = NULL, updated_at = $2 WHERE id = $3",
            )
            .bind(status.after_invoice_paid().as_str())
            .bind(now)
            .bind(&id)
            .execute(&mut *conn)
            .await?;
        }
        if let Some(before) = self.locked_standing(conn, subscription_id).await? {
            Self::write_standing(conn, subscription_id, before, before.after_month_paid()).await?;
        }
        Ok(())
    }
}
