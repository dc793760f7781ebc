//! `vetpay billing run` through the real binary: killed half-way, restarted,
//! and nobody charged twice (checked against the Gravity simulator's ledger),
//! on SQLite and on PostgreSQL.

mod support;

use std::collections::HashSet;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Map, json};
use vetpay::store::{
    NewCard, NewClient, NewPatient, NewPlan, NewSubscription, PaymentOption, Period, Store,
};

const SUBSCRIPTIONS: usize = 120;

fn billing_run(database: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vetpay"));
    cmd.args([
        "billing",
        "run",
        "--period",
        "2026-01",
        "--workers",
        "2",
        "--batch",
        "8",
    ])
    .args(["--lease-seconds", "2", "--database", database])
    .env("VETPAY_SECRET_KEY", support::secret_key())
    .args(["--allow-private-network", "127.0.0.0/8"])
    .env(
        "VETPAY_CODE_CACHE",
        std::env::temp_dir().join("vetpay-test-compiled-cache"),
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    cmd
}

/// Runs the command to its end without blocking the simulators in this process.
async fn output(mut cmd: Command) -> std::process::Output {
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

// Several threads: the simulators in this process serve the binary's calls.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_killed_half_way_and_restarted_charges_nobody_twice() {
    for (url, store) in support::databases().await {
        killed_and_restarted(&url, store).await;
    }
}

async fn killed_and_restarted(url: &str, store: Store) {
    let clinic = support::host(store.clone());
    let demo = vetpay::demo::seed(&clinic, Default::default())
        .await
        .unwrap();
    let org = demo.organisation_id.clone();
    let mut on = Map::new();
    on.insert("health-plans-enabled".into(), json!(true));
    store.set_settings(&org, None, &on).await.unwrap();
    let plan = store
        .create_plan(
            &org,
            "USD",
            NewPlan {
                name: "Adult".into(),
                description: String::new(),
                species: None,
                min_age_months: None,
                max_age_months: None,
                sale_from: None,
                sale_until: None,
                main_department_id: demo.us.id.clone(),
                contract_months: 12,
                monthly_price: 2500,
                upfront_price: 0,
                cancellation_fee: 0,
                renews: false,
                next_plan_id: None,
                items: vec![],
            },
        )
        .await
        .unwrap();
    demo.gravity.add_saved_cards("tok-", SUBSCRIPTIONS);
    let today = jiff::civil::date(2026, 1, 10);
    for n in 0..SUBSCRIPTIONS {
        let client = store
            .create_client(
                &org,
                NewClient {
                    name: format!("Owner {n}"),
                    email: None,
                    phone: None,
                },
            )
            .await
            .unwrap();
        let patient = store
            .create_patient(
                &org,
                &client.id,
                NewPatient {
                    name: "Rex".into(),
                    species: "dog".into(),
                    birth_date: None,
                },
            )
            .await
            .unwrap();
        let card = store
            .add_card(
                &org,
                &client.id,
                NewCard {
                    department_id: demo.us.id.clone(),
                    plugin_id: "gravity".into(),
                    token: format!("tok-{n}"),
                    masked_pan: "************4242".into(),
                    brand: Some("VS".into()),
                    expiry: None,
                },
            )
            .await
            .unwrap();
        let s = store
            .subscribe(
                &org,
                NewSubscription {
                    plan_id: plan.id.clone(),
                    client_id: client.id,
                    patient_id: patient.id,
                    payment_option: PaymentOption::SavedCard,
                    card_id: Some(card.id),
                    start_period: Period::parse("2026-01").unwrap(),
                },
                today,
            )
            .await
            .unwrap();
        store.activate_subscription(&org, &s.id).await.unwrap();
    }
    // Each charge takes a while, so the first run is still busy when it is killed.
    demo.gravity.set_latency(Duration::from_millis(150));

    let mut first = billing_run(url).spawn().expect("vetpay billing run starts");
    let approved = || {
        demo.gravity
            .ledger()
            .iter()
            .filter(|e| e.kind == "TokenizedPayment" && e.approved)
            .count()
    };
    // Kill it once some months are charged and most are not.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while approved() < 16 {
        assert!(
            std::time::Instant::now() < deadline,
            "the first run charged nothing"
        );
        assert!(
            first.try_wait().unwrap().is_none(),
            "the first run ended before it was killed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Its progress is readable while it runs.
    let runs = store.billing_runs(&org).await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].status, "running");
    assert_eq!(runs[0].total, SUBSCRIPTIONS as i64);
    assert!(runs[0].processed < runs[0].total, "{:?}", runs[0]);
    first.kill().unwrap();
    first.wait().unwrap();
    let at_kill = approved();
    assert!(
        at_kill < SUBSCRIPTIONS,
        "killed half-way, not at the end ({at_kill})"
    );

    // The leases of the killed run run out; a new run finishes the month.
    tokio::time::sleep(Duration::from_millis(2200)).await;
    let second = output(billing_run(url)).await;
    let stdout = String::from_utf8_lossy(&second.stdout);
    assert!(
        second.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&second.stderr)
    );
    assert!(stdout.contains("done"), "{stdout}");

    let ledger = demo.gravity.ledger();
    let charges: Vec<_> = ledger
        .iter()
        .filter(|e| e.kind == "TokenizedPayment")
        .collect();
    assert!(charges.iter().all(|e| e.approved && e.cents == 2500));
    let distinct: HashSet<&str> = charges.iter().map(|e| e.external_id.as_str()).collect();
    assert_eq!(
        charges.len(),
        SUBSCRIPTIONS,
        "one charge per subscription, none twice"
    );
    assert_eq!(distinct.len(), SUBSCRIPTIONS);
    // And on the books: one paid invoice per subscription for the month.
    let invoices = store.invoices(&org, None, 500).await.unwrap();
    let months: Vec<_> = invoices
        .iter()
        .filter(|i| i.billing_period.as_deref() == Some("2026-01"))
        .collect();
    assert_eq!(months.len(), SUBSCRIPTIONS);
    for i in &months {
        let payments = store.invoice_payments(&org, &i.id).await.unwrap();
        assert_eq!(
            i.due.minor_units, 0,
            "every month paid: {i:?} {payments:?} {stdout}"
        );
    }
    // A third run finds nothing left to do.
    let third = output(billing_run(url)).await;
    assert!(String::from_utf8_lossy(&third.stdout).contains("0 processed"));
    assert_eq!(demo.gravity.ledger().len(), ledger.len());
}
