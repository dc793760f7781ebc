//! `/openapi.json` describes every route the router serves, and no other; and
//! who may call each operation (its `x-vetpay-role`) is who the server lets in.

mod support;

use std::collections::BTreeSet;

use serde_json::Value;
use support::{api_error, clinic_api, serve, stores};

/// Every operation of the document: (method, path, operation).
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut all = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            all.push((method.clone(), path.clone(), op.clone()));
        }
    }
    all
}

/// Every `$ref` anywhere in `value`.
fn refs<'a>(value: &'a Value, found: &mut BTreeSet<&'a str>) {
    match value {
        Value::Object(map) => {
            for (key, item) in map {
                match (key.as_str(), item) {
                    ("$ref", Value::String(r)) => {
                        found.insert(r);
                    }
                    _ => refs(item, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| refs(i, found)),
        _ => {}
    }
}

#[tokio::test]
async fn the_description_and_the_router_agree() {
    let api = clinic_api(stores().await.remove(0)).await;
    let http = &api.http;
    let url = &api.url;

    let served: Value = http
        .get(format!("{url}/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // `vetpay openapi` prints the same document.
    let built = serde_json::to_value(vetpay::api::openapi::document()).unwrap();
    assert_eq!(served, built);
    let doc = served;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));

    let ops = operations(&doc);
    let mut ids = BTreeSet::new();
    for (method, path, op) in &ops {
        let at = format!("{method} {path}");
        assert!(
            ids.insert(op["operationId"].as_str().unwrap().to_owned()),
            "{at}"
        );
        assert!(op["responses"]["4XX"].is_object(), "{at}");
        assert!(op["responses"]["5XX"].is_object(), "{at}");
        for p in op["parameters"].as_array().into_iter().flatten() {
            assert!(p["schema"]["type"].is_string(), "{at}: {p}");
        }
        for segment in path.split('/').filter(|s| s.starts_with('{')) {
            let name = segment.trim_matches(['{', '}']);
            assert!(
                op["parameters"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|p| p["name"] == name
                        && p["in"] == "path"
                        && p["schema"]["type"] == "string"),
                "{at}: path parameter {name}"
            );
        }
        let role = op["x-vetpay-role"].as_str().unwrap_or_default();
        assert!(["public", "staff", "admin"].contains(&role), "{at}: {role}");
        assert_eq!(op["security"].is_array(), role != "public", "{at}");

        // Served: never the fallback, never "method not allowed"; without a
        // key, public operations answer and the others ask for one.
        let concrete = path.replace('{', "x").replace('}', "");
        let response = http
            .request(
                method.to_uppercase().parse().unwrap(),
                format!("{url}{concrete}"),
            )
            .send()
            .await
            .unwrap();
        let status = response.status();
        assert_ne!(status, 405, "{at}");
        if role == "public" {
            assert_eq!(status, 200, "{at}");
        } else {
            let (status, code, message) = api_error(response).await;
            assert_eq!(
                (status.as_u16(), code.as_str()),
                (401, "unauthorized"),
                "{at}: {message}"
            );
        }
    }

    // Who may call what, as the server decides it: a staff key is refused
    // (403 forbidden) on every admin operation and on no other.
    for (method, path, op) in &ops {
        if op["x-vetpay-role"] == "public" {
            continue;
        }
        let at = format!("{method} {path}");
        let concrete = path.replace('{', "x").replace('}', "");
        let response = http
            .request(
                method.to_uppercase().parse().unwrap(),
                format!("{url}{concrete}"),
            )
            .bearer_auth(api.staff())
            .send()
            .await
            .unwrap();
        let forbidden = if response.status() == 403 {
            let (_, code, _) = api_error(response).await;
            code == "forbidden"
        } else {
            false
        };
        assert_eq!(forbidden, op["x-vetpay-role"] == "admin", "{at}");
    }

    // Every route goes through `routes!`, so the router serves nothing the
    // document does not describe: no route is added around it.
    let source = include_str!("../src/api/mod.rs");
    for bypass in [".route(", ".route_service(", ".nest(", ".merge("] {
        assert!(
            !source.contains(bypass),
            "mod.rs adds a route with {bypass}"
        );
    }

    // Every schema named exists.
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let mut named = BTreeSet::new();
    refs(&doc, &mut named);
    for r in named {
        let name = r.strip_prefix("#/components/schemas/").unwrap();
        assert!(schemas.contains_key(name), "schema {name} missing");
    }

    // Spelled as the API speaks, every body described.
    assert_eq!(
        schemas["Method"]["enum"],
        serde_json::json!([
            "card",
            "saved_card",
            "cash",
            "bank_transfer",
            "client_credit",
            "other"
        ])
    );
    assert_eq!(schemas["PaymentStatus"]["enum"][0], "processing");
    for path in [
        "/v1/settings",
        "/v1/departments/{id}/settings",
        "/v1/plugins/{id}/settings",
        "/v1/departments/{id}/plugins/{plugin}/settings",
    ] {
        let body = &doc["paths"][path]["put"]["requestBody"]["content"]["application/json"];
        assert_eq!(
            body["schema"]["$ref"], "#/components/schemas/SettingValues",
            "{path}"
        );
    }
    assert_eq!(schemas["SettingValues"]["type"], "object");
    assert!(
        doc["paths"]["/v1/plugins"]["post"]["requestBody"]["content"]["application/wasm"]
            .is_object()
    );
    for (path, body) in [
        ("/v1/invoices/{id}/payments", "PayInvoice"),
        ("/v1/clients/{id}/prepayments", "Prepayment"),
        ("/v1/payments/{id}/refunds", "RefundRequest"),
    ] {
        let op = &doc["paths"][path]["post"];
        let params = op["parameters"].as_array().unwrap();
        assert!(
            params
                .iter()
                .any(|p| p["name"] == "Idempotency-Key" && p["in"] == "header"),
            "{path}"
        );
        assert_eq!(
            op["requestBody"]["content"]["application/json"]["schema"]["$ref"],
            format!("#/components/schemas/{body}")
        );
    }
    let events = &doc["paths"]["/v1/payments/{id}/events"]["get"]["responses"]["200"]["content"];
    // Each event: its name, and its data a PaymentEvent as JSON.
    let event = &events["text/event-stream"]["schema"];
    assert_eq!(
        event["properties"]["event"]["enum"],
        serde_json::json!(["stage", "status"])
    );
    let data = &event["properties"]["data"];
    assert_eq!(data["contentMediaType"], "application/json");
    assert_eq!(
        data["contentSchema"]["$ref"],
        "#/components/schemas/PaymentEvent"
    );
    assert!(schemas.contains_key("PaymentEvent"));
}

/// Found by Schemathesis against PostgreSQL, which cannot store a NUL
/// character: a `%00` in a path or query string, or a NUL in a JSON body, is
/// the caller's mistake (400/422 saying so) on every backend, never a 500.
#[tokio::test]
async fn nul_characters_are_refused_not_a_server_error() {
    for store in stores().await {
        let (_, admin) = store.create_organisation("Clinic").await.unwrap();
        let url = serve(store).await;
        let http = reqwest::Client::new();
        let key = admin.key.as_str();
        for path in ["/v1/clients/a%00b", "/v1/invoices?client_id=a%00b"] {
            let response = http
                .get(format!("{url}{path}"))
                .bearer_auth(key)
                .send()
                .await
                .unwrap();
            let (status, code, message) = api_error(response).await;
            assert_eq!(
                (status.as_u16(), code.as_str()),
                (400, "bad_request"),
                "{path}"
            );
            assert!(message.contains("NUL"), "{message}");
        }
        for (method, path, body) in [
            (
                "POST",
                "/v1/clients",
                serde_json::json!({ "name": "a\u{0}b" }),
            ),
            (
                "POST",
                "/v1/departments",
                serde_json::json!({
                    "name": "a\u{0}b", "country": "DK", "currency": "DKK",
                    "time_zone": "Europe/Copenhagen"
                }),
            ),
            (
                "PUT",
                "/v1/settings",
                serde_json::json!({ "health-plan-term": "a\u{0}b" }),
            ),
        ] {
            let response = http
                .request(method.parse().unwrap(), format!("{url}{path}"))
                .bearer_auth(key)
                .json(&body)
                .send()
                .await
                .unwrap();
            let (status, code, message) = api_error(response).await;
            assert_eq!((status.as_u16(), code.as_str()), (422, "invalid"), "{path}");
            assert!(message.contains("NUL"), "{path}: {message}");
        }
    }
}
