//! When something goes wrong on the way: a request sent twice, a lost answer,
//! a provider that cannot be reached, a server error, a card holder who never
//! answers.

use std::time::Duration;

use crate::plugin::types::{Outcome, StatusQuery, TransactionKind};
use crate::plugin::{Capability, Deadlines, Disposition, Runtime};

use super::{
    AMOUNT, Check, control, money, outcome_name, process, request, requires, shown, verdict,
};
use crate::conform::context::Suite;
use crate::conform::control::Action;
use crate::conform::report::Verdict;

pub async fn same_request_id_once(suite: &Suite) -> Verdict {
    verdict(same_request_id_once_(suite).await)
}

async fn same_request_id_once_(suite: &Suite) -> Result<String, Verdict> {
    requires(suite, &[Capability::Process])?;
    let id = suite.request_id(Check::SameRequestIdOnce.name(), 1);
    let first = process(suite, request(suite, id.clone(), TransactionKind::Purchase)).await;
    let second = process(suite, request(suite, id.clone(), TransactionKind::Purchase)).await;
    let ledger = control(suite.control.ledger().await)?;
    let entries = ledger.iter().filter(|e| e.request_id == id).count();
    let answers = format!("answers {} then {}", shown(&first), shown(&second));
    match entries {
        1 => Ok(format!("one ledger entry; {answers}")),
        n => Err(Verdict::Failed(format!(
            "{n} ledger entries for request id {id}; {answers}"
        ))),
    }
}

pub async fn status_finds_approved(suite: &Suite) -> Verdict {
    verdict(status_finds_approved_(suite).await)
}

async fn status_finds_approved_(suite: &Suite) -> Result<String, Verdict> {
    requires(suite, &[Capability::Process, Capability::Status])?;
    let id = suite.request_id(Check::StatusFindsApproved.name(), 1);
    let sent_at = jiff::Timestamp::now().as_millisecond() as u64;
    control(suite.control.lose_next().await)?;
    let answer = process(suite, request(suite, id.clone(), TransactionKind::Purchase)).await;
    // The plugin may have found the result itself; it must never call it a failure.
    if let Ok(o @ (Outcome::Declined(_) | Outcome::CancelledByClient(_) | Outcome::NotFound(_))) =
        &answer
    {
        return Err(Verdict::Failed(format!(
            "a purchase whose answer was lost was reported {}",
            outcome_name(o)
        )));
    }
    // The host lost the answer: it only knows what it wrote before sending.
    let query = StatusQuery {
        request_id: id,
        terminal_id: Some(suite.terminal.clone()),
        kind: TransactionKind::Purchase,
        amount: money(suite),
        sent_at_ms: Some(sent_at),
        previous_request_id: None,
        superseded: false,
    };
    // As the host's recovery does, ask again while the provider is still
    // settling the transaction (in-progress or unknown), for a while.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let found = loop {
        let found = suite.plugin.status(&suite.env, query.clone()).await;
        let settling = matches!(&found, Ok(Outcome::InProgress(_) | Outcome::Unknown(_)));
        if !settling || std::time::Instant::now() >= deadline {
            break found;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    };
    suite.keep(&found);
    match &found {
        Ok(Outcome::Approved(a)) if a.amount.minor_units == AMOUNT => Ok(format!(
            "answer lost (process: {}); status answers approved ({})",
            shown(&answer),
            a.provider_reference
        )),
        other => Err(Verdict::Failed(format!(
            "status of an approved purchase answered {}",
            shown(other)
        ))),
    }
}

pub async fn closed_port_not_sent(suite: &Suite) -> Verdict {
    verdict(closed_port_not_sent_(suite).await)
}

