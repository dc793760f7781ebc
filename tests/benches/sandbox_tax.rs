//! What the sandbox costs a real payment: the same payments through the wasm
//! plugin and through a native Rust connector doing the same HTTP
//! (`vetpay_tests::native`), alternating batch by batch in one run so that
//! both see the same machine.
//!
//! - Runtime level: Gravity tokenized charges and Nets purchases against their
//!   simulators, provider call against native call. Latency from calls made
//!   one at a time; throughput from calls made many at a time.
//! - API level: complete Nets terminal payments through the HTTP API (the
//!   books, the events over SSE), the native connector put in the service's
//!   plugin registry in place of the loaded plugin for its batches.
//!
//! The tax is (wasm − native) / native for latency, and the throughput lost,
//! (native − wasm) / native, for throughput.
//!
//! Run: `cargo bench -p vetpay-tests --bench sandbox_tax`
//! (`SANDBOX_TAX_ROUNDS` rounds, default 6; plots to `SANDBOX_TAX_PLOTS`, default docs/bench;
//! `SANDBOX_TAX_ONLY=gravity|nets|api` runs one comparison alone, for profiling).

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use vetpay::demo::{DemoOptions, NETS_USER, seed};
use vetpay::plugin::kv::{MemoryCache, PluginCache};
use vetpay::plugin::types::{
    Money, Outcome, PaymentRequest, SaveCardRequest, TokenCharge, TransactionKind,
};
use vetpay::plugin::{CallEnv, NetworkPolicy, Provider, Runtime, RuntimeConfig};
use vetpay::service::{Clinic, ClinicConfig};
use vetpay::store::{InvoiceKind, NewInvoice, NewLine, NewTerminal, Store};
use vetpay_tests::fixtures::{
    BENCH_GRAVITY_OID, BENCH_GRAVITY_TOKEN, bench_cache_dir, gravity_bench_env, usd,
};
use vetpay_tests::gravity_sim::GravitySim;
use vetpay_tests::native::NativeConnector;
use vetpay_tests::nets_sim::NetsSim;
use vetpay_tests::plot;

// The same allocator as the `vetpay` binary.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Calls one at a time per side and round (latency).
const SEQUENTIAL: usize = 300;
/// Calls per side and round made `CONCURRENCY` at a time (throughput).
const CONCURRENT: usize = 2_000;
const CONCURRENCY: usize = 32;
/// Payments through the API per side and round, by `CLIENTS` clients.
const API_BATCH: usize = 400;
const CLIENTS: usize = 50;
const API_WARMUP: usize = 200;

type Call = Arc<dyn Fn(usize, usize) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// Runs `n` calls on `workers` workers; each call gets its worker's number and
/// its own. Returns every call's latency and the wall time of the batch.
async fn drive(n: usize, workers: usize, call: Call) -> (Vec<Duration>, Duration) {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..workers {
        let (next, call) = (next.clone(), call.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let t = Instant::now();
                call(w, i).await;
                latencies.push(t.elapsed());
            }
            latencies
        }));
    }
    let mut all = Vec::with_capacity(n);
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    (all, started.elapsed())
}

/// One side's samples over all rounds.
#[derive(Default)]
struct Samples {
    latencies: Vec<Duration>,
    calls: usize,
    busy: Duration,
    /// The wasm side's calls made one at a time, phase by phase.
    phases: Vec<Phases>,
}

/// Where one wasm call's time went (µs), from the runtime's
/// `vetpay::plugin_phases` event; `run` includes `http`.
#[derive(Default, Clone, Copy)]
struct Phases {
    slot: u64,
    store: u64,
    instantiate: u64,
    run: u64,
    http: u64,
    http_checks: u64,
    http_body: u64,
    drop: u64,
}

/// Every phase event since the last `take`.
#[derive(Clone, Default)]
struct PhaseLog(Arc<std::sync::Mutex<Vec<Phases>>>);

