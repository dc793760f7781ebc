//! The health-plan add-on: `/v1/health-plans`, `/v1/subscriptions` and
//! `/v1/billing-runs`. Every route answers 403 while the organisation has the
//! add-on off, saying how to switch it on.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::body::{decimal, json, optional};
use super::error::ErrorCode;
use super::{ApiError, AppState, Caller};
use crate::plugin::Capability;
use crate::store::{
    BillingRun, Invoice, NewPlan, NewPlanItem, NewSubscription, PaymentOption, Period, Plan,
    Subscription,
};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanItemInput {
    /// A catalog item: the plan item takes its code, name, price in the main
    /// department and VAT rate (leave those out). Without one, give them: a
    /// catalog item is made from them.
    item_id: Option<String>,
    code: Option<String>,
    description: Option<String>,
    /// Included per contract, such as 2.
    #[schema(value_type = String)]
    quantity: Value,
    /// Off the included units; 100 makes them free.
    #[schema(value_type = String)]
    discount_percent: Value,
    /// The item's normal price in minor units, without VAT.
    unit_price: Option<i64>,
    #[schema(value_type = Option<String>)]
    vat_rate: Option<Value>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePlan {
    name: String,
    #[serde(default)]
    description: String,
    /// Such as "dog"; any species when left out.
    species: Option<String>,
    min_age_months: Option<i64>,
    max_age_months: Option<i64>,
    /// Sale window, ISO dates.
    sale_from: Option<String>,
    sale_until: Option<String>,
    /// The department that receives the payments.
    main_department_id: String,
    contract_months: i64,
    monthly_price: i64,
    #[serde(default)]
    upfront_price: i64,
    #[serde(default)]
    cancellation_fee: i64,
    #[serde(default)]
    renews: bool,
    next_plan_id: Option<String>,
    #[serde(default)]
    items: Vec<PlanItemInput>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Subscribe {
    plan_id: String,
    client_id: String,
    patient_id: String,
    payment_option: PaymentOption,
    /// For saved_card: the client's card to charge every month.
    card_id: Option<String>,
    /// First month of the contract (YYYY-MM); this month by default.
    start_period: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Cancel {
    reason: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PeriodRequest {
    /// YYYY-MM; this month by default.
    period: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Cancelled {
    pub subscription: Subscription,
    /// The settlement: fee + value of used items − payments made (negative: a credit).
    pub settlement: Invoice,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only this client's subscriptions.
    client_id: Option<String>,
}

/// 403 unless the organisation switched the add-on on.
async fn addon(state: &AppState, caller: &Caller) -> Result<(), ApiError> {
    if state
        .clinic
        .health_plans_enabled(&caller.organisation_id)
        .await?
    {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorCode::HealthPlansDisabled,
            "health plans are an add-on that is off for your organisation; an admin switches it on with PUT /v1/settings {\"health-plans-enabled\": true}",
        ))
    }
}

fn period_or_now(text: Option<&str>, time_zone: &str) -> Result<Period, ApiError> {
    match text {
        Some(t) => Ok(Period::parse(t).map_err(crate::store::StoreError::from)?),
        None => Ok(Period::current(time_zone)),
    }
}

async fn own_subscription(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<Subscription, ApiError> {
    state
        .clinic
        .store()
        .subscription(&caller.organisation_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("subscription"))
}

async fn invoice(state: &AppState, caller: &Caller, id: &str) -> Result<Invoice, ApiError> {
    state
        .clinic
        .store()
        .invoice(&caller.organisation_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("invoice"))
}

#[utoipa::path(
    post,
    path = "/v1/health-plans",
    summary = "Create a health plan with its included items",
    extensions(("x-vetpay-role" = json!("admin"))),
    request_body = CreatePlan,
    responses((status = 201, description = "The new plan", body = Plan))
)]
pub async fn create_plan(
    State(state): State<AppState>,
    caller: Caller,
    body: Bytes,
) -> Result<(StatusCode, Json<Plan>), ApiError> {
    caller.require_admin()?;
    addon(&state, &caller).await?;
    let req: CreatePlan = json(&body)?;
    let department = state
        .clinic
        .store()
        .department(&caller.organisation_id, &req.main_department_id)
        .await?
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::Invalid,
                "main_department_id: no department with this id in your organisation",
            )
        })?;
    let mut items = Vec::with_capacity(req.items.len());
    for (i, it) in req.items.into_iter().enumerate() {
        let field = |name: &str| format!("items[{i}].{name}");
        let needs = |name: &str| {
            ApiError::new(
                ErrorCode::Invalid,
                format!("{}: give it, or an item_id from the catalog", field(name)),
            )
        };
        let quantity = decimal(&field("quantity"), &it.quantity)?;
        let discount_percent = decimal(&field("discount_percent"), &it.discount_percent)?;
        items.push(match it.item_id {
            Some(item_id) => {
                let item = state
                    .clinic
                    .store()
                    .priced_item(
                        &caller.organisation_id,
                        &department.id,
                        &department.currency,
                        &item_id,
                        &field("item_id"),
                    )
                    .await?;
                NewPlanItem {
                    code: it.code.unwrap_or_else(|| item.code.clone()),
                    description: it.description.unwrap_or_else(|| {
                        item.names
                            .get("en")
                            .or_else(|| item.names.values().next())
                            .cloned()
                            .unwrap_or_default()
                    }),
                    quantity,
                    discount_percent,
                    unit_price: item.unit_price,
                    vat_rate: item.vat_rate,
                    item_id: Some(item.id),
                }
            }
            None => NewPlanItem {
                code: it.code.ok_or_else(|| needs("code"))?,
                description: it.description.ok_or_else(|| needs("description"))?,
                quantity,
                discount_percent,
                unit_price: it.unit_price.ok_or_else(|| needs("unit_price"))?,
                vat_rate: match &it.vat_rate {
                    Some(v) => decimal(&field("vat_rate"), v)?,
                    None => rust_decimal::Decimal::ZERO,
                },
                item_id: None,
            },
        });
    }
    let plan = state
        .clinic
        .store()
        .create_plan(
            &caller.organisation_id,
            &department.currency,
            NewPlan {
                name: req.name,
                description: req.description,
                species: req.species,
                min_age_months: req.min_age_months,
                max_age_months: req.max_age_months,
                sale_from: req.sale_from,
                sale_until: req.sale_until,
                main_department_id: department.id,
                contract_months: req.contract_months,
                monthly_price: req.monthly_price,
                upfront_price: req.upfront_price,
                cancellation_fee: req.cancellation_fee,
                renews: req.renews,
                next_plan_id: req.next_plan_id,
                items,
            },
        )
        .await?;
    // Items given as text become catalog items at once.
    let store = state.clinic.store();
    if plan.items.iter().any(|i| i.item_id.is_none()) {
        store.link_plan_items_to_catalog(Some(&plan.id)).await?;
    }
    let plan = store
        .plan(&caller.organisation_id, &plan.id)
        .await?
        .ok_or_else(|| ApiError::not_found("health plan"))?;
    Ok((StatusCode::CREATED, Json(plan)))
}

