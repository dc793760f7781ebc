//! The contract versions this host speaks, and whether a plugin's version is one
//! of them. Kept apart from `contract` (which reads files) so that the manifest
//! can name a version without importing the file reader.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The WIT package name of the contract.
pub const CONTRACT_PACKAGE: &str = "vetpay:terminal";
/// The contract version this host implements.
pub const HOST_CONTRACT: semver::Version = semver::Version::new(0, 1, 0);

/// A contract version as written in a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ContractVersion(pub semver::Version);

impl ContractVersion {
    /// Whether this host can run a plugin built against `version`. Semver rules:
    /// the same major version, and while the major is 0, the same minor too
    /// (0.x releases may break); a newer minor or patch than the host's is refused
    /// because the plugin may rely on what this host lacks.
    pub fn check_supported(version: &ContractVersion) -> Result<(), String> {
        let v = &version.0;
        let host = &HOST_CONTRACT;
        let same_line = v.major == host.major && (host.major > 0 || v.minor == host.minor);
        if !same_line {
            return Err(format!(
                "contract {v} is not supported: this host speaks {CONTRACT_PACKAGE}@{host} \
                 (compatible: {}); rebuild the plugin against a compatible vetpay-sdk",
                compatible_range()
            ));
        }
        if (v.minor, v.patch) > (host.minor, host.patch) {
            return Err(format!(
                "contract {v} is newer than this host's {host}: upgrade vetpay or build the \
                 plugin against {host}"
            ));
        }
        if !v.pre.is_empty() {
            return Err(format!(
                "contract {v} is a pre-release; use a released version"
            ));
        }
        Ok(())
    }
}

fn compatible_range() -> String {
    let h = &HOST_CONTRACT;
    if h.major == 0 {
        format!("0.{}.0 to {h}", h.minor)
    } else {
        format!("{}.0.0 to {h}", h.major)
    }
}

impl fmt::Display for ContractVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
