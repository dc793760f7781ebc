//! The Gravity (emergepay) plugin, compiled to a component, through the real
//! runtime against the emergepay simulator over HTTP on loopback.

use std::time::Duration;

use vetpay::plugin::types::{
    Outcome, PaymentRequest, PluginError, SaveCardRequest, Stage, StatusQuery, TokenCharge,
    TokenRefund, TransactionKind,
};
use vetpay::plugin::{CallEnv, CallError, Disposition, Runtime, WasmPlugin};
use vetpay_tests::fixtures::{abort_and_wait, config, start_blocking_process, usd};
use vetpay_tests::gravity_sim::{Behaviour, GravitySim, LedgerEntry};

const OID: &str = "1234567";
const TOKEN: &str = "gp_auth_7f3e9a1c-5b2d-4e8f";

async fn setup() -> (GravitySim, WasmPlugin, Runtime) {
    let sim = GravitySim::start(OID, TOKEN).await;
    let rt = Runtime::new(config()).unwrap();
    let plugin = rt
        .load_file(vetpay_plugin_artifacts::GRAVITY)
        .await
        .unwrap();
    (sim, plugin, rt)
}

/// A US department's call, with polling fast enough for tests.
fn env(sim: &GravitySim) -> CallEnv {
    let mut env = CallEnv {
        market: "US".into(),
        organisation_id: "org-us".into(),
        department_id: Some("dep-boston".into()),
        ..CallEnv::default()
    };
    for (k, v) in [
        ("oid", OID),
        ("auth-token", TOKEN),
        ("base-url", sim.base_url.as_str()),
        ("poll-interval-ms", "20"),
        ("poll-window-ms", "1500"),
        ("background-interval-ms", "20"),
        ("background-window-ms", "1000"),
        ("abort-grace-ms", "150"),
        ("rate-limit-backoff-ms", "5"),
    ] {
        env.organisation_settings.insert(k.into(), v.into());
    }
    env.extra_allowed_hosts.push(sim.origin.parse().unwrap());
    env
}

fn sale(id: &str, kind: TransactionKind, cents: i64) -> PaymentRequest {
    PaymentRequest {
        request_id: id.into(),
        kind,
        amount: usd(cents),
        terminal_id: "GP-1".into(),
        original_reference: None,
        description: Some("INV-7".into()),
    }
}

fn approved(out: &Outcome) -> &vetpay::plugin::types::Approval {
    match out {
        Outcome::Approved(a) => a,
        other => panic!("expected an approval, got {other:?}"),
    }
}

fn entries<'a>(ledger: &'a [LedgerEntry], kind: &str) -> Vec<&'a LedgerEntry> {
    ledger.iter().filter(|e| e.kind == kind).collect()
}

#[tokio::test]
async fn an_approved_sale_carries_card_details_and_is_in_the_ledger() {
    let (sim, plugin, _rt) = setup().await;
    sim.script("GP-1", Behaviour::Approve, Duration::from_millis(100));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut env = env(&sim);
    env.progress = Some(tx);
    let out = plugin
        .process(&env, sale("s-1", TransactionKind::Purchase, 1234))
        .await
        .unwrap();
    let a = approved(&out);
    assert_eq!(a.amount.minor_units, 1234);
    let card = a.card.as_ref().unwrap();
    assert_eq!(card.masked_pan, "************4242");
    assert_eq!(card.brand.as_deref(), Some("visa"));
    assert_eq!(card.entry_method.as_deref(), Some("chip"));
    assert_eq!(a.card_token.as_deref(), Some(a.provider_reference.as_str()));
    assert!(
        a.receipt
            .as_ref()
            .unwrap()
            .customer
            .as_ref()
            .unwrap()
            .contains("USD 12.34")
    );
    let mut stages = Vec::new();
    while let Ok(e) = rx.try_recv() {
        stages.push(e.stage);
    }
    assert!(
        stages.iter().any(|s| matches!(s, Stage::WaitingForCard)),
        "{stages:?}"
    );
    let ledger = sim.ledger();
    assert_eq!(ledger.len(), 1);
    assert_eq!(
        (ledger[0].kind.as_str(), ledger[0].cents, ledger[0].approved),
        ("CreditSale", 1234, true)
    );
    assert_eq!(ledger[0].unique_trans_id, a.provider_reference);
    // 404 until the card holder acted, then 200: several polls happened.
    assert!(sim.retrievals() >= 3, "{} polls", sim.retrievals());
}

