//! The `vetpay` command line.

use std::path::PathBuf;
use std::process::ExitCode;

mod plugin_cli;
mod plugin_new;

use clap::{Parser, Subcommand};
use vetpay::plugin::{NetworkPolicy, RuntimeConfig};
use vetpay::store::Store;
use vetpay::vault::{self, Keyring};

// Every plugin call allocates a store and its lowered arguments; mimalloc's
// thread-local free lists make that a good deal cheaper than glibc's malloc.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "vetpay",
    version,
    about = "Clinic backend with sandboxed payment plugins"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the API's OpenAPI 3.1 description (what GET /openapi.json serves).
    Openapi,
    /// Work with plugin files.
    Plugin {
        #[command(subcommand)]
        command: PluginCommand,
    },
    /// Manage organisations.
    Org {
        #[command(subcommand)]
        command: OrgCommand,
    },
    /// Manage API keys.
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
    /// Health-plan billing.
    Billing {
        #[command(subcommand)]
        command: BillingCommand,
    },
    /// Close a department's day: End of Day on its terminals, the takings, and
    /// what differs (as `POST /v1/departments/{id}/close`); prints the report.
    Close(CloseArgs),
    /// Serve the API.
    Serve {
        #[command(flatten)]
        database: Database,
        /// Address to listen on.
        #[arg(long, env = "VETPAY_LISTEN", default_value = "127.0.0.1:8080")]
        listen: String,
        /// Where compiled plugin code is cached.
        #[arg(long, env = "VETPAY_CODE_CACHE")]
        code_cache: Option<PathBuf>,
        #[command(flatten)]
        network: Network,
        #[command(flatten)]
        leases: Leases,
    },
    /// Run a demo: embedded SQLite, both provider simulators on loopback, the
    /// bundled plugins installed, and a US (Gravity) and a Danish (Nets) clinic.
    #[cfg(feature = "demo")]
    Demo {
        /// Use this admin API key (at least 16 characters) instead of a generated one.
        #[arg(long)]
        admin_key: Option<String>,
        /// Port on 127.0.0.1.
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// Directory of the demo's database; a new temporary one by default.
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Run a bundled provider simulator on its own (the card-holder control
    /// protocol under /_conform, docs/CONFORMANCE.md).
    #[cfg(feature = "demo")]
    Simulator(vetpay::conform::cli::SimulatorArgs),
    /// The operator's key: make one, re-seal the secrets under a new one.
    Vault {
        #[command(subcommand)]
        command: VaultCommand,
    },
}

#[derive(Subcommand)]
enum VaultCommand {
    /// Print a new random key (64 hex digits), or write it to a new file.
    NewKey {
        /// Write the key to this file (created with mode 0600; never overwritten).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Re-seal every plugin secret under the primary key. Run it after
    /// starting the hosts with the new key as primary (--secret-key-file) and
    /// the old one as previous (--previous-key-file); then drop the old key.
    Rekey {
        #[command(flatten)]
        database: Database,
    },
}

/// The operator's word on which special addresses plugins may reach.
#[derive(clap::Args)]
struct Network {
    /// Let plugins reach this range of loopback, private, link-local or other
    /// special addresses (CIDR, repeatable), for a provider on the local network
    /// or a simulator. Refused by default; wildcards such as 0.0.0.0/0 are refused.
    #[arg(long, env = "VETPAY_ALLOW_PRIVATE_NETWORK", value_delimiter = ',')]
    allow_private_network: Vec<String>,
}

impl Network {
    fn policy(&self) -> Result<NetworkPolicy, String> {
        self.allow_private_network
            .iter()
            .try_fold(NetworkPolicy::public_only(), |policy, text| {
                NetworkPolicy::parse_allowance(text)
                    .map(|range| policy.allow(range))
                    .map_err(|e| format!("--allow-private-network: {e}"))
            })
    }
}

/// How this host leases the payment attempts it runs.
#[derive(clap::Args)]
struct Leases {
    /// This host's name in attempt leases: keep it across restarts and unique
    /// among the hosts of one database, so a restarted host takes back its own
    /// interrupted payments at once (otherwise when their lease lapses).
    #[arg(long, env = "VETPAY_HOST_ID")]
    host_id: Option<String>,
    /// Seconds an attempt's lease lasts without renewal: a dead host's
    /// payments are taken over by another host within this time.
    #[arg(long, env = "VETPAY_ATTEMPT_LEASE_SECONDS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(3..=3600))]
    attempt_lease_seconds: u64,
}

impl Leases {
    fn apply(&self, mut config: vetpay::service::ClinicConfig) -> vetpay::service::ClinicConfig {
        if let Some(id) = &self.host_id {
            config.host_id = id.clone();
        }
        config.recovery.attempt_lease = std::time::Duration::from_secs(self.attempt_lease_seconds);
        config
    }
}

/// Where the database is: PostgreSQL by URL, or embedded SQLite in a directory.
#[derive(clap::Args)]
struct Database {
    /// Database URL (postgres://... or sqlite://...); overrides --data-dir.
    #[arg(long, env = "VETPAY_DATABASE_URL")]
    database: Option<String>,
    /// Directory of the embedded SQLite database.
    #[arg(long, env = "VETPAY_DATA_DIR", default_value = "vetpay-data")]
    data_dir: PathBuf,
    #[command(flatten)]
    keys: Keys,
    /// The largest amount accepted in a currency, in major units, as CUR=AMOUNT
    /// (repeatable; USD=250000.00). The default is 100,000,000 major units.
    #[arg(long, env = "VETPAY_MAX_AMOUNT", value_delimiter = ',')]
    max_amount: Vec<String>,
}

/// The operator's key: it seals plugin secrets at rest and keys the API-key
/// hashes. Every host of one database needs the same.
#[derive(clap::Args)]
struct Keys {
    /// File holding the key (64 hex digits or base64, mode 0600). Embedded
    /// SQLite defaults to `secret.key` in the data directory, made on first start.
    #[arg(long, env = "VETPAY_SECRET_KEY_FILE")]
    secret_key_file: Option<PathBuf>,
    /// The key itself, for deployments that pass it in the environment.
    #[arg(long = "secret-key", env = "VETPAY_SECRET_KEY", hide_env_values = true)]
    secret_key: Option<String>,
    /// Earlier keys, still opening what they sealed until `vetpay vault rekey`.
    #[arg(long, env = "VETPAY_PREVIOUS_SECRET_KEY_FILES", value_delimiter = ',')]
    previous_key_file: Vec<PathBuf>,
}

impl Keys {
    /// The keyring, or `None` where the embedded default's key file applies.
    fn keyring(&self) -> Result<Option<Keyring>, String> {
        let primary = match (&self.secret_key, &self.secret_key_file) {
            (Some(text), _) => vault::parse_key(text),
            (None, Some(path)) => vault::read_key_file(path),
            (None, None) => return Ok(None),
        }
        .map_err(|e| e.to_string())?;
        let previous = self
            .previous_key_file
            .iter()
            .map(|p| vault::read_key_file(p))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?;
        Ok(Some(Keyring::new(primary, previous)))
    }
}

impl Database {
    async fn open(&self) -> Result<Store, String> {
        let keyring = self.keys.keyring()?;
        let store = match (&self.database, keyring) {
            (Some(url), Some(keyring)) => Store::connect(url, keyring).await,
            (Some(_), None) => {
                return Err("a shared database needs the operator's key: pass --secret-key-file \
                     (or VETPAY_SECRET_KEY), the same on every host; `vetpay vault new-key` makes one"
                    .into());
            }
            (None, Some(keyring)) => Store::sqlite_in_with(&self.data_dir, keyring).await,
            (None, None) => Store::sqlite_in(&self.data_dir).await,
        };
        let limits = self.max_amount.iter().try_fold(
            vetpay::money::AmountLimits::default(),
            |limits, text| {
                vetpay::money::AmountLimits::parse_override(text)
                    .map(|(currency, max)| limits.with(currency, max))
                    .map_err(|e| format!("--max-amount {text}: {e}"))
            },
        )?;
        store
            .map(|s| s.with_amount_limits(limits))
            .map_err(|e| format!("cannot open the database: {e}"))
    }
}

#[derive(Subcommand)]
enum BillingCommand {
    /// Bill a month now: issue the health-plan invoices and charge saved cards,
    /// with a progress bar. Safe to repeat or to restart after an interruption.
    Run {
        /// The organisation; may be left out when the database holds only one.
        #[arg(long)]
        organisation: Option<String>,
        /// The month, YYYY-MM; this month (UTC) by default.
        #[arg(long)]
        period: Option<String>,
        /// Batches in flight at once.
        #[arg(long, default_value_t = 4)]
        workers: usize,
        /// Months per batch; each batch's charges run at once.
        #[arg(long, default_value_t = 64)]
        batch: i64,
        /// No progress bar (for logs).
        #[arg(long)]
        quiet: bool,
        /// How long a claimed month stays with this run (seconds); by default
        /// longer than a charge can take. A restart after a crash picks up the
        /// crashed run's months once their lease has passed.
        #[arg(long)]
        lease_seconds: Option<u64>,
        #[command(flatten)]
        database: Database,
        /// Where compiled plugin code is cached.
        #[arg(long, env = "VETPAY_CODE_CACHE")]
        code_cache: Option<PathBuf>,
        #[command(flatten)]
        network: Network,
    },
}

#[derive(Subcommand)]
enum OrgCommand {
    /// Create an organisation and print its first admin API key.
    Create {
        /// The organisation's name.
        name: String,
        #[command(flatten)]
        database: Database,
    },
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Make an API key and print its secret (shown only this once).
    Create {
        /// What it may do: admin (plugins, settings, terminals, keys) or staff.
        #[arg(long, value_parser = ["admin", "staff"])]
        role: String,
        /// What the key is for, such as "front desk".
        #[arg(long)]
        name: String,
        /// The organisation; may be left out when the database holds only one.
        #[arg(long)]
        organisation: Option<String>,
        /// Days until the key stops working; it does not expire by default.
        #[arg(long)]
        expires_in_days: Option<i64>,
        #[command(flatten)]
        database: Database,
    },
    /// List an organisation's keys (never their secrets).
    List {
        /// The organisation; may be left out when the database holds only one.
        #[arg(long)]
        organisation: Option<String>,
        #[command(flatten)]
        database: Database,
    },
    /// Revoke a key at once, on every host.
    Revoke {
        /// The key's id (from `vetpay key list`).
        id: String,
        #[command(flatten)]
        database: Database,
    },
}

#[derive(Subcommand)]
enum PluginCommand {
    /// Print a plugin's manifest and the contract version it exports, after
    /// checking that this host can load it.
    Inspect {
        /// The plugin's .wasm file.
        file: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Only read the manifest, imports and exports; do not compile and link.
        #[arg(long)]
        no_compile: bool,
    },
    /// Check a plugin.toml before building: the same checks, and the same
    /// messages, as `inspect` gives for the manifest a .wasm embeds.
    Check {
        /// The manifest, usually plugin.toml beside the plugin's Cargo.toml.
        file: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Certify a plugin against a simulator of its provider (docs/CONFORMANCE.md).
    Conform(vetpay::conform::cli::ConformArgs),
    /// Write a new plugin project that builds outside vetpay's repository: a
    /// complete terminal plugin, its simulator, native tests and conform settings.
    New(plugin_new::NewArgs),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Openapi => serde_json::to_string_pretty(&vetpay::api::openapi::document())
            .map(|text| println!("{text}"))
            .map_err(|e| e.to_string()),
        Command::Plugin {
            command:
                PluginCommand::Inspect {
                    file,
                    json,
                    no_compile,
                },
        } => plugin_cli::inspect(&file, json, no_compile),
        Command::Plugin {
            command: PluginCommand::Check { file, json },
        } => plugin_cli::check(&file, json),
        Command::Plugin {
            command: PluginCommand::New(args),
        } => plugin_new::run(&args)
            .map(|dir| println!("{}", plugin_new::next_steps(&dir, &args.name)))
            .map_err(|e| e.to_string()),
        Command::Plugin {
            command: PluginCommand::Conform(args),
        } => vetpay::conform::cli::conform(args),
        Command::Org {
            command: OrgCommand::Create { name, database },
        } => create_org(&name, &database),
        Command::Key { command } => key_command(command),
        Command::Serve {
            database,
            listen,
            code_cache,
            network,
            leases,
        } => network.policy().and_then(|network| {
            let config = leases.apply(vetpay::service::ClinicConfig::default());
            serve(
                &database,
                &listen,
                runtime_config(code_cache, network),
                config,
            )
        }),
        Command::Close(args) => close_day(args),
        Command::Billing {
            command:
                BillingCommand::Run {
                    organisation,
                    period,
                    workers,
                    batch,
                    quiet,
                    lease_seconds,
                    database,
                    code_cache,
                    network,
                },
        } => billing_run(BillingArgs {
            organisation,
            period,
            workers,
            batch,
            quiet,
            lease_seconds,
            database,
            code_cache,
            network,
        }),
        #[cfg(feature = "demo")]
        Command::Demo {
            admin_key,
            port,
            data_dir,
        } => demo(admin_key, port, data_dir),
        #[cfg(feature = "demo")]
        Command::Simulator(args) => vetpay::conform::cli::simulator(args),
        Command::Vault { command } => vault_command(command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn create_org(name: &str, database: &Database) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start: {e}"))?;
    runtime.block_on(async {
        let store = database.open().await?;
        let (org, key) = store
            .create_organisation(name)
            .await
            .map_err(|e| format!("cannot create the organisation: {e}"))?;
        println!("organisation {} ({})", org.name, org.id);
        println!("admin key    {}", key.key);
        println!("keep the key: it is shown only this once");
        Ok(())
    })
}

/// The organisation given, or the only one the database holds.
async fn organisation_or_only(store: &Store, given: Option<String>) -> Result<String, String> {
    if let Some(id) = given {
        return Ok(id);
    }
    let all = store.organisation_ids().await.map_err(|e| e.to_string())?;
    match all.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err("the database holds no organisation; make one with `vetpay org create`".into()),
        _ => Err("the database holds several organisations: say which with --organisation".into()),
    }
}

fn key_command(command: KeyCommand) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start: {e}"))?;
    runtime.block_on(async {
        match command {
            KeyCommand::Create {
                role,
                name,
                organisation,
                expires_in_days,
                database,
            } => key_create(&database, organisation, &role, &name, expires_in_days).await,
            KeyCommand::List {
                organisation,
                database,
            } => key_list(&database, organisation).await,
            KeyCommand::Revoke { id, database } => key_revoke(&database, &id).await,
        }
    })
}

async fn key_create(
    database: &Database,
    organisation: Option<String>,
    role: &str,
    name: &str,
    expires_in_days: Option<i64>,
) -> Result<(), String> {
    use vetpay::store::{Actor, MAX_KEY_DAYS, Role};
    let role = Role::parse(role).ok_or("--role is admin or staff")?;
    let expires_at = match expires_in_days {
        Some(days) if (1..=MAX_KEY_DAYS).contains(&days) => {
            Some(jiff::Timestamp::now().as_millisecond() + days * 86_400_000)
        }
        Some(_) => return Err(format!("--expires-in-days takes 1 to {MAX_KEY_DAYS}")),
        None => None,
    };
    let store = database.open().await?;
    let organisation = organisation_or_only(&store, organisation).await?;
    let key = store
        .create_api_key_by(&organisation, role, name, expires_at, &Actor::operator())
        .await
        .map_err(|e| format!("cannot create the key: {e}"))?;
    println!("key id       {}", key.info.id);
    println!("{} key    {}", role.as_str(), key.key);
    println!("keep the key: it is shown only this once");
    Ok(())
}

/// Unix milliseconds as an RFC 3339 time, or "-".
fn shown_time(ms: Option<i64>) -> String {
    ms.and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok())
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|| "-".into())
}

