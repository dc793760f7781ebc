//! The item catalog (migration 0015): items with a code, names by language, a
//! kind, a VAT rate and prices per currency (the organisation's, and a
//! department's own where it overrides), every price change kept. Invoice
//! lines made from an item copy its name, price and rate, so a later change
//! never alters an invoice.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use vetpay_domain::text_enum;

use super::text_enum::column;
use super::{Store, StoreError, invalid, new_id, now_ms, stored_decimal};

text_enum! {
    /// What an item is.
    pub enum ItemKind {
        Service = "service",
        Medicine = "medicine",
        Goods = "goods",
    }
}

/// A price of an item: the organisation's in a currency, or a department's own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ItemPrice {
    pub currency: String,
    /// The department whose own price this is; null for the organisation's.
    pub department_id: Option<String>,
    /// Minor units, without VAT.
    pub unit_price: i64,
    pub valid_from: i64,
    /// When it was replaced; null for a current price.
    pub valid_to: Option<i64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CatalogItem {
    pub id: String,
    pub code: String,
    pub kind: ItemKind,
    /// Names by language tag.
    pub names: BTreeMap<String, String>,
    /// Percent, as text.
    pub vat_rate: String,
    /// The group group discounts name ("vaccines"), if any.
    pub group: Option<String>,
    pub archived: bool,
    /// The current prices.
    pub prices: Vec<ItemPrice>,
    /// What the patient's health plan includes of it, when the search names
    /// a patient (`?patient_id=`); such items come first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<PlanOffer>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A price to set: the organisation's (no department) or a department's own.
#[derive(Debug, Clone)]
pub struct NewPrice {
    pub currency: String,
    pub department_id: Option<String>,
    pub unit_price: i64,
}

#[derive(Debug, Clone)]
pub struct NewItem {
    pub code: String,
    pub kind: ItemKind,
    pub group: Option<String>,
    pub names: BTreeMap<String, String>,
    pub vat_rate: Decimal,
    pub prices: Vec<NewPrice>,
}

/// A change to an item; what is left out stays.
#[derive(Debug, Clone, Default)]
pub struct ItemChange {
    pub kind: Option<ItemKind>,
    /// A new group; an empty one takes the item out of its group.
    pub group: Option<String>,
    pub names: Option<BTreeMap<String, String>>,
    pub vat_rate: Option<Decimal>,
    pub prices: Vec<NewPrice>,
    pub archived: Option<bool>,
}

/// What an invoice line takes from an item, for one department.
#[derive(Debug, Clone)]
pub struct PricedItem {
    pub id: String,
    pub code: String,
    pub group: Option<String>,
    pub names: BTreeMap<String, String>,
    pub vat_rate: Decimal,
    pub unit_price: i64,
}

const MAX_CODE: usize = 40;
const MAX_NAME: usize = 200;

fn check_code(code: &str) -> Result<(), StoreError> {
    let ok = !code.is_empty()
        && code.chars().count() <= MAX_CODE
        && code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(invalid(
            "code",
            format!("1 to {MAX_CODE} letters, digits, '-', '_' or '.', such as VAC-RAB"),
        ))
    }
}

fn check_names(names: &BTreeMap<String, String>) -> Result<(), StoreError> {
    if names.is_empty() {
        return Err(invalid(
            "names",
            "give the item a name in at least one language, such as {\"en\": \"Rabies vaccine\"}",
        ));
    }
    for (tag, name) in names {
        if language_tags::LanguageTag::parse(tag).is_err() {
            return Err(invalid(
                &format!("names.{tag}"),
                "not a language tag (BCP 47, such as en, da or nl-BE)",
            ));
        }
        let n = name.trim().chars().count();
        if n == 0 || n > MAX_NAME || name.contains('\0') {
            return Err(invalid(
                &format!("names.{tag}"),
                format!("a name of 1 to {MAX_NAME} characters"),
            ));
        }
    }
    Ok(())
}

