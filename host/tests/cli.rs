//! `vetpay plugin inspect` on real plugin files and on files that are not plugins.

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