async fn key_list(database: &Database, organisation: Option<String>) -> Result<(), String> {
    let store = database.open().await?;
    let organisation = organisation_or_only(&store, organisation).await?;
    let keys = store
        .api_keys(&organisation)
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "{:<36}  {:<5}  {:<8}  {:<20}  {:<20}  {:<20}  name",
        "id", "role", "state", "created", "last used", "expires"
    );
    let now = jiff::Timestamp::now().as_millisecond();
    for k in keys {
        let state = if k.revoked_at.is_some() {
            "revoked"
        } else if k.expires_at.is_some_and(|at| at <= now) {
            "expired"
        } else {
            "active"
        };
        println!(
            "{:<36}  {:<5}  {:<8}  {:<20}  {:<20}  {:<20}  {}",
            k.id,
            k.role.as_str(),
            state,
            shown_time(Some(k.created_at)),
            shown_time(k.last_used_at),
            shown_time(k.expires_at),
            k.name
        );
    }
    Ok(())
}

async fn key_revoke(database: &Database, id: &str) -> Result<(), String> {
    use vetpay::store::{Actor, Revoked};
    let store = database.open().await?;
    let organisation = store
        .api_key_organisation(id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no API key {id} in this database (see `vetpay key list`)"))?;
    match store
        .revoke_api_key_by(&organisation, id, &Actor::operator())
        .await
        .map_err(|e| e.to_string())?
    {
        Revoked::Now(k) => println!("revoked key {} ({})", k.id, k.name),
        Revoked::Already(k) => println!("key {} ({}) was already revoked", k.id, k.name),
        Revoked::NotFound => return Err(format!("no API key {id} in this database")),
    }
    Ok(())
}

fn multi_thread() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start: {e}"))
}

