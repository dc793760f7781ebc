//! Loading plugins and calling them: one engine, an `InstancePre` per plugin, a
//! fresh `Store` per call with its memory limit, deadline and concurrency slot.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use tokio::sync::Semaphore;
use vetpay_money::{Currency, Money};
// `WasmStore` so that it is never confused with the database's `Store`.
use wasmtime::Store as WasmStore;
use wasmtime::component::{ComponentExportIndex, InstancePre, Linker};
use wasmtime::{Engine, Trap, UpdateDeadline};

pub use super::call_env::CallEnv;
use super::compiled_cache::{self, CodeSource};
use super::contract::{self, PluginFileInfo};
use super::egress::EgressPolicy;
use super::engine::{self, AllocatorKind, EngineConfig, EpochTicker};
use super::error::{CallError, LoadError};
use super::http_client::{self, HttpLimits};
use super::kv::{MemoryCache, PluginCache};
use super::manifest::{Capability, Manifest};
use super::network::NetworkPolicy;
use super::provider::PaymentProvider;
use super::scrub::Scrub;
use super::secrets::{self, FormsCache, SecretVault};
use super::send_gate::SendGate;
use super::state::{CallLimiter, CallScope, CallState, DeadlineExceeded, MemoryLimitExceeded};
use super::stdio::PluginOutput;
use super::types::{
    AbortRequest, CallContext, Outcome, PaymentRequest, Reconciliation, SaveCardRequest, Setting,
    StatusQuery, TerminalInfo, TokenCharge, TokenRefund,
};
use super::validate::{self, Expected, Invalid};
use super::wit::{Answer, Call, Contract};

/// Wall-clock deadlines per export. They cover time spent in host calls too.
#[derive(Debug, Clone)]
pub struct Deadlines {
    /// Card-present calls wait on a card holder: minutes.
    pub process: Duration,
    pub save_card: Duration,
    /// The rest answer in seconds.
    pub abort: Duration,
    pub status: Duration,
    pub charge_token: Duration,
    pub refund_token: Duration,
    pub list_terminals: Duration,
    pub reconcile: Duration,
}

impl Default for Deadlines {
    fn default() -> Self {
        Self {
            process: Duration::from_secs(6 * 60),
            save_card: Duration::from_secs(6 * 60),
            abort: Duration::from_secs(15),
            status: Duration::from_secs(30),
            charge_token: Duration::from_secs(45),
            refund_token: Duration::from_secs(45),
            list_terminals: Duration::from_secs(15),
            reconcile: Duration::from_secs(90),
        }
    }
}

impl Deadlines {
    pub fn of(&self, export: Capability) -> Duration {
        match export {
            Capability::Process => self.process,
            Capability::SaveCard => self.save_card,
            Capability::Abort => self.abort,
            Capability::Status => self.status,
            Capability::ChargeToken => self.charge_token,
            Capability::RefundToken => self.refund_token,
            Capability::ListTerminals => self.list_terminals,
            Capability::Reconcile => self.reconcile,
        }
    }

    /// Every deadline set to `d`; for tests of deadline handling.
    pub fn all(d: Duration) -> Self {
        Self {
            process: d,
            save_card: d,
            abort: d,
            status: d,
            charge_token: d,
            refund_token: d,
            list_terminals: d,
            reconcile: d,
        }
    }
}

/// How the runtime limits plugins.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// Where compiled code is cached; `None` compiles on every load.
    pub compiled_cache_dir: Option<PathBuf>,
    /// Linear memory of one call.
    pub memory_limit: usize,
    pub deadlines: Deadlines,
    /// Calls of one plugin that may run at once.
    pub max_concurrent_calls: usize,
    /// How long a call waits for a free slot before it is refused (not sent).
    pub queue_timeout: Duration,
    pub http: HttpLimits,
    /// Which special addresses (loopback, private, ...) plugins may reach: the
    /// operator's decision, never an organisation admin's.
    pub network: NetworkPolicy,
    /// Component instances the pooling allocator holds, over all plugins.
    pub pool_instances: u32,
    pub prefer_pooling: bool,
    pub epoch_tick: Duration,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        Self {
            compiled_cache_dir: None,
            memory_limit: 64 * 1024 * 1024,
            deadlines: Deadlines::default(),
            max_concurrent_calls: 64,
            queue_timeout: Duration::from_secs(10),
            http: HttpLimits::default(),
            network: NetworkPolicy::public_only(),
            pool_instances: 256,
            prefer_pooling: true,
            epoch_tick: Duration::from_millis(5),
        }
    }
}

