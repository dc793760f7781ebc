//! A plugin's configuration in an organisation: its settings at organisation and
//! department level (secrets are write-only: sealed with the operator's keyring,
//! opened only to hand them to the runtime, never read back out), and the extra
//! destinations an admin allows it.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;
use sqlx::Row;

use zeroize::{Zeroize, Zeroizing};

use super::{Store, StoreError, invalid, now_ms};
use crate::plugin::Destination;
use crate::plugin::manifest::{SettingScope, SettingSpec};
use crate::vault::Keyring;

/// A plugin setting as an admin sees it: secrets only say whether they are set.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PluginSettingValue {
    #[serde(flatten)]
    pub spec: SettingSpec,
    /// The value; always null for a secret.
    pub value: Option<String>,
    /// Whether a value is stored at this level.
    pub is_set: bool,
}

/// Everything the runtime needs about a plugin's configuration for one call.
#[derive(Clone, Default)]
pub struct PluginSetup {
    pub organisation_settings: BTreeMap<String, String>,
    pub department_settings: BTreeMap<String, String>,
    pub extra_allowed_hosts: Vec<Destination>,
}

impl std::fmt::Debug for PluginSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Setting keys only: the values include opened secrets.
        f.debug_struct("PluginSetup")
            .field(
                "organisation_settings",
                &self.organisation_settings.keys().collect::<Vec<_>>(),
            )
            .field(
                "department_settings",
                &self.department_settings.keys().collect::<Vec<_>>(),
            )
            .field("extra_allowed_hosts", &self.extra_allowed_hosts)
            .finish()
    }
}

fn level_allows(spec: &SettingSpec, department: bool) -> bool {
    match spec.scope {
        SettingScope::Both => true,
        SettingScope::Organisation => !department,
        SettingScope::Department => department,
    }
}

/// A JSON value as the text the plugin receives.
fn as_text(key: &str, value: &Value) -> Result<String, StoreError> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        _ => Err(invalid(
            key,
            "send a string, number or boolean, or null to remove the value",
        )),
    }
}

/// What a secret setting is sealed to: its row. A sealed value copied to
/// another organisation, plugin, level or key does not open.
pub(crate) fn secret_context(
    organisation_id: &str,
    plugin_id: &str,
    department: &str,
    key: &str,
) -> String {
    format!("plugin_settings:{organisation_id}:{plugin_id}:{department}:{key}")
}

/// What `vetpay vault rekey` (and the sealing at startup) did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Resealed {
    /// Values stored in clear by an older version, now sealed.
    pub sealed_clear: u64,
    /// Values sealed under a previous key, now under the primary one.
    pub rekeyed: u64,
    /// Values already sealed under the primary key.
    pub current: u64,
}

/// The keys a manifest (as stored, JSON) marks secret.
fn secret_keys_of(manifest: &str) -> Result<BTreeSet<String>, StoreError> {
    let manifest: crate::plugin::Manifest =
        serde_json::from_str(manifest).map_err(|e| invalid("manifest", e.to_string()))?;
    Ok(secret_keys(&manifest))
}

/// The keys of the settings a manifest marks secret.
fn secret_keys(manifest: &crate::plugin::Manifest) -> BTreeSet<String> {
    manifest
        .settings
        .iter()
        .filter(|s| s.secret)
        .map(|s| s.key.clone())
        .collect()
}

impl Store {
    /// The values of one level with its secrets opened, for a call.
    fn open_values(
        &self,
        organisation_id: &str,
        plugin_id: &str,
        department: &str,
        mut values: BTreeMap<String, String>,
        secret: &BTreeSet<String>,
    ) -> Result<BTreeMap<String, String>, StoreError> {
        for (key, value) in values.iter_mut() {
            if !Keyring::is_sealed(value) {
                continue;
            }
            let context = secret_context(organisation_id, plugin_id, department, key);
            let opened = match self.keyring().open(value, &context) {
                Ok(opened) => opened,
                Err(e) if secret.contains(key) => return Err(e.into()),
                // A setting a newer manifest no longer marks secret still
                // opens; a plain value that only looks sealed stays as it is.
                Err(_) => continue,
            };
            value.zeroize();
            *value = opened.to_string();
        }
        Ok(values)
    }

