//! Every fault of the fault-injection plugin, through the real runtime and the
//! real compiled component: each is contained with its own error, and the
//! same runtime answers a well-behaved call afterwards.

use std::time::{Duration, Instant};

use vetpay::plugin::types::{Outcome, PluginError};
use vetpay::plugin::{CallError, Deadlines, Disposition, Runtime, RuntimeConfig, WasmPlugin};
use vetpay_tests::fault_server::FaultServer;
use vetpay_tests::fixtures::{
    abort_and_wait, config, fault_env, fault_plugin, purchase, start_blocking_process, usd,
};

/// The plugin still serves: a well-behaved call right after a fault.
async fn still_serves(plugin: &WasmPlugin) {
    let out = plugin
        .process(&fault_env("well", None), purchase("after", usd(500)))
        .await
        .expect("a well-behaved call succeeds after a fault");
    assert!(matches!(out, Outcome::Approved(a) if a.amount.minor_units == 500));
}

/// Runs `process` in `mode` (request id `r-<mode>`); the call must fail.
async fn failure(
    plugin: &WasmPlugin,
    mode: &str,
    server: Option<&FaultServer>,
    amount: i64,
) -> CallError {
    plugin
        .process(
            &fault_env(mode, server),
            purchase(&format!("r-{mode}"), usd(amount)),
        )
        .await
        .expect_err("the fault must fail the call")
}

async fn runtime_with(edit: impl FnOnce(&mut RuntimeConfig)) -> (Runtime, WasmPlugin) {
    let mut cfg = config();
    edit(&mut cfg);
    let rt = Runtime::new(cfg).unwrap();
    let plugin = fault_plugin(&rt).await;
    (rt, plugin)
}

#[tokio::test]
async fn a_well_behaved_call_is_approved_with_card_details_and_progress() {
    let (_rt, plugin) = runtime_with(|_| {}).await;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut env = fault_env("well", None);
    env.progress = Some(tx);
    let out = plugin
        .process(&env, purchase("r1", usd(1234)))
        .await
        .unwrap();
    let Outcome::Approved(a) = out else {
        panic!("expected approval, got {out:?}")
    };
    assert_eq!(a.amount.minor_units, 1234);
    assert_eq!(a.provider_reference, "fault-r1");
    assert_eq!(a.card.unwrap().masked_pan, "************4242");
    let event = rx.try_recv().expect("a progress report arrived");
    assert_eq!(event.plugin, "fault-injection");
    assert!(matches!(
        event.stage,
        vetpay::plugin::types::Stage::Connecting
    ));
}

#[tokio::test]
async fn a_trap_is_contained_and_reports_the_panic_message() {
    let (_rt, plugin) = runtime_with(|_| {}).await;
    let err = failure(&plugin, "trap", None, 100).await;
    let CallError::Trap {
        stderr, message, ..
    } = &err
    else {
        panic!("expected a trap, got {err:?}")
    };
    assert!(
        stderr.contains("trap requested for r-trap"),
        "stderr: {stderr}"
    );
    assert!(message.contains("unreachable"), "message: {message}");
    assert_eq!(err.disposition(), Disposition::Unknown);
    still_serves(&plugin).await;
}

#[tokio::test]
async fn an_endless_loop_is_stopped_at_the_deadline() {
    let deadline = Duration::from_millis(800);
    let (_rt, plugin) = runtime_with(|c| c.deadlines = Deadlines::all(deadline)).await;
    let started = Instant::now();
    let err = failure(&plugin, "loop", None, 100).await;
    let took = started.elapsed();
    assert!(
        matches!(err, CallError::Deadline { deadline: d, .. } if d == deadline),
        "{err:?}"
    );
    assert!(
        took >= deadline && took < deadline * 3,
        "stopped after {took:?}"
    );
    assert_eq!(err.disposition(), Disposition::Unknown);
    still_serves(&plugin).await;
}

#[tokio::test]
async fn sleeping_past_the_deadline_ends_the_call() {
    let deadline = Duration::from_millis(600);
    let (_rt, plugin) = runtime_with(|c| c.deadlines = Deadlines::all(deadline)).await;
    // Both the host's timer and WASI's own clocks (std::thread::sleep).
    for mode in ["sleep", "wasi-sleep"] {
        let started = Instant::now();
        let err = plugin
            .process(&fault_env(mode, None), purchase("r-sleep", usd(100)))
            .await
            .unwrap_err();
        assert!(matches!(err, CallError::Deadline { .. }), "{mode}: {err:?}");
        assert!(
            started.elapsed() < deadline * 4,
            "{mode}: {:?}",
            started.elapsed()
        );
    }
    still_serves(&plugin).await;
}

#[tokio::test]
async fn memory_growth_is_refused_at_the_limit() {
    let limit = 16 * 1024 * 1024;
    let (_rt, plugin) = runtime_with(|c| c.memory_limit = limit).await;
    let err = failure(&plugin, "grow-memory", None, 100).await;
    let CallError::MemoryLimit {
        limit: l,
        requested,
        ..
    } = err
    else {
        panic!("expected memory limit, got {err:?}")
    };
    assert_eq!(l, limit);
    assert!(requested > limit);
    still_serves(&plugin).await;
}

