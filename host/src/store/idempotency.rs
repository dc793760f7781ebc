//! `Idempotency-Key`: the first answer to a request that moves money is kept
//! with the key, in the same transaction as the money's first row, so a repeat
//! gets that answer and moves nothing, even across hosts and restarts.

use sqlx::{AnyConnection, Row};

use super::{Conflict, StoreError, invalid, now_ms};

/// A request's key and a hash of what it asked.
#[derive(Debug, Clone)]
pub struct Idempotency {
    pub key: String,
    pub request_hash: String,
}

/// The first answer to a key.
#[derive(Debug, Clone)]
pub struct StoredAnswer {
    pub status: u16,
    pub body: String,
}

/// Claims `idem` inside the caller's transaction: `None` if it is new, or the
/// first answer. On PostgreSQL a concurrent claim of the same key waits here
/// until the first transaction ends.
pub(crate) async fn claim(
    conn: &mut AnyConnection,
    organisation_id: &str,
    idem: &Idempotency,
) -> Result<Option<StoredAnswer>, StoreError> {
    let inserted = sqlx::query(
        "INSERT INTO idempotency_keys (organisation_id, key, request_hash, status_code, response, created_at) \
         VALUES ($1, $2, $3, 0, '', $4) ON CONFLICT (organisation_id, key) DO NOTHING",
    )
    .bind(organisation_id)
    .bind(&idem.key)
    .bind(&idem.request_hash)
    .bind(now_ms())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if inserted == 1 {
        return Ok(None);
    }
    let row = sqlx::query(
        "SELECT request_hash, status_code, response FROM idempotency_keys WHERE organisation_id = $1 AND key = $2",
    )
    .bind(organisation_id)
    .bind(&idem.key)
    .fetch_one(&mut *conn)
    .await?;
    let hash: String = row.try_get("request_hash")?;
    if hash != idem.request_hash {
        return Err(invalid(
            "Idempotency-Key",
            "this key was used for a different request; send a new key for each new payment, and the same key only to retry the same request",
        ));
    }
    let status: i64 = row.try_get("status_code")?;
    if status == 0 {
        return Err(Conflict::IdempotencyInFlight.into());
    }
    Ok(Some(StoredAnswer {
        status: status as u16,
        body: row.try_get("response")?,
    }))
}

/// Records the answer to a claimed key.
pub(crate) async fn answer(
    conn: &mut AnyConnection,
    organisation_id: &str,
    idem: &Idempotency,
    status: u16,
    body: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE idempotency_keys SET status_code = $1, response = $2 WHERE organisation_id = $3 AND key = $4",
    )
    .bind(i64::from(status))
    .bind(body)
    .bind(organisation_id)
    .bind(&idem.key)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
