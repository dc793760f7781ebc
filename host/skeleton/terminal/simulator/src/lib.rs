//! A simulator of Polderpay Cloud, the fictional provider of this skeleton: a
//! real HTTP server on 127.0.0.1 speaking the provider's API (below) and
//! vetpay's card-holder control protocol (`/_conform`, docs/CONFORMANCE.md in
//! vetpay), so that `vetpay plugin conform` can certify the plugin against it.
//!
//! Replace the provider's half with your provider's protocol; keep `/_conform`.
//!
//! The provider's API (JSON, `Authorization: Bearer API_KEY`):
//! - `GET /v1/terminals`: the account's terminals.
//! - `POST /v1/terminals/{id}/payments` `{reference, kind, amount, currency}`:
//!   starts a payment on the terminal; `201` with it, or `200` with the one
//!   already started under this reference (a repeat starts nothing).
//! - `GET /v1/payments/{id}` and `GET /v1/payments?reference=R`: one payment.
//! - `POST /v1/payments/{id}/abort`: stops a payment the card holder has not
//!   finished; `409` once it is final.
//! - Saved cards: a payment of kind `save-card` (amount 0) that the card
//!   holder approves carries a `token`; `POST /v1/charges` `{reference, kind:
//!   charge|refund, token, amount, currency, original}` charges or refunds it
//!   at once (`201`, or `200` with the one made under this reference), and
//!   `GET /v1/charges?reference=R` finds one. A charge is `approved` or
//!   `declined` (with `response_code`).
//!
//! A payment's `state` is `waiting-for-card`, `waiting-for-pin`, `approved`,
//! `declined` (with `response_code`), `cancelled` (the card holder pressed
//! Cancel) or `aborted` (stopped through the API).

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The API key the simulator accepts.
pub const API_KEY: &str = "polder-sim-key";

/// The account's terminals: (id, model, name).
pub const TERMINALS: &[(&str, &str, &str)] =
    &[("T-1", "P400", "Counter"), ("T-2", "M010", "Back office")];

/// A running simulator; it serves until the process ends.
pub struct Simulator {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    listener: JoinHandle<()>,
}

impl Simulator {
    /// Listens on 127.0.0.1:`port` (0: any free port).
    pub fn start(port: u16) -> io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", port))?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let listener = std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let state = shared.clone();
                std::thread::spawn(move || {
                    // A client that goes away mid-request is its own business.
                    let _ = serve(stream, &state);
                });
            }
        });
        Ok(Self {
            addr,
            state,
            listener,
        })
    }

    /// `http://127.0.0.1:PORT`: the plugin's `base-url` and the control URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The payments, oldest first, as the provider's books hold them.
    pub fn ledger(&self) -> Vec<Value> {
        lock(&self.state).ledger()
    }

    /// What the card holder at `terminal` does with its next payment (as
    /// `POST /_conform/terminals/{id}/next`).
    pub fn next(&self, terminal: &str, script: Script) {
        lock(&self.state)
            .scripts
            .insert(terminal.to_owned(), script);
    }

    /// The next payment started is processed and answered with `status`.
    pub fn fail_next(&self, status: u16) {
        lock(&self.state).fail_next = Some(status);
    }

    /// The next payment started is processed and its answer cut off.
    pub fn lose_next(&self) {
        lock(&self.state).lose_next = true;
    }

    /// The next charge of a saved card is declined with `code`.
    pub fn decline_next_charge(&self, code: &str) {
        lock(&self.state).decline_next_charge = Some(code.to_owned());
    }

    /// Blocks for as long as the simulator serves.
    pub fn wait(self) {
        let _ = self.listener.join();
    }
}

/// What the card holder does with a terminal's next payment.
#[derive(Debug, Clone, Deserialize)]
pub struct Script {
    pub action: Action,
    /// The issuer's response code of a decline.
    #[serde(default)]
    pub code: Option<String>,
    /// How long the card holder takes.
    #[serde(default)]
    pub after_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Approve,
    Decline,
    Cancel,
    Never,
}