#[utoipa::path(
    get,
    path = "/v1/health-plans",
    summary = "Health plans (add-on)",
    extensions(("x-vetpay-role" = json!("staff"))),
    responses((status = 200, description = "The plans", body = [Plan]))
)]
pub async fn plans(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<Plan>>, ApiError> {
    addon(&state, &caller).await?;
    Ok(Json(
        state.clinic.store().plans(&caller.organisation_id).await?,
    ))
}

#[utoipa::path(
    get,
    path = "/v1/health-plans/{id}",
    summary = "One health plan",
    extensions(("x-vetpay-role" = json!("staff"))),
    responses((status = 200, description = "The plan", body = Plan))
)]
pub async fn plan(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Plan>, ApiError> {
    addon(&state, &caller).await?;
    state
        .clinic
        .store()
        .plan(&caller.organisation_id, &id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("health plan"))
}

/// Signs a patient up. A saved-card plan needs the client's card, a plugin
/// that charges saved cards in the plan's department, and (for Gravity) the
/// department's permission for recurring payments.
#[utoipa::path(
    post,
    path = "/v1/subscriptions",
    summary = "Sign a patient up for a plan, with its payment option",
    extensions(("x-vetpay-role" = json!("staff"))),
    request_body = Subscribe,
    responses((status = 201, description = "The new subscription", body = Subscription))
)]
pub async fn subscribe(
    State(state): State<AppState>,
    caller: Caller,
    body: Bytes,
) -> Result<(StatusCode, Json<Subscription>), ApiError> {
    addon(&state, &caller).await?;
    let req: Subscribe = json(&body)?;
    let org = &caller.organisation_id;
    let plan = state
        .clinic
        .store()
        .plan(org, &req.plan_id)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::Invalid, "plan_id: no health plan with this id"))?;
    let department = state
        .clinic
        .store()
        .department(org, &plan.main_department_id)
        .await?
        .ok_or_else(|| ApiError::not_found("department"))?;
    if req.payment_option == PaymentOption::SavedCard {
        let card_id = req.card_id.as_deref().ok_or_else(|| {
            ApiError::new(
                ErrorCode::Invalid,
                "card_id: a saved_card plan needs the client's saved card",
            )
        })?;
        let card = state
            .clinic
            .store()
            .card(org, &req.client_id, card_id)
            .await?
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::Invalid,
                    "card_id: the client has no saved card with this id",
                )
            })?;
        if card.plugin_id == "gravity" {
            let allowed = state
                .clinic
                .store()
                .gravity_recurring_allowed(org, &department.id)
                .await?;
            if !allowed {
                return Err(ApiError::new(
                    ErrorCode::Conflict,
                    format!(
                        "department '{}' does not allow gravity payment for recurring payment; an admin sets gravity-recurring-payments at /v1/departments/{}/settings, or choose another payment option",
                        department.name, department.id
                    ),
                ));
            }
        }
        state
            .clinic
            .usable_plugin(org, &card.plugin_id, &department, Capability::ChargeToken)
            .await?;
    } else if req.card_id.is_some() {
        return Err(ApiError::new(
            ErrorCode::Invalid,
            "card_id: only a saved_card plan takes a card",
        ));
    }
    let today = crate::store::today(&department.time_zone);
    let start = period_or_now(req.start_period.as_deref(), &department.time_zone)?;
    let subscription = state
        .clinic
        .store()
        .subscribe(
            org,
            NewSubscription {
                plan_id: req.plan_id,
                client_id: req.client_id,
                patient_id: req.patient_id,
                payment_option: req.payment_option,
                card_id: req.card_id,
                start_period: start,
            },
            today,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(subscription)))
}

