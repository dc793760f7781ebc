//! The Nets Connect@Cloud plugin, compiled to a component, through the real
//! runtime against the Connect@Cloud simulator over HTTP on loopback.

use std::time::Duration;

use vetpay::plugin::types::{
    Money, Outcome, PaymentRequest, PluginError, StatusQuery, TerminalProblem, TransactionKind,
};
use vetpay::plugin::{CallEnv, CallError, Disposition, Runtime, WasmPlugin};
use vetpay_tests::fixtures::{abort_and_wait, config, start_blocking_process};
use vetpay_tests::nets_sim::{Behaviour, Dialect, Fault, NetsSim, RESULT_99_VISIBLE_AFTER};

const USER: &str = "clinic-dk";
const PASSWORD: &str = "Nets-P4ssw0rd!";

async fn setup() -> (NetsSim, WasmPlugin, Runtime) {
    let sim = NetsSim::start().await;
    sim.add_account(USER, PASSWORD);
    sim.add_terminal(USER, "T-100", "Lane3000", true);
    let rt = Runtime::new(config()).unwrap();
    let plugin = rt.load_file(vetpay_plugin_artifacts::NETS).await.unwrap();
    (sim, plugin, rt)
}

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
    ] {
        env.organisation_settings.insert(k.into(), v.into());
    }
    env.extra_allowed_hosts.push(sim.base_url.parse().unwrap());
    env
}

fn dkk(id: &str, kind: TransactionKind, minor: i64, terminal: &str) -> PaymentRequest {
    PaymentRequest {
        request_id: id.into(),
        kind,
        amount: Money {
            minor_units: minor,
            currency: "DKK".into(),
        },
        terminal_id: terminal.into(),
        original_reference: None,
        description: None,
    }
}

fn approved(out: &Outcome) -> &vetpay::plugin::types::Approval {
    match out {
        Outcome::Approved(a) => a,
        other => panic!("expected an approval, got {other:?}"),
    }
}

#[tokio::test]
async fn an_approved_purchase_carries_the_truncated_pan_and_issuer() {
    let (sim, plugin, _rt) = setup().await;
    let out = plugin
        .process(
            &env(&sim),
            dkk("p-1", TransactionKind::Purchase, 12550, "T-100"),
        )
        .await
        .unwrap();
    let a = approved(&out);
    assert_eq!(a.amount.minor_units, 12550);
    let card = a.card.as_ref().unwrap();
    assert_eq!(card.masked_pan, "************0119");
    assert_eq!(card.brand.as_deref(), Some("visa"));
    assert!(
        a.receipt
            .as_ref()
            .unwrap()
            .customer
            .as_ref()
            .unwrap()
            .contains("APPROVED")
    );
    let ledger = sim.ledger();
    assert_eq!(ledger.len(), 1);
    assert_eq!(
        (
            ledger[0].transaction_type.as_str(),
            ledger[0].amount,
            ledger[0].approved
        ),
        ("purchase", 12550, true)
    );
}

#[tokio::test]
async fn a_decline_and_a_cancel_on_the_terminal_are_told_apart() {
    let (sim, plugin, _rt) = setup().await;
    sim.script(
        "T-100",
        Behaviour::Decline { code: "05".into() },
        Duration::ZERO,
    );
    let out = plugin
        .process(
            &env(&sim),
            dkk("p-dec", TransactionKind::Purchase, 500, "T-100"),
        )
        .await
        .unwrap();
    assert!(
        matches!(&out, Outcome::Declined(d) if d.code.as_deref() == Some("05")),
        "{out:?}"
    );
    sim.script("T-100", Behaviour::Cancel, Duration::ZERO);
    let out = plugin
        .process(
            &env(&sim),
            dkk("p-can", TransactionKind::Purchase, 500, "T-100"),
        )
        .await
        .unwrap();
    assert!(matches!(out, Outcome::CancelledByClient(_)), "{out:?}");
}

