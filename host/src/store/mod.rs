//! Persistence: sqlx over SQLite (embedded default, one file, WAL) or PostgreSQL
//! (several hosts sharing one database). One set of portable SQL serves both
//! through sqlx's `Any` driver: `$N` parameters, text ids, BIGINT times and
//! integer minor units only.

mod api_keys;
mod attempts;
mod audit;
mod billing;
mod catalog;
mod clients;
mod console_sessions;
mod day_closes;
mod discounts;
mod groups;
mod idempotency;
mod invoices;
mod ledger;
mod notify;
mod payments;
mod placeholders;
mod plans;
mod plugin_config;
mod plugins;
mod rows;
mod send_marks;
mod settings;
mod settlements;
mod shared_cache;
mod tenancy;
mod terminals;
mod text_enum;

use std::path::Path;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{Any, AnyPool, Executor, Transaction};
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::money::{AmountLimits, Currency};
use crate::vault::Keyring;

pub use api_keys::{
    DEFAULT_ROTATION_GRACE_SECONDS, LAST_USED_EVERY_MS, MAX_KEY_DAYS, MAX_ROTATION_GRACE_SECONDS,
    Revoked,
};
pub use attempts::TerminalHistory;
pub use audit::{
    Actor, AuditAction, AuditEvent, AuditFilter, AuditPage, MAX_AUDIT_PAGE, NewAuditEvent,
};
pub use billing::{BillingRun, ClaimedPeriod, PeriodOutcome};
pub use catalog::{
    CatalogItem, ItemChange, ItemKind, ItemPrice, NewItem, NewPrice, PlanOffer, PricedItem,
};
pub use clients::{Card, Client, NewCard, NewClient, NewPatient, Patient};
pub use console_sessions::{ConsoleSession, NewConsoleSession};
pub use day_closes::{CloseClaim, OpenPayment, SettledPayment};
pub use discounts::{NewDiscount, StoredDiscount};
pub use idempotency::{Idempotency, StoredAnswer};
pub use invoices::{Invoice, InvoiceLine, NewInvoice, NewLine};
pub use notify::PAYMENT_EVENTS;
pub use payments::{NewPayment, Payment, Settlement, Started};
pub use plans::{ItemBalance, NewPlan, NewPlanItem, NewSubscription, Plan, PlanItem, Subscription};
// The rules and the types they speak of live in the domain crate; re-exported
// here so `vetpay::store::X` keeps naming them.
pub use plugin_config::{PluginSettingValue, PluginSetup, Resealed};
pub use plugins::InstalledPlugin;
pub use settings::{
    CATALOG_PRICE_OVERRIDE, Definition, GRAVITY_RECURRING, Kind, Scope, SettingValue, definitions,
};
pub use shared_cache::DbCache;
pub use tenancy::{ApiKey, Department, NewDepartment, NewKey, Organisation, Role};
pub use terminals::{NewTerminal, Terminal};
pub use text_enum::parse_input;
pub use vetpay_domain::{
    InvoiceKind, InvoiceStatus, LineAmounts, Method, PaymentKind, PaymentOption, PaymentStatus,
    Period, SubscriptionStatus, line_amounts, today,
};

/// Which database is behind a [`Store`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The input is wrong; the message says how to fix it.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migrating the database: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The request conflicts with the current state; the variant says which
    /// rule (the API maps it to 409 and its code, `api/error.rs`).
    #[error("{0}")]
    Conflict(Conflict),
    #[error("unsupported database URL '{0}': use sqlite://PATH or postgres://...")]
    UnsupportedUrl(String),
    #[error(transparent)]
    Vault(#[from] crate::vault::VaultError),
    /// A stored value does not parse: the database was altered outside vetpay
    /// or by a bug. Never the caller's fault, never read as zero.
    #[error("corrupt value in {table}.{column} of row {row}: '{value}'")]
    Corrupt {
        table: &'static str,
        column: &'static str,
        row: String,
        value: String,
    },
}

