//! Secrets never leave the vault except on the wire to an allowed destination:
//! a Gravity payment whose secrets are markers, failing in the ways that put
//! request details into errors (a refused connection, a provider echoing the
//! credentials mangled), must show the markers nowhere: not in the payment,
//! not in its event stream, not in any log line, not in the database files.
//! On SQLite and PostgreSQL.

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use sqlx::Row;
use support::{ClinicApi, clinic_api, databases};

/// Everything the test binary logs, at info and (for vetpay) every level.
fn logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let sink = buffer.clone();
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("info,vetpay=trace"))
            .with_ansi(false)
            .with_writer(move || Sink(sink.clone()))
            .try_init()
            .expect("the test binary installs one subscriber");
        buffer
    })
    .clone()
}

struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn log_text() -> String {
    String::from_utf8_lossy(&logs().lock().unwrap()).into_owned()
}

/// A secret and how it must not appear: in any ASCII case, or base64-encoded.
struct Marker {
    /// The distinctive part, looked for in any letter case.
    core: String,
    /// Encodings that must not appear verbatim.
    encoded: Vec<String>,
}

impl Marker {
    fn new(value: &str, core: &str, also: &[String]) -> Self {
        let mut encoded = Vec::new();
        for engine in [STANDARD, URL_SAFE] {
            let e = engine.encode(value);
            encoded.push(e.trim_end_matches('=').to_owned());
            encoded.push(e);
        }
        encoded.extend(also.iter().cloned());
        Marker {
            core: core.to_ascii_lowercase(),
            encoded,
        }
    }

    fn assert_absent(&self, place: &str, text: &str) {
        assert!(
            !text.to_ascii_lowercase().contains(&self.core),
            "the secret {} is in {place}: {text}",
            self.core
        );
        for e in &self.encoded {
            assert!(!text.contains(e.as_str()), "{e} is in {place}: {text}");
        }
    }

    fn assert_absent_bytes(&self, place: &str, bytes: &[u8]) {
        let lower = bytes.to_ascii_lowercase();
        let found = |needle: &[u8]| lower.windows(needle.len()).any(|w| w == needle);
        assert!(
            !found(self.core.as_bytes()),
            "the secret {} is in {place}",
            self.core
        );
        for e in &self.encoded {
            assert!(
                !bytes.windows(e.len()).any(|w| w == e.as_bytes()),
                "{e} is in {place}"
            );
        }
    }
}

/// Sets Gravity's secrets (and other settings) for the organisation.
async fn set_gravity(api: &ClinicApi, settings: Value) {
    let r = api
        .put(api.admin(), "/v1/plugins/gravity/settings", settings)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
}

/// Pays the US invoice by card and returns the settled payment and the whole
/// event stream a dialog watching it saw.
async fn pay_by_card(api: &ClinicApi) -> (Value, String) {
    let p = api
        .pay(
            &api.demo.us_invoice.id,
            json!({"method": "card", "amount": api.demo.us_invoice.due.minor_units,
                   "terminal_id": api.demo.gravity_terminal.id}),
        )
        .await;
    let id = p["id"].as_str().unwrap().to_owned();
    let events = tokio::time::timeout(
        Duration::from_secs(30),
        api.get(api.staff(), &format!("/v1/payments/{id}/events"))
            .send()
            .await
            .unwrap()
            .text(),
    )
    .await
    .expect("the event stream ends with the final status")
    .unwrap();
    assert!(events.contains("status"), "{events}");
    (api.settled(&id).await, events)
}

/// The secret settings of Gravity as stored, on either database: every one
/// sealed, none holding a marker, and each opening to what was set.
async fn assert_sealed_at_rest(
    url: &str,
    organisation_id: &str,
    expected: &[(&str, &str, &str)],
    markers: &[&Marker],
) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url).await.unwrap();
    let rows = sqlx::query(
        "SELECT organisation_id, department_id, key, value FROM plugin_settings WHERE plugin_id = 'gravity'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let keyring = support::keyring();
    for (department, key, value) in expected {
        let row = rows
            .iter()
            .find(|r| {
                r.get::<String, _>("key") == *key
                    && r.get::<String, _>("department_id") == *department
                    && r.get::<String, _>("organisation_id") == organisation_id
            })
            .unwrap_or_else(|| panic!("no row for {key} at '{department}'"));
        let stored: String = row.get("value");
        assert!(
            vetpay::vault::Keyring::is_sealed(&stored),
            "{key} is stored in clear: {stored}"
        );
        let context = format!("plugin_settings:{organisation_id}:gravity:{department}:{key}");
        assert_eq!(&*keyring.open(&stored, &context).unwrap(), value);
        // Bound to its row: under another key's context it does not open.
        assert!(keyring.open(&stored, &format!("{context}x")).is_err());
    }
    for row in &rows {
        let stored: String = row.get("value");
        for m in markers {
            m.assert_absent("plugin_settings", &stored);
        }
    }
    pool.close().await;
}

