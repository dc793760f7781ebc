//! A simulator of Nets Connect@Cloud and its terminals: a real HTTP server
//! speaking the documented REST API, with terminals whose card holder is
//! scripted through a control API under `/_sim`.
//!
//! Known (see docs/providers/NETS.md): `/v1/login` returning a JWT whose `exp` is
//! honoured; the blocking `POST /v1/terminal/{id}/transaction` (amount in minor
//! units, `orderId`); the concurrent `administration` actions `cancelAction` and
//! `reconciliation`; `GET` of the last transaction; declines as HTTP 400 with a
//! `failure` body; PascalCase `localModeEventArgs` with `Result` 0, 1, 2 and 99;
//! a new terminal refusing payments until its first reconciliation.
//! Inferred: the JSON of the terminal list and the texts of refusals, and, in
//! the `Coded` dialect (another implementation's wording), the response codes
//! of busy and unreconciled terminals.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::oneshot;

use crate::conform;

/// What the card holder at a terminal does with the next transaction.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case", tag = "behaviour")]
pub enum Behaviour {
    /// Presents a card that is approved.
    Approve,
    /// Presents a card that the issuer declines with this response code.
    Decline { code: String },
    /// Presses Cancel on the terminal before the PIN.
    Cancel,
    /// Never answers (until a `cancelAction`).
    Never,
}

/// A fault for the next transaction on a terminal.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Fault {
    /// Processed, but the connection drops before the answer.
    DropResponse,
    /// Processed, but answered with `Result` 99 (look it up).
    Result99,
    /// Lost on the way: the terminal never sees the request, and the caller's
    /// connection drops as if the answer were lost.
    LoseRequest,
    /// Processed, then answered with this HTTP status (a 5xx after sending).
    ServerError(u16),
}

/// How the service words and shapes its refusals and cancels. Nets' own
/// service is one implementation; the plugin must read another's alike.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Dialect {
    /// Refusals in plain text, cancels worded with "cancel", `Result` 99 in a
    /// 200 result.
    #[default]
    Plain,
    /// Busy and unreconciled terminals refused in the failure object with a
    /// `ResponseCode`, cancels worded without "cancel", and `Result` 99 inside
    /// a 400 failure body.
    Coded,
}

/// [inferred] The `ResponseCode`s of the `Coded` refusals; the plugin's
/// `answers.rs` reads the same two.
const BUSY_CODE: &str = "BUSY";
const RECONCILE_CODE: &str = "RECONCILE";

/// One transaction a terminal processed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct LedgerEntry {
    pub terminal: String,
    pub transaction_type: String,
    pub order_id: String,
    pub amount: i64,
    pub approved: bool,
}

struct Terminal {
    account: String,
    model: String,
    reconciled: bool,
    offline: bool,
    busy: bool,
    script: Behaviour,
    after: Duration,
    /// The script is for the next transaction only (the control protocol's).
    script_once: bool,
    fault: Option<Fault>,
    /// Ends the running transaction early (cancelAction).
    abort: Option<oneshot::Sender<()>>,
    last: Option<Value>,
    /// A result the terminal has not yet made available (after `Result` 99).
    pending_last: Option<(Value, std::time::Instant)>,
    session: u64,
    /// The ledger's length at the last End of Day: the batch is what came after.
    batch_from: usize,
    /// The terminal's currency (one per merchant agreement).
    currency: String,
}

/// How long a result stays out of the last-transaction lookup after `Result` 99.
pub const RESULT_99_VISIBLE_AFTER: Duration = Duration::from_millis(400);

#[derive(Default)]
struct Sim {
    accounts: HashMap<String, String>,
    tokens: HashMap<String, (String, u64)>,
    token_lifetime: Duration,
    terminals: HashMap<String, Terminal>,
    ledger: Vec<LedgerEntry>,
    logins: u64,
    stan: u64,
    latency: Duration,
    dialect: Dialect,
    /// The next transaction on any terminal is answered with this status.
    fail_next: Option<u16>,
    /// The next transaction on any terminal runs, then its answer is cut off.
    lose_next: bool,
}

type Shared = Arc<Mutex<Sim>>;

/// A running simulator.
#[derive(Clone)]
pub struct NetsSim {
    /// Base URL for the plugin's `base-url` setting (also the origin).
    pub base_url: String,
    shared: Shared,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

impl NetsSim {
    pub async fn start() -> Self {
        Self::start_on(0).await.expect("bind")
    }

