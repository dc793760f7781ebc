use crate::{CallContext, PluginError};

/// The call context with typed access to settings. A department's value of a
/// setting wins over the organisation's.
#[derive(Debug, Clone)]
pub struct Context {
    raw: CallContext,
}

impl Context {
    pub fn new(raw: CallContext) -> Self {
        Self { raw }
    }

    /// The call context as the host sent it.
    pub fn raw(&self) -> &CallContext {
        &self.raw
    }

    /// ISO 3166-1 alpha-2 market, such as "US".
    pub fn market(&self) -> &str {
        &self.raw.market
    }

    pub fn organisation_id(&self) -> &str {
        &self.raw.organisation_id
    }

    pub fn department_id(&self) -> Option<&str> {
        self.raw.department_id.as_deref()
    }

    /// A setting's value, if set (secrets come as their placeholder).
    pub fn setting(&self, key: &str) -> Option<&str> {
        fn find<'a>(list: &'a [crate::Setting], key: &str) -> Option<&'a str> {
            list.iter()
                .rev()
                .find(|s| s.key == key)
                .map(|s| s.value.as_str())
        }
        find(&self.raw.department_settings, key)
            .or_else(|| find(&self.raw.organisation_settings, key))
    }

    /// A setting that must be set, or a configuration error naming it.
    pub fn require(&self, key: &str) -> Result<&str, PluginError> {
        match self.setting(key) {
            Some(v) if !v.trim().is_empty() => Ok(v),
            _ => Err(PluginError::configuration(
                key,
                format!("'{key}' is not set; an admin must set it for this plugin"),
            )),
        }
    }

    /// A whole-number setting, or a configuration error naming it.
    pub fn require_u64(&self, key: &str) -> Result<u64, PluginError> {
        let v = self.require(key)?;
        v.trim().parse().map_err(|_| {
            PluginError::configuration(key, format!("'{key}' must be a whole number, not '{v}'"))
        })
    }

    /// A boolean setting; unset is `false`.
    pub fn flag(&self, key: &str) -> bool {
        self.setting(key) == Some("true")
    }

    /// The placeholder for a secret setting, to put in a URL, header or body.
    /// The host fills in the value as the request leaves; the plugin never sees it.
    pub fn secret(&self, key: &str) -> String {
        format!("{{{{secret:{key}}}}}")
    }
}
