//! Plugins an organisation installed, and the markets it enabled them for.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Serialize;
use sqlx::Row;

use super::{Store, StoreError, invalid, now_ms};
use crate::plugin::{Manifest, PluginFileInfo};

/// An installed plugin, without its code.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InstalledPlugin {
    pub id: String,
    pub version: String,
    pub sha256: String,
    pub manifest: Manifest,
    /// Markets (ISO 3166-1 alpha-2) an admin enabled it for.
    pub enabled_markets: Vec<String>,
}

impl Store {
    /// Records a validated plugin file; a newer upload of the same id replaces it.
    pub async fn install_plugin(
        &self,
        organisation_id: &str,
        info: &PluginFileInfo,
        wasm: &[u8],
    ) -> Result<(), StoreError> {
        let manifest = serde_json::to_string(&info.manifest)
            .map_err(|e| invalid("manifest", e.to_string()))?;
        self.execute_write(
sqlx::query(
            "INSERT INTO plugins (organisation_id, id, version, sha256, manifest, wasm, installed_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (organisation_id, id) DO UPDATE SET version = excluded.version, sha256 = excluded.sha256, \
             manifest = excluded.manifest, wasm = excluded.wasm, installed_at = excluded.installed_at",
        )
        .bind(organisation_id)
        .bind(&info.manifest.id)
        .bind(info.manifest.version.to_string())
        .bind(&info.sha256)
        .bind(manifest)
        .bind(STANDARD.encode(wasm))
        .bind(now_ms())
        )
        .await?;
        Ok(())
    }

    /// The organisation's plugins, by id.
    pub async fn plugins(&self, organisation_id: &str) -> Result<Vec<InstalledPlugin>, StoreError> {
        let rows = sqlx::query("SELECT id, version, sha256, manifest FROM plugins WHERE organisation_id = $1 ORDER BY id")
            .bind(organisation_id)
            .fetch_all(self.pool())
            .await?;
        let markets = sqlx::query("SELECT plugin_id, country FROM plugin_markets WHERE organisation_id = $1 ORDER BY country")
            .bind(organisation_id)
            .fetch_all(self.pool())
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let id: String = row.try_get("id")?;
            let manifest: String = row.try_get("manifest")?;
            let enabled_markets = markets
                .iter()
                .filter(|m| m.try_get::<String, _>("plugin_id").is_ok_and(|p| p == id))
                .filter_map(|m| m.try_get("country").ok())
                .collect();
            out.push(InstalledPlugin {
                manifest: serde_json::from_str(&manifest)
                    .map_err(|e| invalid("manifest", e.to_string()))?,
                version: row.try_get("version")?,
                sha256: row.try_get("sha256")?,
                id,
                enabled_markets,
            });
        }
        Ok(out)
    }

    pub async fn plugin(
        &self,
        organisation_id: &str,
        id: &str,
    ) -> Result<Option<InstalledPlugin>, StoreError> {
        Ok(self
            .plugins(organisation_id)
            .await?
            .into_iter()
            .find(|p| p.id == id))
    }

    /// The hash of an installed plugin's code.
    pub async fn plugin_sha256(
        &self,
        organisation_id: &str,
        id: &str,
    ) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT sha256 FROM plugins WHERE organisation_id = $1 AND id = $2")
            .bind(organisation_id)
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(|r| r.try_get("sha256")).transpose()?)
    }

    /// An installed plugin's `.wasm`.
    pub async fn plugin_code(
        &self,
        organisation_id: &str,
        id: &str,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let row = sqlx::query("SELECT wasm FROM plugins WHERE organisation_id = $1 AND id = $2")
            .bind(organisation_id)
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        let Some(row) = row else { return Ok(None) };
        let text: String = row.try_get("wasm")?;
        STANDARD
            .decode(text)
            .map(Some)
            .map_err(|e| invalid("wasm", e.to_string()))
    }

    /// Enables `plugin` for `country`, which its manifest must list.
    pub async fn enable_plugin_market(
        &self,
        organisation_id: &str,
        plugin: &InstalledPlugin,
        country: &str,
    ) -> Result<(), StoreError> {
        if !plugin.manifest.markets.iter().any(|m| m == country) {
            return Err(invalid(
                "country",
                format!(
                    "plugin '{}' serves {} only; it cannot be enabled for '{country}'",
                    plugin.id,
                    plugin.manifest.markets.join(", ")
                ),
            ));
        }
        self.execute_write(
sqlx::query(
            "INSERT INTO plugin_markets (organisation_id, plugin_id, country, enabled_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (organisation_id, plugin_id, country) DO NOTHING",
        )
        .bind(organisation_id)
        .bind(&plugin.id)
        .bind(country)
        .bind(now_ms())
        )
        .await?;
        Ok(())
    }

    /// Disables `plugin` for `country`; false if it was not enabled.
    pub async fn disable_plugin_market(
        &self,
        organisation_id: &str,
        plugin_id: &str,
        country: &str,
    ) -> Result<bool, StoreError> {
        let done = self.execute_write(
sqlx::query("DELETE FROM plugin_markets WHERE organisation_id = $1 AND plugin_id = $2 AND country = $3")
            .bind(organisation_id)
            .bind(plugin_id)
            .bind(country)
            )
            .await?;
        Ok(done.rows_affected() == 1)
    }
}
