//! Loaded plugins per organisation: compiled once per code hash, reloaded when
//! an admin installs a new version (on any host sharing the database).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::ServiceError;
use crate::plugin::{Provider, Runtime};
use crate::store::Store;

#[derive(Clone, Default)]
pub struct PluginRegistry {
    loaded: Arc<Mutex<HashMap<String, Provider>>>,
}

impl PluginRegistry {
    /// The organisation's plugin `id`, loading its code if this host has not yet.
    pub async fn get(
        &self,
        store: &Store,
        runtime: &Runtime,
        organisation_id: &str,
        id: &str,
    ) -> Result<Provider, ServiceError> {
        let sha = store
            .plugin_sha256(organisation_id, id)
            .await?
            .ok_or_else(|| {
                ServiceError::NotFound(format!(
                    "plugin '{id}' is not installed in your organisation"
                ))
            })?;
        self.get_by_hash(store, runtime, organisation_id, id, &sha)
            .await
    }

    /// As [`Self::get`], for a caller that has read the code's hash already.
    pub async fn get_by_hash(
        &self,
        store: &Store,
        runtime: &Runtime,
        organisation_id: &str,
        id: &str,
        sha: &str,
    ) -> Result<Provider, ServiceError> {
        if let Some(p) = self.cached(sha) {
            return Ok(p);
        }
        let code = store
            .plugin_code(organisation_id, id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("plugin '{id}' is not installed")))?;
        let plugin = runtime.load(code).await.map_err(|e| {
            ServiceError::Unavailable(format!("plugin '{id}' cannot be loaded: {e}"))
        })?;
        let plugin: Provider = std::sync::Arc::new(plugin);
        self.insert(plugin.clone());
        Ok(plugin)
    }

    fn cached(&self, sha: &str) -> Option<Provider> {
        let loaded = self.loaded.lock().unwrap_or_else(|p| p.into_inner());
        loaded.get(sha).cloned()
    }

    /// Keeps a plugin loaded elsewhere (on install).
    pub fn insert(&self, plugin: Provider) {
        let mut loaded = self.loaded.lock().unwrap_or_else(|p| p.into_inner());
        loaded.insert(plugin.sha256().to_owned(), plugin);
    }
}
