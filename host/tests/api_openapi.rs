//! `/openapi.json` describes every route the router serves, and no other.

mod support;

use std::collections::BTreeSet;

use support::{serve, stores};
use vetpay::api::openapi::ROUTES;

#[tokio::test]
async fn the_description_and_the_router_agree() {
    let store = stores().await.remove(0);
    let url = serve(store).await;
    let http = reqwest::Client::new();

    let doc: serde_json::Value = http
        .get(format!("{url}/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for route in ROUTES {
        let op = &doc["paths"][route.path][route.method.to_lowercase()];
        assert!(
            op.is_object(),
            "{} {} is not described",
            route.method,
            route.path
        );
        assert!(op["responses"]["4XX"].is_object());
        if route.idempotent {
            let params = op["parameters"].as_array().unwrap();
            assert!(params.iter().any(|p| p["name"] == "Idempotency-Key"));
        }
        // Served: never the fallback, never "method not allowed".
        let path = route.path.replace('{', "x").replace('}', "");
        let method = reqwest::Method::from_bytes(route.method.as_bytes()).unwrap();
        let response = http
            .request(method, format!("{url}{path}"))
            .send()
            .await
            .unwrap();
        assert_ne!(response.status(), 405, "{} {}", route.method, route.path);
        let text = response.text().await.unwrap();
        assert!(
            !text.contains("no such route"),
            "{} {} is not routed",
            route.method,
            route.path
        );
    }
    // Every schema a route names exists.
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for route in ROUTES {
        for name in route.request.into_iter().chain([route.response]) {
            let name = name.trim_start_matches('[').trim_end_matches(']');
            assert!(
                name.is_empty() || schemas.contains_key(name),
                "schema {name} missing"
            );
        }
    }

    // Spelled as the API speaks, every parameter typed, every failure described.
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
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for p in op["parameters"].as_array().into_iter().flatten() {
                assert_eq!(p["schema"]["type"], "string", "{method} {path} {p}");
            }
            assert!(op["responses"]["5XX"].is_object(), "{method} {path}");
        }
    }
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
    assert!(
        doc["paths"]["/v1/plugins"]["post"]["requestBody"]["content"]["application/wasm"]
            .is_object()
    );
    let events = &doc["paths"]["/v1/payments/{id}/events"]["get"]["responses"]["200"]["content"];
    assert_eq!(events["text/event-stream"]["schema"]["type"], "string");

    // And the router serves nothing that is not described: its source lists the paths.
    let source = include_str!("../src/api/mod.rs");
    let routed: BTreeSet<&str> = source
        .split(".route(")
        .skip(1)
        .filter_map(|s| s.trim_start().strip_prefix('"')?.split('"').next())
        .collect();
    let described: BTreeSet<&str> = ROUTES.iter().map(|r| r.path).collect();
    assert_eq!(routed, described);
}
