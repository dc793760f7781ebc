//! Terminals: registering one (its type checked against the plugin's
//! manifest), asking a plugin for its account's terminals, removing one.

use super::{Clinic, ServiceError, invalid};
use crate::plugin::Capability;
use crate::plugin::types::TerminalInfo;
use crate::store::{Department, NewTerminal, Terminal};

/// A terminal of the provider account, and the terminal registered for it.
#[derive(Debug, Clone)]
pub struct ListedTerminal {
    pub info: TerminalInfo,
    pub registered: Option<Terminal>,
}

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
    /// department (its settings there), as the plugin's `list-terminals` says,
    /// each with the terminal registered for it in the organisation, if any.
    pub async fn provider_terminals(
        &self,
        organisation_id: &str,
        plugin_id: &str,
        department_id: &str,
    ) -> Result<Vec<ListedTerminal>, ServiceError> {
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
            .call_env(organisation_id, &plugin, &department, None)
            .await?;
        let listed = plugin.list_terminals(&env).await?;
        let mut registered = self
            .store()
            .plugin_terminals(organisation_id, plugin_id)
            .await?;
        Ok(listed
            .into_iter()
            .map(|info| ListedTerminal {
                registered: registered
                    .iter()
                    .position(|t| t.provider_terminal_id == info.id)
                    .map(|i| registered.swap_remove(i)),
                info,
            })
            .collect())
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
