//! Cost of one plugin call on a fresh instance (instantiate + call of a trivial
//! export), p50 and p99, beside a native Rust baseline doing the same work in
//! the same run; and the time to load two plugins from the compiled-code cache.
//!
//! Run: `cargo bench -p vetpay-tests --bench fresh_instance`

use std::hint::black_box;
use std::time::{Duration, Instant};

use vetpay::plugin::types::{CallContext, Setting, TerminalInfo};
use vetpay::plugin::validate;
use vetpay::plugin::{AllocatorKind, CallEnv, Runtime, RuntimeConfig};
use vetpay_tests::fixtures::{bench_cache_dir, fault_env, gravity_bench_env};

// The same allocator as the `vetpay` binary.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const CALLS: usize = 20_000;
const WARMUP: usize = 2_000;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn report(name: &str, mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort();
    let (p50, p99) = (percentile(&samples, 0.50), percentile(&samples, 0.99));
    println!(
        "{name:<48} p50 {:>9.2} µs   p99 {:>9.2} µs   ({} calls)",
        p50.as_secs_f64() * 1e6,
        p99.as_secs_f64() * 1e6,
        samples.len()
    );
    (p50, p99)
}

/// What the plugin's `list-terminals` does, natively: read the context and
/// build the answer, which the host then validates.
#[inline(never)]
fn native_list_terminals(ctx: &CallContext) -> Vec<TerminalInfo> {
    let mode = ctx
        .department_settings
        .iter()
        .find(|s| s.key == "mode")
        .map(|s| s.value.as_str());
    assert_eq!(mode, Some("well"));
    vec![TerminalInfo {
        id: "T-1".into(),
        model: Some("Virtual".into()),
        name: Some("Counter".into()),
        supported: true,
        note: None,
    }]
}

