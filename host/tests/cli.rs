//! `vetpay plugin inspect` on real plugin files and on files that are not
//! plugins, and `vetpay plugin check` on manifests before any build.

use std::process::{Command, Output};

fn vetpay(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vetpay"))
        .args(args)
        .output()
        .expect("the vetpay binary runs")
}

#[test]
fn inspect_prints_the_manifest_and_the_exported_contract() {
    let out = vetpay(&[
        "plugin",
        "inspect",
        vetpay_plugin_artifacts::FAULT_INJECTION,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("plugin      fault-injection (Fault injection (test plugin))"),
        "{text}"
    );
    assert!(text.contains("contract    vetpay:terminal@0.2.0"), "{text}");
    assert!(text.contains("markets     US, DK"), "{text}");
    assert!(
        text.contains("api-token") && text.contains("secret"),
        "{text}"
    );
}

#[test]
fn inspect_json_is_machine_readable() {
    let out = vetpay(&[
        "plugin",
        "inspect",
        "--json",
        vetpay_plugin_artifacts::EXAMPLE,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["manifest"]["id"], "example-acme");
    assert_eq!(json["exported_contract"], "0.2.0");
    assert_eq!(
        json["manifest"]["allowed-hosts"][0],
        "https://api.acmepay.example:443"
    );
    assert_eq!(json["sha256"].as_str().unwrap().len(), 64);
}

#[test]
fn inspect_refuses_what_is_not_a_plugin_with_a_clear_message() {
    let dir = std::env::temp_dir().join(format!("vetpay-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let junk = dir.join("junk.wasm");
    std::fs::write(&junk, b"this is not wasm").unwrap();
    let out = vetpay(&["plugin", "inspect", junk.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("is not a valid vetpay plugin: not a WebAssembly component"),
        "{err}"
    );

    let out = vetpay(&[
        "plugin",
        "inspect",
        dir.join("missing.wasm").to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn inspect_lists_the_imports_and_warns_about_denied_ones() {
    // The fault plugin reads files, opens a socket and reads the environment.
    let out = vetpay(&[
        "plugin",
        "inspect",
        vetpay_plugin_artifacts::FAULT_INJECTION,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let imports: Vec<&str> = text
        .lines()
        .skip_while(|l| *l != "imports")
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .map(str::trim)
        .collect();
    assert!(
        imports
            .iter()
            .any(|i| i.starts_with("vetpay:terminal/http@0.2.0")),
        "{text}"
    );
    assert!(
        imports
            .iter()
            .any(|i| i.starts_with("wasi:filesystem/") && i.ends_with("(denied: filesystem)")),
        "{text}"
    );
    let err = String::from_utf8(out.stderr).unwrap();
    for (level, kind) in [
        ("warning", "(filesystem)"),
        ("warning", "(sockets)"),
        // Rust's std imports the environment and exit in every plugin.
        ("note", "(process)"),
    ] {
        assert!(
            err.lines()
                .any(|l| l.starts_with(&format!("{level}: imports wasi:")) && l.contains(kind)),
            "{kind}: {err}"
        );
    }

    // A plugin that uses only the host's imports (and what std brings) gets
    // no warning.
    let out = vetpay(&["plugin", "inspect", "--json", vetpay_plugin_artifacts::NETS]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let imports = json["imports"].as_array().unwrap();
    assert!(
        imports.iter().any(|i| i == "vetpay:terminal/http@0.2.0"),
        "{json}"
    );
    let kinds: Vec<&str> = json["import_warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["process", "process"], "{json}");
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(!err.contains("warning"), "{err}");
}

/// A plugin crate's manifest, from the workspace.
fn manifest_of(plugin: &str) -> String {
    format!(
        "{}/../plugins/{plugin}/plugin.toml",
        env!("CARGO_MANIFEST_DIR")
    )
}

#[test]
fn check_validates_a_manifest_before_any_build() {
    for plugin in [
        "nets-connect-cloud",
        "gravity",
        "example",
        "fault-injection",
    ] {
        let out = vetpay(&["plugin", "check", &manifest_of(plugin)]);
        assert!(
            out.status.success(),
            "{plugin}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("a valid manifest for this host"), "{text}");
    }
    let out = vetpay(&[
        "plugin",
        "check",
        "--json",
        &manifest_of("nets-connect-cloud"),
    ]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["terminal-types"], serde_json::json!(["Connect@Cloud"]));
    assert_eq!(
        json["settings"][0]["label"]["sv"],
        "Connect@Cloud användarnamn"
    );

    let dir = std::env::temp_dir().join(format!("vetpay-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let nets = std::fs::read_to_string(manifest_of("nets-connect-cloud")).unwrap();
    let check = |name: &str, text: &str| {
        let file = dir.join(name);
        std::fs::write(&file, text).unwrap();
        let out = vetpay(&["plugin", "check", file.to_str().unwrap()]);
        (
            out.status.success(),
            String::from_utf8(out.stderr).unwrap(),
            file,
        )
    };
    // Dutch, French and Swedish labels beside the English one.
    let (ok, err, _) = check(
        "nl.toml",
        &nets.replace(
            "label = { en = \"Connect@Cloud username\",",
            "label = { nl = \"Gebruikersnaam\", fr = \"Nom d'utilisateur\", \"fr-BE\" = \"Nom d'utilisateur\", en = \"Connect@Cloud username\",",
        ),
    );
    assert!(ok, "{err}");
    // No English: refused, saying what to add, in inspect's words.
    let (ok, err, file) = check(
        "no-en.toml",
        &nets.replace("en = \"Connect@Cloud username\", ", ""),
    );
    assert!(!ok);
    assert_eq!(
        err.trim_end(),
        format!(
            "error: {} is not a valid vetpay manifest: invalid manifest: manifest field \
             'settings.username.label': needs an English text (en = \"...\"); other languages are optional",
            file.display()
        )
    );
    let (ok, err, _) = check(
        "bad-tag.toml",
        &nets.replace("sv = \"Connect@Cloud användarnamn\"", "sv_SE = \"x\""),
    );
    assert!(!ok);
    assert!(
        err.contains("'sv_SE' is not a BCP 47 language tag"),
        "{err}"
    );
    let (ok, err, _) = check("syntax.toml", "id = ");
    assert!(!ok);
    assert!(err.contains("is not valid plugin.toml"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn org_create_prints_a_working_admin_key() {
    let dir = std::env::temp_dir().join(format!("vetpay-org-{}", std::process::id()));
    let out = vetpay(&[
        "org",
        "create",
        "Happy Paws",
        "--data-dir",
        dir.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let key = text
        .lines()
        .find_map(|l| l.strip_prefix("admin key    "))
        .unwrap_or_else(|| panic!("no key in {text}"))
        .to_owned();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let found = runtime.block_on(async {
        let store = vetpay::store::Store::sqlite_in(&dir).await.unwrap();
        store.authenticate(&key).await.unwrap()
    });
    assert_eq!(
        found.expect("the printed key authenticates").role,
        vetpay::store::Role::Admin
    );

    let out = vetpay(&["org", "create", "   ", "--data-dir", dir.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("name: give a name"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn openapi_prints_the_served_description() {
    let out = vetpay(&["openapi"]);
    assert!(out.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    // The document the router serves (api_openapi.rs checks that one against
    // GET /openapi.json), with every route in it.
    let served = serde_json::to_value(vetpay::api::openapi::document()).unwrap();
    assert_eq!(doc, served);
    assert!(doc["paths"]["/v1/invoices/{id}/payments"]["post"].is_object());
}