    /// Starts on this port of 127.0.0.1 (0: any free one).
    pub async fn start_on(port: u16) -> std::io::Result<Self> {
        let shared: Shared = Arc::new(Mutex::new(Sim {
            token_lifetime: Duration::from_secs(3600),
            ..Sim::default()
        }));
        let app = Router::new()
            .route("/v1/login", post(login))
            .route("/v1/terminal", get(list))
            .route(
                "/v1/terminal/{id}/transaction",
                post(transaction).get(last_transaction),
            )
            .route("/v1/terminal/{id}/administration", post(administration))
            .route("/_sim/ledger", get(ledger))
            .route("/_sim/terminals/{id}/script", post(control_script))
            .route("/_sim/terminals/{id}/fault", post(control_fault))
            .route("/_conform", get(conform_info))
            .route("/_conform/terminals/{id}/next", post(conform_next))
            .route("/_conform/ledger", get(conform_ledger))
            .route("/_conform/fail-next", post(conform_fail_next))
            .route("/_conform/lose-next", post(conform_lose_next))
            .route("/_conform/reset", post(conform_reset))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let base_url = format!("http://127.0.0.1:{}", listener.local_addr()?.port());
        tokio::spawn(async move { axum::serve(listener, app).await.ok() });
        Ok(Self { base_url, shared })
    }

    pub fn add_account(&self, username: &str, password: &str) {
        self.shared
            .lock()
            .unwrap()
            .accounts
            .insert(username.into(), password.into());
    }

    /// Adds a terminal to an account; a new terminal is not reconciled yet.
    pub fn add_terminal(&self, account: &str, id: &str, model: &str, reconciled: bool) {
        self.shared.lock().unwrap().terminals.insert(
            id.into(),
            Terminal {
                account: account.into(),
                model: model.into(),
                reconciled,
                offline: false,
                busy: false,
                script: Behaviour::Approve,
                after: Duration::ZERO,
                script_once: false,
                fault: None,
                abort: None,
                last: None,
                pending_last: None,
                session: 1,
                batch_from: 0,
                currency: "DKK".into(),
            },
        );
    }

    /// What the card holder does from now on, after `after`.
    pub fn script(&self, terminal: &str, behaviour: Behaviour, after: Duration) {
        let mut sim = self.shared.lock().unwrap();
        let t = sim.terminals.get_mut(terminal).expect("known terminal");
        t.script = behaviour;
        t.after = after;
        t.script_once = false;
    }

    pub fn fault_next(&self, terminal: &str, fault: Fault) {
        self.shared
            .lock()
            .unwrap()
            .terminals
            .get_mut(terminal)
            .expect("known terminal")
            .fault = Some(fault);
    }

    pub fn set_offline(&self, terminal: &str, offline: bool) {
        self.shared
            .lock()
            .unwrap()
            .terminals
            .get_mut(terminal)
            .expect("known terminal")
            .offline = offline;
    }

    /// Lifetime of tokens issued from now on.
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        self.shared.lock().unwrap().token_lifetime = lifetime;
    }

    /// How answers are worded and shaped from now on.
    pub fn set_dialect(&self, dialect: Dialect) {
        self.shared.lock().unwrap().dialect = dialect;
    }

    pub fn set_latency(&self, latency: Duration) {
        self.shared.lock().unwrap().latency = latency;
    }

    /// Every token issued so far expires now.
    pub fn expire_tokens(&self) {
        for (_, exp) in self.shared.lock().unwrap().tokens.values_mut() {
            *exp = 0;
        }
    }

    pub fn logins(&self) -> u64 {
        self.shared.lock().unwrap().logins
    }

    pub fn ledger(&self) -> Vec<LedgerEntry> {
        self.shared.lock().unwrap().ledger.clone()
    }
}

/// A refusal in the failure object, with a `Result` 2 and `code`.
fn coded_failure(error: &str, code: &str) -> Response {
    let args = json!({ "Result": 2, "ResponseCode": code });
    let body = json!({ "failure": { "error": error, "localModeEventArgs": args } });
    (StatusCode::BAD_REQUEST, Json(body)).into_response()
}

fn failure(text: &str) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "failure": text }))).into_response()
}

#[derive(Deserialize)]
struct Login {
    username: String,
    password: String,
}

