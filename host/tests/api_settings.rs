//! Settings over HTTP, on SQLite and on PostgreSQL: typed values with English and
//! Danish labels, organisation and department levels, and refusals that name
//! the setting and change nothing.

mod support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{api_error, serve, stores};
use vetpay::store::{NewDepartment, Role};

fn value_of(settings: &Value, key: &str) -> Value {
    settings
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"] == key)
        .unwrap_or_else(|| panic!("{key} missing from {settings}"))["value"]
        .clone()
}

#[tokio::test]
async fn settings_are_typed_labelled_and_kept_per_level() {
    for store in stores().await {
        let (org, admin) = store.create_organisation("Clinic").await.unwrap();
        let staff = store
            .create_api_key(&org.id, Role::Staff, "desk")
            .await
            .unwrap();
        let us = NewDepartment {
            name: "Boston".into(),
            country: "US".into(),
            currency: "USD".into(),
            time_zone: "America/New_York".into(),
        };
        let dep = store.create_department(&org.id, &us).await.unwrap();
        let (_, other_admin) = store.create_organisation("Other").await.unwrap();
        let base = serve(store).await;
        let http = reqwest::Client::new();
        let get = |url: String, key: String| {
            let http = http.clone();
            async move { http.get(url).bearer_auth(key).send().await.unwrap() }
        };
        let put = |url: String, key: String, body: Value| {
            let http = http.clone();
            async move {
                http.put(url)
                    .bearer_auth(key)
                    .json(&body)
                    .send()
                    .await
                    .unwrap()
            }
        };

        // Defaults, with both labels.
        let org_settings: Value = get(format!("{base}/v1/settings"), staff.key.clone())
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(
            value_of(&org_settings, "health-plans-enabled"),
            json!(false)
        );
        let plan = org_settings
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["key"] == "health-plans-enabled")
            .unwrap();
        assert_eq!(plan["label_da"], "Sundhedsplan-tilvalg");
        // And the label in the caller's language, English by default.
        assert_eq!(
            plan["label_shown"],
            json!({"language": "en", "text": "Health plan add-on"})
        );
        let danish: Value = http
            .get(format!("{base}/v1/settings"))
            .bearer_auth(staff.key.as_str())
            .header("Accept-Language", "da-DK, en;q=0.5")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let plan = danish
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["key"] == "health-plans-enabled")
            .unwrap();
        assert_eq!(
            plan["label_shown"],
            json!({"language": "da", "text": "Sundhedsplan-tilvalg"})
        );

        let dep_url = format!("{base}/v1/departments/{}/settings", dep.id);
        let changed = put(
            dep_url.clone(),
            admin.key.clone(),
            json!({ "gravity-recurring-payments": true }),
        )
        .await;
        assert_eq!(changed.status(), StatusCode::OK);
        let dep_settings: Value = get(dep_url.clone(), staff.key.clone())
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(
            value_of(&dep_settings, "gravity-recurring-payments"),
            json!(true)
        );
        assert_eq!(
            dep_settings[0]["label_en"], "Allow gravity payment for recurring payment",
            "the product's own wording"
        );

        let changed = put(
            format!("{base}/v1/settings"),
            admin.key.clone(),
            json!({ "invoice-due-days": 30, "health-plans-enabled": true }),
        )
        .await;
        let org_settings: Value = changed.json().await.unwrap();
        assert_eq!(value_of(&org_settings, "invoice-due-days"), json!(30));

        // Refusals: each names the setting, and nothing changes.
        for (url, body, mentions) in [
            (
                format!("{base}/v1/settings"),
                json!({ "invoice-due-days": "thirty" }),
                "invoice-due-days",
            ),
            (
                format!("{base}/v1/settings"),
                json!({ "invoice-due-days": 400 }),
                "0 to 365",
            ),
            (
                format!("{base}/v1/settings"),
                json!({ "gravity-recurring-payments": true }),
                "per department",
            ),
            (
                dep_url.clone(),
                json!({ "health-plans-enabled": false }),
                "for the organisation",
            ),
            (
                format!("{base}/v1/settings"),
                json!({ "invoice-due-days": 7, "colour": "blue" }),
                "no such setting",
            ),
            (format!("{base}/v1/settings"), json!([1, 2]), "JSON object"),
        ] {
            let response = put(url, admin.key.clone(), body.clone()).await;
            let (status, _, message) = api_error(response).await;
            assert!(status.is_client_error(), "{body}: {status}");
            assert!(message.contains(mentions), "{body}: {message}");
        }
        let org_settings: Value = get(format!("{base}/v1/settings"), admin.key.clone())
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(
            value_of(&org_settings, "invoice-due-days"),
            json!(30),
            "the failed changes wrote nothing"
        );

        // Staff cannot change settings; another organisation cannot see the department.
        let denied = put(
            format!("{base}/v1/settings"),
            staff.key.clone(),
            json!({ "invoice-due-days": 1 }),
        )
        .await;
        assert_eq!(denied.status(), StatusCode::FORBIDDEN);
        let hidden = get(dep_url.clone(), other_admin.key.clone()).await;
        assert_eq!(hidden.status(), StatusCode::NOT_FOUND);
    }
}
