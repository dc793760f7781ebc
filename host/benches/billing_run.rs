//! The month's billing of 100,000 active subscriptions with saved Gravity
//! cards, against the emergepay simulator answering each charge after 50 ms:
//! `vetpay billing run` as its own process on embedded SQLite, timed, with its
//! peak memory (VmHWM) sampled from /proc while it runs.
//!
//! Run: `cargo bench -p vetpay --bench billing_run`
//! (SUBSCRIPTIONS, WORKERS and BATCH may be set in the environment;
//! BILLING_POSTGRES_URL=postgres://... runs it on PostgreSQL instead, in a
//! schema of its own; BILLING_HOSTS=N starts N `vetpay billing run` processes
//! at once on the same month, as N hosts sharing one database would, and times
//! them until the last ends.)

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Map, json};
use vetpay::plugin::RuntimeConfig;
use vetpay::store::{NewPlan, Store};

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Peak resident memory of a process so far, in KiB.
fn peak_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn main() {
    let subscriptions = env_or("SUBSCRIPTIONS", 100_000);
    let workers = env_or("WORKERS", 8);
    let batch = env_or("BATCH", 64);
    let hosts = env_or("BILLING_HOSTS", 1).max(1);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let dir = std::env::temp_dir().join(format!("vetpay-bench-billing-{}", std::process::id()));
        // The billing process opens the same vault as the seeding store.
        std::fs::create_dir_all(&dir).unwrap();
        let key_file = dir.join(vetpay::store::DEFAULT_KEY_FILE);
        let key = vetpay::vault::key_file_or_create(&key_file).unwrap();
        let (store, database) = match std::env::var("BILLING_POSTGRES_URL") {
            Ok(base) => {
                let admin = Store::connect(&base, vetpay::vault::Keyring::ephemeral()).await.unwrap();
                let schema = format!("bench_billing_{}", std::process::id());
                admin.execute_raw(&format!("CREATE SCHEMA {schema}")).await.unwrap();
                let sep = if base.contains('?') { '&' } else { '?' };
                let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
                (Store::connect(&url, vetpay::vault::Keyring::new(key, Vec::new())).await.unwrap(), url)
            }
            Err(_) => {
                let store = Store::sqlite_in(&dir).await.unwrap();
                let url = format!("sqlite://{}?mode=rwc", dir.join("vetpay.db").display());
                (store, url)
            }
        };
        let backend = format!("{:?}", store.backend());
        // A compiled-code cache of this run alone (shared ones are changed by others).
        let cache = std::env::temp_dir().join(format!("vetpay-bench-billing-{}-cache", std::process::id()));
        let clinic = vetpay::server::clinic(
            store.clone(),
            RuntimeConfig {
                compiled_cache_dir: Some(cache.clone()),
                network: vetpay::plugin::NetworkPolicy::with_loopback(),
                ..RuntimeConfig::default()
            },
            Default::default(),
        )
        .unwrap();
        let demo = vetpay::demo::seed(&clinic, Default::default()).await.unwrap();
        let org = demo.organisation_id.clone();
        let mut on = Map::new();
        on.insert("health-plans-enabled".into(), json!(true));
        store.set_settings(&org, None, &on).await.unwrap();
        let plan = store
            .create_plan(
                &org,
                "USD",
                NewPlan {
                    name: "Adult dog".into(),
                    description: String::new(),
                    species: None,
                    min_age_months: None,
                    max_age_months: None,
                    sale_from: None,
                    sale_until: None,
                    main_department_id: demo.us.id.clone(),
                    contract_months: 12,
                    monthly_price: 2_995,
                    upfront_price: 0,
                    cancellation_fee: 0,
                    renews: false,
                    next_plan_id: None,
                    items: vec![],
                },
            )
            .await
            .unwrap();
        // 100,000 clients, dogs, saved cards and active subscriptions, set up in SQL.
        let setup = Instant::now();
        let last = subscriptions - 1;
        let us = &demo.us.id;
        for sql in [
            format!("WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {last}) \
                     INSERT INTO clients (id, organisation_id, name, created_at) SELECT 'c-' || i, '{org}', 'Owner ' || i, 0 FROM n"),
            format!("WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {last}) \
                     INSERT INTO patients (id, organisation_id, client_id, name, species, created_at) SELECT 'p-' || i, '{org}', 'c-' || i, 'Rex', 'dog', 0 FROM n"),
            format!("WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {last}) \
                     INSERT INTO cards (id, organisation_id, client_id, department_id, plugin_id, token, masked_pan, brand, is_default, created_at) \
                     SELECT 'k-' || i, '{org}', 'c-' || i, '{us}', 'gravity', 'tok-' || i, '************4242', 'VS', 1, 0 FROM n"),
            format!("WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {last}) \
                     INSERT INTO subscriptions (id, organisation_id, plan_id, client_id, patient_id, department_id, payment_option, card_id, status, \
                     start_period, end_period, failed_charges, created_at, activated_at) \
                     SELECT 's-' || i, '{org}', '{}', 'c-' || i, 'p-' || i, '{us}', 'saved_card', 'k-' || i, 'active', '2026-01', '2027-01', 0, 0, 0 FROM n", plan.id),
        ] {
            store.execute_raw(&sql).await.unwrap();
        }
        demo.gravity.add_saved_cards("tok-", subscriptions);
        demo.gravity.set_latency(Duration::from_millis(50));
        eprintln!("set up {subscriptions} subscriptions in {:.1?}", setup.elapsed());

        let started = Instant::now();
        let mut children: Vec<_> = (0..hosts)
            .map(|_| {
                Command::new(env!("CARGO_BIN_EXE_vetpay"))
                    .args(["billing", "run", "--period", "2026-01", "--quiet"])
                    .args(["--workers", &workers.to_string(), "--batch", &batch.to_string()])
                    .args(["--database", &database])
                    .arg("--secret-key-file")
                    .arg(&key_file)
                    // The simulator listens on loopback, which plugins reach only where allowed.
                    .args(["--allow-private-network", "127.0.0.1/32"])
                    .env("VETPAY_CODE_CACHE", &cache)
                    .stdout(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        // The peak of each process; the figure is the largest (one host's memory).
        let mut peaks = vec![0; hosts];
        let mut statuses = vec![None; hosts];
        while statuses.iter().any(Option::is_none) {
            for (i, child) in children.iter_mut().enumerate() {
                if statuses[i].is_some() {
                    continue;
                }
                if let Some(kib) = peak_kib(child.id()) {
                    peaks[i] = peaks[i].max(kib);
                }
                statuses[i] = child.try_wait().unwrap();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let elapsed = started.elapsed();
        let peak = peaks.iter().copied().max().unwrap_or(0);
        let mut out = String::new();
        for (child, status) in children.iter_mut().zip(&statuses) {
            let mut one = String::new();
            std::io::Read::read_to_string(child.stdout.as_mut().unwrap(), &mut one).unwrap();
            assert!(status.is_some_and(|s| s.success()), "{one}");
            out.push_str(&one);
        }

        let charges = demo
            .gravity
            .ledger()
            .iter()
            .filter(|e| e.kind == "TokenizedPayment" && e.approved)
            .count();
        assert_eq!(charges, subscriptions, "every subscription charged exactly once");
        println!("{}", out.trim());
        println!(
            "{backend}: {subscriptions} subscriptions billed in {:.1} s ({:.0} charges/s), 50 ms per charge, {hosts} host(s) × {workers} workers × {batch} per batch; \
             peak memory of a billing process {:.0} MiB",
            elapsed.as_secs_f64(),
            subscriptions as f64 / elapsed.as_secs_f64(),
            peak as f64 / 1024.0
        );
        let _ = std::fs::remove_dir_all(&dir);
        let _ = std::fs::remove_dir_all(&cache);
        let name = backend.to_ascii_lowercase();
        // One host keeps the plain names; more say how many.
        let name = if hosts == 1 { name } else { format!("{name}-hosts{hosts}") };
        println!("figure billing-run-{name} {:.1} s", elapsed.as_secs_f64());
        println!("figure billing-run-{name}-rate {:.0} charges/s", subscriptions as f64 / elapsed.as_secs_f64());
        println!("figure billing-run-{name}-peak-memory {:.0} MiB", peak as f64 / 1024.0);
        if let (Ok(base), Some(schema)) = (
            std::env::var("BILLING_POSTGRES_URL"),
            database.split("search_path%3D").nth(1),
        ) {
            let admin = Store::connect(&base, vetpay::vault::Keyring::ephemeral()).await.unwrap();
            admin
                .execute_raw(&format!("DROP SCHEMA {schema} CASCADE"))
                .await
                .unwrap();
        }
    });
}