async fn login(State(shared): State<Shared>, Json(body): Json<Login>) -> Response {
    let mut sim = shared.lock().unwrap();
    if sim.accounts.get(&body.username) != Some(&body.password) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "failure": "invalid username or password" })),
        )
            .into_response();
    }
    sim.logins += 1;
    let exp = now() + sim.token_lifetime.as_secs();
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let claims = URL_SAFE_NO_PAD
        .encode(json!({ "sub": body.username, "exp": exp, "n": sim.logins }).to_string());
    let signature = URL_SAFE_NO_PAD.encode(format!("sim-signature-{}", sim.logins));
    let token = format!("{header}.{claims}.{signature}");
    sim.tokens.insert(token.clone(), (body.username, exp));
    Json(json!({ "token": token })).into_response()
}

/// The account of a valid, unexpired bearer token.
fn account(sim: &Sim, headers: &HeaderMap) -> Result<String, Box<Response>> {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    let refused = |why: &str| {
        Box::new((StatusCode::UNAUTHORIZED, Json(json!({ "failure": why }))).into_response())
    };
    match sim.tokens.get(token) {
        Some((user, exp)) if *exp > now() => Ok(user.clone()),
        Some(_) => Err(refused("token expired")),
        None => Err(refused("invalid token")),
    }
}

async fn latency(shared: &Shared) {
    let latency = shared.lock().unwrap().latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
}

