//! `GET /v1/audit-events` (admin): the audit trail, newest first, filtered
//! and paged with a cursor. No route changes or deletes an event.

use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;

use super::error::ErrorCode;
use super::{ApiError, AppState, Caller};
use crate::store::{AuditAction, AuditFilter, AuditPage, MAX_AUDIT_PAGE, invalid, parse_input};

/// What the trail is filtered by (query parameters).
#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Such as "api_key.revoke".
    action: Option<String>,
    target_id: Option<String>,
    actor_key_id: Option<String>,
    /// Unix milliseconds or RFC 3339; inclusive.
    since: Option<String>,
    /// Unix milliseconds or RFC 3339; exclusive.
    until: Option<String>,
    /// 1 to 500; 100 by default.
    limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// Unix milliseconds from a number or an RFC 3339 time.
fn time(field: &str, text: &str) -> Result<i64, ApiError> {
    if let Ok(ms) = text.trim().parse::<i64>() {
        return Ok(ms);
    }
    text.trim()
        .parse::<jiff::Timestamp>()
        .map(|t| t.as_millisecond())
        .map_err(|_| {
            invalid(
                field,
                format!("'{text}' is neither Unix milliseconds nor an RFC 3339 time such as 2026-12-01T00:00:00Z"),
            )
            .into()
        })
}

#[utoipa::path(
    get,
    path = "/v1/audit-events",
    summary = "The audit trail, newest first (?action=, ?target_id=, ?actor_key_id=, ?since=, ?until= as Unix ms or RFC 3339, ?limit= up to 500, ?cursor=)",
    extensions(("x-vetpay-role" = json!("admin"))),
    params(AuditQuery),
    responses((status = 200, description = "A page of events", body = AuditPage))
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<AuditPage>, ApiError> {
    caller.require_admin()?;
    let Query(q) = query.map_err(|e| ApiError::new(ErrorCode::BadRequest, e.body_text()))?;
    let filter = AuditFilter {
        action: q
            .action
            .as_deref()
            .map(parse_input::<AuditAction>)
            .transpose()?,
        target_id: q.target_id,
        actor_key_id: q.actor_key_id,
        since: q.since.as_deref().map(|t| time("since", t)).transpose()?,
        until: q.until.as_deref().map(|t| time("until", t)).transpose()?,
        cursor: q.cursor,
        limit: q.limit.unwrap_or(100.min(MAX_AUDIT_PAGE)),
    };
    Ok(Json(
        state
            .clinic
            .store()
            .audit_events(&caller.organisation_id, &filter)
            .await?,
    ))
}

/// Records a change that was made outside a store transaction, right after
/// it, with its outcome. The change has landed by then, so a failure to
/// record is logged (loudly) rather than reported as a failed request.
pub async fn record(state: &AppState, caller: &Caller, event: crate::store::NewAuditEvent) {
    let action = event.action;
    if let Err(e) = state
        .clinic
        .store()
        .record_audit(&caller.organisation_id, &caller.actor(), event)
        .await
    {
        tracing::error!(action = action.as_str(), error = %e, "audit event not recorded");
    }
}
