//! Gravity Payments (emergepay) plugin: card-present sales, refunds and deposits
//! on Gravity terminals, saved cards, and charges and refunds on saved cards.
//!
//! The host's request id is emergepay's `externalTransactionId` everywhere, so
//! a retry never charges twice and `status` finds the transaction again. Polling
//! follows Gravity's documented practice: poll every few seconds for up to three
//! minutes, then cancel and report failure, then keep polling for a while; a
//! late approval after a cancel is voided. The intervals are settings.
//!
//! Results are classified in [`results`] by `resultStatus` (a typed enum of
//! the strings "true" and "false"), whether emergepay gave the result a
//! `uniqueTransId`, and vetpay's own abort flag (the cache key
//! `abort:<request id>`), never by `resultMessage`.

mod api;
mod results;
mod terminal;
#[cfg(test)]
mod tests;

use std::time::Duration;

use serde_json::json;
use vetpay_sdk::prelude::*;

use api::{Client, TransactionResponse, parse, transaction_data, unexpected};
use results::outcome;

struct Gravity;

/// Cache keys shared between a running `process` and a concurrent `abort`.
fn token_key(request_id: &str) -> String {
    format!("token:{request_id}")
}
fn abort_key(request_id: &str) -> String {
    format!("abort:{request_id}")
}
/// Set when vetpay cancelled a request itself; `status` voids a late approval.
fn cancelled_key(request_id: &str) -> String {
    format!("cancelled:{request_id}")
}

/// vetpay's own cancel of a start, as the cache keeps it: `"<ms>:<confirmed>"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cancelled {
    /// When the cancel was sent (ms since the epoch).
    at_ms: u64,
    /// Whether emergepay accepted it; an unconfirmed cancel proves nothing.
    confirmed: bool,
}

impl Cancelled {
    fn encode(self) -> String {
        format!("{}:{}", self.at_ms, self.confirmed)
    }

    /// Anything unreadable (an older plugin wrote `"1"`) is an unconfirmed
    /// cancel long ago: a late approval is still voided, but nothing is proven.
    fn decode(text: &str) -> Self {
        let mut parts = text.splitn(2, ':');
        match (parts.next().map(str::parse), parts.next()) {
            (Some(Ok(at_ms)), Some(confirmed)) => Self {
                at_ms,
                confirmed: confirmed == "true",
            },
            _ => Self {
                at_ms: 0,
                confirmed: false,
            },
        }
    }

    fn of(request_id: &str) -> Option<Self> {
        cache::get_string(&cancelled_key(request_id)).map(|t| Self::decode(&t))
    }
}
const HOUR: Duration = Duration::from_secs(3600);

/// A moment on the host's wall clock: the clock `sleep` moves on in native
/// tests, so that polling windows pass in virtual time there too.
#[derive(Debug, Clone, Copy)]
struct Deadline(u64);

impl Deadline {
    fn after(window: Duration) -> Self {
        let ms = u64::try_from(window.as_millis()).unwrap_or(u64::MAX);
        Self(vetpay_sdk::wall_clock_ms().saturating_add(ms))
    }
    fn passed(self) -> bool {
        vetpay_sdk::wall_clock_ms() >= self.0
    }
    fn left(self) -> Duration {
        Duration::from_millis(self.0.saturating_sub(vetpay_sdk::wall_clock_ms()))
    }
}

fn ms(ctx: &Context, key: &str) -> Result<Duration, PluginError> {
    Ok(Duration::from_millis(ctx.require_u64(key)?))
}

/// The result of a transaction, if emergepay has one yet (404 = not yet).
fn retrieve(
    client: &Client,
    external_id: &str,
) -> Result<Option<TransactionResponse>, PluginError> {
    let response = client.send(http::Request::get(
        client.org_url(&format!("transactions/{external_id}")),
    ))?;
    match response.status {
        200 => Ok(Some(parse(&response)?)),
        404 => Ok(None),
        _ => Err(unexpected(&response)),
    }
}

