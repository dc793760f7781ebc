//! `/v1/departments/{id}/terminals` and `/v1/terminals/{id}/reconcile`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use vetpay_domain::TerminalId;

use super::body::json;
use super::departments::own_department;
use super::{ApiError, AppState, Caller};
use crate::plugin::Capability;
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
    /// Nets terminals must be "Connect@Cloud".
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
    summary = "Register a terminal (its plugin must be enabled for the department's market; Nets: type Connect@Cloud)",
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
    state
        .clinic
        .usable_plugin(
            &caller.organisation_id,
            &req.plugin_id,
            &department,
            Capability::Process,
        )
        .await?;
    let terminal = state
        .clinic
        .store()
        .create_terminal(
            &caller.organisation_id,
            &department.id,
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
