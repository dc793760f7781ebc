//! Databases for the suites: embedded SQLite, and PostgreSQL. With
//! `VETPAY_TEST_POSTGRES_URL` set (as `.ci/run` does) PostgreSQL is required;
//! without it the default local URL is tried, so that `cargo test` also works on
//! a machine with only Rust. Each PostgreSQL store gets a schema of its own.

// Each suite compiles this module and uses only part of it.
#![allow(dead_code)]

pub mod crash;

use vetpay::api::{AppState, router};
use vetpay::plugin::RuntimeConfig;
use vetpay::store::{Backend, Store};

/// Serves the API over `store` on a loopback port; returns its base URL.
pub async fn serve(store: Store) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let clinic = vetpay::server::clinic(
        store,
        RuntimeConfig {
            compiled_cache_dir: Some(std::env::temp_dir().join("vetpay-test-compiled-cache")),
            network: loopback(),
            ..RuntimeConfig::default()
        },
        Default::default(),
    )
    .expect("the plugin runtime starts");
    let app = router(AppState::new(clinic));
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
    url
}

/// A host of `store` as the suites run one: loopback allowed (the simulators),
/// the shared compiled-code cache, and `config`.
pub fn host_with(store: Store, config: vetpay::service::ClinicConfig) -> vetpay::service::Clinic {
    vetpay::server::clinic(
        store,
        RuntimeConfig {
            compiled_cache_dir: Some(std::env::temp_dir().join("vetpay-test-compiled-cache")),
            network: loopback(),
            ..RuntimeConfig::default()
        },
        config,
    )
    .expect("the plugin runtime starts")
}

/// [`host_with`] the default configuration.
pub fn host(store: Store) -> vetpay::service::Clinic {
    host_with(store, Default::default())
}

/// Another host of the same database, serving on a loopback port; its URL.
pub async fn second_host(store: Store) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(vetpay::server::serve(listener, host(store)));
    url
}

/// The operator key of every store a suite opens, as the `vetpay` binary is
/// given it (`VETPAY_SECRET_KEY`): hosts of one database share it.
pub fn secret_key() -> &'static str {
    static KEY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    KEY.get_or_init(|| vetpay::vault::new_key_text().to_string())
}

pub fn keyring() -> vetpay::vault::Keyring {
    let key = vetpay::vault::parse_key(secret_key()).expect("a generated key parses");
    vetpay::vault::Keyring::new(key, Vec::new())
}

/// The simulators listen on loopback: the suites allow it as an operator would.
pub fn loopback() -> vetpay::plugin::NetworkPolicy {
    vetpay::plugin::NetworkPolicy::with_loopback()
}

