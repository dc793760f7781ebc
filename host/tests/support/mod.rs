//! Databases for the suites: embedded SQLite, and PostgreSQL. With
//! `VETPAY_TEST_POSTGRES_URL` set (as `.ci/run` does) PostgreSQL is required;
//! without it the default local URL is tried, so that `cargo test` also works on
//! a machine with only Rust. Each PostgreSQL store gets a schema of its own.

// Each suite compiles this module and uses only part of it.
#![allow(dead_code)]

use vetpay::api::{AppState, router};
use vetpay::plugin::{Runtime, RuntimeConfig};
use vetpay::store::{Backend, Store};

/// Serves the API over `store` on a loopback port; returns its base URL.
pub async fn serve(store: Store) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let runtime = Runtime::new(RuntimeConfig {
        compiled_cache_dir: Some(std::env::temp_dir().join("vetpay-test-compiled-cache")),
        ..RuntimeConfig::default()
    })
    .expect("the plugin runtime starts");
    let app = router(AppState { store, runtime });
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
    url
}

const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The PostgreSQL to test against, or `None` where none is configured or running.
async fn postgres() -> Option<(String, Store)> {
    let (url, required) = match std::env::var("VETPAY_TEST_POSTGRES_URL") {
        Ok(url) => (url, true),
        Err(_) => (DEFAULT_POSTGRES.to_owned(), false),
    };
    match Store::connect(&url).await {
        Ok(store) => Some((url, store)),
        Err(e) if required => panic!("VETPAY_TEST_POSTGRES_URL={url} is not usable: {e}"),
        Err(e) => {
            eprintln!(
                "note: no PostgreSQL at {url} ({e}); set VETPAY_TEST_POSTGRES_URL to test it"
            );
            None
        }
    }
}

/// A store on each backend, each empty.
pub async fn stores() -> Vec<Store> {
    let dir = std::env::temp_dir().join(format!("vetpay-store-{}", uuid::Uuid::new_v4().simple()));
    let sqlite = Store::sqlite_in(&dir).await.expect("embedded SQLite opens");
    assert_eq!(sqlite.backend(), Backend::Sqlite);

    let Some((base, admin)) = postgres().await else {
        return vec![sqlite];
    };
    // A schema of its own, so that concurrent tests never see each other's rows.
    let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
    admin
        .execute_raw(&format!("CREATE SCHEMA {schema}"))
        .await
        .unwrap();
    let separator = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{separator}options=-c%20search_path%3D{schema}");
    let postgres = Store::connect(&url).await.expect("PostgreSQL opens");
    assert_eq!(postgres.backend(), Backend::Postgres);
    vec![sqlite, postgres]
}

/// Status, code and message of an API error, after checking the body has the
/// documented shape `{"error":{"code","message"}}` with a message.
pub async fn api_error(response: reqwest::Response) -> (reqwest::StatusCode, String, String) {
    let status = response.status();
    let body: serde_json::Value = response.json().await.expect("errors are JSON");
    let code = body["error"]["code"]
        .as_str()
        .expect("error.code")
        .to_owned();
    let message = body["error"]["message"]
        .as_str()
        .expect("error.message")
        .to_owned();
    assert!(!message.is_empty());
    (status, code, message)
}