/// Extra time after a deadline before the host stops waiting for a call that
/// did not end itself (the epoch check normally ends it first).
const DEADLINE_GRACE: Duration = Duration::from_millis(500);

struct Inner {
    engine: Engine,
    linker: Linker<CallState>,
    allocator: AllocatorKind,
    config: RuntimeConfig,
    http: reqwest::Client,
    cache: Arc<dyn PluginCache>,
    _ticker: EpochTicker,
}

/// The plugin runtime of a host. Cheap to clone.
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<Inner>,
}

/// Why the runtime could not start.
#[derive(Debug, thiserror::Error)]
#[error("the plugin runtime could not start: {0}")]
pub struct RuntimeError(String);

impl Runtime {
    pub fn new(config: RuntimeConfig) -> Result<Self, RuntimeError> {
        Self::with_cache(config, Arc::new(MemoryCache::default()))
    }

    /// A runtime whose plugins' `cache` import is backed by `cache`.
    pub fn with_cache(
        config: RuntimeConfig,
        cache: Arc<dyn PluginCache>,
    ) -> Result<Self, RuntimeError> {
        let (engine, allocator) = engine::build(&EngineConfig {
            pool_instances: config.pool_instances,
            memory_limit: config.memory_limit,
            prefer_pooling: config.prefer_pooling,
            epoch_tick: config.epoch_tick,
        })
        .map_err(|e| RuntimeError(format!("{e:#}")))?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)
            .map_err(|e| RuntimeError(format!("linking WASI: {e:#}")))?;
        Contract::add_all_to_linker(&mut linker)
            .map_err(|e| RuntimeError(format!("linking the contract: {e:#}")))?;
        let ticker = EpochTicker::start(engine.clone(), config.epoch_tick);
        Ok(Self {
            inner: Arc::new(Inner {
                http: http_client::client(&config.http, &config.network),
                engine,
                linker,
                allocator,
                config,
                cache,
                _ticker: ticker,
            }),
        })
    }

    pub fn allocator(&self) -> AllocatorKind {
        self.inner.allocator
    }

    pub fn config(&self) -> &RuntimeConfig {
        &self.inner.config
    }

    /// Loads a plugin from a file.
    pub async fn load_file(&self, path: impl AsRef<Path>) -> Result<WasmPlugin, LoadError> {
        let path = path.as_ref();
        let bytes = tokio::fs::read(path)
            .await
            .map_err(|source| LoadError::Read {
                path: path.display().to_string(),
                source,
            })?;
        self.load(bytes).await
    }

    /// Validates the manifest, then compiles (or loads from the disk cache) and
    /// links the component.
    pub async fn load(&self, bytes: Vec<u8>) -> Result<WasmPlugin, LoadError> {
        let info = contract::inspect(&bytes)?;
        let inner = self.inner.clone();
        let sha = info.sha256.clone();
        let (component, source) = tokio::task::spawn_blocking(move || {
            compiled_cache::load_or_compile(
                &inner.engine,
                inner.config.compiled_cache_dir.as_deref(),
                &sha,
                &bytes,
            )
        })
        .await
        .map_err(|e| LoadError::Compile(e.to_string()))?
        .map_err(|e| LoadError::Compile(format!("{e:#}")))?;
        let pre = self
            .inner
            .linker
            .instantiate_pre(&component)
            .map_err(|e| LoadError::Link(format!("{e:#}")))?;
        let exports = ExportIndices::resolve(&pre, &info.exported_contract)?;
        let contract = Contract::of(&info.exported_contract).ok_or_else(|| {
            LoadError::Link(format!(
                "this host has no bindings for contract {}",
                info.exported_contract
            ))
        })?;
        self.check_exports(&info.manifest.id, contract, &pre)
            .await?;
        tracing::info!(plugin = %info.manifest.id, version = %info.manifest.version,
            sha256 = %info.sha256, ?source, "plugin loaded");
        Ok(WasmPlugin {
            inner: Arc::new(PluginInner {
                id: info.manifest.id.as_str().into(),
                slots: Arc::new(Semaphore::new(self.inner.config.max_concurrent_calls)),
                runtime: self.inner.clone(),
                info,
                pre,
                exports,
                contract,
                source,
                forms: FormsCache::default(),
            }),
        })
    }

    /// Instantiates the plugin once, in a throwaway store, through the
    /// generated bindings: that type-checks every export against the contract
    /// and shows the component instantiates at all.
    async fn check_exports(
        &self,
        plugin: &str,
        contract: Contract,
        pre: &InstancePre<CallState>,
    ) -> Result<(), LoadError> {
        let config = &self.inner.config;
        let id: Arc<str> = plugin.into();
        let scope = self
            .inner
            .scope(id.clone(), Instant::now() + config.deadlines.list_terminals);
        let mut store = new_store(
            &self.inner,
            scope,
            PluginOutput::new(id.clone(), "stdout"),
            PluginOutput::new(id, "stderr"),
        );
        contract.check(pre, &mut store).await.map_err(|e| {
            LoadError::Link(format!("the component does not match the contract: {e:#}"))
        })
    }
}

