//! API keys through HTTP on SQLite and PostgreSQL: made, listed (never the
//! secret), used, rotated with a grace period, revoked at once on another host
//! of the same database, expired; the Bearer scheme in any case; the keyed
//! hash upgrade; and `vetpay key create/list/revoke` through the binary.

mod support;

use std::process::Command;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{api_error, databases, keyring, secret_key, serve};
use vetpay::store::Store;
use vetpay::vault::{Keyring, parse_key};

struct Host {
    url: String,
    http: reqwest::Client,
}

impl Host {
    async fn new(store: Store) -> Self {
        Host {
            url: serve(store).await,
            http: reqwest::Client::new(),
        }
    }

    /// GET /v1/departments with `key`: 200 if the key works.
    async fn status_with(&self, key: &str) -> StatusCode {
        self.http
            .get(format!("{}/v1/departments", self.url))
            .bearer_auth(key)
            .send()
            .await
            .unwrap()
            .status()
    }

    async fn create(&self, admin: &str, body: Value) -> reqwest::Response {
        self.http
            .post(format!("{}/v1/api-keys", self.url))
            .bearer_auth(admin)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    async fn list(&self, admin: &str) -> (String, Vec<Value>) {
        let r = self
            .http
            .get(format!("{}/v1/api-keys", self.url))
            .bearer_auth(admin)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let text = r.text().await.unwrap();
        let list: Vec<Value> = serde_json::from_str(&text).unwrap();
        (text, list)
    }

    async fn revoke(&self, admin: &str, id: &str) -> reqwest::Response {
        self.http
            .delete(format!("{}/v1/api-keys/{id}", self.url))
            .bearer_auth(admin)
            .send()
            .await
            .unwrap()
    }

    async fn rotate(&self, admin: &str, id: &str, body: Option<Value>) -> reqwest::Response {
        let mut r = self
            .http
            .post(format!("{}/v1/api-keys/{id}/rotate", self.url))
            .bearer_auth(admin);
        if let Some(body) = body {
            r = r.json(&body);
        }
        r.send().await.unwrap()
    }
}

/// A second host of the same database, with the same keyring.
async fn second_host(url: &str) -> Store {
    Store::connect(url, keyring()).await.unwrap()
}

async fn unauthorised(response: reqwest::Response) {
    let (status, code, message) = api_error(response).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNAUTHORIZED, "unauthorized")
    );
    assert!(message.contains("expired or revoked"), "{message}");
}

