//! A simulator of Gravity Payments' emergepay API (`/virtualterminal/v1`), a
//! real HTTP server speaking the documented protocol, with virtual terminals
//! whose card holder is scripted through a control API under `/_sim`.
//!
//! Known protocol (see docs/providers/GRAVITY.md): OID in the path, bearer auth
//! token, decimal-string amounts, `transactionResponse` with `resultStatus` as the
//! string "true"/"false", `uniqueTransId` as card token, 404 from the retrieval
//! until a result exists, 429 when rate limited, idempotency by external id.
//! Inferred: the terminal start (`method` "terminal", field `device_id`) and the
//! `resultMessage` texts of a cancelled transaction.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::conform;

/// What the card holder at a device does with the next transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Behaviour {
    /// Presents a card that is approved.
    Approve,
    /// Presents a card that the issuer declines.
    Decline,
    /// Presses Cancel on the terminal.
    Cancel,
    /// Never answers.
    Never,
}

/// A scripted card holder: what happens, and after how long.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Script {
    pub behaviour: Behaviour,
    #[serde(default)]
    pub after_ms: u64,
}

/// One entry of the provider's books.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct LedgerEntry {
    /// CreditSale, CreditReturn, CreditSaveCard, TokenizedPayment, TokenizedRefund, Void.
    pub kind: String,
    pub external_id: String,
    pub unique_trans_id: String,
    /// Minor units (cents).
    pub cents: i64,
    pub approved: bool,
    pub voided: bool,
}

#[derive(Debug, Clone)]
struct Transaction {
    token: String,
    transaction_type: String,
    cents: i64,
    /// Set once the card holder acted.
    result: Option<Value>,
}

#[derive(Default)]
struct Sim {
    oid: String,
    auth_token: String,
    scripts: HashMap<String, Script>,
    transactions: HashMap<String, Transaction>,
    by_token: HashMap<String, String>,
    /// Results of synchronous calls by external id, for idempotent repeats.
    synchronous: HashMap<String, Value>,
    ledger: Vec<LedgerEntry>,
    /// `uniqueTransId`s of approved transactions: the card tokens it knows.
    tokens: std::collections::HashSet<String>,
    rate_limited: u32,
    /// The next this many API requests answer 400 quoting the credentials
    /// they came with, mangled (a provider that echoes what it was sent).
    echo_credentials: u32,
    drop_next_response: bool,
    latency_ms: u64,
    next_id: u64,
    retrievals: u64,
    /// Cancels of started transactions, by token.
    cancels: u64,
    /// The next money-moving request is processed, then answered with this status.
    fail_next: Option<u16>,
    /// The next transaction start is registered, then its answer cut off.
    lose_next: bool,
}

type Shared = Arc<Mutex<Sim>>;

/// A running simulator.
#[derive(Clone)]
pub struct GravitySim {
    /// Base URL to configure as the plugin's `base-url`.
    pub base_url: String,
    /// The origin, for the admin's extra allowed hosts.
    pub origin: String,
    shared: Shared,
}

/// Cents that the issuer always declines (like a test card's amount trigger).
pub const DECLINED_CENTS_SUFFIX: i64 = 51;

impl GravitySim {
    pub async fn start(oid: &str, auth_token: &str) -> Self {
        Self::start_on(0, oid, auth_token).await
    }

    /// Starts on this port of 127.0.0.1 (0: any free one).
    pub async fn start_on(port: u16, oid: &str, auth_token: &str) -> Self {
        Self::try_start_on(port, oid, auth_token)
            .await
            .expect("bind")
    }