/// Like [`retrieve`], but a failed poll is only a missed poll: the next one
/// may succeed, and polling never changes anything at the provider.
fn poll(client: &Client, external_id: &str) -> Result<Option<TransactionResponse>, PluginError> {
    match retrieve(client, external_id) {
        Err(PluginError::Configuration(c)) => Err(PluginError::Configuration(c)),
        Err(e) => {
            log::warn(format!(
                "polling {external_id} failed, will poll again: {e:?}"
            ));
            Ok(None)
        }
        ok => ok,
    }
}

/// Voids an approval vetpay no longer wants. The void's own external id is
/// derived from the request's, so a repeated void is the same void.
fn void(client: &Client, request_id: &str, unique_trans_id: &str) -> Result<(), PluginError> {
    progress::report(Stage::Cancelling, Some("voiding a late approval"));
    let body = transaction_data(json!({
        "uniqueTransId": unique_trans_id,
        "externalTransactionId": format!("{request_id}-void"),
    }));
    let response =
        client.send(http::Request::put(client.org_url("transactions/void")).json(&body))?;
    if !response.is_success() {
        return Err(unexpected(&response));
    }
    let result = parse(&response)?;
    if result.approved() {
        log::info(format!(
            "voided late approval {unique_trans_id} of {request_id}"
        ));
        Ok(())
    } else {
        Err(PluginError::other(format!(
            "the void of {unique_trans_id} was refused: {}",
            result.result_message
        )))
    }
}

/// Voids `result` if it is an approval; returns what to report instead.
fn void_if_approved(
    client: &Client,
    request_id: &str,
    result: &TransactionResponse,
    instead: Outcome,
) -> Result<Outcome, PluginError> {
    if !result.approved() {
        return Ok(instead);
    }
    let unique = result.unique_trans_id.clone().unwrap_or_default();
    match void(client, request_id, &unique) {
        Ok(()) => Ok(instead),
        // The money moved and could not be put back: a person must look.
        Err(e) => Ok(Outcome::Unknown(format!(
            "approval {unique} arrived after the cancel and could not be voided: {e:?}"
        ))),
    }
}

/// Cancels a started transaction and remembers it, so that `status` voids a
/// late approval; says whether emergepay accepted the cancel.
fn cancel(client: &Client, request_id: &str) -> bool {
    let key = cancelled_key(request_id);
    let mut cancelled = Cancelled {
        at_ms: vetpay_sdk::wall_clock_ms(),
        confirmed: false,
    };
    // Written before the cancel leaves: a late approval is voided even if this
    // call ends before the answer.
    cache::set(&key, cancelled.encode().as_bytes(), HOUR);
    let Some(token) = cache::get_string(&token_key(request_id)) else {
        log::warn(format!(
            "cannot cancel {request_id}: its transaction token was not kept"
        ));
        return false;
    };
    let request = http::Request::delete(client.url(&format!("transactions/{token}")));
    cancelled.confirmed = match client.send(request) {
        Ok(r) if r.is_success() => {
            log::info(format!("cancelled {request_id}"));
            true
        }
        Ok(r) => {
            log::warn(format!("cancel of {request_id} answered HTTP {}", r.status));
            false
        }
        Err(e) => {
            log::warn(format!("cancel of {request_id} failed: {e:?}"));
            false
        }
    };
    cache::set(&key, cancelled.encode().as_bytes(), HOUR);
    cancelled.confirmed
}

/// Polls after a cancel until `window` passes (or the result arrives).
fn watch_after_cancel(
    client: &Client,
    request_id: &str,
    interval: Duration,
    window: Duration,
    instead: Outcome,
) -> Result<Outcome, PluginError> {
    let until = Deadline::after(window);
    loop {
        if let Some(result) = poll(client, request_id)? {
            // The terminal answered after all: an approval is voided, anything
            // else confirms that no money moved.
            return void_if_approved(client, request_id, &result, instead);
        }
        if until.passed() {
            return Ok(instead);
        }
        vetpay_sdk::sleep(interval.min(until.left()));
    }
}

