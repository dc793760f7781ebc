//! Shared pieces of vetpay's end-to-end suites: a loopback HTTP server that the
//! fault-injection plugin talks to, and helpers to build calls.

pub mod acme;
pub mod fault_server;
pub mod fixtures;
pub mod native;
pub mod plot;
pub use vetpay_simulators::gravity as gravity_sim;
pub use vetpay_simulators::nets as nets_sim;
