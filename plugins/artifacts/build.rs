//! Builds every bundled plugin as a wasm32-wasip2 component whenever this crate
//! is built, so that building or testing the workspace needs no manual step.
//! (The same approach as wasmtime's `test-programs/artifacts`.)

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// (constant name, package, crate file stem, directory under plugins/)
const PLUGINS: &[(&str, &str, &str, &str)] = &[
    (
        "FAULT_INJECTION",
        "vetpay-fault-plugin",
        "vetpay_fault_plugin",
        "fault-injection",
    ),
    (
        "GRAVITY",
        "vetpay-gravity-plugin",
        "vetpay_gravity_plugin",
        "gravity",
    ),
    (
        "NETS",
        "vetpay-nets-plugin",
        "vetpay_nets_plugin",
        "nets-connect-cloud",
    ),
    (
        "EXAMPLE",
        "vetpay-example-plugin",
        "vetpay_example_plugin",
        "example",
    ),
];

fn main() {
    let here = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = here.parent().and_then(Path::parent).unwrap().to_path_buf();
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    // One target directory for the workspace: the components get a corner of it,
    // shared by every profile of the outer build so they are built once.
    let target = env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
        .join("plugin-components");

    for dir in ["sdk", "wit", "money", "Cargo.lock", "Cargo.toml"] {
        println!("cargo:rerun-if-changed={}", root.join(dir).display());
    }
    println!("cargo:rerun-if-env-changed=CARGO_TARGET_DIR");

    ensure_wasm_target(&root);
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.arg("build")
        .arg("--manifest-path")
        .arg(root.join("Cargo.toml"))
        .args([
            "--target",
            "wasm32-wasip2",
            "--profile",
            "plugin",
            "--locked",
        ])
        .arg("--target-dir")
        .arg(&target)
        // Flags and wrappers meant for the outer (host) build, such as
        // clippy-driver under `cargo clippy`, must not leak into this one.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("RUSTC_WRAPPER")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("CARGO_TARGET_DIR");
    for (_, package, _, dir) in PLUGINS {
        cmd.args(["--package", package]);
        println!(
            "cargo:rerun-if-changed={}",
            root.join("plugins").join(dir).display()
        );
    }
    // Cargo reserves the build script's stdout for its directives.
    cmd.stdout(Stdio::from(std::io::stderr()));
    let status = cmd.status().expect("cargo runs");
    assert!(
        status.success(),
        "building the plugin components failed; is the target installed? \
         (rustup target add wasm32-wasip2)"
    );

    let mut consts = String::new();
    for (name, _, stem, _) in PLUGINS {
        let built = target
            .join("wasm32-wasip2/plugin")
            .join(format!("{stem}.wasm"));
        let copy = out.join(format!("{stem}.wasm"));
        std::fs::copy(&built, &copy).unwrap_or_else(|e| panic!("copy {}: {e}", built.display()));
        consts.push_str(&format!(
            "/// The built component of `{stem}`.\npub const {name}: &str = {:?};\n",
            copy.display().to_string()
        ));
    }
    std::fs::write(out.join("plugins.rs"), consts).unwrap();
}

/// Installs the wasm32-wasip2 target through rustup when the toolchain lacks
/// it, so that a fresh machine with only Rust needs no manual step.
fn ensure_wasm_target(root: &Path) {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let sysroot = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    let installed = sysroot
        .as_ref()
        .is_some_and(|s| s.join("lib/rustlib/wasm32-wasip2").is_dir());
    if installed {
        return;
    }
    eprintln!("the wasm32-wasip2 target is missing: running `rustup target add wasm32-wasip2`");
    let added = Command::new("rustup")
        .args(["target", "add", "wasm32-wasip2"])
        .current_dir(root)
        .stdout(Stdio::from(std::io::stderr()))
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        added,
        "the wasm32-wasip2 target is not installed and rustup could not add it: \
         run `rustup target add wasm32-wasip2`"
    );
}
