//! Console sign-in sessions (migration 0014): a row per session, found by
//! the keyed hash of the id the browser holds, with the API key it acts as
//! sealed by the vault. Expiry is by idleness; a session whose key no longer
//! opens (the operator's key was rotated away) is gone.

use sqlx::Row;
use sqlx::any::AnyRow;
use zeroize::Zeroizing;

use super::{Role, Store, StoreError, now_ms};

/// A stored session, its key opened.
#[derive(Debug, Clone)]
pub struct ConsoleSession {
    pub organisation_id: String,
    pub key_id: String,
    pub key: Zeroizing<String>,
    pub role: Role,
    pub key_name: String,
    pub csrf: String,
    /// The pending message for the next page, as the console wrote it.
    pub flash: Option<String>,
    pub last_seen_at: i64,
}

/// What a new session holds.
pub struct NewConsoleSession<'a> {
    pub organisation_id: &'a str,
    pub key_id: &'a str,
    pub key: &'a str,
    pub role: Role,
    pub key_name: &'a str,
    pub csrf: &'a str,
}

/// The vault's context of a session's sealed key: bound to its row.
fn context(id_hash: &str) -> String {
    format!("console-session:{id_hash}")
}

impl Store {
    fn session_hash(&self, id: &str) -> String {
        self.keyring().hash_api_key(id)
    }

    /// Stores a new session under `id` (the cookie's value), and forgets
    /// sessions idle since before `idle_before`.
    pub async fn start_console_session(
        &self,
        id: &str,
        session: NewConsoleSession<'_>,
        idle_before: i64,
    ) -> Result<(), StoreError> {
        let now = now_ms();
        let hash = self.session_hash(id);
        let sealed = self.keyring().seal(session.key, &context(&hash));
        self.execute_write(
            sqlx::query("DELETE FROM console_sessions WHERE last_seen_at < $1").bind(idle_before),
        )
        .await?;
        self.execute_write(
            sqlx::query(
                "INSERT INTO console_sessions (id_hash, organisation_id, key_id, key_sealed, role, \
                 key_name, csrf, flash, created_at, last_seen_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8, $8)",
            )
            .bind(hash)
            .bind(session.organisation_id)
            .bind(session.key_id)
            .bind(sealed)
            .bind(session.role.as_str())
            .bind(session.key_name)
            .bind(session.csrf)
            .bind(now),
        )
        .await?;
        Ok(())
    }

    /// The session with this id, unless idle since before `idle_before`
    /// (then it is removed). Its last use is written at most once a minute:
    /// a page view is no write.
    pub async fn console_session(
        &self,
        id: &str,
        idle_before: i64,
    ) -> Result<Option<ConsoleSession>, StoreError> {
        let hash = self.session_hash(id);
        let row = sqlx::query(
            "SELECT organisation_id, key_id, key_sealed, role, key_name, csrf, flash, last_seen_at \
             FROM console_sessions WHERE id_hash = $1",
        )
        .bind(&hash)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let session = match self.session_of(&hash, &row) {
            Ok(s) if s.last_seen_at >= idle_before => s,
            // Idle too long, or sealed under a key the ring no longer holds.
            Ok(_) | Err(StoreError::Vault(_)) => {
                self.end_console_session(id).await?;
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        let now = now_ms();
        if now - session.last_seen_at > 60_000 {
            self.execute_write(
                sqlx::query("UPDATE console_sessions SET last_seen_at = $1 WHERE id_hash = $2")
                    .bind(now)
                    .bind(&hash),
            )
            .await?;
        }
        Ok(Some(session))
    }

    fn session_of(&self, hash: &str, row: &AnyRow) -> Result<ConsoleSession, StoreError> {
        let role: String = row.try_get("role")?;
        let sealed: String = row.try_get("key_sealed")?;
        Ok(ConsoleSession {
            organisation_id: row.try_get("organisation_id")?,
            key_id: row.try_get("key_id")?,
            key: self.keyring().open(&sealed, &context(hash))?,
            role: Role::parse(&role).ok_or_else(|| StoreError::Corrupt {
                table: "console_sessions",
                column: "role",
                row: hash.to_owned(),
                value: role.clone(),
            })?,
            key_name: row.try_get("key_name")?,
            csrf: row.try_get("csrf")?,
            flash: row.try_get("flash")?,
            last_seen_at: row.try_get("last_seen_at")?,
        })
    }

    pub async fn end_console_session(&self, id: &str) -> Result<(), StoreError> {
        self.execute_write(
            sqlx::query("DELETE FROM console_sessions WHERE id_hash = $1")
                .bind(self.session_hash(id)),
        )
        .await?;
        Ok(())
    }

    /// Sets (or with `None` clears) the message for the session's next page.
    pub async fn set_console_flash(&self, id: &str, flash: Option<&str>) -> Result<(), StoreError> {
        self.execute_write(
            sqlx::query("UPDATE console_sessions SET flash = $1 WHERE id_hash = $2")
                .bind(flash)
                .bind(self.session_hash(id)),
        )
        .await?;
        Ok(())
    }
}
