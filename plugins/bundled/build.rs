//! Builds the shipped plugins as components so `src/lib.rs` can embed them.

#[path = "../components.rs"]
mod components;

use components::Component;

fn main() {
    let built = components::build(
        "plugin-components-bundled",
        &[
            Component {
                package: "vetpay-gravity-plugin",
                stem: "vetpay_gravity_plugin",
                dir: "gravity",
            },
            Component {
                package: "vetpay-nets-plugin",
                stem: "vetpay_nets_plugin",
                dir: "nets-connect-cloud",
            },
        ],
    );
    assert_eq!(built.len(), 2);
}
