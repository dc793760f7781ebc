//! Completed terminal payments per second through the HTTP API: many clients
//! at once, each paying invoices on its own Nets terminal whose card holder
//! answers at once, each payment watched to its end over server-sent events
//! as a payment dialog does. Runs on embedded SQLite, then on PostgreSQL.
//!
//! It also reports what recording each attempt's first send costs (issue 12):
//! the host's one write per attempt before its first request leaves, timed by
//! the host itself (trace events of target `vetpay::first_send`), beside the
//! payment's own latency in the same run.
//!
//! Run: `cargo bench -p vetpay-tests --bench api_payments`
//! (`API_PAYMENTS_CLIENTS=5,10,25,50,100` sweeps the client count and plots
//! throughput against it to docs/bench/; the default is 50 clients, no plot).
//! (PostgreSQL from VETPAY_BENCH_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/test).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use vetpay::demo::{DemoOptions, NETS_USER, seed};
use vetpay::plugin::RuntimeConfig;
use vetpay::store::{InvoiceKind, NewInvoice, NewLine, NewTerminal, Store};
use vetpay_tests::fixtures::{bench_cache_dir, peak_rss_mib, reset_peak_rss};

// The same allocator as the `vetpay` binary.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const CLIENTS: usize = 50;
const PAYMENTS: usize = 3000;
const WARMUP: usize = 200;

struct Figures {
    backend: &'static str,
    clients: usize,
    per_second: f64,
    p50: Duration,
    p99: Duration,
    /// The first-send record of each timed payment, sorted.
    first_send: Vec<Duration>,
    /// This process's peak resident memory during the run (host, plugins,
    /// simulator and clients; not PostgreSQL's own server processes).
    peak_rss_mib: f64,
}

/// Collects the host's first-send timings (µs) from its trace events.
#[derive(Clone, Default)]
struct FirstSends(Arc<std::sync::Mutex<Vec<u64>>>);

