//! `/v1/invoices`: drafts, finalising, credit notes, and paying them.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use serde_json::Value;

use super::body::{IdempotencyKey, decimal, idempotency, json, optional, started};
use super::error::ErrorCode;
use super::{ApiError, AppState, Caller};
use crate::service::PaymentOrder;
use crate::store::{
    CATALOG_PRICE_OVERRIDE, Department, Invoice, InvoiceKind, Method, NewInvoice, NewLine, Payment,
    PaymentKind,
};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineInput {
    /// A catalog item: the line takes its name, VAT rate and price in the
    /// department (leave those out; a price only where the department's
    /// `catalog-price-override` setting allows it). Without one the line is
    /// free text and needs all three.
    item_id: Option<String>,
    description: Option<String>,
    /// Decimal, as a number or a string: 1, 2.5, "0.75".
    #[schema(value_type = String)]
    quantity: Value,
    /// Minor units, without VAT.
    unit_price: Option<i64>,
    /// Percent, such as 25.
    #[schema(value_type = Option<String>)]
    vat_rate: Option<Value>,
    /// Percent off the line as typed at the counter, such as 10; the discounts
    /// in force apply on top (send a stored line back with its combined
    /// percentage and they apply twice).
    #[schema(value_type = Option<String>)]
    #[serde(default)]
    discount_percent: Option<Value>,
    /// Take this item from the patient's health plan (its code in the plan).
    plan_item_code: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateInvoice {
    department_id: String,
    client_id: String,
    patient_id: Option<String>,
    /// consultation or counter_sale.
    kind: InvoiceKind,
    #[serde(default)]
    lines: Vec<LineInput>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplaceLines {
    lines: Vec<LineInput>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreditNoteRequest {
    /// Positions of the lines to credit; all lines when left out.
    lines: Option<Vec<i64>>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PayInvoice {
    method: Method,
    /// Minor units; usually the due sum.
    amount: i64,
    /// For card payments: the terminal to run on.
    terminal_id: Option<String>,
    /// For saved_card payments.
    card_id: Option<String>,
    /// Take more than is due; the rest becomes client credit.
    #[serde(default)]
    excess_as_deposit: bool,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only this client's invoices.
    client_id: Option<String>,
    /// How many, 1 to 500 (50 by default).
    limit: Option<i64>,
}

fn missing(field: String, what: &str) -> ApiError {
    ApiError::new(
        ErrorCode::Invalid,
        format!(
            "{field}: a free-text line needs {what} (or give item_id to take it from the catalog)"
        ),
    )
}

/// The lines as given, catalog items resolved for `department`: name in the
/// department's language, its VAT rate and current price there.
async fn lines(
    state: &AppState,
    caller: &Caller,
    department: &Department,
    patient_id: Option<&str>,
    input: Vec<LineInput>,
) -> Result<Vec<NewLine>, ApiError> {
    let store = state.clinic.store();
    // The discounts in force today where the invoice is made.
    let today = vetpay_domain::today(&department.time_zone);
    let active = store
        .active_discounts(&caller.organisation_id, today)
        .await?;
    // What the patient's health plans include: a line of such an item takes
    // it from the plan (the plan's discount until the included units are
    // used, the catalog price after).
    // Asked only when a line names an item without a plan code: the units
    // left are the store's business when it prices the line.
    let wants_plan = input
        .iter()
        .any(|l| l.item_id.is_some() && l.plan_item_code.is_none());
    let plan_items = match patient_id {
        Some(p) if wants_plan => {
            store
                .plan_items_of_patient(&caller.organisation_id, p)
                .await?
        }
        _ => Default::default(),
    };
    let mut out = Vec::with_capacity(input.len());
    for (i, l) in input.into_iter().enumerate() {
        let field = |name: &str| format!("lines[{i}].{name}");
        let quantity = decimal(&field("quantity"), &l.quantity)?;
        let discount_percent = match &l.discount_percent {
            Some(v) => decimal(&field("discount_percent"), v)?,
            None => rust_decimal::Decimal::ZERO,
        };
        let mut group = None;
        let mut line = match l.item_id {
            Some(item_id) => {
                let item = store
                    .priced_item(
                        &caller.organisation_id,
                        &department.id,
                        &department.currency,
                        &item_id,
                        &field("item_id"),
                    )
                    .await?;
                let unit_price = match l.unit_price {
                    Some(p) if p != item.unit_price => {
                        let allowed = store
                            .setting(
                                &caller.organisation_id,
                                Some(&department.id),
                                CATALOG_PRICE_OVERRIDE,
                            )
                            .await?
                            == Value::Bool(true);
                        if !allowed {
                            return Err(ApiError::new(
                                ErrorCode::Invalid,
                                format!(
                                    "{}: item {} costs {} here; leave unit_price out, or an admin allows other prices in this department (setting {CATALOG_PRICE_OVERRIDE})",
                                    field("unit_price"),
                                    item.code,
                                    item.unit_price
                                ),
                            ));
                        }
                        p
                    }
                    _ => item.unit_price,
                };
                if l.vat_rate.is_some() {
                    return Err(ApiError::new(
                        ErrorCode::Invalid,
                        format!(
                            "{}: the VAT rate of a catalog item is the catalog's; leave it out",
                            field("vat_rate")
                        ),
                    ));
                }
                group = item.group.clone();
                NewLine {
                    description: match l.description {
                        Some(d) if !d.trim().is_empty() => d,
                        _ => name_for(&item.names, &department.country),
                    },
                    quantity,
                    unit_price,
                    vat_rate: item.vat_rate,
                    discount_percent,
                    plan_item_code: l
                        .plan_item_code
                        .or_else(|| plan_items.get(&item.id).map(|(_, code)| code.clone())),
                    item: Some((item.id, item.code)),
                    discounts: Vec::new(),
                }
            }
            None => NewLine {
                description: l
                    .description
                    .ok_or_else(|| missing(field("description"), "a description"))?,
                quantity,
                unit_price: l
                    .unit_price
                    .ok_or_else(|| missing(field("unit_price"), "a unit price"))?,
                vat_rate: decimal(
                    &field("vat_rate"),
                    l.vat_rate
                        .as_ref()
                        .ok_or_else(|| missing(field("vat_rate"), "a VAT rate"))?,
                )?,
                discount_percent,
                plan_item_code: l.plan_item_code,
                item: None,
                discounts: Vec::new(),
            },
        };
        let discounted = vetpay_domain::discount::apply(
            line.unit_price,
            &department.currency,
            line.discount_percent,
            line.item.as_ref().map(|(id, _)| id.as_str()),
            group.as_deref(),
            &active,
        )
        .map_err(|e| ApiError::new(ErrorCode::Invalid, format!("lines[{i}]: {e}")))?;
        line.unit_price = discounted.unit_price;
        line.discount_percent = discounted.discount_percent;
        line.discounts = discounted.applied;
        out.push(line);
    }
    Ok(out)
}

/// The item's name in the department's language, else English, else any.
fn name_for(names: &std::collections::BTreeMap<String, String>, country: &str) -> String {
    let language = match country {
        "DK" => "da",
        "SE" => "sv",
        "NO" => "nb",
        "FI" => "fi",
        "NL" | "BE" => "nl",
        "DE" | "AT" => "de",
        _ => "en",
    };
    let base = |tag: &str| tag.split('-').next().unwrap_or(tag).to_ascii_lowercase();
    names
        .iter()
        .find(|(tag, _)| base(tag) == language)
        .or_else(|| names.iter().find(|(tag, _)| base(tag) == "en"))
        .or_else(|| names.iter().next())
        .map(|(_, name)| name.clone())
        .unwrap_or_default()
}

async fn own(state: &AppState, caller: &Caller, id: &str) -> Result<Invoice, ApiError> {
    state
        .clinic
        .store()
        .invoice(&caller.organisation_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("invoice"))
}

#[utoipa::path(
    post,
    path = "/v1/invoices",
    summary = "Create a draft invoice",
    extensions(("x-vetpay-role" = json!("staff"))),
    request_body = CreateInvoice,
    responses((status = 201, description = "The draft", body = Invoice))
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    body: Bytes,
) -> Result<(StatusCode, Json<Invoice>), ApiError> {
    let req: CreateInvoice = json(&body)?;
    let department = state
        .clinic
        .store()
        .department(&caller.organisation_id, &req.department_id)
        .await?
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::Invalid,
                "department_id: no department with this id in your organisation",
            )
        })?;
    let lines = lines(
        &state,
        &caller,
        &department,
        req.patient_id.as_deref(),
        req.lines,
    )
    .await?;
    let invoice = state
        .clinic
        .store()
        .create_invoice(
            &caller.organisation_id,
            &department.currency,
            NewInvoice {
                department_id: department.id,
                client_id: req.client_id,
                patient_id: req.patient_id,
                kind: req.kind,
                lines,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(invoice)))
}

