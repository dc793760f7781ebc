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

use support::crash::Scenario;
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
    let scenario = Scenario {
        in_flight: IN_FLIGHT,
        script,
        lease_seconds: LEASE_SECONDS,
        kill_after: Duration::from_millis(500),
    };
    for (url, store) in support::databases().await {
        let took = scenario.restart(&url, &store).await;
        let name = match store.backend() {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        };
        println!(
            "figure recovery_restart_to_last_settled_{name} {:.2} s",
            took.as_secs_f64()
        );
    }
    let (url, store) = support::crash::postgres().await;
    let took = scenario.death_of_one_of_three(&url, &store).await;
    println!(
        "figure recovery_death_to_last_settled_postgres {:.2} s (lease {LEASE_SECONDS} s)",
        took.as_secs_f64()
    );
}
