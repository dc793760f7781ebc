//! `/v1/departments/{id}/terminals`, `/v1/terminals/{id}` (read, remove, End
//! of Day) and `/v1/plugins/{id}/terminals` (the provider account's terminals).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use vetpay_domain::TerminalId;

use super::body::json;
use super::departments::own_department;
use super::error::ErrorCode;
use super::{ApiError, AppState, Caller};
use crate::service::ListedTerminal;
use crate::store::{AuditAction, NewAuditEvent, NewTerminal, Terminal};
use serde_json::json;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTerminal {
    /// The plugin that drives it, such as "nets-connect-cloud".
    plugin_id: String,
    /// The provider's id of the device.
    terminal_id: String,
    name: String,
    /// One of the plugin's manifest `terminal-types` where it lists them
    /// (Nets: "Connect@Cloud"); any text otherwise.
    #[serde(rename = "type")]
    terminal_type: String,
    model: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ReconcileReport {
    pub terminal_id: String,
    pub reference: Option<String>,
    pub report: String,
    /// The provider's totals per currency; null when the plugin reports none
    /// (plugins built against contract 0.1 never do).
    pub totals: Option<Vec<ReconcileTotals>>,
}

/// One currency's End of Day totals, in minor units.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ReconcileTotals {
    pub currency: String,
    pub purchase_count: u32,
    pub purchase_total: i64,
    pub refund_count: u32,
    pub refund_total: i64,
}

#[utoipa::path(
    get,
    path = "/v1/departments/{id}/terminals",
    summary = "The department's terminals",
    extensions(("x-vetpay-role" = json!("staff"))),
    responses((status = 200, description = "The terminals", body = [Terminal]))
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(department_id): Path<String>,
) -> Result<Json<Vec<Terminal>>, ApiError> {
    own_department(&state, &caller, &department_id).await?;
    Ok(Json(
        state
            .clinic
            .store()
            .terminals(&caller.organisation_id, &department_id)
            .await?,
    ))
}

/// Registers a terminal. Its plugin must be enabled for the department's market.
#[utoipa::path(
    post,
    path = "/v1/departments/{id}/terminals",
    summary = "Register a terminal (its plugin must be enabled for the department's market; its type one the plugin's manifest lists)",
    extensions(("x-vetpay-role" = json!("admin"))),
    request_body = CreateTerminal,
    responses((status = 201, description = "The new terminal", body = Terminal))
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Path(department_id): Path<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<Terminal>), ApiError> {
    caller.require_admin()?;
    let department = own_department(&state, &caller, &department_id).await?;
    let req: CreateTerminal = json(&body)?;
    let terminal = state
        .clinic
        .register_terminal(
            &caller.organisation_id,
            &department,
            NewTerminal {
                plugin_id: req.plugin_id,
                provider_terminal_id: req.terminal_id.trim().to_owned(),
                name: req.name,
                terminal_type: req.terminal_type,
                model: req.model,
            },
        )
        .await?;
    super::audit::record(
        &state,
        &caller,
        NewAuditEvent::new(
            AuditAction::TerminalCreated,
            "terminal",
            &terminal.id,
            json!({
                "department_id": terminal.department_id,
                "plugin_id": terminal.plugin_id,
                "provider_terminal_id": terminal.provider_terminal_id,
                "name": terminal.name,
            }),
        ),
    )
    .await;
    Ok((StatusCode::CREATED, Json(terminal)))
}

/// Runs End of Day on the terminal.
#[utoipa::path(
    post,
    path = "/v1/terminals/{id}/reconcile",
    summary = "Run End of Day on a terminal",
    extensions(("x-vetpay-role" = json!("admin"))),
    responses((status = 200, description = "The provider's End of Day report", body = ReconcileReport))
)]
pub async fn reconcile(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ReconcileReport>, ApiError> {
    caller.require_admin()?;
    let result = state
        .clinic
        .reconcile(&caller.organisation_id, &TerminalId::from(id.as_str()))
        .await;
    // Recorded with its outcome: an End of Day that failed at the provider
    // may still have closed the batch.
    let outcome = match &result {
        Ok(r) => json!({ "outcome": "done", "reference": r.reference }),
        Err(crate::service::ServiceError::Plugin(e)) => {
            json!({ "outcome": "failed", "error": e.to_string() })
        }
        Err(_) => serde_json::Value::Null,
    };
    if !outcome.is_null() {
        super::audit::record(
            &state,
            &caller,
            NewAuditEvent::new(AuditAction::TerminalReconciled, "terminal", &id, outcome),
        )
        .await;
    }
    let report = result?;
    Ok(Json(ReconcileReport {
        terminal_id: id,
        reference: report.reference,
        report: report.report,
        totals: report.totals.map(|l| {
            l.into_iter()
                .map(|t| ReconcileTotals {
                    currency: t.currency,
                    purchase_count: t.purchase_count,
                    purchase_total: t.purchase_total,
                    refund_count: t.refund_count,
                    refund_total: t.refund_total,
                })
                .collect()
        }),
    }))
}

#[utoipa::path(
    get,
    path = "/v1/terminals/{id}",
    summary = "A terminal",
    extensions(("x-vetpay-role" = json!("staff"))),
    responses((status = 200, description = "The terminal", body = Terminal))
)]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Terminal>, ApiError> {
    state
        .clinic
        .store()
        .terminal(&caller.organisation_id, &id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("terminal"))
}

