//! Contract 0.1.0 (`wit/since_v0.1.0`, frozen): its generated bindings, the host
//! imports it links, and the conversions between its types and the host's
//! (`plugin::types`). Nothing outside `plugin/wit` sees these bindings.

use wasmtime::Store as WasmStore;
use wasmtime::component::{
    ComponentExportIndex, ComponentNamedList, Instance, Lift, Linker, Lower,
};

use crate::plugin::state::CallState;
use crate::plugin::types as host;

wasmtime::component::bindgen!({
    world: "payment-terminal",
    path: "../wit/since_v0.1.0",
    imports: {
        // These wait on I/O or time, so they must not block the executor (the
        // cache may be the shared database when several hosts serve one clinic).
        "vetpay:terminal/http.send": async,
        "vetpay:terminal/timer.sleep": async,
        "vetpay:terminal/cache.get": async,
        "vetpay:terminal/cache.set": async,
        "vetpay:terminal/cache.delete": async,
    },
    exports: { default: async },
});

pub use self::vetpay::terminal::http;
use self::vetpay::terminal::{cache, log, progress, timer, types};

/// The version this module speaks.
pub const VERSION: &str = "0.1.0";

/// Adds this version's imports to the linker.
pub fn add_to_linker(linker: &mut Linker<CallState>) -> wasmtime::Result<()> {
    PaymentTerminal::add_to_linker::<_, wasmtime::component::HasSelf<CallState>>(linker, |s| s)
}

/// Instantiates through the generated bindings, which type-checks every
/// export against this version of the contract.
pub async fn check(
    pre: &wasmtime::component::InstancePre<CallState>,
    store: &mut WasmStore<CallState>,
) -> wasmtime::Result<()> {
    PaymentTerminalPre::new(pre.clone())?
        .instantiate_async(store)
        .await
        .map(|_| ())
}

pub use super::Answer;

/// Calls one export. Only this export is type-checked per call (the load
/// checked them all once); checking all eight cost a tenth of a call.
async fn call<P, R>(
    instance: &Instance,
    index: &ComponentExportIndex,
    store: &mut WasmStore<CallState>,
    params: P,
) -> wasmtime::Result<R>
where
    P: ComponentNamedList + Lower + Send + Sync,
    (R,): ComponentNamedList + Lift + Send + Sync,
    R: Send + Sync + 'static,
{
    let func = instance.get_typed_func::<P, (R,)>(&mut *store, index)?;
    Ok(func.call_async(&mut *store, params).await?.0)
}

fn back<W, H: From<W>>(r: Result<W, types::PluginError>) -> Result<H, host::PluginError> {
    r.map(H::from).map_err(host::PluginError::from)
}

/// Calls one export of this version with host-typed arguments.
pub struct Exports<'a> {
    pub instance: &'a Instance,
    pub index: &'a ComponentExportIndex,
    pub store: &'a mut WasmStore<CallState>,
    pub ctx: &'a host::CallContext,
}

impl Exports<'_> {
    fn ctx(&self) -> types::CallContext {
        self.ctx.into()
    }

    pub async fn process(self, r: &host::PaymentRequest) -> Answer<host::Outcome> {
        let ctx = self.ctx();
        let a: Result<types::Outcome, types::PluginError> = call(
            self.instance,
            self.index,
            self.store,
            (&ctx, &types::PaymentRequest::from(r)),
        )
        .await?;
        Ok(back(a))
    }

    pub async fn abort(self, r: &host::AbortRequest) -> Answer<()> {
        let ctx = self.ctx();
        let a: Result<(), types::PluginError> = call(
            self.instance,
            self.index,
            self.store,
            (&ctx, &types::AbortRequest::from(r)),
        )
        .await?;
        Ok(a.map_err(host::PluginError::from))
    }

    pub async fn status(self, q: &host::StatusQuery) -> Answer<host::Outcome> {
        let ctx = self.ctx();
        let a: Result<types::Outcome, types::PluginError> = call(
            self.instance,
            self.index,
            self.store,
            (&ctx, &types::StatusQuery::from(q)),
        )
        .await?;
        Ok(back(a))
    }

    pub async fn charge_token(self, r: &host::TokenCharge) -> Answer<host::Outcome> {
        let ctx = self.ctx();
        let a: Result<types::Outcome, types::PluginError> = call(
            self.instance,
            self.index,
            self.store,
            (&ctx, &types::TokenCharge::from(r)),
        )
        .await?;
        Ok(back(a))
    }

    pub async fn refund_token(self, r: &host::TokenRefund) -> Answer<host::Outcome> {
        let ctx = self.ctx();
        let a: Result<types::Outcome, types::PluginError> = call(
            self.instance,
            self.index,
            self.store,
            (&ctx, &types::TokenRefund::from(r)),
        )
        .await?;
        Ok(back(a))
    }

    pub async fn save_card(self, r: &host::SaveCardRequest) -> Answer<host::Outcome> {
        let ctx = self.ctx();
        let a: Result<types::Outcome, types::PluginError> = call(
            self.instance,
            self.index,
            self.store,
            (&ctx, &types::SaveCardRequest::from(r)),
        )
        .await?;
        Ok(back(a))
    }

    pub async fn list_terminals(self) -> Answer<Vec<host::TerminalInfo>> {
        let ctx = self.ctx();
        let a: Result<Vec<types::TerminalInfo>, types::PluginError> =
            call(self.instance, self.index, self.store, (&ctx,)).await?;
        Ok(a.map(|l| l.into_iter().map(Into::into).collect())
            .map_err(host::PluginError::from))
    }

    pub async fn reconcile(self, terminal_id: &str) -> Answer<host::Reconciliation> {
        let ctx = self.ctx();
        let a: Result<types::Reconciliation, types::PluginError> =
            call(self.instance, self.index, self.store, (&ctx, terminal_id)).await?;
        Ok(back(a))
    }
}