/// Where each export sits in the component, looked up once at load.
struct ExportIndices([ComponentExportIndex; Capability::ALL.len()]);

impl ExportIndices {
    fn resolve(pre: &InstancePre<CallState>, version: &semver::Version) -> Result<Self, LoadError> {
        let component = pre.component();
        let interface = format!("{}/provider@{version}", contract::CONTRACT_PACKAGE);
        let missing =
            |what: String| LoadError::Link(format!("the component does not export {what}"));
        let instance = component
            .get_export_index(None, &interface)
            .ok_or_else(|| missing(interface.clone()))?;
        let mut found = Vec::with_capacity(Capability::ALL.len());
        for capability in Capability::ALL {
            let name = capability.export_name();
            let index = component
                .get_export_index(Some(&instance), name)
                .ok_or_else(|| missing(format!("{interface}#{name}")))?;
            found.push(index);
        }
        let all = found
            .try_into()
            .map_err(|_| missing("every export".into()))?;
        Ok(Self(all))
    }

    fn of(&self, capability: Capability) -> &ComponentExportIndex {
        let slot = Capability::ALL
            .iter()
            .position(|c| *c == capability)
            .unwrap_or(0);
        &self.0[slot]
    }
}

impl Inner {
    /// The host-call scope of one call of `plugin`, granting nothing that is
    /// specific to a caller (no organisation, secrets or extra hosts).
    fn scope(&self, plugin: Arc<str>, deadline: Instant) -> CallScope {
        CallScope {
            plugin,
            organisation: String::new(),
            secrets: SecretVault::default(),
            egress: EgressPolicy::default(),
            progress: None,
            deadline,
            http: self.http.clone(),
            http_limits: self.config.http.clone(),
            network: self.config.network.clone(),
            cache: self.cache.clone(),
            first_send: None,
        }
    }
}

/// A store for one call of a plugin, with its limits.
fn new_store(
    rt: &Inner,
    scope: CallScope,
    stdout: PluginOutput,
    stderr: PluginOutput,
) -> WasmStore<CallState> {
    let limiter = CallLimiter {
        memory_limit: rt.config.memory_limit,
        table_elements: 20_000,
    };
    let deadline = scope.deadline;
    let mut store = WasmStore::new(&rt.engine, CallState::new(scope, limiter, stdout, stderr));
    store.limiter(|s| &mut s.limiter);
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(move |_| {
        if Instant::now() >= deadline {
            Err(wasmtime::Error::new(DeadlineExceeded))
        } else {
            // Yield at every tick so that other calls on this thread progress.
            Ok(UpdateDeadline::Yield(1))
        }
    });
    store
}