fn runtime_config(code_cache: Option<PathBuf>, network: NetworkPolicy) -> RuntimeConfig {
    RuntimeConfig {
        network,
        compiled_cache_dir: Some(
            code_cache.unwrap_or_else(|| std::env::temp_dir().join("vetpay-compiled-cache")),
        ),
        ..RuntimeConfig::default()
    }
}

async fn shutdown() {
    let _ = tokio::signal::ctrl_c().await;
}

fn serve(
    database: &Database,
    listen: &str,
    runtime: RuntimeConfig,
    config: vetpay::service::ClinicConfig,
) -> Result<(), String> {
    multi_thread()?.block_on(async {
        let store = database.open().await?;
        let clinic = vetpay::server::clinic(store, runtime, config).map_err(|e| e.to_string())?;
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
        eprintln!("vetpay listening on http://{listen}");
        tokio::select! {
            r = vetpay::server::serve(listener, clinic) => r.map_err(|e| e.to_string()),
            _ = shutdown() => Ok(()),
        }
    })
}

#[derive(clap::Args)]
struct CloseArgs {
    /// The department.
    #[arg(long)]
    department: String,
    /// The organisation; may be left out when the database holds only one.
    #[arg(long)]
    organisation: Option<String>,
    /// The department's local date, YYYY-MM-DD; today there by default.
    #[arg(long)]
    date: Option<String>,
    /// text (a receipt), json or csv.
    #[arg(long, default_value = "text")]
    format: String,
    #[command(flatten)]
    database: Database,
    /// Where compiled plugin code is cached.
    #[arg(long, env = "VETPAY_CODE_CACHE")]
    code_cache: Option<PathBuf>,
    #[command(flatten)]
    network: Network,
}

