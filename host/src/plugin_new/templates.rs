//! The project's own files: the skeleton in `host/skeleton/terminal` (a
//! complete plugin for the fictional Polderpay Cloud, with its simulator and
//! tests), cut to the kind asked for, with the author's names put in.
//!
//! A kind's own lines sit between marker lines (`//~ card-on-file` or
//! `#~ terminal` ... `//~ end`): kept for that kind, dropped for the others;
//! the markers themselves never reach the project.

use super::{Kind, PluginName, sources};

/// The skeleton's names, as package (`polder-pay`) and as crate (`polder_pay`).
const SKELETON_ID: &str = "polder-pay";
const SKELETON_LIB: &str = "polder_pay";

/// Files of one kind only.
const CARD_ON_FILE_ONLY: &[&str] = &["src/cards.rs"];

pub fn project(name: &PluginName, kind: Kind) -> Vec<(String, String)> {
    sources::TERMINAL_FILES
        .iter()
        .filter(|(path, _)| kind == Kind::CardOnFile || !CARD_ON_FILE_ONLY.contains(path))
        .map(|(path, text)| ((*path).to_owned(), renamed(&for_kind(text, kind), name)))
        .collect()
}

/// The skeleton's text with the author's names; `polderpay` (the fictional
/// provider's host name) stays.
fn renamed(text: &str, name: &PluginName) -> String {
    text.replace(SKELETON_ID, &name.id)
        .replace(SKELETON_LIB, &name.lib)
}

/// `text` with the other kinds' lines and every marker line taken out.
fn for_kind(text: &str, kind: Kind) -> String {
    let mut keep = true;
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim();
        match trimmed
            .strip_prefix("//~ ")
            .or_else(|| trimmed.strip_prefix("#~ "))
        {
            Some("end") => keep = true,
            Some(marked) => keep = marked == kind.marker(),
            None if keep => out.push_str(line),
            None => {}
        }
    }
    out
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
        let files = project(&name, Kind::Terminal);
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
        assert!(!files.iter().any(|(p, _)| p == "src/cards.rs"));
        for (path, text) in &files {
            assert!(!text.contains("//~") && !text.contains("#~"), "{path}");
            assert!(
                !text.contains("mod cards") && !text.contains("save_card"),
                "{path}"
            );
        }
    }

    #[test]
    fn a_card_on_file_project_saves_charges_and_refunds_cards() {
        let name = PluginName::parse("tulip-cards").unwrap();
        let files = project(&name, Kind::CardOnFile);
        let manifest =
            vetpay::plugin::check_manifest(file(&files, "plugin.toml").as_bytes()).unwrap();
        let caps: Vec<&str> = manifest
            .capabilities
            .iter()
            .map(|c| c.export_name())
            .collect();
        for cap in [
            "process",
            "save-card",
            "charge-token",
            "refund-token",
            "status",
        ] {
            assert!(caps.contains(&cap), "{caps:?}");
        }
        assert!(file(&files, "src/lib.rs").contains("mod cards;"));
        assert!(file(&files, "src/cards.rs").contains("use tulip_cards_simulator::Simulator;"));
        for (path, text) in &files {
            assert!(!text.contains("//~") && !text.contains("#~"), "{path}");
        }
    }

    #[test]
    fn marked_lines_follow_their_kind_and_the_markers_go() {
        let text = "a\n//~ card-on-file\nb\n//~ end\n  #~ terminal\nc\n  #~ end\nd\n";
        assert_eq!(for_kind(text, Kind::Terminal), "a\nc\nd\n");
        assert_eq!(for_kind(text, Kind::CardOnFile), "a\nb\nd\n");
    }

    #[test]
    fn the_release_profile_is_the_size_profile() {
        let name = PluginName::parse("polder-pay").unwrap();
        let table: toml::Table = file(&project(&name, Kind::Terminal), "Cargo.toml")
            .parse()
            .unwrap();
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
