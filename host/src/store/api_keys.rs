//! API keys and their lifecycle: made with a name, role and optional expiry;
//! used (the last use kept to the minute); rotated (the old secret works for
//! a grace period); revoked at once. Only a keyed hash of each secret is
//! stored (`Keyring::hash_api_key`); a row still under plain SHA-256 (before
//! migration 0008) or under a previous key of the ring authenticates and is
//! re-hashed under the primary key on that use. There is no cache: every
//! request reads the row, so a revoke is seen at once by every host.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::audit::{self, Actor, AuditAction, NewAuditEvent};
use super::placeholders::placeholders;
use super::tenancy::{ApiKey, NewKey, Organisation, Role, check_name, legacy_hash};
use super::{Conflict, Store, StoreError, invalid, new_id, now_ms};
use crate::vault::Keyring;

/// How often at most the last use of one key is written.
pub const LAST_USED_EVERY_MS: i64 = 60_000;

/// The grace period of a rotation unless the request says otherwise: 24 h.
pub const DEFAULT_ROTATION_GRACE_SECONDS: i64 = 24 * 3600;

/// The longest grace period a rotation may give: 7 days.
pub const MAX_ROTATION_GRACE_SECONDS: i64 = 7 * 24 * 3600;

/// The longest lifetime a new key may be given, in days.
pub const MAX_KEY_DAYS: i64 = 3650;

/// How revoking a key went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revoked {
    /// Revoked by this call.
    Now(ApiKey),
    /// It had been revoked before; nothing changed.
    Already(ApiKey),
    /// No such key in the organisation.
    NotFound,
}

fn key_of(row: &AnyRow) -> Result<ApiKey, StoreError> {
    let role: String = row.try_get("role")?;
    Ok(ApiKey {
        id: row.try_get("id")?,
        organisation_id: row.try_get("organisation_id")?,
        role: Role::parse(&role).ok_or_else(|| StoreError::Corrupt {
            table: "api_keys",
            column: "role",
            row: row.try_get::<String, _>("id").unwrap_or_default(),
            value: role.clone(),
        })?,
        name: row.try_get("name")?,
        created_at: row.try_get("created_at")?,
        last_used_at: row.try_get("last_used_at")?,
        expires_at: row.try_get("expires_at")?,
        revoked_at: row.try_get("revoked_at")?,
        rotated_at: row.try_get("rotated_at")?,
        previous_valid_until: row.try_get("previous_valid_until")?,
    })
}

const KEY_COLUMNS: &str = "id, organisation_id, role, name, created_at, last_used_at, expires_at, \
     revoked_at, rotated_at, previous_valid_until";