#[tokio::test]
async fn a_clinic_abort_ends_the_blocked_purchase() {
    let (sim, plugin, _rt) = setup().await;
    sim.script("T-100", Behaviour::Never, Duration::ZERO);
    let env = env(&sim);
    let request = dkk("p-abort", TransactionKind::Purchase, 900, "T-100");
    let running = start_blocking_process(&plugin, &env, request).await;

    // Meanwhile the terminal is busy for anything else.
    let err = plugin
        .process(
            &env,
            dkk("p-other", TransactionKind::Purchase, 100, "T-100"),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err.plugin_error(),
            Some(PluginError::Terminal(TerminalProblem::Busy))
        ),
        "{err}"
    );
    assert_eq!(err.disposition(), Disposition::Refused);

    let out = abort_and_wait(&plugin, &env, running, "p-abort", "T-100").await;
    assert!(matches!(out, Outcome::AbortedByClinic(_)), "{out:?}");
    assert!(sim.ledger().is_empty());
}

#[tokio::test]
async fn refunds_and_deposits_use_their_transaction_types() {
    let (sim, plugin, _rt) = setup().await;
    let out = plugin
        .process(
            &env(&sim),
            dkk("r-1", TransactionKind::Refund, 2000, "T-100"),
        )
        .await
        .unwrap();
    assert_eq!(approved(&out).amount.minor_units, 2000);
    let out = plugin
        .process(
            &env(&sim),
            dkk("d-1", TransactionKind::Deposit, 30000, "T-100"),
        )
        .await
        .unwrap();
    assert_eq!(approved(&out).amount.minor_units, 30000);
    let types: Vec<String> = sim
        .ledger()
        .into_iter()
        .map(|e| e.transaction_type)
        .collect();
    assert_eq!(types, ["returnOfGoods", "deposit"]);
}

#[tokio::test]
async fn a_new_terminal_takes_payments_only_after_end_of_day() {
    let (sim, plugin, _rt) = setup().await;
    sim.add_terminal(USER, "T-NEW", "Move3500", false);
    let err = plugin
        .process(
            &env(&sim),
            dkk("n-1", TransactionKind::Purchase, 100, "T-NEW"),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err.plugin_error(),
            Some(PluginError::Terminal(TerminalProblem::NeedsReconciliation))
        ),
        "{err}"
    );
    assert!(
        err.to_string().contains("End of Day"),
        "the message tells the clinic what to do: {err}"
    );

    let report = plugin.reconcile(&env(&sim), "T-NEW").await.unwrap();
    assert!(
        report.report.contains("END OF DAY") && report.report.contains("T-NEW"),
        "{}",
        report.report
    );
    assert_eq!(report.reference.as_deref(), Some("001"));

    let out = plugin
        .process(
            &env(&sim),
            dkk("n-2", TransactionKind::Purchase, 100, "T-NEW"),
        )
        .await
        .unwrap();
    approved(&out);
    assert_eq!(sim.ledger().len(), 1);
}

#[tokio::test]
async fn the_login_is_reused_refreshed_before_expiry_and_renewed_when_refused() {
    let (sim, plugin, _rt) = setup().await;
    let mut env = env(&sim);
    for i in 0..3 {
        plugin
            .process(
                &env,
                dkk(&format!("t-{i}"), TransactionKind::Purchase, 100, "T-100"),
            )
            .await
            .unwrap();
    }
    assert_eq!(sim.logins(), 1, "one login serves many calls");

    // A token the provider no longer accepts: one 401, a new login, success.
    sim.expire_tokens();
    plugin
        .process(&env, dkk("t-exp", TransactionKind::Purchase, 100, "T-100"))
        .await
        .unwrap();
    assert_eq!(sim.logins(), 2);

    // Tokens of 3 s renewed 2 s before expiry: after 1.2 s a new login happens
    // without any refusal.
    sim.set_token_lifetime(Duration::from_secs(3));
    env.organisation_settings
        .insert("token-refresh-margin-s".into(), "2".into());
    sim.expire_tokens();
    plugin
        .process(
            &env,
            dkk("t-short", TransactionKind::Purchase, 100, "T-100"),
        )
        .await
        .unwrap();
    let before = sim.logins();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    plugin
        .process(
            &env,
            dkk("t-renew", TransactionKind::Purchase, 100, "T-100"),
        )
        .await
        .unwrap();
    assert_eq!(sim.logins(), before + 1);
    assert_eq!(sim.ledger().len(), 6, "every purchase processed once");
}

