//! The example of docs/PLUGIN-CONTRACT.md, "Testing a plugin natively", verbatim.
#![cfg(feature = "testing")]

use std::time::Duration;
use vetpay_sdk::prelude::*;
use vetpay_sdk::testing::{FakeHost, Reply, context};

struct Acme;

impl Plugin for Acme {
    fn charge_token(ctx: &Context, req: TokenCharge) -> Result<Outcome, PluginError> {
        let base = ctx.require("base-url")?;
        let url = format!("{base}/v1/charges/{}", req.request_id);
        loop {
            let reply = http::Request::get(&url)
                .bearer(ctx.secret("api-key"))
                .send()?;
            match reply.status {
                404 => vetpay_sdk::sleep(Duration::from_secs(3)), // not there yet
                200 => return Ok(Outcome::Unknown("mapped in the real plugin".into())),
                _ => return Err(PluginError::other(format!("HTTP {}", reply.status))),
            }
        }
    }
}

#[test]
fn polls_every_three_seconds_until_the_result() {
    let host = FakeHost::install();
    let url = "https://api.acme.example/v1/charges/req-1";
    host.reply(http::Method::Get, url, Reply::status(404))
        .reply(
            http::Method::Get,
            url,
            Reply::json(200, &serde_json::json!({ "status": "ok" })),
        );
    let ctx = context(
        "DK",
        &[("base-url", "https://api.acme.example"), ("api-key", "")],
    );
    let request = TokenCharge {
        request_id: "req-1".into(),
        card_token: "tok".into(),
        amount: Money::new(1000, "DKK"),
        description: None,
    };
    let before = host.now_ms();
    assert!(Acme::charge_token(&ctx, request).is_ok());
    assert_eq!(host.now_ms() - before, 3_000); // virtual time: the test takes no time
    assert_eq!(
        host.sent()[0].header("authorization"),
        Some("Bearer {{secret:api-key}}")
    );
}
