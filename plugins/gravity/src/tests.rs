//! Native tests of the plugin through the SDK's fake host: results in several
//! wordings mapped by status, not by message, and the polling in virtual time.

use serde_json::{Value, json};
use vetpay_sdk::prelude::*;
use vetpay_sdk::testing::{FakeHost, Reply, context};

use crate::Gravity;
use crate::api::{Envelope, TransactionResponse};
use crate::results::{Status, outcome};

const BASE: &str = "https://gravity.test/virtualterminal/v1";
const ID: &str = "req-1";

fn org(path: &str) -> String {
    format!("{BASE}/orgs/{{{{secret:oid}}}}/{path}")
}

fn ctx() -> Context {
    context(
        "US",
        &[
            ("oid", "{{secret:oid}}"),
            ("auth-token", "{{secret:auth-token}}"),
            ("base-url", BASE),
            ("poll-interval-ms", "3000"),
            ("poll-window-ms", "180000"),
            ("background-interval-ms", "30000"),
            ("background-window-ms", "120000"),
            ("abort-grace-ms", "6000"),
            ("rate-limit-backoff-ms", "1000"),
        ],
    )
}

fn result(status: &str, message: &str, unique: Option<&str>) -> Value {
    let mut r = json!({
        "externalTransactionId": ID,
        "transactionType": "CreditSale",
        "resultStatus": status,
        "resultMessage": message,
        "amount": "12.34",
        "amountProcessed": if status == "true" { "12.34" } else { "0.00" },
        "maskedAccount": "************4242",
        "accountCardType": "VS",
    });
    if let Some(unique) = unique {
        r["uniqueTransId"] = json!(unique);
        r["approvalNumberResult"] = json!("OK1234");
    }
    r
}

fn parsed(r: Value) -> TransactionResponse {
    serde_json::from_value::<Envelope>(json!({ "transactionResponse": r }))
        .expect("a result")
        .transaction_response
}

#[test]
fn result_status_is_a_typed_enum_and_other_values_do_not_parse() {
    assert!(parsed(result("true", "", Some("7001"))).approved());
    assert!(!parsed(result("false", "", Some("7001"))).approved());
    let odd = json!({ "transactionResponse": result("pending", "", None) });
    assert!(serde_json::from_value::<Envelope>(odd).is_err());
}

#[test]
fn a_decline_is_told_by_its_transaction_id_whatever_the_words() {
    for message in ["Declined", "Do not honor", "Cancelled by issuer", ""] {
        let r = parsed(result("false", message, Some("7001")));
        assert_eq!(Status::of(&r), Status::Declined, "{message}");
        for aborted in [false, true] {
            let o = outcome(&r, aborted).unwrap();
            assert!(matches!(o, Outcome::Declined(_)), "{message}: {o:?}");
        }
    }
}

#[test]
fn a_cancel_on_the_terminal_is_told_without_reading_the_words() {
    for message in [
        "Cancelled by customer",
        "Customer pressed stop",
        "Transaction aborted",
        "",
    ] {
        let r = parsed(result("false", message, None));
        assert_eq!(Status::of(&r), Status::StoppedOnTerminal, "{message}");
        let o = outcome(&r, false).unwrap();
        assert!(
            matches!(o, Outcome::CancelledByClient(_)),
            "{message}: {o:?}"
        );
        let o = outcome(&r, true).unwrap();
        assert!(matches!(o, Outcome::AbortedByClinic(_)), "{message}: {o:?}");
    }
}

#[test]
fn an_approval_carries_the_amount_and_the_card_token() {
    let Outcome::Approved(a) =
        outcome(&parsed(result("true", "Approved", Some("7001"))), false).unwrap()
    else {
        panic!("not approved");
    };
    assert_eq!(
        (a.amount.minor_units, a.amount.currency.as_str()),
        (1234, "USD")
    );
    assert_eq!(a.card_token.as_deref(), Some("7001"));
}

fn purchase() -> PaymentRequest {
    PaymentRequest {
        request_id: ID.into(),
        kind: TransactionKind::Purchase,
        amount: Money::new(1234, "USD"),
        terminal_id: "device-1".into(),
        original_reference: None,
        description: None,
    }
}

fn started(host: &FakeHost) {
    host.reply(
        http::Method::Post,
        org("transactions/start"),
        Reply::json(200, &json!({ "transactionToken": "tt-1" })),
    );
}