/// Which rule a request ran into. The texts say what is wrong in the
/// domain's words; the API adds how to fix it (routes are its business).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Conflict {
    /// Another request (here or on another host) is closing the day now.
    #[error(
        "{date} is being closed by another request; its report is there in a moment (GET /v1/departments/{{id}}/closes/{date})"
    )]
    DayBeingClosed { date: String },
    /// Another attempt is running (or unknown) on the terminal; `None` when
    /// the database's unique index caught a concurrent start.
    #[error("terminal busy: {}", match (.payment_id, .status) {
        (Some(id), Some(status)) => format!("payment {id} is {} on it; wait for it to finish{}", status.as_str(),
            if *status == PaymentStatus::Unknown { " (an unknown payment keeps its terminal until the provider confirms what happened)" } else { ", or abort it" }),
        _ => "another payment is running on this terminal".to_owned(),
    })]
    TerminalBusy {
        payment_id: Option<String>,
        status: Option<PaymentStatus>,
    },
    /// A card attempt on the invoice has an unknown outcome.
    #[error(
        "payment {payment_id} on this invoice has an unknown outcome; no new card payment can start until it is resolved"
    )]
    InvoiceBeingPaid { payment_id: String },
    #[error("a credit note is not paid; refund the credited invoice's payment instead")]
    CreditNoteNotPaid,
    #[error("the invoice is a draft; finalise it first")]
    InvoiceIsDraft,
    /// Lines change only on a draft.
    #[error("invoice {number} is {}; only a draft's lines can change (credit it with a credit note instead)", .status.as_str())]
    NotDraft { number: i64, status: InvoiceStatus },
    #[error("invoice {number} is already {}", .status.as_str())]
    AlreadyFinalised { number: i64, status: InvoiceStatus },
    #[error("only a finalised invoice can be credited; a draft can simply be changed")]
    NotCreditable,
    #[error("line {position} of this invoice is already credited")]
    AlreadyCredited { position: i64 },
    #[error("only a succeeded payment can be refunded; this one is {} {}", .kind.as_str(), .status.as_str())]
    NotRefundable {
        kind: PaymentKind,
        status: PaymentStatus,
    },
    #[error("the payment is {}; only an unknown or needs_review payment is resolved by hand", .status.as_str())]
    AlreadyFinal { status: PaymentStatus },
    /// `status` is `None` for a payment that is not a card on a terminal.
    #[error("{}", match .status {
        Some(s) => format!("the payment is {}; only a processing payment can be aborted", s.as_str()),
        None => "only a card payment on a terminal can be aborted".to_owned(),
    })]
    NotAbortable { status: Option<PaymentStatus> },
    /// A terminal is removed only when no payment on it is running or unknown.
    #[error("payment {payment_id} is {} on this terminal; the terminal can be removed once no payment on it is processing or unknown{}", .status.as_str(),
        match .status { PaymentStatus::Unknown => " (resolve the unknown payment first)", _ => " (wait for it or abort it)" })]
    TerminalInUse {
        payment_id: String,
        status: PaymentStatus,
    },
    #[error(
        "terminal '{provider_terminal_id}' of plugin '{plugin_id}' is already registered in your organisation"
    )]
    TerminalRegistered {
        provider_terminal_id: String,
        plugin_id: String,
    },
    #[error("a request with this Idempotency-Key is still being handled; retry in a moment")]
    IdempotencyInFlight,
    #[error("this API key is revoked")]
    KeyRevoked,
    #[error("this API key has expired")]
    KeyExpired,
    #[error("plugin '{plugin_id}' is not enabled for market {market} (department '{department}')")]
    PluginNotEnabled {
        plugin_id: String,
        market: String,
        department: String,
    },
    #[error("plugin '{plugin_id}' cannot {export}")]
    PluginCannot {
        plugin_id: String,
        export: &'static str,
    },
    #[error(
        "plugin '{plugin_id}' does not handle {currency}, the currency of department '{department}'"
    )]
    PluginCurrency {
        plugin_id: String,
        currency: String,
        department: String,
    },
    #[error("plan '{plan}' is on sale from {from}")]
    NotOnSaleYet {
        plan: String,
        from: jiff::civil::Date,
    },
    #[error("plan '{plan}' was on sale until {until}")]
    SaleOver {
        plan: String,
        until: jiff::civil::Date,
    },
    /// The patient has an open subscription; `None` when the database's
    /// unique index caught a concurrent sign-up.
    #[error("the patient already has {}; cancel it first", match .subscription_id {
        Some(id) => format!("plan subscription {id}"),
        None => "an open plan subscription".to_owned(),
    })]
    OpenSubscription { subscription_id: Option<String> },
    #[error("the subscription is {}; only an applied one can be activated", .status.as_str())]
    NotApplied { status: SubscriptionStatus },
    #[error("this subscription is paid by {}; only 'manual' ones get invoices made by hand", .option.as_str())]
    NotManual { option: PaymentOption },
    #[error("the subscription is {}", .status.as_str())]
    SubscriptionNotRunning { status: SubscriptionStatus },
    #[error("the subscription is already {}", .status.as_str())]
    SubscriptionClosed { status: SubscriptionStatus },
}

