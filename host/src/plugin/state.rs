//! The state of one call's `Store`: WASI with nothing granted, the memory
//! limiter, and the host side of the `log`, `progress`, `cache` and `timer`
//! imports. A fresh one is made for every call.

use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::egress::EgressPolicy;
use super::http_limits::HttpLimits;
use super::kv::{self, PluginCache};
use super::network::NetworkPolicy;
use super::secrets::SecretVault;
use super::send_gate::SendGate;
use super::stdio::PluginOutput;
use super::types::Stage;

/// Longest log message kept; longer ones are cut.
const MAX_LOG_MESSAGE: usize = 8 * 1024;
/// Log lines and progress reports one call may make; the rest are dropped, so a
/// plugin in a loop cannot flood the log or the payment dialog.
const MAX_EVENTS_PER_CALL: u32 = 1000;

/// Something a plugin reported about a running call, for the payment dialog.
#[derive(Debug, Clone)]
pub struct ProgressEvent {
    pub plugin: String,
    pub stage: Stage,
    pub message: Option<String>,
}

/// Where progress reports of a call go.
pub type ProgressSink = tokio::sync::mpsc::UnboundedSender<ProgressEvent>;

/// Error raised in the guest when the wall-clock deadline passes.
#[derive(Debug, thiserror::Error)]
#[error("the call's deadline passed")]
pub struct DeadlineExceeded;

/// Error raised in the guest when it grows memory past the limit.
#[derive(Debug, thiserror::Error)]
#[error("memory limit of {limit} bytes exceeded (asked for {requested})")]
pub struct MemoryLimitExceeded {
    pub requested: usize,
    pub limit: usize,
}

/// Caps linear memory and tables of one call.
pub struct CallLimiter {
    pub memory_limit: usize,
    pub table_elements: usize,
}

impl ResourceLimiter for CallLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_limit {
            // An error (rather than a failed memory.grow) traps at once with a
            // cause the host can name, instead of a later allocator abort.
            return Err(wasmtime::Error::new(MemoryLimitExceeded {
                requested: desired,
                limit: self.memory_limit,
            }));
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= self.table_elements)
    }
}

/// What the host imports need to know about the call they serve.
pub struct CallScope {
    pub plugin: Arc<str>,
    pub organisation: String,
    pub secrets: SecretVault,
    pub egress: EgressPolicy,
    pub progress: Option<ProgressSink>,
    pub deadline: Instant,
    pub http: reqwest::Client,
    pub http_limits: HttpLimits,
    pub network: NetworkPolicy,
    pub cache: Arc<dyn PluginCache>,
    /// Asked before the call's first request leaves; `None` for calls that
    /// move no money (status, abort, list-terminals, reconcile).
    pub first_send: Option<Arc<SendGate>>,
}

impl CallScope {
    /// Time left before the call's deadline.
    pub fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    fn cache_scope(&self) -> kv::Scope {
        kv::Scope {
            plugin: self.plugin.to_string(),
            organisation: self.organisation.clone(),
        }
    }
}

/// Where an HTTP request spent its time, or a call's requests summed, for the
/// call's phase report.
#[derive(Debug, Default, Clone, Copy)]
pub struct HttpTiming {
    /// From the plugin's request to the moment it leaves: checks, secrets, the send gate.
    pub checks: Duration,
    /// Reading the body, once the status and headers are in.
    pub body: Duration,
    /// All of it.
    pub total: Duration,
}

impl HttpTiming {
    /// Counts one more request.
    pub fn add(&mut self, request: HttpTiming) {
        self.checks += request.checks;
        self.body += request.body;
        self.total += request.total;
    }
}

pub struct CallState {
    pub wasi: WasiCtx,
    pub table: ResourceTable,
    pub limiter: CallLimiter,
    pub scope: CallScope,
    events: u32,
    /// Time spent in the HTTP import so far, for the call's phase report.
    pub http: HttpTiming,
}

