//! Scrubbing what a plugin hands back: every text of its answers and errors
//! goes through the call's [`SecretVault`] before the host stores, logs or
//! shows it. The plugin only ever saw placeholders and scrubbed responses, so
//! this is the second line of defence, against a form of a secret that came
//! back in a way the response scrubbing did not recognise and was then
//! reassembled, or against a plugin that writes out what it should not.

use super::error::CallError;
use super::secrets::SecretVault;
use super::types::{
    Approval, CardDetails, ConfigurationError, Decline, Outcome, PluginError, Receipt,
    Reconciliation, Stopped, TerminalInfo, TerminalProblem,
};

/// A value whose texts can be scrubbed of the call's secrets.
pub trait Scrub {
    fn scrub(&mut self, vault: &SecretVault);
}

impl Scrub for String {
    fn scrub(&mut self, vault: &SecretVault) {
        vault.redact_in_place(self);
    }
}

impl<T: Scrub> Scrub for Option<T> {
    fn scrub(&mut self, vault: &SecretVault) {
        if let Some(v) = self {
            v.scrub(vault);
        }
    }
}

impl<T: Scrub> Scrub for Vec<T> {
    fn scrub(&mut self, vault: &SecretVault) {
        for v in self {
            v.scrub(vault);
        }
    }
}

impl<T: Scrub> Scrub for Box<T> {
    fn scrub(&mut self, vault: &SecretVault) {
        (**self).scrub(vault);
    }
}

impl Scrub for () {
    fn scrub(&mut self, _: &SecretVault) {}
}

impl<T: Scrub, E: Scrub> Scrub for Result<T, E> {
    fn scrub(&mut self, vault: &SecretVault) {
        match self {
            Ok(v) => v.scrub(vault),
            Err(e) => e.scrub(vault),
        }
    }
}

impl Scrub for Receipt {
    fn scrub(&mut self, vault: &SecretVault) {
        self.customer.scrub(vault);
        self.merchant.scrub(vault);
    }
}

impl Scrub for CardDetails {
    fn scrub(&mut self, vault: &SecretVault) {
        self.masked_pan.scrub(vault);
        self.brand.scrub(vault);
        self.expiry.scrub(vault);
        self.entry_method.scrub(vault);
    }
}

impl Scrub for Approval {
    fn scrub(&mut self, vault: &SecretVault) {
        self.provider_reference.scrub(vault);
        self.authorization_code.scrub(vault);
        self.card.scrub(vault);
        self.card_token.scrub(vault);
        self.receipt.scrub(vault);
    }
}

impl Scrub for Decline {
    fn scrub(&mut self, vault: &SecretVault) {
        self.code.scrub(vault);
        self.message.scrub(vault);
        self.provider_reference.scrub(vault);
        self.receipt.scrub(vault);
    }
}

impl Scrub for Stopped {
    fn scrub(&mut self, vault: &SecretVault) {
        self.message.scrub(vault);
        self.provider_reference.scrub(vault);
    }
}

impl Scrub for Outcome {
    fn scrub(&mut self, vault: &SecretVault) {
        match self {
            Outcome::Approved(a) => a.scrub(vault),
            Outcome::Declined(d) => d.scrub(vault),
            Outcome::CancelledByClient(s) | Outcome::AbortedByClinic(s) => s.scrub(vault),
            Outcome::InProgress(m) | Outcome::Unknown(m) | Outcome::NotFound(m) => m.scrub(vault),
        }
    }
}

impl Scrub for ConfigurationError {
    fn scrub(&mut self, vault: &SecretVault) {
        self.setting.scrub(vault);
        self.message.scrub(vault);
    }
}

impl Scrub for PluginError {
    fn scrub(&mut self, vault: &SecretVault) {
        match self {
            PluginError::NotSupported(m) | PluginError::NotSent(m) | PluginError::Other(m) => {
                m.scrub(vault)
            }
            PluginError::Configuration(c) => c.scrub(vault),
            PluginError::Rejected(r) => {
                r.code.scrub(vault);
                r.message.scrub(vault);
            }
            PluginError::Terminal(TerminalProblem::UnsupportedModel(m)) => m.scrub(vault),
            PluginError::Terminal(_) => {}
        }
    }
}

impl Scrub for TerminalInfo {
    fn scrub(&mut self, vault: &SecretVault) {
        self.id.scrub(vault);
        self.model.scrub(vault);
        self.name.scrub(vault);
        self.note.scrub(vault);
    }
}

impl Scrub for Reconciliation {
    fn scrub(&mut self, vault: &SecretVault) {
        self.reference.scrub(vault);
        self.report.scrub(vault);
        for t in self.transactions.iter_mut().flatten() {
            t.order_id.scrub(vault);
            t.provider_reference.scrub(vault);
        }
    }
}

impl Scrub for CallError {
    fn scrub(&mut self, vault: &SecretVault) {
        match self {
            CallError::Plugin { error, .. } => error.scrub(vault),
            CallError::InvalidRequest(m) | CallError::Instantiate { message: m, .. } => {
                m.scrub(vault)
            }
            CallError::Trap {
                message, stderr, ..
            } => {
                message.scrub(vault);
                stderr.scrub(vault);
            }
            CallError::Malformed { reason, .. } => reason.scrub(vault),
            CallError::AmountMismatch { approval, .. } => approval.scrub(vault),
            CallError::NotSupported { .. }
            | CallError::MarketNotServed { .. }
            | CallError::CurrencyNotServed { .. }
            | CallError::Busy { .. }
            | CallError::MemoryLimit { .. }
            | CallError::Deadline { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_text_of_an_outcome_and_an_error_is_scrubbed() {
        let mut vault = SecretVault::default();
        vault.insert("oid", "M4rker-0id");
        let mut approved: Result<Outcome, PluginError> = Ok(Outcome::Approved(Approval {
            provider_reference: "ref-M4rker-0id".into(),
            amount: super::super::types::Money {
                minor_units: 100,
                currency: "USD".into(),
            },
            authorization_code: Some("m4rker-0ID".into()),
            card: None,
            card_token: Some("tok".into()),
            receipt: Some(Receipt {
                customer: Some("OID M4RKER-0ID".into()),
                merchant: None,
            }),
        }));
        approved.scrub(&vault);
        let text = format!("{approved:?}");
        assert!(!text.to_ascii_lowercase().contains("m4rker"), "{text}");
        assert!(text.contains("ref-{{secret:oid}}"), "{text}");

        let mut err = CallError::Trap {
            plugin: "p".into(),
            export: "process".into(),
            message: "panicked at M4rker-0id".into(),
            stderr: "oid=M4rker-0id".into(),
        };
        err.scrub(&vault);
        assert_eq!(
            err.to_string(),
            "plugin 'p' trapped in 'process': panicked at {{secret:oid}} \
             (plugin stderr: oid={{secret:oid}})"
        );
        let mut err: Result<(), PluginError> =
            Err(PluginError::Configuration(ConfigurationError {
                setting: "oid".into(),
                message: "M4rker-0id refused".into(),
            }));
        err.scrub(&vault);
        assert!(!format!("{err:?}").contains("M4rker"));
    }
}
