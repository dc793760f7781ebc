//! `/v1/settings` (organisation) and `/v1/departments/{id}/settings`.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use serde_json::{Map, Value};

use super::departments::own_department;
use super::error::ErrorCode;
use super::{ApiError, AppState, Caller};
use crate::store::SettingValue;

type Settings = Json<Vec<SettingValue>>;

fn object(body: Result<Json<Value>, JsonRejection>) -> Result<Map<String, Value>, ApiError> {
    match body?.0 {
        Value::Object(map) => Ok(map),
        _ => Err(ApiError::new(
            ErrorCode::BadRequest,
            "send a JSON object of setting keys and values, such as {\"invoice-due-days\": 30}",
        )),
    }
}

pub async fn organisation(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Settings, ApiError> {
    Ok(Json(
        state.store.settings(&caller.organisation_id, None).await?,
    ))
}

pub async fn set_organisation(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Settings, ApiError> {
    caller.require_admin()?;
    let values = object(body)?;
    Ok(Json(
        state
            .store
            .set_settings(&caller.organisation_id, None, &values)
            .await?,
    ))
}

pub async fn department(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Settings, ApiError> {
    own_department(&state, &caller, &id).await?;
    Ok(Json(
        state
            .store
            .settings(&caller.organisation_id, Some(&id))
            .await?,
    ))
}

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
            .store
            .set_settings(&caller.organisation_id, Some(&id), &values)
            .await?,
    ))
}
