//! Discounts (migration 0017): defined once by an admin, read by invoice
//! lines on the day they are made (`domain::discount` says how they combine).

use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use vetpay_domain::discount::{Discount, Off, Target};

use super::{Store, StoreError, invalid, new_id, now_ms, stored_decimal};

/// A discount as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StoredDiscount {
    pub id: String,
    pub name: String,
    /// Percent, as text; null for an amount.
    pub percent: Option<String>,
    /// Minor units off each unit; null for a percentage.
    pub amount: Option<i64>,
    pub currency: Option<String>,
    /// item, group or invoice.
    pub target: String,
    pub item_id: Option<String>,
    pub group: Option<String>,
    pub valid_from: Option<String>,
    pub valid_to: Option<String>,
    pub archived: bool,
    pub created_at: i64,
}

/// What a new discount is.
#[derive(Debug, Clone)]
pub struct NewDiscount {
    pub name: String,
    pub off: Off,
    pub target: Target,
    pub valid_from: Option<jiff::civil::Date>,
    pub valid_to: Option<jiff::civil::Date>,
}

const COLUMNS: &str = "id, name, percent, amount, currency, target, item_id, item_group, valid_from, valid_to, archived_at, created_at";

fn stored(row: &AnyRow) -> Result<StoredDiscount, StoreError> {
    Ok(StoredDiscount {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        percent: row.try_get("percent")?,
        amount: row.try_get("amount")?,
        currency: row.try_get("currency")?,
        target: row.try_get("target")?,
        item_id: row.try_get("item_id")?,
        group: row.try_get("item_group")?,
        valid_from: row.try_get("valid_from")?,
        valid_to: row.try_get("valid_to")?,
        archived: row.try_get::<Option<i64>, _>("archived_at")?.is_some(),
        created_at: row.try_get("created_at")?,
    })
}

/// The domain's discount of a stored one.
fn rule(d: StoredDiscount) -> Result<Discount, StoreError> {
    let corrupt = |column: &'static str, value: &str| StoreError::Corrupt {
        table: "discounts",
        column,
        row: d.id.clone(),
        value: value.to_owned(),
    };
    let off = match (&d.percent, d.amount, &d.currency) {
        (Some(p), None, _) => Off::Percent(stored_decimal("discounts", "percent", &d.id, p)?),
        (None, Some(minor_units), Some(currency)) => Off::Amount {
            minor_units,
            currency: currency.clone(),
        },
        _ => return Err(corrupt("percent", "neither a percentage nor an amount")),
    };
    let target = match (d.target.as_str(), &d.item_id, &d.group) {
        ("item", Some(item), _) => Target::Item(item.clone()),
        ("group", _, Some(group)) => Target::Group(group.clone()),
        ("invoice", _, _) => Target::Invoice,
        (other, _, _) => return Err(corrupt("target", other)),
    };
    Ok(Discount {
        id: d.id,
        name: d.name,
        off,
        target,
    })
}

