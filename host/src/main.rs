//! The `vetpay` command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use vetpay::plugin::{self, Runtime, RuntimeConfig};
use vetpay::store::Store;

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
}

impl Database {
    async fn open(&self) -> Result<Store, String> {
        let store = match &self.database {
            Some(url) => Store::connect(url).await,
            None => Store::sqlite_in(&self.data_dir).await,
        };
        store.map_err(|e| format!("cannot open the database: {e}"))
    }
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
enum PluginCommand {
    /// Print a plugin's manifest and the contract version it exports, after
    /// checking that this host can load it.
    Inspect {
        /// The plugin's .wasm file.
        file: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Only read the manifest and exports; do not compile and link.
        #[arg(long)]
        no_compile: bool,
    },
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
        Command::Plugin {
            command:
                PluginCommand::Inspect {
                    file,
                    json,
                    no_compile,
                },
        } => inspect(&file, json, no_compile),
        Command::Org {
            command: OrgCommand::Create { name, database },
        } => create_org(&name, &database),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn inspect(file: &std::path::Path, json: bool, no_compile: bool) -> Result<(), String> {
    let shown = file.display();
    let bytes = std::fs::read(file).map_err(|e| format!("cannot read {shown}: {e}"))?;
    let info = plugin::inspect(&bytes)
        .map_err(|e| format!("{shown} is not a valid vetpay plugin: {e}"))?;
    if !no_compile {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start: {e}"))?;
        runtime.block_on(async {
            let rt = Runtime::new(RuntimeConfig {
                prefer_pooling: false,
                ..RuntimeConfig::default()
            })
            .map_err(|e| e.to_string())?;
            rt.load(bytes)
                .await
                .map(|_| ())
                .map_err(|e| format!("{shown} is not a valid vetpay plugin: {e}"))
        })?;
    }
    if json {
        let text = serde_json::to_string_pretty(&info).map_err(|e| e.to_string())?;
        println!("{text}");
    } else {
        print!("{}", describe(&info));
    }
    Ok(())
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

fn describe(info: &plugin::PluginFileInfo) -> String {
    use std::fmt::Write;
    let m = &info.manifest;
    let mut out = String::new();
    let _ = writeln!(out, "plugin      {} ({})", m.id, m.name);
    let _ = writeln!(out, "version     {}", m.version);
    let _ = writeln!(
        out,
        "contract    vetpay:terminal@{} (manifest {})",
        info.exported_contract, m.contract
    );
    let _ = writeln!(out, "markets     {}", m.markets.join(", "));
    let currencies: Vec<&str> = m.currencies.iter().map(|c| c.code()).collect();
    let _ = writeln!(out, "currencies  {}", currencies.join(", "));
    let caps: Vec<&str> = m.capabilities.iter().map(|c| c.export_name()).collect();
    let _ = writeln!(out, "exports     {}", caps.join(", "));
    let hosts: Vec<String> = m.allowed_hosts.iter().map(|h| h.to_string()).collect();
    let _ = writeln!(
        out,
        "hosts       {}",
        if hosts.is_empty() {
            "(none)".into()
        } else {
            hosts.join(", ")
        }
    );
    let _ = writeln!(out, "sha256      {}", info.sha256);
    let _ = writeln!(out, "size        {} bytes", info.size);
    if !m.settings.is_empty() {
        let _ = writeln!(out, "settings");
        for s in &m.settings {
            let flags = [
                Some(format!("{:?}", s.scope).to_lowercase()),
                Some(format!("{:?}", s.kind).to_lowercase()),
                s.secret.then(|| "secret".to_owned()),
                s.required.then(|| "required".to_owned()),
                s.default.as_ref().map(|d| format!("default {d}")),
            ];
            let flags: Vec<String> = flags.into_iter().flatten().collect();
            let _ = writeln!(
                out,
                "  {:<24} {} / {} [{}]",
                s.key,
                s.label.en,
                s.label.da,
                flags.join(", ")
            );
        }
    }
    out
}