#[utoipa::path(
    get,
    path = "/v1/subscriptions",
    summary = "Plan subscriptions (?client_id=)",
    extensions(("x-vetpay-role" = json!("staff"))),
    params(ListQuery),
    responses((status = 200, description = "The subscriptions", body = [Subscription]))
)]
pub async fn subscriptions(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> Result<Json<Vec<Subscription>>, ApiError> {
    addon(&state, &caller).await?;
    Ok(Json(
        state
            .clinic
            .store()
            .subscriptions(&caller.organisation_id, q.client_id.as_deref())
            .await?,
    ))
}

#[utoipa::path(
    get,
    path = "/v1/subscriptions/{id}",
    summary = "One subscription with what is left of each included item",
    extensions(("x-vetpay-role" = json!("staff"))),
    responses((status = 200, description = "The subscription", body = Subscription))
)]
pub async fn subscription(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Subscription>, ApiError> {
    addon(&state, &caller).await?;
    Ok(Json(own_subscription(&state, &caller, &id).await?))
}

#[utoipa::path(
    post,
    path = "/v1/subscriptions/{id}/activate",
    summary = "Activate an applied subscription (advance plans get their invoice)",
    extensions(("x-vetpay-role" = json!("staff"))),
    responses((status = 200, description = "The active subscription", body = Subscription))
)]
pub async fn activate(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Subscription>, ApiError> {
    addon(&state, &caller).await?;
    own_subscription(&state, &caller, &id).await?;
    Ok(Json(
        state
            .clinic
            .store()
            .activate_subscription(&caller.organisation_id, &id)
            .await?,
    ))
}

#[utoipa::path(
    post,
    path = "/v1/subscriptions/{id}/cancel",
    summary = "Cancel and settle: fee + value of used items - payments made",
    extensions(("x-vetpay-role" = json!("staff"))),
    request_body(content = Option<Cancel>, description = "Why; the body may be left out"),
    responses((status = 200, description = "The cancelled subscription and its settlement", body = Cancelled))
)]
pub async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Cancelled>, ApiError> {
    addon(&state, &caller).await?;
    own_subscription(&state, &caller, &id).await?;
    let req = optional(&body)?.unwrap_or(Cancel { reason: None });
    let (subscription, settlement) = state
        .clinic
        .store()
        .cancel_subscription(
            &caller.organisation_id,
            &id,
            req.reason.as_deref().unwrap_or("cancelled by the clinic"),
        )
        .await?;
    Ok(Json(Cancelled {
        subscription,
        settlement: invoice(&state, &caller, &settlement).await?,
    }))
}

