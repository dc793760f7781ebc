//! Native tests: plugin code under plain `cargo test`, with the SDK's fake host
//! (`vetpay_sdk::testing`). HTTP goes to a scripted table or, through
//! `loopback()`, to this project's simulator on 127.0.0.1; `sleep` moves a
//! virtual clock, so polling costs no real time.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use serde_json::json;
use vetpay_sdk::http::{Error, Method};
use vetpay_sdk::prelude::*;
use vetpay_sdk::testing::{FakeHost, Reply, SentRequest, context, loopback};

// This project's simulator of the provider (a group of its own: its name is yours).
use polder_pay_simulator::{Action, Script, Simulator};

use super::{PolderPay, abort_key, payment_key};

const BASE: &str = "https://api.polderpay.example";

fn scripted() -> (FakeHost, Context) {
    let host = FakeHost::install();
    let ctx = context("NL", &[("base-url", BASE), ("api-key", "unused")]);
    (host, ctx)
}

/// A fake host whose HTTP goes to a fresh simulator. The API key is the
/// simulator's: in the real host it would be a placeholder filled in as the
/// request leaves.
fn simulated() -> (FakeHost, Context, Simulator) {
    let simulator = Simulator::start(0).expect("a free loopback port");
    let host = FakeHost::install();
    let forward = loopback();
    host.handle(move |sent| forward(&keyed(sent)));
    let ctx = context("NL", &[("base-url", &simulator.url())]);
    (host, ctx, simulator)
}

/// The request as it leaves the real host: the plugin writes the API key as a
/// placeholder, which the host fills in on the way out.
pub(crate) fn keyed(sent: &SentRequest) -> SentRequest {
    let mut sent = sent.clone();
    for (_, value) in sent.headers.iter_mut() {
        *value = value.replace("{{secret:api-key}}", polder_pay_simulator::API_KEY);
    }
    sent
}

fn purchase(request_id: &str, minor_units: i64) -> PaymentRequest {
    PaymentRequest {
        request_id: request_id.into(),
        kind: TransactionKind::Purchase,
        amount: Money::new(minor_units, "EUR"),
        terminal_id: "T-1".into(),
        original_reference: None,
        description: None,
    }
}

fn query(request_id: &str, sent_at_ms: Option<u64>) -> StatusQuery {
    StatusQuery {
        request_id: request_id.into(),
        terminal_id: Some("T-1".into()),
        kind: TransactionKind::Purchase,
        amount: Money::new(1234, "EUR"),
        sent_at_ms,
        previous_request_id: None,
        superseded: false,
    }
}

fn payment(state: &str) -> serde_json::Value {
    json!({
        "id": "pay_000001", "reference": "r-1", "terminal": "T-1", "kind": "purchase",
        "amount": 1234, "currency": "EUR", "state": state, "response_code": null,
        "authorisation": null, "card": null,
    })
}

#[test]
fn an_approved_purchase_reports_each_stage_and_hands_the_id_to_abort() {
    let (host, ctx) = scripted();
    host.reply(
        Method::Post,
        format!("{BASE}/v1/terminals/T-1/payments"),
        Reply::json(201, &payment("waiting-for-card")),
    );
    let poll = format!("{BASE}/v1/payments/pay_000001");
    let mut approved = payment("approved");
    approved["authorisation"] = json!("A123");
    approved["card"] = json!({ "last4": "4242", "brand": "VISA" });
    host.reply(
        Method::Get,
        &poll,
        Reply::json(200, &payment("waiting-for-card")),
    )
    .reply(
        Method::Get,
        &poll,
        Reply::json(200, &payment("waiting-for-pin")),
    )
    .reply(Method::Get, &poll, Reply::json(200, &approved));
    let before = host.now_ms();
    let outcome = PolderPay::process(&ctx, purchase("r-1", 1234)).unwrap();
    let Outcome::Approved(approval) = outcome else {
        panic!("{outcome:?}");
    };
    assert_eq!(approval.amount.minor_units, 1234);
    assert_eq!(approval.amount.currency, "EUR");
    assert_eq!(approval.authorization_code.as_deref(), Some("A123"));
    assert_eq!(approval.card.unwrap().masked_pan, "************4242");
    assert_eq!(
        host.cache_get(&payment_key("r-1")),
        Some(b"pay_000001".to_vec())
    );
    let stages: Vec<String> = host
        .progress()
        .into_iter()
        .map(|p| format!("{:?}", p.stage))
        .collect();
    assert_eq!(
        stages,
        [
            "Stage::Connecting",
            "Stage::WaitingForCard",
            "Stage::WaitingForCard",
            "Stage::WaitingForPin"
        ]
    );
    // Three polls, each after the default interval on the host's timer.
    assert_eq!(host.now_ms() - before, 1_500);
    assert_eq!(host.sent_to(Method::Get, &poll).len(), 3);
    // The key travels only as the placeholder the host fills in.
    let start = &host.sent()[0];
    assert_eq!(
        start.header("authorization"),
        Some("Bearer {{secret:api-key}}")
    );
    assert_eq!(start.json::<serde_json::Value>()["amount"], 1234);
}

