//! Native tests of the plugin through the SDK's fake host: every refusal
//! shape and several wordings of each answer, mapped to the right outcome.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use vetpay_sdk::prelude::*;
use vetpay_sdk::testing::{FakeHost, Reply, context};

use crate::Nets;
use crate::answers::{BUSY, NEEDS_RECONCILIATION};

const BASE: &str = "https://nets.test";
const TERMINAL: &str = "T-1";
const ID: &str = "req-1";

fn url(path: &str) -> String {
    format!("{BASE}/v1/{path}")
}

fn transaction_url() -> String {
    url(&format!("terminal/{TERMINAL}/transaction"))
}

fn ctx() -> Context {
    context(
        "DK",
        &[
            ("base-url", BASE),
            ("username", "clinic"),
            ("password", "{{secret:password}}"),
            ("token-refresh-margin-s", "600"),
            ("transaction-timeout-s", "300"),
            ("lookup-delay-ms", "5000"),
        ],
    )
}

/// A fake host where login works and the terminal has no last transaction yet.
fn host() -> FakeHost {
    let host = FakeHost::install();
    let claims = URL_SAFE_NO_PAD.encode(json!({ "exp": host.now_ms() / 1000 + 3600 }).to_string());
    let token = format!("e30.{claims}.sig");
    host.reply(
        http::Method::Post,
        url("login"),
        Reply::json(200, &json!({ "token": token })),
    );
    host.reply(
        http::Method::Get,
        transaction_url(),
        Reply::json(404, &json!({ "failure": "No transaction" })),
    );
    host
}

fn args(result: u64, response_code: Option<&str>) -> Value {
    let mut args = json!({
        "Result": result,
        "TruncatedPAN": "************0119",
        "CardIssuerName": "Visa",
        "TerminalID": TERMINAL,
        "SessionNumber": "001",
        "StanAuth": "000042",
        "CVM": 0,
        "TotalAmount": 12550,
    });
    if let Some(code) = response_code {
        args["ResponseCode"] = json!(code);
    }
    args
}

fn failure_object(error: &str, args: Value) -> Reply {
    Reply::json(
        400,
        &json!({ "failure": { "error": error, "localModeEventArgs": args } }),
    )
}

fn purchase() -> PaymentRequest {
    PaymentRequest {
        request_id: ID.into(),
        kind: TransactionKind::Purchase,
        amount: Money::new(12550, "DKK"),
        terminal_id: TERMINAL.into(),
        original_reference: None,
        description: None,
    }
}

/// `process` against one answer to the transaction request.
fn process_answered(host: &FakeHost, answer: Reply) -> Result<Outcome, PluginError> {
    host.reply(http::Method::Post, transaction_url(), answer);
    Nets::process(&ctx(), purchase())
}

/// `process` against one answer to the transaction request, with the
/// clinic's abort arriving while the transaction runs on the terminal.
fn process_answered_after_abort(host: &FakeHost, answer: Reply) -> Result<Outcome, PluginError> {
    host.handle(move |sent| {
        assert_eq!(sent.url, transaction_url());
        cache::set(&crate::abort_key(ID), b"1", Duration::from_secs(60));
        Ok(answer.clone())
    });
    Nets::process(&ctx(), purchase())
}

fn set_abort_flag(host: &FakeHost) {
    host.cache_set(&crate::abort_key(ID), b"1", Duration::from_secs(60));
}

#[test]
fn an_approval_reports_the_amount_card_and_receipts() {
    let host = host();
    let answer = Reply::json(
        200,
        &json!({ "result": [{ "localModeEventArgs": args(0, Some("00")),
                               "customerReceipt": "C", "merchantReceipt": "M" }] }),
    );
    let Ok(Outcome::Approved(a)) = process_answered(&host, answer) else {
        panic!("not approved");
    };
    assert_eq!(
        (a.amount.minor_units, a.amount.currency.as_str()),
        (12550, "DKK")
    );
    assert_eq!(a.provider_reference, "T-1-001-000042");
    assert_eq!(a.card.unwrap().masked_pan, "************0119");
    assert_eq!(a.receipt.unwrap().customer.as_deref(), Some("C"));
    let sent = host.sent_to(http::Method::Post, &transaction_url());
    assert_eq!(sent[0].json::<Value>()["orderId"], ID);
}

