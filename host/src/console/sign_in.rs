//! Signing in with an API key, signing out, and the language switch.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;

use super::ConsoleState;
use super::i18n::Lang;
use super::render::Frame;
use super::session::{self, LANG_COOKIE, PRESESSION_COOKIE, SESSION_COOKIE, Visitor};

fn frame(visitor: &Visitor, csrf: String) -> Frame {
    Frame {
        lang: visitor.lang,
        csrf,
        signed_in: false,
        admin: false,
        key_name: String::new(),
        nav: "",
        path: "/sign-in".into(),
        flash: None,
    }
}

/// The sign-in form, with a fresh pre-session token for its CSRF check.
pub async fn page(State(state): State<ConsoleState>, visitor: Visitor) -> Response {
    if visitor.session.is_some() {
        return Redirect::to("/invoices").into_response();
    }
    render(&state, visitor, StatusCode::OK, None)
}

fn render(
    state: &ConsoleState,
    visitor: Visitor,
    status: StatusCode,
    error: Option<String>,
) -> Response {
    let token = session::random_token();
    let lang = visitor.lang;
    let page = state.templates.page_with_status(
        status,
        "sign_in.html",
        frame(&visitor, token.clone()),
        json!({ "title": lang.t("sign-in-title"), "error": error }),
    );
    let jar = visitor
        .jar
        .add(session::cookie(PRESESSION_COOKIE, token, visitor.secure));
    match page {
        Ok(page) => (jar, page).into_response(),
        Err(e) => e.into_response(),
    }
}

#[derive(Deserialize)]
pub struct SignInForm {
    key: String,
}

/// Checks the key as the API's auth does; a session on success.
pub async fn submit(
    State(state): State<ConsoleState>,
    visitor: Visitor,
    Form(form): Form<SignInForm>,
) -> Response {
    let key = form.key.trim().to_owned();
    let lang = visitor.lang;
    let found = match state.clinic.store().authenticate(&key).await {
        Ok(found) => found,
        Err(e) => {
            tracing::warn!("console sign-in: {e}");
            None
        }
    };
    let Some(found) = found else {
        return render(
            &state,
            visitor,
            StatusCode::UNAUTHORIZED,
            Some(lang.t("sign-in-refused")),
        );
    };
    let id = match state.sessions.start(&key, &found).await {
        Ok(id) => id,
        Err(e) => {
            tracing::error!("console sign-in: keeping the session: {e}");
            return super::ConsoleError::Internal(
                "the session could not be kept; try again".into(),
            )
            .into_response();
        }
    };
    let jar = visitor
        .jar
        .remove(session::cookie(
            PRESESSION_COOKIE,
            String::new(),
            visitor.secure,
        ))
        .add(session::cookie(SESSION_COOKIE, id, visitor.secure));
    (jar, Redirect::to("/invoices")).into_response()
}

pub async fn sign_out(State(state): State<ConsoleState>, visitor: Visitor) -> Response {
    if let Some((id, _)) = &visitor.session {
        state.sessions.end(id).await;
    }
    let jar = visitor.jar.remove(session::cookie(
        SESSION_COOKIE,
        String::new(),
        visitor.secure,
    ));
    (jar, Redirect::to("/sign-in")).into_response()
}

#[derive(Deserialize)]
pub struct Back {
    back: Option<String>,
}

/// Remembers the chosen language and returns to the page it was chosen on.
pub async fn switch_language(
    visitor: Visitor,
    Path(code): Path<String>,
    Query(q): Query<Back>,
) -> Response {
    let Some(lang) = Lang::parse(&code) else {
        return (StatusCode::NOT_FOUND, "no such language").into_response();
    };
    // Only a path of this site: never a redirect elsewhere.
    let back = q
        .back
        .filter(|b| b.starts_with('/') && !b.starts_with("//") && !b.contains('\\'))
        .unwrap_or_else(|| "/invoices".into());
    let jar = visitor.jar.add(session::cookie(
        LANG_COOKIE,
        lang.code().to_owned(),
        visitor.secure,
    ));
    (jar, Redirect::to(&back)).into_response()
}