/// Every file of the SQLite data directory, raw.
fn assert_absent_from_sqlite_files(url: &str, markers: &[&Marker]) {
    let Some(path) = url.strip_prefix("sqlite://") else {
        return;
    };
    let db = std::path::Path::new(path.split('?').next().unwrap());
    let dir = db.parent().unwrap();
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        seen += 1;
        for m in markers {
            m.assert_absent_bytes(&path.display().to_string(), &bytes);
        }
    }
    assert!(seen >= 2, "vetpay.db and its WAL were read");
}

fn assert_absent_everywhere(markers: &[&Marker], payment: &Value, events: &str, logs: &str) {
    for m in markers {
        m.assert_absent("the payment", &payment.to_string());
        m.assert_absent("the event stream", events);
        m.assert_absent("the log", logs);
    }
}

#[tokio::test]
async fn a_refused_connection_names_the_url_with_placeholders_only() {
    logs();
    for (url, store) in databases().await {
        let api = clinic_api(store).await;
        let tag = uuid::Uuid::new_v4().simple().to_string();
        let oid = format!("OidMk{tag}");
        let token = format!("TokMk{tag}");
        // A loopback port nobody listens on.
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let origin = format!("http://127.0.0.1:{closed}");
        let r = api
            .put(
                api.admin(),
                "/v1/plugins/gravity/allowed-hosts",
                json!({"hosts": [origin, api.demo.gravity.origin]}),
            )
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.text().await.unwrap());
        set_gravity(
            &api,
            json!({"oid": oid, "auth-token": token,
                   "base-url": format!("{origin}/virtualterminal/v1")}),
        )
        .await;

        let (payment, events) = pay_by_card(&api).await;
        assert_eq!(payment["status"], "failed", "{payment}");
        let text = payment.to_string();
        assert!(text.contains("could not connect"), "{text}");
        // The URL as the plugin wrote it.
        assert!(text.contains("/orgs/{{secret:oid}}/"), "{text}");
        let logs = log_text();
        assert!(
            logs.contains("plugin HTTP request failed") && logs.contains(&origin),
            "the failed request is logged"
        );

        let oid_m = Marker::new(&oid, &tag, &[]);
        let token_m = Marker::new(&token, &format!("tokmk{tag}"), &[]);
        assert_absent_everywhere(&[&oid_m, &token_m], &payment, &events, &logs);
        assert_sealed_at_rest(
            &url,
            &api.demo.organisation_id,
            &[("", "oid", &oid), ("", "auth-token", &token)],
            &[&oid_m, &token_m],
        )
        .await;
        assert_absent_from_sqlite_files(&url, &[&oid_m, &token_m]);
    }
}

#[tokio::test]
async fn credentials_a_provider_echoes_mangled_are_scrubbed_even_when_short() {
    logs();
    for (url, store) in databases().await {
        let api = clinic_api(store).await;
        let tag = uuid::Uuid::new_v4().simple().to_string();
        // Characters that each encoding writes differently.
        let oid = format!("Oid\"{tag} x");
        // Four characters, none of them a hex digit (ids in logs are hex), one
        // of them never written by base64, so the plugins' code stored as
        // base64 in the database cannot hold it by chance.
        let token = "Qz~W".to_owned();
        let org_token = format!("OrgTok{tag}");
        set_gravity(&api, json!({"oid": oid, "auth-token": org_token})).await;
        // The department's token wins over the organisation's.
        let r = api
            .put(
                api.admin(),
                &format!(
                    "/v1/departments/{}/plugins/gravity/settings",
                    api.demo.us.id
                ),
                json!({"auth-token": token}),
            )
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.text().await.unwrap());
        api.demo.gravity.echo_credentials(100);

        let (payment, events) = pay_by_card(&api).await;
        assert_eq!(payment["status"], "failed", "{payment}");
        let text = payment.to_string();
        // The provider's answer reached the payment, scrubbed.
        assert!(text.contains("refused by the provider (400)"), "{text}");
        assert!(text.contains("{{secret:"), "{text}");

        let basic = STANDARD.encode(format!("{oid}:{token}"));
        let oid_m = Marker::new(
            &oid,
            &tag,
            &[
                URL_SAFE_NO_PAD.encode(&oid),
                basic[..basic.len() - 4].to_owned(),
            ],
        );
        let token_m = Marker::new(&token, &token, &[]);
        let org_token_m = Marker::new(&org_token, &format!("orgtok{tag}"), &[]);
        let logs = log_text();
        assert!(logs.contains("gravity"), "the plugin's calls are logged");
        let all = [&oid_m, &token_m, &org_token_m];
        assert_absent_everywhere(&all, &payment, &events, &logs);
        assert_sealed_at_rest(
            &url,
            &api.demo.organisation_id,
            &[
                ("", "oid", &oid),
                ("", "auth-token", &org_token),
                (&api.demo.us.id, "auth-token", &token),
            ],
            &all,
        )
        .await;
        assert_absent_from_sqlite_files(&url, &all);
    }
}

