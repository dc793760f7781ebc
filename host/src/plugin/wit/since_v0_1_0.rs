//! Contract 0.1.0 (`sdk/wit/since_v0.1.0`, frozen): its generated bindings and
//! what it alone has; the rest is `unchanged_since_v0_1_0!`. Nothing outside
//! `plugin/wit` sees these bindings.

use wasmtime::Store as WasmStore;
use wasmtime::component::{
    ComponentExportIndex, ComponentNamedList, Instance, Lift, Linker, Lower,
};

use crate::plugin::state::CallState;
use crate::plugin::types as host;

wasmtime::component::bindgen!({
    world: "payment-terminal",
    path: "../sdk/wit/since_v0.1.0",
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

unchanged_since_v0_1_0!();

impl http::Host for CallState {
    async fn send(&mut self, request: http::Request) -> Result<http::Response, http::Error> {
        self.http_send(request).await
    }
}

// ---- what 0.1.0 alone has

impl From<&host::StatusQuery> for types::StatusQuery {
    /// 0.1 has no send time or terminal history: those facts are left out.
    fn from(q: &host::StatusQuery) -> Self {
        Self {
            request_id: q.request_id.clone(),
            terminal_id: q.terminal_id.clone(),
            kind: q.kind.into(),
            amount: (&q.amount).into(),
        }
    }
}

impl From<types::Outcome> for host::Outcome {
    fn from(o: types::Outcome) -> Self {
        match o {
            types::Outcome::Approved(a) => Self::Approved(a.into()),
            types::Outcome::Declined(d) => Self::Declined(d.into()),
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
            types::PluginError::Configuration(c) => Self::Configuration(c.into()),
            types::PluginError::Terminal(t) => Self::Terminal(t.into()),
            types::PluginError::Other(m) => Self::Other(m),
        }
    }
}

impl From<types::Reconciliation> for host::Reconciliation {
    /// 0.1 reports the text only.
    fn from(r: types::Reconciliation) -> Self {
        Self {
            reference: r.reference,
            report: r.report,
            totals: None,
            transactions: None,
        }
    }
}
