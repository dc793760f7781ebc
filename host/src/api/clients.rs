//! `/v1/clients`: clients, their patients, saved cards and prepayments.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use vetpay_domain::{ClientId, TerminalId};

use super::body::{IdempotencyKey, idempotency, json, started};
use super::departments::own_department;
use super::error::ErrorCode;
use super::{ApiError, AppState, Caller};
use crate::service::PaymentOrder;
use crate::store::{Card, Client, Method, NewClient, NewPatient, Patient, Payment, PaymentKind};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateClient {
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    name: String,
    email: Option<String>,
    phone: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePatient {
    name: String,
    /// Such as "dog" or "cat".
    species: String,
    /// ISO date such as "2024-05-17"; needed for plans with age limits.
    birth_date: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SaveCard {
    /// The terminal on which the client presents the card.
    terminal_id: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Prepayment {
    /// Minor units.
    amount: i64,
    method: Method,
    department_id: Option<String>,
    terminal_id: Option<String>,
    card_id: Option<String>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CardsQuery {
    /// The department whose billing view this is (required).
    department_id: Option<String>,
}

/// The cards shown on a client's billing view in one department.
#[derive(Serialize, utoipa::ToSchema)]
pub struct BillingCards {
    pub department_id: String,
    /// Whether the department allows recurring charges on saved Gravity cards.
    pub recurring_allowed: bool,
    pub cards: Vec<Card>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Prepayments {
    /// Unused credit per currency, in minor units.
    pub credit: Vec<CreditBalance>,
    pub payments: Vec<Payment>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CreditBalance {
    pub currency: String,
    pub amount: i64,
}

pub(super) async fn own_client(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<Client, ApiError> {
    state
        .clinic
        .store()
        .client(&caller.organisation_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("client"))
}

#[utoipa::path(
    post,
    path = "/v1/clients",
    summary = "Create a client",
    extensions(("x-vetpay-role" = json!("staff"))),
    request_body = CreateClient,
    responses((status = 201, description = "The new client", body = Client))
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    body: Bytes,
) -> Result<(StatusCode, Json<Client>), ApiError> {
    let req: CreateClient = json(&body)?;
    let client = state
        .clinic
        .store()
        .create_client(
            &caller.organisation_id,
            NewClient {
                name: req.name,
                email: req.email,
                phone: req.phone,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(client)))
}

#[utoipa::path(
    get,
    path = "/v1/clients",
    summary = "Clients",
    extensions(("x-vetpay-role" = json!("staff"))),
    responses((status = 200, description = "The clients", body = [Client]))
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<Client>>, ApiError> {
    Ok(Json(
        state
            .clinic
            .store()
            .clients(&caller.organisation_id)
            .await?,
    ))
}

#[utoipa::path(
    get,
    path = "/v1/clients/{id}",
    summary = "One client",
    extensions(("x-vetpay-role" = json!("staff"))),
    responses((status = 200, description = "The client", body = Client))
)]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Client>, ApiError> {
    Ok(Json(own_client(&state, &caller, &id).await?))
}

#[utoipa::path(
    post,
    path = "/v1/clients/{id}/patients",
    summary = "Add a patient",
    extensions(("x-vetpay-role" = json!("staff"))),
    request_body = CreatePatient,
    responses((status = 201, description = "The new patient", body = Patient))
)]
pub async fn create_patient(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<Patient>), ApiError> {
    own_client(&state, &caller, &id).await?;
    let req: CreatePatient = json(&body)?;
    let patient = state
        .clinic
        .store()
        .create_patient(
            &caller.organisation_id,
            &id,
            NewPatient {
                name: req.name,
                species: req.species,
                birth_date: req.birth_date,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(patient)))
}

#[utoipa::path(
    get,
    path = "/v1/clients/{id}/patients",
    summary = "The client's patients",
    extensions(("x-vetpay-role" = json!("staff"))),
    responses((status = 200, description = "The patients", body = [Patient]))
)]
pub async fn patients(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<Patient>>, ApiError> {
    own_client(&state, &caller, &id).await?;
    Ok(Json(
        state
            .clinic
            .store()
            .patients(&caller.organisation_id, &id)
            .await?,
    ))
}

/// The client's saved cards as the billing view of a department shows them:
/// Gravity cards only where the department allows recurring Gravity payments.
#[utoipa::path(
    get,
    path = "/v1/clients/{id}/cards",
    summary = "Saved cards as a department's billing view shows them (?department_id=)",
    extensions(("x-vetpay-role" = json!("staff"))),
    params(CardsQuery),
    responses((status = 200, description = "The cards the department may use", body = BillingCards))
)]
pub async fn cards(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(q): Query<CardsQuery>,
) -> Result<Json<BillingCards>, ApiError> {
    own_client(&state, &caller, &id).await?;
    let department_id = q.department_id.ok_or_else(|| {
        ApiError::new(
            ErrorCode::BadRequest,
            "say which department's billing view this is: ?department_id=...",
        )
    })?;
    own_department(&state, &caller, &department_id).await?;
    let recurring_allowed = state
        .clinic
        .store()
        .gravity_recurring_allowed(&caller.organisation_id, &department_id)
        .await?;
    let cards = state
        .clinic
        .store()
        .cards(&caller.organisation_id, &id)
        .await?
        .into_iter()
        .filter(|c| c.plugin_id != "gravity" || recurring_allowed)
        .collect();
    Ok(Json(BillingCards {
        department_id,
        recurring_allowed,
        cards,
    }))
}