struct PluginInner {
    runtime: Arc<Inner>,
    info: PluginFileInfo,
    id: Arc<str>,
    pre: InstancePre<CallState>,
    exports: ExportIndices,
    contract: Contract,
    slots: Arc<Semaphore>,
    source: CodeSource,
    /// Scrubbing forms of the secret sets this plugin was called with.
    forms: FormsCache,
}

/// A loaded plugin. Cheap to clone; every call gets a fresh instance.
#[derive(Clone)]
pub struct WasmPlugin {
    inner: Arc<PluginInner>,
}

/// One export call on a fresh instance, boxed so the runtime can drive it under
/// its limits.
type Invoke<R> = Box<dyn for<'a> FnOnce(Call<'a>) -> BoxFuture<'a, Answer<R>> + Send>;

impl WasmPlugin {
    pub fn manifest(&self) -> &Manifest {
        &self.inner.info.manifest
    }

    pub fn info(&self) -> &PluginFileInfo {
        &self.inner.info
    }

    pub fn sha256(&self) -> &str {
        &self.inner.info.sha256
    }

    /// Whether the code came from the disk cache.
    pub fn code_source(&self) -> CodeSource {
        self.inner.source
    }

    fn id(&self) -> String {
        self.inner.id.to_string()
    }

    /// Runs a card-present purchase, refund or deposit.
    pub async fn process(
        &self,
        env: &CallEnv,
        request: PaymentRequest,
    ) -> Result<Outcome, CallError> {
        let expected = self.expected(&request.amount, false)?;
        let out = self
            .call(
                env,
                Capability::Process,
                Box::new(move |call| Box::pin(async move { call.process(&request).await })),
            )
            .await?;
        self.check_outcome(Capability::Process, out, expected)
    }

    /// Asks the provider to abort a running request.
    pub async fn abort(&self, env: &CallEnv, request: AbortRequest) -> Result<(), CallError> {
        self.call(
            env,
            Capability::Abort,
            Box::new(move |call| Box::pin(async move { call.abort(&request).await })),
        )
        .await
    }

    /// Asks what happened to an earlier request.
    pub async fn status(&self, env: &CallEnv, query: StatusQuery) -> Result<Outcome, CallError> {
        let expected = self.expected(&query.amount, false)?;
        let out = self
            .call(
                env,
                Capability::Status,
                Box::new(move |call| Box::pin(async move { call.status(&query).await })),
            )
            .await?;
        self.check_outcome(Capability::Status, out, expected)
    }

    /// Charges a saved card.
    pub async fn charge_token(
        &self,
        env: &CallEnv,
        request: TokenCharge,
    ) -> Result<Outcome, CallError> {
        let expected = self.expected(&request.amount, false)?;
        let out = self
            .call(
                env,
                Capability::ChargeToken,
                Box::new(move |call| Box::pin(async move { call.charge_token(&request).await })),
            )
            .await?;
        self.check_outcome(Capability::ChargeToken, out, expected)
    }

    /// Refunds to the card of an earlier transaction.
    pub async fn refund_token(
        &self,
        env: &CallEnv,
        request: TokenRefund,
    ) -> Result<Outcome, CallError> {
        let expected = self.expected(&request.amount, false)?;
        let out = self
            .call(
                env,
                Capability::RefundToken,
                Box::new(move |call| Box::pin(async move { call.refund_token(&request).await })),
            )
            .await?;
        self.check_outcome(Capability::RefundToken, out, expected)
    }

    /// Saves a card presented on a terminal.
    pub async fn save_card(
        &self,
        env: &CallEnv,
        request: SaveCardRequest,
    ) -> Result<Outcome, CallError> {
        let zero = super::types::Money {
            minor_units: 0,
            currency: request.currency.clone(),
        };
        let expected = self.expected(&zero, true)?;
        let out = self
            .call(
                env,
                Capability::SaveCard,
                Box::new(move |call| Box::pin(async move { call.save_card(&request).await })),
            )
            .await?;
        self.check_outcome(Capability::SaveCard, out, expected)
    }

