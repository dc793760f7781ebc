//! Terminals: registering one (its type checked against the plugin's
//! manifest), asking a plugin for its account's terminals, removing one.

use super::{Clinic, ServiceError, invalid};
use crate::plugin::Capability;
use crate::plugin::types::TerminalInfo;
use crate::store::{Department, NewTerminal, Terminal};

impl Clinic {
    /// Registers a terminal in `department`. Its plugin must be usable there,
    /// and the type one the plugin's manifest lists in `terminal-types`.
    pub async fn register_terminal(
        &self,
        organisation_id: &str,
        department: &Department,
        new: NewTerminal,
    ) -> Result<Terminal, ServiceError> {
        let plugin = self
            .usable_plugin(
                organisation_id,
                &new.plugin_id,
                department,
                Capability::Process,
            )
            .await?;
        plugin
            .manifest()
            .check_terminal_type(&new.terminal_type)
            .map_err(|m| invalid("type", m))?;
        Ok(self
            .store()
            .create_terminal(organisation_id, &department.id, new)
            .await?)
    }

    /// The terminals of the provider account a plugin reaches from a
    /// department (its settings there), as the plugin's `list-terminals` says.
    pub async fn provider_terminals(
        &self,
        organisation_id: &str,
        plugin_id: &str,
        department_id: &str,
    ) -> Result<Vec<TerminalInfo>, ServiceError> {
        let department = self.department(organisation_id, department_id).await?;
        let plugin = self
            .usable_plugin(
                organisation_id,
                plugin_id,
                &department,
                Capability::ListTerminals,
            )
            .await?;
        let env = self
            .call_env(organisation_id, plugin_id, &department, None)
            .await?;
        Ok(plugin.list_terminals(&env).await?)
    }

    /// Removes a terminal; refused (409) while a payment on it is processing
    /// or unknown.
    pub async fn remove_terminal(
        &self,
        organisation_id: &str,
        id: &str,
    ) -> Result<Terminal, ServiceError> {
        self.store()
            .remove_terminal(organisation_id, id)
            .await?
            .ok_or_else(|| {
                ServiceError::NotFound("no terminal with this id in your organisation".into())
            })
    }
}