    /// Seals every secret setting stored in clear (by a version before sealing,
    /// or a secret a newer manifest introduced) and, with `rekey`, re-seals
    /// every value sealed under a previous key with the primary key. Each row is
    /// changed only if it still holds what was read, so several hosts may run
    /// this at once.
    pub async fn reseal_plugin_secrets(&self, rekey: bool) -> Result<Resealed, StoreError> {
        let plugins = sqlx::query("SELECT organisation_id, id, manifest FROM plugins")
            .fetch_all(self.pool())
            .await?;
        let mut done = Resealed::default();
        for plugin in plugins {
            let organisation_id: String = plugin.try_get("organisation_id")?;
            let plugin_id: String = plugin.try_get("id")?;
            let secret = secret_keys_of(&plugin.try_get::<String, _>("manifest")?)?;
            if secret.is_empty() {
                continue;
            }
            let rows = sqlx::query(
                "SELECT department_id, key, value FROM plugin_settings WHERE organisation_id = $1 AND plugin_id = $2",
            )
            .bind(&organisation_id)
            .bind(&plugin_id)
            .fetch_all(self.pool())
            .await?;
            for row in rows {
                let department: String = row.try_get("department_id")?;
                let key: String = row.try_get("key")?;
                let stored: String = row.try_get("value")?;
                if !secret.contains(&key) {
                    continue;
                }
                let context = secret_context(&organisation_id, &plugin_id, &department, &key);
                let ring = self.keyring();
                let sealed = if !Keyring::is_sealed(&stored) {
                    done.sealed_clear += 1;
                    ring.seal(&stored, &context)
                } else if ring.is_current(&stored) || !rekey {
                    done.current += u64::from(ring.is_current(&stored));
                    continue;
                } else {
                    done.rekeyed += 1;
                    ring.seal(&ring.open(&stored, &context)?, &context)
                };
                let mut tx = self.write().await?;
                sqlx::query(
                    "UPDATE plugin_settings SET value = $1 WHERE organisation_id = $2 AND plugin_id = $3 \
                     AND department_id = $4 AND key = $5 AND value = $6",
                )
                .bind(&sealed)
                .bind(&organisation_id)
                .bind(&plugin_id)
                .bind(&department)
                .bind(&key)
                .bind(&stored)
                .execute(&mut *tx.tx)
                .await?;
                tx.commit().await?;
            }
        }
        Ok(done)
    }

