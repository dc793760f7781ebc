//! `Authorization: Bearer KEY` (the scheme in any case): every request under
//! `/v1` acts for the key's organisation, with the key's role. The key is
//! looked up on every request (no cache), so a revoke is seen at once by
//! every host of the database.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::AppState;
use super::error::{ApiError, ErrorCode};
use crate::store::{Actor, Role};

/// Who is calling.
#[derive(Debug, Clone)]
pub struct Caller {
    pub organisation_id: vetpay_domain::OrganisationId,
    pub role: Role,
    /// The API key's id and name, as the audit trail records them.
    pub key_id: String,
    pub key_name: String,
}

impl Caller {
    /// The caller as the audit trail records it.
    pub fn actor(&self) -> Actor {
        Actor::key(&self.key_id, &self.key_name)
    }

    /// Admin-only routes: plugins, settings, terminals, keys.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.role == Role::Admin {
            Ok(())
        } else {
            Err(ApiError::new(
                ErrorCode::Forbidden,
                "this needs an admin API key; staff keys manage clients, invoices and payments",
            ))
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let unauthorised = |m: &str| ApiError::new(ErrorCode::Unauthorized, m);
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| unauthorised("send your API key as `Authorization: Bearer KEY`"))?;
        let key = bearer(header)
            .ok_or_else(|| unauthorised("the Authorization header must read `Bearer KEY`"))?;
        let found = state.clinic.store().authenticate(key).await?.ok_or_else(|| {
            unauthorised("unknown, expired or revoked API key; an admin makes a new one at POST /v1/api-keys")
        })?;
        Ok(Caller {
            organisation_id: found.organisation_id.into(),
            role: found.role,
            key_id: found.id,
            key_name: found.name,
        })
    }
}

/// The key of `Bearer KEY`; the scheme is case-insensitive (RFC 9110 11.1).
fn bearer(header: &str) -> Option<&str> {
    let (scheme, key) = header.trim().split_once(' ')?;
    let key = key.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !key.is_empty()).then_some(key)
}

#[cfg(test)]
mod tests {
    use super::bearer;

    #[test]
    fn the_scheme_is_case_insensitive_and_the_key_required() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer abc"), Some("abc"));
        assert_eq!(bearer("BEARER  abc "), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearer "), None);
        assert_eq!(bearer("Bearerabc"), None);
    }
}
