//! `vetpay vault new-key` and `vetpay vault rekey`: rotating the operator key
//! re-seals every plugin secret, on SQLite and PostgreSQL.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sqlx::Row;
use vetpay::vault::{self, Keyring};

fn vetpay(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vetpay"))
        .args(args)
        .env_remove("VETPAY_SECRET_KEY")
        .env_remove("VETPAY_SECRET_KEY_FILE")
        .env_remove("VETPAY_PREVIOUS_SECRET_KEY_FILES")
        .output()
        .expect("the vetpay binary runs")
}

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vetpay-vault-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn new_key_file(path: &Path) -> [u8; vault::KEY_BYTES] {
    let out = vetpay(&["vault", "new-key", "--out", path.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty(), "the key is not printed when written");
    vault::read_key_file(path).expect("a private key file that parses")
}

#[test]
fn new_key_prints_a_fresh_key_or_writes_a_private_file_once() {
    let first = vetpay(&["vault", "new-key"]);
    let second = vetpay(&["vault", "new-key"]);
    assert!(first.status.success());
    let first = String::from_utf8(first.stdout).unwrap();
    let second = String::from_utf8(second.stdout).unwrap();
    assert_eq!(first.trim().len(), 64, "{first}");
    assert!(vault::parse_key(&first).is_ok());
    assert_ne!(first, second);

    let dir = temp_dir();
    let path = dir.join("operator.key");
    new_key_file(&path);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let before = std::fs::read(&path).unwrap();
    let again = vetpay(&["vault", "new-key", "--out", path.to_str().unwrap()]);
    assert!(
        !again.status.success(),
        "an existing key file is never replaced"
    );
    assert_eq!(std::fs::read(&path).unwrap(), before);
    std::fs::remove_dir_all(dir).ok();
}

/// Every secret plugin setting, as stored.
async fn secret_rows(url: &str) -> Vec<(String, String, String, String, String)> {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url).await.unwrap();
    let rows = sqlx::query(
        "SELECT organisation_id, plugin_id, department_id, key, value FROM plugin_settings \
         WHERE key IN ('oid', 'auth-token', 'password') ORDER BY plugin_id, key",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    pool.close().await;
    rows.iter()
        .map(|r| {
            (
                r.get("organisation_id"),
                r.get("plugin_id"),
                r.get("department_id"),
                r.get("key"),
                r.get("value"),
            )
        })
        .collect()
}

fn context(row: &(String, String, String, String, String)) -> String {
    format!("plugin_settings:{}:{}:{}:{}", row.0, row.1, row.2, row.3)
}

#[tokio::test]
async fn rekey_reseals_every_secret_under_the_new_primary_key() {
    for (url, store) in support::databases().await {
        // The demo's secrets, sealed under the suite's key.
        let api = support::clinic_api(store).await;
        drop(api);
        let dir = temp_dir();
        let old_file = dir.join("old.key");
        {
            use std::io::Write;
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut f = options.open(&old_file).unwrap();
            writeln!(f, "{}", support::secret_key()).unwrap();
        }
        let new_file = dir.join("new.key");
        let new_key = new_key_file(&new_file);
        let old_ring = support::keyring();
        let new_ring = Keyring::new(new_key, Vec::new());

        let before = secret_rows(&url).await;
        assert_eq!(before.len(), 3, "{before:?}");
        for row in &before {
            assert!(old_ring.is_current(&row.4), "{row:?}");
        }

        // Without the old key the values cannot be opened: a typed refusal.
        let refused = vetpay(&[
            "vault",
            "rekey",
            "--database",
            &url,
            "--secret-key-file",
            new_file.to_str().unwrap(),
        ]);
        assert!(!refused.status.success());
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(stderr.contains(old_ring.primary_id()), "{stderr}");
        assert_eq!(secret_rows(&url).await, before, "nothing changed");

        let out = vetpay(&[
            "vault",
            "rekey",
            "--database",
            &url,
            "--secret-key-file",
            new_file.to_str().unwrap(),
            "--previous-key-file",
            old_file.to_str().unwrap(),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains(&format!(
                "re-sealed 3 secret(s) under key {}",
                new_ring.primary_id()
            )),
            "{stdout}"
        );

        let after = secret_rows(&url).await;
        assert_eq!(after.len(), 3);
        for row in &after {
            assert!(new_ring.is_current(&row.4), "{row:?}");
            let opened = new_ring.open(&row.4, &context(row)).unwrap();
            let expected = match row.3.as_str() {
                "oid" => vetpay::demo::GRAVITY_OID,
                "auth-token" => vetpay::demo::GRAVITY_TOKEN,
                _ => vetpay::demo::NETS_PASSWORD,
            };
            assert_eq!(&*opened, expected);
            assert!(matches!(
                old_ring.open(&row.4, &context(row)),
                Err(vault::VaultError::UnknownKey(_))
            ));
        }

        // Again: nothing left to do; the old key is no longer needed.
        let out = vetpay(&[
            "vault",
            "rekey",
            "--database",
            &url,
            "--secret-key-file",
            new_file.to_str().unwrap(),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("re-sealed 0 secret(s)"),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert_eq!(secret_rows(&url).await, after);
        std::fs::remove_dir_all(dir).ok();
    }
}
