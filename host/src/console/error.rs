//! What can go wrong on a console page, decided by variant: who is sent to
//! sign in, who is refused, and what the API said when it refused a request.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// No session, or the key behind it no longer works.
    #[error("sign in first")]
    SignedOut,
    /// The page or action needs an admin key.
    #[error("this page is for admins")]
    Forbidden,
    /// A form without this session's token: not sent from the console.
    #[error("the form is out of date; reload the page and try again")]
    Csrf,
    #[error("{0}")]
    NotFound(String),
    /// A field the console could not read (an amount that is not one).
    #[error("{0}")]
    BadInput(String),
    /// The API refused, in its own words (`code` is its error code).
    #[error("{message}")]
    Refused {
        status: StatusCode,
        code: String,
        message: String,
    },
    #[error("internal error: {0}")]
    Internal(String),
}

impl ConsoleError {
    pub fn status(&self) -> StatusCode {
        match self {
            ConsoleError::SignedOut => StatusCode::UNAUTHORIZED,
            ConsoleError::Forbidden | ConsoleError::Csrf => StatusCode::FORBIDDEN,
            ConsoleError::NotFound(_) => StatusCode::NOT_FOUND,
            ConsoleError::BadInput(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ConsoleError::Refused { status, .. } => *status,
            ConsoleError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// Without a page around it (the page renders its own errors through
/// `render::error_page`), a signed-out visitor is sent to sign in.
impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        match self {
            ConsoleError::SignedOut => Redirect::to("/sign-in").into_response(),
            other => (other.status(), other.to_string()).into_response(),
        }
    }
}
