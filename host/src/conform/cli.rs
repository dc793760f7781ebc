//! The command-line side of the suite: `vetpay plugin conform` and
//! `vetpay simulator`, so main.rs only names them.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::{EnvFilter, Layer};

use super::capture::Capture;
use super::config::ConformConfig;
use super::suite::{Target, run};

/// `vetpay plugin conform`.
#[derive(Debug, clap::Args)]
pub struct ConformArgs {
    /// The plugin's .wasm file; with --bundled, the bundled plugin by default.
    #[arg(required_unless_present = "bundled")]
    pub file: Option<PathBuf>,
    /// Base URL of a simulator that speaks the card-holder control protocol.
    #[arg(long, conflicts_with = "bundled")]
    pub simulator: Option<String>,
    /// The terminal the card holder is scripted on.
    #[arg(long)]
    pub terminal: Option<String>,
    /// A TOML file of these options (`simulator`, `terminal`, `url-setting`,
    /// `market`, `currency` and a `[settings]` table); flags given here win.
    #[arg(long, conflicts_with = "bundled")]
    pub config: Option<PathBuf>,
    /// A plugin setting, KEY=VALUE (repeatable; secrets included).
    #[arg(long = "setting", value_parser = parse_setting)]
    pub settings: Vec<(String, String)>,
    /// The setting holding the provider's URL (pointed at a closed port by one
    /// check; the simulator's URL unless a setting gives it) [default: base-url].
    #[arg(long)]
    pub url_setting: Option<String>,
    /// The market of the calls; the manifest's first by default.
    #[arg(long)]
    pub market: Option<String>,
    /// The currency of the payments; the manifest's first by default.
    #[arg(long)]
    pub currency: Option<String>,
    /// Write the results as JUnit XML to this file.
    #[arg(long)]
    pub junit: Option<PathBuf>,
    /// The process deadline of the deadline check, in milliseconds.
    #[arg(long, default_value_t = 3000)]
    pub deadline_ms: u64,
    /// The longest one check may take, in seconds.
    #[arg(long, default_value_t = 60)]
    pub check_timeout_s: u64,
    /// Run against this bundled provider's simulator, started in-process (and,
    /// without FILE, its bundled plugin with settings that reach it).
    #[cfg(feature = "demo")]
    #[arg(long, value_enum)]
    pub bundled: Option<super::bundled::Provider>,
}

fn parse_setting(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("'{text}' is not KEY=VALUE"))
}

/// Runs the suite; an error when a check failed or the run could not start.
pub fn conform(args: ConformArgs) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start: {e}"))?;
    // This thread's log goes to the capture (for the secrets check) and, as
    // RUST_LOG says, to stderr. One thread, so every call's log is seen.
    let capture = Capture::default();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into());
    let subscriber = tracing_subscriber::registry().with(capture.clone()).with(
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_filter(filter),
    );
    let report = tracing::subscriber::with_default(subscriber, || {
        runtime.block_on(async {
            let (target, _running) = target(&args).await?;
            run(target, capture).await.map_err(|e| e.to_string())
        })
    })?;
    println!("{}", report.table());
    if let Some(path) = &args.junit {
        let xml = report.junit().map_err(|e| e.to_string())?;
        std::fs::write(path, xml).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    match report.failed() {
        0 => Ok(()),
        n => Err(format!("{n} conformance check(s) failed")),
    }
}

/// A simulator the target runs against, kept alive for the run.
#[cfg(feature = "demo")]
type Keep = Option<super::bundled::Running>;
#[cfg(not(feature = "demo"))]
type Keep = ();

async fn target(args: &ConformArgs) -> Result<(Target, Keep), String> {
    let read = |path: &PathBuf| {
        std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
    };
    let given: BTreeMap<String, String> = args.settings.iter().cloned().collect();
    let url_setting = |config: Option<&String>| {
        args.url_setting
            .clone()
            .or_else(|| config.cloned())
            .unwrap_or_else(|| "base-url".to_owned())
    };
    let base = |plugin, simulator, terminal, settings| Target {
        plugin,
        simulator,
        terminal,
        settings,
        url_setting: url_setting(None),
        market: args.market.clone(),
        currency: args.currency.clone(),
        short_deadline: Duration::from_millis(args.deadline_ms),
        check_timeout: Duration::from_secs(args.check_timeout_s),
    };
    #[cfg(feature = "demo")]
    if let Some(provider) = args.bundled {
        let running = super::bundled::start(provider, 0)
            .await
            .map_err(|e| format!("cannot start the simulator: {e}"))?;
        let (plugin, own) = match &args.file {
            Some(path) => (read(path)?, false),
            None => (running.plugin.to_vec(), true),
        };
        let mut settings = running.settings.clone();
        settings.extend(given);
        let mut target = base(
            plugin,
            running.control_url.clone(),
            args.terminal
                .clone()
                .unwrap_or_else(|| running.terminal.clone()),
            settings,
        );
        // Another plugin's file keeps its manifest's market and currency.
        if own {
            target.market = target.market.or(Some(running.market.into()));
            target.currency = target.currency.or(Some(running.currency.into()));
        }
        return Ok((target, Some(running)));
    }
    let config = match &args.config {
        Some(path) => ConformConfig::read(path).map_err(|e| e.to_string())?,
        None => ConformConfig::default(),
    };
    let Some(file) = &args.file else {
        return Err("FILE is required: the plugin's .wasm".into());
    };
    let (Some(simulator), Some(terminal)) = (
        args.simulator.clone().or(config.simulator),
        args.terminal.clone().or(config.terminal),
    ) else {
        return Err("--simulator and --terminal are required (or in --config)".into());
    };
    // The flags' settings over the file's.
    let mut settings = config.settings;
    settings.extend(given);
    let mut target = base(read(file)?, simulator.clone(), terminal, BTreeMap::new());
    target.url_setting = url_setting(config.url_setting.as_ref());
    // A simulator that serves the provider's API where it serves /_conform.
    settings
        .entry(target.url_setting.clone())
        .or_insert(simulator);
    target.settings = settings;
    target.market = target.market.or(config.market);
    target.currency = target.currency.or(config.currency);
    Ok((target, Keep::default()))
}

/// `vetpay simulator`.
#[cfg(feature = "demo")]
#[derive(Debug, clap::Args)]
pub struct SimulatorArgs {
    /// Which provider's simulator.
    #[arg(value_enum)]
    pub provider: super::bundled::Provider,
    /// Port on 127.0.0.1; any free one by default.
    #[arg(long, default_value_t = 0)]
    pub port: u16,
}

/// Runs a bundled simulator until Ctrl-C.
#[cfg(feature = "demo")]
pub fn simulator(args: SimulatorArgs) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start: {e}"))?;
    runtime.block_on(async {
        let running = super::bundled::start(args.provider, args.port)
            .await
            .map_err(|e| format!("cannot listen on 127.0.0.1:{}: {e}", args.port))?;
        // Whoever reads stdout may stop reading: the simulator goes on serving.
        use std::io::Write;
        let mut out = std::io::stdout();
        let _ = writeln!(out, "{}\nstop with Ctrl-C", running.describe());
        let _ = out.flush();
        let _ = tokio::signal::ctrl_c().await;
        Ok(())
    })
}
