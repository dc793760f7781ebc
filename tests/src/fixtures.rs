//! Builders for runtimes, call environments and requests used across suites.

use std::path::PathBuf;

use std::time::Duration;

use tokio::task::JoinHandle;
use vetpay::plugin::types::{AbortRequest, Money, Outcome, PaymentRequest, TransactionKind};
use vetpay::plugin::{CallEnv, CallError, Runtime, RuntimeConfig, WasmPlugin};

use crate::fault_server::FaultServer;

/// The secret API token the fault-injection plugin must never see.
pub const SECRET_TOKEN: &str = "tok_live_S3cr3t-Value-9f8e7d";

/// A compiled-code cache shared by the test processes, so each compiles once.
pub fn compiled_cache_dir() -> PathBuf {
    std::env::temp_dir().join("vetpay-test-compiled-cache")
}

/// A compiled-code cache of one benchmark run alone: nothing else sharing the
/// machine can add, replace or discard its entries while it measures.
pub fn bench_cache_dir(bench: &str) -> PathBuf {
    std::env::temp_dir().join(format!("vetpay-bench-{bench}-{}-cache", std::process::id()))
}

/// The default runtime configuration, with the shared compiled-code cache.
pub fn config() -> RuntimeConfig {
    RuntimeConfig {
        compiled_cache_dir: Some(compiled_cache_dir()),
        // The servers of the suites listen on loopback: allowed as an operator would.
        network: vetpay::plugin::NetworkPolicy::with_loopback(),
        ..RuntimeConfig::default()
    }
}

pub async fn fault_plugin(runtime: &Runtime) -> WasmPlugin {
    runtime
        .load_file(vetpay_plugin_artifacts::FAULT_INJECTION)
        .await
        .expect("the fault-injection plugin loads")
}

/// The benchmarks' Gravity account: a simulator started with it accepts the
/// calls of [`gravity_bench_env`].
pub const BENCH_GRAVITY_OID: &str = "1234567";
pub const BENCH_GRAVITY_TOKEN: &str = "bench-token";

/// A US organisation's call to the Gravity plugin at `base_url` with the
/// benchmarks' account; a caller with a simulator also allows its origin.
pub fn gravity_bench_env(base_url: &str) -> CallEnv {
    let mut env = CallEnv {
        market: "US".into(),
        organisation_id: "bench-org".into(),
        ..CallEnv::default()
    };
    for (k, v) in [
        ("oid", BENCH_GRAVITY_OID),
        ("auth-token", BENCH_GRAVITY_TOKEN),
        ("base-url", base_url),
    ] {
        env.organisation_settings.insert(k.into(), v.into());
    }
    env
}

/// A US call to the fault plugin in `mode`, talking to `server` if given.
pub fn fault_env(mode: &str, server: Option<&FaultServer>) -> CallEnv {
    let mut env = CallEnv {
        market: "US".into(),
        organisation_id: "org-1".into(),
        department_id: Some("dep-1".into()),
        ..CallEnv::default()
    };
    env.department_settings.insert("mode".into(), mode.into());
    env.organisation_settings
        .insert("api-token".into(), SECRET_TOKEN.into());
    if let Some(server) = server {
        env.organisation_settings
            .insert("target-url".into(), server.url.clone());
        env.extra_allowed_hosts
            .push(server.url.parse().expect("the server URL is a destination"));
    }
    env
}

pub fn usd(minor_units: i64) -> Money {
    Money {
        minor_units,
        currency: "USD".into(),
    }
}

pub fn purchase(request_id: &str, amount: Money) -> PaymentRequest {
    PaymentRequest {
        request_id: request_id.into(),
        kind: TransactionKind::Purchase,
        amount,
        terminal_id: "T-1".into(),
        original_reference: None,
        description: Some("INV-1".into()),
    }
}

/// Starts `process` in the background, as a payment dialog does, and checks
/// that it is still blocked on the terminal after a moment.
pub async fn start_blocking_process(
    plugin: &WasmPlugin,
    env: &CallEnv,
    request: PaymentRequest,
) -> JoinHandle<Result<Outcome, CallError>> {
    let (plugin, env) = (plugin.clone(), env.clone());
    let running = tokio::spawn(async move { plugin.process(&env, request).await });
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(
        !running.is_finished(),
        "process must still block on the terminal"
    );
    running
}

/// Aborts `running` from another instance and returns what `process` ended with.
pub async fn abort_and_wait(
    plugin: &WasmPlugin,
    env: &CallEnv,
    running: JoinHandle<Result<Outcome, CallError>>,
    request_id: &str,
    terminal_id: &str,
) -> Outcome {
    let abort = AbortRequest {
        request_id: request_id.into(),
        terminal_id: terminal_id.into(),
    };
    plugin
        .abort(env, abort)
        .await
        .expect("the abort is accepted");
    tokio::time::timeout(Duration::from_secs(5), running)
        .await
        .expect("process ends after the abort")
        .expect("the task completes")
        .expect("process answers")
}

/// This process's peak resident memory since it started or since the last
/// [`reset_peak_rss`], in MiB (Linux's `VmHWM`); `None` where /proc lacks it.
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib: u64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kib as f64 / 1024.0)
}

/// Starts the peak of [`peak_rss_mib`] again from what is resident now
/// (writing 5 to `/proc/self/clear_refs`), so each measured run has its own.
pub fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}
