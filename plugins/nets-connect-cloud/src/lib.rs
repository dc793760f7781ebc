//! Nets Connect@Cloud plugin: purchases, refunds (`returnOfGoods`) and deposits
//! on Nordic Nets terminals, End of Day, and the terminal list.
//!
//! The transaction request blocks until the terminal is done; an abort is a
//! concurrent `cancelAction` on the same terminal. A lost answer, or `Result`
//! 99, is never answered by sending the transaction again: the terminal's last
//! transaction is looked up and matched by `orderId` (the host's request id).
//!
//! Answers are classified in [`answers`] by `Result`, `ResponseCode` and
//! vetpay's own abort flag (the cache key `abort:<request id>` that `abort`
//! sets before it sends `cancelAction`), never by message text, except for a
//! refusal in plain text, which has nothing else. `Result` 99 is looked up
//! wherever it appears, in a result or inside a 400 failure body; a 404 from the
//! last-transaction lookup means the terminal has no transaction.

mod answers;
mod api;
#[cfg(test)]
mod tests;

use std::time::Duration;

use serde_json::{Value, json};
use vetpay_sdk::prelude::*;

use answers::{Reply, Verdict, plain_refusal, refused_without_args, text, verdict};
use api::{Client, unexpected};

struct Nets;

const HOUR: Duration = Duration::from_secs(3600);
/// The only model known not to work with Connect@Cloud.
const UNSUPPORTED_MODELS: &[&str] = &["iWL250 3G"];

fn abort_key(request_id: &str) -> String {
    format!("abort:{request_id}")
}

fn kind(kind: TransactionKind) -> &'static str {
    match kind {
        TransactionKind::Purchase => "purchase",
        TransactionKind::Refund => "returnOfGoods",
        TransactionKind::Deposit => "deposit",
    }
}

fn aborted(request_id: &str) -> bool {
    cache::get(&abort_key(request_id)).is_some()
}

/// What the terminal's last transaction says about one request.
enum Last {
    /// It is this request's, with its outcome.
    Ours(Box<Outcome>),
    /// It is another order's (its `orderId`, when it has one).
    Other(Option<String>),
    /// The terminal reports no transaction at all.
    Nothing,
}

/// The terminal's last transaction, matched against `request_id`.
fn last_transaction(
    client: &Client,
    terminal: &str,
    request_id: &str,
    currency: &str,
) -> Result<Last, PluginError> {
    let response = client
        .send(|| http::Request::get(client.url(&format!("terminal/{terminal}/transaction"))))?;
    if matches!(response.status, 400 | 404) {
        // "No transaction" (both forms are seen): nothing to match.
        return Ok(Last::Nothing);
    }
    if !response.is_success() {
        return Err(unexpected(&response));
    }
    let body: Value = response.json()?;
    let result = &body["result"];
    let order = text(result, "orderId");
    if order.as_deref() != Some(request_id) {
        return Ok(Last::Other(order));
    }
    let receipt = result["printText"]["Text"].as_str().map(|t| Receipt {
        customer: Some(t.to_owned()),
        merchant: Some(t.to_owned()),
    });
    let args = &result["latestTransactionResult"];
    let outcome = match verdict(args, None, receipt, aborted(request_id), currency) {
        Verdict::Outcome(outcome) => *outcome,
        // Already the lookup: the terminal itself does not know yet.
        Verdict::LookUp => Outcome::Unknown("the terminal's last transaction is Result 99".into()),
        Verdict::Refused(problem) => Outcome::Unknown(format!(
            "the terminal's last transaction is a refusal ({problem:?}), not a transaction"
        )),
    };
    Ok(Last::Ours(Box::new(outcome)))
}