async fn closed_port_not_sent_(suite: &Suite) -> Result<String, Verdict> {
    requires(suite, &[Capability::Process])?;
    let key = &suite.url_setting;
    if suite.plugin.manifest().setting(key).is_none() {
        return Err(Verdict::Skipped(format!(
            "the manifest has no setting {key} (choose it with --url-setting)"
        )));
    }
    let Some(url) = suite.env.organisation_settings.get(key) else {
        return Err(Verdict::Skipped(format!(
            "--setting {key}=... was not given"
        )));
    };
    let mut url = url::Url::parse(url)
        .map_err(|e| Verdict::Failed(format!("setting {key} is not a URL: {e}")))?;
    // A port nobody listens on: bound, then let go.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| Verdict::Failed(format!("cannot find a free port: {e}")))?
        .port();
    let _ = url.set_scheme("http");
    let _ = url.set_host(Some("127.0.0.1"));
    let _ = url.set_port(Some(port));
    let mut env = suite.env.clone();
    env.organisation_settings
        .insert(key.clone(), url.to_string());
    env.extra_allowed_hosts
        .extend(crate::plugin::Destination::of_url(&url));
    let id = suite.request_id(Check::ClosedPortNotSent.name(), 1);
    let answer = suite
        .plugin
        .process(&env, request(suite, id, TransactionKind::Purchase))
        .await;
    suite.keep(&answer);
    match &answer {
        Err(e) if e.disposition() == Disposition::NotSent => Ok(format!("not sent: {}", e.kind())),
        other => Err(Verdict::Failed(format!(
            "a closed port must give not-sent, got {}",
            shown(other)
        ))),
    }
}

pub async fn server_error_never_failed(suite: &Suite) -> Verdict {
    verdict(server_error_never_failed_(suite).await)
}

async fn server_error_never_failed_(suite: &Suite) -> Result<String, Verdict> {
    requires(suite, &[Capability::Process])?;
    control(suite.control.fail_next(503).await)?;
    let id = suite.request_id(Check::ServerErrorNeverFailed.name(), 1);
    let answer = process(suite, request(suite, id, TransactionKind::Purchase)).await;
    // Money may have moved: only "unknown" (or what a lookup proved) is right.
    match &answer {
        Ok(Outcome::Approved(_) | Outcome::Unknown(_) | Outcome::InProgress(_)) => {
            Ok(format!("{} after a 503", shown(&answer)))
        }
        Err(e) if e.disposition() == Disposition::Unknown => {
            Ok(format!("unknown after a 503 ({})", e.kind()))
        }
        other => Err(Verdict::Failed(format!(
            "a 503 after sending must leave the payment unknown, got {}",
            shown(other)
        ))),
    }
}

pub async fn deadline_respected(suite: &Suite) -> Verdict {
    verdict(deadline_respected_(suite).await)
}

async fn deadline_respected_(suite: &Suite) -> Result<String, Verdict> {
    requires(suite, &[Capability::Process])?;
    // A runtime of its own, whose process deadline is short.
    let mut config = suite.config.clone();
    config.deadlines = Deadlines {
        process: suite.short_deadline,
        ..Deadlines::default()
    };
    let runtime = Runtime::new(config).map_err(|e| Verdict::Failed(e.to_string()))?;
    let plugin = runtime
        .load(suite.bytes.clone())
        .await
        .map_err(|e| Verdict::Failed(e.to_string()))?;
    control(
        suite
            .control
            .next(&suite.terminal, Action::Never, None, Duration::ZERO)
            .await,
    )?;
    let id = suite.request_id(Check::DeadlineRespected.name(), 1);
    let started = std::time::Instant::now();
    // The deadline plus room for the host to stop the call.
    let limit = suite.short_deadline + Duration::from_secs(10);
    let call = plugin.process(&suite.env, request(suite, id, TransactionKind::Purchase));
    let Ok(answer) = tokio::time::timeout(limit, call).await else {
        return Err(Verdict::Failed(format!(
            "process with a {:?} deadline still ran after {limit:?}",
            suite.short_deadline
        )));
    };
    suite.keep(&answer);
    let took = started.elapsed();
    match &answer {
        Ok(Outcome::Unknown(_) | Outcome::InProgress(_)) => {
            Ok(format!("{} after {took:.1?}", shown(&answer)))
        }
        Err(e) if e.disposition() == Disposition::Unknown => {
            Ok(format!("{} after {took:.1?}", e.kind()))
        }
        other => Err(Verdict::Failed(format!(
            "a card holder who never answers must end unknown, got {}",
            shown(other)
        ))),
    }
}