/// A card-present transaction: start, poll, and the documented cancel path.
fn run_on_terminal(
    ctx: &Context,
    request_id: &str,
    transaction_type: &str,
    amount: &str,
    terminal_id: &str,
    reference: Option<&str>,
) -> Result<Outcome, PluginError> {
    let client = Client::from(ctx)?;
    let interval = ms(ctx, "poll-interval-ms")?;
    let window = ms(ctx, "poll-window-ms")?;
    progress::report(Stage::Connecting, None);
    let token = terminal::start(
        &client,
        transaction_type,
        amount,
        request_id,
        terminal_id,
        reference,
    )?;
    cache::set(&token_key(request_id), token.as_bytes(), HOUR);
    progress::report(
        Stage::WaitingForCard,
        Some("present the card on the terminal"),
    );
    let until = Deadline::after(window);
    loop {
        if cache::get(&abort_key(request_id)).is_some() {
            // The clinic aborted (the abort call cancelled at emergepay). A card
            // already in may still be approved: watch briefly and void it.
            let aborted = Outcome::AbortedByClinic(Stopped {
                message: "aborted by the clinic".into(),
                provider_reference: None,
            });
            return watch_after_cancel(
                &client,
                request_id,
                interval,
                ms(ctx, "abort-grace-ms")?,
                aborted,
            );
        }
        if let Some(result) = poll(&client, request_id)? {
            progress::report(Stage::Processing, None);
            let aborted = cache::get(&abort_key(request_id)).is_some();
            return outcome(&result, aborted);
        }
        if until.passed() {
            break;
        }
        progress::report(Stage::WaitingForResult, None);
        vetpay_sdk::sleep(interval.min(until.left()));
    }
    // No result within the window: cancel and report failure, then keep
    // polling in the background window; a late approval is voided.
    progress::report(Stage::Cancelling, Some("no answer from the terminal"));
    cancel(&client, request_id);
    let failed = Outcome::Declined(Decline {
        code: Some("timeout".into()),
        message: "the terminal did not answer in time; the transaction was cancelled".into(),
        provider_reference: None,
        receipt: None,
    });
    let outcome = watch_after_cancel(
        &client,
        request_id,
        ms(ctx, "background-interval-ms")?,
        ms(ctx, "background-window-ms")?,
        failed,
    )?;
    if let Outcome::Declined(d) = &outcome
        && d.code.as_deref() == Some("timeout")
        && poll(&client, request_id)?.is_none()
    {
        // Still nothing: vetpay cannot know yet. The host keeps asking `status`,
        // which voids an approval that arrives later.
        return Ok(Outcome::Unknown(
            "no result from emergepay after the cancel; it is being watched".into(),
        ));
    }
    Ok(outcome)
}

/// A synchronous tokenized call, keyed by the request id.
fn tokenized(
    ctx: &Context,
    path: &str,
    unique_trans_id: &str,
    request_id: &str,
    amount: &Money,
    reference: Option<&str>,
) -> Result<Outcome, PluginError> {
    let client = Client::from(ctx)?;
    progress::report(Stage::Processing, None);
    let mut data = json!({
        "uniqueTransId": unique_trans_id,
        "externalTransactionId": request_id,
        "amount": money::to_decimal_string(amount)?,
    });
    if let Some(reference) = reference {
        data["transactionReference"] = json!(reference);
    }
    let request = http::Request::put(client.org_url(&format!("transactions/{path}")))
        .json(&transaction_data(data))
        .header("idempotency-key", request_id);
    let response = client.send(request)?;
    if !response.is_success() {
        return Err(unexpected(&response));
    }
    // Nothing aborts a synchronous call.
    outcome(&parse(&response)?, false)
}

fn transaction_type(kind: TransactionKind) -> &'static str {
    match kind {
        TransactionKind::Purchase | TransactionKind::Deposit => "CreditSale",
        TransactionKind::Refund => "CreditReturn",
    }
}

impl Plugin for Gravity {
    fn process(ctx: &Context, request: PaymentRequest) -> Result<Outcome, PluginError> {
        let amount = money::to_decimal_string(&request.amount)?;
        run_on_terminal(
            ctx,
            &request.request_id,
            transaction_type(request.kind),
            &amount,
            &request.terminal_id,
            request.description.as_deref(),
        )
    }

