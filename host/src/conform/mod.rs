//! The conformance suite (docs/CONFORMANCE.md): runs a plugin in the real
//! runtime against a provider simulator that speaks the card-holder control
//! protocol, and reports each check as passed, failed or skipped.
//!
//! Uses the plugin layer only through its public API ([`crate::plugin`]), as
//! the service does.

#[cfg(feature = "demo")]
pub mod bundled;
pub mod capture;
pub mod checks;
pub mod cli;
pub mod config;
pub mod context;
pub mod control;
pub mod report;
mod suite;

pub use checks::Check;
pub use control::{Control, ControlError};
pub use report::{Report, Verdict};
pub use suite::{ConformError, Target, run};
