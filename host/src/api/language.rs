//! The caller's languages, from `Accept-Language`: what labels are shown in
//! (English when none of them is there).

use std::convert::Infallible;

use axum::Json;
use axum::extract::FromRequestParts;
use axum::http::HeaderName;
use axum::http::header::{ACCEPT_LANGUAGE, VARY};
use axum::http::request::Parts;

use crate::plugin::Languages;
use crate::plugin::label::Picked;

/// The languages the caller reads, best first; none when the header is
/// missing or unreadable (English is shown then).
#[derive(Debug, Clone, Default)]
pub struct CallerLanguages(pub Languages);

impl<S: Send + Sync> FromRequestParts<S> for CallerLanguages {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        let header = parts
            .headers
            .get_all(ACCEPT_LANGUAGE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join(",");
        Ok(CallerLanguages(Languages::from_accept_language(&header)))
    }
}

/// An answer whose texts depend on `Accept-Language`, saying so (`Vary`) to
/// any cache between the host and the caller.
pub type Localized<T> = ([(HeaderName, &'static str); 1], Json<T>);

pub fn localized<T>(body: T) -> Localized<T> {
    ([(VARY, "Accept-Language")], Json(body))
}

/// `Accept-Language`, as the operations that show labels declare it
/// (`params(AcceptLanguage)`).
pub struct AcceptLanguage;

impl utoipa::IntoParams for AcceptLanguage {
    fn into_params(
        _: impl Fn() -> Option<utoipa::openapi::path::ParameterIn>,
    ) -> Vec<utoipa::openapi::path::Parameter> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        vec![
            utoipa::openapi::path::ParameterBuilder::new()
                .name("Accept-Language")
                .parameter_in(utoipa::openapi::path::ParameterIn::Header)
                .required(utoipa::openapi::Required::False)
                .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                .description(Some(
                    "The languages to show labels in, best first (RFC 9110), such as \"nl-BE, fr;q=0.8\"; English where the plugin has none of them.",
                ))
                .build(),
        ]
    }
}

/// A text in the language picked for the caller.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ShownText {
    /// The language tag of `text`, such as "nl" or "en".
    language: String,
    text: String,
}

impl From<Picked<'_>> for ShownText {
    fn from(p: Picked<'_>) -> Self {
        ShownText {
            language: p.language.to_owned(),
            text: p.text.to_owned(),
        }
    }
}
