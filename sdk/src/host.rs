//! The one seam every host call goes through: the contract's imports in the
//! component, and a thread-local fake host everywhere else, so that plugin
//! code runs under a plain native `cargo test` (see [`crate::testing`] with the
//! `testing` feature). wit-bindgen's native import stubs abort the process,
//! which no test can catch; here a missing fake host is an ordinary panic.

pub(crate) use crate::bindings::vetpay::terminal::http::{
    Error as HttpError, Request as HttpRequest, Response as HttpResponse,
};
pub(crate) use crate::bindings::vetpay::terminal::log::Level;
pub(crate) use crate::bindings::vetpay::terminal::progress::Stage;

#[cfg(target_arch = "wasm32")]
mod imp {
    use super::*;
    use crate::bindings::vetpay::terminal::{cache, http, log, progress, timer};

    pub fn http_send(request: &HttpRequest) -> Result<HttpResponse, HttpError> {
        http::send(request)
    }
    pub fn cache_get(key: &str) -> Option<Vec<u8>> {
        cache::get(key)
    }
    pub fn cache_set(key: &str, value: &[u8], ttl_ms: u32) {
        cache::set(key, value, ttl_ms)
    }
    pub fn cache_delete(key: &str) {
        cache::delete(key)
    }
    pub fn log(level: Level, message: &str) {
        log::log(level, message)
    }
    pub fn progress(stage: &Stage, message: Option<&str>) {
        progress::report(stage, message)
    }
    pub fn sleep(ms: u32) {
        timer::sleep(ms)
    }
    /// WASI's wall clock, which the host backs with its own.
    pub fn wall_clock_ms() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0)
    }
}

#[cfg(not(target_arch = "wasm32"))]
pub(crate) mod imp {
    use std::cell::RefCell;
    use std::rc::Rc;

    use super::*;

    /// What a native stand-in for the host answers. The `testing` feature's
    /// `FakeHost` is the implementation.
    pub(crate) trait Host {
        fn http_send(&self, request: &HttpRequest) -> Result<HttpResponse, HttpError>;
        fn cache_get(&self, key: &str) -> Option<Vec<u8>>;
        fn cache_set(&self, key: &str, value: &[u8], ttl_ms: u32);
        fn cache_delete(&self, key: &str);
        fn log(&self, level: Level, message: &str);
        fn progress(&self, stage: &Stage, message: Option<&str>);
        fn sleep(&self, ms: u32);
        fn wall_clock_ms(&self) -> u64;
    }

    thread_local! {
        static HOST: RefCell<Option<Rc<dyn Host>>> = const { RefCell::new(None) };
    }

    /// Installs `host` for this thread; returns the one it replaces.
    #[cfg_attr(not(feature = "testing"), allow(dead_code))]
    pub(crate) fn install(host: Option<Rc<dyn Host>>) -> Option<Rc<dyn Host>> {
        HOST.with(|h| std::mem::replace(&mut *h.borrow_mut(), host))
    }

    /// The installed host. Cloned out of the cell so that a fake answering a
    /// request may itself run plugin code that calls the host.
    fn host(call: &str) -> Rc<dyn Host> {
        HOST.with(|h| h.borrow().clone()).unwrap_or_else(|| {
            panic!(
                "vetpay-sdk: host call `{call}` outside a plugin component, and no fake host \
                 is installed on this thread: in a native test, enable the `testing` feature \
                 of vetpay-sdk and install one with `vetpay_sdk::testing::FakeHost::install()`"
            )
        })
    }

    pub fn http_send(request: &HttpRequest) -> Result<HttpResponse, HttpError> {
        host("http.send").http_send(request)
    }
    pub fn cache_get(key: &str) -> Option<Vec<u8>> {
        host("cache.get").cache_get(key)
    }
    pub fn cache_set(key: &str, value: &[u8], ttl_ms: u32) {
        host("cache.set").cache_set(key, value, ttl_ms)
    }
    pub fn cache_delete(key: &str) {
        host("cache.delete").cache_delete(key)
    }
    pub fn log(level: Level, message: &str) {
        host("log").log(level, message)
    }
    pub fn progress(stage: &Stage, message: Option<&str>) {
        host("progress.report").progress(stage, message)
    }
    pub fn sleep(ms: u32) {
        host("timer.sleep").sleep(ms)
    }
    pub fn wall_clock_ms() -> u64 {
        host("wall clock").wall_clock_ms()
    }
}

pub(crate) use imp::*;
