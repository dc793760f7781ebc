//! Sign-in sessions: the API key stays on the server, the browser holds a
//! random session id in an HttpOnly, SameSite=Strict cookie. Every unsafe
//! request carries the session's CSRF token (a form field, a header for the
//! dialog's fetch, or the query of the plugin upload), checked before any
//! handler runs; the sign-in form uses a pre-session token (double submit).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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
use crate::store::Role;

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
#[derive(Debug, Clone, serde::Serialize)]
pub struct Flash {
    /// "ok" or "error".
    pub kind: &'static str,
    pub text: String,
}

#[derive(Clone)]
pub struct Session {
    pub key: Arc<Zeroizing<String>>,
    pub role: Role,
    pub key_name: String,
    pub csrf: String,
    last_seen: Instant,
}

impl Session {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

/// The sessions of this host, by id. They live in memory: a restart signs
/// everyone out, and behind a load balancer the console wants sticky sessions.
#[derive(Clone, Default)]
pub struct Sessions {
    inner: Arc<Mutex<HashMap<String, Entry>>>,
}

/// A session and the message waiting for its next page.
type Entry = (Session, Option<Flash>);

/// 244 random bits, URL-safe.
pub fn random_token() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

impl Sessions {
    /// Starts a session for a key the store accepted; its id.
    pub fn start(&self, key: String, role: Role, key_name: String) -> String {
        let id = random_token();
        let session = Session {
            key: Arc::new(Zeroizing::new(key)),
            role,
            key_name,
            csrf: random_token(),
            last_seen: Instant::now(),
        };
        let mut map = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, (s, _)| s.last_seen.elapsed() < IDLE);
        map.insert(id.clone(), (session, None));
        id
    }

    pub fn get(&self, id: &str) -> Option<Session> {
        let mut map = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let (session, _) = map.get_mut(id)?;
        if session.last_seen.elapsed() >= IDLE {
            map.remove(id);
            return None;
        }
        session.last_seen = Instant::now();
        Some(session.clone())
    }

    pub fn end(&self, id: &str) {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
    }

    pub fn flash(&self, id: &str, flash: Flash) {
        if let Some((_, slot)) = self
            .inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_mut(id)
        {
            *slot = Some(flash);
        }
    }

    pub fn take_flash(&self, id: &str) -> Option<Flash> {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_mut(id)
            .and_then(|(_, f)| f.take())
    }
}

/// A cookie of the console: HttpOnly, SameSite=Strict, the whole site.
pub fn cookie(name: &'static str, value: String) -> Cookie<'static> {
    Cookie::build((name, value))
        .http_only(true)
        .same_site(SameSite::Strict)
        .path("/")
        .build()
}

/// Whoever asks for a page: their language, and their session if signed in.
pub struct Visitor {
    pub lang: Lang,
    pub session: Option<(String, Session)>,
    pub jar: CookieJar,
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
        let session = jar.get(SESSION_COOKIE).and_then(|c| {
            state
                .sessions
                .get(c.value())
                .map(|s| (c.value().to_owned(), s))
        });
        Ok(Visitor { lang, session, jar })
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
    let expected = match jar
        .get(SESSION_COOKIE)
        .and_then(|c| state.sessions.get(c.value()))
    {
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
        return if given == expected {
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
    if field(&bytes).as_deref() != Some(expected.as_str()) {
        return ConsoleError::Csrf.into_response();
    }
    next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
        .await
}

/// The CSRF field of a urlencoded form or query.
fn field(encoded: &[u8]) -> Option<String> {
    url::form_urlencoded::parse(encoded)
        .find(|(k, _)| k == CSRF_FIELD)
        .map(|(_, v)| v.into_owned())
}
