//! `/v1/plugins/{id}/settings`, `/v1/departments/{id}/plugins/{plugin}/settings`
//! and `/v1/plugins/{id}/allowed-hosts`. Secrets are write-only.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::body::json;
use super::departments::own_department;
use super::error::ErrorCode;
use super::language::{AcceptLanguage, CallerLanguages, Localized, ShownText, localized};
use super::openapi::SettingValues;
use super::{ApiError, AppState, Caller};
use crate::plugin::{Destination, Languages};
use crate::store::{AuditAction, InstalledPlugin, NewAuditEvent, PluginSettingValue};

type Settings = Localized<Vec<LocalizedSetting>>;

/// A plugin setting, with its label and help in every language the manifest
/// has, and as shown to this caller.
#[derive(Serialize, utoipa::ToSchema)]
pub struct LocalizedSetting {
    #[serde(flatten)]
    setting: PluginSettingValue,
    /// The label in the caller's language (Accept-Language), else English.
    label_shown: ShownText,
    /// The help likewise, where the setting has help.
    help_shown: Option<ShownText>,
}

impl LocalizedSetting {
    fn new(setting: PluginSettingValue, languages: &Languages) -> Self {
        LocalizedSetting {
            label_shown: setting.spec.label.pick(languages).into(),
            help_shown: setting.spec.help.as_ref().map(|h| h.pick(languages).into()),
            setting,
        }
    }
}

async fn installed(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<InstalledPlugin, ApiError> {
    state
        .clinic
        .store()
        .plugin(&caller.organisation_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("plugin"))
}

async fn read(
    state: &AppState,
    caller: &Caller,
    plugin: &InstalledPlugin,
    department_id: Option<&str>,
    languages: &Languages,
) -> Result<Settings, ApiError> {
    let values = state
        .clinic
        .store()
        .plugin_settings(
            &caller.organisation_id,
            &plugin.id,
            &plugin.manifest.settings,
            department_id,
        )
        .await?;
    Ok(localized(
        values
            .into_iter()
            .map(|v| LocalizedSetting::new(v, languages))
            .collect(),
    ))
}

async fn write(
    state: &AppState,
    caller: &Caller,
    plugin: &InstalledPlugin,
    department_id: Option<&str>,
    languages: &Languages,
    body: Bytes,
) -> Result<Settings, ApiError> {
    let values: Map<String, Value> = json(&body)?;
    state
        .clinic
        .store()
        .set_plugin_settings(
            &caller.organisation_id,
            &plugin.id,
            &plugin.manifest.settings,
            department_id,
            &values,
        )
        .await?;
    // Keys only: values may be secrets.
    tracing::info!(plugin = %plugin.id, keys = ?values.keys().collect::<Vec<_>>(), "plugin settings changed");
    let keys = |removed: bool| -> Vec<&String> {
        values
            .iter()
            .filter(|(_, v)| v.is_null() == removed)
            .map(|(k, _)| k)
            .collect()
    };
    let (set, removed) = (keys(false), keys(true));
    super::audit::record(
        state,
        caller,
        NewAuditEvent::new(
            AuditAction::PluginSettingsChanged,
            "plugin",
            &plugin.id,
            serde_json::json!({
                "department_id": department_id,
                "set": set,
                "removed": removed,
            }),
        ),
    )
    .await;
    read(state, caller, plugin, department_id, languages).await
}

#[utoipa::path(
    get,
    path = "/v1/plugins/{id}/settings",
    summary = "A plugin's organisation-level settings; secrets show only whether they are set",
    extensions(("x-vetpay-role" = json!("admin"))),
    params(AcceptLanguage),
    responses((status = 200, description = "The plugin's settings at organisation level", body = [LocalizedSetting]))
)]
pub async fn organisation(
    State(state): State<AppState>,
    caller: Caller,
    CallerLanguages(languages): CallerLanguages,
    Path(id): Path<String>,
) -> Result<Settings, ApiError> {
    caller.require_admin()?;
    let plugin = installed(&state, &caller, &id).await?;
    read(&state, &caller, &plugin, None, &languages).await
}