/// Saves the card the client presents on a terminal (waits for the card holder).
#[utoipa::path(
    post,
    path = "/v1/clients/{id}/cards",
    summary = "Save the card the client presents on a terminal",
    extensions(("x-vetpay-role" = json!("staff"))),
    request_body = SaveCard,
    responses((status = 201, description = "The saved card", body = Card))
)]
pub async fn save_card(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<Card>), ApiError> {
    own_client(&state, &caller, &id).await?;
    let req: SaveCard = json(&body)?;
    let card = state
        .clinic
        .save_card(
            &caller.organisation_id,
            &ClientId::from(id),
            &TerminalId::from(req.terminal_id),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(card)))
}

#[utoipa::path(
    put,
    path = "/v1/clients/{id}/cards/{card}/default",
    summary = "Make a card the default",
    extensions(("x-vetpay-role" = json!("staff"))),
    responses((status = 204, description = "It is the default"))
)]
pub async fn set_default_card(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, card)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    own_client(&state, &caller, &id).await?;
    if state
        .clinic
        .store()
        .set_default_card(&caller.organisation_id, &id, &card)
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("card"))
    }
}

#[utoipa::path(
    delete,
    path = "/v1/clients/{id}/cards/{card}",
    summary = "Delete a saved card",
    extensions(("x-vetpay-role" = json!("staff"))),
    responses((status = 204, description = "Deleted"))
)]
pub async fn delete_card(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, card)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    own_client(&state, &caller, &id).await?;
    if state
        .clinic
        .store()
        .delete_card(&caller.organisation_id, &id, &card)
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("card"))
    }
}

/// Takes a deposit: it becomes client credit once it succeeds.
#[utoipa::path(
    post,
    path = "/v1/clients/{id}/prepayments",
    summary = "Take a deposit (client prepayment); it becomes client credit",
    extensions(("x-vetpay-role" = json!("staff"))),
    params(IdempotencyKey),
    request_body = Prepayment,
    responses((status = 201, description = "The deposit (a repeated Idempotency-Key answers the first answer again, with Idempotent-Replayed: true)", body = Payment))
)]
pub async fn create_prepayment(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    own_client(&state, &caller, &id).await?;
    let idem = idempotency(&headers, "POST", uri.path(), &body)?;
    let req: Prepayment = json(&body)?;
    let order = PaymentOrder {
        client_id: Some(id.into()),
        department_id: req.department_id.map(Into::into),
        method: Some(req.method),
        amount: req.amount,
        terminal_id: req.terminal_id.map(Into::into),
        card_id: req.card_id.map(Into::into),
        ..PaymentOrder::default()
    };
    Ok(started(
        state
            .clinic
            .start_payment(
                &caller.organisation_id,
                PaymentKind::Deposit,
                order,
                Some(&idem),
            )
            .await?,
    ))
}

#[utoipa::path(
    get,
    path = "/v1/clients/{id}/prepayments",
    summary = "Deposits and the unused client credit",
    extensions(("x-vetpay-role" = json!("staff"))),
    responses((status = 200, description = "Deposits and credit", body = Prepayments))
)]
pub async fn prepayments(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Prepayments>, ApiError> {
    own_client(&state, &caller, &id).await?;
    let payments = state
        .clinic
        .store()
        .prepayments(&caller.organisation_id, &id)
        .await?;
    let mut currencies: Vec<String> = state
        .clinic
        .store()
        .departments(&caller.organisation_id)
        .await?
        .into_iter()
        .map(|d| d.currency)
        .collect();
    currencies.sort();
    currencies.dedup();
    let mut credit = Vec::new();
    for currency in currencies {
        let amount = state
            .clinic
            .store()
            .client_credit(&caller.organisation_id, &id, &currency)
            .await?;
        credit.push(CreditBalance { currency, amount });
    }
    Ok(Json(Prepayments { credit, payments }))
}
