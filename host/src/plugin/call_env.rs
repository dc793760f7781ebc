//! What a call needs to know about its caller besides the request: market,
//! organisation, settings (secrets included, kept from the plugin by the
//! runtime), extra destinations and where progress goes.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::egress::Destination;
use super::send_gate::FirstSend;
use super::state::ProgressSink;

/// Everything about the caller that a call needs besides its request.
#[derive(Clone, Default)]
pub struct CallEnv {
    /// ISO 3166-1 alpha-2 market of the department.
    pub market: String,
    pub organisation_id: String,
    pub department_id: Option<String>,
    /// Plugin settings by key, secrets included: the runtime keeps those from the plugin.
    pub organisation_settings: BTreeMap<String, String>,
    pub department_settings: BTreeMap<String, String>,
    /// Destinations an admin allowed for this plugin beyond its manifest.
    pub extra_allowed_hosts: Vec<Destination>,
    /// Where progress reports go.
    pub progress: Option<ProgressSink>,
    /// Told before the call's first request leaves (attempts that move money).
    pub first_send: Option<Arc<dyn FirstSend>>,
}

impl std::fmt::Debug for CallEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Setting keys only: the values include the secrets.
        let keys = |m: &BTreeMap<String, String>| m.keys().cloned().collect::<Vec<_>>();
        f.debug_struct("CallEnv")
            .field("market", &self.market)
            .field("organisation_id", &self.organisation_id)
            .field("department_id", &self.department_id)
            .field("organisation_settings", &keys(&self.organisation_settings))
            .field("department_settings", &keys(&self.department_settings))
            .field("extra_allowed_hosts", &self.extra_allowed_hosts)
            .field("first_send", &self.first_send.is_some())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_env_shows_setting_keys_never_values() {
        let mut env = CallEnv {
            market: "US".into(),
            organisation_id: "org".into(),
            ..CallEnv::default()
        };
        env.organisation_settings
            .insert("auth-token".into(), "T0kenValue".into());
        env.department_settings
            .insert("oid".into(), "0idValue".into());
        let shown = format!("{env:?}");
        assert!(
            shown.contains("auth-token") && shown.contains("oid"),
            "{shown}"
        );
        assert!(
            !shown.contains("T0kenValue") && !shown.contains("0idValue"),
            "{shown}"
        );
    }
}
