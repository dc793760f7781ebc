//! Clients: details and patients (the health-plan tag and a heart for
//! members), and the Billing tab with credit, deposits and saved cards.

use axum::Form;
use axum::extract::{Path, Query};
use axum::http::Method;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};

use super::backend::Call;
use super::counter::{billing_cards, departments, find, running, usable_terminals};
use super::{ConsoleError, Ctx, seg};

#[derive(Deserialize)]
pub struct Search {
    q: Option<String>,
}

pub async fn list(ctx: Ctx, Query(search): Query<Search>) -> Response {
    let result = async {
        let q = search.q.clone().unwrap_or_default().trim().to_lowercase();
        let clients: Vec<Value> = ctx
            .get("/v1/clients")
            .await?
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|c| {
                q.is_empty()
                    || ["name", "email", "phone"].iter().any(|f| {
                        c[*f]
                            .as_str()
                            .is_some_and(|v| v.to_lowercase().contains(&q))
                    })
            })
            .collect();
        ctx.render(
            "clients.html",
            "clients",
            json!({ "title": ctx.t("clients-title"), "clients": clients, "q": search.q }),
        )
    }
    .await;
    ctx.finish("clients", result)
}

#[derive(Deserialize)]
pub struct Tab {
    tab: Option<String>,
    department: Option<String>,
    /// The deposit whose dialog just closed.
    result: Option<String>,
}

pub async fn show(ctx: Ctx, Path(id): Path<String>, Query(tab): Query<Tab>) -> Response {
    let result = async {
        let client = ctx.get(&format!("/v1/clients/{}", seg(&id))).await?;
        let patients = ctx
            .get(&format!("/v1/clients/{}/patients", seg(&id)))
            .await?;
        let departments = departments(&ctx).await?;
        let department = tab
            .department
            .as_deref()
            .and_then(|d| find(&departments, d))
            .or(departments.first())
            .cloned()
            .unwrap_or(Value::Null);
        let dept_id = department["id"].as_str().unwrap_or_default().to_owned();
        let billing = tab.tab.as_deref() == Some("billing");
        let mut data = json!({
            "title": client["name"],
            "client": client,
            "patients": patients,
            "departments": departments,
            "department": department,
            "tab": if billing { "billing" } else { "details" },
        });
        if !billing {
            // The health-plan add-on: subscriptions and sign-up, when it is on.
            match ctx
                .get(&format!("/v1/subscriptions?client_id={}", seg(&id)))
                .await
            {
                Ok(subscriptions) => {
                    let plans = ctx.get("/v1/health-plans").await?;
                    let cards = billing_cards(&ctx, &id, &dept_id).await?;
                    data["health_plans"] = json!({
                        "subscriptions": subscriptions,
                        "plans": plans,
                        "cards": if cards["recurring_allowed"] == true { cards["cards"].clone() } else { json!([]) },
                        "options": ["monthly_invoice", "saved_card", "third_party", "manual", "advance"],
                    });
                }
                Err(ConsoleError::Refused { code, .. }) if code == "health_plans_disabled" => {}
                Err(e) => return Err(e),
            }
        }
        if billing {
            let cards = billing_cards(&ctx, &id, &dept_id).await?;
            let prepayments = ctx
                .get(&format!("/v1/clients/{}/prepayments", seg(&id)))
                .await?;
            let dialog = prepayments["payments"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|p| {
                    running(p["status"].as_str().unwrap_or_default()) && p["plugin_id"].is_string()
                })
                .cloned();
            data["result"] = json!(tab.result.as_deref().and_then(|r| {
                prepayments["payments"]
                    .as_array()
                    .and_then(|list| find(list, r))
                    .filter(|p| !running(p["status"].as_str().unwrap_or_default()))
            }));
            data["cards"] = cards;
            data["prepayments"] = prepayments;
            data["dialog"] = json!(dialog);
            data["terminals"] = json!(usable_terminals(&ctx, &department).await?);
            data["back"] = json!(format!("/clients/{id}?tab=billing&department={dept_id}"));
            data["idempotency_key"] = json!(uuid::Uuid::new_v4().to_string());
        }
        ctx.render("client.html", "clients", data)
    }
    .await;
    ctx.finish("clients", result)
}

