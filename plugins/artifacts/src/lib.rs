//! Paths of every plugin component the suites load: the test-only ones built by
//! this crate's build script, and the shipped ones from `vetpay-bundled-plugins`.

include!(concat!(env!("OUT_DIR"), "/plugins.rs"));

pub use vetpay_bundled_plugins::{GRAVITY_PATH as GRAVITY, NETS_PATH as NETS};

/// Every plugin component's path.
pub fn all() -> Vec<&'static str> {
    vec![FAULT_INJECTION, EXAMPLE, GRAVITY, NETS]
}
