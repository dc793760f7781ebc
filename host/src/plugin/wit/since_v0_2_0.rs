//! Contract 0.2.0 (`sdk/wit/since_v0.2.0`, frozen): its generated bindings and
//! what changed since 0.1.0 (`status` learns when the attempt was sent and the
//! terminal's history and may answer `not-found`; the `rejected` error; End of
//! Day totals); the rest is `unchanged_since_v0_1_0!`. Nothing outside
//! `plugin/wit` sees these bindings.

use wasmtime::Store as WasmStore;
use wasmtime::component::{
    ComponentExportIndex, ComponentNamedList, Instance, Lift, Linker, Lower,
};

use crate::plugin::state::CallState;
use crate::plugin::types as host;

wasmtime::component::bindgen!({
    world: "payment-terminal",
    path: "../sdk/wit/since_v0.2.0",
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

use self::vetpay::terminal::http;
use self::vetpay::terminal::{cache, log, progress, timer, types};

/// The version this module speaks.
pub const VERSION: &str = "0.2.0";

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

// ---- what changed in 0.2.0

/// `http` is unchanged since 0.1.0, but its types are this version's own:
/// the host's HTTP speaks 0.1.0's, so requests and answers are carried across.
impl http::Host for CallState {
    async fn send(&mut self, request: http::Request) -> Result<http::Response, http::Error> {
        use super::since_v0_1_0::http as v1;
        let method = match request.method {
            http::Method::Get => v1::Method::Get,
            http::Method::Post => v1::Method::Post,
            http::Method::Put => v1::Method::Put,
            http::Method::Patch => v1::Method::Patch,
            http::Method::Delete => v1::Method::Delete,
            http::Method::Head => v1::Method::Head,
        };
        let request = v1::Request {
            method,
            url: request.url,
            headers: request.headers,
            body: request.body,
            timeout_ms: request.timeout_ms,
        };
        match self.http_send(request).await {
            Ok(r) => Ok(http::Response {
                status: r.status,
                headers: r.headers,
                body: r.body,
            }),
            Err(e) => Err(match e {
                v1::Error::Denied(d) => http::Error::Denied(http::Denied {
                    destination: d.destination,
                    setting: d.setting,
                    message: d.message,
                }),
                v1::Error::Invalid(m) => http::Error::Invalid(m),
                v1::Error::NotSent(m) => http::Error::NotSent(m),
                v1::Error::Timeout(m) => http::Error::Timeout(m),
                v1::Error::TooLarge(n) => http::Error::TooLarge(n),
                v1::Error::Transport(m) => http::Error::Transport(m),
            }),
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
            sent_at_ms: q.sent_at_ms,
            previous_request_id: q.previous_request_id.clone(),
            superseded: q.superseded,
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
            types::Outcome::NotFound(m) => Self::NotFound(m),
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
            types::PluginError::Rejected(r) => Self::Rejected(host::Refusal {
                code: r.code,
                message: r.message,
            }),
            types::PluginError::Other(m) => Self::Other(m),
        }
    }
}

impl From<types::Reconciliation> for host::Reconciliation {
    fn from(r: types::Reconciliation) -> Self {
        Self {
            reference: r.reference,
            report: r.report,
            totals: r.totals.map(|l| {
                l.into_iter()
                    .map(|t| host::CurrencyTotals {
                        currency: t.currency,
                        purchase_count: t.purchase_count,
                        purchase_total: t.purchase_total,
                        refund_count: t.refund_count,
                        refund_total: t.refund_total,
                    })
                    .collect()
            }),
            transactions: r.transactions.map(|l| {
                l.into_iter()
                    .map(|t| host::ReconciledTransaction {
                        order_id: t.order_id,
                        provider_reference: t.provider_reference,
                        kind: match t.kind {
                            types::TransactionKind::Purchase => host::TransactionKind::Purchase,
                            types::TransactionKind::Refund => host::TransactionKind::Refund,
                            types::TransactionKind::Deposit => host::TransactionKind::Deposit,
                        },
                        amount: t.amount.into(),
                    })
                    .collect()
            }),
        }
    }
}
