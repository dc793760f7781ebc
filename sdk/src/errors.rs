use crate::{ConfigurationError, PluginError, Refusal, TerminalProblem};

impl PluginError {
    /// The export is not implemented.
    pub fn not_supported(export: &str) -> Self {
        PluginError::NotSupported(format!("this plugin does not implement '{export}'"))
    }

    /// The request definitely never reached the provider.
    pub fn not_sent(message: impl Into<String>) -> Self {
        PluginError::NotSent(message.into())
    }

    /// A setting is wrong; `setting` is its key in the manifest.
    pub fn configuration(setting: &str, message: impl Into<String>) -> Self {
        PluginError::Configuration(ConfigurationError {
            setting: setting.to_owned(),
            message: message.into(),
        })
    }

    /// The terminal cannot take the request.
    pub fn terminal(problem: TerminalProblem) -> Self {
        PluginError::Terminal(problem)
    }

    /// The provider received the request and refused it without processing
    /// it (a validation error): nothing moved, but it is not `not-sent`.
    pub fn rejected(code: Option<String>, message: impl Into<String>) -> Self {
        PluginError::Rejected(Refusal {
            code,
            message: message.into(),
        })
    }

    /// Anything else: the host treats the request as unknown.
    pub fn other(message: impl Into<String>) -> Self {
        PluginError::Other(message.into())
    }
}