#[tokio::test]
async fn a_dropped_response_is_recovered_from_the_last_transaction_and_never_resent() {
    let (sim, plugin, _rt) = setup().await;
    sim.fault_next("T-100", Fault::DropResponse);
    let out = plugin
        .process(
            &env(&sim),
            dkk("lost-1", TransactionKind::Purchase, 4200, "T-100"),
        )
        .await
        .unwrap();
    assert_eq!(approved(&out).amount.minor_units, 4200);
    // The host retries the same request: the terminal's last transaction answers.
    let again = plugin
        .process(
            &env(&sim),
            dkk("lost-1", TransactionKind::Purchase, 4200, "T-100"),
        )
        .await
        .unwrap();
    assert_eq!(
        approved(&again).provider_reference,
        approved(&out).provider_reference
    );
    assert_eq!(sim.ledger().len(), 1, "processed exactly once");
}

#[tokio::test]
async fn result_99_is_unknown_until_status_finds_the_transaction() {
    let (sim, plugin, _rt) = setup().await;
    sim.fault_next("T-100", Fault::Result99);
    let out = plugin
        .process(
            &env(&sim),
            dkk("r99-1", TransactionKind::Purchase, 7700, "T-100"),
        )
        .await
        .unwrap();
    assert!(matches!(out, Outcome::Unknown(_)), "{out:?}");
    tokio::time::sleep(RESULT_99_VISIBLE_AFTER).await;
    let query = StatusQuery {
        request_id: "r99-1".into(),
        terminal_id: Some("T-100".into()),
        kind: TransactionKind::Purchase,
        amount: Money {
            minor_units: 7700,
            currency: "DKK".into(),
        },
        sent_at_ms: None,
        previous_request_id: None,
        superseded: false,
    };
    let status = plugin.status(&env(&sim), query).await.unwrap();
    assert_eq!(approved(&status).amount.minor_units, 7700);
    assert_eq!(sim.ledger().len(), 1);
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// A status question about `id` on `terminal`, sent `ago` before now.
fn asked(id: &str, terminal: &str, ago: Duration, previous: Option<&str>) -> StatusQuery {
    StatusQuery {
        request_id: id.into(),
        terminal_id: Some(terminal.into()),
        kind: TransactionKind::Purchase,
        amount: Money {
            minor_units: 500,
            currency: "DKK".into(),
        },
        sent_at_ms: Some(now_ms() - ago.as_millis() as u64),
        previous_request_id: previous.map(str::to_owned),
        superseded: false,
    }
}

/// Settings where a terminal transaction runs at most 1 s.
fn short_env(sim: &NetsSim) -> CallEnv {
    let mut env = env(sim);
    env.organisation_settings
        .insert("transaction-timeout-s".into(), "1".into());
    env
}

/// Recovery asks `status` after a host died, perhaps a moment after the answer
/// was lost: the plugin waits the documented delay before the lookup, and a
/// request that may still be running on the terminal is in progress, never
/// failed.
#[tokio::test]
async fn status_waits_the_lookup_delay_and_never_fails_a_request_that_may_be_running() {
    let (sim, plugin, _rt) = setup().await;
    let started = std::time::Instant::now();
    let status = plugin
        .status(
            &env(&sim),
            asked("never-ran", "T-100", Duration::ZERO, None),
        )
        .await
        .unwrap();
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(50),
        "looked up after {:?}, before the 50 ms lookup delay",
        started.elapsed()
    );
    assert!(matches!(status, Outcome::InProgress(_)), "{status:?}");
    assert!(sim.ledger().is_empty());
}