/// What the terminal's last transaction tells `status` about a request. When
/// it is not this request's, the request never started, and never will, only
/// when it can no longer be running (more than the transaction timeout has
/// passed since it was sent), no later request ran on the terminal, and the
/// last transaction is the one vetpay sent before it (or there is none at all
/// and vetpay sent nothing before).
fn status_of(ctx: &Context, query: &StatusQuery, last: Last) -> Result<Outcome, PluginError> {
    // Another order's id (itself optional), or `None` for no transaction at all.
    let other = match last {
        Last::Ours(outcome) => return Ok(*outcome),
        Last::Other(order) => Some(order),
        Last::Nothing => None,
    };
    let longest = ctx
        .require_u64("transaction-timeout-s")?
        .saturating_mul(1000)
        .saturating_add(ctx.require_u64("lookup-delay-ms")?);
    let Some(sent) = query.sent_at_ms else {
        return Ok(Outcome::Unknown(
            "the terminal's last transaction is not this request".into(),
        ));
    };
    if vetpay_sdk::wall_clock_ms().saturating_sub(sent) <= longest {
        return Ok(Outcome::InProgress(
            "the terminal's last transaction is not this request; it may still be running".into(),
        ));
    }
    if query.superseded {
        return Ok(Outcome::Unknown(
            "another request ran on the terminal since this one; its last transaction says nothing of this one".into(),
        ));
    }
    Ok(match (other, query.previous_request_id.as_deref()) {
        (Some(Some(order)), Some(previous)) if order == previous => Outcome::NotFound(format!(
            "the terminal's last transaction is the previous request's ({previous}): this one never started"
        )),
        (None, None) => Outcome::NotFound(
            "the terminal has no transaction at all: this request never started".into(),
        ),
        (Some(order), _) => Outcome::Unknown(format!(
            "the terminal's last transaction ({}) is neither this request nor the one before it",
            order.as_deref().unwrap_or("without an order id")
        )),
        (None, Some(_)) => Outcome::Unknown(
            "the terminal reports no transaction although vetpay sent one before this".into(),
        ),
    })
}

/// After a lost answer or `Result` 99: wait as Nets' clients do, then look the
/// transaction up. Never sends it again.
fn recover(
    ctx: &Context,
    client: &Client,
    terminal: &str,
    request_id: &str,
    currency: &str,
    why: &str,
) -> Result<Outcome, PluginError> {
    progress::report(Stage::WaitingForResult, Some("looking up the result"));
    vetpay_sdk::sleep(Duration::from_millis(ctx.require_u64("lookup-delay-ms")?));
    match last_transaction(client, terminal, request_id, currency) {
        Ok(Last::Ours(outcome)) => Ok(*outcome),
        Ok(Last::Other(_) | Last::Nothing) => Ok(Outcome::Unknown(format!(
            "{why}; the terminal's last transaction is not this one"
        ))),
        Err(e) => Ok(Outcome::Unknown(format!("{why}; the lookup failed: {e:?}"))),
    }
}

/// `POST /v1/terminal/{id}/administration` with `action`.
fn administration(
    client: &Client,
    terminal: &str,
    action: &str,
) -> Result<http::Response, PluginError> {
    let body = json!({ "action": action });
    let url = client.url(&format!("terminal/{terminal}/administration"));
    Ok(client.send(|| http::Request::post(url.clone()).json(&body))?)
}

impl Plugin for Nets {
    fn process(ctx: &Context, request: PaymentRequest) -> Result<Outcome, PluginError> {
        let client = Client::from(ctx)?;
        let (terminal, id, currency) = (
            &request.terminal_id,
            &request.request_id,
            &request.amount.currency,
        );
        progress::report(Stage::Connecting, None);
        // A retry of a request the terminal already processed: report that
        // transaction rather than charge again.
        if let Ok(Last::Ours(done)) = last_transaction(&client, terminal, id, currency) {
            log::info(format!("{id} was already processed on {terminal}"));
            return Ok(*done);
        }
        let body = json!({
            "transactionType": kind(request.kind),
            "amount": request.amount.minor_units,
            "orderId": id,
        });
        let timeout = Duration::from_secs(ctx.require_u64("transaction-timeout-s")?);
        progress::report(
            Stage::WaitingForCard,
            Some("follow the instructions on the terminal"),
        );
        // An abort that came before the transaction left has no transaction
        // to cancel on the terminal (`cancelAction` acts on the running one):
        // it stops the payment here. The host delivers an abort again while
        // the attempt runs, for one that slips in between this and the send.
        if aborted(id) {
            log::info(format!("{id} was aborted before it was sent"));
            return Ok(Outcome::AbortedByClinic(Stopped {
                message: "aborted by the clinic before it reached the terminal".into(),
                provider_reference: None,
            }));
        }
        let sent = client.send(|| {
            http::Request::post(client.url(&format!("terminal/{terminal}/transaction")))
                .json(&body)
                .timeout(timeout)
        });
        let response = match sent {
            Ok(r) => r,
            Err(
                e
                @ (http::Error::Timeout(_) | http::Error::Transport(_) | http::Error::TooLarge(_)),
            ) => {
                return recover(
                    ctx,
                    &client,
                    terminal,
                    id,
                    currency,
                    &format!("the answer was lost ({e:?})"),
                );
            }
            Err(e) => return Err(e.into()),
        };
        let body: Value = match response.status {
            200 | 400 => response.json()?,
            500..=599 => {
                return recover(
                    ctx,
                    &client,
                    terminal,
                    id,
                    currency,
                    &format!("HTTP {}", response.status),
                );
            }
            _ => return Err(unexpected(&response)),
        };
        let (args, error, receipt) = match Reply::of(&body) {
            Reply::Result { args, receipt } => (args, None, Some(receipt)),
            Reply::FailureWithArgs { args, error } => (args, error, None),
            Reply::FailureWithoutArgs { error } => return Err(refused_without_args(&error)),
            Reply::FailureText(text) => return Err(plain_refusal(text)),
            Reply::Unrecognised if response.status == 400 => {
                return Err(refused_without_args(&response.text()));
            }
            Reply::Unrecognised => return Err(unexpected(&response)),
        };
        progress::report(Stage::Processing, None);
        match verdict(args, error, receipt, aborted(id), currency) {
            Verdict::Outcome(outcome) => Ok(*outcome),
            Verdict::Refused(problem) => Err(PluginError::terminal(problem)),
            // Wherever it appears, in a result or a failure body.
            Verdict::LookUp => recover(ctx, &client, terminal, id, currency, "Result 99"),
        }
    }