    async fn plugin_values(
        &self,
        organisation_id: &str,
        plugin_id: &str,
        department: &str,
    ) -> Result<BTreeMap<String, String>, StoreError> {
        let rows = sqlx::query(
            "SELECT key, value FROM plugin_settings WHERE organisation_id = $1 AND plugin_id = $2 AND department_id = $3",
        )
        .bind(organisation_id)
        .bind(plugin_id)
        .bind(department)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("key")?, r.try_get("value")?)))
            .collect()
    }

    /// The settings of `specs` at one level, secrets masked.
    pub async fn plugin_settings(
        &self,
        organisation_id: &str,
        plugin_id: &str,
        specs: &[SettingSpec],
        department_id: Option<&str>,
    ) -> Result<Vec<PluginSettingValue>, StoreError> {
        let stored = self
            .plugin_values(organisation_id, plugin_id, department_id.unwrap_or(""))
            .await?;
        Ok(specs
            .iter()
            .filter(|s| level_allows(s, department_id.is_some()))
            .map(|spec| {
                let value = stored.get(&spec.key);
                PluginSettingValue {
                    is_set: value.is_some(),
                    value: if spec.secret {
                        None
                    } else {
                        value.cloned().or_else(|| spec.default.clone())
                    },
                    spec: spec.clone(),
                }
            })
            .collect())
    }

    /// Sets (or, with null, removes) several settings at one level; all are
    /// checked against the manifest before any is written.
    pub async fn set_plugin_settings(
        &self,
        organisation_id: &str,
        plugin_id: &str,
        specs: &[SettingSpec],
        department_id: Option<&str>,
        values: &serde_json::Map<String, Value>,
    ) -> Result<(), StoreError> {
        let department = department_id.is_some();
        let mut writes = Vec::with_capacity(values.len());
        for (key, value) in values {
            let Some(spec) = specs.iter().find(|s| &s.key == key) else {
                let known: Vec<&str> = specs
                    .iter()
                    .filter(|s| level_allows(s, department))
                    .map(|s| s.key.as_str())
                    .collect();
                return Err(invalid(
                    key,
                    format!(
                        "plugin '{plugin_id}' has no such setting; known here: {}",
                        known.join(", ")
                    ),
                ));
            };
            if !level_allows(spec, department) {
                let hint = if department {
                    "it is set once for the organisation, at /v1/plugins/{id}/settings"
                } else {
                    "it is set per department, at /v1/departments/{id}/plugins/{plugin}/settings"
                };
                return Err(invalid(key, hint));
            }
            let text = match value {
                Value::Null => None,
                v => {
                    let text = as_text(key, v)?;
                    spec.check_value(&text).map_err(|m| invalid(key, m))?;
                    Some(text)
                }
            };
            let text = match text {
                Some(text) if spec.secret => Some(self.keyring().seal(
                    &Zeroizing::new(text),
                    &secret_context(organisation_id, plugin_id, department_id.unwrap_or(""), key),
                )),
                other => other,
            };
            writes.push((key, text));
        }
        let level = department_id.unwrap_or("");
        let mut tx = self.write().await?;
        for (key, text) in writes {
            match text {
                Some(text) => {
                    sqlx::query(
                        "INSERT INTO plugin_settings (organisation_id, plugin_id, department_id, key, value, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (organisation_id, plugin_id, department_id, key) \
                         DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                    )
                    .bind(organisation_id)
                    .bind(plugin_id)
                    .bind(level)
                    .bind(key)
                    .bind(text)
                    .bind(now_ms())
                    .execute(&mut *tx.tx)
                    .await?;
                }
                None => {
                    sqlx::query(
                        "DELETE FROM plugin_settings WHERE organisation_id = $1 AND plugin_id = $2 AND department_id = $3 AND key = $4",
                    )
                    .bind(organisation_id)
                    .bind(plugin_id)
                    .bind(level)
                    .bind(key)
                    .execute(&mut *tx.tx)
                    .await?;
                }
            }
        }
        tx.commit().await
    }

    /// The destinations an admin allowed `plugin_id` beyond its manifest.
    pub async fn plugin_allowed_hosts(
        &self,
        organisation_id: &str,
        plugin_id: &str,
    ) -> Result<Vec<Destination>, StoreError> {
        let rows = sqlx::query(
            "SELECT destination FROM plugin_allowed_hosts WHERE organisation_id = $1 AND plugin_id = $2 ORDER BY destination",
        )
        .bind(organisation_id)
        .bind(plugin_id)
        .fetch_all(self.pool())
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let text: String = row.try_get("destination")?;
            out.push(
                text.parse()
                    .map_err(|e: String| invalid("allowed-hosts", e))?,
            );
        }
        Ok(out)
    }

    /// Replaces the extra destinations of `plugin_id`.
    pub async fn set_plugin_allowed_hosts(
        &self,
        organisation_id: &str,
        plugin_id: &str,
        hosts: &[String],
    ) -> Result<Vec<Destination>, StoreError> {
        let mut parsed: Vec<Destination> = Vec::with_capacity(hosts.len());
        for host in hosts {
            parsed.push(host.parse().map_err(|e: String| invalid("hosts", e))?);
        }
        parsed.sort();
        parsed.dedup();
        let mut tx = self.write().await?;
        sqlx::query(
            "DELETE FROM plugin_allowed_hosts WHERE organisation_id = $1 AND plugin_id = $2",
        )
        .bind(organisation_id)
        .bind(plugin_id)
        .execute(&mut *tx.tx)
        .await?;
        for d in &parsed {
            sqlx::query(
                "INSERT INTO plugin_allowed_hosts (organisation_id, plugin_id, destination) VALUES ($1, $2, $3)",
            )
            .bind(organisation_id)
            .bind(plugin_id)
            .bind(d.to_string())
            .execute(&mut *tx.tx)
            .await?;
        }
        tx.commit().await?;
        Ok(parsed)
    }

    /// The plugin's configuration for a call in `department_id`.
    pub async fn plugin_setup(
        &self,
        organisation_id: &str,
        manifest: &crate::plugin::Manifest,
        department_id: &str,
    ) -> Result<PluginSetup, StoreError> {
        let plugin_id = manifest.id.as_str();
        let secret = secret_keys(manifest);
        // Both levels in one query: this runs before every plugin call.
        let rows = sqlx::query(
            "SELECT department_id, key, value FROM plugin_settings WHERE organisation_id = $1 AND plugin_id = $2 AND department_id IN ('', $3)",
        )
        .bind(organisation_id)
        .bind(plugin_id)
        .bind(department_id)
        .fetch_all(self.pool())
        .await?;
        let (mut organisation, mut department) = (BTreeMap::new(), BTreeMap::new());
        for row in &rows {
            let level: String = row.try_get("department_id")?;
            let values = if level.is_empty() {
                &mut organisation
            } else {
                &mut department
            };
            values.insert(row.try_get("key")?, row.try_get("value")?);
        }
        Ok(PluginSetup {
            organisation_settings: self.open_values(
                organisation_id,
                plugin_id,
                "",
                organisation,
                &secret,
            )?,
            department_settings: self.open_values(
                organisation_id,
                plugin_id,
                department_id,
                department,
                &secret,
            )?,
            extra_allowed_hosts: self
                .plugin_allowed_hosts(organisation_id, plugin_id)
                .await?,
        })
    }

    /// The hash of an installed plugin's code, if it is installed and
    /// enabled for `country` in the organisation: one query where a payment's
    /// start asked two.
    pub async fn plugin_sha256_in_market(
        &self,
        organisation_id: &str,
        plugin_id: &str,
        country: &str,
    ) -> Result<Option<String>, StoreError> {
        let row = sqlx::query(
            "SELECT p.sha256 AS sha256 FROM plugins p \
             JOIN plugin_markets m ON m.organisation_id = p.organisation_id AND m.plugin_id = p.id \
             WHERE p.organisation_id = $1 AND p.id = $2 AND m.country = $3",
        )
        .bind(organisation_id)
        .bind(plugin_id)
        .bind(country)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|r| r.try_get("sha256")).transpose()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plugin_setup_shows_setting_keys_never_values() {
        let mut setup = PluginSetup::default();
        setup
            .organisation_settings
            .insert("password".into(), "Pa55Value".into());
        let shown = format!("{setup:?}");
        assert!(shown.contains("password"), "{shown}");
        assert!(!shown.contains("Pa55Value"), "{shown}");
    }

    #[test]
    fn a_secret_is_sealed_to_its_row() {
        assert_eq!(
            secret_context("o", "gravity", "", "oid"),
            "plugin_settings:o:gravity::oid"
        );
        assert_ne!(
            secret_context("o", "gravity", "d", "oid"),
            secret_context("o", "gravity", "", "oid")
        );
    }
}