fn check_vat(rate: Decimal) -> Result<(), StoreError> {
    if rate.is_sign_negative() || rate > Decimal::from(100) {
        return Err(invalid("vat_rate", "a percentage from 0 to 100"));
    }
    Ok(())
}

/// `department_id` as stored: '' for the organisation's price.
fn level(department_id: Option<&str>) -> &str {
    department_id.unwrap_or("")
}

fn price_of(row: &AnyRow) -> Result<ItemPrice, StoreError> {
    let department: String = row.try_get("department_id")?;
    Ok(ItemPrice {
        currency: row.try_get("currency")?,
        department_id: (!department.is_empty()).then_some(department),
        unit_price: row.try_get("unit_price")?,
        valid_from: row.try_get("valid_from")?,
        valid_to: row.try_get("valid_to")?,
    })
}

const ITEM_COLUMNS: &str =
    "id, code, kind, names, vat_rate, item_group, archived_at, created_at, updated_at";

fn check_group(group: &str) -> Result<(), StoreError> {
    if group.chars().count() > 100 {
        return Err(invalid("group", "a group of at most 100 characters"));
    }
    Ok(())
}

/// What a search looks in: the code and every name (never the language
/// tags), lower case.
fn search_text(code: &str, names: &BTreeMap<String, String>) -> String {
    let mut text = code.to_lowercase();
    for name in names.values() {
        text.push('\n');
        text.push_str(&name.to_lowercase());
    }
    text
}

/// A group as stored: trimmed, and none for an empty one.
fn group_of(group: Option<&str>) -> Option<String> {
    group
        .map(str::trim)
        .filter(|g| !g.is_empty())
        .map(str::to_owned)
}

impl Store {
    fn item_of(&self, row: &AnyRow, prices: Vec<ItemPrice>) -> Result<CatalogItem, StoreError> {
        let id: String = row.try_get("id")?;
        let names: String = row.try_get("names")?;
        let vat: String = row.try_get("vat_rate")?;
        Ok(CatalogItem {
            kind: column(row, "catalog_items", "kind")?,
            names: serde_json::from_str(&names).map_err(|_| StoreError::Corrupt {
                table: "catalog_items",
                column: "names",
                row: id.clone(),
                value: names.clone(),
            })?,
            vat_rate: stored_decimal("catalog_items", "vat_rate", &id, &vat)?
                .normalize()
                .to_string(),
            code: row.try_get("code")?,
            group: row.try_get("item_group")?,
            archived: row.try_get::<Option<i64>, _>("archived_at")?.is_some(),
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
            prices,
            plan: None,
            id,
        })
    }

    fn check_price(&self, i: usize, price: &NewPrice) -> Result<(), StoreError> {
        self.check_amount(
            &format!("prices[{i}].unit_price"),
            price.unit_price,
            &price.currency,
        )?;
        if price.unit_price < 0 {
            return Err(invalid(
                &format!("prices[{i}].unit_price"),
                "must not be negative (minor units, without VAT)",
            ));
        }
        Ok(())
    }

