//! vetpay: a clinic backend that takes card payments through payment-provider
//! plugins running as sandboxed WebAssembly components.

pub mod api;
pub mod conform;
pub mod console;
#[cfg(feature = "demo")]
pub mod demo;
pub mod plugin;
pub mod server;
pub mod service;
pub mod store;
pub mod vault;

pub use vetpay_money as money;
