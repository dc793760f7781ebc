//! What the plugin declares and what it lets out: each declared capability
//! answers, the others say not-supported, and no secret value appears in the
//! host log or in any answer.

use std::time::Duration;

use crate::plugin::types::{
    AbortRequest, PluginError, SaveCardRequest, StatusQuery, TokenCharge, TokenRefund,
    TransactionKind,
};
use crate::plugin::{CallError, Capability};

use super::{Check, control, money, verdict};
use crate::conform::context::Suite;
use crate::conform::control::Action;
use crate::conform::report::Verdict;

pub async fn capabilities(suite: &Suite) -> Verdict {
    verdict(capabilities_(suite).await)
}

/// How an export answered a harmless call.
enum Answer {
    NotSupported,
    Answered,
    /// The host refused the request before calling (market, currency, input):
    /// the run's configuration, not the plugin, is at fault.
    NotAsked(String),
}

fn answer<T>(answer: &Result<T, CallError>) -> Answer {
    match answer {
        Err(CallError::NotSupported { .. })
        | Err(CallError::Plugin {
            error: PluginError::NotSupported(_),
            ..
        }) => Answer::NotSupported,
        Err(
            e @ (CallError::MarketNotServed { .. }
            | CallError::CurrencyNotServed { .. }
            | CallError::InvalidRequest(_)),
        ) => Answer::NotAsked(e.to_string()),
        _ => Answer::Answered,
    }
}

async fn capabilities_(suite: &Suite) -> Result<String, Verdict> {
    let manifest = suite.plugin.manifest();
    let mut wrong = Vec::new();
    let mut answered = Vec::new();
    let mut unsupported = Vec::new();
    for capability in Capability::ALL {
        let Some(got) = call(suite, capability).await? else {
            continue;
        };
        match (manifest.supports(capability), got) {
            (_, Answer::NotAsked(why)) => {
                wrong.push(format!("{capability} could not be asked: {why}"))
            }
            (true, Answer::NotSupported) => wrong.push(format!(
                "{capability} is declared but answers not-supported"
            )),
            (false, Answer::Answered) => {
                wrong.push(format!("{capability} is not declared but answers"))
            }
            (true, Answer::Answered) => answered.push(capability.export_name()),
            (false, Answer::NotSupported) => unsupported.push(capability.export_name()),
        }
    }
    if wrong.is_empty() {
        let unsupported = if unsupported.is_empty() {
            "(none)".to_owned()
        } else {
            unsupported.join(", ")
        };
        Ok(format!(
            "declared and answering: {}; not declared, not-supported: {unsupported}",
            answered.join(", ")
        ))
    } else {
        Err(Verdict::Failed(wrong.join("; ")))
    }
}

/// Calls `capability` harmlessly (`None` for `process`, which the payment
/// checks cover).
async fn call(suite: &Suite, capability: Capability) -> Result<Option<Answer>, Verdict> {
    let (plugin, env) = (&suite.plugin, &suite.env);
    let id = suite.request_id(Check::Capabilities.name(), capability as u32);
    let unknown = |s: &str| format!("conform-unknown-{s}");
    let got = match capability {
        Capability::Process => return Ok(None),
        Capability::Abort => {
            let r = plugin
                .abort(
                    env,
                    AbortRequest {
                        request_id: id,
                        terminal_id: suite.terminal.clone(),
                    },
                )
                .await;
            suite.keep(&r);
            answer(&r)
        }
        Capability::Status => {
            let query = StatusQuery {
                request_id: id,
                terminal_id: Some(suite.terminal.clone()),
                kind: TransactionKind::Purchase,
                amount: money(suite),
                sent_at_ms: None,
                previous_request_id: None,
                superseded: false,
            };
            let r = plugin.status(env, query).await;
            suite.keep(&r);
            answer(&r)
        }
        Capability::ChargeToken => {
            let charge = TokenCharge {
                request_id: id,
                card_token: unknown("token"),
                amount: money(suite),
                description: None,
            };
            let r = plugin.charge_token(env, charge).await;
            suite.keep(&r);
            answer(&r)
        }
        Capability::RefundToken => {
            let refund = TokenRefund {
                request_id: id,
                original_reference: unknown("reference"),
                card_token: None,
                amount: money(suite),
                description: None,
            };
            let r = plugin.refund_token(env, refund).await;
            suite.keep(&r);
            answer(&r)
        }
        Capability::SaveCard => {
            control(
                suite
                    .control
                    .next(&suite.terminal, Action::Approve, None, Duration::ZERO)
                    .await,
            )?;
            let save = SaveCardRequest {
                request_id: id,
                terminal_id: suite.terminal.clone(),
                currency: suite.currency.clone(),
            };
            let r = plugin.save_card(env, save).await;
            suite.keep(&r);
            answer(&r)
        }
        Capability::ListTerminals => {
            let r = plugin.list_terminals(env).await;
            suite.keep(&r);
            answer(&r)
        }
        Capability::Reconcile => {
            let r = plugin.reconcile(env, &suite.terminal).await;
            suite.keep(&r);
            answer(&r)
        }
    };
    Ok(Some(got))
}

pub fn no_secret_leak(suite: &Suite) -> Verdict {
    let secrets = suite.secret_values();
    if secrets.is_empty() {
        return Verdict::Skipped("no setting the manifest marks secret was given".into());
    }
    let lines = suite.capture.lines();
    let answers = suite.answers.lock().map(|a| a.clone()).unwrap_or_default();
    let found = leaks(&secrets, &lines, &answers);
    if found.is_empty() {
        Verdict::Passed(format!(
            "{} secret(s) absent from {} log lines and {} answers",
            secrets.len(),
            lines.len(),
            answers.len()
        ))
    } else {
        Verdict::Failed(found.join("; "))
    }
}

/// Where each secret value shows, named by its setting (never by the value).
fn leaks(secrets: &[(String, String)], lines: &[String], answers: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    for (key, value) in secrets {
        // Very short values match by chance; the runtime's scrubber skips them too.
        if value.len() < 4 {
            continue;
        }
        if let Some(line) = lines.iter().find(|l| l.contains(value.as_str())) {
            let target = line.split(' ').next().unwrap_or_default();
            found.push(format!("{key} in a log line of {target}"));
        }
        if answers.iter().any(|a| a.contains(value.as_str())) {
            found.push(format!("{key} in an answer"));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::leaks;

    fn texts(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn a_secret_in_a_log_line_or_an_answer_is_named_by_its_setting() {
        let secrets = vec![("auth-token".to_owned(), "T0ken-9c1f".to_owned())];
        let lines = texts(&["vetpay::plugin plugin=gravity sent T0ken-9c1f"]);
        let answers = texts(&["Ok(Approved { receipt: \"T0ken-9c1f\" })"]);
        let found = leaks(&secrets, &lines, &answers);
        assert_eq!(
            found,
            [
                "auth-token in a log line of vetpay::plugin",
                "auth-token in an answer"
            ]
        );
        assert!(found.iter().all(|f| !f.contains("T0ken")));
    }

    #[test]
    fn placeholders_and_other_text_are_no_leak() {
        let secrets = vec![("auth-token".to_owned(), "T0ken-9c1f".to_owned())];
        let lines = texts(&["url=http://sim/{{secret:auth-token}}/start"]);
        assert!(leaks(&secrets, &lines, &[]).is_empty());
    }
}