#[utoipa::path(
    get,
    path = "/v1/invoices",
    summary = "Newest invoices (?client_id=, ?limit=)",
    extensions(("x-vetpay-role" = json!("staff"))),
    params(ListQuery),
    responses((status = 200, description = "The invoices, newest first", body = [Invoice]))
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> Result<Json<Vec<Invoice>>, ApiError> {
    let limit = q.limit.unwrap_or(50).clamp(1, 500);
    Ok(Json(
        state
            .clinic
            .store()
            .invoices(&caller.organisation_id, q.client_id.as_deref(), limit)
            .await?,
    ))
}

#[utoipa::path(
    get,
    path = "/v1/invoices/{id}",
    summary = "One invoice with its lines and due sum",
    extensions(("x-vetpay-role" = json!("staff"))),
    responses((status = 200, description = "The invoice", body = Invoice))
)]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Invoice>, ApiError> {
    Ok(Json(own(&state, &caller, &id).await?))
}

#[utoipa::path(
    put,
    path = "/v1/invoices/{id}/lines",
    summary = "Replace a draft's lines",
    extensions(("x-vetpay-role" = json!("staff"))),
    request_body = ReplaceLines,
    responses((status = 200, description = "The draft with its new lines", body = Invoice))
)]
pub async fn replace_lines(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Invoice>, ApiError> {
    let invoice = own(&state, &caller, &id).await?;
    let req: ReplaceLines = json(&body)?;
    let department = state
        .clinic
        .store()
        .department(&caller.organisation_id, &invoice.department_id)
        .await?
        .ok_or_else(|| ApiError::not_found("department"))?;
    let lines = lines(
        &state,
        &caller,
        &department,
        invoice.patient_id.as_deref(),
        req.lines,
    )
    .await?;
    Ok(Json(
        state
            .clinic
            .store()
            .replace_invoice_lines(&caller.organisation_id, &id, &lines)
            .await?,
    ))
}

#[utoipa::path(
    post,
    path = "/v1/invoices/{id}/finalise",
    summary = "Finalise a draft: it gets its number and can be paid",
    extensions(("x-vetpay-role" = json!("staff"))),
    responses((status = 200, description = "The finalised invoice", body = Invoice))
)]
pub async fn finalise(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Invoice>, ApiError> {
    own(&state, &caller, &id).await?;
    Ok(Json(
        state
            .clinic
            .store()
            .finalise_invoice(&caller.organisation_id, &id)
            .await?,
    ))
}

#[utoipa::path(
    post,
    path = "/v1/invoices/{id}/credit-notes",
    summary = "Credit a finalised invoice, wholly or some lines",
    extensions(("x-vetpay-role" = json!("staff"))),
    request_body(content = Option<CreditNoteRequest>, description = "Which lines to credit; all when the body is left out"),
    responses((status = 201, description = "The credit note", body = Invoice))
)]
pub async fn credit_note(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<Invoice>), ApiError> {
    own(&state, &caller, &id).await?;
    // No body, or null, credits every line.
    let req = optional(&body)?.unwrap_or(CreditNoteRequest { lines: None });
    let note = state
        .clinic
        .store()
        .credit_invoice(&caller.organisation_id, &id, req.lines.as_deref())
        .await?;
    Ok((StatusCode::CREATED, Json(note)))
}