#[test]
fn declines_are_told_by_their_issuer_code_in_any_wording() {
    for error in [
        "Declined",
        "Refused by issuer",
        "Avvist",
        "Transaction cancelled",
    ] {
        let host = host();
        let outcome = process_answered(&host, failure_object(error, args(2, Some("05"))));
        let Ok(Outcome::Declined(d)) = outcome else {
            panic!("{error}: {outcome:?}");
        };
        assert_eq!(d.code.as_deref(), Some("05"), "{error}");
    }
}

#[test]
fn a_decline_stays_a_decline_when_the_clinic_aborted_too_late() {
    let host = host();
    let outcome =
        process_answered_after_abort(&host, failure_object("Declined", args(2, Some("51"))));
    assert!(matches!(outcome, Ok(Outcome::Declined(_))), "{outcome:?}");
}

#[test]
fn a_cancel_on_the_terminal_is_told_by_its_codes_in_any_wording() {
    for error in ["Transaction cancelled", "Stopped by user", "Avbrutt", ""] {
        for code in [None, Some("")] {
            let host = host();
            let outcome = process_answered(&host, failure_object(error, args(2, code)));
            assert!(
                matches!(outcome, Ok(Outcome::CancelledByClient(_))),
                "{error} {code:?}: {outcome:?}"
            );
        }
    }
}

#[test]
fn a_clinic_abort_is_aborted_by_clinic_in_any_wording() {
    for error in [
        "Operation stopped",
        "Transaction terminated",
        "Avbrudt",
        "Cancelled",
    ] {
        let host = host();
        let outcome = process_answered_after_abort(&host, failure_object(error, args(2, None)));
        assert!(
            matches!(outcome, Ok(Outcome::AbortedByClinic(_))),
            "{error}: {outcome:?}"
        );
    }
}

#[test]
fn an_abort_before_the_transaction_left_sends_nothing_and_is_aborted_by_clinic() {
    let host = host();
    set_abort_flag(&host);
    let outcome = Nets::process(&ctx(), purchase());
    assert!(
        matches!(outcome, Ok(Outcome::AbortedByClinic(_))),
        "{outcome:?}"
    );
    assert!(
        host.sent_to(http::Method::Post, &transaction_url())
            .is_empty(),
        "no transaction was sent to the terminal"
    );
}

#[test]
fn an_abort_while_process_blocks_sends_cancel_action_and_is_aborted_by_clinic() {
    let host = host();
    host.reply(
        http::Method::Post,
        url(&format!("terminal/{TERMINAL}/administration")),
        Reply::json(
            200,
            &json!({ "result": [{ "localModeEventArgs": { "Result": 1 } }] }),
        ),
    );
    // The blocked transaction request is answered only after the clinic's
    // abort ran (another instance, here inside the answer).
    host.handle(|sent| {
        assert_eq!(sent.url, transaction_url());
        let abort = AbortRequest {
            request_id: ID.into(),
            terminal_id: TERMINAL.into(),
        };
        Nets::abort(&ctx(), abort).expect("abort");
        Ok(failure_object("Operation stopped", args(2, None)))
    });
    let outcome = Nets::process(&ctx(), purchase());
    assert!(
        matches!(outcome, Ok(Outcome::AbortedByClinic(_))),
        "{outcome:?}"
    );
    let cancel = host.sent_to(
        http::Method::Post,
        &url(&format!("terminal/{TERMINAL}/administration")),
    );
    assert_eq!(cancel[0].json::<Value>()["action"], "cancelAction");
}

fn terminal_problem(outcome: Result<Outcome, PluginError>) -> Option<TerminalProblem> {
    match outcome {
        Err(PluginError::Terminal(p)) => Some(p),
        _ => None,
    }
}

#[test]
fn a_busy_terminal_is_busy_in_both_refusal_shapes() {
    for error in ["Terminal busy", "Terminal is processing", "Optaget"] {
        let host = host();
        let outcome = process_answered(&host, failure_object(error, args(2, Some(BUSY))));
        assert!(
            matches!(terminal_problem(outcome), Some(TerminalProblem::Busy)),
            "{error}"
        );
    }
    for text in [
        "Terminal busy",
        "Terminal is busy with another transaction",
        "Terminal in use",
    ] {
        let host = host();
        let outcome = process_answered(&host, Reply::json(400, &json!({ "failure": text })));
        assert!(
            matches!(terminal_problem(outcome), Some(TerminalProblem::Busy)),
            "{text}"
        );
    }
}

