//! `/v1/catalog/items`: the item catalog that invoice lines draw from
//! (docs/ARCHITECTURE.md, "The item catalog").

use std::collections::BTreeMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::Value;

use super::body::{decimal, json};
use super::{ApiError, AppState, Caller};
use crate::store::{
    CatalogItem, ItemChange, ItemKind, ItemPrice, NewDiscount, NewItem, NewPrice, StoredDiscount,
};
use vetpay_domain::discount::{Off, Target};

/// A price to set: the organisation's in a currency, or a department's own.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceInput {
    /// ISO 4217; a department's price is in the department's currency.
    currency: String,
    /// Leave out for the organisation's price.
    department_id: Option<String>,
    /// Minor units, without VAT.
    unit_price: i64,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateItem {
    /// Unique in the organisation: letters, digits, '-', '_', '.'.
    code: String,
    kind: ItemKind,
    /// The item's group, which group discounts name ("vaccines").
    group: Option<String>,
    /// Names by language tag, at least one: {"en": "Rabies vaccine", "da": "Rabiesvaccine"}.
    names: BTreeMap<String, String>,
    /// Percent, such as 25.
    #[schema(value_type = String)]
    vat_rate: Value,
    #[serde(default)]
    prices: Vec<PriceInput>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeItem {
    kind: Option<ItemKind>,
    /// A new group; "" takes the item out of its group.
    group: Option<String>,
    names: Option<BTreeMap<String, String>>,
    #[schema(value_type = Option<String>)]
    vat_rate: Option<Value>,
    /// Each replaces the current price of its currency and level; the old one
    /// stays in the history.
    #[serde(default)]
    prices: Vec<PriceInput>,
    /// Archived items cannot be invoiced; false restores one.
    archived: Option<bool>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// Part of the code or of a name, any case.
    q: Option<String>,
    /// Archived items too.
    #[serde(default)]
    archived: bool,
    /// How many, 1 to 500 (100 by default).
    limit: Option<i64>,
    /// A patient at a consultation: what their health plans include comes
    /// first, with the units left.
    patient_id: Option<String>,
}

/// An item and every price it has had.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ItemHistory {
    item: CatalogItem,
    /// Every price, current and replaced, newest first per currency and level.
    price_history: Vec<ItemPrice>,
}

fn prices(input: Vec<PriceInput>) -> Vec<NewPrice> {
    input
        .into_iter()
        .map(|p| NewPrice {
            currency: p.currency.trim().to_uppercase(),
            department_id: p.department_id,
            unit_price: p.unit_price,
        })
        .collect()
}

#[utoipa::path(
    post,
    path = "/v1/catalog/items",
    summary = "Add a catalog item",
    extensions(("x-vetpay-role" = json!("admin"))),
    request_body = CreateItem,
    responses((status = 201, description = "The item", body = CatalogItem))
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    body: Bytes,
) -> Result<(StatusCode, Json<CatalogItem>), ApiError> {
    caller.require_admin()?;
    let req: CreateItem = json(&body)?;
    let item = state
        .clinic
        .store()
        .create_item(
            &caller.organisation_id,
            NewItem {
                code: req.code.trim().to_owned(),
                kind: req.kind,
                group: req.group,
                names: req.names,
                vat_rate: decimal("vat_rate", &req.vat_rate)?,
                prices: prices(req.prices),
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(item)))
}

#[utoipa::path(
    get,
    path = "/v1/catalog/items",
    summary = "Search the catalog by code and name (?q=, ?archived=true, ?limit=)",
    extensions(("x-vetpay-role" = json!("staff"))),
    params(SearchQuery),
    responses((status = 200, description = "The items, by code", body = [CatalogItem]))
)]
pub async fn search(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<SearchQuery>,
) -> Result<Json<Vec<CatalogItem>>, ApiError> {
    let limit = q.limit.unwrap_or(100).clamp(1, 500);
    if q.q.as_deref().is_some_and(|t| t.contains('\0')) {
        return Err(ApiError::new(
            super::error::ErrorCode::Invalid,
            "q: contains a NUL character (U+0000); remove it",
        ));
    }
    let store = state.clinic.store();
    let mut items = store
        .items(&caller.organisation_id, q.q.as_deref(), q.archived, limit)
        .await?;
    if let Some(patient) = &q.patient_id {
        let mut offers = store.plan_offers(&caller.organisation_id, patient).await?;
        for item in &mut items {
            item.plan = offers.remove(&item.id);
        }
        // Stable: by code within each part.
        items.sort_by_key(|i| i.plan.is_none());
    }
    Ok(Json(items))
}

#[utoipa::path(
    get,
    path = "/v1/catalog/items/{id}",
    summary = "A catalog item with its price history",
    extensions(("x-vetpay-role" = json!("staff"))),
    responses((status = 200, description = "The item", body = ItemHistory))
)]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ItemHistory>, ApiError> {
    let store = state.clinic.store();
    let item = store
        .item(&caller.organisation_id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("catalog item"))?;
    let price_history = store.item_prices(&item.id, true).await?;
    Ok(Json(ItemHistory {
        item,
        price_history,
    }))
}

