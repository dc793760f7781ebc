//! Builds the test-only plugins (fault injection and the example) as
//! wasm32-wasip2 components whenever this crate is built, so that testing the
//! workspace needs no manual step. The shipped plugins come from
//! `plugins/bundled`.

#[path = "../components.rs"]
mod components;

use std::path::PathBuf;

use components::Component;

fn main() {
    let built = components::build(
        "plugin-components-test",
        &[
            Component {
                package: "vetpay-fault-plugin",
                stem: "vetpay_fault_plugin",
                dir: "fault-injection",
            },
            Component {
                package: "vetpay-example-plugin",
                stem: "vetpay_example_plugin",
                dir: "example",
            },
        ],
    );
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    let mut consts = String::new();
    for (name, path) in ["FAULT_INJECTION", "EXAMPLE"].iter().zip(&built) {
        consts.push_str(&format!(
            "/// The built component `{}`.\npub const {name}: &str = {:?};\n",
            path.file_name().unwrap().to_string_lossy(),
            path.display().to_string()
        ));
    }
    std::fs::write(out.join("plugins.rs"), consts).unwrap();
}