#[test]
fn an_unreconciled_terminal_needs_reconciliation_in_both_refusal_shapes() {
    for error in [
        "Terminal requires reconciliation",
        "Run End of Day first",
        "Kør dagsafslutning",
    ] {
        let host = host();
        let outcome = process_answered(
            &host,
            failure_object(error, args(2, Some(NEEDS_RECONCILIATION))),
        );
        assert!(
            matches!(
                terminal_problem(outcome),
                Some(TerminalProblem::NeedsReconciliation)
            ),
            "{error}"
        );
    }
    for text in [
        "Terminal requires reconciliation before accepting payments",
        "Run End of Day before the first payment",
        "Not reconciled",
    ] {
        let host = host();
        let outcome = process_answered(&host, Reply::json(400, &json!({ "failure": text })));
        assert!(
            matches!(
                terminal_problem(outcome),
                Some(TerminalProblem::NeedsReconciliation)
            ),
            "{text}"
        );
    }
}

#[test]
fn an_unrecognised_plain_refusal_is_rejected_not_not_sent() {
    let host = host();
    let outcome = process_answered(
        &host,
        Reply::json(400, &json!({ "failure": "Unsupported transactionType" })),
    );
    assert!(
        matches!(outcome, Err(PluginError::Rejected(_))),
        "{outcome:?}"
    );
}

fn last_transaction(args: Value) -> Reply {
    Reply::json(
        200,
        &json!({ "result": { "latestTransactionResult": args,
                             "printText": { "Text": "receipt" }, "orderId": ID } }),
    )
}

#[test]
fn result_99_is_looked_up_in_a_result_and_inside_a_400_failure_body() {
    for answer in [
        Reply::json(
            200,
            &json!({ "result": [{ "localModeEventArgs": args(99, None) }] }),
        ),
        failure_object("Communication lost", args(99, None)),
    ] {
        let host = host();
        // Before the purchase: no transaction; after the wait: ours, approved.
        host.reply(
            http::Method::Get,
            transaction_url(),
            last_transaction(args(0, Some("00"))),
        );
        let outcome = process_answered(&host, answer);
        assert!(matches!(outcome, Ok(Outcome::Approved(_))), "{outcome:?}");
        assert!(host.slept().contains(&Duration::from_millis(5000)));
        assert_eq!(
            host.sent_to(http::Method::Post, &transaction_url()).len(),
            1
        );
    }
}

#[test]
fn a_lost_answer_is_looked_up_and_never_sent_again() {
    let host = host();
    host.reply(
        http::Method::Get,
        transaction_url(),
        last_transaction(args(2, None)),
    );
    host.fail(
        http::Method::Post,
        transaction_url(),
        http::Error::Transport("connection reset".into()),
    );
    let outcome = Nets::process(&ctx(), purchase());
    assert!(
        matches!(outcome, Ok(Outcome::CancelledByClient(_))),
        "{outcome:?}"
    );
    assert_eq!(
        host.sent_to(http::Method::Post, &transaction_url()).len(),
        1
    );
}

fn query(sent_at_ms: u64) -> StatusQuery {
    StatusQuery {
        request_id: ID.into(),
        terminal_id: Some(TERMINAL.into()),
        kind: TransactionKind::Purchase,
        amount: Money::new(12550, "DKK"),
        sent_at_ms: Some(sent_at_ms),
        previous_request_id: None,
        superseded: false,
    }
}

#[test]
fn a_404_from_the_lookup_means_no_transaction() {
    let host = host();
    let sent = host.now_ms();
    host.advance(Duration::from_secs(400));
    let outcome = Nets::status(&ctx(), query(sent));
    assert!(matches!(outcome, Ok(Outcome::NotFound(_))), "{outcome:?}");
    // Too early to prove anything: the transaction may still run.
    let host2 = self::host();
    let outcome = Nets::status(&ctx(), query(host2.now_ms()));
    assert!(matches!(outcome, Ok(Outcome::InProgress(_))), "{outcome:?}");
}

#[test]
fn status_reads_a_clinic_abort_from_the_flag_not_the_words() {
    let host = host();
    set_abort_flag(&host);
    host.forget(http::Method::Get, &transaction_url());
    host.reply(
        http::Method::Get,
        transaction_url(),
        last_transaction(args(2, None)),
    );
    let outcome = Nets::status(&ctx(), query(host.now_ms()));
    assert!(
        matches!(outcome, Ok(Outcome::AbortedByClinic(_))),
        "{outcome:?}"
    );
}