    /// Starts on this port of 127.0.0.1, or says why it cannot listen there.
    pub async fn try_start_on(port: u16, oid: &str, auth_token: &str) -> std::io::Result<Self> {
        let shared: Shared = Arc::new(Mutex::new(Sim {
            oid: oid.into(),
            auth_token: auth_token.into(),
            ..Sim::default()
        }));
        let api = Router::new()
            .route("/orgs/{oid}/transactions/start", post(start))
            .route("/transactions/{token}", delete(cancel))
            .route(
                "/orgs/{oid}/transactions/tokenizedPayment",
                put(tokenized_payment),
            )
            .route(
                "/orgs/{oid}/transactions/tokenizedRefund",
                put(tokenized_refund),
            )
            .route("/orgs/{oid}/transactions/void", put(void))
            .route("/orgs/{oid}/transactions/{external}", get(retrieve));
        let control = Router::new()
            .route("/devices/{device}", post(script))
            .route("/ledger", get(ledger))
            .route("/rate-limit", post(rate_limit))
            .route("/echo-credentials", post(echo_credentials))
            .route("/drop-next-response", post(drop_next))
            .route("/latency", post(latency));
        let conform = Router::new()
            .route("/", get(conform_info))
            .route("/terminals/{id}/next", post(conform_next))
            .route("/ledger", get(conform_ledger))
            .route("/fail-next", post(conform_fail_next))
            .route("/lose-next", post(conform_lose_next))
            .route("/reset", post(conform_reset));
        let app = Router::new()
            .nest("/virtualterminal/v1", api)
            .nest("/_sim", control)
            .nest("/_conform", conform)
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let origin = format!("http://127.0.0.1:{}", listener.local_addr()?.port());
        tokio::spawn(async move { axum::serve(listener, app).await.ok() });
        Ok(Self {
            base_url: format!("{origin}/virtualterminal/v1"),
            origin,
            shared,
        })
    }

    /// What the card holder at `device` does with the next transaction.
    pub fn script(&self, device: &str, behaviour: Behaviour, after: Duration) {
        self.shared.lock().unwrap().scripts.insert(
            device.into(),
            Script {
                behaviour,
                after_ms: after.as_millis() as u64,
            },
        );
    }

    pub fn ledger(&self) -> Vec<LedgerEntry> {
        self.shared.lock().unwrap().ledger.clone()
    }

    /// The next `count` API requests answer 429.
    pub fn rate_limit(&self, count: u32) {
        self.shared.lock().unwrap().rate_limited = count;
    }

    /// The next `count` API requests answer 400 with a body that quotes the
    /// OID and auth token they were sent: base64 (standard, URL-safe, of
    /// `oid:token` as in HTTP Basic), percent-encoded, in a JSON string, and in
    /// other letter cases. Also `POST /_sim/echo-credentials {"count": n}`.
    pub fn echo_credentials(&self, count: u32) {
        self.shared.lock().unwrap().echo_credentials = count;
    }

    /// The next synchronous call is processed but its response is cut off.
    pub fn drop_next_response(&self) {
        self.shared.lock().unwrap().drop_next_response = true;
    }

    /// How many cancels of a started transaction were accepted.
    pub fn cancels(&self) -> u64 {
        self.shared.lock().unwrap().cancels
    }

    /// How many result retrievals (polls) were answered.
    pub fn retrievals(&self) -> u64 {
        self.shared.lock().unwrap().retrievals
    }

    /// Registers cards as saved earlier (outside the ledger), for tests and
    /// benchmarks that need many: their tokens are `{prefix}{n}` for n in 0..count.
    pub fn add_saved_cards(&self, prefix: &str, count: usize) {
        let mut sim = self.shared.lock().unwrap();
        for n in 0..count {
            sim.tokens.insert(format!("{prefix}{n}"));
        }
    }

    pub fn set_latency(&self, latency: Duration) {
        self.shared.lock().unwrap().latency_ms = latency.as_millis() as u64;
    }
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "message": message }))).into_response()
}