#[utoipa::path(
    get,
    path = "/v1/invoices/{id}/payments",
    summary = "The invoice's payments and refunds",
    extensions(("x-vetpay-role" = json!("staff"))),
    responses((status = 200, description = "Payments and refunds", body = [Payment]))
)]
pub async fn payments(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<Payment>>, ApiError> {
    own(&state, &caller, &id).await?;
    Ok(Json(
        state
            .clinic
            .store()
            .invoice_payments(&caller.organisation_id, &id)
            .await?,
    ))
}

/// Pays an invoice. Card payments answer 201 at once with the payment
/// `processing`; watch it at /v1/payments/{id}/events.
#[utoipa::path(
    post,
    path = "/v1/invoices/{id}/payments",
    summary = "Pay an invoice: card payments start processing and are watched at /v1/payments/{id}/events",
    extensions(("x-vetpay-role" = json!("staff"))),
    params(IdempotencyKey),
    request_body = PayInvoice,
    responses((status = 201, description = "The payment (a repeated Idempotency-Key answers the first answer again, with Idempotent-Replayed: true)", body = Payment))
)]
pub async fn pay(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    // Its lines are not needed to say it exists: the head is one query,
    // and the payment's start takes it rather than read it again.
    let invoice = state
        .clinic
        .store()
        .invoice_head(&caller.organisation_id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("invoice"))?;
    let idem = idempotency(&headers, "POST", uri.path(), &body)?;
    let req: PayInvoice = json(&body)?;
    let order = PaymentOrder {
        invoice_id: Some(id.into()),
        method: Some(req.method),
        amount: req.amount,
        excess_as_deposit: req.excess_as_deposit,
        terminal_id: req.terminal_id.map(Into::into),
        card_id: req.card_id.map(Into::into),
        invoice: Some(invoice),
        ..PaymentOrder::default()
    };
    Ok(started(
        state
            .clinic
            .start_payment(
                &caller.organisation_id,
                PaymentKind::Payment,
                order,
                Some(&idem),
            )
            .await?,
    ))
}
