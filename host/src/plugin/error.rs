//! What can go wrong loading or calling a plugin, and what each failure means
//! for the money: whether the request may have reached the provider.

use std::time::Duration;

use vetpay_money::Money;

use super::contract::FileError;
use super::types::{Approval, PluginError, TerminalProblem};

/// What a failed call means for the payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Disposition {
    /// Definitely never reached the provider: safe to retry with the same request id.
    NotSent,
    /// The provider or the host answered definitely that nothing was processed
    /// (bad configuration, terminal not ready). Fix the cause, then retry.
    Refused,
    /// Money may have moved. Book the attempt as *unknown* and ask `status` later.
    Unknown,
}

/// Why a plugin could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error("the component does not compile: {0}")]
    Compile(String),
    #[error("the component cannot be linked against this host: {0}")]
    Link(String),
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
}

/// Why a call failed. Each variant is contained: the host keeps serving.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The plugin answered with an error of the contract.
    #[error("plugin '{plugin}' answered: {}", describe_plugin_error(.error))]
    Plugin { plugin: String, error: PluginError },
    #[error("plugin '{plugin}' does not declare '{export}' among its capabilities")]
    NotSupported { plugin: String, export: String },
    #[error("plugin '{plugin}' does not serve market '{market}' (its manifest lists {served})")]
    MarketNotServed {
        plugin: String,
        market: String,
        served: String,
    },
    #[error("plugin '{plugin}' does not handle {currency} (its manifest lists {served})")]
    CurrencyNotServed {
        plugin: String,
        currency: String,
        served: String,
    },
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    #[error(
        "plugin '{plugin}' already runs {limit} calls; no slot freed within {waited:?}, \
         nothing was sent"
    )]
    Busy {
        plugin: String,
        limit: usize,
        waited: Duration,
    },
    #[error("plugin '{plugin}' could not be instantiated, nothing was sent: {message}")]
    Instantiate { plugin: String, message: String },
    #[error("plugin '{plugin}' trapped in '{export}': {message}{}", stderr_suffix(.stderr))]
    Trap {
        plugin: String,
        export: String,
        message: String,
        stderr: String,
    },
    #[error(
        "plugin '{plugin}' tried to grow its memory to {requested} bytes in '{export}'; \
         the limit is {limit} bytes"
    )]
    MemoryLimit {
        plugin: String,
        export: String,
        requested: usize,
        limit: usize,
    },
    #[error("plugin '{plugin}' did not finish '{export}' within its deadline of {deadline:?}")]
    Deadline {
        plugin: String,
        export: String,
        deadline: Duration,
    },
    #[error("plugin '{plugin}' returned a malformed answer from '{export}': {reason}")]
    Malformed {
        plugin: String,
        export: String,
        reason: String,
    },
    #[error(
        "plugin '{plugin}' reported an approval of {reported} for a request of {requested}; \
         the payment needs review"
    )]
    AmountMismatch {
        plugin: String,
        requested: Money,
        reported: Money,
        approval: Box<Approval>,
    },
}

fn stderr_suffix(stderr: &str) -> String {
    if stderr.is_empty() {
        String::new()
    } else {
        format!(" (plugin stderr: {stderr})")
    }
}

fn describe_plugin_error(e: &PluginError) -> String {
    match e {
        PluginError::NotSupported(m) => format!("not supported: {m}"),
        PluginError::NotSent(m) => format!("not sent: {m}"),
        PluginError::Configuration(c) => {
            format!("setting '{}' is wrong: {}", c.setting, c.message)
        }
        PluginError::Terminal(t) => match t {
            TerminalProblem::Busy => "the terminal is busy with another request".into(),
            TerminalProblem::Offline => "the terminal is offline".into(),
            TerminalProblem::NotFound => "the terminal is not known to the provider".into(),
            TerminalProblem::NeedsReconciliation => {
                "the terminal must run End of Day (reconcile) before it takes payments".into()
            }
            TerminalProblem::UnsupportedModel(m) => format!("unsupported terminal model: {m}"),
        },
        PluginError::Rejected(r) => match &r.code {
            Some(code) => format!("refused by the provider ({code}): {}", r.message),
            None => format!("refused by the provider: {}", r.message),
        },
        PluginError::Other(m) => format!("failed: {m}"),
    }
}

impl CallError {
    /// What this failure means for the money. Only a definite answer is ever
    /// treated as "nothing happened"; everything else is unknown.
    pub fn disposition(&self) -> Disposition {
        match self {
            CallError::Plugin { error, .. } => match error {
                PluginError::NotSupported(_) | PluginError::NotSent(_) => Disposition::NotSent,
                PluginError::Configuration(_)
                | PluginError::Terminal(_)
                | PluginError::Rejected(_) => Disposition::Refused,
                PluginError::Other(_) => Disposition::Unknown,
            },
            CallError::NotSupported { .. }
            | CallError::MarketNotServed { .. }
            | CallError::CurrencyNotServed { .. }
            | CallError::InvalidRequest(_)
            | CallError::Busy { .. }
            | CallError::Instantiate { .. } => Disposition::NotSent,
            CallError::Trap { .. }
            | CallError::MemoryLimit { .. }
            | CallError::Deadline { .. }
            | CallError::Malformed { .. }
            | CallError::AmountMismatch { .. } => Disposition::Unknown,
        }
    }

    /// The plugin's own error, when the plugin answered with one.
    pub fn plugin_error(&self) -> Option<&PluginError> {
        match self {
            CallError::Plugin { error, .. } => Some(error),
            _ => None,
        }
    }

    /// A short machine-readable name for the failure, for APIs and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            CallError::Plugin { error, .. } => match error {
                PluginError::NotSupported(_) => "not-supported",
                PluginError::NotSent(_) => "not-sent",
                PluginError::Configuration(_) => "configuration",
                PluginError::Terminal(_) => "terminal",
                PluginError::Rejected(_) => "rejected",
                PluginError::Other(_) => "plugin-failed",
            },
            CallError::NotSupported { .. } => "not-supported",
            CallError::MarketNotServed { .. } => "market-not-served",
            CallError::CurrencyNotServed { .. } => "currency-not-served",
            CallError::InvalidRequest(_) => "invalid-request",
            CallError::Busy { .. } => "busy",
            CallError::Instantiate { .. } => "instantiate",
            CallError::Trap { .. } => "trap",
            CallError::MemoryLimit { .. } => "memory-limit",
            CallError::Deadline { .. } => "deadline",
            CallError::Malformed { .. } => "malformed",
            CallError::AmountMismatch { .. } => "amount-mismatch",
        }
    }
}
