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
use crate::store::{CatalogItem, ItemChange, ItemKind, ItemPrice, NewItem, NewPrice};

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
    Ok(Json(
        state
            .clinic
            .store()
            .items(&caller.organisation_id, q.q.as_deref(), q.archived, limit)
            .await?,
    ))
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
