//! How long recovery takes after `kill -9` with 40 card payments in flight
//! (issue 12): from a host's restart to the last payment settled, on SQLite
//! and PostgreSQL, and from one of three PostgreSQL hosts' death (never
//! restarted) to the last payment settled. Real `vetpay serve` processes, the
//! Nets simulator in this process; the books are checked against its ledger
//! after every run.
//!
//! `cargo bench -p vetpay --bench recovery`

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::Duration;

use support::crash::{Host, all_settled, books_match, pay_all, seed};
use vetpay::store::Backend;
use vetpay_simulators::nets::Behaviour;

const IN_FLIGHT: usize = 40;
/// A short lease, as an operator who wants a quick takeover would set.
const LEASE_SECONDS: u64 = 10;

/// Card holders answer before the kill, while the host is dead, or decline
/// then; none waits for the restart, so what is measured is recovery itself.
/// (By `i / 3`: payments are spread over three hosts by `i % 3`, and each host
/// gets every kind of card holder.)
fn script(i: usize) -> (Behaviour, Duration) {
    match (i / 3) % 3 {
        0 => (Behaviour::Approve, Duration::ZERO),
        1 => (Behaviour::Approve, Duration::from_millis(1500)),
        _ => (
            Behaviour::Decline { code: "05".into() },
            Duration::from_millis(1500),
        ),
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    for (url, store) in support::databases().await {
        let backend = store.backend();
        let seeded = seed(&store, IN_FLIGHT, script).await;
        let mut host = Host::start(&url, "bench-host-1", LEASE_SECONDS);
        host.ready().await;
        let payments = pay_all(&seeded, &[&host.url]).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        host.kill_9();
        tokio::time::sleep(Duration::from_secs(2)).await;
        let restarted = Host::start(&url, "bench-host-1", LEASE_SECONDS);
        restarted.ready().await;
        let took = all_settled(&store, &seeded.demo.organisation_id, &payments).await;
        books_match(&store, &seeded, &payments).await;
        let name = match backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        };
        println!(
            "figure recovery_restart_to_last_settled_{name} {:.2} s",
            took.as_secs_f64()
        );
        drop(restarted);

        if backend == Backend::Postgres {
            let (url, store) = support::databases()
                .await
                .into_iter()
                .find(|(_, s)| s.backend() == Backend::Postgres)
                .expect("PostgreSQL");
            let seeded = seed(&store, IN_FLIGHT, script).await;
            let mut hosts: Vec<Host> = (1..=3)
                .map(|i| Host::start(&url, &format!("bench-pg-{i}"), LEASE_SECONDS))
                .collect();
            for h in &hosts {
                h.ready().await;
            }
            let urls: Vec<String> = hosts.iter().map(|h| h.url.clone()).collect();
            let refs: Vec<&str> = urls.iter().map(String::as_str).collect();
            let payments = pay_all(&seeded, &refs).await;
            tokio::time::sleep(Duration::from_millis(500)).await;
            hosts[0].kill_9();
            let took = all_settled(&store, &seeded.demo.organisation_id, &payments).await;
            books_match(&store, &seeded, &payments).await;
            println!(
                "figure recovery_death_to_last_settled_postgres {:.2} s (lease {LEASE_SECONDS} s)",
                took.as_secs_f64()
            );
        }
    }
}
