//! A stub of "Acme Pay", the fictional card-on-file provider of the example
//! plugin: charges with idempotency keys and lookups by reference.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use vetpay::plugin::CallEnv;

pub const API_KEY: &str = "acme_sk_test_7Hq2Lm9Xw";

#[derive(Default)]
pub struct Acme {
    /// Charges by reference (the host's request id).
    pub charges: Mutex<HashMap<String, Value>>,
    /// How many charges were really made, idempotent repeats not counted.
    pub made: Mutex<u32>,
}

fn authorised(headers: &HeaderMap) -> bool {
    headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {API_KEY}"))
}

async fn charge(
    State(acme): State<Arc<Acme>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if !authorised(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let mut charges = acme.charges.lock().unwrap();
    if let Some(existing) = charges.get(&key) {
        return Json(existing.clone()).into_response();
    }
    *acme.made.lock().unwrap() += 1;
    let declined = body["token"] == "tok_declined";
    let charge = json!({
        "id": format!("ch_{}", charges.len() + 1),
        "status": if declined { "declined" } else { "approved" },
        "amount": body["amount"],
        "currency": body["currency"],
        "last4": "4242",
        "brand": "visa",
        "decline_code": if declined { json!("51") } else { Value::Null },
    });
    charges.insert(key, charge.clone());
    Json(charge).into_response()
}

async fn lookup(
    State(acme): State<Arc<Acme>>,
    headers: HeaderMap,
    Path(reference): Path<String>,
) -> Response {
    if !authorised(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    match acme.charges.lock().unwrap().get(&reference) {
        Some(c) => Json(c.clone()).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Starts the stub on a loopback port; returns its base URL.
pub async fn start_acme() -> (String, Arc<Acme>) {
    let acme = Arc::new(Acme::default());
    let app = Router::new()
        .route("/v1/charges", post(charge))
        .route("/v1/charges/{reference}", get(lookup))
        .with_state(acme.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
    (url, acme)
}

/// A Danish call to the example plugin, pointed at the stub at `url`.
pub fn call_env(url: &str, api_key: &str) -> CallEnv {
    let mut env = CallEnv {
        market: "DK".into(),
        organisation_id: "org-acme".into(),
        ..CallEnv::default()
    };
    env.organisation_settings
        .insert("base-url".into(), url.into());
    env.organisation_settings
        .insert("api-key".into(), api_key.into());
    env.extra_allowed_hosts.push(url.parse().unwrap());
    env
}
