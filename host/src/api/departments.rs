//! `/v1/departments`: the organisation's locations.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Json, extract::rejection::JsonRejection};
use serde::Deserialize;

use super::{ApiError, AppState, Caller};
use crate::store::{Department, NewDepartment};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateDepartment {
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    name: String,
    /// ISO 3166-1 alpha-2.
    #[schema(pattern = r"^[A-Z]{2}$", example = "DK")]
    country: String,
    /// ISO 4217.
    #[schema(pattern = r"^[A-Z]{3}$", example = "DKK")]
    currency: String,
    /// IANA, such as "Europe/Copenhagen".
    #[schema(min_length = 1, max_length = 200, example = "Europe/Copenhagen")]
    time_zone: String,
}

#[utoipa::path(
    get,
    path = "/v1/departments",
    summary = "The organisation's departments (locations)",
    extensions(("x-vetpay-role" = json!("staff"))),
    responses((status = 200, description = "The departments", body = [Department]))
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<Department>>, ApiError> {
    Ok(Json(
        state
            .clinic
            .store()
            .departments(&caller.organisation_id)
            .await?,
    ))
}

/// A department of the caller's organisation, or 404.
pub(super) async fn own_department(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<Department, ApiError> {
    state
        .clinic
        .store()
        .department(&caller.organisation_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("department"))
}

#[utoipa::path(
    get,
    path = "/v1/departments/{id}",
    summary = "One department",
    extensions(("x-vetpay-role" = json!("staff"))),
    responses((status = 200, description = "The department", body = Department))
)]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Department>, ApiError> {
    own_department(&state, &caller, &id).await.map(Json)
}

#[utoipa::path(
    post,
    path = "/v1/departments",
    summary = "Create a department with its country, currency and time zone",
    extensions(("x-vetpay-role" = json!("admin"))),
    request_body = CreateDepartment,
    responses((status = 201, description = "The new department", body = Department))
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<CreateDepartment>, JsonRejection>,
) -> Result<(StatusCode, Json<Department>), ApiError> {
    caller.require_admin()?;
    let Json(body) = body?;
    let new = NewDepartment {
        name: body.name,
        country: body.country,
        currency: body.currency,
        time_zone: body.time_zone,
    };
    let department = state
        .clinic
        .store()
        .create_department(&caller.organisation_id, &new)
        .await?;
    Ok((StatusCode::CREATED, Json(department)))
}
