//! Events between the hosts of one PostgreSQL database: `NOTIFY` on a
//! channel, `LISTEN` on a connection of its own. SQLite has one host and none.

use sqlx::postgres::PgListener;

use super::{Store, StoreError};

/// The channel payment events travel on.
pub const PAYMENT_EVENTS: &str = "vetpay_payment_events";

impl Store {
    /// Sends `payload` (at most 8000 bytes) to every host listening on `channel`.
    pub async fn notify(&self, channel: &str, payload: &str) -> Result<(), StoreError> {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(channel)
            .bind(payload)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// A connection listening on `channel`; `None` on SQLite.
    pub async fn listen(&self, channel: &str) -> Result<Option<PgListener>, StoreError> {
        let Some(url) = &self.listen_url else {
            return Ok(None);
        };
        let mut listener = PgListener::connect(url).await?;
        listener.listen(channel).await?;
        Ok(Some(listener))
    }
}