#[test]
fn an_approval_on_the_simulator_is_one_entry_in_its_books() {
    let (_host, ctx, simulator) = simulated();
    let outcome = PolderPay::process(&ctx, purchase("r-books", 2500)).unwrap();
    assert!(matches!(outcome, Outcome::Approved(_)), "{outcome:?}");
    let ledger = simulator.ledger();
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0]["request_id"], "r-books");
    assert_eq!(ledger[0]["amount"], 2500);
    assert_eq!(ledger[0]["approved"], true);
}

#[test]
fn a_decline_carries_the_issuers_code_and_a_cancel_is_the_card_holders() {
    let (_host, ctx, simulator) = simulated();
    simulator.next(
        "T-1",
        Script {
            action: Action::Decline,
            code: Some("51".into()),
            after_ms: 0,
        },
    );
    match PolderPay::process(&ctx, purchase("r-decline", 500)).unwrap() {
        Outcome::Declined(d) => assert_eq!(d.code.as_deref(), Some("51")),
        other => panic!("{other:?}"),
    }
    simulator.next(
        "T-1",
        Script {
            action: Action::Cancel,
            code: None,
            after_ms: 0,
        },
    );
    assert!(matches!(
        PolderPay::process(&ctx, purchase("r-cancel", 500)).unwrap(),
        Outcome::CancelledByClient(_)
    ));
}

#[test]
fn an_abort_while_process_polls_stops_the_payment_by_the_handed_over_id() {
    let (host, ctx, simulator) = simulated();
    simulator.next(
        "T-1",
        Script {
            action: Action::Never,
            code: None,
            after_ms: 0,
        },
    );
    // The clinic presses Abort on the third poll: `abort` runs (here on the
    // same thread, as another instance would) while `process` waits.
    let forward = loopback();
    let polls = Rc::new(Cell::new(0));
    let abort_ctx = ctx.clone();
    let seen = polls.clone();
    host.handle(move |sent| {
        let sent = keyed(sent);
        if sent.method == Method::Get && sent.url.contains("/v1/payments/") {
            seen.set(seen.get() + 1);
            if seen.get() == 3 {
                PolderPay::abort(
                    &abort_ctx,
                    AbortRequest {
                        request_id: "r-abort".into(),
                        terminal_id: "T-1".into(),
                    },
                )
                .expect("abort is delivered");
            }
        }
        forward(&sent)
    });
    let outcome = PolderPay::process(&ctx, purchase("r-abort", 900)).unwrap();
    assert!(
        matches!(outcome, Outcome::AbortedByClinic(_)),
        "{outcome:?}"
    );
    assert!(host.cache_get(&abort_key("r-abort")).is_some());
    let ledger = simulator.ledger();
    assert_eq!(ledger[0]["approved"], false);
}

#[test]
fn an_abort_before_the_start_is_answered_stops_the_payment_once_it_has_an_id() {
    let (host, ctx) = scripted();
    host.cache_set(&abort_key("r-early"), b"1", Duration::from_secs(60));
    host.reply(
        Method::Post,
        format!("{BASE}/v1/terminals/T-1/payments"),
        Reply::json(201, &payment("waiting-for-card")),
    );
    host.reply(
        Method::Post,
        format!("{BASE}/v1/payments/pay_000001/abort"),
        Reply::json(200, &payment("aborted")),
    );
    host.reply(
        Method::Get,
        format!("{BASE}/v1/payments/pay_000001"),
        Reply::json(200, &payment("aborted")),
    );
    let outcome = PolderPay::process(&ctx, purchase("r-early", 1234)).unwrap();
    assert!(
        matches!(outcome, Outcome::AbortedByClinic(_)),
        "{outcome:?}"
    );
    assert_eq!(
        host.sent_to(
            Method::Post,
            &format!("{BASE}/v1/payments/pay_000001/abort")
        )
        .len(),
        1
    );
}