#[utoipa::path(
    put,
    path = "/v1/plugins/{id}/settings",
    summary = "Set a plugin's organisation-level settings (null removes one); secrets are write-only",
    extensions(("x-vetpay-role" = json!("admin"))),
    params(AcceptLanguage),
    request_body = SettingValues,
    responses((status = 200, description = "The plugin's settings at organisation level, as now set", body = [LocalizedSetting]))
)]
pub async fn set_organisation(
    State(state): State<AppState>,
    caller: Caller,
    CallerLanguages(languages): CallerLanguages,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Settings, ApiError> {
    caller.require_admin()?;
    let plugin = installed(&state, &caller, &id).await?;
    write(&state, &caller, &plugin, None, &languages, body).await
}

#[utoipa::path(
    get,
    path = "/v1/departments/{id}/plugins/{plugin}/settings",
    summary = "A plugin's department-level settings",
    extensions(("x-vetpay-role" = json!("admin"))),
    params(AcceptLanguage),
    responses((status = 200, description = "The plugin's settings in the department", body = [LocalizedSetting]))
)]
pub async fn department_settings(
    State(state): State<AppState>,
    caller: Caller,
    CallerLanguages(languages): CallerLanguages,
    Path((department_id, id)): Path<(String, String)>,
) -> Result<Settings, ApiError> {
    caller.require_admin()?;
    own_department(&state, &caller, &department_id).await?;
    let plugin = installed(&state, &caller, &id).await?;
    read(&state, &caller, &plugin, Some(&department_id), &languages).await
}

#[utoipa::path(
    put,
    path = "/v1/departments/{id}/plugins/{plugin}/settings",
    summary = "Set a plugin's department-level settings",
    extensions(("x-vetpay-role" = json!("admin"))),
    params(AcceptLanguage),
    request_body = SettingValues,
    responses((status = 200, description = "The plugin's settings in the department, as now set", body = [LocalizedSetting]))
)]
pub async fn set_department_settings(
    State(state): State<AppState>,
    caller: Caller,
    CallerLanguages(languages): CallerLanguages,
    Path((department_id, id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Settings, ApiError> {
    caller.require_admin()?;
    own_department(&state, &caller, &department_id).await?;
    let plugin = installed(&state, &caller, &id).await?;
    write(
        &state,
        &caller,
        &plugin,
        Some(&department_id),
        &languages,
        body,
    )
    .await
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AllowedHosts {
    /// Destinations as scheme://host:port, such as "https://sandbox.example.com:443".
    hosts: Vec<String>,
}

#[utoipa::path(
    get,
    path = "/v1/plugins/{id}/allowed-hosts",
    summary = "Destinations allowed beyond the plugin's manifest",
    extensions(("x-vetpay-role" = json!("admin"))),
    responses((status = 200, description = "Destinations as scheme://host:port", body = [String]))
)]
pub async fn allowed_hosts(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<Destination>>, ApiError> {
    caller.require_admin()?;
    installed(&state, &caller, &id).await?;
    Ok(Json(
        state
            .clinic
            .store()
            .plugin_allowed_hosts(&caller.organisation_id, &id)
            .await?,
    ))
}

#[utoipa::path(
    put,
    path = "/v1/plugins/{id}/allowed-hosts",
    summary = "Replace the extra allowed destinations (scheme://host:port)",
    extensions(("x-vetpay-role" = json!("admin"))),
    request_body = AllowedHosts,
    responses((status = 200, description = "Destinations as scheme://host:port, as now set", body = [String]))
)]
pub async fn set_allowed_hosts(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Vec<Destination>>, ApiError> {
    caller.require_admin()?;
    installed(&state, &caller, &id).await?;
    let hosts: AllowedHosts = json(&body)?;
    refuse_special_addresses(&state, &hosts.hosts)?;
    let saved = state
        .clinic
        .store()
        .set_plugin_allowed_hosts(&caller.organisation_id, &id, &hosts.hosts)
        .await?;
    super::audit::record(
        &state,
        &caller,
        NewAuditEvent::new(
            AuditAction::AllowedHostsChanged,
            "plugin",
            &id,
            serde_json::json!({ "hosts": saved.iter().map(|d| d.to_string()).collect::<Vec<_>>() }),
        ),
    )
    .await;
    Ok(Json(saved))
}

/// An organisation admin may name public destinations only: a loopback,
/// private or metadata address is the operator's to allow, in the server's
/// configuration. (What a name resolves to is checked again at connect time.)
fn refuse_special_addresses(state: &AppState, hosts: &[String]) -> Result<(), ApiError> {
    let network = &state.clinic.runtime().config().network;
    for (i, host) in hosts.iter().enumerate() {
        // Unparseable entries get the store's own error, which says what to send.
        let Ok(destination) = host.parse::<Destination>() else {
            continue;
        };
        if let Err(refused) = network.check_host(&destination.host) {
            return Err(ApiError::new(
                ErrorCode::DestinationRefused,
                format!("hosts[{i}]: '{destination}': {refused}"),
            ));
        }
    }
    Ok(())
}