#[tokio::test]
async fn a_huge_response_body_is_cut_off_at_the_limit() {
    let server = FaultServer::start().await;
    let (_rt, plugin) = runtime_with(|_| {}).await;
    let err = failure(&plugin, "huge-body", Some(&server), 100).await;
    let Some(PluginError::Other(m)) = err.plugin_error() else {
        panic!("{err:?}")
    };
    assert!(
        m.contains("larger than the host's limit of 1048576 bytes"),
        "{m}"
    );
    still_serves(&plugin).await;
}

#[tokio::test]
async fn a_huge_answer_is_refused_as_malformed() {
    let (_rt, plugin) = runtime_with(|_| {}).await;
    let err = failure(&plugin, "huge-output", None, 100).await;
    let CallError::Malformed { reason, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(
        reason.contains("customer receipt is 20971520 bytes; at most 65536"),
        "{reason}"
    );
    assert_eq!(err.disposition(), Disposition::Unknown);
    still_serves(&plugin).await;
}

#[tokio::test]
async fn a_disallowed_host_is_denied_naming_the_setting() {
    let (_rt, plugin) = runtime_with(|_| {}).await;
    let err = failure(&plugin, "forbidden-host", None, 100).await;
    let Some(PluginError::Configuration(c)) = err.plugin_error() else {
        panic!("{err:?}")
    };
    assert_eq!(c.setting, "allowed-hosts");
    assert!(
        c.message.contains("https://evil.example.com:443"),
        "{}",
        c.message
    );
    assert_eq!(err.disposition(), Disposition::Refused);
    still_serves(&plugin).await;
}

#[tokio::test]
async fn a_redirect_to_a_disallowed_host_is_refused() {
    let server = FaultServer::start().await;
    let (_rt, plugin) = runtime_with(|_| {}).await;
    let err = failure(&plugin, "redirect", Some(&server), 100).await;
    let Some(PluginError::Configuration(c)) = err.plugin_error() else {
        panic!("{err:?}")
    };
    assert!(c.message.starts_with("redirect refused"), "{}", c.message);
    assert!(c.message.contains("evil.example.com"), "{}", c.message);
}

#[tokio::test]
async fn a_wrong_amount_is_detected_and_never_booked() {
    let (_rt, plugin) = runtime_with(|_| {}).await;
    let err = failure(&plugin, "wrong-amount", None, 1000).await;
    let CallError::AmountMismatch {
        requested,
        reported,
        approval,
        ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(requested.minor_units, 1000);
    assert_eq!(reported.minor_units, 1100);
    // The approval is kept so that the payment can be reviewed (or voided).
    assert_eq!(approval.provider_reference, "fault-r-wrong-amount");
    assert_eq!(err.disposition(), Disposition::Unknown);
    // The same lie on a token charge is caught too.
    let err = plugin
        .charge_token(
            &fault_env("wrong-amount", None),
            vetpay::plugin::types::TokenCharge {
                request_id: "r-lie-2".into(),
                card_token: "tok".into(),
                amount: usd(250),
                description: None,
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, CallError::AmountMismatch { .. }), "{err:?}");
}

#[tokio::test]
async fn a_full_card_number_is_refused_as_malformed() {
    let (_rt, plugin) = runtime_with(|_| {}).await;
    let err = failure(&plugin, "full-pan", None, 100).await;
    let CallError::Malformed { reason, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(reason.contains("16 digits"), "{reason}");
    assert!(!err.to_string().contains("4242424242424242"));
}

#[tokio::test]
async fn a_closed_port_is_not_sent_and_a_slow_server_times_out() {
    let (_rt, plugin) = runtime_with(|_| {}).await;
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut env = fault_env("http-get", None);
    let url = format!("http://127.0.0.1:{port}");
    env.organisation_settings
        .insert("target-url".into(), url.clone());
    env.extra_allowed_hosts.push(url.parse().unwrap());
    let err = plugin
        .process(&env, purchase("r-closed", usd(100)))
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            CallError::Plugin {
                error: PluginError::NotSent(_),
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.disposition(), Disposition::NotSent);

    // The plugin asks for 300 ms; /echo answers at once, so point it at /slow.
    let server = FaultServer::start().await;
    let mut env = fault_env("http-get", Some(&server));
    env.organisation_settings
        .insert("target-url".into(), format!("{}/slow#", server.url));
    let err = plugin
        .process(&env, purchase("r-slow", usd(100)))
        .await
        .unwrap_err();
    let Some(PluginError::Other(m)) = err.plugin_error() else {
        panic!("{err:?}")
    };
    assert!(m.starts_with("timed out"), "{m}");
    assert_eq!(err.disposition(), Disposition::Unknown);
}

#[tokio::test]
async fn calls_beyond_the_concurrency_cap_wait_then_are_refused_unsent() {
    let (_rt, plugin) = runtime_with(|c| {
        c.max_concurrent_calls = 1;
        c.queue_timeout = Duration::from_millis(50);
    })
    .await;
    let first = {
        let plugin = plugin.clone();
        tokio::spawn(async move {
            plugin
                .process(&fault_env("slow-ok", None), purchase("r-a", usd(100)))
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    let err = failure(&plugin, "well", None, 100).await;
    assert!(matches!(err, CallError::Busy { limit: 1, .. }), "{err:?}");
    assert_eq!(err.disposition(), Disposition::NotSent);
    assert!(first.await.unwrap().is_ok());
    still_serves(&plugin).await;
}

#[tokio::test]
async fn an_abort_from_another_instance_ends_a_blocked_process() {
    let (_rt, plugin) = runtime_with(|_| {}).await;
    let env = fault_env("wait-for-abort", None);
    let running = start_blocking_process(&plugin, &env, purchase("r-abort", usd(100))).await;
    let out = abort_and_wait(&plugin, &env, running, "r-abort", "T-1").await;
    assert!(matches!(out, Outcome::AbortedByClinic(_)), "{out:?}");
}

#[tokio::test]
async fn markets_and_currencies_outside_the_manifest_are_refused_before_any_call() {
    let (_rt, plugin) = runtime_with(|_| {}).await;
    let mut env = fault_env("well", None);
    env.market = "SE".into();
    let err = plugin
        .process(&env, purchase("r-se", usd(100)))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("does not serve market 'SE' (its manifest lists US, DK)"),
        "{err}"
    );
    let eur = vetpay::plugin::types::Money {
        minor_units: 100,
        currency: "EUR".into(),
    };
    let err = plugin
        .process(&fault_env("well", None), purchase("r-eur", eur))
        .await
        .unwrap_err();
    assert!(
        matches!(err, CallError::CurrencyNotServed { .. }),
        "{err:?}"
    );
    let err = plugin
        .process(&fault_env("well", None), purchase("r-neg", usd(-5)))
        .await
        .unwrap_err();
    assert!(matches!(err, CallError::InvalidRequest(_)), "{err:?}");
    assert_eq!(err.disposition(), Disposition::NotSent);
}

#[tokio::test]
async fn every_export_reaches_the_plugin_with_its_own_arguments() {
    use vetpay::plugin::types::{SaveCardRequest, StatusQuery, TokenRefund, TransactionKind};
    let (_rt, plugin) = runtime_with(|_| {}).await;
    let env = fault_env("well", None);
    let status = plugin
        .status(
            &env,
            StatusQuery {
                request_id: "q-1".into(),
                terminal_id: Some("T-1".into()),
                kind: TransactionKind::Refund,
                amount: usd(321),
                sent_at_ms: None,
                previous_request_id: None,
                superseded: false,
            },
        )
        .await
        .unwrap();
    assert!(
        matches!(status, Outcome::Approved(a) if a.provider_reference == "fault-q-1" && a.amount.minor_units == 321)
    );
    let refund = plugin
        .refund_token(
            &env,
            TokenRefund {
                request_id: "rf-1".into(),
                original_reference: "fault-r1".into(),
                card_token: None,
                amount: usd(99),
                description: None,
            },
        )
        .await
        .unwrap();
    assert!(matches!(refund, Outcome::Approved(a) if a.amount.minor_units == 99));
    let saved = plugin
        .save_card(
            &env,
            SaveCardRequest {
                request_id: "sc-1".into(),
                terminal_id: "T-1".into(),
                currency: "USD".into(),
            },
        )
        .await
        .unwrap();
    assert!(
        matches!(saved, Outcome::Approved(a) if a.amount.minor_units == 0 && a.card_token.as_deref() == Some("tok-sc-1"))
    );
    let terminals = plugin.list_terminals(&env).await.unwrap();
    assert_eq!(terminals[0].id, "T-1");
    let eod = plugin.reconcile(&env, "T-7").await.unwrap();
    assert_eq!(eod.reference.as_deref(), Some("eod-T-7"));
    assert!(eod.report.contains("T-7"));
}

#[tokio::test]
async fn the_sandbox_grants_no_files_environment_or_sockets() {
    let server = FaultServer::start().await;
    let (_rt, plugin) = runtime_with(|_| {}).await;
    let out = plugin
        .process(
            &fault_env("probe-sandbox", Some(&server)),
            purchase("r-probe", usd(100)),
        )
        .await
        .unwrap();
    let Outcome::Approved(a) = out else {
        panic!("{out:?}")
    };
    let seen = a.receipt.unwrap().customer.unwrap();
    let line = |key: &str| {
        seen.lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")))
            .unwrap_or_else(|| panic!("{key} missing in {seen}"))
            .to_owned()
    };
    assert!(line("file").starts_with("denied"), "{seen}");
    assert!(line("listing").starts_with("denied"), "{seen}");
    assert_eq!(line("env"), "0", "{seen}");
    assert_eq!(line("args"), "0", "{seen}");
    // A listener is there, so only the sandbox can refuse the connection.
    assert!(line("tcp").starts_with("denied"), "{seen}");
    assert!(server.received().is_empty());
}
