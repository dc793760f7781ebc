//! The health-plan catalog (plans and their included items, made through
//! the API, which words what it refuses) and billing runs, whose progress
//! the run's page follows with htmx polling the API's run (the API has no
//! event stream for runs).

use axum::Form;
use axum::extract::Path;
use axum::http::Method;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::admin::{admin_form, admin_page};
use super::backend::Call;
use super::counter::{departments, find};
use super::{ConsoleError, Ctx, seg};

/// Item rows the plan form offers; empty rows are left out.
const ITEM_ROWS: usize = 4;

/// The API refused because the add-on is off.
fn addon_off(e: &ConsoleError) -> bool {
    matches!(e, ConsoleError::Refused { code, .. } if code == "health_plans_disabled")
}

/// The catalog with the form for a new plan; `form` and `error` carry a
/// refused form back with everything typed in it.
async fn catalog_page(
    ctx: &Ctx,
    form: Map<String, Value>,
    error: Option<String>,
) -> Result<Response, ConsoleError> {
    let departments = departments(ctx).await?;
    let (plans, notice) = match ctx.get("/v1/health-plans").await {
        Ok(plans) => (plans, None),
        Err(e) if addon_off(&e) => (json!([]), Some(ctx.t("health-plans-off"))),
        Err(e) => return Err(e),
    };
    ctx.render(
        "admin_health_plans.html",
        "health-plans",
        json!({
            "title": ctx.t("health-plans-title"),
            "plans": plans,
            "departments": departments,
            "notice": notice,
            "form": form,
            "error": error,
            "item_rows": ITEM_ROWS,
        }),
    )
}

pub async fn health_plans(ctx: Ctx) -> Response {
    admin_page(&ctx, "health-plans", catalog_page(&ctx, Map::new(), None)).await
}

/// A field of the submitted form, trimmed; empty is none.
fn field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// The API's body for the plan form: amounts typed in the reader's locale
/// become minor units of the main department's currency; a field that is not
/// a number is refused here, in the reader's language, naming the field.
fn plan_body(ctx: &Ctx, form: &[(String, String)], currency: &str) -> Result<Value, ConsoleError> {
    let lang = ctx.signed.lang;
    let label = |key: &str| ctx.t(&format!("plan-field-{key}"));
    let amount = |name: &str, label: String| -> Result<Option<i64>, ConsoleError> {
        field(form, name)
            .map(|v| {
                lang.parse_amount(v, currency).ok_or_else(|| {
                    ConsoleError::BadInput(
                        lang.text("error-amount-field", &[("field", label.into())]),
                    )
                })
            })
            .transpose()
    };
    let whole = |name: &str| -> Result<Option<i64>, ConsoleError> {
        field(form, name)
            .map(|v| {
                v.parse::<i64>().map_err(|_| {
                    ConsoleError::BadInput(
                        lang.text("error-integer", &[("field", label(name).into())]),
                    )
                })
            })
            .transpose()
    };
    // Decimals go to the API with a point, whatever mark the reader used.
    let decimal = |v: &str| v.replace(',', ".");
    let mut body = json!({
        "name": field(form, "name").unwrap_or_default(),
        "description": field(form, "description").unwrap_or_default(),
        "main_department_id": field(form, "main_department_id").unwrap_or_default(),
        "species": field(form, "species"),
        "contract_months": whole("contract_months")?.unwrap_or(0),
        "monthly_price": amount("monthly_price", label("monthly_price"))?.unwrap_or(0),
        "renews": field(form, "renews").is_some(),
    });
    for key in ["upfront_price", "cancellation_fee"] {
        if let Some(v) = amount(key, label(key))? {
            body[key] = json!(v);
        }
    }
    let mut items = Vec::new();
    for i in 0..ITEM_ROWS {
        let f = |name: &str| field(form, &format!("item-{i}-{name}"));
        if ["code", "description", "quantity", "discount", "price"]
            .iter()
            .all(|n| f(n).is_none())
        {
            continue;
        }
        let row = i + 1;
        let price_label = ctx
            .signed
            .lang
            .text("plan-item-price-of", &[("row", (row as i64).into())]);
        items.push(json!({
            "code": f("code").unwrap_or_default(),
            "description": f("description").unwrap_or_default(),
            "quantity": decimal(f("quantity").unwrap_or("0")),
            "discount_percent": decimal(f("discount").unwrap_or("0")),
            "unit_price": amount(&format!("item-{i}-price"), price_label)?.unwrap_or(0),
        }));
    }
    body["items"] = Value::Array(items);
    Ok(body)
}

