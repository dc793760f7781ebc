//! `vetpay plugin conform --config conform.toml`: the options of a run kept
//! beside the plugin (as `vetpay plugin new` writes them), so that the command
//! line needs only the file and the simulator's URL.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The file's options; each is the flag of the same name.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ConformConfig {
    pub simulator: Option<String>,
    pub terminal: Option<String>,
    pub url_setting: Option<String>,
    pub market: Option<String>,
    pub currency: Option<String>,
    /// The plugin's settings, secrets included.
    #[serde(default)]
    pub settings: BTreeMap<String, String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a conform configuration: {source}")]
    Parse {
        path: PathBuf,
        source: toml::de::Error,
    },
}

impl ConformConfig {
    pub fn read(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.to_owned(),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_and_options_are_read_and_a_misspelt_key_is_refused() {
        let config: ConformConfig = toml::from_str(
            "terminal = \"T-1\"\nurl-setting = \"base-url\"\n[settings]\napi-key = \"k\"\n",
        )
        .unwrap();
        assert_eq!(config.terminal.as_deref(), Some("T-1"));
        assert_eq!(config.settings["api-key"], "k");
        assert!(toml::from_str::<ConformConfig>("terminals = \"T-1\"\n").is_err());
    }
}
