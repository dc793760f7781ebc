//! `kill -9` with card payments in flight, through the real `vetpay serve`
//! binary, with the Nets simulator in this test process so that it outlives
//! the host. Card holders answer before the kill, while the host is dead, and
//! after the restart; some decline. Then the books are checked against the
//! simulator's ledger: nothing lost, nothing doubled, nothing mismatched, and
//! nothing left unresolved within 60 s. On SQLite and PostgreSQL, and with
//! three hosts on PostgreSQL of which one dies and stays dead.

mod support;

use std::time::Duration;

use support::crash::{Scenario, script};

/// 12 payments in flight; the host dies 0.7 s after the last one started,
/// when some card holders have answered and the rest are deciding. With a
/// 3 s lease a dead host's payments are taken over soon.
fn scenario() -> Scenario<fn(usize) -> (vetpay_simulators::nets::Behaviour, Duration)> {
    Scenario {
        in_flight: 12,
        script,
        lease_seconds: 3,
        kill_after: Duration::from_millis(700),
    }
}

// Several threads: the simulator in this process serves the binaries' calls.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payments_in_flight_survive_kill_9_and_a_restart() {
    for (url, store) in support::databases().await {
        let took = scenario().restart(&url, &store).await;
        println!(
            "figure crash_restart_to_last_resolved_{:?} {} ms",
            store.backend(),
            took.as_millis()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hosts_on_postgres_one_killed_and_never_restarted() {
    let (url, store) = support::crash::postgres().await;
    let took = scenario().death_of_one_of_three(&url, &store).await;
    println!(
        "figure crash_death_to_last_resolved {} ms",
        took.as_millis()
    );
}
