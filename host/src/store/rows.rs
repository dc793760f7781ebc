//! Readers of rows that several store modules need (invoice lines that take
//! plan items). They import no other store module, so the modules that share
//! them form no ring.

use rust_decimal::Decimal;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{StoreError, stored_decimal};

/// A decimal column of an `invoice_lines` row (selected with `invoice_id`
/// and `position`), or [`StoreError::Corrupt`] naming the line.
pub(crate) fn line_decimal(row: &AnyRow, column: &'static str) -> Result<Decimal, StoreError> {
    let text: String = row.try_get(column)?;
    let invoice: String = row.try_get("invoice_id")?;
    let position: i64 = row.try_get("position")?;
    stored_decimal(
        "invoice_lines",
        column,
        &format!("{invoice}:{position}"),
        &text,
    )
}

/// Units of each item a subscription has used, from its invoice lines
/// (`except_invoice` left out: the draft being rewritten).
pub(crate) async fn used_units(
    conn: &mut AnyConnection,
    subscription_id: &str,
    except_invoice: &str,
) -> Result<Vec<(String, Decimal)>, StoreError> {
    let rows = sqlx::query(
        "SELECT invoice_id, position, plan_item_code, included_quantity FROM invoice_lines WHERE subscription_id = $1 AND invoice_id <> $2 AND included_quantity IS NOT NULL",
    )
    .bind(subscription_id)
    .bind(except_invoice)
    .fetch_all(&mut *conn)
    .await?;
    let mut used: Vec<(String, Decimal)> = Vec::new();
    for row in rows {
        let code: String = row.try_get("plan_item_code")?;
        let qty = line_decimal(&row, "included_quantity")?;
        match used.iter_mut().find(|(c, _)| *c == code) {
            Some((_, total)) => *total += qty,
            None => used.push((code, qty)),
        }
    }
    Ok(used)
}
