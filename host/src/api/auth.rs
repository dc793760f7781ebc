//! `Authorization: Bearer KEY`: every request under `/v1` acts for the key's
//! organisation, with the key's role.

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;

use super::AppState;
use super::error::ApiError;
use crate::store::Role;

/// Who is calling.
#[derive(Debug, Clone)]
pub struct Caller {
    pub organisation_id: String,
    pub role: Role,
}

impl Caller {
    /// Admin-only routes: plugins, settings, terminals, keys.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.role == Role::Admin {
            Ok(())
        } else {
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "this needs an admin API key; staff keys manage clients, invoices and payments",
            ))
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let unauthorised = |m: &str| ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", m);
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| unauthorised("send your API key as `Authorization: Bearer KEY`"))?;
        let key = header
            .strip_prefix("Bearer ")
            .ok_or_else(|| unauthorised("the Authorization header must read `Bearer KEY`"))?;
        let found = state
            .store
            .authenticate(key.trim())
            .await?
            .ok_or_else(|| unauthorised("unknown or revoked API key"))?;
        Ok(Caller {
            organisation_id: found.organisation_id,
            role: found.role,
        })
    }
}
