//! `/v1/api-keys` (admin): list, create, revoke and rotate the organisation's
//! keys. A secret is shown once, in the answer that makes it; lists show
//! neither secrets nor hashes.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::body::{json, optional};
use super::error::ErrorCode;
use super::{ApiError, AppState, Caller};
use crate::store::{
    ApiKey, DEFAULT_ROTATION_GRACE_SECONDS, MAX_KEY_DAYS, NewKey, Revoked, Role, invalid, now_ms,
};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKey {
    role: Role,
    /// What the key is for, such as "front desk" (1 to 200 characters).
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    name: String,
    /// When the key stops working (RFC 3339, such as "2027-01-31T00:00:00Z").
    expires_at: Option<String>,
    /// Or: days from now until the key stops working (1 to 3650).
    #[schema(minimum = 1, maximum = 3650)]
    expires_in_days: Option<i64>,
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateApiKey {
    /// How long the old secret keeps working: 0 to 604800 seconds (7 days),
    /// 86400 (24 h) by default.
    #[schema(minimum = 0, maximum = 604800)]
    grace_seconds: Option<i64>,
}

/// A key with its secret: the only time the secret is shown.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedApiKey {
    #[serde(flatten)]
    info: ApiKey,
    /// Send as `Authorization: Bearer SECRET`; it is not shown again.
    secret: String,
}

impl From<NewKey> for CreatedApiKey {
    fn from(k: NewKey) -> Self {
        CreatedApiKey {
            info: k.info,
            secret: k.key,
        }
    }
}

/// Unix milliseconds of an expiry given either way.
fn expiry(req: &CreateApiKey) -> Result<Option<i64>, ApiError> {
    match (&req.expires_at, req.expires_in_days) {
        (Some(_), Some(_)) => {
            Err(invalid("expires_at", "give expires_at or expires_in_days, not both").into())
        }
        (Some(at), None) => at
            .parse::<jiff::Timestamp>()
            .map(|t| Some(t.as_millisecond()))
            .map_err(|e| {
                invalid(
                    "expires_at",
                    format!("'{at}' is not an RFC 3339 time such as 2027-01-31T00:00:00Z: {e}"),
                )
                .into()
            }),
        (None, Some(days)) if (1..=MAX_KEY_DAYS).contains(&days) => {
            Ok(Some(now_ms() + days * 86_400_000))
        }
        (None, Some(_)) => {
            Err(invalid("expires_in_days", format!("give 1 to {MAX_KEY_DAYS} days")).into())
        }
        (None, None) => Ok(None),
    }
}

#[utoipa::path(
    get,
    path = "/v1/api-keys",
    summary = "The organisation's API keys: name, role, created, last used, expiry, revocation and rotation; never a secret",
    extensions(("x-vetpay-role" = json!("admin"))),
    responses((status = 200, description = "The keys", body = [ApiKey]))
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<ApiKey>>, ApiError> {
    caller.require_admin()?;
    Ok(Json(
        state
            .clinic
            .store()
            .api_keys(&caller.organisation_id)
            .await?,
    ))
}

#[utoipa::path(
    post,
    path = "/v1/api-keys",
    summary = "Make an API key (role, name, optional expires_at RFC 3339 or expires_in_days); the secret is shown only in this answer",
    extensions(("x-vetpay-role" = json!("admin"))),
    request_body = CreateApiKey,
    responses((status = 201, description = "The key with its secret", body = CreatedApiKey))
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    body: Bytes,
) -> Result<(StatusCode, Json<CreatedApiKey>), ApiError> {
    caller.require_admin()?;
    let req: CreateApiKey = json(&body)?;
    let expires_at = expiry(&req)?;
    let key = state
        .clinic
        .store()
        .create_api_key_by(
            &caller.organisation_id,
            req.role,
            &req.name,
            expires_at,
            &caller.actor(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(key.into())))
}

/// Revokes a key at once. The key making the request is not revoked (409
/// `revoking_own_key`): use another admin key, or `vetpay key revoke`.
/// Revoking a revoked key changes nothing (204 again).
#[utoipa::path(
    delete,
    path = "/v1/api-keys/{id}",
    summary = "Revoke a key at once, on every host (not the key making the request: 409 revoking_own_key)",
    extensions(("x-vetpay-role" = json!("admin"))),
    responses((status = 204, description = "Revoked (also when it already was)"))
)]
pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require_admin()?;
    if id == caller.key_id {
        return Err(ApiError::new(
            ErrorCode::RevokingOwnKey,
            "this is the key making the request; revoke it with another admin key (or `vetpay key revoke ID`) so that you are not locked out by mistake",
        ));
    }
    match state
        .clinic
        .store()
        .revoke_api_key_by(&caller.organisation_id, &id, &caller.actor())
        .await?
    {
        Revoked::Now(_) | Revoked::Already(_) => Ok(StatusCode::NO_CONTENT),
        Revoked::NotFound => Err(ApiError::not_found("API key")),
    }
}

/// A new secret for the key; the old one works for the grace period.
#[utoipa::path(
    post,
    path = "/v1/api-keys/{id}/rotate",
    summary = "A new secret for a key; the old one works for grace_seconds (default 86400, at most 604800, 0 ends it at once)",
    extensions(("x-vetpay-role" = json!("admin"))),
    request_body(content = Option<RotateApiKey>, description = "The grace period; the default when the body is left out"),
    responses((status = 200, description = "The key with its new secret", body = CreatedApiKey))
)]
pub async fn rotate(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<CreatedApiKey>, ApiError> {
    caller.require_admin()?;
    let req = optional::<RotateApiKey>(&body)?.unwrap_or_default();
    let key = state
        .clinic
        .store()
        .rotate_api_key(
            &caller.organisation_id,
            &id,
            req.grace_seconds.unwrap_or(DEFAULT_ROTATION_GRACE_SECONDS),
            &caller.actor(),
        )
        .await?
        .ok_or_else(|| ApiError::not_found("API key"))?;
    Ok(Json(key.into()))
}
