//! Lists the sources of vetpay-sdk and vetpay-money and the plugin skeleton
//! for `vetpay plugin new`, which writes them into a new plugin project (the
//! SDK's until it is on crates.io).
//! The list is generated so that a file added to either crate is vendored
//! too; `include_str!` makes the binary carry the sources it was built with.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let host = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let root = host.parent().expect("host/ lives in the workspace");
    // (constant, crate directory, what of it travels with the package)
    let crates = [
        (
            "SDK_FILES",
            "sdk",
            &["src", "wit/since_v0.2.0", "README.md"][..],
        ),
        ("MONEY_FILES", "money", &["src"][..]),
        // The project `vetpay plugin new` writes, before its names are put in.
        (
            "TERMINAL_FILES",
            "host/skeleton/terminal",
            &[
                "Cargo.toml",
                "rust-toolchain.toml",
                ".gitignore",
                "plugin.toml",
                "conform.toml",
                "README.md",
                "src",
                "simulator/Cargo.toml",
                "simulator/src",
            ][..],
        ),
    ];
    let mut out = String::new();
    for (constant, dir, parts) in crates {
        let base = root.join(dir);
        let mut files = Vec::new();
        for part in parts {
            let path = base.join(part);
            println!("cargo:rerun-if-changed={}", path.display());
            collect(&path, &mut files);
        }
        files.sort();
        let _ = writeln!(out, "pub const {constant}: &[(&str, &str)] = &[");
        for file in files {
            let relative = file.strip_prefix(&base).expect("under the crate");
            let _ = writeln!(
                out,
                "    ({:?}, include_str!({:?})),",
                relative.to_string_lossy().replace('\\', "/"),
                file.display().to_string()
            );
        }
        let _ = writeln!(out, "];");
    }
    let dest = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo")).join("vendored.rs");
    std::fs::write(dest, out).expect("OUT_DIR is writable");
}

fn collect(path: &Path, files: &mut Vec<PathBuf>) {
    if path.is_file() {
        files.push(path.to_owned());
        return;
    }
    let entries =
        std::fs::read_dir(path).unwrap_or_else(|e| panic!("cannot list {}: {e}", path.display()));
    for entry in entries {
        collect(&entry.expect("a directory entry").path(), files);
    }
}
