//! The plugins vetpay ships, embedded in the binary, so that `vetpay demo` (and
//! an operator installing a bundled plugin) needs no file from the build.

/// Gravity Payments (emergepay), US.
pub const GRAVITY: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/vetpay_gravity_plugin.wasm"));

/// Nets Connect@Cloud (FI, SE, NO, DK).
pub const NETS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/vetpay_nets_plugin.wasm"));

/// Where the build put Gravity's component (for suites that read files).
pub const GRAVITY_PATH: &str = concat!(env!("OUT_DIR"), "/vetpay_gravity_plugin.wasm");

/// Where the build put the Nets component.
pub const NETS_PATH: &str = concat!(env!("OUT_DIR"), "/vetpay_nets_plugin.wasm");

#[cfg(test)]
mod tests {
    #[test]
    fn embedded_components_are_components() {
        // A component's preamble: magic, then version 0x0d and layer 1.
        for bytes in [super::GRAVITY, super::NETS] {
            assert_eq!(&bytes[..4], b"\0asm");
            assert_eq!(&bytes[4..8], &[0x0d, 0x00, 0x01, 0x00]);
        }
    }
}
