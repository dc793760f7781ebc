//! The project's own files, by kind: the workspace manifest with the size
//! profile, the plugin's manifest and package.
//!
//! Still to come (issue 13): the skeleton's sources, its native tests, the
//! simulator and the README; see the branch's report.

use super::{Kind, PluginName};

pub fn project(name: &PluginName, kind: Kind) -> Vec<(String, String)> {
    vec![
        ("Cargo.toml".into(), cargo_toml(name)),
        ("plugin.toml".into(), plugin_toml(name, kind)),
        (".gitignore".into(), "/target\n".into()),
    ]
}

fn cargo_toml(name: &PluginName) -> String {
    format!(
        r#"[workspace]
resolver = "3"
members = [".", "simulator"]
# `cargo build` and `cargo test` here touch the plugin only; the simulator is
# `cargo run -p {id}-simulator`.
default-members = ["."]
# The SDK's sources, vendored until it is on crates.io: a dependency, not yours.
exclude = ["vendor"]

[package]
name = "{id}"
version = "0.1.0"
edition = "2024"
rust-version = "1.95"
publish = false

[lib]
crate-type = ["cdylib"]

[dependencies]
vetpay-sdk = {{ path = "vendor/vetpay-sdk", version = "0.2.0" }}
serde = {{ version = "1", features = ["derive"] }}
serde_json = "1"

[dev-dependencies]
vetpay-sdk = {{ path = "vendor/vetpay-sdk", version = "0.2.0", features = ["testing"] }}

# A plugin's .wasm is uploaded, hashed, stored and compiled on every install:
# small pays. Optimised for size, whole-program, one codegen unit, no debug
# info and no unwinding (a panic traps the host call anyway): a third smaller
# than cargo's default release profile.
[profile.release]
opt-level = "s"
lto = true
codegen-units = 1
strip = "debuginfo"
panic = "abort"
"#,
        id = name.id
    )
}

fn plugin_toml(name: &PluginName, kind: Kind) -> String {
    let capabilities = match kind {
        Kind::Terminal => r#"["process", "abort", "status", "list-terminals"]"#,
        Kind::CardOnFile => {
            r#"["save-card", "abort", "charge-token", "refund-token", "status", "list-terminals"]"#
        }
    };
    format!(
        r#"# The manifest `export_plugin!` embeds in the .wasm; check it with
# `vetpay plugin check plugin.toml`.
id = "{id}"
name = "{id} (Polderpay Cloud)"
version = "0.1.0"
contract = "0.2.0"
markets = ["NL", "BE"]
currencies = ["EUR"]
capabilities = {capabilities}
allowed-hosts = ["https://api.polderpay.example"]

[[settings]]
key = "base-url"
type = "url"
scope = "organisation"
default = "https://api.polderpay.example"
label = {{ en = "API base URL", nl = "API-basis-URL", "fr-BE" = "URL de base de l'API" }}

[[settings]]
key = "api-key"
type = "text"
scope = "organisation"
secret = true
required = true
label = {{ en = "API key", nl = "API-sleutel", "fr-BE" = "Clé API" }}
"#,
        id = name.id
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kinds_manifest_is_one_the_host_accepts() {
        let name = PluginName::parse("polder-pay").unwrap();
        for (kind, export) in [(Kind::Terminal, "process"), (Kind::CardOnFile, "save-card")] {
            let text = plugin_toml(&name, kind);
            let manifest = vetpay::plugin::check_manifest(text.as_bytes()).unwrap();
            assert_eq!(manifest.id, "polder-pay");
            let caps: Vec<&str> = manifest
                .capabilities
                .iter()
                .map(|c| c.export_name())
                .collect();
            assert!(caps.contains(&export), "{caps:?}");
        }
    }

    #[test]
    fn the_release_profile_is_the_size_profile() {
        let name = PluginName::parse("polder-pay").unwrap();
        let table: toml::Table = cargo_toml(&name).parse().unwrap();
        let release = &table["profile"]["release"];
        assert_eq!(release["opt-level"].as_str(), Some("s"));
        assert_eq!(release["lto"].as_bool(), Some(true));
        assert_eq!(release["codegen-units"].as_integer(), Some(1));
        assert_eq!(
            table["workspace"]["default-members"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
    }
}
