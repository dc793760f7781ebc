//! Loading plugins: manifests validated before compiling, refusals that say
//! what is wrong, the compiled-code cache, and the allocator fallback.

use vetpay::plugin::{AllocatorKind, CodeSource, FileError, Runtime, RuntimeConfig};
use vetpay_tests::fixtures::{config, fault_env, purchase, usd};

fn fault_bytes() -> Vec<u8> {
    std::fs::read(vetpay_plugin_artifacts::FAULT_INJECTION).unwrap()
}

/// Replaces every `from` with `to` (same length) inside the component, keeping
/// it valid wasm.
fn patched(from: &str, to: &str) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let mut bytes = fault_bytes();
    let mut found = 0;
    while let Some(at) = bytes.windows(from.len()).position(|w| w == from.as_bytes()) {
        bytes[at..at + to.len()].copy_from_slice(to.as_bytes());
        found += 1;
    }
    assert!(found > 0, "{from:?} not in the component");
    bytes
}

async fn load_error(bytes: Vec<u8>) -> String {
    let rt = Runtime::new(config()).unwrap();
    match rt.load(bytes).await {
        Ok(_) => panic!("the file was accepted"),
        Err(e) => e.to_string(),
    }
}

#[tokio::test]
async fn files_that_are_not_valid_plugins_are_refused_with_the_reason() {
    let e = load_error(b"MZ not wasm".to_vec()).await;
    assert!(e.starts_with("not a WebAssembly component"), "{e}");

    let e = load_error(patched("vetpay:manifest", "vetpay:manifesx")).await;
    assert!(e.contains("has no 'vetpay:manifest' custom section"), "{e}");

    let e = load_error(patched(
        "id = \"fault-injection\"",
        "id = \"Fault_Injection\"",
    ))
    .await;
    assert!(e.contains("manifest field 'id'"), "{e}");

    let e = load_error(patched(
        "markets = [\"US\", \"DK\"]",
        "markets = [\"US\", \"XX\"]",
    ))
    .await;
    assert!(e.contains("'XX' is not an ISO 3166-1 alpha-2 code"), "{e}");

    let e = load_error(patched("contract = \"0.2.0\"", "contract = \"7.2.0\"")).await;
    assert!(
        e.contains("contract 7.2.0 is newer than this host's"),
        "{e}"
    );
    let e = load_error(patched("contract = \"0.2.0\"", "contract = \"0.0.9\"")).await;
    assert!(e.contains("contract 0.0.9 is not supported"), "{e}");

    // The manifest says 0.2.0 but the component exports another version.
    let e = load_error(patched(
        "vetpay:terminal/provider@0.2.0",
        "vetpay:terminal/provider@0.0.9",
    ))
    .await;
    assert!(
        e.contains("exported contract: contract 0.0.9 is not supported"),
        "{e}"
    );
}

#[tokio::test]
async fn compiled_code_is_cached_on_disk_by_file_hash() {
    let dir = std::env::temp_dir().join(format!("vetpay-cache-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let cfg = RuntimeConfig {
        compiled_cache_dir: Some(dir.clone()),
        network: vetpay::plugin::NetworkPolicy::with_loopback(),
        ..RuntimeConfig::default()
    };
    let first = Runtime::new(cfg.clone())
        .unwrap()
        .load(fault_bytes())
        .await
        .unwrap();
    assert_eq!(first.code_source(), CodeSource::Compiled);
    let entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(entries.len(), 1);
    assert!(entries[0].to_string_lossy().starts_with(first.sha256()));

    let second = Runtime::new(cfg.clone())
        .unwrap()
        .load(fault_bytes())
        .await
        .unwrap();
    assert_eq!(second.code_source(), CodeSource::DiskCache);
    assert_eq!(first.sha256(), second.sha256());
    let out = second
        .process(&fault_env("well", None), purchase("r-c", usd(100)))
        .await;
    assert!(out.is_ok(), "{out:?}");

    // A corrupted entry is discarded and the plugin compiled again.
    drop(second);
    let entry = dir.join(&entries[0]);
    std::fs::write(&entry, b"garbage").unwrap();
    let third = Runtime::new(cfg)
        .unwrap()
        .load(fault_bytes())
        .await
        .unwrap();
    assert_eq!(third.code_source(), CodeSource::Compiled);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn without_address_space_for_the_pool_the_runtime_falls_back_to_on_demand() {
    // A pool this size cannot be reserved in a 47-bit address space.
    let cfg = RuntimeConfig {
        pool_instances: 50_000_000,
        ..config()
    };
    let rt = Runtime::new(cfg).unwrap();
    assert_eq!(rt.allocator(), AllocatorKind::OnDemand);
    let plugin = rt
        .load_file(vetpay_plugin_artifacts::FAULT_INJECTION)
        .await
        .unwrap();
    let out = plugin
        .process(&fault_env("well", None), purchase("r-od", usd(100)))
        .await;
    assert!(out.is_ok(), "{out:?}");

    let pooled = Runtime::new(config()).unwrap();
    assert_eq!(pooled.allocator(), AllocatorKind::Pooling);
}

#[test]
fn file_errors_are_typed() {
    let e = vetpay::plugin::inspect(b"\0asm\x01\0\0\0").unwrap_err();
    assert!(matches!(e, FileError::CoreModule));
    assert!(e.to_string().contains("wasm32-wasip2"), "{e}");
}
