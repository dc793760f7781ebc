//! Payment terminals, registered per department for one plugin. A removed
//! terminal keeps its row (its payments name it) and is seen nowhere else.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::payments::running;
use super::text_enum::column;
use super::{Conflict, Store, StoreError, invalid, new_id, now_ms, unique_or};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Terminal {
    pub id: String,
    pub department_id: String,
    pub plugin_id: String,
    /// The provider's id of the device.
    pub provider_terminal_id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub terminal_type: String,
    pub model: Option<String>,
    /// When End of Day last ran (Unix ms).
    pub last_reconciled_at: Option<i64>,
    pub last_reconciliation: Option<String>,
}

/// What registering a terminal takes.
#[derive(Debug, Clone)]
pub struct NewTerminal {
    pub plugin_id: String,
    pub provider_terminal_id: String,
    pub name: String,
    pub terminal_type: String,
    pub model: Option<String>,
}

const COLUMNS: &str = "id, department_id, plugin_id, provider_terminal_id, name, terminal_type, model, last_reconciled_at, last_reconciliation";

fn terminal(row: &AnyRow) -> Result<Terminal, StoreError> {
    Ok(Terminal {
        id: row.try_get("id")?,
        department_id: row.try_get("department_id")?,
        plugin_id: row.try_get("plugin_id")?,
        provider_terminal_id: row.try_get("provider_terminal_id")?,
        name: row.try_get("name")?,
        terminal_type: row.try_get("terminal_type")?,
        model: row.try_get("model")?,
        last_reconciled_at: row.try_get("last_reconciled_at")?,
        last_reconciliation: row.try_get("last_reconciliation")?,
    })
}

impl Store {
    /// Registers a terminal; the caller has checked the plugin and department.
    pub async fn create_terminal(
        &self,
        organisation_id: &str,
        department_id: &str,
        new: NewTerminal,
    ) -> Result<Terminal, StoreError> {
        if new.provider_terminal_id.trim().is_empty() {
            return Err(invalid(
                "terminal_id",
                "give the provider's id of the terminal (on Nets, the terminal id printed on the device)",
            ));
        }
        let mut tx = self.write().await?;
        let taken = sqlx::query(
            "SELECT id, removed_at FROM terminals WHERE organisation_id = $1 AND plugin_id = $2 AND provider_terminal_id = $3",
        )
        .bind(organisation_id)
        .bind(&new.plugin_id)
        .bind(&new.provider_terminal_id)
        .fetch_optional(&mut *tx.tx)
        .await?;
        let id = match taken {
            Some(row) if row.try_get::<Option<i64>, _>("removed_at")?.is_none() => {
                return Err(Conflict::TerminalRegistered {
                    provider_terminal_id: new.provider_terminal_id.clone(),
                    plugin_id: new.plugin_id.clone(),
                }
                .into());
            }
            // The device was removed before: the same row comes back, so its
            // earlier payments and End of Day stay with it.
            Some(row) => {
                let id: String = row.try_get("id")?;
                sqlx::query(
                    "UPDATE terminals SET department_id = $1, name = $2, terminal_type = $3, model = $4, removed_at = NULL \
                     WHERE organisation_id = $5 AND id = $6",
                )
                .bind(department_id)
                .bind(&new.name)
                .bind(&new.terminal_type)
                .bind(&new.model)
                .bind(organisation_id)
                .bind(&id)
                .execute(&mut *tx.tx)
                .await?;
                id
            }
            None => {
                let id = new_id();
                sqlx::query(
                    "INSERT INTO terminals (id, organisation_id, department_id, plugin_id, provider_terminal_id, name, terminal_type, model, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(&id)
                .bind(organisation_id)
                .bind(department_id)
                .bind(&new.plugin_id)
                .bind(&new.provider_terminal_id)
                .bind(&new.name)
                .bind(&new.terminal_type)
                .bind(&new.model)
                .bind(now_ms())
                .execute(&mut *tx.tx)
                .await
                // Another registration of the device got in first.
                .map_err(|e| {
                    unique_or(
                        e,
                        Conflict::TerminalRegistered {
                            provider_terminal_id: new.provider_terminal_id.clone(),
                            plugin_id: new.plugin_id.clone(),
                        },
                    )
                })?;
                id
            }
        };
        tx.commit().await?;
        self.terminal(organisation_id, &id)
            .await?
            .ok_or_else(|| invalid("terminal", "vanished after registration"))
    }

    pub async fn terminals(
        &self,
        organisation_id: &str,
        department_id: &str,
    ) -> Result<Vec<Terminal>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM terminals WHERE organisation_id = $1 AND department_id = $2 AND removed_at IS NULL ORDER BY name, id"
        ))
        .bind(organisation_id)
        .bind(department_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(terminal).collect()
    }

    /// Every terminal of the organisation driven by `plugin_id`.
    pub async fn plugin_terminals(
        &self,
        organisation_id: &str,
        plugin_id: &str,
    ) -> Result<Vec<Terminal>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM terminals WHERE organisation_id = $1 AND plugin_id = $2 AND removed_at IS NULL ORDER BY name, id"
        ))
        .bind(organisation_id)
        .bind(plugin_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(terminal).collect()
    }

    pub async fn terminal(
        &self,
        organisation_id: &str,
        id: &str,
    ) -> Result<Option<Terminal>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM terminals WHERE organisation_id = $1 AND id = $2 AND removed_at IS NULL"
        ))
        .bind(organisation_id)
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(terminal).transpose()
    }

    /// Removes a terminal from use; `None` if there is no such terminal.
    /// Refused while a payment on it is processing or unknown: that payment
    /// still needs the terminal to finish or to be looked up.
    pub async fn remove_terminal(
        &self,
        organisation_id: &str,
        id: &str,
    ) -> Result<Option<Terminal>, StoreError> {
        let mut tx = self.write().await?;
        // Locked as a payment's start locks it, so the two never cross.
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM terminals WHERE organisation_id = $1 AND id = $2 AND removed_at IS NULL{}",
            self.for_update()
        ))
        .bind(organisation_id)
        .bind(id)
        .fetch_optional(&mut *tx.tx)
        .await?;
        let Some(found) = row.as_ref().map(terminal).transpose()? else {
            return Ok(None);
        };
        let running = sqlx::query(&format!(
            "SELECT id, status FROM payments WHERE terminal_id = $1 AND status IN ({})",
            running()
        ))
        .bind(id)
        .fetch_optional(&mut *tx.tx)
        .await?;
        if let Some(row) = running {
            return Err(Conflict::TerminalInUse {
                payment_id: row.try_get("id")?,
                status: column(&row, "payments", "status")?,
            }
            .into());
        }
        sqlx::query("UPDATE terminals SET removed_at = $1 WHERE organisation_id = $2 AND id = $3")
            .bind(now_ms())
            .bind(organisation_id)
            .bind(id)
            .execute(&mut *tx.tx)
            .await?;
        tx.commit().await?;
        Ok(Some(found))
    }

    /// Records an End of Day.
    pub async fn record_reconciliation(
        &self,
        organisation_id: &str,
        id: &str,
        report: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        sqlx::query(
            "UPDATE terminals SET last_reconciled_at = $1, last_reconciliation = $2 WHERE organisation_id = $3 AND id = $4",
        )
        .bind(now_ms())
        .bind(report)
        .bind(organisation_id)
        .bind(id)
        .execute(&mut *tx.tx)
        .await?;
        tx.commit().await
    }
}