#[tokio::test]
async fn a_declined_sale_and_a_cancel_on_the_terminal_are_told_apart() {
    let (sim, plugin, _rt) = setup().await;
    sim.script("GP-1", Behaviour::Decline, Duration::from_millis(10));
    let out = plugin
        .process(&env(&sim), sale("s-dec", TransactionKind::Purchase, 500))
        .await
        .unwrap();
    assert!(
        matches!(&out, Outcome::Declined(d) if d.message == "Declined"),
        "{out:?}"
    );

    sim.script("GP-1", Behaviour::Cancel, Duration::from_millis(10));
    let out = plugin
        .process(&env(&sim), sale("s-can", TransactionKind::Purchase, 500))
        .await
        .unwrap();
    assert!(matches!(out, Outcome::CancelledByClient(_)), "{out:?}");
    let ledger = sim.ledger();
    assert_eq!(ledger.len(), 1, "only the decline reached the books");
    assert!(!ledger[0].approved);
}

#[tokio::test]
async fn a_clinic_abort_cancels_the_running_transaction() {
    let (sim, plugin, _rt) = setup().await;
    sim.script("GP-1", Behaviour::Never, Duration::ZERO);
    let env = env(&sim);
    let request = sale("s-abort", TransactionKind::Purchase, 900);
    let running = start_blocking_process(&plugin, &env, request).await;
    let out = abort_and_wait(&plugin, &env, running, "s-abort", "GP-1").await;
    assert!(matches!(out, Outcome::AbortedByClinic(_)), "{out:?}");
    assert!(sim.ledger().is_empty());
}

#[tokio::test]
async fn refunds_and_deposits_run_on_the_terminal() {
    let (sim, plugin, _rt) = setup().await;
    let out = plugin
        .process(&env(&sim), sale("r-1", TransactionKind::Refund, 2000))
        .await
        .unwrap();
    assert_eq!(approved(&out).amount.minor_units, 2000);
    let out = plugin
        .process(&env(&sim), sale("d-1", TransactionKind::Deposit, 5000))
        .await
        .unwrap();
    assert_eq!(approved(&out).amount.minor_units, 5000);
    let ledger = sim.ledger();
    assert_eq!(entries(&ledger, "CreditReturn")[0].cents, 2000);
    assert_eq!(entries(&ledger, "CreditSale")[0].cents, 5000);
}

#[tokio::test]
async fn a_saved_card_is_charged_and_refunded_without_a_terminal() {
    let (sim, plugin, _rt) = setup().await;
    let env = env(&sim);
    let saved = plugin
        .save_card(
            &env,
            SaveCardRequest {
                request_id: "save-1".into(),
                terminal_id: "GP-1".into(),
                currency: "USD".into(),
            },
        )
        .await
        .unwrap();
    let token = approved(&saved).card_token.clone().unwrap();
    assert_eq!(approved(&saved).amount.minor_units, 0);

    let charge = TokenCharge {
        request_id: "plan-2026-11".into(),
        card_token: token.clone(),
        amount: usd(2500),
        description: Some("Health plan November".into()),
    };
    let charged = plugin.charge_token(&env, charge).await.unwrap();
    let reference = approved(&charged).provider_reference.clone();
    let refund = TokenRefund {
        request_id: "refund-1".into(),
        original_reference: reference,
        card_token: None,
        amount: usd(1000),
        description: None,
    };
    let refunded = plugin.refund_token(&env, refund).await.unwrap();
    assert_eq!(approved(&refunded).amount.minor_units, 1000);

    let ledger = sim.ledger();
    assert_eq!(entries(&ledger, "CreditSaveCard").len(), 1);
    assert_eq!(entries(&ledger, "TokenizedPayment")[0].cents, 2500);
    assert_eq!(entries(&ledger, "TokenizedRefund")[0].cents, 1000);

    // A declined amount on the saved card is a decline, not an error.
    let declined = TokenCharge {
        request_id: "plan-declined".into(),
        card_token: token,
        amount: usd(1051),
        description: None,
    };
    let out = plugin.charge_token(&env, declined).await.unwrap();
    assert!(matches!(out, Outcome::Declined(_)), "{out:?}");
}