// ---- the host imports of this version, delegating to the version-free host side

impl types::Host for CallState {}

impl log::Host for CallState {
    fn log(&mut self, level: log::Level, message: String) {
        let level = match level {
            log::Level::Trace => tracing::Level::TRACE,
            log::Level::Debug => tracing::Level::DEBUG,
            log::Level::Info => tracing::Level::INFO,
            log::Level::Warn => tracing::Level::WARN,
            log::Level::Error => tracing::Level::ERROR,
        };
        self.log_line(level, message);
    }
}

impl progress::Host for CallState {
    fn report(&mut self, stage: progress::Stage, message: Option<String>) {
        self.report_progress(stage.into(), message);
    }
}

impl cache::Host for CallState {
    async fn get(&mut self, key: String) -> Option<Vec<u8>> {
        self.cache_get(key).await
    }

    async fn set(&mut self, key: String, value: Vec<u8>, ttl_ms: u32) {
        self.cache_set(key, value, ttl_ms).await
    }

    async fn delete(&mut self, key: String) {
        self.cache_delete(key).await
    }
}

impl timer::Host for CallState {
    async fn sleep(&mut self, ms: u32) {
        self.sleep_ms(ms).await
    }
}

impl http::Host for CallState {
    async fn send(&mut self, request: http::Request) -> Result<http::Response, http::Error> {
        self.http_send(request).await
    }
}

// ---- host → this version

impl From<&host::Money> for types::Money {
    fn from(m: &host::Money) -> Self {
        Self {
            minor_units: m.minor_units,
            currency: m.currency.clone(),
        }
    }
}

impl From<&host::Setting> for types::Setting {
    fn from(s: &host::Setting) -> Self {
        Self {
            key: s.key.clone(),
            value: s.value.clone(),
        }
    }
}

impl From<&host::CallContext> for types::CallContext {
    fn from(c: &host::CallContext) -> Self {
        Self {
            market: c.market.clone(),
            organisation_id: c.organisation_id.clone(),
            department_id: c.department_id.clone(),
            organisation_settings: c.organisation_settings.iter().map(Into::into).collect(),
            department_settings: c.department_settings.iter().map(Into::into).collect(),
        }
    }
}

impl From<host::TransactionKind> for types::TransactionKind {
    fn from(k: host::TransactionKind) -> Self {
        match k {
            host::TransactionKind::Purchase => Self::Purchase,
            host::TransactionKind::Refund => Self::Refund,
            host::TransactionKind::Deposit => Self::Deposit,
        }
    }
}

impl From<&host::PaymentRequest> for types::PaymentRequest {
    fn from(r: &host::PaymentRequest) -> Self {
        Self {
            request_id: r.request_id.clone(),
            kind: r.kind.into(),
            amount: (&r.amount).into(),
            terminal_id: r.terminal_id.clone(),
            original_reference: r.original_reference.clone(),
            description: r.description.clone(),
        }
    }
}

impl From<&host::TokenCharge> for types::TokenCharge {
    fn from(r: &host::TokenCharge) -> Self {
        Self {
            request_id: r.request_id.clone(),
            card_token: r.card_token.clone(),
            amount: (&r.amount).into(),
            description: r.description.clone(),
        }
    }
}

impl From<&host::TokenRefund> for types::TokenRefund {
    fn from(r: &host::TokenRefund) -> Self {
        Self {
            request_id: r.request_id.clone(),
            original_reference: r.original_reference.clone(),
            card_token: r.card_token.clone(),
            amount: (&r.amount).into(),
            description: r.description.clone(),
        }
    }
}

