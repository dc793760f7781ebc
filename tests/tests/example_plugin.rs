//! The example plugin (the template for plugin authors) against a stub of its
//! fictional provider, through the real runtime: JSON over the host's HTTP,
//! secret injection, idempotency and error mapping.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use vetpay::plugin::bindings::{
    Money, Outcome, PluginError, StatusQuery, TokenCharge, TransactionKind,
};
use vetpay::plugin::{CallEnv, CallError, Disposition, Runtime};
use vetpay_tests::fixtures::config;

const API_KEY: &str = "acme_sk_test_7Hq2Lm9Xw";

#[derive(Default)]
struct Acme {
    /// Charges by reference (the host's request id).
    charges: Mutex<HashMap<String, Value>>,
    /// How many charges were really made, idempotent repeats not counted.
    made: Mutex<u32>,
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

async fn start_acme() -> (String, Arc<Acme>) {
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

fn env(url: &str, api_key: &str) -> CallEnv {
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

fn dkk(minor_units: i64) -> Money {
    Money {
        minor_units,
        currency: "DKK".into(),
    }
}

fn charge_of(id: &str, token: &str, amount: i64) -> TokenCharge {
    TokenCharge {
        request_id: id.into(),
        card_token: token.into(),
        amount: dkk(amount),
        description: None,
    }
}

#[tokio::test]
async fn the_example_plugin_charges_saved_cards_idempotently() {
    let (url, acme) = start_acme().await;
    let rt = Runtime::new(config()).unwrap();
    let plugin = rt
        .load_file(vetpay_plugin_artifacts::EXAMPLE)
        .await
        .unwrap();
    let env = env(&url, API_KEY);

    let out = plugin
        .charge_token(&env, charge_of("req-1", "tok_ok", 12550))
        .await
        .unwrap();
    let Outcome::Approved(a) = out else {
        panic!("{out:?}")
    };
    assert_eq!(a.amount.minor_units, 12550);
    assert_eq!(a.card.unwrap().masked_pan, "************4242");

    // The same request id again: Acme sees the idempotency key and charges nothing.
    let again = plugin
        .charge_token(&env, charge_of("req-1", "tok_ok", 12550))
        .await
        .unwrap();
    assert!(matches!(again, Outcome::Approved(b) if b.provider_reference == a.provider_reference));
    assert_eq!(*acme.made.lock().unwrap(), 1);

    let declined = plugin
        .charge_token(&env, charge_of("req-2", "tok_declined", 100))
        .await
        .unwrap();
    assert!(matches!(declined, Outcome::Declined(d) if d.code.as_deref() == Some("51")));

    let query = |id: &str| StatusQuery {
        request_id: id.into(),
        terminal_id: None,
        kind: TransactionKind::Purchase,
        amount: dkk(12550),
    };
    let status = plugin.status(&env, query("req-1")).await.unwrap();
    assert!(matches!(status, Outcome::Approved(_)), "{status:?}");
    let missing = plugin.status(&env, query("req-404")).await.unwrap();
    assert!(matches!(missing, Outcome::Unknown(_)), "{missing:?}");
    assert!(plugin.list_terminals(&env).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_wrong_api_key_is_a_configuration_error_naming_the_setting() {
    let (url, acme) = start_acme().await;
    let rt = Runtime::new(config()).unwrap();
    let plugin = rt
        .load_file(vetpay_plugin_artifacts::EXAMPLE)
        .await
        .unwrap();
    let err = plugin
        .charge_token(
            &env(&url, "acme_sk_wrong_key"),
            charge_of("req-9", "tok_ok", 100),
        )
        .await
        .unwrap_err();
    let CallError::Plugin {
        error: PluginError::Configuration(c),
        ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(c.setting, "api-key");
    assert_eq!(err.disposition(), Disposition::Refused);
    assert_eq!(*acme.made.lock().unwrap(), 0);
}

#[tokio::test]
async fn undeclared_exports_are_refused_without_calling_the_plugin() {
    let (url, _acme) = start_acme().await;
    let rt = Runtime::new(config()).unwrap();
    let plugin = rt
        .load_file(vetpay_plugin_artifacts::EXAMPLE)
        .await
        .unwrap();
    let err = plugin
        .reconcile(&env(&url, API_KEY), "T-1")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, CallError::NotSupported { export, .. } if export == "reconcile"),
        "{err:?}"
    );
    assert_eq!(err.disposition(), Disposition::NotSent);
}
