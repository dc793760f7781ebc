//! Completed terminal purchases per second through the Nets plugin, across 50
//! terminals whose card holders answer at once, against the Connect@Cloud
//! simulator.
//!
//! Run: `cargo bench -p vetpay-tests --bench nets_purchases`

use std::sync::Arc;
use std::time::{Duration, Instant};

use vetpay::plugin::types::{Money, Outcome, PaymentRequest, TransactionKind};
use vetpay::plugin::{CallEnv, Runtime, RuntimeConfig};
use vetpay_tests::fixtures::bench_cache_dir;
use vetpay_tests::nets_sim::NetsSim;

// The same allocator as the `vetpay` binary.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const TERMINALS: usize = 50;
const PER_TERMINAL: usize = 200;

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let sim = NetsSim::start().await;
        sim.add_account("bench", "bench-password");
        for t in 0..TERMINALS {
            sim.add_terminal("bench", &format!("T-{t:03}"), "Lane3000", true);
        }
        let runtime = Runtime::new(RuntimeConfig {
            compiled_cache_dir: Some(bench_cache_dir("nets-purchases")),
            network: vetpay::plugin::NetworkPolicy::with_loopback(),
            ..RuntimeConfig::default()
        })
        .unwrap();
        let plugin = runtime.load_file(vetpay_plugin_artifacts::NETS).await.unwrap();
        let mut env = CallEnv {
            market: "DK".into(),
            organisation_id: "bench-org".into(),
            ..CallEnv::default()
        };
        for (k, v) in [("username", "bench"), ("password", "bench-password"), ("base-url", sim.base_url.as_str())] {
            env.organisation_settings.insert(k.into(), v.into());
        }
        env.extra_allowed_hosts.push(sim.base_url.parse().unwrap());
        let env = Arc::new(env);

        let started = Instant::now();
        let mut tasks = Vec::new();
        for t in 0..TERMINALS {
            let (plugin, env) = (plugin.clone(), env.clone());
            tasks.push(tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(PER_TERMINAL);
                for i in 0..PER_TERMINAL {
                    let request = PaymentRequest {
                        request_id: format!("b-{t}-{i}"),
                        kind: TransactionKind::Purchase,
                        amount: Money { minor_units: 12550, currency: "DKK".into() },
                        terminal_id: format!("T-{t:03}"),
                        original_reference: None,
                        description: None,
                    };
                    let s = Instant::now();
                    let out = plugin.process(&env, request).await.unwrap();
                    latencies.push(s.elapsed());
                    assert!(matches!(out, Outcome::Approved(_)), "{out:?}");
                }
                latencies
            }));
        }
        let mut latencies: Vec<Duration> = Vec::new();
        for task in tasks {
            latencies.extend(task.await.unwrap());
        }
        let took = started.elapsed();
        let total = TERMINALS * PER_TERMINAL;
        assert_eq!(sim.ledger().len(), total, "every purchase processed exactly once");
        latencies.sort();
        let rate = total as f64 / took.as_secs_f64();
        println!("nets purchases ({total} over {TERMINALS} terminals, card holder answers at once, 2 worker threads)");
        println!(
            "  {rate:.0} purchases/s   per purchase p50 {:.0} µs  p99 {:.0} µs   logins {}   target >= 1000/s: {}",
            latencies[latencies.len() / 2].as_secs_f64() * 1e6,
            latencies[latencies.len() * 99 / 100].as_secs_f64() * 1e6,
            sim.logins(),
            if rate >= 1000.0 { "met" } else { "MISSED" }
        );
        let _ = std::fs::remove_dir_all(bench_cache_dir("nets-purchases"));
        println!("figure nets-purchases {rate:.0} purchases/s");
        println!("figure nets-purchases-p99 {:.0} µs", latencies[latencies.len() * 99 / 100].as_secs_f64() * 1e6);
    });
}