/// The month's invoice of a plan whose invoices are made by hand.
#[utoipa::path(
    post,
    path = "/v1/subscriptions/{id}/invoices",
    summary = "Make a month's invoice by hand (manual plans); the same month gives the same invoice",
    extensions(("x-vetpay-role" = json!("staff"))),
    request_body(content = Option<PeriodRequest>, description = "The month; this month when the body is left out"),
    responses((status = 201, description = "The month's invoice", body = Invoice))
)]
pub async fn period_invoice(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<Invoice>), ApiError> {
    addon(&state, &caller).await?;
    own_subscription(&state, &caller, &id).await?;
    let req = optional(&body)?.unwrap_or(PeriodRequest { period: None });
    let period = period_or_now(req.period.as_deref(), "UTC")?;
    let invoice_id = state
        .clinic
        .store()
        .manual_period_invoice(&caller.organisation_id, &id, period)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(invoice(&state, &caller, &invoice_id).await?),
    ))
}

/// Starts the billing of a month; its progress is at /v1/billing-runs/{id}.
#[utoipa::path(
    post,
    path = "/v1/billing-runs",
    summary = "Bill a month: issue invoices and charge saved cards, idempotently",
    extensions(("x-vetpay-role" = json!("admin"))),
    request_body(content = Option<PeriodRequest>, description = "The month; this month when the body is left out"),
    responses((status = 202, description = "The run, started or as it stands", body = BillingRun))
)]
pub async fn start_run(
    State(state): State<AppState>,
    caller: Caller,
    body: Bytes,
) -> Result<(StatusCode, Json<BillingRun>), ApiError> {
    caller.require_admin()?;
    addon(&state, &caller).await?;
    let req = optional(&body)?.unwrap_or(PeriodRequest { period: None });
    let period = period_or_now(req.period.as_deref(), "UTC")?;
    let run = state
        .clinic
        .start_billing(&caller.organisation_id, period)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(run)))
}

#[utoipa::path(
    get,
    path = "/v1/billing-runs",
    summary = "Billing runs, newest first",
    extensions(("x-vetpay-role" = json!("staff"))),
    responses((status = 200, description = "The runs", body = [BillingRun]))
)]
pub async fn runs(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<BillingRun>>, ApiError> {
    addon(&state, &caller).await?;
    Ok(Json(
        state
            .clinic
            .store()
            .billing_runs(&caller.organisation_id)
            .await?,
    ))
}

#[utoipa::path(
    get,
    path = "/v1/billing-runs/{id}",
    summary = "A billing run's progress and totals, also while it runs",
    extensions(("x-vetpay-role" = json!("staff"))),
    responses((status = 200, description = "The run", body = BillingRun))
)]
pub async fn run(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<BillingRun>, ApiError> {
    addon(&state, &caller).await?;
    state
        .clinic
        .store()
        .billing_run(&caller.organisation_id, &id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("billing run"))
}