/// 244 random bits (two v4 UUIDs); the prefix says what it is when it turns up in a config file.
fn new_secret(role: Role) -> String {
    format!(
        "vpk_{}_{}{}",
        role.as_str(),
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

impl ApiKey {
    fn expired(&self, now: i64) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn insert_key(
    conn: &mut AnyConnection,
    keyring: &Keyring,
    organisation_id: &str,
    role: Role,
    name: &str,
    expires_at: Option<i64>,
    actor: &Actor,
) -> Result<NewKey, StoreError> {
    let key = new_secret(role);
    insert_given_key(
        conn,
        keyring,
        organisation_id,
        role,
        name,
        key,
        expires_at,
        actor,
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn insert_given_key(
    conn: &mut AnyConnection,
    keyring: &Keyring,
    organisation_id: &str,
    role: Role,
    name: &str,
    key: String,
    expires_at: Option<i64>,
    actor: &Actor,
) -> Result<NewKey, StoreError> {
    let now = now_ms();
    if expires_at.is_some_and(|at| at <= now) {
        return Err(invalid("expires_at", "give a time in the future"));
    }
    let info = ApiKey {
        id: new_id(),
        organisation_id: organisation_id.to_owned(),
        role,
        name: name.to_owned(),
        created_at: now,
        last_used_at: None,
        expires_at,
        revoked_at: None,
        rotated_at: None,
        previous_valid_until: None,
    };
    sqlx::query(
        "INSERT INTO api_keys (id, organisation_id, role, key_hash, name, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&info.id)
    .bind(organisation_id)
    .bind(role.as_str())
    .bind(keyring.hash_api_key(&key))
    .bind(name)
    .bind(now)
    .bind(expires_at)
    .execute(&mut *conn)
    .await?;
    audit::record_in(conn, organisation_id, actor, &created_event(&info)).await?;
    Ok(NewKey { key, info })
}

fn created_event(info: &ApiKey) -> NewAuditEvent {
    NewAuditEvent::new(
        AuditAction::ApiKeyCreated,
        "api_key",
        &info.id,
        serde_json::json!({
            "name": info.name,
            "role": info.role,
            "expires_at": info.expires_at,
        }),
    )
}

impl Store {
    /// Creates an organisation and its first admin key (here rather than in
    /// `tenancy`, which this module builds on: the two import no ring).
    pub async fn create_organisation(
        &self,
        name: &str,
    ) -> Result<(Organisation, NewKey), StoreError> {
        let org = Organisation {
            id: new_id(),
            name: check_name("name", name)?,
        };
        let mut tx = self.write().await?;
        sqlx::query("INSERT INTO organisations (id, name, created_at) VALUES ($1, $2, $3)")
            .bind(&org.id)
            .bind(&org.name)
            .bind(now_ms())
            .execute(&mut *tx.tx)
            .await?;
        let key = insert_key(
            &mut tx.tx,
            self.keyring(),
            &org.id,
            Role::Admin,
            "first admin key",
            None,
            &Actor::operator(),
        )
        .await?;
        tx.commit().await?;
        Ok((org, key))
    }

    /// Makes a key for `organisation_id`, recorded as made by the operator.
    pub async fn create_api_key(
        &self,
        organisation_id: &str,
        role: Role,
        name: &str,
    ) -> Result<NewKey, StoreError> {
        self.create_api_key_by(organisation_id, role, name, None, &Actor::operator())
            .await
    }

    /// Makes a key; `expires_at` in Unix milliseconds, in the future. The
    /// audit row is written in the same transaction.
    pub async fn create_api_key_by(
        &self,
        organisation_id: &str,
        role: Role,
        name: &str,
        expires_at: Option<i64>,
        actor: &Actor,
    ) -> Result<NewKey, StoreError> {
        let name = check_name("name", name)?;
        let mut tx = self.write().await?;
        let key = insert_key(
            &mut tx.tx,
            self.keyring(),
            organisation_id,
            role,
            &name,
            expires_at,
            actor,
        )
        .await?;
        tx.commit().await?;
        Ok(key)
    }

    /// Registers a key chosen by the caller (a script driving the demo); it
    /// must be long enough not to be guessed.
    pub async fn create_api_key_with(
        &self,
        organisation_id: &str,
        role: Role,
        name: &str,
        key: &str,
    ) -> Result<NewKey, StoreError> {
        if key.len() < 16 || !key.chars().all(|c| c.is_ascii_graphic()) {
            return Err(invalid(
                "key",
                "an API key is at least 16 visible ASCII characters",
            ));
        }
        let name = check_name("name", name)?;
        let mut tx = self.write().await?;
        let key = insert_given_key(
            &mut tx.tx,
            self.keyring(),
            organisation_id,
            role,
            &name,
            key.to_owned(),
            None,
            &Actor::operator(),
        )
        .await?;
        tx.commit().await?;
        Ok(key)
    }

    /// The organisation's keys, oldest first, revoked ones included.
    pub async fn api_keys(&self, organisation_id: &str) -> Result<Vec<ApiKey>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {KEY_COLUMNS} FROM api_keys WHERE organisation_id = $1 ORDER BY created_at, id"
        ))
        .bind(organisation_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(key_of).collect()
    }

    /// The organisation a key belongs to (for the command line, which has no key).
    pub async fn api_key_organisation(&self, key_id: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT organisation_id FROM api_keys WHERE id = $1")
            .bind(key_id)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(|r| r.try_get("organisation_id")).transpose()?)
    }

    /// The key behind `secret`, unless it is unknown, expired or revoked (or
    /// the secret from before a rotation whose grace period is over). Records
    /// the use (at most once a minute) and re-hashes a row found under an
    /// older hash, through the write path.
    pub async fn authenticate(&self, secret: &str) -> Result<Option<ApiKey>, StoreError> {
        let mut hashes = self.keyring().api_key_hashes(secret);
        hashes.push(legacy_hash(secret));
        let list = placeholders(1, hashes.len());
        let sql = format!(
            "SELECT {KEY_COLUMNS}, key_hash, previous_key_hash FROM api_keys \
             WHERE key_hash IN ({list}) OR previous_key_hash IN ({list})"
        );
        let mut query = sqlx::query(&sql);
        for h in &hashes {
            query = query.bind(h);
        }
        let rows = query.fetch_all(self.pool()).await?;
        let now = now_ms();
        for row in &rows {
            let key = key_of(row)?;
            let current: String = row.try_get("key_hash")?;
            let previous: Option<String> = row.try_get("previous_key_hash")?;
            let column = if hashes.contains(&current) {
                "key_hash"
            } else if previous.as_ref().is_some_and(|p| hashes.contains(p))
                && key.previous_valid_until.is_some_and(|until| until > now)
            {
                "previous_key_hash"
            } else {
                continue;
            };
            if key.revoked_at.is_some() || key.expired(now) {
                return Ok(None);
            }
            let stored = if column == "key_hash" {
                current
            } else {
                previous.unwrap_or_default()
            };
            self.note_use(&key, column, &stored, &hashes[0], now)
                .await?;
            return Ok(Some(key));
        }
        Ok(None)
    }

    /// Writes the last use (if a minute has passed) and the primary-key hash
    /// (if the row holds an older one).
    async fn note_use(
        &self,
        key: &ApiKey,
        column: &str,
        stored: &str,
        primary: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        let stale_use = key
            .last_used_at
            .is_none_or(|at| at <= now - LAST_USED_EVERY_MS);
        let rehash = stored != primary;
        if !stale_use && !rehash {
            return Ok(());
        }
        let mut tx = self.write().await?;
        if stale_use {
            sqlx::query(
                "UPDATE api_keys SET last_used_at = $1 WHERE id = $2 \
                 AND (last_used_at IS NULL OR last_used_at <= $3)",
            )
            .bind(now)
            .bind(&key.id)
            .bind(now - LAST_USED_EVERY_MS)
            .execute(&mut *tx.tx)
            .await?;
        }
        if rehash {
            sqlx::query(&format!(
                "UPDATE api_keys SET {column} = $1 WHERE id = $2 AND {column} = $3"
            ))
            .bind(primary)
            .bind(&key.id)
            .bind(stored)
            .execute(&mut *tx.tx)
            .await?;
        }
        tx.commit().await
    }

    /// Revokes a key of `organisation_id` for the operator; false if it has
    /// no such key or it was revoked already.
    pub async fn revoke_api_key(
        &self,
        organisation_id: &str,
        key_id: &str,
    ) -> Result<bool, StoreError> {
        Ok(matches!(
            self.revoke_api_key_by(organisation_id, key_id, &Actor::operator())
                .await?,
            Revoked::Now(_)
        ))
    }

    /// Revokes a key at once (both its secrets), with its audit row in the
    /// same transaction.
    pub async fn revoke_api_key_by(
        &self,
        organisation_id: &str,
        key_id: &str,
        actor: &Actor,
    ) -> Result<Revoked, StoreError> {
        let mut tx = self.write().await?;
        let now = now_ms();
        let done = sqlx::query(
            "UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND organisation_id = $3 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(key_id)
        .bind(organisation_id)
        .execute(&mut *tx.tx)
        .await?
        .rows_affected()
            == 1;
        // Its console sessions end with it, on every host.
        sqlx::query("DELETE FROM console_sessions WHERE key_id = $1 AND organisation_id = $2")
            .bind(key_id)
            .bind(organisation_id)
            .execute(&mut *tx.tx)
            .await?;
        let row = sqlx::query(&format!(
            "SELECT {KEY_COLUMNS} FROM api_keys WHERE id = $1 AND organisation_id = $2"
        ))
        .bind(key_id)
        .bind(organisation_id)
        .fetch_optional(&mut *tx.tx)
        .await?;
        let Some(key) = row.as_ref().map(key_of).transpose()? else {
            return Ok(Revoked::NotFound);
        };
        if !done {
            return Ok(Revoked::Already(key));
        }
        audit::record_in(
            &mut tx.tx,
            organisation_id,
            actor,
            &NewAuditEvent::new(
                AuditAction::ApiKeyRevoked,
                "api_key",
                key_id,
                serde_json::json!({ "name": key.name, "role": key.role }),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(Revoked::Now(key))
    }

    /// Gives a key a new secret; the old one keeps working for `grace_seconds`
    /// (0 to 7 days). `None` if the organisation has no such key; a conflict
    /// if it is revoked or expired.
    pub async fn rotate_api_key(
        &self,
        organisation_id: &str,
        key_id: &str,
        grace_seconds: i64,
        actor: &Actor,
    ) -> Result<Option<NewKey>, StoreError> {
        if !(0..=MAX_ROTATION_GRACE_SECONDS).contains(&grace_seconds) {
            return Err(invalid(
                "grace_seconds",
                format!("give 0 to {MAX_ROTATION_GRACE_SECONDS} seconds (7 days)"),
            ));
        }
        let mut tx = self.write().await?;
        let row = sqlx::query(&format!(
            "SELECT {KEY_COLUMNS} FROM api_keys WHERE id = $1 AND organisation_id = $2{}",
            self.for_update()
        ))
        .bind(key_id)
        .bind(organisation_id)
        .fetch_optional(&mut *tx.tx)
        .await?;
        let Some(mut key) = row.as_ref().map(key_of).transpose()? else {
            return Ok(None);
        };
        let now = now_ms();
        if key.revoked_at.is_some() {
            return Err(Conflict::KeyRevoked.into());
        }
        if key.expired(now) {
            return Err(Conflict::KeyExpired.into());
        }
        let secret = new_secret(key.role);
        let until = (grace_seconds > 0).then_some(now + grace_seconds * 1000);
        sqlx::query(
            "UPDATE api_keys SET previous_key_hash = CASE WHEN $1 > 0 THEN key_hash ELSE NULL END, \
             key_hash = $2, previous_valid_until = $3, rotated_at = $4 WHERE id = $5",
        )
        .bind(grace_seconds)
        .bind(self.keyring().hash_api_key(&secret))
        .bind(until)
        .bind(now)
        .bind(key_id)
        .execute(&mut *tx.tx)
        .await?;
        key.rotated_at = Some(now);
        key.previous_valid_until = until;
        audit::record_in(
            &mut tx.tx,
            organisation_id,
            actor,
            &NewAuditEvent::new(
                AuditAction::ApiKeyRotated,
                "api_key",
                key_id,
                serde_json::json!({
                    "name": key.name,
                    "grace_seconds": grace_seconds,
                    "previous_valid_until": until,
                }),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(Some(NewKey {
            key: secret,
            info: key,
        }))
    }
}
