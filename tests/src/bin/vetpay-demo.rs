//! A tour of vetpay as it stands: the plugin runtime with real compiled plugins
//! against real HTTP servers on loopback. Run with
//! `cargo run -p vetpay-tests --bin vetpay-demo`.

use std::time::{Duration, Instant};

use vetpay::plugin::bindings::{Money, Outcome, PaymentRequest, TokenCharge, TransactionKind};
use vetpay::plugin::{CallEnv, Deadlines, Plugin, Runtime, RuntimeConfig};
use vetpay_tests::acme::{API_KEY, call_env, start_acme};
use vetpay_tests::fault_server::FaultServer;
use vetpay_tests::fixtures::{compiled_cache_dir, fault_env};
use vetpay_tests::gravity_sim::{Behaviour, GravitySim};
use vetpay_tests::nets_sim::NetsSim;

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

async fn gravity_tour(plugin: &Plugin) {
    println!("\n== Gravity Payments (emergepay simulator, US) ==");
    let sim = GravitySim::start("1234567", "demo-auth-token").await;
    let mut env = CallEnv {
        market: "US".into(),
        organisation_id: "demo-org".into(),
        department_id: Some("boston".into()),
        ..CallEnv::default()
    };
    for (k, v) in [
        ("oid", "1234567"),
        ("auth-token", "demo-auth-token"),
        ("base-url", sim.base_url.as_str()),
        ("poll-interval-ms", "100"),
    ] {
        env.organisation_settings.insert(k.into(), v.into());
    }
    env.extra_allowed_hosts
        .push(sim.origin.parse().expect("a destination"));
    sim.script("GP-1", Behaviour::Approve, Duration::from_millis(300));
    let sale = PaymentRequest {
        request_id: "demo-sale-1".into(),
        kind: TransactionKind::Purchase,
        amount: Money {
            minor_units: 8950,
            currency: "USD".into(),
        },
        terminal_id: "GP-1".into(),
        original_reference: None,
        description: Some("INV-2001".into()),
    };
    match plugin.process(&env, sale).await {
        Ok(out) => println!("  sale on terminal GP-1: {}", describe(&out)),
        Err(e) => println!("  sale on terminal GP-1: {e}"),
    }
    sim.script("GP-1", Behaviour::Decline, Duration::from_millis(100));
    let declined = PaymentRequest {
        request_id: "demo-sale-2".into(),
        kind: TransactionKind::Purchase,
        amount: Money {
            minor_units: 1200,
            currency: "USD".into(),
        },
        terminal_id: "GP-1".into(),
        original_reference: None,
        description: None,
    };
    match plugin.process(&env, declined).await {
        Ok(out) => println!("  second sale: {}", describe(&out)),
        Err(e) => println!("  second sale: {e}"),
    }
    println!("  emergepay's ledger:");
    for entry in sim.ledger() {
        println!(
            "    {:<12} {:>8} cents  approved {:<5} ref {}",
            entry.kind, entry.cents, entry.approved, entry.unique_trans_id
        );
    }
}

async fn nets_tour(plugin: &Plugin) {
    println!("\n== Nets Connect@Cloud (simulator, Denmark) ==");
    let sim = NetsSim::start().await;
    sim.add_account("demo-clinic", "demo-password");
    sim.add_terminal("demo-clinic", "NETS-1", "Lane3000", false);
    let mut env = CallEnv {
        market: "DK".into(),
        organisation_id: "demo-org".into(),
        department_id: Some("aarhus".into()),
        ..CallEnv::default()
    };
    for (k, v) in [
        ("username", "demo-clinic"),
        ("password", "demo-password"),
        ("base-url", sim.base_url.as_str()),
    ] {
        env.organisation_settings.insert(k.into(), v.into());
    }
    env.extra_allowed_hosts
        .push(sim.base_url.parse().expect("a destination"));
    let purchase = |id: &str| PaymentRequest {
        request_id: id.into(),
        kind: TransactionKind::Purchase,
        amount: Money {
            minor_units: 45000,
            currency: "DKK".into(),
        },
        terminal_id: "NETS-1".into(),
        original_reference: None,
        description: None,
    };
    match plugin.process(&env, purchase("demo-nets-1")).await {
        Ok(out) => println!("  purchase on a new terminal: {}", describe(&out)),
        Err(e) => println!("  purchase on a new terminal: [{}] {e}", e.kind()),
    }
    match plugin.reconcile(&env, "NETS-1").await {
        Ok(r) => println!("  End of Day: session {}", r.reference.unwrap_or_default()),
        Err(e) => println!("  End of Day: {e}"),
    }
    match plugin.process(&env, purchase("demo-nets-2")).await {
        Ok(out) => println!("  purchase after End of Day: {}", describe(&out)),
        Err(e) => println!("  purchase after End of Day: {e}"),
    }
    println!("  transactions on the terminal: {}", sim.ledger().len());
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
    let gravity = runtime.load_file(vetpay_plugin_artifacts::GRAVITY).await?;
    let nets = runtime.load_file(vetpay_plugin_artifacts::NETS).await?;
    for p in [&gravity, &nets, &example, &faults] {
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
    gravity_tour(&gravity).await;
    nets_tour(&nets).await;
    acme_tour(&example).await;
    let server = FaultServer::start().await;
    fault_tour(&faults, &server).await;
    println!("\nAll calls above ran in fresh sandboxed instances; the host never stopped serving.");
    Ok(())
}
