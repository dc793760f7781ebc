//! Acme Pay: a fictional card-on-file provider with a small JSON API. This is
//! the smallest complete plugin: read it first when writing your own.
//!
//! - `POST {base}/v1/charges` with `Idempotency-Key` charges a saved card.
//! - `GET {base}/v1/charges/{reference}` tells what became of a charge.

use serde::Deserialize;
use vetpay_sdk::prelude::*;

struct Acme;

/// Acme's answer about one charge.
#[derive(Deserialize)]
struct Charge {
    id: String,
    status: String,
    amount: i64,
    currency: String,
    last4: Option<String>,
    brand: Option<String>,
    decline_code: Option<String>,
}

fn base(ctx: &Context) -> Result<&str, PluginError> {
    Ok(ctx.require("base-url")?.trim_end_matches('/'))
}

/// Maps Acme's charge to the contract's outcome. Every status is named: a new
/// one must be mapped on purpose, never guessed.
fn outcome(charge: Charge) -> Outcome {
    match charge.status.as_str() {
        "approved" => Outcome::Approved(Approval {
            provider_reference: charge.id,
            amount: Money::new(charge.amount, &charge.currency),
            authorization_code: None,
            card: charge.last4.map(|l4| CardDetails {
                masked_pan: format!("************{l4}"),
                brand: charge.brand,
                expiry: None,
                entry_method: Some("card-on-file".into()),
            }),
            card_token: None,
            receipt: None,
        }),
        "declined" => Outcome::Declined(Decline {
            code: charge.decline_code,
            message: "declined by the card issuer".into(),
            provider_reference: Some(charge.id),
            receipt: None,
        }),
        "pending" => Outcome::InProgress("Acme is still processing".into()),
        other => Outcome::Unknown(format!("Acme answered status '{other}'")),
    }
}

/// Longer than any charge can run: the host's `charge-token` deadline is 45 s.
const CHARGE_SETTLED_MS: u64 = 60_000;

/// What an HTTP status other than success means.
fn failure(response: &http::Response) -> PluginError {
    match response.status {
        401 | 403 => PluginError::configuration("api-key", "Acme refused the API key"),
        // A 4xx other than auth means Acme received the request and refused
        // it as such: nothing was charged, but it did arrive (not `not-sent`).
        400..=499 => PluginError::rejected(
            Some(response.status.to_string()),
            format!("Acme refused the request: {}", response.text()),
        ),
        _ => PluginError::other(format!("Acme answered HTTP {}", response.status)),
    }
}

impl Plugin for Acme {
    fn charge_token(ctx: &Context, request: TokenCharge) -> Result<Outcome, PluginError> {
        progress::report(Stage::Processing, None);
        let response = http::Request::post(format!("{}/v1/charges", base(ctx)?))
            .bearer(ctx.secret("api-key"))
            .header("Idempotency-Key", &request.request_id)
            .json(&serde_json::json!({
                "token": request.card_token,
                "amount": request.amount.minor_units,
                "currency": request.amount.currency,
                "reference": request.request_id,
            }))
            .send()?;
        if !response.is_success() {
            return Err(failure(&response));
        }
        Ok(outcome(response.json()?))
    }

    fn status(ctx: &Context, query: StatusQuery) -> Result<Outcome, PluginError> {
        let response =
            http::Request::get(format!("{}/v1/charges/{}", base(ctx)?, query.request_id))
                .bearer(ctx.secret("api-key"))
                .send()?;
        match response.status {
            200 => Ok(outcome(response.json()?)),
            // A charge answers within the host's 45 s deadline: once that has
            // passed since it was sent, Acme's "no such charge" is final.
            404 if query.sent_at_ms.is_some_and(|sent| {
                vetpay_sdk::wall_clock_ms().saturating_sub(sent) > CHARGE_SETTLED_MS
            }) =>
            {
                Ok(Outcome::NotFound(
                    "Acme has no charge with this reference".into(),
                ))
            }
            404 => Ok(Outcome::Unknown(
                "Acme has no charge with this reference yet".into(),
            )),
            _ => Err(failure(&response)),
        }
    }

    fn list_terminals(_ctx: &Context) -> Result<Vec<TerminalInfo>, PluginError> {
        // Acme only charges saved cards: there are no terminals.
        Ok(Vec::new())
    }
}

vetpay_sdk::export_plugin!(Acme);