#[test]
fn a_lost_answer_is_looked_up_by_reference_never_called_a_failure() {
    let (_host, ctx, simulator) = simulated();
    simulator.lose_next();
    assert!(matches!(
        PolderPay::process(&ctx, purchase("r-lost", 700)).unwrap(),
        Outcome::Approved(_)
    ));
    simulator.fail_next(503);
    assert!(matches!(
        PolderPay::process(&ctx, purchase("r-503", 700)).unwrap(),
        Outcome::Approved(_)
    ));
    // One payment each: the lookups started nothing.
    assert_eq!(simulator.ledger().len(), 2);
}

#[test]
fn the_same_request_twice_is_one_payment() {
    let (_host, ctx, simulator) = simulated();
    for _ in 0..2 {
        assert!(matches!(
            PolderPay::process(&ctx, purchase("r-twice", 100)).unwrap(),
            Outcome::Approved(_)
        ));
    }
    assert_eq!(simulator.ledger().len(), 1);
}

#[test]
fn refusals_are_named_by_their_codes() {
    let (host, ctx) = scripted();
    let start = format!("{BASE}/v1/terminals/T-1/payments");
    type Expected = fn(&PluginError) -> bool;
    let cases: [(u16, serde_json::Value, Expected); 4] = [
        (
            409,
            json!({"error": "terminal-busy", "message": "bezig"}),
            |e| matches!(e, PluginError::Terminal(TerminalProblem::Busy)),
        ),
        (404, json!({"error": "unknown-terminal"}), |e| {
            matches!(e, PluginError::Terminal(TerminalProblem::NotFound))
        }),
        (
            422,
            json!({"error": "invalid", "message": "bedrag"}),
            |e| matches!(e, PluginError::Rejected(r) if r.code.as_deref() == Some("invalid")),
        ),
        (
            401,
            json!({}),
            |e| matches!(e, PluginError::Configuration(c) if c.setting == "api-key"),
        ),
    ];
    for (status, body, expected) in cases {
        host.forget(Method::Post, &start);
        host.reply(Method::Post, &start, Reply::json(status, &body));
        let error = PolderPay::process(&ctx, purchase("r-refused", 100)).unwrap_err();
        assert!(expected(&error), "{status}: {error:?}");
    }
}

#[test]
fn a_request_that_never_left_is_not_sent() {
    let (host, ctx) = scripted();
    host.fail(
        Method::Post,
        format!("{BASE}/v1/terminals/T-1/payments"),
        Error::NotSent("connection refused".into()),
    );
    assert!(matches!(
        PolderPay::process(&ctx, purchase("r-closed", 100)).unwrap_err(),
        PluginError::NotSent(_)
    ));
}

#[test]
fn an_unknown_state_is_unknown_never_guessed() {
    let (host, ctx) = scripted();
    host.reply(
        Method::Get,
        format!("{BASE}/v1/payments?reference=r-1"),
        Reply::json(200, &payment("settled-maybe")),
    );
    assert!(matches!(
        PolderPay::status(&ctx, query("r-1", None)).unwrap(),
        Outcome::Unknown(_)
    ));
}

#[test]
fn status_finds_a_payment_and_calls_one_missing_only_once_it_cannot_come() {
    let (host, ctx) = scripted();
    let url = format!("{BASE}/v1/payments?reference=r-1");
    host.reply(Method::Get, &url, Reply::json(200, &payment("approved")));
    assert!(matches!(
        PolderPay::status(&ctx, query("r-1", Some(host.now_ms()))).unwrap(),
        Outcome::Approved(_)
    ));
    host.forget(Method::Get, &url);
    host.reply(
        Method::Get,
        &url,
        Reply::json(404, &json!({"error": "not-found"})),
    );
    //~ card-on-file
    // Nor a saved card's charge.
    host.reply(
        Method::Get,
        format!("{BASE}/v1/charges?reference=r-1"),
        Reply::json(404, &json!({"error": "not-found"})),
    );
    //~ end
    let sent = host.now_ms();
    assert!(matches!(
        PolderPay::status(&ctx, query("r-1", Some(sent))).unwrap(),
        Outcome::Unknown(_)
    ));
    host.advance(Duration::from_secs(121));
    assert!(matches!(
        PolderPay::status(&ctx, query("r-1", Some(sent))).unwrap(),
        Outcome::NotFound(_)
    ));
}

#[test]
fn the_terminal_list_says_which_models_work() {
    let (_host, ctx, _simulator) = simulated();
    let terminals = PolderPay::list_terminals(&ctx).unwrap();
    let t1 = terminals.iter().find(|t| t.id == "T-1").unwrap();
    let t2 = terminals.iter().find(|t| t.id == "T-2").unwrap();
    assert!(t1.supported);
    assert!(!t2.supported);
    assert!(t2.note.as_deref().unwrap().contains("M010"));
}