/// Contract 0.2's `not-found`: the terminal's last transaction is the one
/// vetpay sent before, nothing ran since, and the request can no longer be
/// running. Each missing fact leaves the request unresolved instead.
#[tokio::test]
async fn a_request_that_never_reached_the_terminal_is_not_found_only_when_proven() {
    let (sim, plugin, _rt) = setup().await;
    let env = short_env(&sim);
    let first = plugin
        .process(
            &env,
            dkk("first-1", TransactionKind::Purchase, 900, "T-100"),
        )
        .await
        .unwrap();
    approved(&first);
    let long_ago = Duration::from_secs(5);

    let proven = plugin
        .status(&env, asked("lost-2", "T-100", long_ago, Some("first-1")))
        .await
        .unwrap();
    assert!(matches!(proven, Outcome::NotFound(_)), "{proven:?}");

    // Sent a moment ago: it may still be running on the terminal.
    let recent = plugin
        .status(
            &env,
            asked("lost-2", "T-100", Duration::ZERO, Some("first-1")),
        )
        .await
        .unwrap();
    assert!(matches!(recent, Outcome::InProgress(_)), "{recent:?}");

    // The last transaction is not the one vetpay sent before: unknown.
    let stranger = plugin
        .status(&env, asked("lost-2", "T-100", long_ago, Some("other-0")))
        .await
        .unwrap();
    assert!(matches!(stranger, Outcome::Unknown(_)), "{stranger:?}");

    // Another request ran on the terminal since: unknown.
    let superseded = StatusQuery {
        superseded: true,
        ..asked("lost-2", "T-100", long_ago, Some("first-1"))
    };
    let later = plugin.status(&env, superseded).await.unwrap();
    assert!(matches!(later, Outcome::Unknown(_)), "{later:?}");

    // No send time recorded: nothing can be proven.
    let unrecorded = StatusQuery {
        sent_at_ms: None,
        ..asked("lost-2", "T-100", long_ago, Some("first-1"))
    };
    let old = plugin.status(&env, unrecorded).await.unwrap();
    assert!(matches!(old, Outcome::Unknown(_)), "{old:?}");

    // A terminal without any transaction: not found only if vetpay sent
    // nothing to it before.
    sim.add_terminal(USER, "T-300", "Desk3500", true);
    let empty = plugin
        .status(&env, asked("lost-3", "T-300", long_ago, None))
        .await
        .unwrap();
    assert!(matches!(empty, Outcome::NotFound(_)), "{empty:?}");
    let odd = plugin
        .status(&env, asked("lost-3", "T-300", long_ago, Some("first-1")))
        .await
        .unwrap();
    assert!(matches!(odd, Outcome::Unknown(_)), "{odd:?}");
    assert_eq!(sim.ledger().len(), 1, "status never started a transaction");
}

#[tokio::test]
async fn terminals_are_listed_with_unsupported_models_flagged() {
    let (sim, plugin, _rt) = setup().await;
    sim.add_terminal(USER, "T-200", "iWL250 3G", true);
    sim.add_terminal("someone-else", "T-999", "iPP350", true);
    let list = plugin.list_terminals(&env(&sim)).await.unwrap();
    let ids: Vec<&str> = list.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["T-100", "T-200"], "only the account's terminals");
    assert!(list[0].supported);
    assert!(!list[1].supported && list[1].note.as_deref().unwrap().contains("iWL250"));
}