    /// Lists the provider account's terminals.
    pub async fn list_terminals(&self, env: &CallEnv) -> Result<Vec<TerminalInfo>, CallError> {
        let list: Vec<TerminalInfo> = self
            .call(
                env,
                Capability::ListTerminals,
                Box::new(move |call| Box::pin(async move { call.list_terminals().await })),
            )
            .await?;
        validate::terminals(&list).map_err(|e| self.invalid(Capability::ListTerminals, e))?;
        Ok(list)
    }

    /// Runs End of Day on a terminal.
    pub async fn reconcile(
        &self,
        env: &CallEnv,
        terminal_id: &str,
    ) -> Result<Reconciliation, CallError> {
        let terminal = terminal_id.to_owned();
        let report = self
            .call(
                env,
                Capability::Reconcile,
                Box::new(move |call| Box::pin(async move { call.reconcile(&terminal).await })),
            )
            .await?;
        validate::reconciliation(&report).map_err(|e| self.invalid(Capability::Reconcile, e))?;
        Ok(report)
    }

    /// Checks a request amount before anything runs: a known currency that the
    /// plugin handles, and not negative.
    fn expected(
        &self,
        amount: &super::types::Money,
        zero_amount: bool,
    ) -> Result<Expected, CallError> {
        let currency = Currency::parse(&amount.currency)
            .map_err(|e| CallError::InvalidRequest(e.to_string()))?;
        let manifest = self.manifest();
        if !manifest.currencies.contains(&currency) {
            return Err(CallError::CurrencyNotServed {
                plugin: self.id(),
                currency: currency.to_string(),
                served: join(manifest.currencies.iter()),
            });
        }
        if amount.minor_units < 0 || (amount.minor_units == 0 && !zero_amount) {
            return Err(CallError::InvalidRequest(format!(
                "the amount must be positive (the kind of request gives its direction), got {}",
                amount.minor_units
            )));
        }
        Ok(Expected {
            amount: Money::new(amount.minor_units, currency),
            zero_amount,
        })
    }

    fn check_outcome(
        &self,
        export: Capability,
        out: Outcome,
        expected: Expected,
    ) -> Result<Outcome, CallError> {
        validate::outcome(out, expected).map_err(|e| self.invalid(export, e))
    }

    fn invalid(&self, export: Capability, invalid: Invalid) -> CallError {
        let plugin = self.id();
        let err = match invalid {
            Invalid::Malformed(reason) => CallError::Malformed {
                plugin,
                export: export.to_string(),
                reason,
            },
            Invalid::AmountMismatch {
                requested,
                reported,
                approval,
            } => CallError::AmountMismatch {
                plugin,
                requested,
                reported,
                approval,
            },
        };
        tracing::error!(plugin = %self.inner.id, %export, error = %err, "plugin answer refused");
        err
    }

    /// The call context the plugin sees, and the secrets it must not see.
    fn context(&self, env: &CallEnv) -> Result<(CallContext, SecretVault), CallError> {
        let manifest = self.manifest();
        if !manifest.markets.contains(&env.market) {
            return Err(CallError::MarketNotServed {
                plugin: self.id(),
                market: env.market.clone(),
                served: manifest.markets.join(", "),
            });
        }
        let mut vault = SecretVault::default();
        let mut organisation = Vec::new();
        let mut department = Vec::new();
        for spec in &manifest.settings {
            for (given, out) in [
                (&env.organisation_settings, &mut organisation),
                (&env.department_settings, &mut department),
            ] {
                if let Some(value) = given.get(&spec.key) {
                    let value = if spec.secret {
                        vault.insert(spec.key.clone(), value.clone());
                        secrets::placeholder(&spec.key)
                    } else {
                        value.clone()
                    };
                    out.push(Setting {
                        key: spec.key.clone(),
                        value,
                    });
                }
            }
            let given_anywhere = env.organisation_settings.contains_key(&spec.key)
                || env.department_settings.contains_key(&spec.key);
            if let (false, Some(default)) = (given_anywhere, &spec.default) {
                organisation.push(Setting {
                    key: spec.key.clone(),
                    value: default.clone(),
                });
            }
        }
        self.inner.forms.attach(&mut vault);
        Ok((
            CallContext {
                market: env.market.clone(),
                organisation_id: env.organisation_id.clone(),
                department_id: env.department_id.clone(),
                organisation_settings: organisation,
                department_settings: department,
            },
            vault,
        ))
    }

