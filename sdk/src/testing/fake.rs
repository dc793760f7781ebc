//! The fake host itself: its state, and its answers to the seam in `crate::host`.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;
use std::time::Duration;

use super::http::{Reply, SentRequest, method};
use crate::host::imp::{Host, install};
use crate::host::{HttpError, HttpRequest, HttpResponse, Level, Stage};
use crate::http::{Error, Method};

type Handler = Rc<dyn Fn(&SentRequest) -> Result<Reply, Error>>;

/// A log line the plugin wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub level: Level,
    pub message: String,
}

/// A progress report the plugin made.
#[derive(Debug, Clone)]
pub struct ProgressReport {
    pub stage: Stage,
    pub message: Option<String>,
    pub at_ms: u64,
}

/// The answers scripted for one method and URL: taken in order, the last one
/// repeating until another is added after it.
struct Route {
    method: Method,
    url: String,
    answers: VecDeque<Result<Reply, Error>>,
    /// The last answer has answered at least once.
    last_used: bool,
}

struct State {
    routes: RefCell<Vec<Route>>,
    handler: RefCell<Option<Handler>>,
    sent: RefCell<Vec<SentRequest>>,
    /// Values with the virtual time they expire at.
    cache: RefCell<HashMap<String, (Vec<u8>, u64)>>,
    now_ms: Cell<u64>,
    slept: RefCell<Vec<Duration>>,
    logs: RefCell<Vec<LogLine>>,
    progress: RefCell<Vec<ProgressReport>>,
}

/// The host of native tests, installed on the current thread while it lives.
///
/// Dropping it uninstalls it (and puts back any host it replaced). It is not
/// `Send`: plugin code under test runs on the thread that installed it.
pub struct FakeHost {
    state: Rc<State>,
    replaced: Option<Rc<dyn Host>>,
}

/// 2026-01-01T00:00:00Z: a fixed start, so that tests are repeatable.
const EPOCH_MS: u64 = 1_767_225_600_000;

impl FakeHost {
    /// A fresh fake host (empty cache, nothing scripted, the virtual clock at
    /// 2026-01-01T00:00:00Z), installed on this thread.
    pub fn install() -> Self {
        let state = Rc::new(State {
            routes: RefCell::new(Vec::new()),
            handler: RefCell::new(None),
            sent: RefCell::new(Vec::new()),
            cache: RefCell::new(HashMap::new()),
            now_ms: Cell::new(EPOCH_MS),
            slept: RefCell::new(Vec::new()),
            logs: RefCell::new(Vec::new()),
            progress: RefCell::new(Vec::new()),
        });
        let replaced = install(Some(Rc::new(Seam(state.clone()))));
        Self { state, replaced }
    }

    /// Adds an answer for `method` and `url` (exact, query included). Answers
    /// of one route are used in the order added; the last one keeps answering.
    pub fn reply(&self, method: Method, url: impl Into<String>, reply: Reply) -> &Self {
        self.script(method, url.into(), Ok(reply))
    }

    /// Adds a failure for `method` and `url`, as the host reports them
    /// (`not-sent`, `timeout`, `transport`, ...).
    pub fn fail(&self, method: Method, url: impl Into<String>, error: Error) -> &Self {
        self.script(method, url.into(), Err(error))
    }

    fn script(&self, method: Method, url: String, answer: Result<Reply, Error>) -> &Self {
        let mut routes = self.state.routes.borrow_mut();
        match routes
            .iter_mut()
            .find(|r| r.method == method && r.url == url)
        {
            Some(route) => {
                if route.last_used {
                    // A repeating answer that has answered gives way.
                    route.answers.pop_back();
                    route.last_used = false;
                }
                route.answers.push_back(answer);
            }
            None => routes.push(Route {
                method,
                url,
                answers: VecDeque::from([answer]),
                last_used: false,
            }),
        }
        self
    }

    /// Drops the answers scripted for `method` and `url`.
    pub fn forget(&self, method: Method, url: &str) -> &Self {
        self.state
            .routes
            .borrow_mut()
            .retain(|r| r.method != method || r.url != url);
        self
    }

    /// Answers every request that has no scripted answer (such as
    /// [`loopback`](super::loopback)). It may call plugin code itself: an
    /// `abort` arriving while `process` waits, say.
    pub fn handle(&self, handler: impl Fn(&SentRequest) -> Result<Reply, Error> + 'static) {
        *self.state.handler.borrow_mut() = Some(Rc::new(handler));
    }

    /// Every request sent so far, in order.
    pub fn sent(&self) -> Vec<SentRequest> {
        self.state.sent.borrow().clone()
    }