impl Store {
    /// Adds a discount, refusing what could not apply as documented.
    pub async fn create_discount(
        &self,
        organisation_id: &str,
        new: NewDiscount,
    ) -> Result<StoredDiscount, StoreError> {
        let name = new.name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(invalid("name", "a name of 1 to 200 characters"));
        }
        let (percent, amount, currency) = match &new.off {
            Off::Percent(p) => {
                if p.is_sign_negative() || p.is_zero() || *p > Decimal::ONE_HUNDRED {
                    return Err(invalid("percent", "a percentage above 0, at most 100"));
                }
                (Some(p.normalize().to_string()), None, None)
            }
            Off::Amount {
                minor_units,
                currency,
            } => {
                if *minor_units <= 0 {
                    return Err(invalid("amount", "minor units above zero off each unit"));
                }
                self.check_amount("amount", *minor_units, currency)?;
                if new.target == Target::Invoice {
                    return Err(invalid(
                        "amount",
                        "an amount off a whole invoice would need a VAT rate of its own; give it per item or group, or as a percentage",
                    ));
                }
                (None, Some(*minor_units), Some(currency.clone()))
            }
        };
        if let (Some(from), Some(to)) = (new.valid_from, new.valid_to)
            && to < from
        {
            return Err(invalid("valid_to", "must not be before valid_from"));
        }
        let (target, item_id, group) = match &new.target {
            Target::Item(id) => {
                let Some(item) = self.item(organisation_id, id).await? else {
                    return Err(invalid(
                        "item_id",
                        "no catalog item with this id in your organisation",
                    ));
                };
                // An amount larger than the item's price would make its line negative.
                if let Off::Amount {
                    minor_units,
                    currency,
                } = &new.off
                    && let Some(p) = item
                        .prices
                        .iter()
                        .filter(|p| &p.currency == currency)
                        .find(|p| p.unit_price < *minor_units)
                {
                    return Err(invalid(
                        "amount",
                        format!(
                            "{minor_units} off item {} would make its line negative (it costs {} {currency}{})",
                            item.code,
                            p.unit_price,
                            if p.department_id.is_some() {
                                " in a department"
                            } else {
                                ""
                            }
                        ),
                    ));
                }
                ("item", Some(id.clone()), None)
            }
            Target::Group(g) => {
                let g = g.trim();
                if g.is_empty() || g.chars().count() > 100 {
                    return Err(invalid("group", "a group of 1 to 100 characters"));
                }
                ("group", None, Some(g.to_owned()))
            }
            Target::Invoice => ("invoice", None, None),
        };
        let id = new_id();
        self.execute_write(
            sqlx::query(
                "INSERT INTO discounts (id, organisation_id, name, percent, amount, currency, target, item_id, item_group, valid_from, valid_to, archived_at, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, NULL, $12)",
            )
            .bind(&id)
            .bind(organisation_id)
            .bind(name)
            .bind(percent)
            .bind(amount)
            .bind(currency)
            .bind(target)
            .bind(item_id)
            .bind(group)
            .bind(new.valid_from.map(|d| d.to_string()))
            .bind(new.valid_to.map(|d| d.to_string()))
            .bind(now_ms()),
        )
        .await?;
        self.discount(organisation_id, &id)
            .await?
            .ok_or_else(|| invalid("id", "the discount vanished while it was written"))
    }

    pub async fn discount(
        &self,
        organisation_id: &str,
        id: &str,
    ) -> Result<Option<StoredDiscount>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM discounts WHERE id = $1 AND organisation_id = $2"
        ))
        .bind(id)
        .bind(organisation_id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(stored).transpose()
    }

    /// Every discount of the organisation, newest first.
    pub async fn discounts(
        &self,
        organisation_id: &str,
    ) -> Result<Vec<StoredDiscount>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM discounts WHERE organisation_id = $1 ORDER BY created_at DESC, id"
        ))
        .bind(organisation_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(stored).collect()
    }

    /// Archives (or restores) a discount; `None` for an unknown one.
    pub async fn archive_discount(
        &self,
        organisation_id: &str,
        id: &str,
        archived: bool,
    ) -> Result<Option<StoredDiscount>, StoreError> {
        self.execute_write(
            sqlx::query(
                "UPDATE discounts SET archived_at = $1 WHERE id = $2 AND organisation_id = $3",
            )
            .bind(archived.then(now_ms))
            .bind(id)
            .bind(organisation_id),
        )
        .await?;
        self.discount(organisation_id, id).await
    }

    /// The discounts in force on `date`, in the order they were made.
    pub async fn active_discounts(
        &self,
        organisation_id: &str,
        date: jiff::civil::Date,
    ) -> Result<Vec<Discount>, StoreError> {
        let day = date.to_string();
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM discounts WHERE organisation_id = $1 AND archived_at IS NULL \
             AND (valid_from IS NULL OR valid_from <= $2) AND (valid_to IS NULL OR valid_to >= $2) \
             ORDER BY created_at, id"
        ))
        .bind(organisation_id)
        .bind(&day)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|r| stored(r).and_then(rule)).collect()
    }
}