#[utoipa::path(
    patch,
    path = "/v1/catalog/items/{id}",
    summary = "Change, reprice, archive or restore a catalog item (invoices keep what they were made with)",
    extensions(("x-vetpay-role" = json!("admin"))),
    request_body = ChangeItem,
    responses((status = 200, description = "The item", body = CatalogItem))
)]
pub async fn change(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<CatalogItem>, ApiError> {
    caller.require_admin()?;
    let req: ChangeItem = json(&body)?;
    let vat_rate = match &req.vat_rate {
        Some(v) => Some(decimal("vat_rate", v)?),
        None => None,
    };
    state
        .clinic
        .store()
        .change_item(
            &caller.organisation_id,
            &id,
            ItemChange {
                kind: req.kind,
                group: req.group,
                names: req.names,
                vat_rate,
                prices: prices(req.prices),
                archived: req.archived,
            },
        )
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("catalog item"))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateDiscount {
    name: String,
    /// A percentage off, such as 10 (or give amount and currency).
    #[schema(value_type = Option<String>)]
    percent: Option<Value>,
    /// Minor units off each unit (with currency); not for a whole invoice.
    amount: Option<i64>,
    currency: Option<String>,
    /// item (with item_id), group (with group) or invoice.
    target: String,
    item_id: Option<String>,
    group: Option<String>,
    /// First and last day it applies, YYYY-MM-DD (the department's dates).
    valid_from: Option<String>,
    valid_to: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeDiscount {
    /// Archived discounts no longer apply; false restores one.
    archived: bool,
}

fn invalid(message: String) -> ApiError {
    ApiError::new(super::error::ErrorCode::Invalid, message)
}

fn date(field: &str, value: &Option<String>) -> Result<Option<jiff::civil::Date>, ApiError> {
    value
        .as_deref()
        .map(|d| {
            d.trim()
                .parse()
                .map_err(|_| invalid(format!("{field}: '{d}' is not a date (YYYY-MM-DD)")))
        })
        .transpose()
}

#[utoipa::path(
    post,
    path = "/v1/catalog/discounts",
    summary = "Define a discount: a percentage or an amount off each unit, for an item, a group or a whole invoice",
    extensions(("x-vetpay-role" = json!("admin"))),
    request_body = CreateDiscount,
    responses((status = 201, description = "The discount", body = StoredDiscount))
)]
pub async fn create_discount(
    State(state): State<AppState>,
    caller: Caller,
    body: Bytes,
) -> Result<(StatusCode, Json<StoredDiscount>), ApiError> {
    caller.require_admin()?;
    let req: CreateDiscount = json(&body)?;
    let off = match (&req.percent, req.amount, &req.currency) {
        (Some(p), None, None) => Off::Percent(decimal("percent", p)?),
        (None, Some(minor_units), Some(currency)) => Off::Amount {
            minor_units,
            currency: currency.trim().to_uppercase(),
        },
        _ => {
            return Err(invalid(
                "percent: give either a percentage, or an amount with its currency".into(),
            ));
        }
    };
    let target = match (req.target.as_str(), req.item_id, req.group) {
        ("item", Some(id), None) => Target::Item(id),
        ("group", None, Some(g)) => Target::Group(g),
        ("invoice", None, None) => Target::Invoice,
        _ => {
            return Err(invalid(
                "target: item (with item_id), group (with group) or invoice (with neither)".into(),
            ));
        }
    };
    let discount = state
        .clinic
        .store()
        .create_discount(
            &caller.organisation_id,
            NewDiscount {
                name: req.name,
                off,
                target,
                valid_from: date("valid_from", &req.valid_from)?,
                valid_to: date("valid_to", &req.valid_to)?,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(discount)))
}

#[utoipa::path(
    get,
    path = "/v1/catalog/discounts",
    summary = "Every discount, newest first",
    extensions(("x-vetpay-role" = json!("staff"))),
    responses((status = 200, description = "The discounts", body = [StoredDiscount]))
)]
pub async fn discounts(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<StoredDiscount>>, ApiError> {
    Ok(Json(
        state
            .clinic
            .store()
            .discounts(&caller.organisation_id)
            .await?,
    ))
}

#[utoipa::path(
    patch,
    path = "/v1/catalog/discounts/{id}",
    summary = "Archive or restore a discount (invoices keep what they were made with)",
    extensions(("x-vetpay-role" = json!("admin"))),
    request_body = ChangeDiscount,
    responses((status = 200, description = "The discount", body = StoredDiscount))
)]
pub async fn change_discount(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<StoredDiscount>, ApiError> {
    caller.require_admin()?;
    let req: ChangeDiscount = json(&body)?;
    state
        .clinic
        .store()
        .archive_discount(&caller.organisation_id, &id, req.archived)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("discount"))
}
