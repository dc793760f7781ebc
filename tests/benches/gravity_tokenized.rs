//! Tokenized charges per second through the Gravity plugin (a fresh instance
//! per charge) against the emergepay simulator with zero latency.
//!
//! Run: `cargo bench -p vetpay-tests --bench gravity_tokenized`

use std::sync::Arc;
use std::time::{Duration, Instant};

use vetpay::plugin::types::{Outcome, SaveCardRequest, TokenCharge};
use vetpay::plugin::{Runtime, RuntimeConfig};
use vetpay_tests::fixtures::{
    BENCH_GRAVITY_OID, BENCH_GRAVITY_TOKEN, bench_cache_dir, gravity_bench_env, usd,
};
use vetpay_tests::gravity_sim::GravitySim;

// The same allocator as the `vetpay` binary.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const CHARGES: usize = 20_000;
const CONCURRENCY: usize = 32;

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let sim = GravitySim::start(BENCH_GRAVITY_OID, BENCH_GRAVITY_TOKEN).await;
        let runtime = Runtime::new(RuntimeConfig {
            compiled_cache_dir: Some(bench_cache_dir("gravity-tokenized")),
            network: vetpay::plugin::NetworkPolicy::with_loopback(),
            ..RuntimeConfig::default()
        })
        .unwrap();
        let plugin = runtime.load_file(vetpay_plugin_artifacts::GRAVITY).await.unwrap();
        let mut env = gravity_bench_env(&sim.base_url);
        env.extra_allowed_hosts.push(sim.origin.parse().unwrap());
        let env = Arc::new(env);
        let saved = plugin
            .save_card(
                &env,
                SaveCardRequest { request_id: "bench-save".into(), terminal_id: "GP-1".into(), currency: "USD".into() },
            )
            .await
            .unwrap();
        let Outcome::Approved(a) = saved else { panic!("{saved:?}") };
        let token = a.card_token.unwrap();

        let started = Instant::now();
        let mut tasks = Vec::new();
        for worker in 0..CONCURRENCY {
            let (plugin, env, token) = (plugin.clone(), env.clone(), token.clone());
            tasks.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                for i in (worker..CHARGES).step_by(CONCURRENCY) {
                    let charge = TokenCharge {
                        request_id: format!("bench-{i}"),
                        card_token: token.clone(),
                        amount: usd(2500),
                        description: None,
                    };
                    let t = Instant::now();
                    let out = plugin.charge_token(&env, charge).await.unwrap();
                    latencies.push(t.elapsed());
                    assert!(matches!(out, Outcome::Approved(_)));
                }
                latencies
            }));
        }
        let mut latencies: Vec<Duration> = Vec::new();
        for t in tasks {
            latencies.extend(t.await.unwrap());
        }
        let took = started.elapsed();
        latencies.sort();
        let charged = sim.ledger().iter().filter(|e| e.kind == "TokenizedPayment").count();
        assert_eq!(charged, CHARGES, "every charge reached the simulator exactly once");
        let rate = CHARGES as f64 / took.as_secs_f64();
        println!("gravity tokenized charges ({CHARGES}, {CONCURRENCY} concurrent, 2 worker threads, zero latency)");
        println!(
            "  {rate:.0} charges/s   per charge p50 {:.0} µs  p99 {:.0} µs   target >= 2000/s: {}",
            latencies[latencies.len() / 2].as_secs_f64() * 1e6,
            latencies[latencies.len() * 99 / 100].as_secs_f64() * 1e6,
            if rate >= 2000.0 { "met" } else { "MISSED" }
        );
        let _ = std::fs::remove_dir_all(bench_cache_dir("gravity-tokenized"));
        println!("figure gravity-tokenized {rate:.0} charges/s");
        println!("figure gravity-tokenized-p99 {:.0} µs", latencies[latencies.len() * 99 / 100].as_secs_f64() * 1e6);
    });
}
