//! Every released contract version runs side by side. The Nets plugin as it
//! was released against contract 0.1.0 (kept, built, in `tests/fixtures`) and
//! today's build against 0.2.0 load into one runtime and take payments against
//! the Connect@Cloud simulator; only the 0.2 plugin hears what 0.2 added.

use std::time::Duration;

use vetpay::plugin::types::{Money, Outcome, PaymentRequest, StatusQuery, TransactionKind};
use vetpay::plugin::{CallEnv, Runtime};
use vetpay_tests::fixtures::config;
use vetpay_tests::nets_sim::NetsSim;

/// The bundled Nets plugin, built from the sources of contract 0.1.0.
const NETS_0_1_0: &[u8] = include_bytes!("../fixtures/contract-0.1.0/nets-connect-cloud.wasm");

const USER: &str = "clinic-dk";
const PASSWORD: &str = "Nets-P4ssw0rd!";

fn env(sim: &NetsSim) -> CallEnv {
    let mut env = CallEnv {
        market: "DK".into(),
        organisation_id: "org-dk".into(),
        department_id: Some("dep-aarhus".into()),
        ..CallEnv::default()
    };
    for (k, v) in [
        ("username", USER),
        ("password", PASSWORD),
        ("base-url", sim.base_url.as_str()),
        ("lookup-delay-ms", "50"),
        ("token-refresh-margin-s", "0"),
        ("transaction-timeout-s", "1"),
    ] {
        env.organisation_settings.insert(k.into(), v.into());
    }
    env.extra_allowed_hosts.push(sim.base_url.parse().unwrap());
    env
}

fn dkk(minor_units: i64) -> Money {
    Money {
        minor_units,
        currency: "DKK".into(),
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

#[tokio::test]
async fn a_plugin_built_against_0_1_0_keeps_working_beside_a_0_2_0_one() {
    let old_info = vetpay::plugin::contract::inspect(NETS_0_1_0).unwrap();
    assert_eq!(old_info.exported_contract.to_string(), "0.1.0");
    let new_bytes = std::fs::read(vetpay_plugin_artifacts::NETS).unwrap();
    let new_info = vetpay::plugin::contract::inspect(&new_bytes).unwrap();
    assert_eq!(new_info.exported_contract.to_string(), "0.2.0");

    let sim = NetsSim::start().await;
    sim.add_account(USER, PASSWORD);
    sim.add_terminal(USER, "T-100", "Lane3000", true);
    let rt = Runtime::new(config()).unwrap();
    let old = rt.load(NETS_0_1_0.to_vec()).await.unwrap();
    let new = rt.load_file(vetpay_plugin_artifacts::NETS).await.unwrap();
    let env = env(&sim);

    for (plugin, id) in [(&old, "old-1"), (&new, "new-1")] {
        let request = PaymentRequest {
            request_id: id.into(),
            kind: TransactionKind::Purchase,
            amount: dkk(4500),
            terminal_id: "T-100".into(),
            original_reference: None,
            description: None,
        };
        let out = plugin.process(&env, request).await.unwrap();
        assert!(
            matches!(&out, Outcome::Approved(a) if a.amount == dkk(4500)),
            "{out:?}"
        );
        let query = StatusQuery {
            request_id: id.into(),
            terminal_id: Some("T-100".into()),
            kind: TransactionKind::Purchase,
            amount: dkk(4500),
            sent_at_ms: Some(now_ms()),
            previous_request_id: None,
            superseded: false,
        };
        let found = plugin.status(&env, query).await.unwrap();
        assert!(matches!(found, Outcome::Approved(_)), "{found:?}");
    }

    // A request that never reached the terminal, with every fact 0.2 needs to
    // prove it: only the 0.2 plugin hears them and answers `not-found`.
    let never = StatusQuery {
        request_id: "never-2".into(),
        terminal_id: Some("T-100".into()),
        kind: TransactionKind::Purchase,
        amount: dkk(700),
        sent_at_ms: Some(now_ms() - Duration::from_secs(10).as_millis() as u64),
        previous_request_id: Some("new-1".into()),
        superseded: false,
    };
    let old_says = old.status(&env, never.clone()).await.unwrap();
    assert!(matches!(old_says, Outcome::Unknown(_)), "{old_says:?}");
    let new_says = new.status(&env, never).await.unwrap();
    assert!(matches!(new_says, Outcome::NotFound(_)), "{new_says:?}");

    // A 0.1 End of Day carries its text and no totals.
    let report = old.reconcile(&env, "T-100").await.unwrap();
    assert!(!report.report.is_empty());
    assert_eq!(report.totals, None);
    assert_eq!(sim.ledger().len(), 2, "one transaction per plugin");
}