impl PhaseLog {
    fn take(&self) -> Vec<Phases> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for PhaseLog {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        struct Fields(Phases);
        impl tracing::field::Visit for Fields {
            fn record_u64(&mut self, field: &tracing::field::Field, value: u64) {
                let p = &mut self.0;
                match field.name() {
                    "slot_us" => p.slot = value,
                    "store_us" => p.store = value,
                    "instantiate_us" => p.instantiate = value,
                    "run_us" => p.run = value,
                    "http_us" => p.http = value,
                    "http_checks_us" => p.http_checks = value,
                    "http_body_us" => p.http_body = value,
                    "drop_us" => p.drop = value,
                    _ => {}
                }
            }
            fn record_debug(&mut self, _: &tracing::field::Field, _: &dyn std::fmt::Debug) {}
        }
        let mut fields = Fields(Phases::default());
        event.record(&mut fields);
        self.0.lock().unwrap().push(fields.0);
    }
}

static PHASE_LOG: std::sync::OnceLock<PhaseLog> = std::sync::OnceLock::new();

fn phase_log() -> &'static PhaseLog {
    PHASE_LOG.get_or_init(|| {
        use tracing_subscriber::layer::SubscriberExt;
        let log = PhaseLog::default();
        let only_phases = tracing_subscriber::filter::Targets::new()
            .with_target("vetpay::plugin_phases", tracing::Level::TRACE);
        let subscriber = tracing_subscriber::registry().with(
            tracing_subscriber::Layer::with_filter(log.clone(), only_phases),
        );
        tracing::subscriber::set_global_default(subscriber).unwrap();
        log
    })
}

/// The p50 of each phase of the wasm side's one-at-a-time calls, beside the
/// native call's p50; returns (instantiate, guest, HTTP import) p50 in µs.
fn print_phases(phases: &[Phases], native: &Samples) -> (u64, u64, u64) {
    if phases.is_empty() {
        return (0, 0, 0);
    }
    let p50 = |f: &dyn Fn(&Phases) -> u64| {
        let mut v: Vec<u64> = phases.iter().map(f).collect();
        v.sort_unstable();
        v[v.len() / 2]
    };
    let (slot, store, instantiate) = (p50(&|p| p.slot), p50(&|p| p.store), p50(&|p| p.instantiate));
    let (guest, http, drop) = (
        p50(&|p| p.run.saturating_sub(p.http)),
        p50(&|p| p.http),
        p50(&|p| p.drop),
    );
    let (checks, body) = (p50(&|p| p.http_checks), p50(&|p| p.http_body));
    println!(
        "  wasm phases p50 ({} calls one at a time): slot {slot} µs, store {store} µs, instantiate {instantiate} µs, guest and other imports {guest} µs, HTTP import {http} µs (checks {checks} µs, body {body} µs), drop {drop} µs; native call p50 {:.0} µs",
        phases.len(),
        pct(&native.sorted(), 0.5).as_secs_f64() * 1e6
    );
    (instantiate, guest, http)
}