impl FirstSends {
    fn take(&self) -> Vec<Duration> {
        let mut all: Vec<Duration> = std::mem::take(&mut *self.0.lock().unwrap())
            .into_iter()
            .map(Duration::from_micros)
            .collect();
        all.sort();
        all
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for FirstSends {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        struct Elapsed(Option<u64>);
        impl tracing::field::Visit for Elapsed {
            fn record_u64(&mut self, field: &tracing::field::Field, value: u64) {
                if field.name() == "elapsed_us" {
                    self.0 = Some(value);
                }
            }
            fn record_debug(&mut self, _: &tracing::field::Field, _: &dyn std::fmt::Debug) {}
        }
        let mut elapsed = Elapsed(None);
        event.record(&mut elapsed);
        if let Some(us) = elapsed.0 {
            self.0.lock().unwrap().push(us);
        }
    }
}

async fn run(
    store: Store,
    backend: &'static str,
    clients: usize,
    first_sends: &FirstSends,
) -> Figures {
    reset_peak_rss();
    let clinic = vetpay::server::clinic(
        store.clone(),
        RuntimeConfig {
            compiled_cache_dir: Some(bench_cache_dir("api-payments")),
            network: vetpay::plugin::NetworkPolicy::with_loopback(),
            ..RuntimeConfig::default()
        },
        Default::default(),
    )
    .unwrap();
    let demo = seed(&clinic, DemoOptions::default()).await.unwrap();
    let org = demo.organisation_id.clone();
    // One terminal per client: one running attempt per terminal is the rule.
    let mut terminals = Vec::new();
    for t in 0..clients {
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
    let mut invoices = Vec::with_capacity(PAYMENTS + WARMUP);
    for _ in 0..PAYMENTS + WARMUP {
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
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(vetpay::server::serve(listener, clinic));

    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(clients * 2)
        .build()
        .unwrap();
    let key = Arc::new(demo.staff_key.clone());
    let (warm, timed) = invoices.split_at(WARMUP);
    // Warm-up: plugin instances, connections, the Nets login.
    drive(&http, &base, &key, &terminals, warm.to_vec()).await;
    first_sends.take();
    let started = Instant::now();
    let mut latencies = drive(&http, &base, &key, &terminals, timed.to_vec()).await;
    let elapsed = started.elapsed();
    latencies.sort();
    let first_send = first_sends.take();
    assert_eq!(
        first_send.len(),
        PAYMENTS,
        "one first-send record per payment"
    );

    // Every payment completed exactly once, at the provider and on the books.
    let ledger = demo.nets.ledger();
    assert_eq!(
        ledger.iter().filter(|e| e.approved).count(),
        PAYMENTS + WARMUP
    );
    for id in timed.iter().step_by(97) {
        let invoice = store.invoice(&org, id).await.unwrap().unwrap();
        assert_eq!(invoice.due.minor_units, 0);
    }
    Figures {
        backend,
        clients,
        per_second: PAYMENTS as f64 / elapsed.as_secs_f64(),
        p50: latencies[latencies.len() / 2],
        p99: latencies[latencies.len() * 99 / 100],
        first_send,
        peak_rss_mib: peak_rss_mib().expect("VmHWM in /proc/self/status"),
    }
}

/// Pays `invoices` with one client per terminal; returns each payment's
/// latency from the request to the final event.
async fn drive(
    http: &reqwest::Client,
    base: &str,
    key: &Arc<String>,
    terminals: &[String],
    invoices: Vec<String>,
) -> Vec<Duration> {
    let invoices = Arc::new(invoices);
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for terminal in terminals {
        let (http, base, key, terminal) =
            (http.clone(), base.to_owned(), key.clone(), terminal.clone());
        let (invoices, next) = (invoices.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(invoice) = invoices.get(i) else {
                    break;
                };
                let t = Instant::now();
                let r = http
                    .post(format!("{base}/v1/invoices/{invoice}/payments"))
                    .bearer_auth(key.as_str())
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
                    .bearer_auth(key.as_str())
                    .send()
                    .await
                    .unwrap()
                    .text()
                    .await
                    .unwrap();
                assert!(events.contains("\"status\":\"succeeded\""), "{events}");
                latencies.push(t.elapsed());
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all
}

/// A PostgreSQL store in a schema of its own, with the admin store and the
/// schema's name to drop it afterwards.
async fn postgres() -> Option<(Store, String, Store)> {
    let base = std::env::var("VETPAY_BENCH_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let admin = match Store::connect(&base, vetpay::vault::Keyring::ephemeral()).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("PostgreSQL at {base} not usable ({e}); skipping it");
            return None;
        }
    };
    let schema = format!("bench_{}", std::process::id());
    admin
        .execute_raw(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .await
        .ok()?;
    admin
        .execute_raw(&format!("CREATE SCHEMA {schema}"))
        .await
        .ok()?;
    let sep = if base.contains('?') { '&' } else { '?' };
    let store = Store::connect(
        &format!("{base}{sep}options=-c%20search_path%3D{schema}"),
        vetpay::vault::Keyring::ephemeral(),
    )
    .await
    .ok()?;
    Some((admin, schema, store))
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let first_sends = FirstSends::default();
    {
        use tracing_subscriber::layer::SubscriberExt;
        let only_first_sends = tracing_subscriber::filter::Targets::new()
            .with_target("vetpay::first_send", tracing::Level::TRACE);
        let subscriber = tracing_subscriber::registry().with(
            tracing_subscriber::Layer::with_filter(first_sends.clone(), only_first_sends),
        );
        tracing::subscriber::set_global_default(subscriber).unwrap();
    }
    let sweep: Vec<usize> = std::env::var("API_PAYMENTS_CLIENTS")
        .map(|v| {
            v.split(',')
                .map(|c| c.trim().parse().expect("a client count"))
                .collect()
        })
        .unwrap_or_else(|_| vec![CLIENTS]);
    rt.block_on(async {
        let mut figures = Vec::new();
        for &clients in &sweep {
            // A database of its own for every point: a fresh file, a fresh schema.
            let dir = std::env::temp_dir().join(format!(
                "vetpay-bench-api-payments-{}-{clients}-db",
                std::process::id()
            ));
            let sqlite = Store::sqlite_in(&dir).await.unwrap();
            figures.push(run(sqlite, "SQLite", clients, &first_sends).await);
            let _ = std::fs::remove_dir_all(&dir);
            if let Some((admin, schema, pg)) = postgres().await {
                figures.push(run(pg, "PostgreSQL", clients, &first_sends).await);
                admin
                    .execute_raw(&format!("DROP SCHEMA {schema} CASCADE"))
                    .await
                    .unwrap();
            }
        }
        let _ = std::fs::remove_dir_all(bench_cache_dir("api-payments"));
        println!(
            "{PAYMENTS} terminal payments over HTTP per row, each client on its own Nets terminal, each payment watched over SSE to its end"
        );
        for f in &figures {
            println!(
                "{:<11} {:>4} clients {:>7.0} completed payments/s   p50 {:>6.1} ms   p99 {:>6.1} ms   peak RSS {:>5.0} MiB",
                f.backend,
                f.clients,
                f.per_second,
                f.p50.as_secs_f64() * 1000.0,
                f.p99.as_secs_f64() * 1000.0,
                f.peak_rss_mib
            );
        }
        println!("recording the first send (one write per attempt, before its first request):");
        for f in &figures {
            let n = f.first_send.len();
            let mean = f.first_send.iter().sum::<Duration>() / n as u32;
            let p50 = f.first_send[n / 2];
            let p99 = f.first_send[n * 99 / 100];
            println!(
                "{:<11} {:>4} clients mean {:>6.2} ms   p50 {:>6.2} ms   p99 {:>6.2} ms   = {:>4.1} % of the payment's p50",
                f.backend,
                f.clients,
                mean.as_secs_f64() * 1000.0,
                p50.as_secs_f64() * 1000.0,
                p99.as_secs_f64() * 1000.0,
                100.0 * p50.as_secs_f64() / f.p50.as_secs_f64()
            );
        }
        if sweep.len() > 1 {
            let dir = std::env::var("API_PAYMENTS_PLOTS")
                .map(std::path::PathBuf::from)
                .unwrap_or_else(|_| vetpay_tests::plot::default_dir());
            std::fs::create_dir_all(&dir).unwrap();
            let line = |backend: &str| {
                figures
                    .iter()
                    .filter(|f| f.backend == backend)
                    .map(|f| (f.clients as u32, f.per_second))
                    .collect::<Vec<_>>()
            };
            let path = dir.join("api-payments-clients.svg");
            vetpay_tests::plot::throughput_curve(
                &path,
                "Completed terminal payments through the API",
                "payments/s",
                &[("SQLite", line("SQLite")), ("PostgreSQL", line("PostgreSQL"))],
            )
            .unwrap();
            println!("plot {}", path.display());
        }
        for f in &figures {
            let name = f.backend.to_ascii_lowercase();
            // The default point keeps the plain names; other points say their client count.
            let name = if f.clients == CLIENTS { name } else { format!("{name}-c{}", f.clients) };
            let n = f.first_send.len();
            println!("figure api-payments-{name} {:.0} payments/s", f.per_second);
            println!("figure api-payments-{name}-p99 {:.1} ms", f.p99.as_secs_f64() * 1000.0);
            println!("figure api-payments-{name}-peak-rss {:.0} MiB", f.peak_rss_mib);
            println!(
                "figure first-send-record-{name}-p50 {:.3} ms",
                f.first_send[n / 2].as_secs_f64() * 1000.0
            );
        }
    });
}