/// Makes a plan through the API. A refusal (the API's words, or a number
/// the console could not read) shows the form again with all it held.
pub async fn create_plan(ctx: Ctx, Form(form): Form<Vec<(String, String)>>) -> Response {
    admin_page(&ctx, "health-plans", async {
        let departments = departments(&ctx).await?;
        let currency = field(&form, "main_department_id")
            .and_then(|id| find(&departments, id))
            .and_then(|d| d["currency"].as_str())
            .unwrap_or("EUR")
            .to_owned();
        let sent = match plan_body(&ctx, &form, &currency) {
            Ok(body) => {
                ctx.api()
                    .send(
                        ctx.key(),
                        Call::with(Method::POST, "/v1/health-plans").json(body),
                    )
                    .await
            }
            Err(e) => Err(e),
        };
        match sent {
            Ok(plan) => Ok(ctx
                .after(
                    "/admin/health-plans",
                    Ok(ctx.signed.lang.text(
                        "plan-created",
                        &[(
                            "name",
                            plan["name"].as_str().unwrap_or_default().to_owned().into(),
                        )],
                    )),
                )
                .await),
            Err(ConsoleError::Refused { message, .. }) | Err(ConsoleError::BadInput(message)) => {
                let kept: Map<String, Value> = form
                    .into_iter()
                    .map(|(k, v)| (k, Value::String(v)))
                    .collect();
                catalog_page(&ctx, kept, Some(message)).await
            }
            Err(e) => Err(e),
        }
    })
    .await
}

pub async fn billing_runs(ctx: Ctx) -> Response {
    admin_page(&ctx, "billing-runs", async {
        let (runs, notice) = match ctx.get("/v1/billing-runs").await {
            Ok(runs) => (runs, None),
            Err(e) if addon_off(&e) => (json!([]), Some(ctx.t("health-plans-off"))),
            Err(e) => return Err(e),
        };
        ctx.render(
            "admin_billing_runs.html",
            "billing-runs",
            json!({ "title": ctx.t("billing-runs-title"), "runs": runs, "notice": notice }),
        )
    })
    .await
}

#[derive(Deserialize)]
pub struct RunForm {
    period: Option<String>,
}

/// Starts a run and opens its page, which follows it.
pub async fn start_billing_run(ctx: Ctx, Form(form): Form<RunForm>) -> Response {
    let period = form
        .period
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty());
    let body = match period {
        Some(p) => json!({ "period": p }),
        None => json!({}),
    };
    let started = match ctx.signed.require_admin() {
        Ok(()) => {
            ctx.api()
                .send(
                    ctx.key(),
                    Call::with(Method::POST, "/v1/billing-runs").json(body),
                )
                .await
        }
        Err(e) => Err(e),
    };
    match started {
        Ok(run) => {
            let id = run["id"].as_str().unwrap_or_default();
            Redirect::to(&format!("/admin/billing-runs/{}", seg(id))).into_response()
        }
        Err(e) => admin_form(&ctx, "/admin/billing-runs", async { Err(e) }).await,
    }
}

/// A run's page: its progress, followed while it runs.
pub async fn billing_run(ctx: Ctx, Path(id): Path<String>) -> Response {
    admin_page(&ctx, "billing-runs", async {
        let run = ctx.get(&format!("/v1/billing-runs/{}", seg(&id))).await?;
        ctx.render(
            "admin_billing_run.html",
            "billing-runs",
            json!({ "title": ctx.t("billing-run-title"), "run": run }),
        )
    })
    .await
}

/// The progress part of a run's page, for htmx to swap in.
pub async fn billing_run_progress(ctx: Ctx, Path(id): Path<String>) -> Response {
    admin_page(&ctx, "billing-runs", async {
        let run = ctx.get(&format!("/v1/billing-runs/{}", seg(&id))).await?;
        ctx.render(
            "billing_run_progress.html",
            "billing-runs",
            json!({ "run": run }),
        )
    })
    .await
}