async fn list(State(shared): State<Shared>, headers: HeaderMap) -> Response {
    let sim = shared.lock().unwrap();
    let user = match account(&sim, &headers) {
        Ok(u) => u,
        Err(r) => return *r,
    };
    let mut terminals: Vec<Value> = sim
        .terminals
        .iter()
        .filter(|(_, t)| t.account == user)
        .map(|(id, t)| json!({ "terminalId": id, "model": t.model, "online": !t.offline }))
        .collect();
    terminals.sort_by_key(|t| t["terminalId"].as_str().unwrap_or_default().to_owned());
    Json(json!({ "terminals": terminals })).into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TransactionBody {
    transaction_type: String,
    amount: i64,
    order_id: String,
}

fn event_args(
    terminal: &str,
    result: u8,
    response_code: &str,
    amount: i64,
    session: u64,
    stan: u64,
) -> Value {
    json!({
        "Result": result,
        "ResponseCode": response_code,
        "TruncatedPAN": "************0119",
        "IssuerID": 3,
        "CardIssuerName": "Visa",
        "TerminalID": terminal,
        "SessionNumber": format!("{session:03}"),
        "StanAuth": format!("{stan:06}"),
        "TimeStamp": "20261121093000",
        "CVM": 0,
        "AID": "A0000000031010",
        "TotalAmount": amount,
    })
}

async fn transaction(
    State(shared): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<TransactionBody>,
) -> Response {
    latency(&shared).await;
    let (script, after, fault, aborted) = {
        let mut sim = shared.lock().unwrap();
        let dialect = sim.dialect;
        let user = match account(&sim, &headers) {
            Ok(u) => u,
            Err(r) => return *r,
        };
        let Some(t) = sim.terminals.get_mut(&id).filter(|t| t.account == user) else {
            return failure("Terminal not found");
        };
        if t.offline {
            return failure("Terminal offline");
        }
        if t.busy {
            return match dialect {
                Dialect::Plain => failure("Terminal busy"),
                Dialect::Coded => coded_failure("Terminal is processing a request", BUSY_CODE),
            };
        }
        if !t.reconciled {
            return match dialect {
                Dialect::Plain => {
                    failure("Terminal requires reconciliation before accepting payments")
                }
                Dialect::Coded => coded_failure("End of Day required", RECONCILE_CODE),
            };
        }
        if !matches!(
            body.transaction_type.as_str(),
            "purchase" | "returnOfGoods" | "deposit"
        ) {
            return failure("Unsupported transactionType");
        }
        if body.amount <= 0 {
            return failure("Amount must be positive");
        }
        if t.fault == Some(Fault::LoseRequest) {
            t.fault = None;
            return dropped_response();
        }
        t.busy = true;
        let (tx, rx) = oneshot::channel();
        t.abort = Some(tx);
        let fault = t.fault.take();
        let fault = sim.fail_next.take().map(Fault::ServerError).or(fault);
        let fault = match std::mem::take(&mut sim.lose_next) {
            true => Some(Fault::DropResponse),
            false => fault,
        };
        let t = sim.terminals.get_mut(&id).expect("terminal still there");
        let (script, after) = if std::mem::take(&mut t.script_once) {
            let after = std::mem::take(&mut t.after);
            (std::mem::replace(&mut t.script, Behaviour::Approve), after)
        } else {
            (t.script.clone(), t.after)
        };
        (script, after, fault, rx)
    };
    // The terminal finishes the transaction whether or not the caller is still
    // connected (a host killed mid-payment): it runs apart from the request.
    let finished = tokio::spawn(finish_transaction(
        shared, id, body, script, after, fault, aborted,
    ));
    finished
        .await
        .unwrap_or_else(|_| failure("terminal failure"))
}

async fn finish_transaction(
    shared: Shared,
    id: String,
    body: TransactionBody,
    script: Behaviour,
    after: Duration,
    fault: Option<Fault>,
    aborted: oneshot::Receiver<()>,
) -> Response {
    // The terminal waits for the card holder, unless the merchant cancels.
    let wait = async {
        if script == Behaviour::Never {
            std::future::pending::<()>().await;
        }
        tokio::time::sleep(after).await;
    };
    let cancelled_by_merchant = tokio::select! {
        _ = wait => false,
        _ = aborted => true,
    };
    let mut sim = shared.lock().unwrap();
    sim.stan += 1;
    let stan = sim.stan;
    let entry = |approved: bool| LedgerEntry {
        terminal: id.clone(),
        transaction_type: body.transaction_type.clone(),
        order_id: body.order_id.clone(),
        amount: body.amount,
        approved,
    };
    let dialect = sim.dialect;
    let stopped = match dialect {
        Dialect::Plain => "Transaction cancelled",
        Dialect::Coded => "Operation stopped",
    };
    let t = sim.terminals.get_mut(&id).expect("terminal still there");
    t.busy = false;
    t.abort = None;
    let session = t.session;
    let (status, answer, args, approved) = if cancelled_by_merchant {
        let args = event_args(&id, 2, "", body.amount, session, stan);
        let a = json!({ "failure": { "error": stopped, "localModeEventArgs": args } });
        (StatusCode::BAD_REQUEST, a, args, None)
    } else {
        match &script {
            Behaviour::Approve | Behaviour::Never => {
                let args = event_args(&id, 0, "00", body.amount, session, stan);
                let receipt = format!(
                    "NETS\n{}\nVISA ************0119\nAMOUNT {}\nAPPROVED",
                    body.transaction_type, body.amount
                );
                let a = json!({ "result": [{ "localModeEventArgs": args, "customerReceipt": receipt, "merchantReceipt": receipt }] });
                (StatusCode::OK, a, args, Some(true))
            }
            Behaviour::Decline { code } => {
                let args = event_args(&id, 2, code, body.amount, session, stan);
                let a = json!({ "failure": { "error": "Declined", "localModeEventArgs": args } });
                (StatusCode::BAD_REQUEST, a, args, Some(false))
            }
            Behaviour::Cancel => {
                let args = event_args(&id, 2, "", body.amount, session, stan);
                let a = json!({ "failure": { "error": stopped, "localModeEventArgs": args } });
                (StatusCode::BAD_REQUEST, a, args, None)
            }
        }
    };
    let last = json!({
        "result": {
            "latestTransactionResult": args,
            "printText": { "Text": format!("order {}", body.order_id) },
            "orderId": body.order_id,
        }
    });
    if fault == Some(Fault::Result99) {
        // Lost communication: the terminal reports the result only later.
        t.pending_last = Some((last, std::time::Instant::now() + RESULT_99_VISIBLE_AFTER));
    } else {
        t.last = Some(last);
    }
    if let Some(approved) = approved {
        let e = entry(approved);
        sim.ledger.push(e);
    }
    drop(sim);
    match fault {
        // The caller's connection is gone: the answer never arrives.
        Some(Fault::DropResponse) => dropped_response(),
        Some(Fault::Result99) => {
            let args = event_args(&id, 99, "", body.amount, session, stan);
            match dialect {
                Dialect::Plain => {
                    Json(json!({ "result": [{ "localModeEventArgs": args }] })).into_response()
                }
                Dialect::Coded => {
                    let a = json!({ "failure": { "error": "Communication error", "localModeEventArgs": args } });
                    (StatusCode::BAD_REQUEST, Json(a)).into_response()
                }
            }
        }
        Some(Fault::ServerError(code)) => {
            let code = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (code, "internal error").into_response()
        }
        // Answered before the terminal saw it (above).
        None | Some(Fault::LoseRequest) => (status, Json(answer)).into_response(),
    }
}

/// Cuts the connection: an answer whose body fails half-way.
fn dropped_response() -> Response {
    let stream = futures::stream::iter(vec![
        Ok::<_, std::io::Error>(b"{\"result\":[".to_vec()),
        Err(std::io::Error::other("connection lost")),
    ]);
    Response::builder()
        .header("content-type", "application/json")
        .header("content-length", "4096")
        .body(axum::body::Body::from_stream(stream))
        .unwrap()
}

async fn last_transaction(
    State(shared): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let mut sim = shared.lock().unwrap();
    if let Some(t) = sim.terminals.get_mut(&id)
        && t.pending_last
            .as_ref()
            .is_some_and(|(_, at)| *at <= std::time::Instant::now())
    {
        t.last = t.pending_last.take().map(|(last, _)| last);
    }
    let user = match account(&sim, &headers) {
        Ok(u) => u,
        Err(r) => return *r,
    };
    match sim.terminals.get(&id).filter(|t| t.account == user) {
        None => failure("Terminal not found"),
        Some(t) => match &t.last {
            Some(last) => Json(last.clone()).into_response(),
            None => failure("No transaction"),
        },
    }
}

#[derive(Deserialize)]
struct Action {
    action: String,
}

async fn administration(
    State(shared): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Action>,
) -> Response {
    let mut guard = shared.lock().unwrap();
    // Fields borrowed apart: the terminal and the ledger at once.
    let sim = &mut *guard;
    let dialect = sim.dialect;
    let user = match account(sim, &headers) {
        Ok(u) => u,
        Err(r) => return *r,
    };
    let Some(t) = sim.terminals.get_mut(&id).filter(|t| t.account == user) else {
        return failure("Terminal not found");
    };
    match body.action.as_str() {
        "cancelAction" => {
            if let Some(abort) = t.abort.take() {
                let _ = abort.send(());
            }
            Json(json!({ "result": [{ "localModeEventArgs": { "Result": 1 } }] })).into_response()
        }
        "reconciliation" => {
            if t.busy {
                return match dialect {
                    Dialect::Plain => failure("Terminal busy"),
                    Dialect::Coded => coded_failure("Terminal is processing a request", BUSY_CODE),
                };
            }
            t.reconciled = true;
            let session = t.session;
            t.session += 1;
            // The batch since the last End of Day: approved transactions of
            // this terminal. [inferred] Connect@Cloud's documented answer
            // carries the print text only; this simulator also gives the
            // batch's totals and transactions as structured fields, which the
            // plugin reads when a terminal sends them.
            let batch: Vec<&LedgerEntry> = sim
                .ledger
                .get(t.batch_from..)
                .unwrap_or_default()
                .iter()
                .filter(|e| e.terminal == id && e.approved)
                .collect();
            t.batch_from = sim.ledger.len();
            let (refunds, purchases): (Vec<&LedgerEntry>, Vec<&LedgerEntry>) = batch
                .iter()
                .partition(|e| e.transaction_type == "returnOfGoods");
            let sum = |list: &[&LedgerEntry]| list.iter().map(|e| e.amount).sum::<i64>();
            Json(json!({
                "result": {
                    "reconciliation": {
                        "header": { "timestamp": "20261121180000", "sessionNumber": format!("{session:03}") },
                        "printText": { "Text": format!(
                            "END OF DAY\nTERMINAL {id}\nSESSION {session:03}\nPURCHASES {} {}\nREFUNDS {} {}\nTOTAL OK",
                            purchases.len(), sum(&purchases), refunds.len(), sum(&refunds)
                        ) },
                        "totals": [{
                            "currency": t.currency,
                            "purchaseCount": purchases.len(),
                            "purchaseAmount": sum(&purchases),
                            "refundCount": refunds.len(),
                            "refundAmount": sum(&refunds),
                        }],
                        "transactions": batch.iter().map(|e| json!({
                            "orderId": e.order_id,
                            "transactionType": e.transaction_type,
                            "amount": e.amount,
                        })).collect::<Vec<_>>(),
                    }
                }
            }))
            .into_response()
        }
        _ => failure("Unsupported action"),
    }
}

async fn ledger(State(shared): State<Shared>) -> Response {
    Json(shared.lock().unwrap().ledger.clone()).into_response()
}

#[derive(Deserialize)]
struct ScriptBody {
    #[serde(flatten)]
    behaviour: Behaviour,
    #[serde(default)]
    after_ms: u64,
}

async fn control_script(
    State(shared): State<Shared>,
    Path(id): Path<String>,
    Json(body): Json<ScriptBody>,
) -> Response {
    let mut sim = shared.lock().unwrap();
    let Some(t) = sim.terminals.get_mut(&id) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    t.script = body.behaviour;
    t.after = Duration::from_millis(body.after_ms);
    t.script_once = false;
    StatusCode::NO_CONTENT.into_response()
}

async fn control_fault(
    State(shared): State<Shared>,
    Path(id): Path<String>,
    Json(fault): Json<Fault>,
) -> Response {
    let mut sim = shared.lock().unwrap();
    let Some(t) = sim.terminals.get_mut(&id) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    t.fault = Some(fault);
    StatusCode::NO_CONTENT.into_response()
}

// The card-holder control protocol (docs/CONFORMANCE.md), on the `/_sim` state.

async fn conform_info() -> Response {
    Json(conform::Info {
        protocol: conform::PROTOCOL_VERSION,
        provider: "nets-connect-cloud".into(),
        decline_codes: true,
    })
    .into_response()
}

async fn conform_next(
    State(shared): State<Shared>,
    Path(id): Path<String>,
    Json(next): Json<conform::Next>,
) -> Response {
    let behaviour = match next.action {
        conform::Action::Approve => Behaviour::Approve,
        conform::Action::Decline => Behaviour::Decline {
            code: next.code.unwrap_or_else(|| "05".into()),
        },
        conform::Action::Cancel => Behaviour::Cancel,
        conform::Action::Never => Behaviour::Never,
    };
    let mut sim = shared.lock().unwrap();
    let Some(t) = sim.terminals.get_mut(&id) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    // A `/_sim` script stays until changed; the protocol's is for one transaction.
    t.script = behaviour;
    t.after = Duration::from_millis(next.after_ms);
    t.script_once = true;
    StatusCode::NO_CONTENT.into_response()
}

fn conform_kind(kind: &str) -> conform::Kind {
    match kind {
        "purchase" => conform::Kind::Purchase,
        "returnOfGoods" => conform::Kind::Refund,
        "deposit" => conform::Kind::Deposit,
        _ => conform::Kind::Other,
    }
}

async fn conform_ledger(State(shared): State<Shared>) -> Response {
    let entries = shared
        .lock()
        .unwrap()
        .ledger
        .iter()
        .map(|e| conform::Entry {
            request_id: e.order_id.clone(),
            kind: conform_kind(&e.transaction_type),
            amount: e.amount,
            // The terminal's books carry no currency: the terminal has one.
            currency: None,
            approved: e.approved,
            voided: false,
            terminal: Some(e.terminal.clone()),
        })
        .collect();
    Json(conform::Ledger { entries }).into_response()
}

async fn conform_fail_next(
    State(shared): State<Shared>,
    Json(fail): Json<conform::FailNext>,
) -> Response {
    shared.lock().unwrap().fail_next = Some(fail.status);
    StatusCode::NO_CONTENT.into_response()
}

async fn conform_lose_next(State(shared): State<Shared>) -> Response {
    shared.lock().unwrap().lose_next = true;
    StatusCode::NO_CONTENT.into_response()
}

async fn conform_reset(State(shared): State<Shared>) -> Response {
    let mut sim = shared.lock().unwrap();
    sim.lose_next = false;
    sim.ledger.clear();
    sim.fail_next = None;
    sim.latency = Duration::ZERO;
    for t in sim.terminals.values_mut() {
        // A card holder who never answers lets go of the terminal.
        if let Some(abort) = t.abort.take() {
            let _ = abort.send(());
        }
        t.script = Behaviour::Approve;
        t.after = Duration::ZERO;
        t.script_once = false;
        t.fault = None;
        t.offline = false;
        t.busy = false;
    }
    StatusCode::NO_CONTENT.into_response()
}