    async fn check_departments(
        &self,
        organisation_id: &str,
        prices: &[NewPrice],
    ) -> Result<(), StoreError> {
        for (i, p) in prices.iter().enumerate() {
            self.check_price(i, p)?;
            if let Some(d) = &p.department_id {
                let department = self.department(organisation_id, d).await?;
                match department {
                    Some(dep) if dep.currency == p.currency => {}
                    Some(dep) => {
                        return Err(invalid(
                            &format!("prices[{i}].currency"),
                            format!(
                                "the department takes {}; give its price in it",
                                dep.currency
                            ),
                        ));
                    }
                    None => {
                        return Err(invalid(
                            &format!("prices[{i}].department_id"),
                            "no department with this id in your organisation",
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// Adds an item; its code must be new in the organisation.
    pub async fn create_item(
        &self,
        organisation_id: &str,
        new: NewItem,
    ) -> Result<CatalogItem, StoreError> {
        self.check_new(organisation_id, &new).await?;
        let mut tx = self.write().await?;
        let id = insert_item(&mut tx.tx, organisation_id, &new, now_ms()).await?;
        tx.commit().await?;
        self.require_item(organisation_id, &id).await
    }

    async fn check_new(&self, organisation_id: &str, new: &NewItem) -> Result<(), StoreError> {
        check_code(&new.code)?;
        check_names(&new.names)?;
        check_group(new.group.as_deref().unwrap_or(""))?;
        check_vat(new.vat_rate)?;
        self.check_departments(organisation_id, &new.prices).await
    }

    async fn check_change(
        &self,
        organisation_id: &str,
        change: &ItemChange,
    ) -> Result<(), StoreError> {
        if let Some(names) = &change.names {
            check_names(names)?;
        }
        if let Some(rate) = change.vat_rate {
            check_vat(rate)?;
        }
        check_group(change.group.as_deref().unwrap_or(""))?;
        self.check_departments(organisation_id, &change.prices)
            .await
    }

    /// Changes an item; a new price replaces the current one of its currency
    /// and level, which stays in the history.
    pub async fn change_item(
        &self,
        organisation_id: &str,
        id: &str,
        change: ItemChange,
    ) -> Result<Option<CatalogItem>, StoreError> {
        self.check_change(organisation_id, &change).await?;
        let mut tx = self.write().await?;
        if !update_item(&mut tx.tx, organisation_id, id, &change, now_ms()).await? {
            return Ok(None);
        }
        tx.commit().await?;
        self.item(organisation_id, id).await
    }

    /// Adds or changes items by code, all or none: every row is checked
    /// before the first is written, and all are written in one transaction.
    /// The codes of the items added and of those changed.
    pub async fn import_items(
        &self,
        organisation_id: &str,
        rows: Vec<(NewItem, Option<bool>)>,
        groups_given: bool,
    ) -> Result<(Vec<String>, Vec<String>), StoreError> {
        let mut seen = std::collections::BTreeSet::new();
        for (i, (new, _)) in rows.iter().enumerate() {
            let at = |e: StoreError| match e {
                StoreError::Invalid { field, message } => StoreError::Invalid {
                    field: format!("line {}: {field}", i + 2),
                    message,
                },
                other => other,
            };
            if !seen.insert(new.code.clone()) {
                return Err(at(invalid("code", format!("{} is on two lines", new.code))));
            }
            self.check_new(organisation_id, new).await.map_err(at)?;
        }
        let now = now_ms();
        let (mut added, mut changed) = (Vec::new(), Vec::new());
        let mut tx = self.write().await?;
        for (new, archived) in rows {
            let existing = sqlx::query(
                "SELECT id FROM catalog_items WHERE organisation_id = $1 AND code = $2",
            )
            .bind(organisation_id)
            .bind(&new.code)
            .fetch_optional(&mut *tx.tx)
            .await?;
            match existing {
                Some(row) => {
                    let id: String = row.try_get("id")?;
                    let change = ItemChange {
                        kind: Some(new.kind),
                        // Without a group column the groups stay as they are.
                        group: groups_given.then(|| new.group.clone().unwrap_or_default()),
                        names: Some(new.names),
                        vat_rate: Some(new.vat_rate),
                        prices: new.prices,
                        archived,
                    };
                    update_item(&mut tx.tx, organisation_id, &id, &change, now).await?;
                    changed.push(new.code);
                }
                None => {
                    let id = insert_item(&mut tx.tx, organisation_id, &new, now).await?;
                    if archived == Some(true) {
                        let change = ItemChange {
                            archived: Some(true),
                            ..ItemChange::default()
                        };
                        update_item(&mut tx.tx, organisation_id, &id, &change, now).await?;
                    }
                    added.push(new.code);
                }
            }
        }
        tx.commit().await?;
        Ok((added, changed))
    }

    pub async fn item(
        &self,
        organisation_id: &str,
        id: &str,
    ) -> Result<Option<CatalogItem>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {ITEM_COLUMNS} FROM catalog_items WHERE id = $1 AND organisation_id = $2"
        ))
        .bind(id)
        .bind(organisation_id)
        .fetch_optional(self.pool())
        .await?;
        match row {
            Some(row) => {
                let prices = self.item_prices(id, false).await?;
                Ok(Some(self.item_of(&row, prices)?))
            }
            None => Ok(None),
        }
    }

    async fn require_item(
        &self,
        organisation_id: &str,
        id: &str,
    ) -> Result<CatalogItem, StoreError> {
        self.item(organisation_id, id)
            .await?
            .ok_or_else(|| invalid("id", "the item vanished while it was written"))
    }

    /// Every price the item has had (or only the current ones), newest first.
    pub async fn item_prices(&self, id: &str, history: bool) -> Result<Vec<ItemPrice>, StoreError> {
        let current = if history { "" } else { " AND valid_to IS NULL" };
        let rows = sqlx::query(&format!(
            "SELECT currency, department_id, unit_price, valid_from, valid_to FROM catalog_prices \
             WHERE item_id = $1{current} ORDER BY currency, department_id, valid_from DESC"
        ))
        .bind(id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(price_of).collect()
    }

    /// Items whose code or name contains `query` (any case), by code; archived
    /// ones only when asked.
    pub async fn items(
        &self,
        organisation_id: &str,
        query: Option<&str>,
        include_archived: bool,
        limit: i64,
    ) -> Result<Vec<CatalogItem>, StoreError> {
        let archived = if include_archived {
            ""
        } else {
            " AND archived_at IS NULL"
        };
        let pattern = format!(
            "%{}%",
            query
                .unwrap_or("")
                .to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        let rows = sqlx::query(&format!(
            "SELECT {ITEM_COLUMNS} FROM catalog_items WHERE organisation_id = $1{archived} \
             AND search_text LIKE $2 ESCAPE '\\' \
             ORDER BY code LIMIT $3"
        ))
        .bind(organisation_id)
        .bind(&pattern)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        // Every current price of the organisation's items in one read, not
        // one read per item (an export lists them all).
        let price_rows = sqlx::query(
            "SELECT p.item_id AS item_id, p.currency AS currency, p.department_id AS department_id, \
             p.unit_price AS unit_price, p.valid_from AS valid_from, p.valid_to AS valid_to \
             FROM catalog_prices p JOIN catalog_items i ON i.id = p.item_id \
             WHERE i.organisation_id = $1 AND p.valid_to IS NULL \
             ORDER BY p.currency, p.department_id, p.valid_from DESC",
        )
        .bind(organisation_id)
        .fetch_all(self.pool())
        .await?;
        let mut prices: BTreeMap<String, Vec<ItemPrice>> = BTreeMap::new();
        for row in &price_rows {
            prices
                .entry(row.try_get("item_id")?)
                .or_default()
                .push(price_of(row)?);
        }
        rows.iter()
            .map(|row| {
                let id: String = row.try_get("id")?;
                self.item_of(row, prices.remove(&id).unwrap_or_default())
            })
            .collect()
    }

    /// What a line of `department` takes from the item: its names, rate and
    /// current price there (the department's own, else the organisation's in
    /// the department's currency). Archived and unpriced items are refused,
    /// naming the line's field.
    pub async fn priced_item(
        &self,
        organisation_id: &str,
        department_id: &str,
        currency: &str,
        id: &str,
        field: &str,
    ) -> Result<PricedItem, StoreError> {
        let Some(item) = self.item(organisation_id, id).await? else {
            return Err(invalid(
                field,
                "no catalog item with this id in your organisation",
            ));
        };
        if item.archived {
            return Err(invalid(
                field,
                format!(
                    "item {} is archived and cannot be invoiced; choose another, or restore it (PATCH /v1/catalog/items/{{id}} with \"archived\": false)",
                    item.code
                ),
            ));
        }
        let price = item
            .prices
            .iter()
            .find(|p| p.currency == currency && p.department_id.as_deref() == Some(department_id))
            .or_else(|| {
                item.prices
                    .iter()
                    .find(|p| p.currency == currency && p.department_id.is_none())
            })
            .ok_or_else(|| {
                invalid(
                    field,
                    format!(
                        "item {} has no price in {currency}; an admin sets one in the catalog",
                        item.code
                    ),
                )
            })?;
        Ok(PricedItem {
            vat_rate: stored_decimal("catalog_items", "vat_rate", &item.id, &item.vat_rate)?,
            unit_price: price.unit_price,
            id: item.id,
            code: item.code,
            group: item.group,
            names: item.names,
        })
    }
}

/// Writes a new item (checked by the caller); its id.
async fn insert_item(
    conn: &mut sqlx::AnyConnection,
    organisation_id: &str,
    new: &NewItem,
    now: i64,
) -> Result<String, StoreError> {
    let taken =
        sqlx::query("SELECT id FROM catalog_items WHERE organisation_id = $1 AND code = $2")
            .bind(organisation_id)
            .bind(&new.code)
            .fetch_optional(&mut *conn)
            .await?;
    if taken.is_some() {
        return Err(invalid(
            "code",
            format!(
                "{} is the code of another item; choose another, or change that item",
                new.code
            ),
        ));
    }
    let id = new_id();
    sqlx::query(
        "INSERT INTO catalog_items (id, organisation_id, code, kind, names, vat_rate, item_group, archived_at, created_at, updated_at, search_text) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8, $8, $9)",
    )
    .bind(&id)
    .bind(organisation_id)
    .bind(&new.code)
    .bind(new.kind.as_str())
    .bind(serde_json::to_string(&new.names).unwrap_or_default())
    .bind(new.vat_rate.normalize().to_string())
    .bind(group_of(new.group.as_deref()))
    .bind(now)
    .bind(search_text(&new.code, &new.names))
    .execute(&mut *conn)
    .await?;
    set_prices(conn, &id, &new.prices, now).await?;
    Ok(id)
}

/// Writes a change (checked by the caller); false for an unknown item.
async fn update_item(
    conn: &mut sqlx::AnyConnection,
    organisation_id: &str,
    id: &str,
    change: &ItemChange,
    now: i64,
) -> Result<bool, StoreError> {
    let found =
        sqlx::query("SELECT code FROM catalog_items WHERE id = $1 AND organisation_id = $2")
            .bind(id)
            .bind(organisation_id)
            .fetch_optional(&mut *conn)
            .await?;
    let Some(found) = found else {
        return Ok(false);
    };
    let code: String = found.try_get("code")?;
    let archived_at = change.archived.map(|a| a.then_some(now));
    sqlx::query(
        "UPDATE catalog_items SET \
         kind = COALESCE($1, kind), names = COALESCE($2, names), vat_rate = COALESCE($3, vat_rate), \
         archived_at = CASE WHEN $4 THEN $5 ELSE archived_at END, updated_at = $6, \
         item_group = CASE WHEN $7 THEN $8 ELSE item_group END, search_text = COALESCE($9, search_text) \
         WHERE id = $10",
    )
    .bind(change.kind.map(|k| k.as_str()))
    .bind(change.names.as_ref().map(|n| serde_json::to_string(n).unwrap_or_default()))
    .bind(change.vat_rate.map(|r| r.normalize().to_string()))
    .bind(archived_at.is_some())
    .bind(archived_at.flatten())
    .bind(now)
    .bind(change.group.is_some())
    .bind(group_of(change.group.as_deref()))
    .bind(change.names.as_ref().map(|n| search_text(&code, n)))
    .bind(id)
    .execute(&mut *conn)
    .await?;
    set_prices(conn, id, &change.prices, now).await?;
    Ok(true)
}

/// Replaces the current price of each (currency, level) given.
async fn set_prices(
    conn: &mut sqlx::AnyConnection,
    item_id: &str,
    prices: &[NewPrice],
    now: i64,
) -> Result<(), StoreError> {
    for p in prices {
        let level = level(p.department_id.as_deref());
        let current = sqlx::query(
            "SELECT unit_price FROM catalog_prices WHERE item_id = $1 AND currency = $2 AND department_id = $3 AND valid_to IS NULL",
        )
        .bind(item_id)
        .bind(&p.currency)
        .bind(level)
        .fetch_optional(&mut *conn)
        .await?;
        if let Some(row) = current {
            if row.try_get::<i64, _>("unit_price")? == p.unit_price {
                continue;
            }
            sqlx::query(
                "UPDATE catalog_prices SET valid_to = $1 WHERE item_id = $2 AND currency = $3 AND department_id = $4 AND valid_to IS NULL",
            )
            .bind(now)
            .bind(item_id)
            .bind(&p.currency)
            .bind(level)
            .execute(&mut *conn)
            .await?;
        }
        sqlx::query(
            "INSERT INTO catalog_prices (item_id, currency, department_id, unit_price, valid_from, valid_to) \
             VALUES ($1, $2, $3, $4, $5, NULL)",
        )
        .bind(item_id)
        .bind(&p.currency)
        .bind(level)
        .bind(p.unit_price)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// An item the patient's health plan includes, as a consultation offers it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PlanOffer {
    pub subscription_id: String,
    pub plan_item_code: String,
    /// Included units not used yet (decimal text).
    pub remaining: String,
}

/// A plan item's code as a catalog code: what the catalog does not take
/// becomes '-'.
fn as_code(code: &str) -> String {
    let mut out: String = code
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .take(MAX_CODE)
        .collect();
    if out.is_empty() {
        out = "PLAN-ITEM".into();
    }
    out
}

impl Store {
    /// Links every plan item without a catalog item to one: the item with its
    /// code, or a new service item made from the plan item's description,
    /// normal price (in the plan's main department's currency) and VAT rate.
    /// Run over every plan when a host opens the database, and over one plan
    /// when it is made; idempotent. How many it linked.
    pub async fn link_plan_items_to_catalog(
        &self,
        plan_id: Option<&str>,
    ) -> Result<usize, StoreError> {
        // '' for every plan: the start-up sweep.
        let rows = sqlx::query(
            "SELECT i.plan_id AS plan_id, i.code AS code, i.description AS description, i.unit_price AS unit_price, \
             i.vat_rate AS vat_rate, p.organisation_id AS organisation_id, d.currency AS currency \
             FROM plan_items i JOIN plans p ON p.id = i.plan_id JOIN departments d ON d.id = p.main_department_id \
             WHERE i.item_id IS NULL AND ($1 = '' OR i.plan_id = $1) ORDER BY p.created_at, i.plan_id, i.code",
        )
        .bind(plan_id.unwrap_or(""))
        .fetch_all(self.pool())
        .await?;
        let mut linked = 0;
        for row in &rows {
            let plan_id: String = row.try_get("plan_id")?;
            let plan_code: String = row.try_get("code")?;
            // One plan item that cannot be linked never stops a host from
            // starting (nor a plan from being made): it stays as it was,
            // is logged, and is tried again next time.
            match self.link_plan_item(row, &plan_id, &plan_code).await {
                Ok(()) => linked += 1,
                Err(e) => {
                    tracing::warn!(plan = %plan_id, code = %plan_code, "plan item not linked to the catalog: {e}")
                }
            }
        }
        Ok(linked)
    }

    /// Links one plan item: to the catalog item of exactly its code when that
    /// item has the same price in the plan's currency and the same rate, else
    /// to a new item (its code suffixed when the code is taken).
    async fn link_plan_item(
        &self,
        row: &AnyRow,
        plan_id: &str,
        plan_code: &str,
    ) -> Result<(), StoreError> {
        let organisation_id: String = row.try_get("organisation_id")?;
        let currency: String = row.try_get("currency")?;
        let unit_price: i64 = row.try_get("unit_price")?;
        let vat: String = row.try_get("vat_rate")?;
        let vat_rate = stored_decimal("plan_items", "vat_rate", plan_id, &vat)?;
        let description: String = row.try_get("description")?;
        let base = as_code(plan_code);
        let mut item_id = None;
        for n in 0..100 {
            let code = match n {
                0 => base.clone(),
                n => {
                    let suffix = format!("-{}", n + 1);
                    let keep = MAX_CODE - suffix.len();
                    format!("{}{suffix}", base.chars().take(keep).collect::<String>())
                }
            };
            let existing = sqlx::query(
                "SELECT id FROM catalog_items WHERE organisation_id = $1 AND code = $2",
            )
            .bind(&organisation_id)
            .bind(&code)
            .fetch_optional(self.pool())
            .await?;
            if let Some(found) = existing {
                let id: String = found.try_get("id")?;
                let Some(item) = self.item(&organisation_id, &id).await? else {
                    continue;
                };
                let same = code == plan_code
                    && stored_decimal("catalog_items", "vat_rate", &id, &item.vat_rate)?
                        == vat_rate
                    && item.prices.iter().any(|p| {
                        p.currency == currency
                            && p.department_id.is_none()
                            && p.unit_price == unit_price
                    });
                if same {
                    item_id = Some(id);
                    break;
                }
                continue;
            }
            let name: String = match description.trim() {
                "" => plan_code.to_owned(),
                d => d.chars().take(MAX_NAME).collect(),
            };
            let made = self
                .create_item(
                    &organisation_id,
                    NewItem {
                        code,
                        kind: ItemKind::Service,
                        group: None,
                        names: BTreeMap::from([("en".to_owned(), name)]),
                        vat_rate,
                        prices: vec![NewPrice {
                            currency: currency.clone(),
                            department_id: None,
                            unit_price,
                        }],
                    },
                )
                .await?;
            item_id = Some(made.id);
            break;
        }
        let Some(item_id) = item_id else {
            return Err(invalid("code", "no free catalog code for this plan item"));
        };
        self.execute_write(
            sqlx::query("UPDATE plan_items SET item_id = $1 WHERE plan_id = $2 AND code = $3 AND item_id IS NULL")
                .bind(&item_id)
                .bind(plan_id)
                .bind(plan_code),
        )
        .await?;
        Ok(())
    }

    /// Which catalog items the patient's health plans include: item id →
    /// (subscription, plan item code). One query; what a consultation line
    /// needs to take an item from the plan.
    pub async fn plan_items_of_patient(
        &self,
        organisation_id: &str,
        patient_id: &str,
    ) -> Result<BTreeMap<String, (String, String)>, StoreError> {
        let covering = vetpay_domain::sql_list(
            vetpay_domain::SubscriptionStatus::ALL
                .iter()
                .copied()
                .filter(|s| s.covers_items()),
        );
        let rows = sqlx::query(&format!(
            "SELECT s.id AS id, i.code AS code, i.item_id AS item_id FROM subscriptions s \
             JOIN plan_items i ON i.plan_id = s.plan_id \
             WHERE s.organisation_id = $1 AND s.patient_id = $2 AND s.status IN ({covering}) AND i.item_id IS NOT NULL"
        ))
        .bind(organisation_id)
        .bind(patient_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok((
                    row.try_get("item_id")?,
                    (row.try_get("id")?, row.try_get("code")?),
                ))
            })
            .collect()
    }

    /// What the patient's health plans include of each catalog item, with
    /// the units left: offered first at a consultation.
    pub async fn plan_offers(
        &self,
        organisation_id: &str,
        patient_id: &str,
    ) -> Result<BTreeMap<String, PlanOffer>, StoreError> {
        let mut out = BTreeMap::new();
        for (item_id, (subscription_id, code)) in self
            .plan_items_of_patient(organisation_id, patient_id)
            .await?
        {
            let remaining = self
                .subscription(organisation_id, &subscription_id)
                .await?
                .and_then(|s| s.items.into_iter().find(|b| b.code == code))
                .map(|b| b.remaining)
                .unwrap_or_else(|| "0".into());
            out.insert(
                item_id,
                PlanOffer {
                    subscription_id,
                    plan_item_code: code,
                    remaining,
                },
            );
        }
        Ok(out)
    }
}