/// Checks the bearer token and the OID, applies latency and rate limiting.
async fn gate(shared: &Shared, headers: &HeaderMap, oid: Option<&str>) -> Result<(), Response> {
    let latency = shared.lock().unwrap().latency_ms;
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    let mut sim = shared.lock().unwrap();
    if sim.echo_credentials > 0 {
        sim.echo_credentials -= 1;
        return Err(echo(headers, oid.unwrap_or_default()));
    }
    if sim.rate_limited > 0 {
        sim.rate_limited -= 1;
        return Err((
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", "0")],
            "rate limited",
        )
            .into_response());
    }
    let bearer = headers.get("authorization").and_then(|v| v.to_str().ok());
    if bearer != Some(&format!("Bearer {}", sim.auth_token)) {
        return Err(error(StatusCode::UNAUTHORIZED, "invalid auth token"));
    }
    if oid.is_some_and(|o| o != sim.oid) {
        return Err(error(
            StatusCode::FORBIDDEN,
            "the auth token does not belong to this OID",
        ));
    }
    Ok(())
}

/// A 400 quoting the credentials of a request in every mangled form.
fn echo(headers: &HeaderMap, oid: &str) -> Response {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    let percent: String = oid
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let swapped: String = oid
        .chars()
        .map(|c| {
            if c.is_ascii_uppercase() {
                c.to_ascii_lowercase()
            } else {
                c.to_ascii_uppercase()
            }
        })
        .collect();
    let body = json!({
        "message": "invalid credentials",
        "basic": STANDARD.encode(format!("{oid}:{token}")),
        "token_b64": STANDARD.encode(token),
        "oid_b64url": URL_SAFE_NO_PAD.encode(oid),
        "oid_percent": percent.to_ascii_lowercase(),
        "oid_json": oid,
        "oid_swapped": swapped,
        "token_upper": token.to_ascii_uppercase(),
    });
    (StatusCode::BAD_REQUEST, Json(body)).into_response()
}