    /// Runs one export on a fresh instance under the call's limits.
    async fn call<R: Send + Scrub + 'static>(
        &self,
        env: &CallEnv,
        export: Capability,
        invoke: Invoke<R>,
    ) -> Result<R, CallError> {
        let plugin = self.id();
        if !self.manifest().supports(export) {
            return Err(CallError::NotSupported {
                plugin,
                export: export.to_string(),
            });
        }
        let (ctx, secrets) = self.context(env)?;
        // What comes back is scrubbed with the same values that went out.
        let vault = secrets.clone();
        let rt = &self.inner.runtime;
        let config = &rt.config;
        let queued = Instant::now();
        // The common case, a free slot, needs no timer.
        let _slot = match self.inner.slots.clone().try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) => tokio::time::timeout(
                config.queue_timeout,
                self.inner.slots.clone().acquire_owned(),
            )
            .await
            .ok()
            .and_then(Result::ok)
            .ok_or_else(|| CallError::Busy {
                plugin: plugin.clone(),
                limit: config.max_concurrent_calls,
                waited: queued.elapsed(),
            })?,
        };

        let slot_wait = queued.elapsed();
        let budget = config.deadlines.of(export);
        let deadline = Instant::now() + budget;
        let stdout = PluginOutput::new(self.inner.id.clone(), "stdout").with_secrets(&vault);
        let stderr = PluginOutput::new(self.inner.id.clone(), "stderr").with_secrets(&vault);
        let scope = CallScope {
            organisation: env.organisation_id.clone(),
            secrets,
            egress: EgressPolicy {
                manifest: self.manifest().allowed_hosts.clone(),
                admin: env.extra_allowed_hosts.clone(),
            },
            progress: env.progress.clone(),
            first_send: env
                .first_send
                .clone()
                .map(|mark| Arc::new(SendGate::new(mark))),
            ..rt.scope(self.inner.id.clone(), deadline)
        };
        let made = Instant::now();
        let mut store = new_store(rt, scope, stdout, stderr.clone());
        let store_made = made.elapsed();

        let pre = &self.inner.pre;
        let mut instantiated = Duration::ZERO;
        let running = Instant::now();
        let run = async {
            let instance = pre
                .instantiate_async(&mut store)
                .await
                .map_err(Failed::Instantiate)?;
            instantiated = running.elapsed();
            invoke(Call {
                contract: self.inner.contract,
                instance: &instance,
                index: self.inner.exports.of(export),
                store: &mut store,
                ctx: &ctx,
            })
            .await
            .map_err(Failed::Call)
        };
        let result = tokio::time::timeout(budget + DEADLINE_GRACE, run).await;
        let ran = running.elapsed().saturating_sub(instantiated);
        let http = store.data().http;
        let dropping = Instant::now();
        drop(store);
        // Where a call's time went, for profiling (`RUST_LOG=vetpay::plugin_phases=trace`);
        // `run` includes `http`, the time spent in the HTTP import, which includes
        // its checks before sending and the reading of the body.
        tracing::trace!(target: "vetpay::plugin_phases", plugin = %self.inner.id, %export,
            slot_us = micros(slot_wait), store_us = micros(store_made),
            instantiate_us = micros(instantiated), run_us = micros(ran),
            http_us = micros(http.total), http_checks_us = micros(http.checks),
            http_body_us = micros(http.body), drop_us = micros(dropping.elapsed()),
            "plugin call phases");
        let stderr_tail = summarise_stderr(&stderr.finish());
        let export_name = export.to_string();
        let mut outcome = match result {
            Err(_) => Err(CallError::Deadline {
                plugin,
                export: export_name,
                deadline: budget,
            }),
            Ok(Err(Failed::Instantiate(e))) => Err(CallError::Instantiate {
                plugin,
                message: format!("{e:#}"),
            }),
            Ok(Err(Failed::Call(e))) => Err(classify(e, plugin, export_name, budget, stderr_tail)),
            Ok(Ok(Err(error))) => Err(CallError::Plugin { plugin, error }),
            Ok(Ok(Ok(value))) => Ok(value),
        };
        outcome.scrub(&vault);
        if let Err(e) = &outcome {
            tracing::warn!(plugin = %self.inner.id, %export, kind = e.kind(),
                disposition = ?e.disposition(), error = %e, "plugin call failed");
        }
        outcome
    }
}