impl Samples {
    fn add_latencies(&mut self, l: Vec<Duration>) {
        self.latencies.extend(l);
    }
    fn add_throughput(&mut self, calls: usize, took: Duration) {
        self.calls += calls;
        self.busy += took;
    }
    fn sorted(&self) -> Vec<Duration> {
        let mut l = self.latencies.clone();
        l.sort();
        l
    }
    fn rate(&self) -> f64 {
        self.calls as f64 / self.busy.as_secs_f64()
    }
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// The tax of one comparison, printed as a table row; returns (p50, p99, throughput) in %.
fn compare(name: &str, unit_per_s: &str, wasm: &Samples, native: &Samples) -> (f64, f64, f64) {
    let (w, n) = (wasm.sorted(), native.sorted());
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let tax =
        |a: Duration, b: Duration| 100.0 * (a.as_secs_f64() - b.as_secs_f64()) / b.as_secs_f64();
    let (p50, p99) = (
        tax(pct(&w, 0.5), pct(&n, 0.5)),
        tax(pct(&w, 0.99), pct(&n, 0.99)),
    );
    let throughput = 100.0 * (native.rate() - wasm.rate()) / native.rate();
    println!("{name}");
    println!(
        "  wasm    p50 {:>9.1} µs  p99 {:>9.1} µs  {:>8.0} {unit_per_s}",
        us(pct(&w, 0.5)),
        us(pct(&w, 0.99)),
        wasm.rate()
    );
    println!(
        "  native  p50 {:>9.1} µs  p99 {:>9.1} µs  {:>8.0} {unit_per_s}",
        us(pct(&n, 0.5)),
        us(pct(&n, 0.99)),
        native.rate()
    );
    println!("  tax     p50 {p50:>8.1} %   p99 {p99:>8.1} %   throughput {throughput:>5.1} % lost");
    (p50, p99, throughput)
}

fn runtime_config(bench: &str) -> RuntimeConfig {
    RuntimeConfig {
        compiled_cache_dir: Some(bench_cache_dir(bench)),
        network: NetworkPolicy::with_loopback(),
        ..RuntimeConfig::default()
    }
}

/// The two sides of a comparison.
struct Pair {
    wasm: Provider,
    native: Provider,
}

/// Alternates wasm and native batches, which goes first changing each round.
async fn alternate(
    rounds: usize,
    pair: &Pair,
    seq: impl Fn(Provider, &'static str, usize) -> Call,
    conc: impl Fn(Provider, &'static str, usize) -> Call,
) -> (Samples, Samples) {
    let (mut wasm, mut native) = (Samples::default(), Samples::default());
    for round in 0..rounds {
        let order: [(&'static str, &Provider); 2] = if round % 2 == 0 {
            [("w", &pair.wasm), ("n", &pair.native)]
        } else {
            [("n", &pair.native), ("w", &pair.wasm)]
        };
        for (side, provider) in order {
            phase_log().take();
            let (l, _) = drive(SEQUENTIAL, 1, seq(provider.clone(), side, round)).await;
            if side == "w" {
                wasm.phases.extend(phase_log().take());
            }
            let (_, took) =
                drive(CONCURRENT, CONCURRENCY, conc(provider.clone(), side, round)).await;
            let s = if side == "w" { &mut wasm } else { &mut native };
            s.add_latencies(l);
            s.add_throughput(CONCURRENT, took);
        }
    }
    (wasm, native)
}

async fn gravity(rounds: usize) -> (Samples, Samples) {
    let sim = GravitySim::start(BENCH_GRAVITY_OID, BENCH_GRAVITY_TOKEN).await;
    let config = runtime_config("sandbox-tax");
    let runtime = Runtime::new(config.clone()).unwrap();
    let plugin = runtime
        .load_file(vetpay_plugin_artifacts::GRAVITY)
        .await
        .unwrap();
    let native = NativeConnector::new(
        plugin.info().clone(),
        &config,
        Arc::new(MemoryCache::default()),
    )
    .unwrap();
    let mut env = gravity_bench_env(&sim.base_url);
    env.extra_allowed_hosts.push(sim.origin.parse().unwrap());
    let env = Arc::new(env);
    let saved = plugin
        .save_card(
            &env,
            SaveCardRequest {
                request_id: "bench-save".into(),
                terminal_id: "GP-1".into(),
                currency: "USD".into(),
            },
        )
        .await
        .unwrap();
    let Outcome::Approved(a) = saved else {
        panic!("{saved:?}")
    };
    let token: Arc<str> = a.card_token.unwrap().into();
    let pair = Pair {
        wasm: Arc::new(plugin),
        native: Arc::new(native),
    };
    let charge = |phase: &'static str| {
        let (env, token) = (env.clone(), token.clone());
        move |provider: Provider, side: &'static str, round: usize| -> Call {
            let (env, token) = (env.clone(), token.clone());
            Arc::new(move |_, i| {
                let (provider, env, token) = (provider.clone(), env.clone(), token.clone());
                Box::pin(async move {
                    let charge = TokenCharge {
                        request_id: format!("{side}-{phase}-{round}-{i}"),
                        card_token: token.to_string(),
                        amount: usd(2500),
                        description: None,
                    };
                    let out = provider.charge_token(&env, charge).await.unwrap();
                    assert!(matches!(out, Outcome::Approved(_)), "{out:?}");
                })
            })
        }
    };
    // Warm-up: connections, code, caches.
    drive(500, CONCURRENCY, charge("warm")(pair.wasm.clone(), "w", 0)).await;
    drive(
        500,
        CONCURRENCY,
        charge("warm")(pair.native.clone(), "n", 0),
    )
    .await;
    let out = alternate(rounds, &pair, charge("seq"), charge("conc")).await;
    let charged = sim
        .ledger()
        .iter()
        .filter(|e| e.kind == "TokenizedPayment")
        .count();
    assert_eq!(
        charged,
        1000 + rounds * 2 * (SEQUENTIAL + CONCURRENT),
        "every charge reached the simulator once"
    );
    out
}

async fn nets(rounds: usize) -> (Samples, Samples) {
    let sim = NetsSim::start().await;
    sim.add_account("bench", "bench-password");
    for t in 0..CONCURRENCY {
        sim.add_terminal("bench", &format!("T-{t:03}"), "Lane3000", true);
    }
    let config = runtime_config("sandbox-tax");
    // One cache for both sides, as the runtime's: the Nets token is read through it.
    let cache: Arc<dyn PluginCache> = Arc::new(MemoryCache::default());
    let runtime = Runtime::with_cache(config.clone(), cache.clone()).unwrap();
    let plugin = runtime
        .load_file(vetpay_plugin_artifacts::NETS)
        .await
        .unwrap();
    let native = NativeConnector::new(plugin.info().clone(), &config, cache).unwrap();
    let mut env = CallEnv {
        market: "DK".into(),
        organisation_id: "bench-org".into(),
        ..CallEnv::default()
    };
    for (k, v) in [
        ("username", "bench"),
        ("password", "bench-password"),
        ("base-url", sim.base_url.as_str()),
    ] {
        env.organisation_settings.insert(k.into(), v.into());
    }
    env.extra_allowed_hosts.push(sim.base_url.parse().unwrap());
    let env = Arc::new(env);
    let pair = Pair {
        wasm: Arc::new(plugin),
        native: Arc::new(native),
    };
    let purchase = |phase: &'static str| {
        let env = env.clone();
        move |provider: Provider, side: &'static str, round: usize| -> Call {
            let env = env.clone();
            Arc::new(move |worker, i| {
                let (provider, env) = (provider.clone(), env.clone());
                Box::pin(async move {
                    // One terminal per worker: one running transaction per terminal.
                    let request = PaymentRequest {
                        request_id: format!("{side}-{phase}-{round}-{i}"),
                        kind: TransactionKind::Purchase,
                        amount: Money {
                            minor_units: 12550,
                            currency: "DKK".into(),
                        },
                        terminal_id: format!("T-{worker:03}"),
                        original_reference: None,
                        description: None,
                    };
                    let out = provider.process(&env, request).await.unwrap();
                    assert!(matches!(out, Outcome::Approved(_)), "{out:?}");
                })
            })
        }
    };
    drive(
        500,
        CONCURRENCY,
        purchase("warm")(pair.wasm.clone(), "w", 0),
    )
    .await;
    drive(
        500,
        CONCURRENCY,
        purchase("warm")(pair.native.clone(), "n", 0),
    )
    .await;
    let out = alternate(rounds, &pair, purchase("seq"), purchase("conc")).await;
    assert_eq!(
        sim.ledger().len(),
        1000 + rounds * 2 * (SEQUENTIAL + CONCURRENT),
        "every purchase processed once"
    );
    out
}

