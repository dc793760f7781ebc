//! A vetpay plugin for Polderpay Cloud, a fictional cloud-terminal provider in
//! the Netherlands and Belgium. Written by `vetpay plugin new` as a skeleton:
//! replace the provider's API with yours, keep the shape.
//!
//! - `process` starts the payment on the terminal, hands the provider's id to
//!   `abort` through the cache, and polls with the host's timer until the card
//!   holder is done, reporting each stage to the clinic's dialog.
//! - `abort` runs in another instance while `process` polls: it leaves a flag
//!   in the cache (for a `process` that has not got the provider's id yet) and
//!   stops the payment by the id `process` left there.
//! - `status` looks a request up by its reference after a crash or a lost
//!   answer; it never starts anything.
//! - `list-terminals` lists the account's terminals and which models work.
//~ card-on-file
//! - `save-card` saves a card on the terminal as `process` runs a payment;
//!   `charge-token` and `refund-token` charge and refund its token (`cards`).
//~ end

//~ card-on-file
mod cards;
//~ end
mod provider;
#[cfg(test)]
mod tests;

use std::time::Duration;

use serde::de::DeserializeOwned;
use vetpay_sdk::prelude::*;

use provider::{Payment, Problem, Step, Terminals};

struct PolderPay;

const HOUR: Duration = Duration::from_secs(3600);

/// The provider's id of the payment started for a request, left by `process`
/// for `abort` (which runs in another instance: plugins keep no state).
fn payment_key(request_id: &str) -> String {
    format!("payment:{request_id}")
}

/// The clinic asked to abort this request.
fn abort_key(request_id: &str) -> String {
    format!("abort:{request_id}")
}

/// The settings of one call.
struct Api {
    base: String,
    key: String,
    poll: Duration,
    timeout_ms: u64,
}

impl Api {
    fn from(ctx: &Context) -> Result<Self, PluginError> {
        let whole = |key: &str, default: u64| match ctx.setting(key) {
            None => Ok(default),
            Some(_) => ctx.require_u64(key),
        };
        Ok(Self {
            base: ctx.require("base-url")?.trim_end_matches('/').to_owned(),
            // A placeholder: the host puts the secret in as the request leaves.
            key: ctx.secret("api-key"),
            poll: Duration::from_millis(whole("poll-interval-ms", 500)?),
            timeout_ms: whole("transaction-timeout-s", 120)?.saturating_mul(1000),
        })
    }

    fn get(&self, path: &str) -> Result<http::Response, http::Error> {
        http::Request::get(format!("{}{path}", self.base))
            .bearer(&self.key)
            .send()
    }

    fn post(&self, path: &str, body: &serde_json::Value) -> Result<http::Response, http::Error> {
        http::Request::post(format!("{}{path}", self.base))
            .bearer(&self.key)
            .json(body)
            .send()
    }

    /// A request that moves money (a payment started on a terminal, a charge).
    /// `Ok(None)`: it may or may not have been processed (a 5xx, or the answer
    /// was lost after sending); look it up by its reference.
    fn moving<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<Option<T>, PluginError> {
        match self.post(path, body) {
            Ok(response) if response.is_success() => Ok(Some(response.json()?)),
            Ok(response) => match provider::refusal(response.status, &problem(&response)) {
                Some(refused) => Err(refused),
                None => {
                    log::warn(format!(
                        "Polderpay answered HTTP {} to {path}",
                        response.status
                    ));
                    Ok(None)
                }
            },
            // Never left the host: nothing moved, safe to try again.
            Err(
                e @ (http::Error::NotSent(_) | http::Error::Denied(_) | http::Error::Invalid(_)),
            ) => Err(e.into()),
            Err(e) => {
                log::warn(format!("the answer to {path} was lost: {e:?}"));
                Ok(None)
            }
        }
    }

    /// The payment with this reference, if the provider has one.
    fn find(&self, reference: &str) -> Result<Option<Payment>, PluginError> {
        let response = self.get(&format!("/v1/payments?reference={reference}"))?;
        match response.status {
            200 => {
                let payment: Payment = response.json()?;
                // Another request's payment would be booked as this one's.
                if payment.reference != reference {
                    return Err(PluginError::other(format!(
                        "Polderpay answered a lookup of {reference} with payment {} of another reference",
                        payment.id
                    )));
                }
                Ok(Some(payment))
            }
            404 => Ok(None),
            _ => Err(failed(&response, "a lookup")),
        }
    }

    fn payment(&self, id: &str) -> Result<Payment, PluginError> {
        let response = self.get(&format!("/v1/payments/{id}"))?;
        if !response.is_success() {
            return Err(failed(&response, "a poll"));
        }
        response.json()
    }

    /// Asks the provider to stop the payment; a payment already final is
    /// left as it is (`process` reports what it became).
    fn stop(&self, id: &str) -> Result<(), PluginError> {
        let response = self.post(&format!("/v1/payments/{id}/abort"), &serde_json::json!({}))?;
        match response.status {
            200..=299 => Ok(()),
            409 if problem(&response).error == "already-final" => Ok(()),
            _ => Err(failed(&response, "the abort")),
        }
    }
}

fn problem(response: &http::Response) -> Problem {
    response.json().unwrap_or_default()
}

/// A refusal by its code, or `other` (moved money unknown) for anything else.
fn failed(response: &http::Response, what: &str) -> PluginError {
    provider::refusal(response.status, &problem(response)).unwrap_or_else(|| {
        PluginError::other(format!(
            "Polderpay answered HTTP {} to {what}",
            response.status
        ))
    })
}