    fn abort(ctx: &Context, request: AbortRequest) -> Result<(), PluginError> {
        let client = Client::from(ctx)?;
        cache::set(&abort_key(&request.request_id), b"1", HOUR);
        let response = administration(&client, &request.terminal_id, "cancelAction")?;
        if response.is_success() {
            Ok(())
        } else {
            Err(unexpected(&response))
        }
    }

    fn status(ctx: &Context, query: StatusQuery) -> Result<Outcome, PluginError> {
        let client = Client::from(ctx)?;
        let terminal = query.terminal_id.as_deref().ok_or_else(|| {
            PluginError::other("Connect@Cloud looks results up by terminal; none given")
        })?;
        // The documented wait before the last-transaction lookup holds for
        // recovery too: a host that died may have lost the answer a moment ago.
        vetpay_sdk::sleep(Duration::from_millis(ctx.require_u64("lookup-delay-ms")?));
        let last = last_transaction(&client, terminal, &query.request_id, &query.amount.currency)?;
        status_of(ctx, &query, last)
    }

    fn list_terminals(ctx: &Context) -> Result<Vec<TerminalInfo>, PluginError> {
        let client = Client::from(ctx)?;
        let response = client.send(|| http::Request::get(client.url("terminal")))?;
        if !response.is_success() {
            return Err(unexpected(&response));
        }
        // [inferred] {"terminals": [{"terminalId", "model", ...}]}
        let body: Value = response.json()?;
        let list = body["terminals"].as_array().cloned().unwrap_or_default();
        Ok(list
            .iter()
            .filter_map(|t| {
                let id = text(t, "terminalId")?;
                let model = text(t, "model");
                let unsupported = model.as_deref().is_some_and(|m| UNSUPPORTED_MODELS.contains(&m));
                Some(TerminalInfo {
                    id,
                    supported: !unsupported,
                    note: unsupported.then(|| "the iWL250 3G does not work with Connect@Cloud; use the Bluetooth iWL250 with its dock".into()),
                    model,
                    name: None,
                })
            })
            .collect())
    }

    fn reconcile(ctx: &Context, terminal_id: String) -> Result<Reconciliation, PluginError> {
        let client = Client::from(ctx)?;
        progress::report(Stage::Processing, Some("End of Day"));
        let response = administration(&client, &terminal_id, "reconciliation")?;
        let answer: Value = response.json()?;
        if answer.get("failure").is_some() {
            return Err(match Reply::of(&answer) {
                Reply::FailureText(text) => plain_refusal(text),
                Reply::FailureWithArgs { args, .. } => match verdict(args, None, None, false, "") {
                    Verdict::Refused(problem) => PluginError::terminal(problem),
                    Verdict::Outcome(_) | Verdict::LookUp => unexpected(&response),
                },
                Reply::FailureWithoutArgs { error } => refused_without_args(&error),
                Reply::Result { .. } | Reply::Unrecognised => unexpected(&response),
            });
        }
        if !response.is_success() {
            return Err(unexpected(&response));
        }
        let rec = &answer["result"]["reconciliation"];
        let totals = answers::batch_totals(&rec["totals"]);
        Ok(Reconciliation {
            reference: text(&rec["header"], "sessionNumber"),
            report: rec["printText"]["Text"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            // The documented answer carries the print text only: totals and
            // transactions are read when a terminal sends them as fields
            // (docs/providers/NETS.md, [inferred]), never from the text.
            transactions: answers::batch_transactions(&rec["transactions"], totals.as_deref()),
            totals,
        })
    }
}

vetpay_sdk::export_plugin!(Nets);