async fn saved_token(sim: &GravitySim, plugin: &WasmPlugin) -> String {
    let saved = plugin
        .save_card(
            &env(sim),
            SaveCardRequest {
                request_id: format!("save-{}", sim.ledger().len()),
                terminal_id: "GP-1".into(),
                currency: "USD".into(),
            },
        )
        .await
        .unwrap();
    approved(&saved).card_token.clone().unwrap()
}

#[tokio::test]
async fn rate_limiting_is_backed_off_and_retried() {
    let (sim, plugin, _rt) = setup().await;
    let token = saved_token(&sim, &plugin).await;
    sim.rate_limit(3);
    let charge = TokenCharge {
        request_id: "rl-1".into(),
        card_token: token,
        amount: usd(700),
        description: None,
    };
    let out = plugin.charge_token(&env(&sim), charge).await.unwrap();
    assert_eq!(approved(&out).amount.minor_units, 700);
    assert_eq!(entries(&sim.ledger(), "TokenizedPayment").len(), 1);
}

#[tokio::test]
async fn a_late_approval_after_the_cancel_is_voided() {
    let (sim, plugin, _rt) = setup().await;
    let mut env = env(&sim);
    env.organisation_settings
        .insert("poll-window-ms".into(), "200".into());
    // The card holder approves after vetpay gave up and cancelled.
    sim.script("GP-1", Behaviour::Approve, Duration::from_millis(500));
    let out = plugin
        .process(&env, sale("late-1", TransactionKind::Purchase, 3300))
        .await
        .unwrap();
    assert!(
        matches!(&out, Outcome::Declined(d) if d.code.as_deref() == Some("timeout")),
        "{out:?}"
    );
    let ledger = sim.ledger();
    let sale = entries(&ledger, "CreditSale")[0];
    assert!(
        sale.approved && sale.voided,
        "the late approval is voided: {ledger:?}"
    );
    assert_eq!(entries(&ledger, "Void").len(), 1);
}

#[tokio::test]
async fn a_lost_response_is_recovered_by_status_and_a_retry_never_charges_twice() {
    let (sim, plugin, _rt) = setup().await;
    let token = saved_token(&sim, &plugin).await;
    let env = env(&sim);
    let charge = TokenCharge {
        request_id: "lost-1".into(),
        card_token: token,
        amount: usd(4200),
        description: None,
    };
    sim.drop_next_response();
    let err = plugin.charge_token(&env, charge.clone()).await.unwrap_err();
    assert_eq!(err.disposition(), Disposition::Unknown, "{err}");

    let query = StatusQuery {
        request_id: "lost-1".into(),
        terminal_id: None,
        kind: TransactionKind::Purchase,
        amount: usd(4200),
        sent_at_ms: None,
        previous_request_id: None,
        superseded: false,
    };
    let status = plugin.status(&env, query).await.unwrap();
    let reference = approved(&status).provider_reference.clone();

    // The host retries with the same request id: the same charge comes back.
    let again = plugin.charge_token(&env, charge).await.unwrap();
    assert_eq!(approved(&again).provider_reference, reference);
    // And a card-present sale repeated with its request id is not charged again.
    let first = plugin
        .process(&env, sale("dup-1", TransactionKind::Purchase, 800))
        .await
        .unwrap();
    let second = plugin
        .process(&env, sale("dup-1", TransactionKind::Purchase, 800))
        .await
        .unwrap();
    assert_eq!(
        approved(&first).provider_reference,
        approved(&second).provider_reference
    );

    let ledger = sim.ledger();
    assert_eq!(entries(&ledger, "TokenizedPayment").len(), 1, "{ledger:?}");
    assert_eq!(entries(&ledger, "CreditSale").len(), 1, "{ledger:?}");
}