    fn abort(ctx: &Context, request: AbortRequest) -> Result<(), PluginError> {
        let client = Client::from(ctx)?;
        // The flag first: a `process` that has not stored its token yet sees it.
        cache::set(&abort_key(&request.request_id), b"1", HOUR);
        cancel(&client, &request.request_id);
        Ok(())
    }

    /// Also carries out `process`'s duty when a crash cut it short: a start
    /// left pending past the polling window is cancelled, then watched for the
    /// background window, and a late approval is voided. Only after that watch
    /// is "no result" final (`not-found`).
    fn status(ctx: &Context, query: StatusQuery) -> Result<Outcome, PluginError> {
        let client = Client::from(ctx)?;
        let id = &query.request_id;
        let cancelled = Cancelled::of(id);
        let aborted = cache::get(&abort_key(id)).is_some();
        if let Some(result) = retrieve(&client, id)? {
            if cancelled.is_some() && result.approved() {
                // vetpay cancelled this request: an approval now is a late one.
                let instead = if aborted {
                    Outcome::AbortedByClinic(Stopped {
                        message: "aborted by the clinic; a late approval was voided".into(),
                        provider_reference: result.unique_trans_id.clone(),
                    })
                } else {
                    Outcome::Declined(Decline {
                        code: Some("timeout".into()),
                        message: "cancelled for want of an answer; a late approval was voided"
                            .into(),
                        provider_reference: result.unique_trans_id.clone(),
                        receipt: None,
                    })
                };
                return void_if_approved(&client, id, &result, instead);
            }
            return outcome(&result, aborted);
        }
        let Some(sent) = query.sent_at_ms else {
            return Ok(Outcome::InProgress(
                "emergepay has no result for this request yet".into(),
            ));
        };
        let now = vetpay_sdk::wall_clock_ms();
        let Some(cancelled) = cancelled else {
            if now.saturating_sub(sent) < ms(ctx, "poll-window-ms")?.as_millis() as u64 {
                return Ok(Outcome::InProgress(
                    "no result yet; the card holder still has time".into(),
                ));
            }
            let confirmed = cancel(&client, id);
            return Ok(Outcome::InProgress(format!(
                "no result within the polling window: the start was cancelled{}; \
                 watching for a late approval",
                if confirmed { "" } else { " (not confirmed)" }
            )));
        };
        let watch = ms(ctx, "background-window-ms")?.as_millis() as u64;
        if now.saturating_sub(cancelled.at_ms) < watch {
            return Ok(Outcome::InProgress(
                "the start was cancelled; watching for a late approval".into(),
            ));
        }
        if !cancelled.confirmed {
            return Ok(Outcome::Unknown(
                "no result, and emergepay never confirmed the cancel: check its records".into(),
            ));
        }
        let message = "the start was cancelled and no result came in the watch after it";
        Ok(if aborted {
            Outcome::AbortedByClinic(Stopped {
                message: message.into(),
                provider_reference: None,
            })
        } else {
            Outcome::NotFound(message.into())
        })
    }

    fn charge_token(ctx: &Context, request: TokenCharge) -> Result<Outcome, PluginError> {
        tokenized(
            ctx,
            "tokenizedPayment",
            &request.card_token,
            &request.request_id,
            &request.amount,
            request.description.as_deref(),
        )
    }

    fn refund_token(ctx: &Context, request: TokenRefund) -> Result<Outcome, PluginError> {
        // The card of the earlier transaction: its uniqueTransId is the token.
        let token = request
            .card_token
            .as_deref()
            .unwrap_or(&request.original_reference);
        tokenized(
            ctx,
            "tokenizedRefund",
            token,
            &request.request_id,
            &request.amount,
            request.description.as_deref(),
        )
    }

    fn save_card(ctx: &Context, request: SaveCardRequest) -> Result<Outcome, PluginError> {
        let outcome = run_on_terminal(
            ctx,
            &request.request_id,
            "CreditSaveCard",
            "0.00",
            &request.terminal_id,
            None,
        )?;
        // Saving a card moves no money, whatever amount emergepay echoes.
        Ok(match outcome {
            Outcome::Approved(mut a) => {
                a.amount = Money::new(0, &request.currency);
                Outcome::Approved(a)
            }
            other => other,
        })
    }
}

vetpay_sdk::export_plugin!(Gravity);