fn dollars(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

fn cents_of(amount: &str) -> Option<i64> {
    let (whole, frac) = amount.split_once('.').unwrap_or((amount, "00"));
    if frac.len() != 2 {
        return None;
    }
    Some(whole.parse::<i64>().ok()? * 100 + frac.parse::<i64>().ok()?)
}

impl Sim {
    fn unique_id(&mut self) -> String {
        self.next_id += 1;
        format!("{:012}", 700_000_000_000 + self.next_id)
    }

    fn response(
        &mut self,
        kind: &str,
        external: &str,
        cents: i64,
        approved: bool,
        message: &str,
    ) -> Value {
        let unique = self.unique_id();
        if approved {
            self.tokens.insert(unique.clone());
        }
        self.ledger.push(LedgerEntry {
            kind: kind.into(),
            external_id: external.into(),
            unique_trans_id: unique.clone(),
            cents,
            approved,
            voided: false,
        });
        json!({
            "externalTransactionId": external,
            "transactionType": kind,
            "resultStatus": if approved { "true" } else { "false" },
            "resultMessage": message,
            "uniqueTransId": unique,
            "transactionReference": external,
            "approvalNumberResult": if approved { "OK1234" } else { "" },
            "amount": dollars(cents),
            "amountProcessed": if approved { dollars(cents) } else { "0.00".into() },
            "maskedAccount": "************4242",
            "accountCardType": "VS",
            "accountExpiryDate": "1229",
            "accountEntryMethod": "Chip",
            "batchNumber": "1",
        })
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StartBody {
    transaction_data: StartData,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StartData {
    transaction_type: String,
    fields: Vec<Field>,
}

#[derive(Deserialize)]
struct Field {
    id: String,
    value: String,
}

async fn start(
    State(shared): State<Shared>,
    Path(oid): Path<String>,
    headers: HeaderMap,
    Json(body): Json<StartBody>,
) -> Response {
    if let Err(r) = gate(&shared, &headers, Some(&oid)).await {
        return r;
    }
    let field = |id: &str| {
        body.transaction_data
            .fields
            .iter()
            .find(|f| f.id == id)
            .map(|f| f.value.clone())
    };
    let (Some(amount), Some(external)) = (field("base_amount"), field("external_tran_id")) else {
        return error(
            StatusCode::BAD_REQUEST,
            "base_amount and external_tran_id are required",
        );
    };
    let Some(cents) = cents_of(&amount) else {
        return error(
            StatusCode::BAD_REQUEST,
            "base_amount must be a decimal string such as 12.34",
        );
    };
    let device = field("device_id").unwrap_or_default();
    let kind = body.transaction_data.transaction_type.clone();
    let mut sim = shared.lock().unwrap();
    // Idempotent by external id: a repeated start returns the same transaction.
    if let Some(existing) = sim.transactions.get(&external) {
        return Json(json!({ "transactionToken": existing.token })).into_response();
    }
    let script = sim.scripts.remove(&device).unwrap_or(Script {
        behaviour: Behaviour::Approve,
        after_ms: 0,
    });
    sim.next_id += 1;
    let token = format!("tt-{}", sim.next_id);
    sim.by_token.insert(token.clone(), external.clone());
    sim.transactions.insert(
        external.clone(),
        Transaction {
            token: token.clone(),
            transaction_type: kind,
            cents,
            result: None,
        },
    );
    let failed = sim.fail_next.take();
    // One lost answer: whichever of a start or a synchronous call comes first.
    let lost = std::mem::take(&mut sim.lose_next);
    if lost {
        sim.drop_next_response = false;
    }
    drop(sim);
    if script.behaviour != Behaviour::Never {
        let shared = shared.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(script.after_ms)).await;
            card_holder_acts(&shared, &external, script.behaviour);
        });
    }
    if let Some(status) = failed {
        return server_error(status);
    }
    let body = json!({ "transactionToken": token }).to_string();
    if lost {
        return cut_off(body);
    }
    ([("content-type", "application/json")], body).into_response()
}

/// The scripted card holder finishes a transaction on the terminal.
fn card_holder_acts(shared: &Shared, external: &str, behaviour: Behaviour) {
    let mut sim = shared.lock().unwrap();
    let Some(tx) = sim.transactions.get(external).cloned() else {
        return;
    };
    if tx.result.is_some() {
        return;
    }
    // A declined amount trigger, as test cards have.
    let declined = behaviour == Behaviour::Decline || tx.cents % 100 == DECLINED_CENTS_SUFFIX;
    let result = match behaviour {
        Behaviour::Cancel => json!({
            "externalTransactionId": external,
            "transactionType": tx.transaction_type,
            "resultStatus": "false",
            // [inferred] the text of a transaction the customer cancelled.
            "resultMessage": "Cancelled by customer",
            "amount": dollars(tx.cents),
            "amountProcessed": "0.00",
        }),
        // A transaction cancelled by the merchant can still be approved if the
        // card was already in: Gravity then requires a void.
        _ => {
            let approved = !declined;
            let message = if approved { "Approved" } else { "Declined" };
            let mut r = sim.response(&tx.transaction_type, external, tx.cents, approved, message);
            if !approved {
                r["approvalNumberResult"] = json!("");
            }
            r
        }
    };
    if let Some(t) = sim.transactions.get_mut(external) {
        t.result = Some(result);
    }
}

async fn cancel(
    State(shared): State<Shared>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = gate(&shared, &headers, None).await {
        return r;
    }
    let mut sim = shared.lock().unwrap();
    // A cancel stops nothing the card holder already did: a card in the
    // reader may still be approved, as on Gravity's terminals.
    if !sim.by_token.contains_key(&token) {
        return error(StatusCode::NOT_FOUND, "no such transaction token");
    }
    sim.cancels += 1;
    Json(json!({ "transactionToken": token, "cancelled": true })).into_response()
}

async fn retrieve(
    State(shared): State<Shared>,
    Path((oid, external)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = gate(&shared, &headers, Some(&oid)).await {
        return r;
    }
    let mut sim = shared.lock().unwrap();
    sim.retrievals += 1;
    let result = sim
        .transactions
        .get(&external)
        .and_then(|t| t.result.clone())
        .or_else(|| sim.synchronous.get(&external).cloned());
    match result {
        Some(r) => Json(json!({ "transactionResponse": r })).into_response(),
        // 404 = not finished yet (or never started).
        None => error(StatusCode::NOT_FOUND, "transaction not found"),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TokenBody {
    transaction_data: TokenData,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TokenData {
    unique_trans_id: String,
    external_transaction_id: String,
    #[serde(default)]
    amount: Option<String>,
}

/// Answers a synchronous call, or cuts the connection after processing it.
fn answer(shared: &Shared, body: Value) -> Response {
    let drop_it = {
        let mut sim = shared.lock().unwrap();
        sim.lose_next &= !sim.drop_next_response;
        std::mem::take(&mut sim.drop_next_response)
    };
    let text = json!({ "transactionResponse": body }).to_string();
    if !drop_it {
        return ([("content-type", "application/json")], text).into_response();
    }
    cut_off(text)
}

/// Half the body, then the connection fails: the client cannot know the outcome.
fn cut_off(text: String) -> Response {
    let half = text.as_bytes()[..text.len() / 2].to_vec();
    let stream = futures::stream::iter(vec![
        Ok::<_, std::io::Error>(half),
        Err(std::io::Error::other("connection lost")),
    ]);
    Response::builder()
        .header("content-type", "application/json")
        .header("content-length", text.len())
        .body(Body::from_stream(stream))
        .unwrap()
}

async fn tokenized(
    shared: Shared,
    oid: String,
    headers: HeaderMap,
    body: TokenBody,
    kind: &str,
) -> Response {
    if let Err(r) = gate(&shared, &headers, Some(&oid)).await {
        return r;
    }
    let data = body.transaction_data;
    let Some(cents) = data.amount.as_deref().and_then(cents_of) else {
        return error(
            StatusCode::BAD_REQUEST,
            "amount must be a decimal string such as 12.34",
        );
    };
    let result = {
        let mut sim = shared.lock().unwrap();
        if let Some(existing) = sim.synchronous.get(&data.external_transaction_id) {
            existing.clone()
        } else {
            let known = sim.tokens.contains(&data.unique_trans_id);
            let approved = known && cents % 100 != DECLINED_CENTS_SUFFIX;
            let message = if !known {
                "Invalid token"
            } else if approved {
                "Approved"
            } else {
                "Declined"
            };
            let r = sim.response(
                kind,
                &data.external_transaction_id,
                cents,
                approved,
                message,
            );
            sim.synchronous
                .insert(data.external_transaction_id.clone(), r.clone());
            r
        }
    };
    if let Some(status) = shared.lock().unwrap().fail_next.take() {
        return server_error(status);
    }
    answer(&shared, result)
}

async fn tokenized_payment(
    State(shared): State<Shared>,
    Path(oid): Path<String>,
    headers: HeaderMap,
    Json(body): Json<TokenBody>,
) -> Response {
    tokenized(shared, oid, headers, body, "TokenizedPayment").await
}

async fn tokenized_refund(
    State(shared): State<Shared>,
    Path(oid): Path<String>,
    headers: HeaderMap,
    Json(body): Json<TokenBody>,
) -> Response {
    tokenized(shared, oid, headers, body, "TokenizedRefund").await
}

async fn void(
    State(shared): State<Shared>,
    Path(oid): Path<String>,
    headers: HeaderMap,
    Json(body): Json<TokenBody>,
) -> Response {
    if let Err(r) = gate(&shared, &headers, Some(&oid)).await {
        return r;
    }
    let data = body.transaction_data;
    let mut sim = shared.lock().unwrap();
    if let Some(existing) = sim.synchronous.get(&data.external_transaction_id) {
        let r = existing.clone();
        drop(sim);
        return answer(&shared, r);
    }
    let Some(entry) = sim
        .ledger
        .iter_mut()
        .find(|e| e.unique_trans_id == data.unique_trans_id && e.approved)
    else {
        return error(
            StatusCode::BAD_REQUEST,
            "no approved transaction with this uniqueTransId",
        );
    };
    entry.voided = true;
    let cents = entry.cents;
    let r = sim.response("Void", &data.external_transaction_id, cents, true, "Voided");
    sim.synchronous
        .insert(data.external_transaction_id.clone(), r.clone());
    drop(sim);
    answer(&shared, r)
}

async fn script(
    State(shared): State<Shared>,
    Path(device): Path<String>,
    Json(script): Json<Script>,
) -> Response {
    shared.lock().unwrap().scripts.insert(device, script);
    StatusCode::NO_CONTENT.into_response()
}

async fn ledger(State(shared): State<Shared>) -> Response {
    Json(shared.lock().unwrap().ledger.clone()).into_response()
}

#[derive(Deserialize)]
struct Count {
    count: u32,
}

async fn rate_limit(State(shared): State<Shared>, Json(c): Json<Count>) -> Response {
    shared.lock().unwrap().rate_limited = c.count;
    StatusCode::NO_CONTENT.into_response()
}

async fn echo_credentials(State(shared): State<Shared>, Json(c): Json<Count>) -> Response {
    shared.lock().unwrap().echo_credentials = c.count;
    StatusCode::NO_CONTENT.into_response()
}

async fn drop_next(State(shared): State<Shared>) -> Response {
    shared.lock().unwrap().drop_next_response = true;
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Deserialize)]
struct Latency {
    ms: u64,
}

async fn latency(State(shared): State<Shared>, Json(l): Json<Latency>) -> Response {
    shared.lock().unwrap().latency_ms = l.ms;
    StatusCode::NO_CONTENT.into_response()
}

/// An answer with a server error, after the request was processed.
fn server_error(status: u16) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    error(status, "internal error")
}

// The card-holder control protocol (docs/CONFORMANCE.md), on the `/_sim` state.

async fn conform_info() -> Response {
    Json(conform::Info {
        protocol: conform::PROTOCOL_VERSION,
        provider: "gravity".into(),
        // emergepay's results carry no issuer response code.
        decline_codes: false,
    })
    .into_response()
}

async fn conform_next(
    State(shared): State<Shared>,
    Path(device): Path<String>,
    Json(next): Json<conform::Next>,
) -> Response {
    let behaviour = match next.action {
        conform::Action::Approve => Behaviour::Approve,
        conform::Action::Decline => Behaviour::Decline,
        conform::Action::Cancel => Behaviour::Cancel,
        conform::Action::Never => Behaviour::Never,
    };
    let script = Script {
        behaviour,
        after_ms: next.after_ms,
    };
    shared.lock().unwrap().scripts.insert(device, script);
    StatusCode::NO_CONTENT.into_response()
}

fn conform_kind(kind: &str) -> conform::Kind {
    match kind {
        "CreditSale" => conform::Kind::Purchase,
        "CreditReturn" => conform::Kind::Refund,
        "CreditSaveCard" => conform::Kind::SaveCard,
        "TokenizedPayment" => conform::Kind::TokenCharge,
        "TokenizedRefund" => conform::Kind::TokenRefund,
        "Void" => conform::Kind::Void,
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
            request_id: e.external_id.clone(),
            kind: conform_kind(&e.kind),
            amount: e.cents,
            currency: Some("USD".into()),
            approved: e.approved,
            voided: e.voided,
            terminal: None,
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
    let mut sim = shared.lock().unwrap();
    sim.lose_next = true;
    sim.drop_next_response = true;
    StatusCode::NO_CONTENT.into_response()
}

async fn conform_reset(State(shared): State<Shared>) -> Response {
    let mut sim = shared.lock().unwrap();
    sim.lose_next = false;
    sim.scripts.clear();
    sim.ledger.clear();
    sim.fail_next = None;
    sim.rate_limited = 0;
    sim.echo_credentials = 0;
    sim.drop_next_response = false;
    sim.latency_ms = 0;
    StatusCode::NO_CONTENT.into_response()
}
