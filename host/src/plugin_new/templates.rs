//! The project's own files: the skeleton in `host/skeleton/terminal` (a
//! complete plugin for the fictional Polderpay Cloud, with its simulator and
//! tests), with the author's names put in.

use super::{PluginName, sources};

/// The skeleton's names, as package (`polder-pay`) and as crate (`polder_pay`).
const SKELETON_ID: &str = "polder-pay";
const SKELETON_LIB: &str = "polder_pay";

pub fn project(name: &PluginName) -> Vec<(String, String)> {
    sources::TERMINAL_FILES
        .iter()
        .map(|(path, text)| ((*path).to_owned(), renamed(text, name)))
        .collect()
}

/// The skeleton's text with the author's names; `polderpay` (the fictional
/// provider's host name) stays.
fn renamed(text: &str, name: &PluginName) -> String {
    text.replace(SKELETON_ID, &name.id)
        .replace(SKELETON_LIB, &name.lib)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file<'a>(files: &'a [(String, String)], path: &str) -> &'a str {
        &files.iter().find(|(p, _)| p == path).expect(path).1
    }

    #[test]
    fn the_manifest_is_one_the_host_accepts_under_the_new_name() {
        let name = PluginName::parse("tulip-pay").unwrap();
        let files = project(&name);
        let manifest =
            vetpay::plugin::check_manifest(file(&files, "plugin.toml").as_bytes()).unwrap();
        assert_eq!(manifest.id, "tulip-pay");
        let caps: Vec<&str> = manifest
            .capabilities
            .iter()
            .map(|c| c.export_name())
            .collect();
        assert_eq!(caps, ["process", "abort", "status", "list-terminals"]);
        for (path, text) in &files {
            assert!(
                !text.contains(SKELETON_ID),
                "{path} keeps the skeleton's id"
            );
            assert!(
                !text.contains(SKELETON_LIB),
                "{path} keeps the skeleton's crate"
            );
        }
        assert!(file(&files, "src/tests.rs").contains("use tulip_pay_simulator::"));
        assert!(file(&files, "plugin.toml").contains("api.polderpay.example"));
    }

    #[test]
    fn the_release_profile_is_the_size_profile() {
        let name = PluginName::parse("polder-pay").unwrap();
        let table: toml::Table = file(&project(&name), "Cargo.toml").parse().unwrap();
        let release = &table["profile"]["release"];
        assert_eq!(release["opt-level"].as_str(), Some("s"));
        assert_eq!(release["lto"].as_bool(), Some(true));
        assert_eq!(release["codegen-units"].as_integer(), Some(1));
        assert_eq!(release["panic"].as_str(), Some("abort"));
        assert_eq!(
            table["workspace"]["default-members"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
    }
}
