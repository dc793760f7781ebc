//! Plugin administration over HTTP, on SQLite and on PostgreSQL: install the
//! real Gravity and Nets components, enable them per market, refusals.

mod support;

use reqwest::StatusCode;
use serde_json::Value;
use support::{api_error, serve, stores};
use vetpay::store::Role;

#[tokio::test]
async fn plugins_are_installed_and_enabled_per_market() {
    let gravity = std::fs::read(vetpay_plugin_artifacts::GRAVITY).unwrap();
    let nets = std::fs::read(vetpay_plugin_artifacts::NETS).unwrap();
    for store in stores().await {
        let (org, admin) = store.create_organisation("Clinic").await.unwrap();
        let staff = store
            .create_api_key(&org.id, Role::Staff, "desk")
            .await
            .unwrap();
        let (_, other) = store.create_organisation("Other").await.unwrap();
        let base = serve(store).await;
        let http = reqwest::Client::new();
        let upload = |key: String, body: Vec<u8>| {
            let http = http.clone();
            let url = format!("{base}/v1/plugins");
            async move {
                http.post(url)
                    .bearer_auth(key)
                    .header("content-type", "application/wasm")
                    .body(body)
                    .send()
                    .await
                    .unwrap()
            }
        };

        let installed = upload(admin.key.clone(), gravity.clone()).await;
        assert_eq!(installed.status(), StatusCode::CREATED);
        let body: Value = installed.json().await.unwrap();
        assert_eq!(body["id"], "gravity");
        assert_eq!(body["sha256"].as_str().unwrap().len(), 64);
        assert_eq!(
            upload(admin.key.clone(), nets.clone()).await.status(),
            StatusCode::CREATED
        );

        // Staff cannot install; junk is refused with the reason; nothing is added.
        assert_eq!(
            upload(staff.key.clone(), nets.clone()).await.status(),
            StatusCode::FORBIDDEN
        );
        let junk = upload(admin.key.clone(), b"not a plugin".to_vec()).await;
        assert_eq!(junk.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            api_error(junk)
                .await
                .2
                .contains("not a valid vetpay plugin")
        );

        let enable = |id: &str, country: &str| {
            let http = http.clone();
            let url = format!("{base}/v1/plugins/{id}/markets/{country}");
            let key = admin.key.clone();
            async move { http.put(url).bearer_auth(key).send().await.unwrap() }
        };
        assert_eq!(enable("gravity", "US").await.status(), StatusCode::OK);
        assert_eq!(
            enable("nets-connect-cloud", "DK").await.status(),
            StatusCode::OK
        );
        let refused = enable("gravity", "DK").await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let message = api_error(refused).await.2;
        assert!(message.contains("serves US only"), "{message}");
        assert_eq!(enable("stripe", "US").await.status(), StatusCode::NOT_FOUND);

        let list: Value = http
            .get(format!("{base}/v1/plugins"))
            .bearer_auth(&staff.key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let markets: Vec<(String, Value)> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["id"].as_str().unwrap().to_owned(),
                    p["enabled_markets"].clone(),
                )
            })
            .collect();
        assert_eq!(
            markets,
            vec![
                ("gravity".to_owned(), serde_json::json!(["US"])),
                ("nets-connect-cloud".to_owned(), serde_json::json!(["DK"]))
            ]
        );

        let disabled = http
            .delete(format!("{base}/v1/plugins/gravity/markets/US"))
            .bearer_auth(&admin.key)
            .send()
            .await
            .unwrap();
        assert_eq!(disabled.status(), StatusCode::NO_CONTENT);

        // Another organisation sees none of it.
        let theirs: Value = http
            .get(format!("{base}/v1/plugins"))
            .bearer_auth(&other.key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(theirs.as_array().unwrap().is_empty());
    }
}

/// Labels are shown in the caller's language (Accept-Language), else in
/// English; every language of the manifest stays in the answer.
#[tokio::test]
async fn setting_labels_follow_accept_language_and_fall_back_to_english() {
    let api = support::clinic_api(stores().await.remove(0)).await;
    let settings = |language: Option<&'static str>| {
        let mut r = api.get(api.admin(), "/v1/plugins/nets-connect-cloud/settings");
        if let Some(l) = language {
            r = r.header("Accept-Language", l);
        }
        async move {
            let r = r.send().await.unwrap();
            assert_eq!(r.status(), StatusCode::OK);
            // Caches keep one answer per language.
            assert_eq!(r.headers()["vary"], "Accept-Language");
            let list: Value = r.json().await.unwrap();
            list.as_array()
                .unwrap()
                .iter()
                .find(|s| s["key"] == "base-url")
                .cloned()
                .unwrap()
        }
    };
    let swedish = settings(Some("sv-SE, en;q=0.5")).await;
    assert_eq!(
        swedish["label_shown"],
        serde_json::json!({"language": "sv", "text": "Connect@Cloud URL"})
    );
    assert_eq!(swedish["help_shown"]["language"], "sv");
    assert!(
        swedish["help_shown"]["text"]
            .as_str()
            .unwrap()
            .starts_with("Testmiljö"),
        "{swedish}"
    );
    assert_eq!(swedish["label"]["fi"], "Connect@Cloud-URL");
    assert_eq!(swedish["label"]["da"], "Connect@Cloud URL");
    let danish = settings(Some("nl-BE, da;q=0.7")).await;
    assert_eq!(danish["help_shown"]["language"], "da");
    for fallback in [Some("nl-BE, fr;q=0.8"), Some("*"), None] {
        let shown = settings(fallback).await;
        assert_eq!(shown["label_shown"]["language"], "en", "{fallback:?}");
        assert_eq!(shown["label_shown"]["text"], "Connect@Cloud URL");
        assert_eq!(shown["help_shown"]["language"], "en", "{fallback:?}");
    }
}