#[tokio::test]
async fn wrong_credentials_and_markets_are_refused() {
    let (sim, plugin, _rt) = setup().await;
    let mut wrong = env(&sim);
    wrong
        .organisation_settings
        .insert("password".into(), "nope".into());
    let err = plugin
        .process(&wrong, dkk("w-1", TransactionKind::Purchase, 100, "T-100"))
        .await
        .unwrap_err();
    assert!(
        matches!(err.plugin_error(), Some(PluginError::Configuration(c)) if c.setting == "password"),
        "{err}"
    );

    let mut us = env(&sim);
    us.market = "US".into();
    let err = plugin
        .process(&us, dkk("w-2", TransactionKind::Purchase, 100, "T-100"))
        .await
        .unwrap_err();
    assert!(matches!(err, CallError::MarketNotServed { .. }), "{err}");
    assert!(sim.ledger().is_empty());
}

#[tokio::test]
async fn an_offline_terminal_is_refused_without_processing() {
    let (sim, plugin, _rt) = setup().await;
    sim.set_offline("T-100", true);
    let err = plugin
        .process(
            &env(&sim),
            dkk("off-1", TransactionKind::Purchase, 100, "T-100"),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err.plugin_error(),
            Some(PluginError::Terminal(TerminalProblem::Offline))
        ),
        "{err}"
    );
    let err = plugin
        .process(
            &env(&sim),
            dkk("off-2", TransactionKind::Purchase, 100, "T-404"),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err.plugin_error(),
            Some(PluginError::Terminal(TerminalProblem::NotFound))
        ),
        "{err}"
    );
    sim.set_offline("T-100", false);
    let out = plugin
        .process(
            &env(&sim),
            dkk("off-1", TransactionKind::Purchase, 100, "T-100"),
        )
        .await
        .unwrap();
    approved(&out);
    assert_eq!(sim.ledger().len(), 1);
}

/// Another Connect@Cloud implementation's wording: refusals as failure objects
/// with codes, a stop worded without "cancel", `Result` 99 in a 400 body.
#[tokio::test]
async fn answers_in_another_dialect_map_to_the_same_outcomes() {
    let (sim, plugin, _rt) = setup().await;
    sim.set_dialect(Dialect::Coded);
    let env = env(&sim);

    sim.add_terminal(USER, "T-NEW", "Move3500", false);
    let err = plugin
        .process(&env, dkk("c-new", TransactionKind::Purchase, 100, "T-NEW"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err.plugin_error(),
            Some(PluginError::Terminal(TerminalProblem::NeedsReconciliation))
        ),
        "{err}"
    );

    sim.script("T-100", Behaviour::Never, Duration::ZERO);
    let request = dkk("c-abort", TransactionKind::Purchase, 900, "T-100");
    let running = start_blocking_process(&plugin, &env, request).await;
    let err = plugin
        .process(&env, dkk("c-busy", TransactionKind::Purchase, 100, "T-100"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err.plugin_error(),
            Some(PluginError::Terminal(TerminalProblem::Busy))
        ),
        "{err}"
    );
    let out = abort_and_wait(&plugin, &env, running, "c-abort", "T-100").await;
    assert!(matches!(out, Outcome::AbortedByClinic(_)), "{out:?}");

    sim.script("T-100", Behaviour::Cancel, Duration::ZERO);
    let out = plugin
        .process(
            &env,
            dkk("c-cancel", TransactionKind::Purchase, 500, "T-100"),
        )
        .await
        .unwrap();
    assert!(matches!(out, Outcome::CancelledByClient(_)), "{out:?}");

    // Result 99 in a 400 failure body: the plugin's own lookup finds it.
    sim.script("T-100", Behaviour::Approve, Duration::ZERO);
    sim.fault_next("T-100", Fault::Result99);
    let env99 = {
        let mut env = env.clone();
        let wait = (RESULT_99_VISIBLE_AFTER + Duration::from_millis(200)).as_millis();
        env.organisation_settings
            .insert("lookup-delay-ms".into(), wait.to_string());
        env
    };
    let out = plugin
        .process(&env99, dkk("c-99", TransactionKind::Purchase, 700, "T-100"))
        .await
        .unwrap();
    assert_eq!(approved(&out).amount.minor_units, 700);
    assert_eq!(sim.ledger().len(), 1, "processed once: {:?}", sim.ledger());
}
