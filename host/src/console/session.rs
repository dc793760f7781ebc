//! Sign-in sessions: the API key stays on the server, the browser holds a
//! random session id in an HttpOnly, SameSite=Strict cookie. Every unsafe
//! request carries the session's CSRF token (a form field, a header for the
//! dialog's fetch, or the query of the plugin upload), checked before any
//! handler runs; the sign-in form uses a pre-session token (double submit).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use zeroize::Zeroizing;

use super::ConsoleState;
use super::error::ConsoleError;
use super::i18n::Lang;
use crate::store::{ApiKey, NewConsoleSession, Role, Store, StoreError};

pub const SESSION_COOKIE: &str = "vetpay_session";
pub const PRESESSION_COOKIE: &str = "vetpay_csrf";
pub const LANG_COOKIE: &str = "vetpay_lang";
/// The form field of the CSRF token.
pub const CSRF_FIELD: &str = "_csrf";
/// A session unused this long is forgotten.
const IDLE: Duration = Duration::from_secs(12 * 60 * 60);
/// Largest form body the CSRF check reads (uploads carry the token in the query).
const MAX_FORM: usize = 1024 * 1024;

/// A message for the next page this session sees.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Flash {
    /// "ok" or "error".
    pub kind: std::borrow::Cow<'static, str>,
    pub text: String,
}

#[derive(Clone)]
pub struct Session {
    pub key: Arc<Zeroizing<String>>,
    pub role: Role,
    pub key_name: String,
    pub csrf: String,
    flash: Option<String>,
}

impl Session {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

/// The sessions of every host of the database (`console_sessions`): a restart
/// keeps them, and any host serves any session, so no sticky sessions are
/// needed behind a load balancer.
#[derive(Clone)]
pub struct Sessions {
    store: Store,
}

/// 244 random bits, URL-safe.
pub fn random_token() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// Before this moment a session's last use is too long ago.
fn idle_before() -> i64 {
    crate::store::now_ms() - IDLE.as_millis() as i64
}

impl Sessions {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// Starts a session for a key the store accepted; its id.
    pub async fn start(&self, key: &str, found: &ApiKey) -> Result<String, StoreError> {
        let id = random_token();
        let csrf = random_token();
        self.store
            .start_console_session(
                &id,
                NewConsoleSession {
                    organisation_id: &found.organisation_id,
                    key_id: &found.id,
                    key,
                    role: found.role,
                    key_name: &found.name,
                    csrf: &csrf,
                },
                idle_before(),
            )
            .await?;
        Ok(id)
    }

    /// The session, if it exists and is not idle too long. A database that
    /// cannot be read signs no one in (and says so in the log).
    pub async fn get(&self, id: &str) -> Option<Session> {
        match self.store.console_session(id, idle_before()).await {
            Ok(found) => found.map(|s| Session {
                key: Arc::new(s.key),
                role: s.role,
                key_name: s.key_name,
                csrf: s.csrf,
                flash: s.flash,
            }),
            Err(e) => {
                tracing::error!("reading a console session: {e}");
                None
            }
        }
    }

    pub async fn end(&self, id: &str) {
        if let Err(e) = self.store.end_console_session(id).await {
            tracing::error!("ending a console session: {e}");
        }
    }

    pub async fn flash(&self, id: &str, flash: Flash) {
        let text = serde_json::to_string(&flash).unwrap_or_default();
        if let Err(e) = self.store.set_console_flash(id, Some(&text)).await {
            tracing::error!("keeping a console message: {e}");
        }
    }

    /// The message waiting for the session's next page, once.
    pub async fn take_flash(&self, id: &str, session: &Session) -> Option<Flash> {
        let flash = serde_json::from_str(session.flash.as_deref()?).ok();
        if let Err(e) = self.store.set_console_flash(id, None).await {
            tracing::error!("clearing a console message: {e}");
        }
        flash
    }
}

/// A cookie of the console: HttpOnly, SameSite=Strict, the whole site, and
/// Secure when the page came over HTTPS.
pub fn cookie(name: &'static str, value: String, secure: bool) -> Cookie<'static> {
    Cookie::build((name, value))
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .path("/")
        .build()
}

/// Whether the browser reached the console over HTTPS, as the TLS-terminating
/// proxy in front of vetpay says (`X-Forwarded-Proto` or `Forwarded`). The
/// header only ever makes a cookie stricter, so trusting it costs nothing.
fn over_https(headers: &axum::http::HeaderMap) -> bool {
    let value = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_ascii_lowercase)
    };
    value("x-forwarded-proto").is_some_and(|p| p.split(',').next().map(str::trim) == Some("https"))
        || value("forwarded")
            .is_some_and(|f| f.split([';', ',']).any(|part| part.trim() == "proto=https"))
}

