//! `/v1/settings` (organisation) and `/v1/departments/{id}/settings`.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use serde::Serialize;
use serde_json::{Map, Value};

use super::departments::own_department;
use super::error::ErrorCode;
use super::language::{AcceptLanguage, CallerLanguages, Localized, ShownText, localized};
use super::openapi::SettingValues;
use super::{ApiError, AppState, Caller};
use crate::plugin::{Label, Languages};
use crate::store::SettingValue;

type Settings = Localized<Vec<ShownSetting>>;

/// A setting with its labels, and the label in the caller's language
/// (Accept-Language: English or Danish), English otherwise.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ShownSetting {
    #[serde(flatten)]
    setting: SettingValue,
    label_shown: ShownText,
}

fn shown(values: Vec<SettingValue>, languages: &Languages) -> Settings {
    localized(
        values
            .into_iter()
            .map(|setting| {
                let d = &setting.definition;
                let label = Label::from_pairs([("en", d.label_en), ("da", d.label_da)]);
                ShownSetting {
                    label_shown: label.pick(languages).into(),
                    setting,
                }
            })
            .collect(),
    )
}

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
    summary = "Organisation settings with their values, en/da labels and the label in the caller's language",
    extensions(("x-vetpay-role" = json!("staff"))),
    params(AcceptLanguage),
    responses((status = 200, description = "Every organisation setting", body = [ShownSetting]))
)]
pub async fn organisation(
    State(state): State<AppState>,
    caller: Caller,
    CallerLanguages(languages): CallerLanguages,
) -> Result<Settings, ApiError> {
    let values = state
        .clinic
        .store()
        .settings(&caller.organisation_id, None)
        .await?;
    Ok(shown(values, &languages))
}

#[utoipa::path(
    put,
    path = "/v1/settings",
    summary = "Set organisation settings (all checked before any is written)",
    extensions(("x-vetpay-role" = json!("admin"))),
    params(AcceptLanguage),
    request_body = SettingValues,
    responses((status = 200, description = "Every organisation setting, as now set", body = [ShownSetting]))
)]
pub async fn set_organisation(
    State(state): State<AppState>,
    caller: Caller,
    CallerLanguages(languages): CallerLanguages,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Settings, ApiError> {
    caller.require_admin()?;
    let values = object(body)?;
    let now = state
        .clinic
        .store()
        .set_settings(&caller.organisation_id, None, &values)
        .await?;
    Ok(shown(now, &languages))
}

#[utoipa::path(
    get,
    path = "/v1/departments/{id}/settings",
    summary = "Department settings",
    extensions(("x-vetpay-role" = json!("staff"))),
    params(AcceptLanguage),
    responses((status = 200, description = "Every department setting", body = [ShownSetting]))
)]
pub async fn department(
    State(state): State<AppState>,
    caller: Caller,
    CallerLanguages(languages): CallerLanguages,
    Path(id): Path<String>,
) -> Result<Settings, ApiError> {
    own_department(&state, &caller, &id).await?;
    let values = state
        .clinic
        .store()
        .settings(&caller.organisation_id, Some(&id))
        .await?;
    Ok(shown(values, &languages))
}

#[utoipa::path(
    put,
    path = "/v1/departments/{id}/settings",
    summary = "Set department settings",
    extensions(("x-vetpay-role" = json!("admin"))),
    params(AcceptLanguage),
    request_body = SettingValues,
    responses((status = 200, description = "Every department setting, as now set", body = [ShownSetting]))
)]
pub async fn set_department(
    State(state): State<AppState>,
    caller: Caller,
    CallerLanguages(languages): CallerLanguages,
    Path(id): Path<String>,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Settings, ApiError> {
    caller.require_admin()?;
    own_department(&state, &caller, &id).await?;
    let values = object(body)?;
    let now = state
        .clinic
        .store()
        .set_settings(&caller.organisation_id, Some(&id), &values)
        .await?;
    Ok(shown(now, &languages))
}
