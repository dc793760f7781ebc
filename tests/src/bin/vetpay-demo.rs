//! A tour of vetpay as it stands: the plugin runtime with real compiled plugins
//! against real HTTP servers on loopback. Run with
//! `cargo run -p vetpay-tests --bin vetpay-demo`.

use std::time::{Duration, Instant};

use vetpay::plugin::bindings::{Money, Outcome, PaymentRequest, TokenCharge, TransactionKind};
use vetpay::plugin::{Deadlines, Plugin, Runtime, RuntimeConfig};
use vetpay_tests::acme::{API_KEY, call_env, start_acme};
use vetpay_tests::fault_server::FaultServer;
use vetpay_tests::fixtures::{compiled_cache_dir, fault_env};

// The same allocator as the `vetpay` binary.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn describe(out: &Outcome) -> String {
    match out {
        Outcome::Approved(a) => format!(
            "approved {} {} ref {} card {}",
            a.amount.minor_units,
            a.amount.currency,
            a.provider_reference,
            a.card.as_ref().map_or("-", |c| c.masked_pan.as_str())
        ),
        Outcome::Declined(d) => format!("declined ({})", d.code.as_deref().unwrap_or("-")),
        other => format!("{other:?}"),
    }
}

async fn fault_tour(plugin: &Plugin, server: &FaultServer) {
    println!("\n== Fault injection: each misbehaviour contained, the host still serving ==");
    let modes = [
        "well",
        "trap",
        "loop",
        "grow-memory",
        "huge-body",
        "forbidden-host",
        "redirect",
        "wrong-amount",
        "full-pan",
        "huge-output",
        "log-flood",
        "sleep",
        "exfiltrate",
        "probe-sandbox",
    ];
    for (i, mode) in modes.iter().enumerate() {
        let request = PaymentRequest {
            request_id: format!("demo-{i}"),
            kind: TransactionKind::Purchase,
            amount: Money {
                minor_units: 4200,
                currency: "USD".into(),
            },
            terminal_id: "T-1".into(),
            original_reference: None,
            description: None,
        };
        let started = Instant::now();
        let result = plugin
            .process(&fault_env(mode, Some(server)), request)
            .await;
        let took = started.elapsed();
        match result {
            Ok(out) => println!("  {mode:<15} ok      {:>7.1?}  {}", took, describe(&out)),
            Err(e) => println!(
                "  {mode:<15} {:<7} {:>7.1?}  [{:?}] {e}",
                e.kind(),
                took,
                e.disposition()
            ),
        }
    }
}

async fn acme_tour(plugin: &Plugin) {
    println!("\n== Example plugin (Acme Pay) charging a saved card ==");
    let (url, acme) = start_acme().await;
    let env = call_env(&url, API_KEY);
    for attempt in 1..=2 {
        let charge = TokenCharge {
            request_id: "demo-charge-1".into(),
            card_token: "tok_ok".into(),
            amount: Money {
                minor_units: 12550,
                currency: "DKK".into(),
            },
            description: Some("INV-1001".into()),
        };
        match plugin.charge_token(&env, charge).await {
            Ok(out) => println!("  attempt {attempt}: {}", describe(&out)),
            Err(e) => println!("  attempt {attempt}: {e}"),
        }
    }
    println!(
        "  charges Acme actually made for the two attempts with one request id: {}",
        acme.made.lock().expect("lock")
    );
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "off".into()),
        )
        .init();
    let runtime = Runtime::new(RuntimeConfig {
        compiled_cache_dir: Some(compiled_cache_dir()),
        deadlines: Deadlines::all(Duration::from_secs(2)),
        memory_limit: 32 * 1024 * 1024,
        ..RuntimeConfig::default()
    })?;
    println!(
        "vetpay plugin runtime ({:?} allocator)",
        runtime.allocator()
    );
    let faults = runtime
        .load_file(vetpay_plugin_artifacts::FAULT_INJECTION)
        .await?;
    let example = runtime.load_file(vetpay_plugin_artifacts::EXAMPLE).await?;
    for p in [&faults, &example] {
        let m = p.manifest();
        println!(
            "  loaded {} {} (markets {}, sha256 {}..., from {:?})",
            m.id,
            m.version,
            m.markets.join("/"),
            &p.sha256()[..12],
            p.code_source()
        );
    }
    acme_tour(&example).await;
    let server = FaultServer::start().await;
    fault_tour(&faults, &server).await;
    println!("\nAll calls above ran in fresh sandboxed instances; the host never stopped serving.");
    Ok(())
}