impl From<vetpay_domain::PeriodError> for StoreError {
    fn from(e: vetpay_domain::PeriodError) -> Self {
        invalid("period", e.to_string())
    }
}

impl From<Conflict> for StoreError {
    fn from(c: Conflict) -> Self {
        StoreError::Conflict(c)
    }
}

/// `conflict` where a unique index refused the write (a concurrent writer won
/// the race the rule was checked for), the database error otherwise.
pub(crate) fn unique_or(e: sqlx::Error, conflict: Conflict) -> StoreError {
    if e.as_database_error()
        .is_some_and(|d| d.is_unique_violation())
    {
        conflict.into()
    } else {
        e.into()
    }
}

/// A decimal stored as text, or [`StoreError::Corrupt`] naming the row.
pub(crate) fn stored_decimal(
    table: &'static str,
    column: &'static str,
    row: &str,
    text: &str,
) -> Result<rust_decimal::Decimal, StoreError> {
    text.parse().map_err(|_| StoreError::Corrupt {
        table,
        column,
        row: row.to_owned(),
        value: text.to_owned(),
    })
}

/// A currency code stored in `table` (row `row`), or [`StoreError::Corrupt`].
pub(crate) fn stored_currency(
    table: &'static str,
    row: &str,
    code: &str,
) -> Result<crate::money::Currency, StoreError> {
    Currency::parse(code).map_err(|_| StoreError::Corrupt {
        table,
        column: "currency",
        row: row.to_owned(),
        value: code.to_owned(),
    })
}

pub(crate) fn invalid(field: &str, message: impl Into<String>) -> StoreError {
    StoreError::Invalid {
        field: field.to_owned(),
        message: message.into(),
    }
}

/// The database of a host.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    /// Where write transactions run. On SQLite a connection of its own, so
    /// the one writer never waits, holding its turn, for a connection that
    /// readers hold; on PostgreSQL the same pool.
    writer: AnyPool,
    backend: Backend,
    /// SQLite allows one writer: taking turns here, rather than in SQLite's
    /// busy loop, keeps read-then-write transactions from failing under load.
    write_lock: Option<Arc<Mutex<()>>>,
    /// First-send marks waiting to be written together.
    send_marks: Arc<send_marks::SendMarks>,
    /// Settlements waiting to be written together (SQLite).
    settlements: Arc<settlements::Settlements>,
    /// Seals plugin secrets at rest and hashes API keys.
    keyring: Keyring,
    /// The largest amount accepted per currency.
    limits: AmountLimits,
    /// PostgreSQL's URL, for the connection that listens for other hosts' events.
    listen_url: Option<Arc<str>>,
}

/// A write transaction; on SQLite it also holds the host's write turn.
pub(crate) struct WriteTx {
    pub tx: Transaction<'static, Any>,
    _turn: Option<OwnedMutexGuard<()>>,
}

impl WriteTx {
    pub async fn commit(self) -> Result<(), StoreError> {
        self.tx.commit().await?;
        Ok(())
    }
}

/// The key file of the embedded default, in the data directory.
pub const DEFAULT_KEY_FILE: &str = "secret.key";

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