const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The PostgreSQL to test against, or `None` where none is configured or running.
/// Its public schema is left alone: every store gets a schema of its own.
async fn postgres() -> Option<String> {
    let (url, required) = match std::env::var("VETPAY_TEST_POSTGRES_URL") {
        Ok(url) => (url, true),
        Err(_) => (DEFAULT_POSTGRES.to_owned(), false),
    };
    match Store::execute_on(&url, "SELECT 1").await {
        Ok(()) => Some(url),
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
    databases()
        .await
        .into_iter()
        .map(|(_, store)| store)
        .collect()
}

/// As [`stores`], with the URL another process (the `vetpay` binary) opens
/// the same database with.
pub async fn databases() -> Vec<(String, Store)> {
    let dir = std::env::temp_dir().join(format!("vetpay-store-{}", uuid::Uuid::new_v4().simple()));
    let sqlite = Store::sqlite_in_with(&dir, keyring())
        .await
        .expect("embedded SQLite opens");
    assert_eq!(sqlite.backend(), Backend::Sqlite);
    let sqlite_url = format!("sqlite://{}?mode=rwc", dir.join("vetpay.db").display());

    let Some(base) = postgres().await else {
        return vec![(sqlite_url, sqlite)];
    };
    // A schema of its own, so that concurrent tests never see each other's rows.
    let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
    Store::execute_on(&base, &format!("CREATE SCHEMA {schema}"))
        .await
        .unwrap();
    let separator = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{separator}options=-c%20search_path%3D{schema}");
    let postgres = Store::connect(&url, keyring())
        .await
        .expect("PostgreSQL opens");
    assert_eq!(postgres.backend(), Backend::Postgres);
    vec![(sqlite_url, sqlite), (url, postgres)]
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

/// A seeded clinic served over HTTP: the demo's organisation, simulators and
/// plugins, with short deadlines and a brisk recovery job.
pub struct ClinicApi {
    pub url: String,
    pub demo: vetpay::demo::Demo,
    pub clinic: vetpay::service::Clinic,
    pub http: reqwest::Client,
}

pub async fn clinic_api(store: Store) -> ClinicApi {
    clinic_api_billing_every(store, None).await
}

/// As [`clinic_api`], with the billing scheduler running every `every`.
pub async fn clinic_api_billing_every(
    store: Store,
    every: Option<std::time::Duration>,
) -> ClinicApi {
    serve_seeded(store, every, None).await
}

/// As [`clinic_api`], with the operator's network policy `network` (which
/// special addresses plugins may reach).
pub async fn clinic_api_configured(
    store: Store,
    every: Option<std::time::Duration>,
    network: vetpay::plugin::NetworkPolicy,
) -> ClinicApi {
    serve_seeded(store, every, Some(network)).await
}

/// Seeds the demo and serves it; with `network`, the host under test has that
/// policy while the seed (whose End of Day reaches the Nets simulator on
/// loopback) runs on a host of its own that allows loopback.
async fn serve_seeded(
    store: Store,
    every: Option<std::time::Duration>,
    network: Option<vetpay::plugin::NetworkPolicy>,
) -> ClinicApi {
    use std::time::Duration;
    let deadlines = vetpay::plugin::Deadlines {
        process: Duration::from_secs(4),
        status: Duration::from_secs(2),
        ..vetpay::plugin::Deadlines::default()
    };
    let runtime = |network| RuntimeConfig {
        compiled_cache_dir: Some(std::env::temp_dir().join("vetpay-test-compiled-cache")),
        deadlines: deadlines.clone(),
        network,
        ..RuntimeConfig::default()
    };
    let config = vetpay::service::ClinicConfig {
        recovery: vetpay::service::RecoveryConfig {
            poll_every: Duration::from_millis(100),
            first_delay: Duration::from_millis(300),
            max_delay: Duration::from_secs(1),
            max_attempts: 40,
            batch: 50,
            attempt_lease: Duration::from_secs(5),
        },
        billing: vetpay::service::BillingConfig {
            every,
            ..Default::default()
        },
        ..Default::default()
    };
    // Every host its own name in attempt leases, as `vetpay serve --host-id`.
    let host = |network| {
        let config = vetpay::service::ClinicConfig {
            host_id: format!("test-host-{}", uuid::Uuid::new_v4().simple()),
            ..config.clone()
        };
        vetpay::server::clinic(store.clone(), runtime(network), config)
            .expect("the plugin runtime starts")
    };
    let seeder = host(loopback());
    let demo = vetpay::demo::seed(&seeder, vetpay::demo::DemoOptions::default())
        .await
        .expect("the demo seeds");
    let clinic = match network {
        Some(network) => host(network),
        None => seeder,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let served = clinic.clone();
    tokio::spawn(async move { vetpay::server::serve(listener, served).await.ok() });
    ClinicApi {
        url,
        demo,
        clinic,
        http: reqwest::Client::new(),
    }
}

impl ClinicApi {
    pub fn admin(&self) -> &str {
        &self.demo.admin_key
    }

    pub fn staff(&self) -> &str {
        &self.demo.staff_key
    }

    pub fn get(&self, key: &str, path: &str) -> reqwest::RequestBuilder {
        self.http
            .get(format!("{}{path}", self.url))
            .bearer_auth(key)
    }

    pub fn post(&self, key: &str, path: &str, body: serde_json::Value) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}{path}", self.url))
            .bearer_auth(key)
            .json(&body)
    }

    pub fn put(&self, key: &str, path: &str, body: serde_json::Value) -> reqwest::RequestBuilder {
        self.http
            .put(format!("{}{path}", self.url))
            .bearer_auth(key)
            .json(&body)
    }

    /// A request that moves money, with a fresh Idempotency-Key.
    pub fn money(&self, key: &str, path: &str, body: serde_json::Value) -> reqwest::RequestBuilder {
        self.post(key, path, body)
            .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
    }

    /// GET that must answer 200 with JSON.
    pub async fn read(&self, path: &str) -> serde_json::Value {
        let r = self.get(self.staff(), path).send().await.unwrap();
        assert_eq!(r.status(), 200, "GET {path}");
        r.json().await.unwrap()
    }

    /// Starts a payment that must be accepted; returns it.
    pub async fn pay(&self, invoice_id: &str, body: serde_json::Value) -> serde_json::Value {
        let r = self
            .money(
                self.staff(),
                &format!("/v1/invoices/{invoice_id}/payments"),
                body,
            )
            .send()
            .await
            .unwrap();
        let status = r.status();
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(status, 201, "payment refused: {body}");
        body
    }

    /// Asks to abort a running payment as its staff; the answer is 202.
    pub async fn abort(&self, payment_id: &str) {
        let r = self
            .post(
                self.staff(),
                &format!("/v1/payments/{payment_id}/abort"),
                serde_json::json!({}),
            )
            .send()
            .await
            .unwrap();
        let status = r.status();
        assert_eq!(status, 202, "abort refused: {}", r.text().await.unwrap());
    }

    /// Polls a payment until it is in one of `statuses`.
    pub async fn wait_for(&self, payment_id: &str, statuses: &[&str]) -> serde_json::Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let p = self.read(&format!("/v1/payments/{payment_id}")).await;
            if statuses.contains(&p["status"].as_str().unwrap_or_default()) {
                return p;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "payment {payment_id} never reached {statuses:?}: {p}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// Waits for a final state.
    pub async fn settled(&self, payment_id: &str) -> serde_json::Value {
        self.wait_for(
            payment_id,
            &["succeeded", "failed", "cancelled", "needs_review"],
        )
        .await
    }

    /// A new finalised invoice for a client, with one line of `amount` minor units and no VAT.
    pub async fn invoice(
        &self,
        department_id: &str,
        client_id: &str,
        amount: i64,
    ) -> serde_json::Value {
        let r = self
            .post(
                self.staff(),
                "/v1/invoices",
                serde_json::json!({
                    "department_id": department_id,
                    "client_id": client_id,
                    "kind": "counter_sale",
                    "lines": [{"description": "Food", "quantity": 1, "unit_price": amount, "vat_rate": 0}]
                }),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let draft: serde_json::Value = r.json().await.unwrap();
        let r = self
            .post(
                self.staff(),
                &format!("/v1/invoices/{}/finalise", draft["id"].as_str().unwrap()),
                serde_json::json!({}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.json().await.unwrap()
    }
}
