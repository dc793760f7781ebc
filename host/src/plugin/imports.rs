//! What a component imports, and which of those imports deserve a warning:
//! the sandbox grants no filesystem, sockets or process environment, so a
//! plugin that imports them fails when it uses them, and every instantiation
//! (every call) pays for linking them.

use std::fmt;

use serde::Serialize;

/// A kind of import the sandbox denies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeniedKind {
    Filesystem,
    Sockets,
    Process,
}

impl DeniedKind {
    /// The WASI interface families of each kind; an import is matched on its
    /// name without the version (`wasi:filesystem/types@0.2.6`).
    const PREFIXES: [(&'static str, DeniedKind); 4] = [
        ("wasi:filesystem/", DeniedKind::Filesystem),
        ("wasi:sockets/", DeniedKind::Sockets),
        ("wasi:cli/environment", DeniedKind::Process),
        ("wasi:cli/exit", DeniedKind::Process),
    ];

    fn of(import: &str) -> Option<DeniedKind> {
        Self::PREFIXES
            .iter()
            .find(|(prefix, _)| import.starts_with(prefix))
            .map(|(_, kind)| *kind)
    }

    /// What the author should do about it.
    pub fn advice(self) -> &'static str {
        match self {
            DeniedKind::Filesystem => {
                "no directory is opened for plugins, so std::fs fails; keep state in the cache"
            }
            DeniedKind::Sockets => {
                "sockets and name lookup are denied, so std::net fails; send HTTP through the host (vetpay_sdk::http)"
            }
            DeniedKind::Process => {
                "environment variables and arguments are empty and exit ends the call; read settings from the call context instead of std::env or std::process (Rust's std imports these itself, so every Rust plugin has them)"
            }
        }
    }

    /// Whether every component built with Rust's std for wasm32-wasip2 has
    /// imports of this kind, used or not: a note rather than a warning, so
    /// that a warning always means something the author can remove.
    pub fn std_imports_it(self) -> bool {
        self == DeniedKind::Process
    }
}

impl fmt::Display for DeniedKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DeniedKind::Filesystem => "filesystem",
            DeniedKind::Sockets => "sockets",
            DeniedKind::Process => "process",
        })
    }
}

/// An import the sandbox denies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportWarning {
    pub import: String,
    pub kind: DeniedKind,
}

impl fmt::Display for ImportWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "imports {} ({}): {}; each import also makes every call slower",
            self.import,
            self.kind,
            self.kind.advice()
        )
    }
}

/// The imports among `imports` that the sandbox denies, in their order.
pub fn warnings(imports: &[String]) -> Vec<ImportWarning> {
    imports
        .iter()
        .filter_map(|import| {
            DeniedKind::of(import).map(|kind| ImportWarning {
                import: import.clone(),
                kind,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn denied_families_are_named_and_the_rest_pass() {
        let imports: Vec<String> = [
            "vetpay:terminal/http@0.1.0",
            "wasi:io/streams@0.2.6",
            "wasi:clocks/monotonic-clock@0.2.6",
            "wasi:cli/stderr@0.2.6",
            "wasi:filesystem/preopens@0.2.6",
            "wasi:sockets/tcp@0.2.6",
            "wasi:sockets/ip-name-lookup@0.2.6",
            "wasi:cli/environment@0.2.6",
            "wasi:cli/exit@0.2.6",
        ]
        .map(String::from)
        .to_vec();
        let all = warnings(&imports);
        let found: Vec<(&str, DeniedKind)> =
            all.iter().map(|w| (w.import.as_str(), w.kind)).collect();
        assert_eq!(
            found,
            [
                ("wasi:filesystem/preopens@0.2.6", DeniedKind::Filesystem),
                ("wasi:sockets/tcp@0.2.6", DeniedKind::Sockets),
                ("wasi:sockets/ip-name-lookup@0.2.6", DeniedKind::Sockets),
                ("wasi:cli/environment@0.2.6", DeniedKind::Process),
                ("wasi:cli/exit@0.2.6", DeniedKind::Process),
            ]
        );
        let w = &warnings(&imports)[0];
        assert!(w.to_string().contains("std::fs"), "{w}");
    }
}