#[tokio::test]
async fn wrong_credentials_name_the_setting_to_fix() {
    let (sim, plugin, _rt) = setup().await;
    let mut bad_token = env(&sim);
    bad_token
        .organisation_settings
        .insert("auth-token".into(), "wrong".into());
    let err = plugin
        .process(&bad_token, sale("c-1", TransactionKind::Purchase, 100))
        .await
        .unwrap_err();
    assert!(
        matches!(err.plugin_error(), Some(PluginError::Configuration(c)) if c.setting == "auth-token"),
        "{err}"
    );
    assert_eq!(err.disposition(), Disposition::Refused);

    let mut bad_oid = env(&sim);
    bad_oid
        .department_settings
        .insert("oid".into(), "7654321".into());
    let err = plugin
        .process(&bad_oid, sale("c-2", TransactionKind::Purchase, 100))
        .await
        .unwrap_err();
    assert!(
        matches!(err.plugin_error(), Some(PluginError::Configuration(c)) if c.setting == "oid"),
        "{err}"
    );

    let mut missing = env(&sim);
    missing.organisation_settings.remove("oid");
    let err = plugin
        .process(&missing, sale("c-3", TransactionKind::Purchase, 100))
        .await
        .unwrap_err();
    assert!(
        matches!(err.plugin_error(), Some(PluginError::Configuration(c)) if c.setting == "oid"),
        "{err}"
    );
    assert!(sim.ledger().is_empty());
}

#[tokio::test]
async fn gravity_serves_the_us_only_and_unreachable_is_not_sent() {
    let (sim, plugin, _rt) = setup().await;
    let mut dk = env(&sim);
    dk.market = "DK".into();
    let err = plugin
        .process(&dk, sale("m-1", TransactionKind::Purchase, 100))
        .await
        .unwrap_err();
    assert!(matches!(err, CallError::MarketNotServed { .. }), "{err}");

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut down = env(&sim);
    let origin = format!("http://127.0.0.1:{port}");
    down.organisation_settings
        .insert("base-url".into(), format!("{origin}/virtualterminal/v1"));
    down.extra_allowed_hosts.push(origin.parse().unwrap());
    let charge = TokenCharge {
        request_id: "down-1".into(),
        card_token: "000000000001".into(),
        amount: usd(100),
        description: None,
    };
    let err = plugin.charge_token(&down, charge).await.unwrap_err();
    assert_eq!(err.disposition(), Disposition::NotSent, "{err}");
}