    /// The requests sent to `url` with `method`.
    pub fn sent_to(&self, method: Method, url: &str) -> Vec<SentRequest> {
        self.sent()
            .into_iter()
            .filter(|s| s.method == method && s.url == url)
            .collect()
    }

    /// A cache value, unless missing or expired on the virtual clock.
    pub fn cache_get(&self, key: &str) -> Option<Vec<u8>> {
        Seam(self.state.clone()).cache_get(key)
    }

    /// Stores a cache value, as an earlier call of the plugin would have.
    pub fn cache_set(&self, key: &str, value: impl AsRef<[u8]>, ttl: Duration) {
        let ms = u32::try_from(ttl.as_millis()).unwrap_or(u32::MAX);
        Seam(self.state.clone()).cache_set(key, value.as_ref(), ms);
    }

    /// Empties the cache, as the host may at any time.
    pub fn cache_clear(&self) {
        self.state.cache.borrow_mut().clear();
    }

    /// The virtual clock, in ms since the epoch.
    pub fn now_ms(&self) -> u64 {
        self.state.now_ms.get()
    }

    pub fn set_now_ms(&self, ms: u64) {
        self.state.now_ms.set(ms);
    }

    /// Moves the virtual clock on, as time passing between two calls.
    pub fn advance(&self, by: Duration) {
        let ms = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        self.state.now_ms.set(self.now_ms().saturating_add(ms));
    }

    /// Every sleep the plugin asked for, in order.
    pub fn slept(&self) -> Vec<Duration> {
        self.state.slept.borrow().clone()
    }

    pub fn logs(&self) -> Vec<LogLine> {
        self.state.logs.borrow().clone()
    }

    pub fn progress(&self) -> Vec<ProgressReport> {
        self.state.progress.borrow().clone()
    }
}

impl Drop for FakeHost {
    fn drop(&mut self) {
        install(self.replaced.take());
    }
}

/// The installed side of a [`FakeHost`].
struct Seam(Rc<State>);

impl Host for Seam {
    fn http_send(&self, request: &HttpRequest) -> Result<HttpResponse, HttpError> {
        let sent = SentRequest::of(request, self.0.now_ms.get());
        self.0.sent.borrow_mut().push(sent.clone());
        let scripted = {
            let mut routes = self.0.routes.borrow_mut();
            routes
                .iter_mut()
                .find(|r| r.method == sent.method && r.url == sent.url)
                .and_then(|route| {
                    if route.answers.len() > 1 {
                        route.answers.pop_front()
                    } else {
                        route.last_used = true;
                        route.answers.front().cloned()
                    }
                })
        };
        let answer = match scripted {
            Some(answer) => answer,
            None => {
                // Cloned out: the handler may send requests of its own.
                let handler = self.0.handler.borrow().clone();
                match handler {
                    Some(handler) => handler(&sent),
                    None => panic!(
                        "the fake host has no answer for {} {}: script one with \
                         FakeHost::reply or FakeHost::fail, or set FakeHost::handle",
                        method(sent.method),
                        sent.url
                    ),
                }
            }
        };
        answer.map(Reply::into_response)
    }

    fn cache_get(&self, key: &str) -> Option<Vec<u8>> {
        let now = self.0.now_ms.get();
        let mut cache = self.0.cache.borrow_mut();
        match cache.get(key) {
            Some((value, expires)) if *expires > now => Some(value.clone()),
            Some(_) => {
                cache.remove(key);
                None
            }
            None => None,
        }
    }

    fn cache_set(&self, key: &str, value: &[u8], ttl_ms: u32) {
        let expires = self.0.now_ms.get().saturating_add(ttl_ms.into());
        self.0
            .cache
            .borrow_mut()
            .insert(key.to_owned(), (value.to_vec(), expires));
    }

    fn cache_delete(&self, key: &str) {
        self.0.cache.borrow_mut().remove(key);
    }

    fn log(&self, level: Level, message: &str) {
        self.0.logs.borrow_mut().push(LogLine {
            level,
            message: message.to_owned(),
        });
    }

    fn progress(&self, stage: &Stage, message: Option<&str>) {
        self.0.progress.borrow_mut().push(ProgressReport {
            stage: stage.clone(),
            message: message.map(str::to_owned),
            at_ms: self.0.now_ms.get(),
        });
    }

    fn sleep(&self, ms: u32) {
        self.0
            .slept
            .borrow_mut()
            .push(Duration::from_millis(ms.into()));
        self.0
            .now_ms
            .set(self.0.now_ms.get().saturating_add(ms.into()));
    }

    fn wall_clock_ms(&self) -> u64 {
        self.0.now_ms.get()
    }
}