/// A component's own imports (interfaces) and the imports of its core
/// modules (functions, memories, tables), which instantiation resolves.
fn import_counts(bytes: &[u8]) -> (usize, usize) {
    use wasmparser::{Parser, Payload};
    let (mut depth, mut component, mut core) = (0usize, 0usize, 0usize);
    for payload in Parser::new(0).parse_all(bytes) {
        match payload.expect("a valid component") {
            Payload::Version { .. } => depth += 1,
            Payload::End(_) => depth = depth.saturating_sub(1),
            Payload::ComponentImportSection(r) if depth == 1 => component += r.count() as usize,
            Payload::ImportSection(r) => core += r.count() as usize,
            _ => {}
        }
    }
    (component, core)
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let config = RuntimeConfig {
            // Its own cache: what another process shares the default one with
            // must not decide whether the load below finds its entries.
            compiled_cache_dir: Some(bench_cache_dir("fresh-instance")),
            network: vetpay::plugin::NetworkPolicy::with_loopback(),
            ..RuntimeConfig::default()
        };
        let runtime = Runtime::new(config.clone()).unwrap();
        assert_eq!(runtime.allocator(), AllocatorKind::Pooling, "the pool must be in use");
        let plugin = runtime
            .load_file(vetpay_plugin_artifacts::FAULT_INJECTION)
            .await
            .unwrap();
        let env = fault_env("well", None);
        let example = runtime.load_file(vetpay_plugin_artifacts::EXAMPLE).await.unwrap();
        let example_env = CallEnv {
            market: "DK".into(),
            organisation_id: "org-1".into(),
            organisation_settings: [("api-key".to_owned(), "k".to_owned())].into(),
            ..CallEnv::default()
        };

        // Gravity's cheapest real export: `abort` of a request whose
        // transaction token was never kept. It sets the abort and cancel
        // marks in the cache, finds no token, logs, and sends nothing.
        let gravity = runtime.load_file(vetpay_plugin_artifacts::GRAVITY).await.unwrap();
        // Never reached: no token is kept, so nothing is sent.
        let gravity_env = gravity_bench_env("http://127.0.0.1:9/");
        let gravity_abort = || vetpay::plugin::types::AbortRequest {
            request_id: "bench-never-started".into(),
            terminal_id: "GP-1".into(),
        };

        println!(
            "vetpay plugin runtime benchmark ({} cores)",
            std::thread::available_parallelism().map_or(0, |n| n.get())
        );
        let mut fault = Vec::with_capacity(CALLS);
        let mut acme = Vec::with_capacity(CALLS);
        let mut gravity_aborts = Vec::with_capacity(CALLS);
        for round in 0..WARMUP + CALLS {
            // Interleaved, so that both see the same machine.
            let t = Instant::now();
            let list = plugin.list_terminals(&env).await.unwrap();
            let fault_took = t.elapsed();
            assert_eq!(list.len(), 1);
            let t = Instant::now();
            let list = example.list_terminals(&example_env).await.unwrap();
            let acme_took = t.elapsed();
            assert!(list.is_empty());
            let t = Instant::now();
            gravity.abort(&gravity_env, gravity_abort()).await.unwrap();
            let gravity_took = t.elapsed();
            if round >= WARMUP {
                fault.push(fault_took);
                acme.push(acme_took);
                gravity_aborts.push(gravity_took);
            }
        }

        let ctx = CallContext {
            market: env.market.clone(),
            organisation_id: env.organisation_id.clone(),
            department_id: env.department_id.clone(),
            organisation_settings: vec![],
            department_settings: vec![Setting { key: "mode".into(), value: "well".into() }],
        };
        let mut native = Vec::with_capacity(CALLS);
        for _ in 0..CALLS {
            let t = Instant::now();
            let list = native_list_terminals(black_box(&ctx));
            validate::terminals(&list).unwrap();
            native.push(t.elapsed());
            black_box(list);
        }
        let (wasm_p50, _) = report("example plugin: fresh instance + list-terminals", acme);
        let (fault_p50, _) = report("fault plugin: fresh instance + list-terminals", fault);
        let (gravity_p50, _) =
            report("gravity plugin: fresh instance + abort (no HTTP)", gravity_aborts);
        println!(
            "target p50 <= 10 µs for the cheapest real Gravity export: {}",
            if gravity_p50 <= Duration::from_micros(10) { "met" } else { "MISSED" }
        );
        let (native_p50, _) = report("native Rust baseline (same work)", native);
        let verdict = |p50: Duration| if p50 <= Duration::from_micros(15) { "met" } else { "MISSED" };
        println!(
            "ratio wasm/native at p50: {:.0}x   target p50 <= 15 µs: example {}, fault {}",
            wasm_p50.as_secs_f64() / native_p50.as_secs_f64().max(1e-9),
            verdict(wasm_p50),
            verdict(fault_p50),
        );

        // Loading from the compiled cache: a new runtime each round, as at start-up.
        let plugins = vetpay_plugin_artifacts::all();
        // Fill the cache with every plugin first: the timed loads read it.
        for path in &plugins {
            runtime.load_file(path).await.unwrap();
        }
        let mut loads = Vec::new();
        for _ in 0..10 {
            let fresh = Runtime::new(config.clone()).unwrap();
            let t = Instant::now();
            for path in &plugins {
                let p = fresh.load_file(path).await.unwrap();
                assert_eq!(p.code_source(), vetpay::plugin::CodeSource::DiskCache);
            }
            loads.push(t.elapsed());
        }
        loads.sort();
        let median = loads[loads.len() / 2];
        println!(
            "load {} plugins from the compiled cache: median {:.2} ms, max {:.2} ms   target <= 100 ms: {}",
            plugins.len(),
            median.as_secs_f64() * 1e3,
            loads.last().unwrap().as_secs_f64() * 1e3,
            if median <= Duration::from_millis(100) { "met" } else { "MISSED" }
        );
        let _ = std::fs::remove_dir_all(bench_cache_dir("fresh-instance"));
        let mut figures = Vec::new();
        for (name, path) in [
            ("example", vetpay_plugin_artifacts::EXAMPLE),
            ("fault-injection", vetpay_plugin_artifacts::FAULT_INJECTION),
            ("gravity", vetpay_plugin_artifacts::GRAVITY),
            ("nets", vetpay_plugin_artifacts::NETS),
        ] {
            let bytes = std::fs::read(path).unwrap();
            let (component, core) = import_counts(&bytes);
            println!(
                "plugin {name:<16} {:>7} bytes   {component:>3} component imports   {core:>3} core-module imports",
                bytes.len()
            );
            figures.push(format!("figure plugin-size-{name} {} bytes", bytes.len()));
            figures.push(format!("figure plugin-imports-{name} {component} imports"));
        }
        println!("figure fresh-instance-example-p50 {:.2} µs", wasm_p50.as_secs_f64() * 1e6);
        println!("figure fresh-instance-fault-p50 {:.2} µs", fault_p50.as_secs_f64() * 1e6);
        println!(
            "figure fresh-instance-gravity-abort-p50 {:.2} µs",
            gravity_p50.as_secs_f64() * 1e6
        );
        println!("figure fresh-instance-native-p50 {:.3} µs", native_p50.as_secs_f64() * 1e6);
        println!("figure cache-load-median {:.2} ms", median.as_secs_f64() * 1e3);
        for f in figures {
            println!("{f}");
        }
    });
}