#[tokio::test]
async fn keys_are_made_listed_revoked_everywhere_and_never_shown_twice() {
    for (url, store) in databases().await {
        let (_, admin) = store.create_organisation("Clinic").await.unwrap();
        let admin = admin.key;
        let a = Host::new(store.clone()).await;
        let b = Host::new(second_host(&url).await).await;

        // Made: 201, the id and the secret once; it works on both hosts.
        let r = a
            .create(
                &admin,
                json!({"role": "staff", "name": "front desk", "expires_in_days": 30}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let made: Value = r.json().await.unwrap();
        let staff = made["secret"].as_str().unwrap().to_owned();
        let staff_id = made["id"].as_str().unwrap().to_owned();
        assert_eq!(made["role"], "staff");
        assert_eq!(made["name"], "front desk");
        let expires = made["expires_at"].as_i64().unwrap();
        let created = made["created_at"].as_i64().unwrap();
        assert!(
            (expires - created - 30 * 86_400_000).abs() < 5_000,
            "{made}"
        );
        assert_eq!(a.status_with(&staff).await, StatusCode::OK);
        assert_eq!(b.status_with(&staff).await, StatusCode::OK);

        // Listed: names, roles, times; never a secret or a hash.
        let (text, list) = a.list(&admin).await;
        assert!(!text.contains(&staff), "the secret is listed: {text}");
        assert!(!text.contains(&admin));
        assert!(!text.contains("hash") && !text.contains("secret"), "{text}");
        let listed = list.iter().find(|k| k["id"] == staff_id.as_str()).unwrap();
        assert_eq!(listed["name"], "front desk");
        assert_eq!(listed["role"], "staff");
        assert_eq!(listed["expires_at"].as_i64(), Some(expires));
        assert!(listed["revoked_at"].is_null());
        assert!(
            listed["last_used_at"].as_i64().unwrap() >= created,
            "the use is recorded: {listed}"
        );
        assert_eq!(list.len(), 2);

        // The last use is written at most once a minute per key.
        let used = listed["last_used_at"].as_i64().unwrap();
        assert_eq!(a.status_with(&staff).await, StatusCode::OK);
        let again = |list: Vec<Value>| {
            list.iter().find(|k| k["id"] == staff_id.as_str()).unwrap()["last_used_at"]
                .as_i64()
                .unwrap()
        };
        assert_eq!(
            again(a.list(&admin).await.1),
            used,
            "no write within the minute"
        );
        store
            .execute_raw(&format!(
                "UPDATE api_keys SET last_used_at = last_used_at - 61000 WHERE id = '{staff_id}'"
            ))
            .await
            .unwrap();
        assert_eq!(b.status_with(&staff).await, StatusCode::OK);
        assert!(
            again(a.list(&admin).await.1) >= used,
            "written again after a minute"
        );
        assert_ne!(again(a.list(&admin).await.1), used - 61_000);

        // A staff key manages no keys.
        for r in [
            a.create(&staff, json!({"role": "admin", "name": "mine now"}))
                .await,
            a.revoke(&staff, &staff_id).await,
            a.rotate(&staff, &staff_id, None).await,
            a.http
                .get(format!("{}/v1/api-keys", a.url))
                .bearer_auth(&staff)
                .send()
                .await
                .unwrap(),
        ] {
            let (status, code, _) = api_error(r).await;
            assert_eq!(
                (status, code.as_str()),
                (StatusCode::FORBIDDEN, "forbidden")
            );
        }

        // Bad input says what to send and makes nothing.
        for (body, field) in [
            (json!({"role": "owner", "name": "x"}), "role"),
            (json!({"role": "staff", "name": " "}), "name"),
            (
                json!({"role": "staff", "name": "x", "expires_in_days": 0}),
                "expires_in_days",
            ),
            (
                json!({"role": "staff", "name": "x", "expires_at": "2001-01-01T00:00:00Z"}),
                "expires_at",
            ),
            (
                json!({"role": "staff", "name": "x", "expires_at": "tomorrow"}),
                "expires_at",
            ),
        ] {
            let (status, _, message) = api_error(a.create(&admin, body.clone()).await).await;
            assert!(status.is_client_error(), "{body}: {status}");
            assert!(message.contains(field), "{body}: {message}");
        }
        assert_eq!(a.list(&admin).await.1.len(), 2);

        // The admin's own key is not revoked by mistake.
        let own = list.iter().find(|k| k["role"] == "admin").unwrap().clone();
        let (status, code, _) =
            api_error(a.revoke(&admin, own["id"].as_str().unwrap()).await).await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::CONFLICT, "revoking_own_key")
        );
        assert_eq!(a.status_with(&admin).await, StatusCode::OK);

        // Revoked on host A: refused on host B at once.
        assert_eq!(
            a.revoke(&admin, &staff_id).await.status(),
            StatusCode::NO_CONTENT
        );
        let r = b
            .http
            .get(format!("{}/v1/departments", b.url))
            .bearer_auth(&staff)
            .send()
            .await
            .unwrap();
        unauthorised(r).await;
        assert_eq!(a.status_with(&staff).await, StatusCode::UNAUTHORIZED);
        let (_, list) = b.list(&admin).await;
        let listed = list.iter().find(|k| k["id"] == staff_id.as_str()).unwrap();
        assert!(listed["revoked_at"].as_i64().is_some(), "{listed}");
        // Again: nothing changes; an unknown id is 404.
        assert_eq!(
            a.revoke(&admin, &staff_id).await.status(),
            StatusCode::NO_CONTENT
        );
        let (status, code, _) = api_error(a.revoke(&admin, "no-such-key").await).await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::NOT_FOUND, "not_found")
        );
        let (status, _, _) = api_error(a.rotate(&admin, &staff_id, None).await).await;
        assert_eq!(status, StatusCode::CONFLICT, "a revoked key is not rotated");
    }
}

