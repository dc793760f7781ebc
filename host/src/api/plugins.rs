//! `/v1/plugins`: install payment plugins and enable them per market.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;

use super::error::ErrorCode;
use super::openapi::WasmFile;
use super::{ApiError, AppState, Caller};
use crate::plugin;
use crate::store::{AuditAction, InstalledPlugin, NewAuditEvent};
use serde_json::json;

fn invalid_plugin(message: String) -> ApiError {
    ApiError::new(ErrorCode::InvalidPlugin, message)
}

/// Uploads a plugin `.wasm` (the request body). The manifest is checked, and
/// the component compiled and linked, before anything is recorded.
#[utoipa::path(
    post,
    path = "/v1/plugins",
    summary = "Install a plugin: the .wasm as the body (application/wasm)",
    extensions(("x-vetpay-role" = json!("admin"))),
    request_body(content = inline(WasmFile), content_type = "application/wasm"),
    responses((status = 201, description = "The installed plugin", body = InstalledPlugin))
)]
pub async fn install(
    State(state): State<AppState>,
    caller: Caller,
    body: Bytes,
) -> Result<(StatusCode, Json<InstalledPlugin>), ApiError> {
    caller.require_admin()?;
    if body.is_empty() {
        return Err(ApiError::new(
            ErrorCode::BadRequest,
            "send the plugin's .wasm file as the request body (Content-Type: application/wasm)",
        ));
    }
    let info = plugin::inspect(&body)
        .map_err(|e| invalid_plugin(format!("not a valid vetpay plugin: {e}")))?;
    let loaded = state
        .clinic
        .runtime()
        .load(body.to_vec())
        .await
        .map_err(|e| invalid_plugin(format!("the plugin cannot run on this host: {e}")))?;
    state.clinic.plugins().insert(std::sync::Arc::new(loaded));
    state
        .clinic
        .store()
        .install_plugin(&caller.organisation_id, &info, &body)
        .await?;
    let installed = state
        .clinic
        .store()
        .plugin(&caller.organisation_id, &info.manifest.id)
        .await?
        .ok_or_else(|| ApiError::not_found("plugin"))?;
    super::audit::record(
        &state,
        &caller,
        NewAuditEvent::new(
            AuditAction::PluginInstalled,
            "plugin",
            &info.manifest.id,
            json!({ "version": info.manifest.version.to_string(), "sha256": info.sha256 }),
        ),
    )
    .await;
    Ok((StatusCode::CREATED, Json(installed)))
}

#[utoipa::path(
    get,
    path = "/v1/plugins",
    summary = "Installed plugins with their manifests and enabled markets",
    extensions(("x-vetpay-role" = json!("staff"))),
    responses((status = 200, description = "The installed plugins", body = [InstalledPlugin]))
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<InstalledPlugin>>, ApiError> {
    Ok(Json(
        state
            .clinic
            .store()
            .plugins(&caller.organisation_id)
            .await?,
    ))
}

#[utoipa::path(
    put,
    path = "/v1/plugins/{id}/markets/{country}",
    summary = "Enable a plugin for a market its manifest lists",
    extensions(("x-vetpay-role" = json!("admin"))),
    responses((status = 200, description = "The plugin with its markets", body = InstalledPlugin))
)]
pub async fn enable_market(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, country)): Path<(String, String)>,
) -> Result<Json<InstalledPlugin>, ApiError> {
    caller.require_admin()?;
    let plugin = state
        .clinic
        .store()
        .plugin(&caller.organisation_id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("plugin"))?;
    state
        .clinic
        .store()
        .enable_plugin_market(&caller.organisation_id, &plugin, &country)
        .await?;
    super::audit::record(
        &state,
        &caller,
        NewAuditEvent::new(
            AuditAction::MarketEnabled,
            "plugin",
            &id,
            json!({ "country": country }),
        ),
    )
    .await;
    let updated = state
        .clinic
        .store()
        .plugin(&caller.organisation_id, &id)
        .await?;
    updated
        .map(Json)
        .ok_or_else(|| ApiError::not_found("plugin"))
}

#[utoipa::path(
    delete,
    path = "/v1/plugins/{id}/markets/{country}",
    summary = "Disable a plugin for a market",
    extensions(("x-vetpay-role" = json!("admin"))),
    responses((status = 204, description = "Disabled"))
)]
pub async fn disable_market(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, country)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    caller.require_admin()?;
    if state
        .clinic
        .store()
        .disable_plugin_market(&caller.organisation_id, &id, &country)
        .await?
    {
        super::audit::record(
            &state,
            &caller,
            NewAuditEvent::new(
                AuditAction::MarketDisabled,
                "plugin",
                &id,
                json!({ "country": country }),
            ),
        )
        .await;
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::new(
            ErrorCode::NotFound,
            format!("plugin '{id}' is not enabled for '{country}' in your organisation"),
        ))
    }
}
