//! Connect@Cloud's REST API **[known]**: `POST /v1/login` with a JWT in answer,
//! `Authorization: Bearer <token>` afterwards. The token is kept in the host
//! cache until shortly before its `exp`, so that it never expires during a
//! transaction and most calls need no login.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use vetpay_sdk::prelude::*;

const TOKEN_KEY: &str = "jwt";

pub struct Client {
    pub base: String,
    username: String,
    password: String,
    refresh_margin: Duration,
}

/// Seconds since the epoch, on the host's clock (a test's virtual clock).
fn now() -> u64 {
    vetpay_sdk::wall_clock_ms() / 1000
}

/// The `exp` claim of a JWT (seconds since the epoch).
pub fn expiry(jwt: &str) -> Option<u64> {
    let claims = jwt.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(claims.trim_end_matches('=')).ok()?;
    serde_json::from_slice::<Value>(&bytes)
        .ok()?
        .get("exp")?
        .as_u64()
}

impl Client {
    pub fn from(ctx: &Context) -> Result<Self, PluginError> {
        ctx.require("password")?;
        Ok(Self {
            base: ctx.require("base-url")?.trim_end_matches('/').to_owned(),
            username: ctx.require("username")?.to_owned(),
            // A placeholder: the host fills in the password on the way out.
            password: ctx.secret("password"),
            refresh_margin: Duration::from_secs(ctx.require_u64("token-refresh-margin-s")?),
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}/v1/{path}", self.base)
    }

    fn login(&self) -> Result<String, PluginError> {
        let body = json!({ "username": self.username, "password": self.password });
        let response = http::Request::post(self.url("login")).json(&body).send()?;
        match response.status {
            200 => {}
            401 | 403 => {
                return Err(PluginError::configuration(
                    "password",
                    "Connect@Cloud refused the username or password",
                ));
            }
            _ => return Err(unexpected(&response)),
        }
        let token = response
            .json::<Value>()?
            .get("token")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| PluginError::other("the login answer has no token"))?;
        let exp =
            expiry(&token).ok_or_else(|| PluginError::other("the login token has no exp claim"))?;
        // Kept until `refresh_margin` before it expires, so no transaction ever
        // starts with a token about to run out.
        let keep = exp
            .saturating_sub(now())
            .saturating_sub(self.refresh_margin.as_secs());
        if keep > 0 {
            cache::set(TOKEN_KEY, token.as_bytes(), Duration::from_secs(keep));
        }
        Ok(token)
    }

    fn token(&self) -> Result<String, PluginError> {
        match cache::get_string(TOKEN_KEY) {
            Some(token) => Ok(token),
            None => self.login(),
        }
    }

    /// Sends an authenticated request; a 401 (token refused or expired) means
    /// nothing was processed, so it logs in again and sends once more.
    pub fn send(&self, build: impl Fn() -> http::Request) -> Result<http::Response, http::Error> {
        let token = self.token().map_err(as_http_error)?;
        let response = build().bearer(&token).send()?;
        if response.status != 401 {
            return Ok(response);
        }
        log::info("Connect@Cloud refused the token; logging in again");
        cache::delete(TOKEN_KEY);
        let token = self.login().map_err(as_http_error)?;
        build().bearer(&token).send()
    }
}

/// A login failure seen by a caller that works with HTTP errors: it was not
/// sent, because the request itself never left without a token.
fn as_http_error(e: PluginError) -> http::Error {
    match e {
        PluginError::Configuration(c) => http::Error::Denied(http::Denied {
            destination: String::new(),
            setting: c.setting,
            message: c.message,
        }),
        other => http::Error::NotSent(format!("login failed: {other:?}")),
    }
}

/// A status other than success or a refusal with a body.
pub fn unexpected(response: &http::Response) -> PluginError {
    let body: String = response.text().chars().take(300).collect();
    PluginError::other(format!(
        "Connect@Cloud answered HTTP {}: {body}",
        response.status
    ))
}
