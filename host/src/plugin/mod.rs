//! The sandboxed plugin runtime: payment providers as WebAssembly components
//! behind the `vetpay:terminal` contract (see `wit/` and docs/PLUGIN-CONTRACT.md).
//!
//! Layers, outside in: [`provider`] is what the service sees, a trait over the
//! host's [`types`]; [`contract`] reads what a file says about itself;
//! [`runtime`] loads and calls plugins under their limits, through the module
//! of their contract version in [`wit`]; [`state`] and
//! [`http_client`] are the host side of the imports; [`egress`] and [`secrets`]
//! decide what may leave the host; [`validate`] decides what answers to trust.

pub mod call_env;
pub mod compiled_cache;
pub mod contract;
pub mod contract_version;
pub mod egress;
pub mod engine;
pub mod error;
pub mod http_client;
pub mod http_limits;
pub mod imports;
pub mod kv;
pub mod label;
pub mod manifest;
pub mod network;
pub mod provider;
pub mod runtime;
pub mod scrub;
pub mod secrets;
pub mod send_gate;
pub mod state;
pub mod stdio;
pub mod types;
pub mod validate;
pub mod wit;

pub use compiled_cache::CodeSource;
pub use contract::{FileError, PluginFileInfo, check_manifest, inspect};
pub use egress::Destination;
pub use engine::AllocatorKind;
pub use error::{CallError, Disposition, LoadError};
pub use label::{Label, Languages};
pub use manifest::{Capability, Manifest};
pub use network::NetworkPolicy;
pub use provider::{PaymentProvider, Provider};
pub use runtime::{CallEnv, Deadlines, Runtime, RuntimeConfig, WasmPlugin};
pub use send_gate::{FirstSend, SendGate};
pub use state::{ProgressEvent, ProgressSink};