impl Store {
    /// Connects to `url` (`sqlite://path?mode=rwc` or `postgres://...`) and
    /// brings the schema up to date. Every host of one database needs the same
    /// `keyring`.
    pub async fn connect(url: &str, keyring: Keyring) -> Result<Self, StoreError> {
        install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl(url.to_owned()));
        };
        let options = |connections: u32| {
            let options = AnyPoolOptions::new().max_connections(connections);
            if backend == Backend::Postgres {
                return options;
            }
            options.after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute("PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; PRAGMA synchronous = NORMAL;")
                        .await?;
                    Ok(())
                })
            })
        };
        // An in-memory SQLite database exists once per connection: one pool.
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let pool = options(match backend {
            Backend::Sqlite if in_memory => 1,
            // One writer at a time is all SQLite allows; readers share WAL.
            Backend::Sqlite => 4,
            Backend::Postgres => 16,
        })
        .connect(url)
        .await?;
        MIGRATOR.run(&pool).await?;
        let writer = match backend {
            Backend::Sqlite if !in_memory => options(1).connect(url).await?,
            _ => pool.clone(),
        };
        let write_lock = (backend == Backend::Sqlite).then(|| Arc::new(Mutex::new(())));
        let store = Self {
            pool,
            writer,
            backend,
            write_lock,
            send_marks: Arc::default(),
            settlements: Arc::default(),
            keyring,
            limits: AmountLimits::default(),
            listen_url: (backend == Backend::Postgres).then(|| url.into()),
        };
        // Secrets an older version stored in clear are sealed before anything
        // else reads them.
        let sealed = store.reseal_plugin_secrets(false).await?;
        if sealed.sealed_clear > 0 {
            tracing::info!(
                count = sealed.sealed_clear,
                "sealed plugin secrets that were stored in clear"
            );
        }
        // Plan items from before the catalog name a catalog item.
        let linked = store.link_plan_items_to_catalog(None).await?;
        if linked > 0 {
            tracing::info!(count = linked, "linked health-plan items to catalog items");
        }
        Ok(store)
    }

    /// The embedded default: `vetpay.db` in `dir` (created if missing), with
    /// the key in `dir/secret.key` (made, mode 0600, on first start).
    pub async fn sqlite_in(dir: &Path) -> Result<Self, StoreError> {
        let key = crate::vault::key_file_or_create(&dir.join(DEFAULT_KEY_FILE))?;
        Self::sqlite_in_with(dir, Keyring::new(key, Vec::new())).await
    }

    /// As [`sqlite_in`](Self::sqlite_in), with the operator's own keyring.
    pub async fn sqlite_in_with(dir: &Path, keyring: Keyring) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| invalid("data directory", format!("{}: {e}", dir.display())))?;
        Self::connect(
            &format!("sqlite://{}?mode=rwc", dir.join("vetpay.db").display()),
            keyring,
        )
        .await
    }

    pub fn keyring(&self) -> &Keyring {
        &self.keyring
    }

    /// The operator's per-currency maxima instead of the defaults.
    pub fn with_amount_limits(mut self, limits: AmountLimits) -> Self {
        self.limits = limits;
        self
    }

    pub fn amount_limits(&self) -> &AmountLimits {
        &self.limits
    }

    /// `amount` of `currency` if within the maximum, else a 422 naming `field`.
    pub(crate) fn check_amount(
        &self,
        field: &str,
        amount: i64,
        currency: &str,
    ) -> Result<i64, StoreError> {
        let currency = Currency::parse(currency).map_err(|e| invalid("currency", e.to_string()))?;
        self.limits
            .check(amount, currency)
            .map_err(|e| invalid(field, e.to_string()))
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Runs one statement of plain SQL on `url` without opening a store (no
    /// migrations): for administration such as making a schema.
    pub async fn execute_on(url: &str, sql: &str) -> Result<(), StoreError> {
        install_default_drivers();
        let pool = AnyPoolOptions::new()
            .max_connections(1)
            .connect(url)
            .await?;
        pool.execute(sql).await?;
        pool.close().await;
        Ok(())
    }

    /// Runs one statement of plain SQL; for administration and tests.
    pub async fn execute_raw(&self, sql: &str) -> Result<(), StoreError> {
        self.pool.execute(sql).await?;
        Ok(())
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Begins a transaction that will write.
    pub(crate) async fn write(&self) -> Result<WriteTx, StoreError> {
        let turn = self.write_turn().await;
        Ok(WriteTx {
            tx: self.writer.begin().await?,
            _turn: turn,
        })
    }

    /// The host's write turn on SQLite; PostgreSQL needs none.
    async fn write_turn(&self) -> Option<OwnedMutexGuard<()>> {
        match &self.write_lock {
            Some(lock) => Some(lock.clone().lock_owned().await),
            None => None,
        }
    }

    /// Runs one writing statement through the write path. A single statement
    /// is atomic on its own: without BEGIN and COMMIT it is one round trip to
    /// the database instead of three, inside SQLite's one writer's turn.
    pub(crate) async fn execute_write<'q>(
        &self,
        query: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>,
    ) -> Result<sqlx::any::AnyQueryResult, StoreError> {
        let _turn = self.write_turn().await;
        Ok(query.execute(&self.writer).await?)
    }

    /// ` FOR UPDATE` where rows can be locked (PostgreSQL); SQLite's single
    /// writer already serialises write transactions.
    pub(crate) fn for_update(&self) -> &'static str {
        match self.backend {
            Backend::Postgres => " FOR UPDATE",
            Backend::Sqlite => "",
        }
    }
}

/// Unix time in milliseconds.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A new id (a random UUID): the one place ids of rows and requests are made.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A 0/1 flag column.
pub(crate) fn flag(b: bool) -> i64 {
    i64::from(b)
}