fn close_day(args: CloseArgs) -> Result<(), String> {
    multi_thread()?.block_on(async {
        let store = args.database.open().await?;
        let organisation = organisation_or_only(&store, args.organisation).await?;
        let runtime = runtime_config(args.code_cache, args.network.policy()?);
        let clinic = vetpay::server::clinic(store, runtime, Default::default())
            .map_err(|e| e.to_string())?;
        let closed = clinic
            .close_day(&organisation, &args.department, args.date.as_deref())
            .await
            .map_err(|e| e.to_string())?;
        let report = closed.report;
        match args.format.as_str() {
            "text" => print!("{}", report.text()),
            "csv" => print!("{}", report.csv()),
            "json" => println!(
                "{}",
                serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?
            ),
            other => return Err(format!("--format {other}: use text, json or csv")),
        }
        if !closed.created {
            eprintln!("{} was closed before: this is its close", report.date);
        }
        Ok(())
    })
}

struct BillingArgs {
    organisation: Option<String>,
    period: Option<String>,
    workers: usize,
    batch: i64,
    quiet: bool,
    lease_seconds: Option<u64>,
    database: Database,
    code_cache: Option<PathBuf>,
    network: Network,
}

fn billing_run(args: BillingArgs) -> Result<(), String> {
    use vetpay::service::{BillingConfig, ClinicConfig};
    multi_thread()?.block_on(async {
        let store = args.database.open().await?;
        let organisation = organisation_or_only(&store, args.organisation).await?;
        let period = match &args.period {
            Some(p) => vetpay::store::Period::parse(p)
                .map_err(|e| vetpay::store::StoreError::from(e).to_string())?,
            None => vetpay::store::Period::current("UTC"),
        };
        let mut runtime = runtime_config(args.code_cache, args.network.policy()?);
        // Every charge of every batch in flight may run at once.
        runtime.max_concurrent_calls = runtime.max_concurrent_calls.max(args.workers * args.batch as usize);
        runtime.pool_instances = runtime.pool_instances.max(runtime.max_concurrent_calls as u32);
        let config = ClinicConfig {
            billing: BillingConfig {
                batch: args.batch,
                workers: args.workers,
                every: None,
                lease: args.lease_seconds.map(std::time::Duration::from_secs),
            },
            ..ClinicConfig::default()
        };
        let clinic = vetpay::server::clinic(store.clone(), runtime, config).map_err(|e| e.to_string())?;
        if !clinic.health_plans_enabled(&organisation.as_str().into()).await.map_err(|e| e.to_string())? {
            return Err("the health-plan add-on is off for this organisation (setting health-plans-enabled)".into());
        }
        let run = store
            .start_billing_run(&organisation, period)
            .await
            .map_err(|e| e.to_string())?;
        let task = {
            let (clinic, org, run) = (clinic.clone(), organisation.clone(), run.clone());
            tokio::spawn(async move { clinic.run_billing(&org.as_str().into(), &run).await })
        };
        let bar = if args.quiet {
            indicatif::ProgressBar::hidden()
        } else {
            indicatif::ProgressBar::new(run.total.max(0) as u64)
        };
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} billing {prefix} [{bar:40}] {pos}/{len} {msg} ({elapsed})",
            )
            .map_err(|e| e.to_string())?
            .progress_chars("=> "),
        );
        bar.set_prefix(run.period.clone());
        while !task.is_finished() {
            if let Ok(Some(now)) = store.billing_run(&organisation, &run.id).await {
                bar.set_position(now.processed.max(0) as u64);
                bar.set_message(format!("charged {}, invoiced {}, failed {}", now.charged, now.invoiced, now.failed));
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        let done = task
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| format!("the billing run failed: {e}"))?;
        bar.finish_and_clear();
        println!(
            "billing run {} for {}: {}; {} processed, {} charged ({} minor units), {} invoiced, {} failed",
            done.id, done.period, done.status, done.processed, done.charged, done.charged_amount, done.invoiced, done.failed
        );
        if done.status == "done" {
            Ok(())
        } else {
            Err(done.message.unwrap_or_else(|| "the run did not finish".into()))
        }
    })
}

