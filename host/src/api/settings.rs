//! `/v1/settings` (organisation) and `/v1/departments/{id}/settings`.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use serde_json::{Map, Value};

use super::departments::own_department;
use super::error::ErrorCode;
use super::openapi::SettingValues;
use super::{ApiError, AppState, Caller};
use crate::store::SettingValue;

type Settings = Json<Vec<SettingValue>>;

fn object(body: Result<Json<Value>, JsonRejection>) -> Result<Map<String, Value>, ApiError> {
    match body?.0 {
        Value::Object(map) => {
            super::body::check_text(&Value::Object(map.clone()))?;
            Ok(map)
        }
        _ => Err(ApiError::new(
            ErrorCode::BadRequest,
            "send a JSON object of setting keys and values, such as {\"invoice-due-days\": 30}",
        )),
    }
}

#[utoipa::path(
    get,
    path = "/v1/settings",
    summary = "Organisation settings with their values and en/da labels",
    extensions(("x-vetpay-role" = json!("staff"))),
    responses((status = 200, description = "Every organisation setting", body = [SettingValue]))
)]
pub async fn organisation(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Settings, ApiError> {
    Ok(Json(
        state
            .clinic
            .store()
            .settings(&caller.organisation_id, None)
            .await?,
    ))
}

#[utoipa::path(
    put,
    path = "/v1/settings",
    summary = "Set organisation settings (all checked before any is written)",
    extensions(("x-vetpay-role" = json!("admin"))),
    request_body = SettingValues,
    responses((status = 200, description = "Every organisation setting, as now set", body = [SettingValue]))
)]
pub async fn set_organisation(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Settings, ApiError> {
    caller.require_admin()?;
    let values = object(body)?;
    Ok(Json(
        state
            .clinic
            .store()
            .set_settings(&caller.organisation_id, None, &values)
            .await?,
    ))
}

#[utoipa::path(
    get,
    path = "/v1/departments/{id}/settings",
    summary = "Department settings",
    extensions(("x-vetpay-role" = json!("staff"))),
    responses((status = 200, description = "Every department setting", body = [SettingValue]))
)]
pub async fn department(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Settings, ApiError> {
    own_department(&state, &caller, &id).await?;
    Ok(Json(
        state
            .clinic
            .store()
            .settings(&caller.organisation_id, Some(&id))
            .await?,
    ))
}

#[utoipa::path(
    put,
    path = "/v1/departments/{id}/settings",
    summary = "Set department settings",
    extensions(("x-vetpay-role" = json!("admin"))),
    request_body = SettingValues,
    responses((status = 200, description = "Every department setting, as now set", body = [SettingValue]))
)]
pub async fn set_department(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Settings, ApiError> {
    caller.require_admin()?;
    own_department(&state, &caller, &id).await?;
    let values = object(body)?;
    Ok(Json(
        state
            .clinic
            .store()
            .set_settings(&caller.organisation_id, Some(&id), &values)
            .await?,
    ))
}
