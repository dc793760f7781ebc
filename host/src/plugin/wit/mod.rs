//! The contract versions this host speaks, each in its own module over its own
//! frozen WIT folder (`sdk/wit/since_vX.Y.Z`), dispatched by [`Contract`]. A new
//! version is a new folder, a new module converting to the host's types
//! (`plugin::types`) and a new variant here; the service never changes.

#[macro_use]
mod unchanged;
pub mod since_v0_1_0;
pub mod since_v0_2_0;

use wasmtime::Store as WasmStore;
use wasmtime::component::{ComponentExportIndex, Instance, InstancePre, Linker};

use super::state::CallState;
use super::types as host;

/// The contract version a loaded component exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contract {
    V0_1_0,
    V0_2_0,
}

impl Contract {
    /// Every version, oldest first.
    pub const ALL: [Contract; 2] = [Contract::V0_1_0, Contract::V0_2_0];

    /// The module that speaks `version` (an exact release: a frozen folder).
    pub fn of(version: &semver::Version) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|c| c.version() == version.to_string())
    }

    pub fn version(self) -> &'static str {
        match self {
            Contract::V0_1_0 => since_v0_1_0::VERSION,
            Contract::V0_2_0 => since_v0_2_0::VERSION,
        }
    }

    /// Adds the imports of every version: their interface names carry the
    /// version, so they live side by side in one linker.
    pub fn add_all_to_linker(linker: &mut Linker<CallState>) -> wasmtime::Result<()> {
        since_v0_1_0::add_to_linker(linker)?;
        since_v0_2_0::add_to_linker(linker)
    }

    /// Type-checks every export of the component against this version.
    pub async fn check(
        self,
        pre: &InstancePre<CallState>,
        store: &mut WasmStore<CallState>,
    ) -> wasmtime::Result<()> {
        match self {
            Contract::V0_1_0 => since_v0_1_0::check(pre, store).await,
            Contract::V0_2_0 => since_v0_2_0::check(pre, store).await,
        }
    }
}

/// One export call on an instance, in host types, whatever the version.
pub struct Call<'a> {
    pub contract: Contract,
    pub instance: &'a Instance,
    pub index: &'a ComponentExportIndex,
    pub store: &'a mut WasmStore<CallState>,
    pub ctx: &'a host::CallContext,
}

/// A call's result: the trap or the export's own answer.
pub type Answer<R> = wasmtime::Result<Result<R, host::PluginError>>;

macro_rules! dispatch {
    ($call:expr, $method:ident ( $($arg:expr),* )) => {{
        let Call { contract, instance, index, store, ctx } = $call;
        match contract {
            Contract::V0_1_0 => {
                since_v0_1_0::Exports { instance, index, store, ctx }
                    .$method($($arg),*)
                    .await
            }
            Contract::V0_2_0 => {
                since_v0_2_0::Exports { instance, index, store, ctx }
                    .$method($($arg),*)
                    .await
            }
        }
    }};
}

impl Call<'_> {
    pub async fn process(self, r: &host::PaymentRequest) -> Answer<host::Outcome> {
        dispatch!(self, process(r))
    }

    pub async fn abort(self, r: &host::AbortRequest) -> Answer<()> {
        dispatch!(self, abort(r))
    }

    pub async fn status(self, q: &host::StatusQuery) -> Answer<host::Outcome> {
        dispatch!(self, status(q))
    }

    pub async fn charge_token(self, r: &host::TokenCharge) -> Answer<host::Outcome> {
        dispatch!(self, charge_token(r))
    }

    pub async fn refund_token(self, r: &host::TokenRefund) -> Answer<host::Outcome> {
        dispatch!(self, refund_token(r))
    }

    pub async fn save_card(self, r: &host::SaveCardRequest) -> Answer<host::Outcome> {
        dispatch!(self, save_card(r))
    }

    pub async fn list_terminals(self) -> Answer<Vec<host::TerminalInfo>> {
        dispatch!(self, list_terminals())
    }

    pub async fn reconcile(self, terminal_id: &str) -> Answer<host::Reconciliation> {
        dispatch!(self, reconcile(terminal_id))
    }
}