#[cfg(feature = "demo")]
fn demo(admin_key: Option<String>, port: u16, data_dir: Option<PathBuf>) -> Result<(), String> {
    multi_thread()?.block_on(async {
        let dir = data_dir.unwrap_or_else(|| {
            std::env::temp_dir().join(format!("vetpay-demo-{}", uuid::Uuid::new_v4().simple()))
        });
        let store = Store::sqlite_in(&dir)
            .await
            .map_err(|e| format!("cannot open the demo database: {e}"))?;
        // The demo's simulators listen on loopback; the demo allows it as an
        // operator would with --allow-private-network.
        let runtime = runtime_config(None, NetworkPolicy::with_loopback());
        let clinic = vetpay::server::clinic(store, runtime, Default::default())
            .map_err(|e| e.to_string())?;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .map_err(|e| {
                format!("cannot listen on 127.0.0.1:{port}: {e} (choose another with --port)")
            })?;
        let demo = vetpay::demo::seed(&clinic, vetpay::demo::DemoOptions { admin_key })
            .await
            .map_err(|e| format!("seeding the demo: {e}"))?;
        let base = format!("http://127.0.0.1:{port}");
        println!("{}", demo.walkthrough(&base));
        println!("database: {}\nstop with Ctrl-C", dir.display());
        tokio::select! {
            r = vetpay::server::serve(listener, clinic) => r.map_err(|e| e.to_string()),
            _ = shutdown() => Ok(()),
        }
    })
}