/// The API level on SQLite: complete payments, wasm and native batches alternating.
async fn api(rounds: usize) -> (Samples, Samples) {
    let dir = std::env::temp_dir().join(format!(
        "vetpay-bench-sandbox-tax-{}-db",
        std::process::id()
    ));
    let store = Store::sqlite_in(&dir).await.unwrap();
    let config = runtime_config("sandbox-tax");
    // Built as `server::clinic` builds it, keeping the cache for the connector.
    let cache: Arc<dyn PluginCache> = Arc::new(MemoryCache::default());
    let runtime = Runtime::with_cache(config.clone(), cache.clone()).unwrap();
    let clinic = Clinic::new(store.clone(), runtime, ClinicConfig::default());
    let demo = seed(&clinic, DemoOptions::default()).await.unwrap();
    let org = demo.organisation_id.clone();
    let mut terminals = Vec::new();
    for t in 0..CLIENTS {
        let id = format!("BENCH-{t:03}");
        demo.nets.add_terminal(NETS_USER, &id, "Lane3000", true);
        let terminal = store
            .create_terminal(
                &org,
                &demo.dk.id,
                NewTerminal {
                    plugin_id: "nets-connect-cloud".into(),
                    provider_terminal_id: id,
                    name: format!("Bench {t}"),
                    terminal_type: "Connect@Cloud".into(),
                    model: None,
                },
            )
            .await
            .unwrap();
        terminals.push(terminal.id);
    }
    let total = API_WARMUP * 2 + rounds * 2 * API_BATCH;
    let mut invoices = Vec::with_capacity(total);
    for _ in 0..total {
        let draft = store
            .create_invoice(
                &org,
                "DKK",
                NewInvoice {
                    department_id: demo.dk.id.clone(),
                    client_id: demo.dk_client.id.clone(),
                    patient_id: None,
                    kind: InvoiceKind::CounterSale,
                    lines: vec![NewLine {
                        description: "Food".into(),
                        quantity: 1.into(),
                        unit_price: 10_000,
                        vat_rate: 25.into(),
                        discount_percent: 0.into(),
                        plan_item_code: None,
                        item: None,
                        discounts: Vec::new(),
                    }],
                },
            )
            .await
            .unwrap();
        invoices.push(store.finalise_invoice(&org, &draft.id).await.unwrap().id);
    }
    let wasm = clinic.plugin(&org, "nets-connect-cloud").await.unwrap();
    let native: Provider =
        Arc::new(NativeConnector::new(wasm.info().clone(), &config, cache).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(vetpay::server::serve(listener, clinic.clone()));
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(CLIENTS * 2)
        .build()
        .unwrap();
    let key: Arc<str> = demo.staff_key.clone().into();
    let terminals: Arc<[String]> = terminals.into();
    let mut invoices = invoices.into_iter();
    let mut take = |n: usize| -> Arc<Vec<String>> { Arc::new(invoices.by_ref().take(n).collect()) };
    let pay = |batch: Arc<Vec<String>>| -> Call {
        let (http, base, key, terminals) =
            (http.clone(), base.clone(), key.clone(), terminals.clone());
        Arc::new(move |worker, i| {
            let (http, base, key) = (http.clone(), base.clone(), key.clone());
            let (invoice, terminal) = (batch[i].clone(), terminals[worker].clone());
            Box::pin(async move {
                let r = http
                    .post(format!("{base}/v1/invoices/{invoice}/payments"))
                    .bearer_auth(&*key)
                    .header("Idempotency-Key", format!("bench-{invoice}"))
                    .json(&json!({"method": "card", "amount": 12_500, "terminal_id": terminal}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 201);
                let payment: Value = r.json().await.unwrap();
                let events = http
                    .get(format!(
                        "{base}/v1/payments/{}/events",
                        payment["id"].as_str().unwrap()
                    ))
                    .bearer_auth(&*key)
                    .send()
                    .await
                    .unwrap()
                    .text()
                    .await
                    .unwrap();
                assert!(events.contains("\"status\":\"succeeded\""), "{events}");
            })
        })
    };
    // Warm-up on each side: instances, connections, the Nets login.
    for provider in [&native, &wasm] {
        clinic.plugins().insert(provider.clone());
        drive(API_WARMUP, CLIENTS, pay(take(API_WARMUP))).await;
    }
    let (mut w, mut n) = (Samples::default(), Samples::default());
    for round in 0..rounds {
        let order = if round % 2 == 0 {
            [(&wasm, true), (&native, false)]
        } else {
            [(&native, false), (&wasm, true)]
        };
        for (provider, is_wasm) in order {
            clinic.plugins().insert(provider.clone());
            let (l, took) = drive(API_BATCH, CLIENTS, pay(take(API_BATCH))).await;
            let s = if is_wasm { &mut w } else { &mut n };
            s.add_latencies(l);
            s.add_throughput(API_BATCH, took);
        }
    }
    let ledger = demo.nets.ledger();
    assert_eq!(
        ledger.iter().filter(|e| e.approved).count(),
        total,
        "one approved purchase per payment"
    );
    let _ = std::fs::remove_dir_all(&dir);
    (w, n)
}

/// Which comparisons to run: `SANDBOX_TAX_ONLY=gravity` (or `nets`, `api`)
/// runs one alone, for a profile of that part; the default runs all three,
/// with the plots and every figure.
fn only() -> Option<String> {
    std::env::var("SANDBOX_TAX_ONLY")
        .ok()
        .filter(|s| !s.is_empty())
}

fn main() {
    let rounds: usize = std::env::var("SANDBOX_TAX_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(6);
    // Before any call: the wasm calls' phase events are collected from the start.
    phase_log();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    if let Some(part) = only() {
        rt.block_on(one_part(&part, rounds));
        return;
    }
    let plots = std::env::var("SANDBOX_TAX_PLOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| plot::default_dir());
    rt.block_on(async {
        let (gw, gn) = gravity(rounds).await;
        let (nw, nn) = nets(rounds).await;
        let (aw, an) = api(rounds).await;
        let _ = std::fs::remove_dir_all(bench_cache_dir("sandbox-tax"));

        println!(
            "sandbox tax: wasm plugin vs native connector, alternating, {rounds} rounds, {} cores, 2 worker threads",
            std::thread::available_parallelism().map_or(0, |n| n.get())
        );
        println!(
            "runtime level: latency from {SEQUENTIAL} calls one at a time, throughput from {CONCURRENT} calls {CONCURRENCY} at a time, per side and round"
        );
        let g = compare("Gravity tokenized charge", "charges/s", &gw, &gn);
        let gp = print_phases(&gw.phases, &gn);
        let n = compare("Nets purchase", "purchases/s", &nw, &nn);
        let np = print_phases(&nw.phases, &nn);
        println!("API level: {API_BATCH} payments per side and round, {CLIENTS} clients, SQLite, POST to the final SSE event");
        let a = compare("Nets terminal payment through the API", "payments/s", &aw, &an);
        let met = |v: f64, target: f64| if v <= target { "met" } else { "MISSED" };
        println!(
            "targets: runtime <= 25 % (Gravity p50 {}, Nets p50 {}), API <= 5 % (p50 {}, throughput {})",
            met(g.0, 25.0),
            met(n.0, 25.0),
            met(a.0, 5.0),
            met(a.2, 5.0)
        );

        std::fs::create_dir_all(&plots).unwrap();
        for (file, title, wasm, native) in [
            ("sandbox-tax-gravity.svg", "Gravity tokenized charge, one at a time (runtime level)", &gw, &gn),
            ("sandbox-tax-nets.svg", "Nets purchase, one at a time (runtime level)", &nw, &nn),
            ("sandbox-tax-api.svg", "Nets payment through the API, 50 clients (SQLite)", &aw, &an),
        ] {
            let path = plots.join(file);
            plot::latency_cdf(&path, title, &[("wasm plugin", &wasm.sorted()), ("native connector", &native.sorted())])
                .unwrap();
            println!("plot {}", path.display());
        }

        for (name, (p50, p99, tp)) in [("runtime-gravity", g), ("runtime-nets", n), ("api", a)] {
            println!("figure sandbox-tax-{name}-p50 {p50:.1} %");
            println!("figure sandbox-tax-{name}-p99 {p99:.1} %");
            println!("figure sandbox-tax-{name}-throughput {tp:.1} %");
        }
        for (name, (instantiate, guest, http)) in [("gravity", gp), ("nets", np)] {
            println!("figure sandbox-tax-runtime-{name}-instantiate-p50 {instantiate} µs");
            println!("figure sandbox-tax-runtime-{name}-guest-p50 {guest} µs");
            println!("figure sandbox-tax-runtime-{name}-http-import-p50 {http} µs");
        }
        println!("figure sandbox-tax-api {:.1} %", a.0);
        println!("figure sandbox-tax-api-wasm {:.0} payments/s", aw.rate());
        println!("figure sandbox-tax-api-native {:.0} payments/s", an.rate());
    });
}

/// One comparison alone, printed with its figures (no plots).
async fn one_part(part: &str, rounds: usize) {
    let (name, unit, (w, n)) = match part {
        "gravity" => ("runtime-gravity", "charges/s", gravity(rounds).await),
        "nets" => ("runtime-nets", "purchases/s", nets(rounds).await),
        "api" => ("api", "payments/s", api(rounds).await),
        other => panic!("SANDBOX_TAX_ONLY is gravity, nets or api, not {other:?}"),
    };
    let _ = std::fs::remove_dir_all(bench_cache_dir("sandbox-tax"));
    println!(
        "sandbox tax, {part} alone: wasm plugin vs native connector, alternating, {rounds} rounds"
    );
    let (p50, p99, tp) = compare(part, unit, &w, &n);
    print_phases(&w.phases, &n);
    println!("figure sandbox-tax-{name}-p50 {p50:.1} %");
    println!("figure sandbox-tax-{name}-p99 {p99:.1} %");
    println!("figure sandbox-tax-{name}-throughput {tp:.1} %");
}
