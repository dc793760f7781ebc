//! NAME is the plugin's id (the manifest's rule) and its crate's name
//! (cargo's rules), so it must satisfy both.

/// Why NAME cannot name a plugin.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error(
        "'{0}' is not a plugin id: it must be 2 to 63 characters of a-z, 0-9 and '-', \
         starting with a letter"
    )]
    NotAnId(String),
    #[error("'{0}' is not a crate name: '-' must not start, end or double in it")]
    BadDashes(String),
    #[error("'{0}' cannot name a crate: it is a Rust keyword or a name cargo reserves")]
    Reserved(String),
    #[error("'{0}' is the name of a crate the project vendors: choose another")]
    Vendored(String),
}

/// A checked NAME, with the names derived from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginName {
    /// The manifest's `id` and the package name.
    pub id: String,
    /// The library's name, and so the `.wasm` file's stem.
    pub lib: String,
}

/// Rust keywords (cargo refuses them as package names) and the names of the
/// standard crates and of cargo's own build directories.
const RESERVED: &[&str] = &[
    "abstract",
    "as",
    "async",
    "await",
    "become",
    "box",
    "break",
    "const",
    "continue",
    "crate",
    "do",
    "dyn",
    "else",
    "enum",
    "extern",
    "false",
    "final",
    "fn",
    "for",
    "gen",
    "if",
    "impl",
    "in",
    "let",
    "loop",
    "macro",
    "match",
    "mod",
    "move",
    "mut",
    "override",
    "priv",
    "pub",
    "ref",
    "return",
    "self",
    "static",
    "struct",
    "super",
    "trait",
    "true",
    "try",
    "type",
    "typeof",
    "unsafe",
    "unsized",
    "use",
    "virtual",
    "where",
    "while",
    "yield",
    "alloc",
    "core",
    "std",
    "test",
    "proc-macro",
    "build",
    "deps",
    "examples",
    "incremental",
];

impl PluginName {
    pub fn parse(name: &str) -> Result<Self, NameError> {
        let id_like = (2..=63).contains(&name.len())
            && name.starts_with(|c: char| c.is_ascii_lowercase())
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !id_like {
            return Err(NameError::NotAnId(name.to_owned()));
        }
        if name.ends_with('-') || name.contains("--") {
            return Err(NameError::BadDashes(name.to_owned()));
        }
        if RESERVED.contains(&name) {
            return Err(NameError::Reserved(name.to_owned()));
        }
        if matches!(name, "vetpay-sdk" | "vetpay-money") {
            return Err(NameError::Vendored(name.to_owned()));
        }
        Ok(Self {
            id: name.to_owned(),
            lib: name.replace('-', "_"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_good_name_gives_its_library_name() {
        let n = PluginName::parse("polder-pay2").unwrap();
        assert_eq!(n.id, "polder-pay2");
        assert_eq!(n.lib, "polder_pay2");
    }

    #[test]
    fn each_bad_name_is_refused_for_its_reason() {
        for bad in [
            "a",
            "Acme",
            "9lives",
            "acme_pay",
            "acme pay",
            "-acme",
            &"a".repeat(64),
        ] {
            assert_eq!(
                PluginName::parse(bad),
                Err(NameError::NotAnId(bad.to_owned())),
                "{bad}"
            );
        }
        for bad in ["acme-", "acme--pay"] {
            assert_eq!(
                PluginName::parse(bad),
                Err(NameError::BadDashes(bad.into()))
            );
        }
        for bad in ["fn", "self", "test", "std", "deps"] {
            assert_eq!(PluginName::parse(bad), Err(NameError::Reserved(bad.into())));
        }
        assert_eq!(
            PluginName::parse("vetpay-sdk"),
            Err(NameError::Vendored("vetpay-sdk".into()))
        );
    }
}