fn vault_command(command: VaultCommand) -> Result<(), String> {
    match command {
        VaultCommand::NewKey { out: None } => {
            println!("{}", &*vault::new_key_text());
            Ok(())
        }
        VaultCommand::NewKey { out: Some(path) } => write_new_key(&path),
        VaultCommand::Rekey { database } => rekey(&database),
    }
}

/// Writes a new key to `path`, which must not exist yet, readable by its owner only.
fn write_new_key(path: &std::path::Path) -> Result<(), String> {
    use std::io::Write;
    let shown = path.display();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .map_err(|e| format!("cannot create {shown}: {e}"))?;
    let key = vault::new_key_text();
    file.write_all(key.as_bytes())
        .and_then(|()| file.write_all(b"\n"))
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("cannot write {shown}: {e}"))?;
    eprintln!("wrote a new key to {shown}");
    Ok(())
}

fn rekey(database: &Database) -> Result<(), String> {
    multi_thread()?.block_on(async {
        let store = database.open().await?;
        let done = store
            .reseal_plugin_secrets(true)
            .await
            .map_err(|e| format!("cannot re-seal the secrets: {e}"))?;
        println!(
            "re-sealed {} secret(s) under key {}; {} were current, {} were in clear",
            done.rekeyed,
            store.keyring().primary_id(),
            done.current,
            done.sealed_clear
        );
        Ok(())
    })
}