#[test]
fn process_polls_in_virtual_time_until_the_result() {
    let host = FakeHost::install();
    started(&host);
    let poll = org(&format!("transactions/{ID}"));
    host.reply(http::Method::Get, &poll, Reply::status(404))
        .reply(http::Method::Get, &poll, Reply::status(404))
        .reply(
            http::Method::Get,
            &poll,
            Reply::json(
                200,
                &json!({ "transactionResponse": result("true", "Approved", Some("7001")) }),
            ),
        );
    let before = host.now_ms();
    let o = Gravity::process(&ctx(), purchase()).unwrap();
    assert!(matches!(o, Outcome::Approved(_)), "{o:?}");
    assert_eq!(host.now_ms() - before, 6_000);
    assert_eq!(host.sent_to(http::Method::Get, &poll).len(), 3);
    let start = &host.sent_to(http::Method::Post, &org("transactions/start"))[0];
    assert_eq!(start.header("idempotency-key"), Some(ID));
}

#[test]
fn an_abort_during_polling_cancels_and_is_aborted_by_clinic() {
    let host = FakeHost::install();
    started(&host);
    let poll = org(&format!("transactions/{ID}"));
    host.reply(
        http::Method::Delete,
        format!("{BASE}/transactions/tt-1"),
        Reply::json(200, &json!({ "cancelled": true })),
    );
    // The second poll finds the clinic's abort done (another instance).
    host.handle(move |sent| {
        assert_eq!(sent.url, poll);
        Gravity::abort(
            &ctx(),
            AbortRequest {
                request_id: ID.into(),
                terminal_id: "device-1".into(),
            },
        )
        .expect("abort");
        Ok(Reply::status(404))
    });
    let o = Gravity::process(&ctx(), purchase()).unwrap();
    assert!(matches!(o, Outcome::AbortedByClinic(_)), "{o:?}");
    assert!(
        !host
            .sent_to(http::Method::Delete, &format!("{BASE}/transactions/tt-1"))
            .is_empty()
    );
}

#[test]
fn no_result_in_the_window_is_cancelled_watched_and_left_unknown() {
    let host = FakeHost::install();
    started(&host);
    host.reply(
        http::Method::Get,
        org(&format!("transactions/{ID}")),
        Reply::status(404),
    );
    host.reply(
        http::Method::Delete,
        format!("{BASE}/transactions/tt-1"),
        Reply::json(200, &json!({ "cancelled": true })),
    );
    let before = host.now_ms();
    let o = Gravity::process(&ctx(), purchase()).unwrap();
    assert!(matches!(o, Outcome::Unknown(_)), "{o:?}");
    // The polling window, then the background watch, in virtual time.
    assert!(host.now_ms() - before >= 180_000 + 120_000);
    let cancelled = host.cache_get(&crate::cancelled_key(ID)).unwrap();
    assert!(String::from_utf8(cancelled).unwrap().ends_with(":true"));
}

#[test]
fn status_after_a_crash_cancels_watches_and_only_then_answers_not_found() {
    let host = FakeHost::install();
    host.reply(
        http::Method::Get,
        org(&format!("transactions/{ID}")),
        Reply::status(404),
    );
    host.reply(
        http::Method::Delete,
        format!("{BASE}/transactions/tt-1"),
        Reply::json(200, &json!({ "cancelled": true })),
    );
    // What the crashed `process` left: its start's token.
    host.cache_set(
        &crate::token_key(ID),
        "tt-1",
        std::time::Duration::from_secs(3600),
    );
    let query = |sent_at_ms| StatusQuery {
        request_id: ID.into(),
        terminal_id: Some("device-1".into()),
        kind: TransactionKind::Purchase,
        amount: Money::new(1234, "USD"),
        sent_at_ms: Some(sent_at_ms),
        previous_request_id: None,
        superseded: false,
    };
    let sent = host.now_ms();
    let o = Gravity::status(&ctx(), query(sent)).unwrap();
    assert!(
        matches!(o, Outcome::InProgress(_)),
        "within the window: {o:?}"
    );
    assert!(
        host.sent_to(http::Method::Delete, &format!("{BASE}/transactions/tt-1"))
            .is_empty()
    );

    host.advance(std::time::Duration::from_millis(180_000));
    let o = Gravity::status(&ctx(), query(sent)).unwrap();
    assert!(
        matches!(o, Outcome::InProgress(_)),
        "cancelled, now watching: {o:?}"
    );
    assert_eq!(
        host.sent_to(http::Method::Delete, &format!("{BASE}/transactions/tt-1"))
            .len(),
        1
    );

    host.advance(std::time::Duration::from_millis(120_000));
    let o = Gravity::status(&ctx(), query(sent)).unwrap();
    assert!(matches!(o, Outcome::NotFound(_)), "after the watch: {o:?}");
}