/// Whoever asks for a page: their language, and their session if signed in.
pub struct Visitor {
    pub lang: Lang,
    pub session: Option<(String, Session)>,
    pub jar: CookieJar,
    /// The page came over HTTPS: its cookies are Secure.
    pub secure: bool,
}

impl FromRequestParts<ConsoleState> for Visitor {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ConsoleState,
    ) -> Result<Self, Self::Rejection> {
        let jar = CookieJar::from_headers(&parts.headers);
        let lang = jar
            .get(LANG_COOKIE)
            .and_then(|c| Lang::parse(c.value()))
            .unwrap_or_else(|| {
                Lang::negotiate(
                    parts
                        .headers
                        .get(header::ACCEPT_LANGUAGE)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or(""),
                )
            });
        let session = match jar.get(SESSION_COOKIE) {
            Some(c) => state
                .sessions
                .get(c.value())
                .await
                .map(|s| (c.value().to_owned(), s)),
            None => None,
        };
        Ok(Visitor {
            lang,
            session,
            jar,
            secure: over_https(&parts.headers),
        })
    }
}

/// A signed-in visitor; anyone else is sent to sign in.
pub struct Signed {
    pub lang: Lang,
    pub id: String,
    pub session: Session,
}

impl Signed {
    pub fn key(&self) -> &str {
        self.session.key.as_str()
    }

    pub fn require_admin(&self) -> Result<(), ConsoleError> {
        if self.session.is_admin() {
            Ok(())
        } else {
            Err(ConsoleError::Forbidden)
        }
    }
}

impl FromRequestParts<ConsoleState> for Signed {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ConsoleState,
    ) -> Result<Self, Self::Rejection> {
        let visitor = Visitor::from_request_parts(parts, state)
            .await
            .unwrap_or_else(|e| match e {});
        match visitor.session {
            Some((id, session)) => Ok(Signed {
                lang: visitor.lang,
                id,
                session,
            }),
            None => Err(ConsoleError::SignedOut.into_response()),
        }
    }
}

/// Refuses an unsafe request without this session's (or, before sign-in,
/// this browser's pre-session) CSRF token.
pub async fn csrf_guard(
    State(state): State<ConsoleState>,
    request: Request,
    next: Next,
) -> Response {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return next.run(request).await;
    }
    let jar = CookieJar::from_headers(request.headers());
    let session = match jar.get(SESSION_COOKIE) {
        Some(c) => state.sessions.get(c.value()).await,
        None => None,
    };
    let expected = match session {
        Some(session) => Some(session.csrf),
        None => jar.get(PRESESSION_COOKIE).map(|c| c.value().to_owned()),
    };
    let Some(expected) = expected.filter(|t| !t.is_empty()) else {
        return ConsoleError::Csrf.into_response();
    };
    let from_header = request
        .headers()
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let from_query = request.uri().query().and_then(|q| field(q.as_bytes()));
    if let Some(given) = from_header.or(from_query) {
        return if same_token(&given, &expected) {
            next.run(request).await
        } else {
            ConsoleError::Csrf.into_response()
        };
    }
    let is_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return ConsoleError::Csrf.into_response();
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_FORM).await else {
        return ConsoleError::BadInput("the form is too large".into()).into_response();
    };
    if !field(&bytes).is_some_and(|given| same_token(&given, &expected)) {
        return ConsoleError::Csrf.into_response();
    }
    next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
        .await
}

/// Compares tokens in constant time, so that timing tells nothing of the
/// session's token.
fn same_token(given: &str, expected: &str) -> bool {
    use subtle::ConstantTimeEq;
    given.as_bytes().ct_eq(expected.as_bytes()).into()
}

/// The CSRF field of a urlencoded form or query.
fn field(encoded: &[u8]) -> Option<String> {
    url::form_urlencoded::parse(encoded)
        .find(|(k, _)| k == CSRF_FIELD)
        .map(|(_, v)| v.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_secure_only_behind_https() {
        let mut headers = axum::http::HeaderMap::new();
        assert!(!over_https(&headers));
        headers.insert("x-forwarded-proto", "https".parse().unwrap());
        assert!(over_https(&headers));
        headers.insert("x-forwarded-proto", "http".parse().unwrap());
        assert!(!over_https(&headers));
        headers.remove("x-forwarded-proto");
        headers.insert(
            "forwarded",
            "for=10.0.0.1;proto=https;by=proxy".parse().unwrap(),
        );
        assert!(over_https(&headers));
        let c = cookie(SESSION_COOKIE, "x".into(), true);
        assert_eq!(c.secure(), Some(true));
        assert_eq!(c.http_only(), Some(true));
    }
}
