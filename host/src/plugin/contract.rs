//! Which versions of the WIT contract (`vetpay:terminal`) this host speaks, and
//! what a `.wasm` file says about itself before anything is compiled.

use serde::Serialize;
use wasmparser::{Parser, Payload};

use super::imports::{self, ImportWarning};
use super::manifest::{MANIFEST_SECTION, Manifest, ManifestError};

pub use super::contract_version::{CONTRACT_PACKAGE, ContractVersion, HOST_CONTRACT};

/// What a file says about itself, read without compiling it.
#[derive(Debug, Clone, Serialize)]
pub struct PluginFileInfo {
    pub manifest: Manifest,
    /// The version of `vetpay:terminal` whose `provider` interface the component exports.
    pub exported_contract: semver::Version,
    /// SHA-256 of the whole file, hex.
    pub sha256: String,
    pub size: usize,
    /// The component's imports, as named in the file (`wasi:io/streams@0.2.6`).
    pub imports: Vec<String>,
    /// The imports the sandbox denies (filesystem, sockets, process).
    pub import_warnings: Vec<ImportWarning>,
}

/// Why a file is not a plugin.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("not a WebAssembly component: {0}")]
    NotWasm(String),
    #[error(
        "this is a core WebAssembly module, not a component: build for the wasm32-wasip2 \
         target (cargo build --target wasm32-wasip2)"
    )]
    CoreModule,
    #[error("invalid manifest: {0}")]
    Manifest(#[from] ManifestError),
    #[error(
        "the component does not export {CONTRACT_PACKAGE}/provider: implement vetpay_sdk::Plugin \
         and export it with vetpay_sdk::export_plugin!"
    )]
    NoProviderExport,
    #[error(
        "the manifest says contract {manifest} but the component exports \
         {CONTRACT_PACKAGE}/provider@{exported}; rebuild so that they agree"
    )]
    ContractMismatch {
        manifest: semver::Version,
        exported: semver::Version,
    },
    #[error("exported contract: {0}")]
    Unsupported(String),
}

/// Checks the text of a `plugin.toml` as [`inspect`] checks the manifest a
/// file embeds, with the same errors: what `vetpay plugin check` runs before
/// anything is built.
pub fn check_manifest(toml: &[u8]) -> Result<Manifest, FileError> {
    Ok(Manifest::parse(toml)?)
}

/// Reads the manifest and the exported contract version of a `.wasm` file and
/// checks that they agree and that this host supports them.
pub fn inspect(bytes: &[u8]) -> Result<PluginFileInfo, FileError> {
    let mut manifests: Vec<&[u8]> = Vec::new();
    let mut exported: Option<semver::Version> = None;
    let mut imported: Vec<String> = Vec::new();
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload.map_err(|e| FileError::NotWasm(e.to_string()))?;
        match payload {
            Payload::Version { encoding, .. } => {
                if depth == 0 && encoding == wasmparser::Encoding::Module {
                    return Err(FileError::CoreModule);
                }
                depth += 1;
            }
            Payload::End(_) => depth = depth.saturating_sub(1),
            // The SDK puts the section in the core module that the component
            // wraps, so it is looked for at any depth.
            Payload::CustomSection(reader) if reader.name() == MANIFEST_SECTION => {
                manifests.push(reader.data());
            }
            // The outer component's imports are everything it asks the host
            // for; nested components import only from their parent.
            Payload::ComponentImportSection(reader) if depth == 1 => {
                for import in reader {
                    let import = import.map_err(|e| FileError::NotWasm(e.to_string()))?;
                    imported.push(import.name.name.to_owned());
                }
            }
            // Only the outer component's exports say what it provides.
            Payload::ComponentExportSection(reader) if depth == 1 => {
                for export in reader {
                    let export = export.map_err(|e| FileError::NotWasm(e.to_string()))?;
                    if let Some(v) = provider_version(export.name.name) {
                        exported = Some(v);
                    }
                }
            }
            _ => {}
        }
    }
    let manifest = match manifests.as_slice() {
        [] => return Err(ManifestError::Missing.into()),
        [one] => check_manifest(one)?,
        many => return Err(ManifestError::Duplicate(many.len()).into()),
    };
    let exported = exported.ok_or(FileError::NoProviderExport)?;
    ContractVersion::check_supported(&ContractVersion(exported.clone()))
        .map_err(FileError::Unsupported)?;
    if exported != manifest.contract.0 {
        return Err(FileError::ContractMismatch {
            manifest: manifest.contract.0.clone(),
            exported,
        });
    }
    Ok(PluginFileInfo {
        manifest,
        exported_contract: exported,
        sha256: sha256_hex(bytes),
        size: bytes.len(),
        import_warnings: imports::warnings(&imported),
        imports: imported,
    })
}

/// `vetpay:terminal/provider@0.1.0` → `0.1.0`.
fn provider_version(export_name: &str) -> Option<semver::Version> {
    let rest = export_name.strip_prefix(CONTRACT_PACKAGE)?;
    let version = rest.strip_prefix("/provider@")?;
    semver::Version::parse(version).ok()
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> ContractVersion {
        ContractVersion(semver::Version::parse(s).unwrap())
    }

    #[test]
    fn every_released_contract_runs_and_nothing_else() {
        assert!(ContractVersion::check_supported(&v("0.1.0")).is_ok());
        assert!(ContractVersion::check_supported(&v("0.2.0")).is_ok());
        let newer = ContractVersion::check_supported(&v("0.3.0")).unwrap_err();
        assert!(newer.contains("newer than this host's 0.2.0"), "{newer}");
        assert!(ContractVersion::check_supported(&v("1.0.0")).is_err());
        let unreleased = ContractVersion::check_supported(&v("0.1.1")).unwrap_err();
        assert!(unreleased.contains("0.1.0, 0.2.0"), "{unreleased}");
        assert!(ContractVersion::check_supported(&v("0.2.0-rc.1")).is_err());
    }

    #[test]
    fn every_supported_version_has_its_module() {
        for version in super::super::contract_version::SUPPORTED {
            assert!(
                super::super::wit::Contract::of(&version).is_some(),
                "no module speaks {version}"
            );
        }
        assert_eq!(
            super::super::wit::Contract::ALL.len(),
            super::super::contract_version::SUPPORTED.len()
        );
    }

    #[test]
    fn garbage_and_core_modules_are_refused() {
        assert!(matches!(inspect(b"not wasm"), Err(FileError::NotWasm(_))));
        let core = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
        assert!(matches!(inspect(&core), Err(FileError::CoreModule)));
    }

    #[test]
    fn provider_export_names_carry_the_version() {
        assert_eq!(
            provider_version("vetpay:terminal/provider@0.1.0"),
            Some(semver::Version::new(0, 1, 0))
        );
        assert_eq!(provider_version("vetpay:terminal/other@0.1.0"), None);
        assert_eq!(provider_version("wasi:cli/run@0.2.0"), None);
    }
}