/// Starts a payment on the terminal and follows it to its end: the shape of
/// every card-present call.
fn on_terminal(
    ctx: &Context,
    request_id: &str,
    terminal_id: &str,
    body: &serde_json::Value,
) -> Result<Outcome, PluginError> {
    let api = Api::from(ctx)?;
    let started_ms = vetpay_sdk::wall_clock_ms();
    progress::report(Stage::Connecting, None);
    let path = format!("/v1/terminals/{terminal_id}/payments");
    let mut payment = match api.moving::<Payment>(&path, body)? {
        Some(payment) => payment,
        // The start may have been processed: the provider's books decide.
        None => match api.find(request_id)? {
            Some(payment) => payment,
            None => {
                return Ok(Outcome::Unknown(
                    "Polderpay did not answer the start and has no payment under its reference"
                        .into(),
                ));
            }
        },
    };
    // The hand-off: `abort` stops the payment by this id.
    cache::set(&payment_key(request_id), &payment.id, HOUR);
    // An abort that came before the id was known left only its flag.
    if cache::get(&abort_key(request_id)).is_some() {
        api.stop(&payment.id)?;
    }
    loop {
        match provider::step(payment.clone()) {
            Step::Done(outcome) => return Ok(*outcome),
            Step::Waiting(stage) => progress::report(stage, None),
        }
        if vetpay_sdk::wall_clock_ms().saturating_sub(started_ms) > api.timeout_ms {
            // Still running at the terminal: recovery asks `status` later.
            return Ok(Outcome::InProgress(format!(
                "payment {} is still at the terminal",
                payment.id
            )));
        }
        vetpay_sdk::sleep(api.poll);
        payment = match api.payment(&payment.id) {
            Ok(p) => p,
            // A poll that failed moved no money: ask again.
            Err(PluginError::Other(why) | PluginError::NotSent(why)) => {
                log::warn(format!("polling payment {}: {why}", payment.id));
                continue;
            }
            Err(e) => return Err(e),
        };
    }
}

impl Plugin for PolderPay {
    fn process(ctx: &Context, request: PaymentRequest) -> Result<Outcome, PluginError> {
        let kind = match request.kind {
            TransactionKind::Purchase | TransactionKind::Deposit => "purchase",
            TransactionKind::Refund => "refund",
        };
        let body = serde_json::json!({
            "reference": request.request_id,
            "kind": kind,
            "amount": request.amount.minor_units,
            "currency": request.amount.currency,
            "original": request.original_reference,
        });
        on_terminal(ctx, &request.request_id, &request.terminal_id, &body)
    }

    fn abort(ctx: &Context, request: AbortRequest) -> Result<(), PluginError> {
        let api = Api::from(ctx)?;
        // The flag first: a `process` that has not stored the id yet sees it.
        cache::set(&abort_key(&request.request_id), b"1", HOUR);
        let id = match cache::get_string(&payment_key(&request.request_id)) {
            Some(id) => Some(id),
            // Another host's `process`, or a cache that forgot: ask the provider.
            None => api.find(&request.request_id)?.map(|p| p.id),
        };
        match id {
            Some(id) => api.stop(&id),
            // Not started yet: `process` stops it once it has the id.
            None => Ok(()),
        }
    }

    fn status(ctx: &Context, query: StatusQuery) -> Result<Outcome, PluginError> {
        let api = Api::from(ctx)?;
        let found = api
            .find(&query.request_id)?
            .map(|payment| match provider::step(payment) {
                Step::Done(outcome) => *outcome,
                Step::Waiting(_) => Outcome::InProgress("still at the terminal".into()),
            });
        //~ card-on-file
        // A saved card's charge is booked apart from the terminal's payments.
        let found = match found {
            Some(outcome) => Some(outcome),
            None => cards::find(&api, &query.request_id)?,
        };
        //~ end
        match found {
            Some(outcome) => Ok(outcome),
            // A start is answered at once: past the transaction timeout since
            // it was sent, a request the provider does not have never arrived.
            None if query.sent_at_ms.is_some_and(|sent| {
                vetpay_sdk::wall_clock_ms().saturating_sub(sent) > api.timeout_ms
            }) =>
            {
                Ok(Outcome::NotFound(
                    "Polderpay has nothing under this reference".into(),
                ))
            }
            None => Ok(Outcome::Unknown(
                "Polderpay has nothing under this reference yet".into(),
            )),
        }
    }

    fn list_terminals(ctx: &Context) -> Result<Vec<TerminalInfo>, PluginError> {
        let api = Api::from(ctx)?;
        let response = api.get("/v1/terminals")?;
        if !response.is_success() {
            return Err(failed(&response, "the terminal list"));
        }
        let list: Terminals = response.json()?;
        Ok(list.terminals.into_iter().map(TerminalInfo::from).collect())
    }
    //~ card-on-file

    fn save_card(ctx: &Context, request: SaveCardRequest) -> Result<Outcome, PluginError> {
        cards::save(ctx, request)
    }

    fn charge_token(ctx: &Context, request: TokenCharge) -> Result<Outcome, PluginError> {
        cards::charge(ctx, request)
    }

    fn refund_token(ctx: &Context, request: TokenRefund) -> Result<Outcome, PluginError> {
        cards::refund(ctx, request)
    }
    //~ end
}

vetpay_sdk::export_plugin!(PolderPay);