impl From<&host::SaveCardRequest> for types::SaveCardRequest {
    fn from(r: &host::SaveCardRequest) -> Self {
        Self {
            request_id: r.request_id.clone(),
            terminal_id: r.terminal_id.clone(),
            currency: r.currency.clone(),
        }
    }
}

impl From<&host::StatusQuery> for types::StatusQuery {
    fn from(q: &host::StatusQuery) -> Self {
        Self {
            request_id: q.request_id.clone(),
            terminal_id: q.terminal_id.clone(),
            kind: q.kind.into(),
            amount: (&q.amount).into(),
        }
    }
}

impl From<&host::AbortRequest> for types::AbortRequest {
    fn from(r: &host::AbortRequest) -> Self {
        Self {
            request_id: r.request_id.clone(),
            terminal_id: r.terminal_id.clone(),
        }
    }
}

// ---- this version → host

impl From<types::Money> for host::Money {
    fn from(m: types::Money) -> Self {
        Self {
            minor_units: m.minor_units,
            currency: m.currency,
        }
    }
}

impl From<types::CardDetails> for host::CardDetails {
    fn from(c: types::CardDetails) -> Self {
        Self {
            masked_pan: c.masked_pan,
            brand: c.brand,
            expiry: c.expiry,
            entry_method: c.entry_method,
        }
    }
}

impl From<types::Receipt> for host::Receipt {
    fn from(r: types::Receipt) -> Self {
        Self {
            customer: r.customer,
            merchant: r.merchant,
        }
    }
}

impl From<types::Stopped> for host::Stopped {
    fn from(s: types::Stopped) -> Self {
        Self {
            message: s.message,
            provider_reference: s.provider_reference,
        }
    }
}

impl From<types::Outcome> for host::Outcome {
    fn from(o: types::Outcome) -> Self {
        match o {
            types::Outcome::Approved(a) => Self::Approved(host::Approval {
                provider_reference: a.provider_reference,
                amount: a.amount.into(),
                authorization_code: a.authorization_code,
                card: a.card.map(Into::into),
                card_token: a.card_token,
                receipt: a.receipt.map(Into::into),
            }),
            types::Outcome::Declined(d) => Self::Declined(host::Decline {
                code: d.code,
                message: d.message,
                provider_reference: d.provider_reference,
                receipt: d.receipt.map(Into::into),
            }),
            types::Outcome::CancelledByClient(s) => Self::CancelledByClient(s.into()),
            types::Outcome::AbortedByClinic(s) => Self::AbortedByClinic(s.into()),
            types::Outcome::InProgress(m) => Self::InProgress(m),
            types::Outcome::Unknown(m) => Self::Unknown(m),
        }
    }
}

impl From<types::PluginError> for host::PluginError {
    fn from(e: types::PluginError) -> Self {
        match e {
            types::PluginError::NotSupported(m) => Self::NotSupported(m),
            types::PluginError::NotSent(m) => Self::NotSent(m),
            types::PluginError::Configuration(c) => Self::Configuration(host::ConfigurationError {
                setting: c.setting,
                message: c.message,
            }),
            types::PluginError::Terminal(t) => Self::Terminal(match t {
                types::TerminalProblem::Busy => host::TerminalProblem::Busy,
                types::TerminalProblem::Offline => host::TerminalProblem::Offline,
                types::TerminalProblem::NotFound => host::TerminalProblem::NotFound,
                types::TerminalProblem::NeedsReconciliation => {
                    host::TerminalProblem::NeedsReconciliation
                }
                types::TerminalProblem::UnsupportedModel(m) => {
                    host::TerminalProblem::UnsupportedModel(m)
                }
            }),
            types::PluginError::Other(m) => Self::Other(m),
        }
    }
}

impl From<types::TerminalInfo> for host::TerminalInfo {
    fn from(t: types::TerminalInfo) -> Self {
        Self {
            id: t.id,
            model: t.model,
            name: t.name,
            supported: t.supported,
            note: t.note,
        }
    }
}

impl From<types::Reconciliation> for host::Reconciliation {
    fn from(r: types::Reconciliation) -> Self {
        Self {
            reference: r.reference,
            report: r.report,
        }
    }
}

impl From<progress::Stage> for host::Stage {
    fn from(s: progress::Stage) -> Self {
        match s {
            progress::Stage::Connecting => Self::Connecting,
            progress::Stage::WaitingForCard => Self::WaitingForCard,
            progress::Stage::WaitingForPin => Self::WaitingForPin,
            progress::Stage::Processing => Self::Processing,
            progress::Stage::WaitingForResult => Self::WaitingForResult,
            progress::Stage::Cancelling => Self::Cancelling,
            progress::Stage::Other(m) => Self::Other(m),
        }
    }
}
