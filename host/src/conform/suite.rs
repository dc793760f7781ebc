//! What a run is given and how it runs the checks, one after the other, each
//! on a freshly reset simulator and under a time limit of its own.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::plugin::egress::Destination;
use crate::plugin::{CallEnv, LoadError, Runtime};

use super::capture::Capture;
use super::checks::Check;
use super::context::{Suite, runtime_config};
use super::control::Control;
use super::report::{CheckResult, Report, Verdict};

/// What to certify, and against which simulator.
#[derive(Debug, Clone)]
pub struct Target {
    /// The plugin's component.
    pub plugin: Vec<u8>,
    /// Base URL of the simulator's control API (where `/_conform` lives).
    pub simulator: String,
    pub terminal: String,
    /// Plugin settings (organisation level), secrets included.
    pub settings: BTreeMap<String, String>,
    /// The setting holding the provider's URL, pointed at a closed port by one check.
    pub url_setting: String,
    /// ISO 3166-1 alpha-2; the manifest's first market when `None`.
    pub market: Option<String>,
    /// ISO 4217; the manifest's first currency when `None`.
    pub currency: Option<String>,
    /// The process deadline of the deadline check.
    pub short_deadline: Duration,
    /// The longest any one check may take.
    pub check_timeout: Duration,
}

/// Why a run could not start (a failing check is a result, not an error).
#[derive(Debug, thiserror::Error)]
pub enum ConformError {
    #[error("the runtime cannot start: {0}")]
    Runtime(String),
    #[error("the plugin does not load: {0}")]
    Load(#[from] LoadError),
    #[error(transparent)]
    Control(#[from] super::control::ControlError),
    #[error("--simulator {0} is not an http(s) URL with a host")]
    SimulatorUrl(String),
}

/// Runs every check against `target`; `capture` must be receiving the host
/// log of this thread (see [`super::cli`]).
pub async fn run(target: Target, capture: Capture) -> Result<Report, ConformError> {
    let config = runtime_config();
    let runtime = Runtime::new(config.clone()).map_err(|e| ConformError::Runtime(e.to_string()))?;
    let plugin = runtime.load(target.plugin.clone()).await?;
    let control = Control::new(&target.simulator);
    let info = control.info().await?;
    let origin: Destination = url::Url::parse(&target.simulator)
        .ok()
        .as_ref()
        .and_then(Destination::of_url)
        .ok_or_else(|| ConformError::SimulatorUrl(target.simulator.clone()))?;
    let manifest = plugin.manifest();
    let market = target
        .market
        .clone()
        .or_else(|| manifest.markets.first().cloned())
        .unwrap_or_default();
    let currency = target
        .currency
        .clone()
        .or_else(|| manifest.currencies.first().map(|c| c.code().to_owned()))
        .unwrap_or_default();
    let env = CallEnv {
        market,
        organisation_id: "conform-org".into(),
        department_id: Some("conform-department".into()),
        organisation_settings: target.settings.clone(),
        extra_allowed_hosts: vec![origin],
        ..CallEnv::default()
    };
    let run = format!("{:x}", jiff::Timestamp::now().as_millisecond());
    let suite = Suite {
        plugin,
        bytes: target.plugin,
        config,
        env,
        control,
        info,
        terminal: target.terminal,
        currency,
        url_setting: target.url_setting,
        short_deadline: target.short_deadline,
        answers: Mutex::new(Vec::new()),
        capture,
        run,
    };
    let mut results = Vec::new();
    for check in Check::ALL {
        let started = Instant::now();
        let verdict = match suite.control.reset().await {
            Err(e) => Verdict::Failed(format!("cannot reset the simulator: {e}")),
            Ok(()) => match tokio::time::timeout(target.check_timeout, check.run(&suite)).await {
                Ok(v) => v,
                Err(_) => Verdict::Failed(format!(
                    "did not finish within {:?}: a call hangs",
                    target.check_timeout
                )),
            },
        };
        results.push(CheckResult {
            name: check.name(),
            verdict,
            time: started.elapsed(),
        });
    }
    // Leave no card holder waiting on the terminal.
    let _ = suite.control.reset().await;
    Ok(Report {
        plugin: suite.plugin.manifest().id.clone(),
        results,
    })
}
