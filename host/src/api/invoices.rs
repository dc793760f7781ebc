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
use crate::store::{Invoice, InvoiceKind, Method, NewInvoice, NewLine, Payment, PaymentKind};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineInput {
    description: String,
    /// Decimal, as a number or a string: 1, 2.5, "0.75".
    #[schema(value_type = String)]
    quantity: Value,
    /// Minor units, without VAT.
    unit_price: i64,
    /// Percent, such as 25.
    #[schema(value_type = String)]
    vat_rate: Value,
    /// Percent off the line, such as 10.
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

fn lines(input: Vec<LineInput>) -> Result<Vec<NewLine>, ApiError> {
    input
        .into_iter()
        .enumerate()
        .map(|(i, l)| {
            Ok(NewLine {
                description: l.description,
                quantity: decimal(&format!("lines[{i}].quantity"), &l.quantity)?,
                unit_price: l.unit_price,
                vat_rate: decimal(&format!("lines[{i}].vat_rate"), &l.vat_rate)?,
                discount_percent: match &l.discount_percent {
                    Some(v) => decimal(&format!("lines[{i}].discount_percent"), v)?,
                    None => rust_decimal::Decimal::ZERO,
                },
                plan_item_code: l.plan_item_code,
            })
        })
        .collect()
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
                lines: lines(req.lines)?,
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
    own(&state, &caller, &id).await?;
    let req: ReplaceLines = json(&body)?;
    Ok(Json(
        state
            .clinic
            .store()
            .replace_invoice_lines(&caller.organisation_id, &id, &lines(req.lines)?)
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
    // Its lines are not needed to say it exists: the head is one query.
    state
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
