//! Pages from minijinja templates embedded in the binary. Templates get `t`
//! (a Fluent text in the page's language), `money` and `date` filters, and
//! the page frame (language, CSRF token, role) under `page`.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use fluent_bundle::FluentValue;
use minijinja::value::{Kwargs, Value as JValue};
use minijinja::{Environment, Error, ErrorKind, State};
use serde_json::{Value, json};

use super::error::ConsoleError;
use super::i18n::Lang;
use super::session::{Flash, Signed};

macro_rules! templates {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("templates/", $name)))),*]
    };
}

const TEMPLATES: &[(&str, &str)] = templates![
    "base.html",
    "sign_in.html",
    "error.html",
    "invoices.html",
    "invoice.html",
    "pay.html",
    "refund.html",
    "dialog.html",
    "result.html",
    "clients.html",
    "client.html",
    "admin_plugins.html",
    "admin_plugin.html",
    "admin_terminals.html",
    "admin_report.html",
    "admin_table.html",
    "admin_settings.html",
    "admin_keys.html",
    "admin_catalog.html",
    "day_close.html",
    "admin_health_plans.html",
    "admin_billing_runs.html",
    "admin_billing_run.html",
    "billing_run_progress.html",
];

#[derive(Clone)]
pub struct Templates {
    env: Arc<Environment<'static>>,
}

fn lang_of(state: &State) -> Lang {
    state
        .lookup("page")
        .and_then(|p| p.get_attr("lang").ok())
        .and_then(|l| l.as_str().and_then(Lang::parse))
        .unwrap_or(Lang::En)
}

/// `t('key', name=value, ...)`; `fallback=` is shown when the key has no
/// text (a species the files do not name).
fn t(state: &State, key: &str, kwargs: Kwargs) -> Result<String, Error> {
    let fallback: Option<String> = kwargs.get("fallback")?;
    let mut args = Vec::new();
    for name in kwargs.args().filter(|n| *n != "fallback") {
        let v: JValue = kwargs.get(name)?;
        let fluent = match v.as_i64() {
            Some(n) => FluentValue::from(n),
            None => FluentValue::from(v.to_string()),
        };
        args.push((name, fluent));
    }
    let text = lang_of(state).text(key, &args);
    Ok(match fallback {
        Some(f) if text == key => f,
        _ => text,
    })
}

fn money(state: &State, minor: i64, currency: &str) -> String {
    lang_of(state).money(minor, currency)
}

fn amount_input(state: &State, minor: i64, currency: &str) -> String {
    lang_of(state).amount_input(minor, currency)
}

fn date(state: &State, unix_ms: JValue, time_zone: Option<&str>) -> Result<String, Error> {
    if unix_ms.is_none() || unix_ms.is_undefined() {
        return Ok(String::new());
    }
    let ms = i64::try_from(unix_ms)
        .map_err(|_| Error::new(ErrorKind::InvalidOperation, "date wants Unix ms"))?;
    Ok(lang_of(state).date_time(ms, time_zone.unwrap_or("UTC")))
}

impl Templates {
    pub fn new() -> Self {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            env.add_template(name, source)
                .unwrap_or_else(|e| panic!("template {name}: {e}"));
        }
        env.add_function("t", t);
        env.add_filter("money", money);
        env.add_filter("amount_input", amount_input);
        env.add_filter("date", date);
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Lenient);
        Self { env: Arc::new(env) }
    }

    /// Renders `name` with `data` and the page frame.
    pub fn page(&self, name: &str, frame: Frame, data: Value) -> Result<Response, ConsoleError> {
        self.page_with_status(StatusCode::OK, name, frame, data)
    }

    pub fn page_with_status(
        &self,
        status: StatusCode,
        name: &str,
        frame: Frame,
        mut data: Value,
    ) -> Result<Response, ConsoleError> {
        let template = self
            .env
            .get_template(name)
            .map_err(|e| ConsoleError::Internal(e.to_string()))?;
        if let Value::Object(map) = &mut data {
            map.insert("page".into(), frame.to_json());
        }
        let html = template
            .render(data)
            .map_err(|e| ConsoleError::Internal(format!("{e:#}")))?;
        Ok((status, Html(html)).into_response())
    }

    /// A page saying what went wrong, in the reader's language.
    pub fn error(&self, frame: Frame, error: &ConsoleError) -> Response {
        let lang = frame.lang;
        let message = match error {
            ConsoleError::Forbidden => lang.t("error-forbidden"),
            ConsoleError::Csrf => lang.t("error-csrf"),
            ConsoleError::NotFound(_) => lang.t("error-not-found"),
            other => other.to_string(),
        };
        self.page_with_status(
            error.status(),
            "error.html",
            frame,
            json!({ "title": lang.t("error-title"), "message": message }),
        )
        .unwrap_or_else(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response())
    }
}

/// What every page shows around its content.
pub struct Frame {
    pub lang: Lang,
    pub csrf: String,
    pub signed_in: bool,
    pub admin: bool,
    pub key_name: String,
    /// The menu entry to mark as current.
    pub nav: &'static str,
    /// This page's path, for the language switch to come back to.
    pub path: String,
    pub flash: Option<Flash>,
}

impl Frame {
    pub fn of(signed: &Signed, nav: &'static str, path: String, flash: Option<Flash>) -> Self {
        Self {
            lang: signed.lang,
            csrf: signed.session.csrf.clone(),
            signed_in: true,
            admin: signed.session.is_admin(),
            key_name: signed.session.key_name.clone(),
            nav,
            path,
            flash,
        }
    }

    fn to_json(&self) -> Value {
        json!({
            "lang": self.lang.code(),
            "csrf": self.csrf,
            "signed_in": self.signed_in,
            "admin": self.admin,
            "key_name": self.key_name,
            "nav": self.nav,
            "path": self.path,
            "flash": self.flash,
            "other_lang": match self.lang { Lang::En => "da", Lang::Da => "en" },
        })
    }
}