#[tokio::test]
async fn secrets_stored_in_clear_by_an_older_version_are_sealed_at_start() {
    for (url, store) in databases().await {
        let api = clinic_api(store).await;
        let org = &api.demo.organisation_id;
        // As a version before sealing wrote it.
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(&url).await.unwrap();
        sqlx::query(
            "UPDATE plugin_settings SET value = $1 WHERE organisation_id = $2 AND plugin_id = 'gravity' AND key = 'oid'",
        )
        .bind(vetpay::demo::GRAVITY_OID)
        .bind(org)
        .execute(&pool)
        .await
        .unwrap();
        // Clear values still work until then.
        let (payment, _) = pay_by_card(&api).await;
        assert_eq!(payment["status"], "succeeded", "{payment}");

        let reopened = vetpay::store::Store::connect(&url, support::keyring())
            .await
            .unwrap();
        let stored: String = sqlx::query(
            "SELECT value FROM plugin_settings WHERE organisation_id = $1 AND plugin_id = 'gravity' AND key = 'oid' AND department_id = ''",
        )
        .bind(org)
        .fetch_one(&pool)
        .await
        .unwrap()
        .get("value");
        assert!(vetpay::vault::Keyring::is_sealed(&stored), "{stored}");
        assert_eq!(
            &*reopened
                .keyring()
                .open(&stored, &format!("plugin_settings:{org}:gravity::oid"))
                .unwrap(),
            vetpay::demo::GRAVITY_OID
        );
        // A key that does not open a value is a typed error, not the value.
        let other = vetpay::vault::Keyring::ephemeral();
        assert!(matches!(
            other.open(&stored, &format!("plugin_settings:{org}:gravity::oid")),
            Err(vetpay::vault::VaultError::UnknownKey(_))
        ));
        pool.close().await;
    }
}

#[tokio::test]
async fn a_secret_that_does_not_open_fails_the_payment_with_a_typed_reason() {
    for (url, store) in databases().await {
        let api = clinic_api(store).await;
        let org = api.demo.organisation_id.clone();
        let context = format!("plugin_settings:{org}:gravity::oid");
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(&url).await.unwrap();
        let set = |value: String| {
            let pool = pool.clone();
            let org = org.clone();
            async move {
                sqlx::query(
                    "UPDATE plugin_settings SET value = $1 WHERE organisation_id = $2 AND plugin_id = 'gravity' AND key = 'oid'",
                )
                .bind(value)
                .bind(org)
                .execute(&pool)
                .await
                .unwrap();
            }
        };
        // Sealed under a key this host does not have.
        let foreign = vetpay::vault::Keyring::ephemeral();
        set(foreign.seal("Foreign0id", &context)).await;
        let (payment, _) = pay_by_card(&api).await;
        assert_eq!(payment["status"], "failed", "{payment}");
        let text = payment.to_string();
        assert!(text.contains(foreign.primary_id()), "{text}");
        assert!(!text.to_ascii_lowercase().contains("foreign0id"), "{text}");

        // Sealed for another row: moved values do not open.
        let moved = support::keyring().seal(
            "Moved0id",
            &format!("plugin_settings:{org}:gravity::auth-token"),
        );
        set(moved).await;
        let second = api
            .invoice(&api.demo.us.id, &api.demo.us_client.id, 1200)
            .await;
        let p = api
            .pay(
                second["id"].as_str().unwrap(),
                json!({"method": "card", "amount": 1200,
                       "terminal_id": api.demo.gravity_terminal.id}),
            )
            .await;
        let payment = api.settled(p["id"].as_str().unwrap()).await;
        assert_eq!(payment["status"], "failed", "{payment}");
        let text = payment.to_string();
        assert!(text.contains("does not open"), "{text}");
        assert!(!text.to_ascii_lowercase().contains("moved0id"), "{text}");
        // No request left for the provider.
        assert!(api.demo.gravity.ledger().is_empty());

        // An API call that needs a secret at once answers with the reason.
        let nets = foreign.seal(
            "Foreign-pw",
            &format!("plugin_settings:{org}:nets-connect-cloud::password"),
        );
        sqlx::query(
            "UPDATE plugin_settings SET value = $1 WHERE organisation_id = $2 AND plugin_id = 'nets-connect-cloud' AND key = 'password'",
        )
        .bind(nets)
        .bind(&org)
        .execute(&pool)
        .await
        .unwrap();
        let r = api
            .post(
                api.admin(),
                &format!("/v1/terminals/{}/reconcile", api.demo.nets_terminals[0].id),
                json!({}),
            )
            .send()
            .await
            .unwrap();
        let (status, code, message) = support::api_error(r).await;
        assert_eq!(status, 503, "{message}");
        assert_eq!(code, "secret_unavailable");
        assert!(message.contains(foreign.primary_id()), "{message}");
        assert!(!message.to_ascii_lowercase().contains("foreign-pw"));
        pool.close().await;
    }
}