impl Default for Script {
    fn default() -> Self {
        Self {
            action: Action::Approve,
            code: None,
            after_ms: 0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum PaymentState {
    WaitingForCard,
    WaitingForPin,
    Approved,
    Declined,
    Cancelled,
    Aborted,
}

impl PaymentState {
    fn is_final(self) -> bool {
        !matches!(self, Self::WaitingForCard | Self::WaitingForPin)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Kind {
    Purchase,
    Refund,
    SaveCard,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum ChargeKind {
    Charge,
    Refund,
}

/// A charge or refund of a saved card.
struct Charge {
    id: String,
    reference: String,
    kind: ChargeKind,
    token: Option<String>,
    amount: i64,
    currency: String,
    original: Option<String>,
    response_code: Option<String>,
}

impl Charge {
    fn approved(&self) -> bool {
        self.response_code.as_deref() == Some("00")
    }

    fn json(&self) -> Value {
        json!({
            "id": self.id,
            "reference": self.reference,
            "kind": self.kind,
            "token": self.token,
            "amount": self.amount,
            "currency": self.currency,
            "original": self.original,
            "state": if self.approved() { "approved" } else { "declined" },
            "response_code": self.response_code,
        })
    }
}

struct Payment {
    id: String,
    reference: String,
    terminal: String,
    kind: Kind,
    amount: i64,
    currency: String,
    original: Option<String>,
    state: PaymentState,
    response_code: Option<String>,
    started: Instant,
    script: Script,
}

impl Payment {
    /// Moves the card holder on to what the script says, as time has passed.
    fn settle(&mut self) {
        if self.state.is_final() || self.script.action == Action::Never {
            return;
        }
        let elapsed = self.started.elapsed();
        let after = Duration::from_millis(self.script.after_ms);
        if elapsed < after / 2 {
            self.state = PaymentState::WaitingForCard;
        } else if elapsed < after {
            self.state = PaymentState::WaitingForPin;
        } else {
            (self.state, self.response_code) = match self.script.action {
                Action::Approve => (PaymentState::Approved, Some("00".into())),
                Action::Decline => (
                    PaymentState::Declined,
                    Some(self.script.code.clone().unwrap_or_else(|| "05".into())),
                ),
                Action::Cancel => (PaymentState::Cancelled, None),
                Action::Never => unreachable!("returned above"),
            };
        }
    }

    fn json(&self) -> Value {
        let approved = self.state == PaymentState::Approved;
        json!({
            "id": self.id,
            "reference": self.reference,
            "terminal": self.terminal,
            "kind": self.kind,
            "amount": self.amount,
            "currency": self.currency,
            "original": self.original,
            "state": self.state,
            "response_code": self.response_code,
            "authorisation": approved.then(|| format!("A{}", &self.id[4..])),
            "card": approved.then(|| json!({ "last4": "4242", "brand": "VISA" })),
            "token": self.token(),
        })
    }

    /// The token of a card saved by this payment.
    fn token(&self) -> Option<String> {
        (self.kind == Kind::SaveCard && self.state == PaymentState::Approved)
            .then(|| format!("tok_{}", &self.id[4..]))
    }
}

#[derive(Default)]
struct State {
    payments: Vec<Payment>,
    charges: Vec<Charge>,
    /// The response code of the next charge, when it is to be declined.
    decline_next_charge: Option<String>,
    scripts: HashMap<String, Script>,
    fail_next: Option<u16>,
    lose_next: bool,
}

impl State {
    fn ledger(&mut self) -> Vec<Value> {
        let payments = self.payments.iter_mut().map(|p| {
            p.settle();
            json!({
                "request_id": p.reference,
                "kind": p.kind,
                "amount": p.amount,
                "currency": p.currency,
                "approved": p.state == PaymentState::Approved,
                "voided": false,
                "terminal": p.terminal,
            })
        });
        let charges = self.charges.iter().map(|c| {
            json!({
                "request_id": c.reference,
                "kind": match c.kind {
                    ChargeKind::Charge => "token-charge",
                    ChargeKind::Refund => "token-refund",
                },
                "amount": c.amount,
                "currency": c.currency,
                "approved": c.approved(),
                "voided": false,
                "terminal": null,
            })
        });
        payments.chain(charges).collect()
    }

    /// Whether a saved card was given this token.
    fn has_token(&mut self, token: &str) -> bool {
        self.payments.iter_mut().any(|p| {
            p.settle();
            p.token().as_deref() == Some(token)
        })
    }

    /// The faults of the control protocol: the request was processed, and
    /// then its answer is lost.
    fn fault(&mut self) -> Option<Answer> {
        if let Some(status) = self.fail_next.take() {
            return Some(Answer::Empty(status));
        }
        std::mem::take(&mut self.lose_next).then_some(Answer::CutOff)
    }

    fn by_id(&mut self, id: &str) -> Option<&mut Payment> {
        let payment = self.payments.iter_mut().find(|p| p.id == id)?;
        payment.settle();
        Some(payment)
    }

    fn by_reference(&mut self, reference: &str) -> Option<&mut Payment> {
        let payment = self
            .payments
            .iter_mut()
            .find(|p| p.reference == reference)?;
        payment.settle();
        Some(payment)
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    // A handler that panicked leaves the books as they were: keep serving.
    state.lock().unwrap_or_else(|e| e.into_inner())
}

/// One request, as read off the connection.
struct Request {
    method: String,
    path: String,
    query: String,
    authorised: bool,
    body: Vec<u8>,
}

/// How to answer.
enum Answer {
    Json(u16, Value),
    Empty(u16),
    /// The head and the start of a body, then the connection is cut.
    CutOff,
}

fn serve(mut stream: TcpStream, state: &Mutex<State>) -> io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let Some(request) = read_request(&mut stream)? else {
        return Ok(());
    };
    let answer = route(&request, state);
    match answer {
        Answer::Json(status, body) => respond(&mut stream, status, &body.to_string()),
        Answer::Empty(status) => respond(&mut stream, status, ""),
        Answer::CutOff => {
            stream.write_all(
                b"HTTP/1.1 201 Created\r\ncontent-type: application/json\r\n\
                  content-length: 400\r\nconnection: close\r\n\r\n{\"id\":\"pay_",
            )?;
            stream.flush()?;
            stream.shutdown(std::net::Shutdown::Both)
        }
    }
}

fn read_request(stream: &mut TcpStream) -> io::Result<Option<Request>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut parsed = httparse::Request::new(&mut headers);
        let head = match parsed.parse(&buf) {
            Ok(httparse::Status::Complete(head)) => head,
            Ok(httparse::Status::Partial) => continue,
            Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidData, e)),
        };
        let header = |name: &str| {
            parsed
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case(name))
                .map(|h| String::from_utf8_lossy(h.value).into_owned())
        };
        let length: usize = header("content-length")
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        let authorised = header("authorization").as_deref() == Some(&format!("Bearer {API_KEY}"));
        let target = parsed.path.unwrap_or("/").to_owned();
        let method = parsed.method.unwrap_or("GET").to_owned();
        while buf.len() < head + length {
            let n = stream.read(&mut chunk)?;
            if n == 0 {
                return Ok(None);
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let (path, query) = match target.split_once('?') {
            Some((p, q)) => (p.to_owned(), q.to_owned()),
            None => (target, String::new()),
        };
        return Ok(Some(Request {
            method,
            path,
            query,
            authorised,
            body: buf[head..head + length].to_vec(),
        }));
    }
}

fn respond(stream: &mut TcpStream, status: u16, body: &str) -> io::Result<()> {
    let reason = match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        409 => "Conflict",
        422 => "Unprocessable Entity",
        503 => "Service Unavailable",
        _ => "Status",
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(body.as_bytes())?;
    stream.flush()
}

fn error(status: u16, code: &str, message: &str) -> Answer {
    Answer::Json(status, json!({ "error": code, "message": message }))
}

fn route(request: &Request, state: &Mutex<State>) -> Answer {
    let segments: Vec<&str> = request.path.trim_matches('/').split('/').collect();
    if segments.first() == Some(&"_conform") {
        return conform(request, &segments[1..], state);
    }
    if !request.authorised {
        return error(401, "unauthorised", "send Authorization: Bearer API_KEY");
    }
    let mut state = lock(state);
    match (request.method.as_str(), segments.as_slice()) {
        ("GET", ["v1", "terminals"]) => Answer::Json(
            200,
            json!({ "terminals": TERMINALS.iter().map(|(id, model, name)| {
                json!({ "id": id, "model": model, "name": name })
            }).collect::<Vec<_>>() }),
        ),
        ("POST", ["v1", "terminals", terminal, "payments"]) => start(&mut state, terminal, request),
        ("GET", ["v1", "payments"]) => {
            let reference = reference(&request.query);
            match state.by_reference(reference) {
                Some(p) => Answer::Json(200, p.json()),
                None => error(404, "not-found", "no payment has this reference"),
            }
        }
        ("GET", ["v1", "payments", id]) => match state.by_id(id) {
            Some(p) => Answer::Json(200, p.json()),
            None => error(404, "not-found", "no such payment"),
        },
        ("POST", ["v1", "charges"]) => charge(&mut state, request),
        ("GET", ["v1", "charges"]) => {
            let reference = reference(&request.query);
            match state.charges.iter().find(|c| c.reference == reference) {
                Some(c) => Answer::Json(200, c.json()),
                None => error(404, "not-found", "no charge has this reference"),
            }
        }
        ("POST", ["v1", "payments", id, "abort"]) => match state.by_id(id) {
            Some(p) if p.state.is_final() => Answer::Json(
                409,
                json!({ "error": "already-final", "message": "the payment is final", "payment": p.json() }),
            ),
            Some(p) => {
                p.state = PaymentState::Aborted;
                Answer::Json(200, p.json())
            }
            None => error(404, "not-found", "no such payment"),
        },
        _ => error(404, "no-route", "no such route"),
    }
}

/// The `reference` of a query string.
fn reference(query: &str) -> &str {
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix("reference="))
        .unwrap_or_default()
}

/// `POST /v1/charges`: a saved card charged or refunded at once.
fn charge(state: &mut State, request: &Request) -> Answer {
    #[derive(Deserialize)]
    struct New {
        reference: String,
        kind: ChargeKind,
        #[serde(default)]
        token: Option<String>,
        amount: i64,
        currency: String,
        #[serde(default)]
        original: Option<String>,
    }
    let new: New = match serde_json::from_slice(&request.body) {
        Ok(n) => n,
        Err(e) => return error(400, "invalid", &e.to_string()),
    };
    if let Some(existing) = state.charges.iter().find(|c| c.reference == new.reference) {
        return Answer::Json(200, existing.json());
    }
    if new.amount <= 0 || new.currency.len() != 3 {
        return error(
            422,
            "invalid",
            "amount must be positive and currency ISO 4217",
        );
    }
    // A refund names the charge it refunds; a charge needs a saved card.
    let known = match (new.kind, &new.token, &new.original) {
        (ChargeKind::Refund, _, Some(original)) => state
            .charges
            .iter()
            .any(|c| &c.id == original && c.approved()),
        (ChargeKind::Charge, Some(token), _) => state.has_token(token),
        _ => false,
    };
    if !known {
        return error(404, "unknown-token", "no saved card or charge matches");
    }
    let charge = Charge {
        id: format!("chg_{:06}", state.charges.len() + 1),
        reference: new.reference,
        kind: new.kind,
        token: new.token,
        amount: new.amount,
        currency: new.currency,
        original: new.original,
        response_code: Some(
            state
                .decline_next_charge
                .take()
                .unwrap_or_else(|| "00".into()),
        ),
    };
    let answer = charge.json();
    state.charges.push(charge);
    state.fault().unwrap_or(Answer::Json(201, answer))
}

/// `POST /v1/terminals/{id}/payments`.
fn start(state: &mut State, terminal: &str, request: &Request) -> Answer {
    #[derive(Deserialize)]
    struct Start {
        reference: String,
        kind: Kind,
        amount: i64,
        currency: String,
        #[serde(default)]
        original: Option<String>,
    }
    let start: Start = match serde_json::from_slice(&request.body) {
        Ok(s) => s,
        Err(e) => return error(400, "invalid", &e.to_string()),
    };
    if let Some(existing) = state.by_reference(&start.reference) {
        return Answer::Json(200, existing.json());
    }
    if !TERMINALS.iter().any(|(id, ..)| *id == terminal) {
        return error(404, "unknown-terminal", "the account has no such terminal");
    }
    let amount_ok = match start.kind {
        Kind::SaveCard => start.amount == 0,
        Kind::Purchase | Kind::Refund => start.amount > 0,
    };
    if !amount_ok || start.currency.len() != 3 {
        return error(
            422,
            "invalid",
            "amount must be positive (0 to save a card) and currency ISO 4217",
        );
    }
    if state
        .payments
        .iter_mut()
        .filter(|p| p.terminal == terminal)
        .any(|p| {
            p.settle();
            !p.state.is_final()
        })
    {
        return error(409, "terminal-busy", "the terminal is running a payment");
    }
    let payment = Payment {
        id: format!("pay_{:06}", state.payments.len() + 1),
        reference: start.reference,
        terminal: terminal.to_owned(),
        kind: start.kind,
        amount: start.amount,
        currency: start.currency,
        original: start.original,
        state: PaymentState::WaitingForCard,
        response_code: None,
        started: Instant::now(),
        script: state.scripts.remove(terminal).unwrap_or_default(),
    };
    let answer = payment.json();
    state.payments.push(payment);
    state.fault().unwrap_or(Answer::Json(201, answer))
}

/// The card-holder control protocol, under `/_conform`.
fn conform(request: &Request, segments: &[&str], state: &Mutex<State>) -> Answer {
    let mut state = lock(state);
    match (request.method.as_str(), segments) {
        ("GET", []) => Answer::Json(
            200,
            json!({ "protocol": 1, "provider": "polder-pay", "decline_codes": true }),
        ),
        ("POST", ["terminals", terminal, "next"]) => {
            if !TERMINALS.iter().any(|(id, ..)| id == terminal) {
                return error(404, "unknown-terminal", "the account has no such terminal");
            }
            match serde_json::from_slice::<Script>(&request.body) {
                Ok(script) => {
                    state.scripts.insert((*terminal).to_owned(), script);
                    Answer::Empty(204)
                }
                Err(e) => error(400, "invalid", &e.to_string()),
            }
        }
        ("POST", ["fail-next"]) => {
            #[derive(Deserialize)]
            struct Fail {
                status: u16,
            }
            match serde_json::from_slice::<Fail>(&request.body) {
                Ok(fail) => {
                    state.fail_next = Some(fail.status);
                    Answer::Empty(204)
                }
                Err(e) => error(400, "invalid", &e.to_string()),
            }
        }
        ("POST", ["lose-next"]) => {
            state.lose_next = true;
            Answer::Empty(204)
        }
        ("GET", ["ledger"]) => Answer::Json(200, json!({ "entries": state.ledger() })),
        ("POST", ["reset"]) => {
            *state = State::default();
            Answer::Empty(204)
        }
        _ => error(404, "no-route", "no such control route"),
    }
}
