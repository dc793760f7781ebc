//! The HTTP API's tenancy, through real HTTP on loopback, on SQLite and on
//! PostgreSQL: keys, roles, isolation between organisations, and errors that
//! say what to fix.

mod support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{api_error, serve, stores};
use vetpay::store::Role;

/// GET `url` with `key`, as JSON.
async fn get_json(http: &reqwest::Client, url: String, key: &str) -> Value {
    let response = http.get(url).bearer_auth(key).send().await.unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    response.json().await.unwrap()
}

fn department() -> Value {
    json!({ "name": "Aarhus", "country": "DK", "currency": "DKK", "time_zone": "Europe/Copenhagen" })
}

#[tokio::test]
async fn keys_roles_and_organisations_are_kept_apart() {
    for store in stores().await {
        let (a, admin_a) = store.create_organisation("Clinic A").await.unwrap();
        let (_, admin_b) = store.create_organisation("Clinic B").await.unwrap();
        let staff_a = store
            .create_api_key(&a.id, Role::Staff, "desk")
            .await
            .unwrap();
        let base = serve(store).await;
        let http = reqwest::Client::new();

        let health = http.get(format!("{base}/healthz")).send().await.unwrap();
        assert_eq!(health.status(), StatusCode::OK);

        let anonymous = http
            .get(format!("{base}/v1/departments"))
            .send()
            .await
            .unwrap();
        let (status, code, message) = api_error(anonymous).await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::UNAUTHORIZED, "unauthorized")
        );
        assert!(message.contains("Bearer"), "{message}");
        let forged = http
            .get(format!("{base}/v1/departments"))
            .bearer_auth("vpk_admin_forged")
            .send()
            .await
            .unwrap();
        assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);

        // Staff may read but not configure.
        let denied = http
            .post(format!("{base}/v1/departments"))
            .bearer_auth(&staff_a.key)
            .json(&department())
            .send()
            .await
            .unwrap();
        let (status, code, _) = api_error(denied).await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::FORBIDDEN, "forbidden")
        );

        let created = http
            .post(format!("{base}/v1/departments"))
            .bearer_auth(&admin_a.key)
            .json(&department())
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), StatusCode::CREATED);
        let dep: Value = created.json().await.unwrap();
        let id = dep["id"].as_str().unwrap();

        let listed: Value = get_json(&http, format!("{base}/v1/departments"), &staff_a.key).await;
        assert_eq!(listed.as_array().unwrap().len(), 1);

        // Organisation B sees nothing of A: its ids answer 404.
        let other = http
            .get(format!("{base}/v1/departments/{id}"))
            .bearer_auth(&admin_b.key)
            .send()
            .await
            .unwrap();
        let (status, code, _) = api_error(other).await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::NOT_FOUND, "not_found")
        );
        let mine = http
            .get(format!("{base}/v1/departments/{id}"))
            .bearer_auth(&admin_a.key)
            .send()
            .await
            .unwrap();
        assert_eq!(mine.status(), StatusCode::OK);
        let theirs: Value = get_json(&http, format!("{base}/v1/departments"), &admin_b.key).await;
        assert!(theirs.as_array().unwrap().is_empty());
    }
}

#[tokio::test]
async fn bad_input_gets_a_4xx_that_says_what_to_fix_and_changes_nothing() {
    for store in stores().await {
        let (_, admin) = store.create_organisation("Clinic").await.unwrap();
        let base = serve(store).await;
        let http = reqwest::Client::new();
        let post = |body: reqwest::Body| {
            http.post(format!("{base}/v1/departments"))
                .bearer_auth(&admin.key)
                .header("content-type", "application/json")
                .body(body)
                .send()
        };
        let mut wrong_country = department();
        wrong_country["country"] = json!("Denmark");
        let mut extra = department();
        extra["colour"] = json!("blue");
        let cases: Vec<(String, StatusCode, &str)> = vec![
            (
                wrong_country.to_string(),
                StatusCode::UNPROCESSABLE_ENTITY,
                "country",
            ),
            (
                extra.to_string(),
                StatusCode::UNPROCESSABLE_ENTITY,
                "colour",
            ),
            ("{not json".into(), StatusCode::BAD_REQUEST, "JSON"),
            (
                json!({ "name": "x" }).to_string(),
                StatusCode::UNPROCESSABLE_ENTITY,
                "country",
            ),
        ];
        for (body, expected, mentions) in cases {
            let (status, _, message) = api_error(post(body.clone().into()).await.unwrap()).await;
            assert_eq!(status, expected, "{body}: {message}");
            assert!(message.contains(mentions), "{body}: {message}");
        }
        let listed: Value = get_json(&http, format!("{base}/v1/departments"), &admin.key).await;
        assert!(listed.as_array().unwrap().is_empty(), "nothing was created");
    }
}
