//! What every check is handed: the loaded plugin, the call environment, the
//! simulator's control API, and what the secrets check reads afterwards.

use std::sync::Mutex;
use std::time::Duration;

use crate::plugin::{CallEnv, NetworkPolicy, RuntimeConfig, WasmPlugin};

use super::capture::Capture;
use super::control::{Control, Info};

/// Everything the checks share.
pub struct Suite {
    pub plugin: WasmPlugin,
    pub bytes: Vec<u8>,
    pub config: RuntimeConfig,
    pub env: CallEnv,
    pub control: Control,
    pub info: Info,
    pub terminal: String,
    pub currency: String,
    pub url_setting: String,
    pub short_deadline: Duration,
    /// Every answer a call gave, as text, for the secrets check.
    pub answers: Mutex<Vec<String>>,
    pub capture: Capture,
    /// Tells this run's request ids from earlier runs' on the same simulator.
    pub run: String,
}

impl Suite {
    /// A request id unique to this run and check.
    pub fn request_id(&self, check: &str, n: u32) -> String {
        format!("conform-{}-{check}-{n}", self.run)
    }

    /// Keeps an answer for the secrets check.
    pub fn keep(&self, answer: &dyn std::fmt::Debug) {
        if let Ok(mut a) = self.answers.lock() {
            a.push(format!("{answer:?}"));
        }
    }

    /// The values of the settings the manifest marks secret.
    pub fn secret_values(&self) -> Vec<(String, String)> {
        self.env
            .organisation_settings
            .iter()
            .filter(|(k, _)| self.plugin.manifest().setting(k).is_some_and(|s| s.secret))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

/// The runtime configuration of a run: loopback allowed, as an operator
/// would for a simulator with --allow-private-network.
pub fn runtime_config() -> RuntimeConfig {
    RuntimeConfig {
        network: NetworkPolicy::with_loopback(),
        compiled_cache_dir: Some(std::env::temp_dir().join("vetpay-conform-cache")),
        prefer_pooling: false,
        ..RuntimeConfig::default()
    }
}