#[derive(Deserialize)]
pub struct DepositForm {
    department_id: String,
    amount: String,
    method: String,
    terminal_id: Option<String>,
    idempotency_key: String,
}

/// A client prepayment: the same flow as a payment, becoming credit.
pub async fn deposit(ctx: Ctx, Path(id): Path<String>, Form(form): Form<DepositForm>) -> Response {
    let result = async {
        let departments = departments(&ctx).await?;
        let currency = find(&departments, &form.department_id)
            .and_then(|d| d["currency"].as_str())
            .unwrap_or("XXX")
            .to_owned();
        let amount = ctx
            .signed
            .lang
            .parse_amount(&form.amount, &currency)
            .ok_or_else(|| ConsoleError::BadInput(ctx.t("error-amount")))?;
        let mut body = json!({
            "amount": amount,
            "method": form.method,
            "department_id": form.department_id,
        });
        if form.method == "card" {
            body["terminal_id"] = json!(form.terminal_id.clone().unwrap_or_default());
        }
        let path = format!("/v1/clients/{}/prepayments", seg(&id));
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
    let to = format!(
        "/clients/{id}?tab=billing&department={}",
        form.department_id
    );
    ctx.to_payment(&to, result).await
}

#[derive(Deserialize)]
pub struct CardForm {
    department_id: String,
}

pub async fn set_default(
    ctx: Ctx,
    Path((id, card)): Path<(String, String)>,
    Form(form): Form<CardForm>,
) -> Response {
    let path = format!("/v1/clients/{}/cards/{}/default", seg(&id), seg(&card));
    let result = ctx
        .api()
        .send(ctx.key(), Call::with(Method::PUT, &path))
        .await
        .map(|_| ctx.t("card-default-set"));
    let to = format!(
        "/clients/{id}?tab=billing&department={}",
        form.department_id
    );
    ctx.after(&to, result).await
}

pub async fn delete_card(
    ctx: Ctx,
    Path((id, card)): Path<(String, String)>,
    Form(form): Form<CardForm>,
) -> Response {
    let path = format!("/v1/clients/{}/cards/{}", seg(&id), seg(&card));
    let result = ctx
        .api()
        .send(ctx.key(), Call::with(Method::DELETE, &path))
        .await
        .map(|_| ctx.t("card-deleted"));
    let to = format!(
        "/clients/{id}?tab=billing&department={}",
        form.department_id
    );
    ctx.after(&to, result).await
}

#[derive(Deserialize)]
pub struct SignUpForm {
    patient_id: String,
    plan_id: String,
    payment_option: String,
    card_id: Option<String>,
}

/// Signs a patient up for a health plan with one of the five payment options.
pub async fn sign_up(ctx: Ctx, Path(id): Path<String>, Form(form): Form<SignUpForm>) -> Response {
    let mut body = json!({
        "plan_id": form.plan_id,
        "client_id": id,
        "patient_id": form.patient_id,
        "payment_option": form.payment_option,
    });
    if form.payment_option == "saved_card" {
        body["card_id"] = json!(form.card_id.clone().unwrap_or_default());
    }
    let result = ctx
        .api()
        .send(
            ctx.key(),
            Call::with(Method::POST, "/v1/subscriptions").json(body),
        )
        .await
        .map(|_| ctx.t("plan-signed-up"));
    ctx.after(&format!("/clients/{id}"), result).await
}

/// Activates an applied subscription: the patient becomes a member.
pub async fn activate(ctx: Ctx, Path((id, sub)): Path<(String, String)>) -> Response {
    let path = format!("/v1/subscriptions/{}/activate", seg(&sub));
    let result = ctx
        .api()
        .send(ctx.key(), Call::with(Method::POST, &path).json(json!({})))
        .await
        .map(|_| ctx.t("plan-activated"));
    ctx.after(&format!("/clients/{id}"), result).await
}