#[tokio::test]
async fn a_rotated_key_keeps_its_old_secret_for_the_grace_period_only() {
    for (url, store) in databases().await {
        let (_, admin) = store.create_organisation("Clinic").await.unwrap();
        let admin = admin.key;
        let a = Host::new(store).await;
        let b = Host::new(second_host(&url).await).await;
        let made: Value = a
            .create(&admin, json!({"role": "staff", "name": "script"}))
            .await
            .json()
            .await
            .unwrap();
        let id = made["id"].as_str().unwrap();
        let old = made["secret"].as_str().unwrap().to_owned();

        let r = a
            .rotate(&admin, id, Some(json!({"grace_seconds": 2})))
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        let rotated: Value = r.json().await.unwrap();
        assert_eq!(rotated["id"], id, "the key keeps its id");
        let new = rotated["secret"].as_str().unwrap().to_owned();
        assert_ne!(new, old);
        let until = rotated["previous_valid_until"].as_i64().unwrap();
        assert!(rotated["rotated_at"].as_i64().unwrap() + 2_000 == until);

        // During the grace period both work, on both hosts.
        for host in [&a, &b] {
            assert_eq!(host.status_with(&old).await, StatusCode::OK);
            assert_eq!(host.status_with(&new).await, StatusCode::OK);
        }
        tokio::time::sleep(Duration::from_millis(2_300)).await;
        for host in [&a, &b] {
            assert_eq!(host.status_with(&old).await, StatusCode::UNAUTHORIZED);
            assert_eq!(host.status_with(&new).await, StatusCode::OK);
        }

        // Without a body the grace is 24 h; with 0 the old secret ends at once.
        let r = a.rotate(&admin, id, None).await;
        let day: Value = r.json().await.unwrap();
        let grace =
            day["previous_valid_until"].as_i64().unwrap() - day["rotated_at"].as_i64().unwrap();
        assert_eq!(grace, 86_400_000);
        let newer = day["secret"].as_str().unwrap().to_owned();
        assert_eq!(a.status_with(&new).await, StatusCode::OK);
        let r = a
            .rotate(&admin, id, Some(json!({"grace_seconds": 0})))
            .await;
        let now: Value = r.json().await.unwrap();
        assert!(now["previous_valid_until"].is_null());
        assert_eq!(a.status_with(&newer).await, StatusCode::UNAUTHORIZED);
        assert_eq!(
            a.status_with(now["secret"].as_str().unwrap()).await,
            StatusCode::OK
        );

        // Out of bounds: 422 naming the field, nothing rotated.
        for grace in [-1, 7 * 86_400 + 1] {
            let r = a
                .rotate(&admin, id, Some(json!({"grace_seconds": grace})))
                .await;
            let (status, code, message) = api_error(r).await;
            assert_eq!((status.as_u16(), code.as_str()), (422, "invalid"));
            assert!(message.contains("grace_seconds"), "{message}");
        }
        assert_eq!(
            a.status_with(now["secret"].as_str().unwrap()).await,
            StatusCode::OK
        );
        let (status, _, _) = api_error(a.rotate(&admin, "no-such-key", None).await).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn expired_keys_are_refused_and_the_scheme_is_case_insensitive() {
    for (_, store) in databases().await {
        let (_, admin) = store.create_organisation("Clinic").await.unwrap();
        let admin = admin.key;
        let a = Host::new(store.clone()).await;
        let at = jiff::Timestamp::now() + jiff::SignedDuration::from_millis(1_500);
        let r = a
            .create(
                &admin,
                json!({"role": "staff", "name": "short", "expires_at": at.to_string()}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let made: Value = r.json().await.unwrap();
        assert_eq!(made["expires_at"].as_i64(), Some(at.as_millisecond()));
        let key = made["secret"].as_str().unwrap().to_owned();

        for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
            let r = a
                .http
                .get(format!("{}/v1/departments", a.url))
                .header("authorization", format!("{scheme} {key}"))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::OK, "{scheme}");
        }
        for header in [format!("Basic {key}"), key.clone(), "Bearer ".to_owned()] {
            let r = a
                .http
                .get(format!("{}/v1/departments", a.url))
                .header("authorization", header.clone())
                .send()
                .await
                .unwrap();
            let (status, code, _) = api_error(r).await;
            assert_eq!(
                (status, code.as_str()),
                (StatusCode::UNAUTHORIZED, "unauthorized"),
                "{header}"
            );
        }

        tokio::time::sleep(Duration::from_millis(1_700)).await;
        let r = a
            .http
            .get(format!("{}/v1/departments", a.url))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        unauthorised(r).await;
        let (status, _, _) =
            api_error(a.rotate(&admin, made["id"].as_str().unwrap(), None).await).await;
        assert_eq!(
            status,
            StatusCode::CONFLICT,
            "an expired key is not rotated"
        );
    }
}

#[tokio::test]
async fn old_hashes_are_found_and_upgraded_on_use() {
    use sha2::Digest;
    for (url, store) in databases().await {
        let (org, _) = store.create_organisation("Clinic").await.unwrap();

        // A key stored as plain SHA-256, as before the keyed hash.
        let legacy = "vpk_staff_legacy_0123456789abcdef0123456789abcdef";
        let sha = hex::encode(sha2::Sha256::digest(legacy.as_bytes()));
        store
            .execute_raw(&format!(
                "INSERT INTO api_keys (id, organisation_id, role, key_hash, name, created_at) \
                 VALUES ('legacy-key', '{}', 'staff', '{sha}', 'legacy', 1)",
                org.id
            ))
            .await
            .unwrap();
        let found = store.authenticate(legacy).await.unwrap().expect("found");
        assert_eq!(found.id, "legacy-key");
        // Re-hashed: the SHA-256 is gone from the row.
        store
            .execute_raw(&format!(
                "UPDATE api_keys SET name = 'still sha-256' WHERE key_hash = '{sha}'"
            ))
            .await
            .unwrap();
        let keys = store.api_keys(&org.id).await.unwrap();
        let row = keys.iter().find(|k| k.id == "legacy-key").unwrap();
        assert_eq!(row.name, "legacy");
        assert!(store.authenticate(legacy).await.unwrap().is_some());

        // A key hashed under the ring's old key: found by a host whose ring
        // has it as a previous key, and re-hashed under the new primary.
        let made = store
            .create_api_key(&org.id, vetpay::store::Role::Staff, "desk")
            .await
            .unwrap();
        let old = parse_key(secret_key()).unwrap();
        let new = parse_key(&vetpay::vault::new_key_text()).unwrap();
        let only_new = Store::connect(&url, Keyring::new(new, vec![]))
            .await
            .unwrap();
        assert!(only_new.authenticate(&made.key).await.unwrap().is_none());
        let rotated = Store::connect(&url, Keyring::new(new, vec![old]))
            .await
            .unwrap();
        assert_eq!(
            rotated.authenticate(&made.key).await.unwrap().unwrap().id,
            made.info.id
        );
        assert!(only_new.authenticate(&made.key).await.unwrap().is_some());
        assert!(only_new.authenticate(legacy).await.unwrap().is_none());
        assert!(rotated.authenticate(legacy).await.unwrap().is_some());
        assert!(only_new.authenticate(legacy).await.unwrap().is_some());
        assert!(
            store.authenticate(&made.key).await.unwrap().is_none(),
            "the old ring key no longer matches"
        );
    }
}

fn vetpay_cli(url: &str, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_vetpay"))
        .args(args)
        .args(["--database", url])
        .env("VETPAY_SECRET_KEY", secret_key())
        .env_remove("VETPAY_DATABASE_URL")
        .output()
        .expect("the vetpay binary runs");
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[tokio::test]
async fn the_command_line_creates_lists_and_revokes_keys() {
    for (url, store) in databases().await {
        let (org, admin) = store.create_organisation("Clinic").await.unwrap();
        let a = Host::new(store).await;

        let (ok, out, err) = vetpay_cli(
            &url,
            &[
                "key",
                "create",
                "--role",
                "staff",
                "--name",
                "billing script",
                "--expires-in-days",
                "7",
            ],
        );
        assert!(ok, "{err}");
        let secret = out
            .lines()
            .find_map(|l| l.strip_prefix("staff key    "))
            .unwrap_or_else(|| panic!("no key in {out}"))
            .to_owned();
        let id = out
            .lines()
            .find_map(|l| l.strip_prefix("key id       "))
            .unwrap_or_else(|| panic!("no id in {out}"))
            .to_owned();
        assert_eq!(a.status_with(&secret).await, StatusCode::OK);
        let (_, list) = a.list(&admin.key).await;
        let listed = list.iter().find(|k| k["id"] == id.as_str()).unwrap();
        assert_eq!(listed["name"], "billing script");
        assert!(listed["expires_at"].as_i64().is_some());

        let (ok, out, err) = vetpay_cli(&url, &["key", "list", "--organisation", &org.id]);
        assert!(ok, "{err}");
        let line = out
            .lines()
            .find(|l| l.starts_with(&id))
            .unwrap_or_else(|| panic!("{out}"));
        assert!(
            line.contains("staff") && line.contains("active") && line.ends_with("billing script"),
            "{line}"
        );
        assert!(!out.contains(&secret) && !out.contains(&admin.key), "{out}");

        let (ok, out, err) = vetpay_cli(&url, &["key", "revoke", &id]);
        assert!(ok, "{err}");
        assert!(out.contains("revoked key"), "{out}");
        assert_eq!(a.status_with(&secret).await, StatusCode::UNAUTHORIZED);
        let (ok, out, _) = vetpay_cli(&url, &["key", "list"]);
        assert!(ok);
        assert!(
            out.lines()
                .any(|l| l.starts_with(&id) && l.contains("revoked")),
            "{out}"
        );

        // Mistakes are refused with what to do.
        let (ok, _, err) = vetpay_cli(&url, &["key", "revoke", "no-such-key"]);
        assert!(!ok && err.contains("no API key"), "{err}");
        let (ok, _, err) = vetpay_cli(&url, &["key", "create", "--role", "owner", "--name", "x"]);
        assert!(!ok && err.contains("owner"), "{err}");
        let (ok, _, err) = vetpay_cli(
            &url,
            &[
                "key",
                "create",
                "--role",
                "staff",
                "--name",
                "x",
                "--organisation",
                "nope",
            ],
        );
        assert!(!ok && err.contains("cannot create the key"), "{err}");

        // The command line is in the audit trail as the operator.
        let r = a
            .http
            .get(format!("{}/v1/audit-events?target_id={id}", a.url))
            .bearer_auth(&admin.key)
            .send()
            .await
            .unwrap();
        let page: Value = r.json().await.unwrap();
        let actions: Vec<&str> = page["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        assert_eq!(actions, ["api_key.revoke", "api_key.create"]);
        assert!(page["events"][0]["actor_key_id"].is_null());
        assert_eq!(
            page["events"][0]["actor_key_name"],
            "operator (command line)"
        );
    }
}
