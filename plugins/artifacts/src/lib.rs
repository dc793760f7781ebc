//! Paths of the bundled plugins, built as wasm32-wasip2 components by this
//! crate's build script.

include!(concat!(env!("OUT_DIR"), "/plugins.rs"));

/// Every bundled plugin's component path.
pub fn all() -> Vec<&'static str> {
    vec![FAULT_INJECTION, EXAMPLE, GRAVITY, NETS]
}
