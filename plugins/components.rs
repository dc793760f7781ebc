//! Build-script code shared by `plugins/bundled` and `plugins/artifacts`: builds
//! plugin crates of this workspace as wasm32-wasip2 components with the `plugin`
//! profile (the same approach as wasmtime's `test-programs/artifacts`).
//!
//! It makes no network call and runs no rustup: `rust-toolchain.toml` lists the
//! wasm target, so rustup installs it with the toolchain.

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// One plugin crate to build.
pub struct Component {
    /// Cargo package name.
    pub package: &'static str,
    /// File stem of the built `.wasm` (the crate name).
    pub stem: &'static str,
    /// Directory under `plugins/`.
    pub dir: &'static str,
}

/// Builds `components` into `<target>/<corner>` and copies each `.wasm` into
/// `OUT_DIR`; returns the copies' paths in the same order.
pub fn build(corner: &str, components: &[Component]) -> Vec<PathBuf> {
    let here = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = here.parent().and_then(Path::parent).unwrap().to_path_buf();
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    // One target directory for the workspace; each builder has its own corner,
    // shared by every profile of the outer build, so a component is built once
    // and two builders never unify features differently in one directory.
    let target = env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
        .join(corner);

    for dir in [
        "sdk",
        "money",
        "Cargo.lock",
        "Cargo.toml",
        "plugins/components.rs",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(dir).display());
    }
    println!("cargo:rerun-if-env-changed=CARGO_TARGET_DIR");

    ensure_wasm_target();
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
    for c in components {
        cmd.args(["--package", c.package]);
        println!(
            "cargo:rerun-if-changed={}",
            root.join("plugins").join(c.dir).display()
        );
    }
    // Cargo reserves the build script's stdout for its directives.
    cmd.stdout(Stdio::from(std::io::stderr()));
    let status = cmd.status().expect("cargo runs");
    assert!(status.success(), "building the plugin components failed");

    components
        .iter()
        .map(|c| {
            let built = target
                .join("wasm32-wasip2/plugin")
                .join(format!("{}.wasm", c.stem));
            let copy = out.join(format!("{}.wasm", c.stem));
            std::fs::copy(&built, &copy)
                .unwrap_or_else(|e| panic!("copy {}: {e}", built.display()));
            copy
        })
        .collect()
}

/// Stops with a clear message when the toolchain lacks the wasm target. The
/// toolchain file lists it, so this happens only with a toolchain rustup did
/// not install from that file.
fn ensure_wasm_target() {
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
    assert!(
        installed,
        "the wasm32-wasip2 target is not installed for {rustc}: run \
         `rustup target add wasm32-wasip2` (rust-toolchain.toml lists it, so \
         rustup adds it when it installs the pinned toolchain)"
    );
}