#[test]
fn the_login_token_is_reused_until_its_refresh_margin() {
    let host = host();
    host.reply(
        http::Method::Post,
        transaction_url(),
        Reply::json(
            200,
            &json!({ "result": [{ "localModeEventArgs": args(0, Some("00")) }] }),
        ),
    );
    Nets::process(&ctx(), purchase()).unwrap();
    Nets::process(&ctx(), purchase()).unwrap();
    assert_eq!(host.sent_to(http::Method::Post, &url("login")).len(), 1);
    // 3600 s tokens are kept until 600 s before they expire.
    host.advance(Duration::from_secs(3001));
    let claims = URL_SAFE_NO_PAD.encode(json!({ "exp": host.now_ms() / 1000 + 3600 }).to_string());
    let fresh = format!("e30.{claims}.sig");
    host.reply(
        http::Method::Post,
        url("login"),
        Reply::json(200, &json!({ "token": fresh })),
    );
    Nets::process(&ctx(), purchase()).unwrap();
    assert_eq!(host.sent_to(http::Method::Post, &url("login")).len(), 2);
}

#[test]
fn end_of_day_on_a_busy_terminal_is_busy_in_both_refusal_shapes() {
    let administration = url(&format!("terminal/{TERMINAL}/administration"));
    for answer in [
        failure_object("Terminal is processing a request", args(2, Some(BUSY))),
        Reply::json(400, &json!({ "failure": "Terminal busy" })),
    ] {
        let host = host();
        host.reply(http::Method::Post, &administration, answer);
        let outcome = Nets::reconcile(&ctx(), TERMINAL.into());
        assert!(
            matches!(outcome, Err(PluginError::Terminal(TerminalProblem::Busy))),
            "{outcome:?}"
        );
    }
}

#[test]
fn the_terminal_list_flags_the_unsupported_model() {
    let host = host();
    host.reply(
        http::Method::Get,
        url("terminal"),
        Reply::json(
            200,
            &json!({ "terminals": [
                { "terminalId": "T-1", "model": "Lane3000" },
                { "terminalId": "T-2", "model": "iWL250 3G" },
            ] }),
        ),
    );
    let list = Nets::list_terminals(&ctx()).unwrap();
    let supported: Vec<(&str, bool)> = list.iter().map(|t| (t.id.as_str(), t.supported)).collect();
    assert_eq!(supported, [("T-1", true), ("T-2", false)]);
}

/// End of Day on a fresh fake host whose terminal answers with this
/// `reconciliation` object (a header with session 007 is added).
fn end_of_day(mut reconciliation: Value) -> Reconciliation {
    reconciliation["header"] = json!({ "timestamp": "20261205170000", "sessionNumber": "007" });
    let fake = host();
    fake.reply(
        http::Method::Post,
        url(&format!("terminal/{TERMINAL}/administration")),
        Reply::json(
            200,
            &json!({ "result": { "reconciliation": reconciliation } }),
        ),
    );
    Nets::reconcile(&ctx(), TERMINAL.into()).unwrap()
}

#[test]
fn end_of_day_reads_batch_totals_only_when_the_terminal_sends_them_as_fields() {
    // The documented answer: print text only, which is never parsed.
    let plain = end_of_day(json!({
        "printText": { "Text": "END OF DAY\nPURCHASES 2 15000\nTOTAL OK" },
    }));
    assert_eq!(plain.reference.as_deref(), Some("007"));
    assert!(plain.totals.is_none() && plain.transactions.is_none());

    let batch = end_of_day(json!({
        "printText": { "Text": "END OF DAY" },
        "totals": [{ "currency": "DKK", "purchaseCount": 2, "purchaseAmount": 15000,
                     "refundCount": 1, "refundAmount": 3000 }],
        "transactions": [
            { "orderId": "p-1", "transactionType": "purchase", "amount": 10000 },
            { "orderId": "p-2", "transactionType": "deposit", "amount": 5000 },
            { "orderId": "p-3", "transactionType": "returnOfGoods", "amount": 3000 },
        ],
    }));
    let totals = batch.totals.unwrap();
    assert_eq!(totals.len(), 1);
    assert_eq!(
        (totals[0].purchase_count, totals[0].purchase_total),
        (2, 15000)
    );
    assert_eq!((totals[0].refund_count, totals[0].refund_total), (1, 3000));
    let kinds: Vec<TransactionKind> = batch.transactions.unwrap().iter().map(|t| t.kind).collect();
    assert_eq!(
        kinds,
        [
            TransactionKind::Purchase,
            TransactionKind::Deposit,
            TransactionKind::Refund
        ]
    );

    // A batch entry that is not whole is not guessed at.
    let partial = end_of_day(json!({
        "printText": { "Text": "END OF DAY" },
        "totals": [{ "currency": "DKK", "purchaseCount": "two" }],
    }));
    assert!(partial.totals.is_none());
}
