//! The plugins' `cache` import backed by the database, for several hosts
//! sharing one PostgreSQL: a transaction handle that `process` leaves for
//! `abort` is seen by whichever host the abort request reaches.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sqlx::Row;

use super::{Store, now_ms};
use crate::plugin::kv::{MAX_TTL, PluginCache, Scope};

/// A [`PluginCache`] in the `plugin_cache` table.
#[derive(Clone)]
pub struct DbCache {
    store: Store,
}

impl DbCache {
    pub fn new(store: Store) -> Self {
        Self { store }
    }
}

#[async_trait::async_trait]
impl PluginCache for DbCache {
    async fn get(&self, scope: &Scope, key: &str) -> Option<Vec<u8>> {
        let row = sqlx::query(
            "SELECT value FROM plugin_cache WHERE organisation_id = $1 AND plugin_id = $2 AND key = $3 AND expires_at > $4",
        )
        .bind(&scope.organisation)
        .bind(&scope.plugin)
        .bind(key)
        .bind(now_ms())
        .fetch_optional(self.store.pool())
        .await
        .inspect_err(|e| tracing::warn!(error = %e, "plugin cache read failed"))
        .ok()??;
        let text: String = row.try_get("value").ok()?;
        STANDARD.decode(text).ok()
    }

    async fn set(&self, scope: &Scope, key: &str, value: Vec<u8>, ttl: Duration) {
        let now = now_ms();
        let expires = now + ttl.min(MAX_TTL).as_millis() as i64;
        let result = async {
            let mut tx = self.store.write().await?;
            // Expired entries of this scope go on every write, so the table stays small.
            sqlx::query(
                "DELETE FROM plugin_cache WHERE organisation_id = $1 AND plugin_id = $2 AND expires_at <= $3",
            )
            .bind(&scope.organisation)
            .bind(&scope.plugin)
            .bind(now)
            .execute(&mut *tx.tx)
            .await?;
            sqlx::query(
                "INSERT INTO plugin_cache (organisation_id, plugin_id, key, value, expires_at) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (organisation_id, plugin_id, key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at",
            )
            .bind(&scope.organisation)
            .bind(&scope.plugin)
            .bind(key)
            .bind(STANDARD.encode(&value))
            .bind(expires)
            .execute(&mut *tx.tx)
            .await?;
            tx.commit().await
        }
        .await;
        if let Err(e) = result {
            tracing::warn!(error = %e, "plugin cache write failed");
        }
    }

    async fn delete(&self, scope: &Scope, key: &str) {
        let result = sqlx::query(
            "DELETE FROM plugin_cache WHERE organisation_id = $1 AND plugin_id = $2 AND key = $3",
        )
        .bind(&scope.organisation)
        .bind(&scope.plugin)
        .bind(key)
        .execute(self.store.pool())
        .await;
        if let Err(e) = result {
            tracing::warn!(error = %e, "plugin cache delete failed");
        }
    }
}