/// Where a call that did not return stopped.
enum Failed {
    Instantiate(wasmtime::Error),
    Call(wasmtime::Error),
}

/// Names what ended a call that did not return.
fn classify(
    e: wasmtime::Error,
    plugin: String,
    export: String,
    deadline: Duration,
    stderr: String,
) -> CallError {
    if e.is::<DeadlineExceeded>() {
        return CallError::Deadline {
            plugin,
            export,
            deadline,
        };
    }
    if let Some(m) = e.downcast_ref::<MemoryLimitExceeded>() {
        return CallError::MemoryLimit {
            plugin,
            export,
            requested: m.requested,
            limit: m.limit,
        };
    }
    let message = match e.downcast_ref::<Trap>() {
        Some(trap) => trap.to_string(),
        None => format!("{e:#}"),
    };
    CallError::Trap {
        plugin,
        export,
        message,
        stderr,
    }
}

/// The plugin's last stderr lines on one line, without Rust's backtrace hint.
fn summarise_stderr(tail: &str) -> String {
    tail.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("note: run with `RUST_BACKTRACE"))
        .collect::<Vec<_>>()
        .join(" | ")
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

fn join<T: std::fmt::Display>(items: impl Iterator<Item = T>) -> String {
    items.map(|i| i.to_string()).collect::<Vec<_>>().join(", ")
}

#[async_trait::async_trait]
impl PaymentProvider for WasmPlugin {
    fn info(&self) -> &PluginFileInfo {
        WasmPlugin::info(self)
    }

    async fn process(&self, env: &CallEnv, request: PaymentRequest) -> Result<Outcome, CallError> {
        WasmPlugin::process(self, env, request).await
    }

    async fn abort(&self, env: &CallEnv, request: AbortRequest) -> Result<(), CallError> {
        WasmPlugin::abort(self, env, request).await
    }

    async fn status(&self, env: &CallEnv, query: StatusQuery) -> Result<Outcome, CallError> {
        WasmPlugin::status(self, env, query).await
    }

    async fn charge_token(
        &self,
        env: &CallEnv,
        request: TokenCharge,
    ) -> Result<Outcome, CallError> {
        WasmPlugin::charge_token(self, env, request).await
    }

    async fn refund_token(
        &self,
        env: &CallEnv,
        request: TokenRefund,
    ) -> Result<Outcome, CallError> {
        WasmPlugin::refund_token(self, env, request).await
    }

    async fn save_card(
        &self,
        env: &CallEnv,
        request: SaveCardRequest,
    ) -> Result<Outcome, CallError> {
        WasmPlugin::save_card(self, env, request).await
    }

    async fn list_terminals(&self, env: &CallEnv) -> Result<Vec<TerminalInfo>, CallError> {
        WasmPlugin::list_terminals(self, env).await
    }

    async fn reconcile(
        &self,
        env: &CallEnv,
        terminal_id: &str,
    ) -> Result<Reconciliation, CallError> {
        WasmPlugin::reconcile(self, env, terminal_id).await
    }
}