#[tokio::test]
async fn the_simulator_is_scripted_and_read_over_its_http_control_api() {
    let (sim, plugin, _rt) = setup().await;
    let http = reqwest::Client::new();
    let scripted = http
        .post(format!("{}/_sim/devices/GP-9", sim.origin))
        .json(&serde_json::json!({ "behaviour": "decline", "after_ms": 10 }))
        .send()
        .await
        .unwrap();
    assert_eq!(scripted.status(), 204);
    let mut request = sale("http-1", TransactionKind::Purchase, 640);
    request.terminal_id = "GP-9".into();
    let out = plugin.process(&env(&sim), request).await.unwrap();
    assert!(matches!(out, Outcome::Declined(_)), "{out:?}");
    let ledger: Vec<LedgerEntry> = http
        .get(format!("{}/_sim/ledger", sim.origin))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ledger.len(), 1);
    assert_eq!((ledger[0].cents, ledger[0].approved), (640, false));
    // The emergepay API itself refuses a caller without the auth token.
    let anonymous = http
        .get(format!("{}/orgs/{OID}/transactions/http-1", sim.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn asked(id: &str, cents: i64, sent_at_ms: u64) -> StatusQuery {
    StatusQuery {
        request_id: id.into(),
        terminal_id: Some("GP-1".into()),
        kind: TransactionKind::Purchase,
        amount: usd(cents),
        sent_at_ms: Some(sent_at_ms),
        previous_request_id: None,
        superseded: false,
    }
}

/// The host dies while `process` polls: the call ends mid-way, its start is
/// left pending at emergepay.
async fn crash_while_polling(plugin: &WasmPlugin, env: &CallEnv, id: &str, cents: i64) -> u64 {
    let sent = now_ms();
    let cut = tokio::time::timeout(
        Duration::from_millis(300),
        plugin.process(env, sale(id, TransactionKind::Purchase, cents)),
    )
    .await;
    assert!(cut.is_err(), "process ended before the crash: {cut:?}");
    sent
}

/// Gravity's documented duty outlives a crash: recovery's `status` cancels a
/// start left pending past the polling window, keeps watching, and voids an
/// approval that arrives late, exactly as `process` would have.
#[tokio::test]
async fn status_after_a_crash_cancels_the_pending_start_and_voids_a_late_approval() {
    let (sim, plugin, _rt) = setup().await;
    // The card goes in only after vetpay's 1.5 s polling window.
    sim.script("GP-1", Behaviour::Approve, Duration::from_millis(2200));
    let env = env(&sim);
    let sent = crash_while_polling(&plugin, &env, "crash-1", 1200).await;

    let early = plugin
        .status(&env, asked("crash-1", 1200, sent))
        .await
        .unwrap();
    assert!(matches!(early, Outcome::InProgress(_)), "{early:?}");
    assert_eq!(sim.cancels(), 0, "the card holder still had time");

    tokio::time::sleep(Duration::from_millis(1600)).await;
    let past = plugin
        .status(&env, asked("crash-1", 1200, sent))
        .await
        .unwrap();
    assert!(matches!(past, Outcome::InProgress(_)), "{past:?}");
    assert_eq!(sim.cancels(), 1, "the pending start was cancelled");

    tokio::time::sleep(Duration::from_millis(800)).await;
    let late = plugin
        .status(&env, asked("crash-1", 1200, sent))
        .await
        .unwrap();
    assert!(
        matches!(&late, Outcome::Declined(d) if d.code.as_deref() == Some("timeout")),
        "{late:?}"
    );
    let ledger = sim.ledger();
    let sale = entries(&ledger, "CreditSale");
    assert_eq!(sale.len(), 1, "{ledger:?}");
    assert!(
        sale[0].approved && sale[0].voided,
        "the late approval is voided: {ledger:?}"
    );
}

/// Without a result after its own cancel and the watch that follows, the
/// request is `not-found`: nothing moved and nothing will.
#[tokio::test]
async fn a_cancelled_start_without_a_result_is_not_found_after_the_watch() {
    let (sim, plugin, _rt) = setup().await;
    sim.script("GP-1", Behaviour::Never, Duration::ZERO);
    let env = env(&sim);
    crash_while_polling(&plugin, &env, "crash-2", 1300).await;
    // Recovery comes late: the polling window is long over.
    let sent = now_ms() - 5_000;

    let cancelled = plugin
        .status(&env, asked("crash-2", 1300, sent))
        .await
        .unwrap();
    assert!(matches!(cancelled, Outcome::InProgress(_)), "{cancelled:?}");
    assert_eq!(sim.cancels(), 1);
    let watching = plugin
        .status(&env, asked("crash-2", 1300, sent))
        .await
        .unwrap();
    assert!(matches!(watching, Outcome::InProgress(_)), "{watching:?}");

    tokio::time::sleep(Duration::from_millis(1100)).await;
    let gone = plugin
        .status(&env, asked("crash-2", 1300, sent))
        .await
        .unwrap();
    assert!(matches!(gone, Outcome::NotFound(_)), "{gone:?}");
    assert_eq!(sim.cancels(), 1, "cancelled once");
    assert!(
        sim.ledger().iter().all(|e| !e.approved),
        "{:?}",
        sim.ledger()
    );
}
