//! The counter: invoices, the payment form, the terminal dialog's event
//! stream and abort, and refunds.

use axum::Form;
use axum::body::Body;
use axum::extract::{Path, Query};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::backend::Call;
use super::{ConsoleError, Ctx, seg};

/// Statuses a card attempt may still leave: the dialog stays open for them.
pub(super) fn running(status: &str) -> bool {
    matches!(status, "processing" | "unknown")
}

/// Departments by id, for names, currencies and time zones.
pub(super) async fn departments(ctx: &Ctx) -> Result<Vec<Value>, ConsoleError> {
    Ok(ctx
        .get("/v1/departments")
        .await?
        .as_array()
        .cloned()
        .unwrap_or_default())
}

pub(super) fn find<'a>(list: &'a [Value], id: &str) -> Option<&'a Value> {
    list.iter().find(|v| v["id"].as_str() == Some(id))
}

#[derive(Deserialize)]
pub struct Search {
    q: Option<String>,
    status: Option<String>,
}

/// Invoices, searched by client name, number and status.
pub async fn invoices(ctx: Ctx, Query(search): Query<Search>) -> Response {
    let result = async {
        let (invoices, clients, departments) = (
            ctx.get("/v1/invoices?limit=500").await?,
            ctx.get("/v1/clients").await?,
            departments(&ctx).await?,
        );
        let clients = clients.as_array().cloned().unwrap_or_default();
        let q = search.q.clone().unwrap_or_default().trim().to_lowercase();
        let status = search.status.clone().unwrap_or_default();
        let rows: Vec<Value> = invoices
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|mut inv| {
                let client = find(&clients, inv["client_id"].as_str().unwrap_or_default())
                    .map(|c| c["name"].clone())
                    .unwrap_or(Value::Null);
                let dept = find(
                    &departments,
                    inv["department_id"].as_str().unwrap_or_default(),
                )
                .cloned()
                .unwrap_or(Value::Null);
                inv["client_name"] = client;
                inv["department"] = dept;
                inv
            })
            .filter(|inv| status.is_empty() || inv["status"].as_str() == Some(status.as_str()))
            .filter(|inv| {
                q.is_empty()
                    || inv["client_name"]
                        .as_str()
                        .is_some_and(|n| n.to_lowercase().contains(&q))
                    || inv["number"].as_i64().is_some_and(|n| n.to_string() == q)
            })
            .collect();
        ctx.render(
            "invoices.html",
            "invoices",
            json!({
                "title": ctx.t("invoices-title"),
                "invoices": rows,
                "q": search.q,
                "status": status,
                "statuses": ["draft", "finalised", "partially_paid", "paid"],
            }),
        )
    }
    .await;
    ctx.finish("invoices", result)
}

#[derive(Deserialize)]
pub struct Shown {
    /// The payment whose dialog just closed: its result is announced.
    result: Option<String>,
}

/// One invoice with its lines, sums and payments; a running card payment
/// re-opens the terminal dialog.
pub async fn invoice(ctx: Ctx, Path(id): Path<String>, Query(shown): Query<Shown>) -> Response {
    let result = async {
        let invoice = ctx.get(&format!("/v1/invoices/{}", seg(&id))).await?;
        let payments = ctx
            .get(&format!("/v1/invoices/{}/payments", seg(&id)))
            .await?;
        let departments = departments(&ctx).await?;
        let department = find(&departments, invoice["department_id"].as_str().unwrap_or_default())
            .cloned()
            .unwrap_or(Value::Null);
        let client = ctx
            .get(&format!(
                "/v1/clients/{}",
                seg(invoice["client_id"].as_str().unwrap_or_default())
            ))
            .await?;
        let payments = payments.as_array().cloned().unwrap_or_default();
        let dialog = payments
            .iter()
            .find(|p| running(p["status"].as_str().unwrap_or_default()) && p["plugin_id"].is_string())
            .cloned();
        let result = shown
            .result
            .as_deref()
            .and_then(|r| find(&payments, r))
            .filter(|p| !running(p["status"].as_str().unwrap_or_default()))
            .cloned();
        ctx.render(
            "invoice.html",
            "invoices",
            json!({
                "title": format!("{} {}", ctx.t("invoice"), invoice["number"].as_i64().map(|n| n.to_string()).unwrap_or_else(|| ctx.t("invoice-draft"))),
                "invoice": invoice,
                "client": client,
                "department": department,
                "payments": payments,
                "dialog": dialog,
                "result": result,
                "back": format!("/invoices/{id}"),
            }),
        )
    }
    .await;
    ctx.finish("invoices", result)
}

