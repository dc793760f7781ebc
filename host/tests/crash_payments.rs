//! `kill -9` with card payments in flight, through the real `vetpay serve`
//! binary, with the Nets simulator in this test process so that it outlives
//! the host. Card holders answer before the kill, while the host is dead, and
//! after the restart; some decline. Then the books are checked against the
//! simulator's ledger: nothing lost, nothing doubled, nothing mismatched, and
//! nothing left unresolved within 60 s. On SQLite and PostgreSQL, and with
//! three hosts on PostgreSQL of which one dies and stays dead.

mod support;

use std::time::Duration;

use support::crash::{Host, all_settled, books_match, pay_all, script, seed};

/// Payments in flight when the host dies.
const IN_FLIGHT: usize = 12;
/// The lease the hosts run with: a dead host's payments are taken over after it.
const LEASE_SECONDS: u64 = 3;

// Several threads: the simulator in this process serves the binaries' calls.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payments_in_flight_survive_kill_9_and_a_restart() {
    for (url, store) in support::databases().await {
        let seeded = seed(&store, IN_FLIGHT, script).await;
        let mut host = Host::start(&url, "crash-host-1", LEASE_SECONDS);
        host.ready().await;
        let payments = pay_all(&seeded, &[&host.url]).await;
        // Some card holders have answered; the rest are deciding.
        tokio::time::sleep(Duration::from_millis(700)).await;
        host.kill_9();
        // Dead for a while: some card holders answer meanwhile.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let restarted = Host::start(&url, "crash-host-1", LEASE_SECONDS);
        restarted.ready().await;
        let took = all_settled(&store, &seeded.demo.organisation_id, &payments).await;
        println!(
            "figure crash_restart_to_last_resolved_{:?} {} ms",
            store.backend(),
            took.as_millis()
        );
        books_match(&store, &seeded, &payments).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hosts_on_postgres_one_killed_and_never_restarted() {
    let Some((url, store)) = support::databases()
        .await
        .into_iter()
        .find(|(_, s)| s.backend() == vetpay::store::Backend::Postgres)
    else {
        panic!("this suite needs PostgreSQL (VETPAY_TEST_POSTGRES_URL)");
    };
    let seeded = seed(&store, IN_FLIGHT, script).await;
    let mut hosts: Vec<Host> = (1..=3)
        .map(|i| Host::start(&url, &format!("pg-host-{i}"), LEASE_SECONDS))
        .collect();
    for h in &hosts {
        h.ready().await;
    }
    let urls: Vec<String> = hosts.iter().map(|h| h.url.clone()).collect();
    let refs: Vec<&str> = urls.iter().map(String::as_str).collect();
    let payments = pay_all(&seeded, &refs).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    hosts[0].kill_9();
    let took = all_settled(&store, &seeded.demo.organisation_id, &payments).await;
    println!(
        "figure crash_death_to_last_resolved {} ms",
        took.as_millis()
    );
    books_match(&store, &seeded, &payments).await;
}
