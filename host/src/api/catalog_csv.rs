//! The catalog as CSV: `GET /v1/catalog/export` and `POST /v1/catalog/import`.
//!
//! One line per item: `code`, `kind`, `group`, `vat_rate`, `archived`, then a
//! `name:TAG` column per language and a `price:CUR` column per currency (the
//! organisation's price, in major units with a point: `380.00`). Departments'
//! own prices are kept out (they are set per department). An import adds the
//! codes it does not know and changes those it knows, all or none.

use std::collections::{BTreeMap, BTreeSet};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use rust_decimal::Decimal;
use serde::Serialize;

use super::error::ErrorCode;
use super::{ApiError, AppState, Caller};
use crate::store::{ItemKind, NewItem, NewPrice};
use vetpay_domain::{Currency, Money};

/// What an import did.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ImportReport {
    /// Codes of the items added.
    pub added: Vec<String>,
    /// Codes of the items changed.
    pub changed: Vec<String>,
}

fn invalid(message: String) -> ApiError {
    ApiError::new(ErrorCode::Invalid, message)
}

/// Minor units as the CSV writes them: major units with the currency's digits.
fn major(minor: i64, currency: &str) -> String {
    // Stored prices have a known currency (it was checked when they were set).
    Money::of(minor, currency)
        .map(Money::to_decimal_string)
        .unwrap_or_else(|_| minor.to_string())
}

fn minor(text: &str, currency: &str, line: usize, column: &str) -> Result<i64, ApiError> {
    Currency::parse(currency)
        .and_then(|c| Money::from_decimal_str(text, c))
        .map(|m| m.minor_units)
        .map_err(|e| invalid(format!("line {line}: {column}: {e}")))
}

#[utoipa::path(
    get,
    path = "/v1/catalog/export",
    summary = "The catalog as CSV (a line per item; names per language, the organisation's price per currency)",
    extensions(("x-vetpay-role" = json!("staff"))),
    responses((status = 200, description = "The catalog", content_type = "text/csv", body = String))
)]
pub async fn export(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    let items = state
        .clinic
        .store()
        .items(&caller.organisation_id, None, true, i64::MAX)
        .await?;
    let tags: BTreeSet<&String> = items.iter().flat_map(|i| i.names.keys()).collect();
    let currencies: BTreeSet<&String> = items
        .iter()
        .flat_map(|i| {
            i.prices
                .iter()
                .filter(|p| p.department_id.is_none())
                .map(|p| &p.currency)
        })
        .collect();
    let mut out = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<String> = ["code", "kind", "group", "vat_rate", "archived"]
        .map(String::from)
        .to_vec();
    header.extend(tags.iter().map(|t| format!("name:{t}")));
    header.extend(currencies.iter().map(|c| format!("price:{c}")));
    let failed = |e: csv::Error| ApiError::new(ErrorCode::Internal, e.to_string());
    out.write_record(&header).map_err(failed)?;
    for item in &items {
        let mut row = vec![
            item.code.clone(),
            item.kind.as_str().to_owned(),
            item.group.clone().unwrap_or_default(),
            item.vat_rate.clone(),
            item.archived.to_string(),
        ];
        row.extend(
            tags.iter()
                .map(|t| item.names.get(*t).cloned().unwrap_or_default()),
        );
        row.extend(currencies.iter().map(|c| {
            item.prices
                .iter()
                .find(|p| &p.currency == *c && p.department_id.is_none())
                .map(|p| major(p.unit_price, c))
                .unwrap_or_default()
        }));
        out.write_record(&row).map_err(failed)?;
    }
    let bytes = out
        .into_inner()
        .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
    Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], bytes).into_response())
}

#[utoipa::path(
    post,
    path = "/v1/catalog/import",
    summary = "Add and change items from CSV, by code, all or none (the export's format)",
    extensions(("x-vetpay-role" = json!("admin"))),
    request_body(content = String, content_type = "text/csv"),
    responses((status = 200, description = "What was added and changed", body = ImportReport))
)]
pub async fn import(
    State(state): State<AppState>,
    caller: Caller,
    body: Bytes,
) -> Result<axum::Json<ImportReport>, ApiError> {
    caller.require_admin()?;
    if body.contains(&0) {
        return Err(invalid(
            "the CSV contains a NUL character (U+0000), which cannot be stored; remove it".into(),
        ));
    }
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(body.as_ref());
    let header = reader
        .headers()
        .map_err(|e| invalid(format!("line 1: {e}")))?
        .clone();
    let column = |name: &str| header.iter().position(|h| h == name);
    let (Some(code), Some(kind), Some(vat)) = (column("code"), column("kind"), column("vat_rate"))
    else {
        return Err(invalid(
            "line 1: the header needs code, kind and vat_rate (and name:TAG, price:CUR columns)"
                .into(),
        ));
    };
    let (group, archived) = (column("group"), column("archived"));
    for h in header.iter() {
        let known = matches!(h, "code" | "kind" | "group" | "vat_rate" | "archived")
            || h.starts_with("name:")
            || h.starts_with("price:");
        if !known {
            return Err(invalid(format!("line 1: unknown column '{h}'")));
        }
    }
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let record = record.map_err(|e| invalid(format!("line {line}: {e}")))?;
        let field = |at: usize| record.get(at).unwrap_or("");
        let kind =
            ItemKind::parse(field(kind)).map_err(|e| invalid(format!("line {line}: kind: {e}")))?;
        let vat_rate: Decimal = field(vat).parse().map_err(|_| {
            invalid(format!(
                "line {line}: vat_rate: '{}' is not a percentage",
                field(vat)
            ))
        })?;
        let mut names = BTreeMap::new();
        let mut prices = Vec::new();
        for (at, h) in header.iter().enumerate() {
            let value = field(at);
            if value.is_empty() {
                continue;
            }
            if let Some(tag) = h.strip_prefix("name:") {
                names.insert(tag.to_owned(), value.to_owned());
            } else if let Some(currency) = h.strip_prefix("price:") {
                prices.push(NewPrice {
                    currency: currency.to_owned(),
                    department_id: None,
                    unit_price: minor(value, currency, line, h)?,
                });
            }
        }
        let archived = match archived.map(field) {
            None | Some("") => None,
            Some("true") => Some(true),
            Some("false") => Some(false),
            Some(other) => {
                return Err(invalid(format!(
                    "line {line}: archived: '{other}' is neither true nor false"
                )));
            }
        };
        rows.push((
            NewItem {
                code: field(code).to_owned(),
                kind,
                group: group
                    .map(field)
                    .filter(|g| !g.is_empty())
                    .map(str::to_owned),
                names,
                vat_rate,
                prices,
            },
            archived,
        ));
    }
    let (added, changed) = state
        .clinic
        .store()
        .import_items(&caller.organisation_id, rows, group.is_some())
        .await?;
    Ok(axum::Json(ImportReport { added, changed }))
}