pub async fn finalise(ctx: Ctx, Path(id): Path<String>) -> Response {
    let result = ctx
        .api()
        .send(
            ctx.key(),
            Call::with(Method::POST, &format!("/v1/invoices/{}/finalise", seg(&id))),
        )
        .await
        .map(|_| ctx.t("invoice-finalised"));
    ctx.after(&format!("/invoices/{id}"), result).await
}

pub async fn credit_note(ctx: Ctx, Path(id): Path<String>) -> Response {
    let result = ctx
        .api()
        .send(
            ctx.key(),
            Call::with(
                Method::POST,
                &format!("/v1/invoices/{}/credit-notes", seg(&id)),
            )
            .json(json!({})),
        )
        .await;
    match result {
        Ok(note) => {
            let to = format!("/invoices/{}", note["id"].as_str().unwrap_or(&id));
            ctx.after(&to, Ok(ctx.t("credit-note-made"))).await
        }
        Err(e) => ctx.after(&format!("/invoices/{id}"), Err(e)).await,
    }
}

/// Terminals of a department whose plugin is enabled for its market, and
/// the department's settings (whether saved cards may be charged).
pub(super) async fn usable_terminals(
    ctx: &Ctx,
    department: &Value,
) -> Result<Vec<Value>, ConsoleError> {
    let dept_id = department["id"].as_str().unwrap_or_default();
    let country = department["country"].as_str().unwrap_or_default();
    let terminals = ctx
        .get(&format!("/v1/departments/{}/terminals", seg(dept_id)))
        .await?;
    let plugins = ctx.get("/v1/plugins").await?;
    let enabled = |plugin_id: &str| {
        plugins.as_array().into_iter().flatten().any(|p| {
            p["id"].as_str() == Some(plugin_id)
                && p["enabled_markets"]
                    .as_array()
                    .is_some_and(|m| m.iter().any(|c| c.as_str() == Some(country)))
        })
    };
    Ok(terminals
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|t| enabled(t["plugin_id"].as_str().unwrap_or_default()))
        .collect())
}

/// Saved cards of the client in the department, when it allows charging them.
pub(super) async fn billing_cards(
    ctx: &Ctx,
    client_id: &str,
    department_id: &str,
) -> Result<Value, ConsoleError> {
    ctx.get(&format!(
        "/v1/clients/{}/cards?department_id={}",
        seg(client_id),
        seg(department_id)
    ))
    .await
}

/// The payment form: the due sum prefilled, the type, the terminals.
pub async fn pay_form(ctx: Ctx, Path(id): Path<String>) -> Response {
    let result = async {
        let invoice = ctx.get(&format!("/v1/invoices/{}", seg(&id))).await?;
        let departments = departments(&ctx).await?;
        let department = find(
            &departments,
            invoice["department_id"].as_str().unwrap_or_default(),
        )
        .cloned()
        .unwrap_or(Value::Null);
        let terminals = usable_terminals(&ctx, &department).await?;
        let cards = billing_cards(
            &ctx,
            invoice["client_id"].as_str().unwrap_or_default(),
            department["id"].as_str().unwrap_or_default(),
        )
        .await?;
        let cards = if cards["recurring_allowed"] == true {
            cards["cards"].clone()
        } else {
            json!([])
        };
        ctx.render(
            "pay.html",
            "invoices",
            json!({
                "title": ctx.t("pay-title"),
                "invoice": invoice,
                "department": department,
                "terminals": terminals,
                "cards": cards,
                "action": format!("/invoices/{id}/pay"),
                "cancel": format!("/invoices/{id}"),
                // A double submit of the form is one payment.
                "idempotency_key": uuid::Uuid::new_v4().to_string(),
            }),
        )
    }
    .await;
    ctx.finish("invoices", result)
}

#[derive(Deserialize)]
pub struct PayForm {
    amount: String,
    method: String,
    terminal_id: Option<String>,
    card_id: Option<String>,
    idempotency_key: String,
}

/// The API body of a payment form.
pub(super) fn payment_body(
    ctx: &Ctx,
    form: &PayForm,
    currency: &str,
) -> Result<Value, ConsoleError> {
    let amount = ctx
        .signed
        .lang
        .parse_amount(&form.amount, currency)
        .ok_or_else(|| ConsoleError::BadInput(ctx.t("error-amount")))?;
    let mut body = json!({ "method": form.method, "amount": amount });
    match form.method.as_str() {
        "card" => body["terminal_id"] = json!(form.terminal_id.clone().unwrap_or_default()),
        "saved_card" => body["card_id"] = json!(form.card_id.clone().unwrap_or_default()),
        _ => {}
    }
    Ok(body)
}

