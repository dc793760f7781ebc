//! `kill -9` of real `vetpay serve` processes with card payments in flight,
//! the Nets simulator in the calling process so that it outlives them; the
//! books checked against its ledger afterwards. Used by the crash suite and
//! the recovery benchmark.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;
use vetpay::store::{InvoiceKind, NewClient, NewInvoice, NewLine, NewTerminal, Store};
use vetpay_simulators::nets::Behaviour;

/// A `vetpay serve` process.
pub struct Host {
    child: Child,
    pub url: String,
}

impl Host {
    /// Starts `vetpay serve` on `database` as `host_id`, with attempt leases
    /// of `lease_seconds`.
    pub fn start(database: &str, host_id: &str, lease_seconds: u64) -> Host {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(env!("CARGO_BIN_EXE_vetpay"))
            .args(["serve", "--database", database])
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(["--host-id", host_id])
            .args(["--attempt-lease-seconds", &lease_seconds.to_string()])
            .args(["--allow-private-network", "127.0.0.0/8"])
            .env("VETPAY_SECRET_KEY", super::secret_key())
            .env(
                "VETPAY_CODE_CACHE",
                std::env::temp_dir().join("vetpay-test-compiled-cache"),
            )
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("vetpay serve starts");
        Host {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }

    pub async fn ready(&self) {
        let http = reqwest::Client::new();
        for _ in 0..600 {
            if let Ok(r) = http.get(format!("{}/healthz", self.url)).send().await
                && r.status().is_success()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{} never became healthy", self.url);
    }

    /// SIGKILL: no shutdown, no last write.
    pub fn kill_9(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What each card holder does, by terminal: answers at once (before the kill),
/// while the host is dead, after the restart, or declines.
pub fn script(i: usize) -> (Behaviour, Duration) {
    match i % 4 {
        0 => (Behaviour::Approve, Duration::ZERO),
        1 => (Behaviour::Approve, Duration::from_millis(1500)),
        2 => (Behaviour::Approve, Duration::from_secs(6)),
        _ => (
            Behaviour::Decline { code: "05".into() },
            Duration::from_millis(1500),
        ),
    }
}

pub struct Seeded {
    pub demo: vetpay::demo::Demo,
    /// (terminal id, invoice id) per payment.
    pub slots: Vec<(String, String)>,
}

/// A started payment: (payment id, invoice id, amount).
pub type Started = (String, String, i64);

/// The demo, plus one Nets terminal and one invoice per payment, each card
/// holder scripted by `script`.
pub async fn seed(
    store: &Store,
    payments: usize,
    script: impl Fn(usize) -> (Behaviour, Duration),
) -> Seeded {
    let clinic = super::host(store.clone());
    let demo = vetpay::demo::seed(&clinic, Default::default())
        .await
        .unwrap();
    let org = &demo.organisation_id;
    let nets_plugin = demo.nets_terminals[0].plugin_id.clone();
    let client = store
        .create_client(
            org,
            NewClient {
                name: "Crash Test".into(),
                email: None,
                phone: None,
            },
        )
        .await
        .unwrap();
    let mut slots = Vec::new();
    for i in 0..payments {
        let device = format!("NETS-CRASH-{i}");
        demo.nets
            .add_terminal(vetpay::demo::NETS_USER, &device, "Lane3000", true);
        let (behaviour, after) = script(i);
        demo.nets.script(&device, behaviour, after);
        let terminal = store
            .create_terminal(
                org,
                &demo.dk.id,
                NewTerminal {
                    plugin_id: nets_plugin.clone(),
                    provider_terminal_id: device,
                    name: format!("Crash {i}"),
                    terminal_type: vetpay::demo::NETS_TERMINAL_TYPE.into(),
                    model: None,
                },
            )
            .await
            .unwrap();
        let draft = store
            .create_invoice(
                org,
                "DKK",
                NewInvoice {
                    department_id: demo.dk.id.clone(),
                    client_id: client.id.clone(),
                    patient_id: None,
                    kind: InvoiceKind::Consultation,
                    lines: vec![NewLine {
                        description: "Konsultation".into(),
                        quantity: 1.into(),
                        unit_price: 10_000 + i as i64,
                        vat_rate: "25".parse().unwrap(),
                        discount_percent: Default::default(),
                        plan_item_code: None,
                        item: None,
                        discounts: Vec::new(),
                    }],
                },
            )
            .await
            .unwrap();
        let invoice = store.finalise_invoice(org, &draft.id).await.unwrap();
        slots.push((terminal.id, invoice.id));
    }
    Seeded { demo, slots }
}

/// Starts every payment, spread over `hosts`.
pub async fn pay_all(seeded: &Seeded, hosts: &[&str]) -> Vec<Started> {
    let http = reqwest::Client::new();
    let key = &seeded.demo.admin_key;
    let mut started = Vec::new();
    for (i, (terminal, invoice)) in seeded.slots.iter().enumerate() {
        let host = hosts[i % hosts.len()];
        let due = http
            .get(format!("{host}/v1/invoices/{invoice}"))
            .bearer_auth(key)
            .send()
            .await
            .unwrap()
            .json::<serde_json::Value>()
            .await
            .unwrap()["due"]
            .as_i64()
            .unwrap();
        let r = http
            .post(format!("{host}/v1/invoices/{invoice}/payments"))
            .bearer_auth(key)
            .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
            .json(&json!({"method": "card", "amount": due, "terminal_id": terminal}))
            .send()
            .await
            .unwrap();
        assert!(
            r.status().is_success(),
            "payment {i} starts: {}",
            r.status()
        );
        let p: serde_json::Value = r.json().await.unwrap();
        started.push((p["id"].as_str().unwrap().to_owned(), invoice.clone(), due));
    }
    started
}

/// Waits until every payment is settled; returns how long that took.
pub async fn all_settled(store: &Store, org: &str, payments: &[Started]) -> Duration {
    let t0 = Instant::now();
    loop {
        let mut open = Vec::new();
        for (id, _, _) in payments {
            let p = store.payment(org, id).await.unwrap().unwrap();
            if !p.status.is_final() {
                open.push((id.clone(), p.status, p.message));
            }
        }
        if open.is_empty() {
            return t0.elapsed();
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "{} payments still unresolved after 60 s: {open:?}",
            open.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The books against the simulator's ledger: 0 lost, 0 doubled, 0 mismatched.
pub async fn books_match(store: &Store, seeded: &Seeded, payments: &[Started]) {
    let org = &seeded.demo.organisation_id;
    let ledger = seeded.demo.nets.ledger();
    for (id, invoice, amount) in payments {
        let p = store.payment(org, id).await.unwrap().unwrap();
        let approvals: Vec<_> = ledger
            .iter()
            .filter(|e| &e.order_id == id && e.approved)
            .collect();
        assert!(approvals.len() <= 1, "charged twice: {id} {approvals:?}");
        let charged = approvals.len() == 1;
        use vetpay::store::PaymentStatus::*;
        match p.status {
            Succeeded => assert!(charged, "booked but never charged: {p:?}"),
            Failed | Cancelled => assert!(!charged, "charged but booked {:?}: {p:?}", p.status),
            other => panic!("left {other:?}: {p:?}"),
        }
        let inv = store.invoice(org, invoice).await.unwrap().unwrap();
        assert_eq!(
            inv.paid.minor_units,
            if charged { *amount } else { 0 },
            "{inv:?}"
        );
        if charged {
            assert_eq!(
                approvals[0].amount, *amount,
                "the amount charged is the amount booked"
            );
        }
    }
}

/// How a crash scenario runs: payments in flight, card holders, the lease,
/// and how long after the last payment started the host is killed.
pub struct Scenario<S> {
    pub in_flight: usize,
    pub script: S,
    pub lease_seconds: u64,
    pub kill_after: Duration,
}

impl<S: Fn(usize) -> (Behaviour, Duration)> Scenario<S> {
    /// One host killed with `kill -9`, dead for 2 s, restarted with the same
    /// `--host-id`; returns the time from the restart to the last payment
    /// settled, after checking the books.
    pub async fn restart(&self, url: &str, store: &Store) -> Duration {
        let seeded = seed(store, self.in_flight, &self.script).await;
        let mut host = Host::start(url, "crash-host-1", self.lease_seconds);
        host.ready().await;
        let payments = pay_all(&seeded, &[&host.url]).await;
        tokio::time::sleep(self.kill_after).await;
        host.kill_9();
        // Dead for a while: some card holders answer meanwhile.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let restarted = Host::start(url, "crash-host-1", self.lease_seconds);
        restarted.ready().await;
        let took = all_settled(store, &seeded.demo.organisation_id, &payments).await;
        books_match(store, &seeded, &payments).await;
        took
    }

    /// Three hosts share the payments and one is killed for good; returns the
    /// time from its death to the last payment settled, after checking the books.
    pub async fn death_of_one_of_three(&self, url: &str, store: &Store) -> Duration {
        let seeded = seed(store, self.in_flight, &self.script).await;
        let mut hosts: Vec<Host> = (1..=3)
            .map(|i| Host::start(url, &format!("pg-host-{i}"), self.lease_seconds))
            .collect();
        for h in &hosts {
            h.ready().await;
        }
        let urls: Vec<String> = hosts.iter().map(|h| h.url.clone()).collect();
        let refs: Vec<&str> = urls.iter().map(String::as_str).collect();
        let payments = pay_all(&seeded, &refs).await;
        tokio::time::sleep(self.kill_after).await;
        hosts[0].kill_9();
        let took = all_settled(store, &seeded.demo.organisation_id, &payments).await;
        books_match(store, &seeded, &payments).await;
        took
    }
}

/// The PostgreSQL database of [`super::databases`]; several hosts need one.
pub async fn postgres() -> (String, Store) {
    super::databases()
        .await
        .into_iter()
        .find(|(_, s)| s.backend() == vetpay::store::Backend::Postgres)
        .expect("this needs PostgreSQL (VETPAY_TEST_POSTGRES_URL)")
}