/// Removes a terminal: it takes no more payments and is no longer listed;
/// its past payments keep naming it. Registering the device again brings it back.
#[utoipa::path(
    delete,
    path = "/v1/terminals/{id}",
    summary = "Remove a terminal (409 while a payment on it is processing or unknown)",
    extensions(("x-vetpay-role" = json!("admin"))),
    responses((status = 204, description = "Removed"))
)]
pub async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require_admin()?;
    let removed = state
        .clinic
        .remove_terminal(&caller.organisation_id, &id)
        .await?;
    super::audit::record(
        &state,
        &caller,
        NewAuditEvent::new(
            AuditAction::TerminalRemoved,
            "terminal",
            &removed.id,
            json!({
                "department_id": removed.department_id,
                "plugin_id": removed.plugin_id,
                "provider_terminal_id": removed.provider_terminal_id,
                "name": removed.name,
            }),
        ),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProviderTerminalsQuery {
    /// The department whose plugin settings (account, credentials) are used.
    department_id: Option<String>,
}

/// A terminal of the provider account, as the plugin lists it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ProviderTerminal {
    /// The provider's id of the device: `terminal_id` when registering it.
    pub id: String,
    pub model: Option<String>,
    pub name: Option<String>,
    /// Whether the plugin can take payments on it.
    pub supported: bool,
    /// Why it is not supported, or other advice.
    pub note: Option<String>,
    /// The terminal registered for it in your organisation (its `id` and
    /// `department_id`), or null while it is not registered.
    pub registered: Option<RegisteredTerminal>,
}

/// Where a provider's terminal is registered.
#[derive(Serialize, utoipa::ToSchema)]
pub struct RegisteredTerminal {
    pub id: String,
    pub department_id: String,
}

impl From<ListedTerminal> for ProviderTerminal {
    fn from(t: ListedTerminal) -> Self {
        ProviderTerminal {
            id: t.info.id,
            model: t.info.model,
            name: t.info.name,
            supported: t.info.supported,
            note: t.info.note,
            registered: t.registered.map(|r| RegisteredTerminal {
                id: r.id,
                department_id: r.department_id,
            }),
        }
    }
}

/// Asks the plugin (its `list-terminals`) for the terminals of the provider
/// account it reaches with the department's settings.
#[utoipa::path(
    get,
    path = "/v1/plugins/{id}/terminals",
    summary = "The provider account's terminals, with their models and whether the plugin supports them (?department_id=)",
    extensions(("x-vetpay-role" = json!("admin"))),
    params(ProviderTerminalsQuery),
    responses((status = 200, description = "The provider's terminals", body = [ProviderTerminal]))
)]
pub async fn provider_terminals(
    State(state): State<AppState>,
    caller: Caller,
    Path(plugin_id): Path<String>,
    Query(q): Query<ProviderTerminalsQuery>,
) -> Result<Json<Vec<ProviderTerminal>>, ApiError> {
    caller.require_admin()?;
    let department_id = q.department_id.ok_or_else(|| {
        ApiError::new(
            ErrorCode::BadRequest,
            "say whose settings to use: ?department_id= one of your departments",
        )
    })?;
    if state
        .clinic
        .store()
        .plugin(&caller.organisation_id, &plugin_id)
        .await?
        .is_none()
    {
        return Err(ApiError::not_found("plugin"));
    }
    let list = state
        .clinic
        .provider_terminals(&caller.organisation_id, &plugin_id, &department_id)
        .await?;
    Ok(Json(list.into_iter().map(ProviderTerminal::from).collect()))
}
