//! Saved cards: a card saved on the terminal comes back as a token, and the
//! token is charged or refunded through Polderpay's charges API, at once.
//! Money-moving requests follow the rule of the terminal: an answer lost after
//! sending is looked up by the request's reference, never called a failure.

use vetpay_sdk::prelude::*;

use crate::provider::{self, Charge};
use crate::{Api, failed, on_terminal};

/// `save-card`: a payment of kind `save-card` (amount 0) on the terminal; its
/// approval carries the token.
pub fn save(ctx: &Context, request: SaveCardRequest) -> Result<Outcome, PluginError> {
    let body = serde_json::json!({
        "reference": request.request_id,
        "kind": "save-card",
        "amount": 0,
        "currency": request.currency,
    });
    on_terminal(ctx, &request.request_id, &request.terminal_id, &body)
}

pub fn charge(ctx: &Context, request: TokenCharge) -> Result<Outcome, PluginError> {
    let body = serde_json::json!({
        "reference": request.request_id,
        "kind": "charge",
        "token": request.card_token,
        "amount": request.amount.minor_units,
        "currency": request.amount.currency,
    });
    settle(&Api::from(ctx)?, &request.request_id, &body)
}

pub fn refund(ctx: &Context, request: TokenRefund) -> Result<Outcome, PluginError> {
    let body = serde_json::json!({
        "reference": request.request_id,
        "kind": "refund",
        "token": request.card_token,
        "original": request.original_reference,
        "amount": request.amount.minor_units,
        "currency": request.amount.currency,
    });
    settle(&Api::from(ctx)?, &request.request_id, &body)
}

fn settle(api: &Api, reference: &str, body: &serde_json::Value) -> Result<Outcome, PluginError> {
    progress::report(Stage::Processing, None);
    match api.moving::<Charge>("/v1/charges", body)? {
        Some(charge) => Ok(provider::charged(charge)),
        // It may have been processed: the provider's books decide.
        None => Ok(find(api, reference)?.unwrap_or_else(|| {
            Outcome::Unknown(
                "Polderpay did not answer the charge and has no charge under its reference".into(),
            )
        })),
    }
}

/// What became of the charge made under `reference`, if there is one.
pub fn find(api: &Api, reference: &str) -> Result<Option<Outcome>, PluginError> {
    let response = api.get(&format!("/v1/charges?reference={reference}"))?;
    match response.status {
        200 => {
            let charge: Charge = response.json()?;
            // Another request's charge would be booked as this one's.
            if charge.reference != reference {
                return Err(PluginError::other(format!(
                    "Polderpay answered a lookup of {reference} with charge {} of another reference",
                    charge.id
                )));
            }
            Ok(Some(provider::charged(charge)))
        }
        404 => Ok(None),
        _ => Err(failed(&response, "a charge lookup")),
    }
}

#[cfg(test)]
mod tests {
    use vetpay_sdk::prelude::*;
    use vetpay_sdk::testing::{FakeHost, context, loopback};

    use crate::PolderPay;

    // This project's simulator (a group of its own: its name is yours).
    use polder_pay_simulator::Simulator;

    fn simulated() -> (FakeHost, Context, Simulator) {
        let simulator = Simulator::start(0).expect("a free loopback port");
        let host = FakeHost::install();
        let forward = loopback();
        host.handle(move |sent| forward(&crate::tests::keyed(sent)));
        let ctx = context("NL", &[("base-url", &simulator.url())]);
        (host, ctx, simulator)
    }

    fn saved_card(ctx: &Context) -> String {
        let saved = PolderPay::save_card(
            ctx,
            SaveCardRequest {
                request_id: "r-save".into(),
                terminal_id: "T-1".into(),
                currency: "EUR".into(),
            },
        )
        .unwrap();
        match saved {
            Outcome::Approved(a) => a.card_token.expect("a saved card has a token"),
            other => panic!("{other:?}"),
        }
    }

    fn charge(token: &str, request_id: &str, minor_units: i64) -> TokenCharge {
        TokenCharge {
            request_id: request_id.into(),
            card_token: token.into(),
            amount: Money::new(minor_units, "EUR"),
            description: None,
        }
    }

    #[test]
    fn a_card_saved_on_the_terminal_is_charged_and_refunded_by_its_token() {
        let (_host, ctx, simulator) = simulated();
        let token = saved_card(&ctx);
        let charged = PolderPay::charge_token(&ctx, charge(&token, "r-charge", 4500)).unwrap();
        let Outcome::Approved(approval) = charged else {
            panic!("{charged:?}");
        };
        assert_eq!(approval.amount.minor_units, 4500);
        let refunded = PolderPay::refund_token(
            &ctx,
            TokenRefund {
                request_id: "r-refund".into(),
                original_reference: approval.provider_reference,
                card_token: Some(token),
                amount: Money::new(1500, "EUR"),
                description: None,
            },
        )
        .unwrap();
        assert!(matches!(refunded, Outcome::Approved(_)), "{refunded:?}");
        let kinds: Vec<String> = simulator
            .ledger()
            .iter()
            .map(|e| e["kind"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(kinds, ["save-card", "token-charge", "token-refund"]);
    }

    #[test]
    fn a_declined_charge_carries_its_code_and_an_unknown_token_is_rejected() {
        let (_host, ctx, simulator) = simulated();
        let token = saved_card(&ctx);
        simulator.decline_next_charge("51");
        match PolderPay::charge_token(&ctx, charge(&token, "r-decline", 100)).unwrap() {
            Outcome::Declined(d) => assert_eq!(d.code.as_deref(), Some("51")),
            other => panic!("{other:?}"),
        }
        let refused = PolderPay::charge_token(&ctx, charge("tok_nope", "r-nope", 100)).unwrap_err();
        assert!(
            matches!(&refused, PluginError::Rejected(r) if r.code.as_deref() == Some("unknown-token")),
            "{refused:?}"
        );
    }

    #[test]
    fn a_charge_whose_answer_is_lost_is_found_by_status_and_made_once() {
        let (_host, ctx, simulator) = simulated();
        let token = saved_card(&ctx);
        simulator.lose_next();
        assert!(matches!(
            PolderPay::charge_token(&ctx, charge(&token, "r-lost", 800)).unwrap(),
            Outcome::Approved(_)
        ));
        simulator.fail_next(503);
        assert!(matches!(
            PolderPay::charge_token(&ctx, charge(&token, "r-503", 800)).unwrap(),
            Outcome::Approved(_)
        ));
        // Sent again by the host under the same id: the same charge.
        assert!(matches!(
            PolderPay::charge_token(&ctx, charge(&token, "r-503", 800)).unwrap(),
            Outcome::Approved(_)
        ));
        assert_eq!(simulator.ledger().len(), 3, "one save and two charges");
        let status = PolderPay::status(
            &ctx,
            StatusQuery {
                request_id: "r-lost".into(),
                terminal_id: None,
                kind: TransactionKind::Purchase,
                amount: Money::new(800, "EUR"),
                sent_at_ms: None,
                previous_request_id: None,
                superseded: false,
            },
        )
        .unwrap();
        assert!(matches!(status, Outcome::Approved(_)), "{status:?}");
    }
}
