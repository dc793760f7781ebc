//! The contract versions this host speaks, and whether a plugin's version is one
//! of them. Kept apart from `contract` (which reads files) so that the manifest
//! can name a version without importing the file reader.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The WIT package name of the contract.
pub const CONTRACT_PACKAGE: &str = "vetpay:terminal";
/// The newest contract version this host implements.
pub const HOST_CONTRACT: semver::Version = semver::Version::new(0, 2, 0);

/// Every released contract version this host runs, oldest first: each has its
/// frozen WIT folder (`sdk/wit/since_vX.Y.Z`) and its module in `plugin/wit`, so a
/// plugin built against an older one keeps working unchanged.
pub const SUPPORTED: [semver::Version; 2] =
    [semver::Version::new(0, 1, 0), semver::Version::new(0, 2, 0)];

/// A contract version as written in a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ContractVersion(pub semver::Version);

impl ContractVersion {
    /// Whether this host can run a plugin built against `version`: it must be a
    /// released version the host keeps (while the contract is 0.x every minor
    /// is its own contract, so each is kept whole rather than bridged).
    pub fn check_supported(version: &ContractVersion) -> Result<(), String> {
        let v = &version.0;
        if !v.pre.is_empty() {
            return Err(format!(
                "contract {v} is a pre-release; use a released version"
            ));
        }
        if SUPPORTED.contains(v) {
            return Ok(());
        }
        let host = &HOST_CONTRACT;
        if (v.major, v.minor, v.patch) > (host.major, host.minor, host.patch) {
            return Err(format!(
                "contract {v} is newer than this host's {host}: upgrade vetpay or build the \
                 plugin against {host}"
            ));
        }
        Err(format!(
            "contract {v} is not supported: this host speaks {CONTRACT_PACKAGE} {}; \
             rebuild the plugin against a supported vetpay-sdk",
            supported_list()
        ))
    }
}

fn supported_list() -> String {
    SUPPORTED
        .iter()
        .map(|v| v.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

impl fmt::Display for ContractVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