/// Starts the payment; a card payment comes back to the invoice with the
/// terminal dialog open.
pub async fn pay(ctx: Ctx, Path(id): Path<String>, Form(form): Form<PayForm>) -> Response {
    let result = async {
        let invoice = ctx.get(&format!("/v1/invoices/{}", seg(&id))).await?;
        let body = payment_body(&ctx, &form, invoice["currency"].as_str().unwrap_or("XXX"))?;
        let path = format!("/v1/invoices/{}/payments", seg(&id));
        ctx.api()
            .send(
                ctx.key(),
                Call::with(Method::POST, &path)
                    .json(body)
                    .idempotent(&form.idempotency_key),
            )
            .await
    }
    .await;
    ctx.to_payment(&format!("/invoices/{id}"), result).await
}

/// The payment's event stream, as the API sends it, for the dialog's
/// `EventSource` (which cannot send the API key itself).
pub async fn events(ctx: Ctx, Path(id): Path<String>) -> Response {
    let path = format!("/v1/payments/{}/events", seg(&id));
    match ctx.api().raw(ctx.key(), Call::get(&path)).await {
        Ok(response) if response.status().is_success() => {
            let (parts, body) = response.into_parts();
            let mut out = Response::new(Body::new(body));
            *out.status_mut() = parts.status;
            for name in [header::CONTENT_TYPE, header::CACHE_CONTROL] {
                if let Some(v) = parts.headers.get(&name) {
                    out.headers_mut().insert(name, v.clone());
                }
            }
            out
        }
        Ok(response) => (response.status(), "no events for this payment").into_response(),
        Err(e) => e.into_response(),
    }
}

/// Asks the provider to abort (the dialog's Abort button, with the CSRF header).
pub async fn abort(ctx: Ctx, Path(id): Path<String>) -> Response {
    let path = format!("/v1/payments/{}/abort", seg(&id));
    match ctx
        .api()
        .send(ctx.key(), Call::with(Method::POST, &path))
        .await
    {
        Ok(p) => (StatusCode::ACCEPTED, axum::Json(p)).into_response(),
        Err(e) => (e.status(), axum::Json(json!({ "message": e.to_string() }))).into_response(),
    }
}

/// The refund form: the negative sum, editable down to part of it.
pub async fn refund_form(ctx: Ctx, Path(id): Path<String>) -> Response {
    let result = async {
        let payment = ctx.get(&format!("/v1/payments/{}", seg(&id))).await?;
        let departments = departments(&ctx).await?;
        let department = find(
            &departments,
            payment["department_id"].as_str().unwrap_or_default(),
        )
        .cloned()
        .unwrap_or(Value::Null);
        let terminals = usable_terminals(&ctx, &department).await?;
        let back = back_of(&payment);
        ctx.render(
            "refund.html",
            "invoices",
            json!({
                "title": ctx.t("refund-title"),
                "payment": payment,
                "department": department,
                "terminals": terminals,
                "negative": -payment["amount"].as_i64().unwrap_or_default(),
                "action": format!("/payments/{id}/refund"),
                "cancel": back,
                "idempotency_key": uuid::Uuid::new_v4().to_string(),
            }),
        )
    }
    .await;
    ctx.finish("invoices", result)
}

/// Where a payment is shown: its invoice, or its client's billing tab.
pub(super) fn back_of(payment: &Value) -> String {
    match payment["invoice_id"].as_str() {
        Some(invoice) => format!("/invoices/{invoice}"),
        None => format!(
            "/clients/{}?tab=billing&department={}",
            payment["client_id"].as_str().unwrap_or_default(),
            payment["department_id"].as_str().unwrap_or_default()
        ),
    }
}

#[derive(Deserialize)]
pub struct RefundForm {
    amount: String,
    /// A terminal id, or "card" for back to the saved card / as paid.
    to: String,
    idempotency_key: String,
}

pub async fn refund(ctx: Ctx, Path(id): Path<String>, Form(form): Form<RefundForm>) -> Response {
    let payment = match ctx.get(&format!("/v1/payments/{}", seg(&id))).await {
        Ok(p) => p,
        Err(e) => return ctx.after("/invoices", Err(e)).await,
    };
    let back = back_of(&payment);
    let result = async {
        let currency = payment["currency"].as_str().unwrap_or("XXX");
        // The form shows the refund as the negative sum it books; the API
        // takes the size of it.
        let amount = ctx
            .signed
            .lang
            .parse_amount(&form.amount, currency)
            .ok_or_else(|| ConsoleError::BadInput(ctx.t("error-amount")))?
            .abs();
        let mut body = json!({ "amount": amount });
        if form.to != "card" {
            body["terminal_id"] = json!(form.to);
        }
        let path = format!("/v1/payments/{}/refunds", seg(&id));
        ctx.api()
            .send(
                ctx.key(),
                Call::with(Method::POST, &path)
                    .json(body)
                    .idempotent(&form.idempotency_key),
            )
            .await
    }
    .await;
    ctx.to_payment(&back, result).await
}
