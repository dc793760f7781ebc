//! The bundled plugins against their bundled simulators, in-process: what
//! `vetpay plugin conform --bundled` and `vetpay simulator` run.

use std::collections::BTreeMap;

use vetpay_simulators::gravity::GravitySim;
use vetpay_simulators::nets::NetsSim;

/// A bundled provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Provider {
    Gravity,
    Nets,
}

/// A running bundled simulator and how a plugin reaches it. The simulator
/// serves until the tokio runtime that started it ends.
pub struct Running {
    /// Base URL of the control API (`/_conform`).
    pub control_url: String,
    pub terminal: String,
    pub market: &'static str,
    pub currency: &'static str,
    /// The plugin settings that reach this simulator, secrets included.
    pub settings: BTreeMap<String, String>,
    pub plugin: &'static [u8],
}

const GRAVITY_OID: &str = "conform-oid-4711";
const GRAVITY_TOKEN: &str = "conform-gravity-token-9c1f";
const NETS_USER: &str = "conform-dk";
const NETS_PASSWORD: &str = "Conform-Nets-P4ss!";

/// Starts `provider`'s simulator on `port` of 127.0.0.1 (0: any).
pub async fn start(provider: Provider, port: u16) -> std::io::Result<Running> {
    let pairs = |list: &[(&str, &str)]| -> BTreeMap<String, String> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    Ok(match provider {
        Provider::Gravity => {
            let sim = GravitySim::try_start_on(port, GRAVITY_OID, GRAVITY_TOKEN).await?;
            // Short polling windows: the suite should take seconds, not minutes.
            let settings = pairs(&[
                ("oid", GRAVITY_OID),
                ("auth-token", GRAVITY_TOKEN),
                ("base-url", &sim.base_url),
                ("poll-interval-ms", "50"),
                ("poll-window-ms", "20000"),
                ("background-interval-ms", "50"),
                ("background-window-ms", "500"),
                ("abort-grace-ms", "300"),
                ("rate-limit-backoff-ms", "10"),
            ]);
            Running {
                control_url: sim.origin.clone(),
                terminal: "conform-device-1".into(),
                market: "US",
                currency: "USD",
                settings,
                plugin: vetpay_bundled_plugins::GRAVITY,
            }
        }
        Provider::Nets => {
            let sim = NetsSim::start_on(port).await?;
            sim.add_account(NETS_USER, NETS_PASSWORD);
            sim.add_terminal(NETS_USER, "T-100", "Lane3000", true);
            let settings = pairs(&[
                ("username", NETS_USER),
                ("password", NETS_PASSWORD),
                ("base-url", &sim.base_url),
                ("lookup-delay-ms", "50"),
                ("token-refresh-margin-s", "0"),
            ]);
            Running {
                control_url: sim.base_url.clone(),
                terminal: "T-100".into(),
                market: "DK",
                currency: "DKK",
                settings,
                plugin: vetpay_bundled_plugins::NETS,
            }
        }
    })
}

impl Running {
    /// What a person needs to point a plugin at this simulator.
    pub fn describe(&self) -> String {
        let settings: Vec<String> = self
            .settings
            .iter()
            .map(|(k, v)| format!("--setting {k}={v}"))
            .collect();
        format!(
            "simulator   {}\ncontrol     {}/_conform\nterminal    {}\nmarket      {} ({})\nconform     vetpay plugin conform FILE.wasm --simulator {} --terminal {} --market {} --currency {} {}",
            self.control_url,
            self.control_url,
            self.terminal,
            self.market,
            self.currency,
            self.control_url,
            self.terminal,
            self.market,
            self.currency,
            settings.join(" ")
        )
    }
}