impl CallState {
    /// A state whose WASI grants clocks, random and the given stdout/stderr only:
    /// no preopened directories, no environment, no arguments, no sockets.
    pub fn new(
        scope: CallScope,
        limiter: CallLimiter,
        stdout: PluginOutput,
        stderr: PluginOutput,
    ) -> Self {
        let wasi = WasiCtx::builder()
            .stdout(stdout)
            .stderr(stderr)
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .socket_addr_check(|_, _| Box::pin(async { false }))
            .build();
        Self {
            wasi,
            table: ResourceTable::new(),
            limiter,
            scope,
            events: 0,
            http: HttpTiming::default(),
        }
    }

    /// Counts a log line or progress report; false once the call used its share.
    fn admit_event(&mut self) -> bool {
        self.events += 1;
        if self.events == MAX_EVENTS_PER_CALL + 1 {
            tracing::warn!(
                plugin = &*self.scope.plugin,
                "plugin made more than {MAX_EVENTS_PER_CALL} log lines and progress reports in one call; the rest are dropped"
            );
        }
        self.events <= MAX_EVENTS_PER_CALL
    }
}

impl WasiView for CallState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// The host side of the imports, free of any contract version: each version's
/// module in `plugin/wit` implements its generated traits with these.
impl CallState {
    pub(crate) fn log_line(&mut self, level: tracing::Level, message: String) {
        if !self.admit_event() {
            return;
        }
        let mut message = self.scope.secrets.redact(&message);
        if message.len() > MAX_LOG_MESSAGE {
            let mut cut = MAX_LOG_MESSAGE;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
            message.push_str(" [cut]");
        }
        let plugin = &*self.scope.plugin;
        match level {
            tracing::Level::TRACE => tracing::trace!(target: "vetpay::plugin", plugin, "{message}"),
            tracing::Level::DEBUG => tracing::debug!(target: "vetpay::plugin", plugin, "{message}"),
            tracing::Level::INFO => tracing::info!(target: "vetpay::plugin", plugin, "{message}"),
            tracing::Level::WARN => tracing::warn!(target: "vetpay::plugin", plugin, "{message}"),
            tracing::Level::ERROR => tracing::error!(target: "vetpay::plugin", plugin, "{message}"),
        }
    }

    pub(crate) fn report_progress(&mut self, stage: Stage, message: Option<String>) {
        if !self.admit_event() {
            return;
        }
        let message = message.map(|m| self.scope.secrets.redact(&m));
        tracing::debug!(plugin = &*self.scope.plugin, ?stage, ?message, "progress");
        if let Some(sink) = &self.scope.progress {
            // A closed receiver only means nobody watches any more.
            let _ = sink.send(ProgressEvent {
                plugin: self.scope.plugin.to_string(),
                stage,
                message: message.map(|m| m.chars().take(500).collect()),
            });
        }
    }

    pub(crate) async fn cache_get(&mut self, key: String) -> Option<Vec<u8>> {
        if key.len() > kv::MAX_KEY_BYTES {
            return None;
        }
        self.scope.cache.get(&self.scope.cache_scope(), &key).await
    }

    pub(crate) async fn cache_set(&mut self, key: String, value: Vec<u8>, ttl_ms: u32) {
        if key.len() > kv::MAX_KEY_BYTES || value.len() > kv::MAX_VALUE_BYTES {
            tracing::warn!(
                plugin = &*self.scope.plugin,
                key_bytes = key.len(),
                value_bytes = value.len(),
                "cache entry refused: keys hold at most {} bytes, values {}",
                kv::MAX_KEY_BYTES,
                kv::MAX_VALUE_BYTES
            );
            return;
        }
        let ttl = Duration::from_millis(u64::from(ttl_ms));
        self.scope
            .cache
            .set(&self.scope.cache_scope(), &key, value, ttl)
            .await;
    }

    pub(crate) async fn cache_delete(&mut self, key: String) {
        self.scope
            .cache
            .delete(&self.scope.cache_scope(), &key)
            .await;
    }

    pub(crate) async fn sleep_ms(&mut self, ms: u32) {
        // Never past the deadline: the epoch check then ends the call.
        let wanted = Duration::from_millis(u64::from(ms));
        tokio::time::sleep(wanted.min(self.scope.remaining())).await;
    }
}
