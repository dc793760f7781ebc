//! The audit trail: one row per change an admin (or the operator's command
//! line) makes, append-only. A change written in a transaction records its
//! row in that transaction ([`record_in`]); others record it right after,
//! with the outcome ([`Store::record_audit`]). Details never hold a secret
//! value: for settings only the keys that changed.

use serde::Serialize;
use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use vetpay_domain::text_enum;

use super::{Store, StoreError, invalid, now_ms};

text_enum! {
    /// What was done.
    pub enum AuditAction {
        PluginInstalled = "plugin.install",
        MarketEnabled = "plugin.market.enable",
        MarketDisabled = "plugin.market.disable",
        PluginSettingsChanged = "plugin.settings.set",
        AllowedHostsChanged = "plugin.allowed_hosts.set",
        TerminalCreated = "terminal.create",
        TerminalReconciled = "terminal.reconcile",
        TerminalRemoved = "terminal.remove",
        ApiKeyCreated = "api_key.create",
        ApiKeyRevoked = "api_key.revoke",
        ApiKeyRotated = "api_key.rotate",
        RefundCreated = "refund.create",
        PaymentAbortRequested = "payment.abort",
        PaymentResolved = "payment.resolve",
    }
}

/// Who made a change: an API key, or the operator's command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub key_id: Option<String>,
    pub key_name: String,
}

impl Actor {
    pub fn key(id: &str, name: &str) -> Self {
        Actor {
            key_id: Some(id.to_owned()),
            key_name: name.to_owned(),
        }
    }

    /// The `vetpay` command line, run by whoever operates the host.
    pub fn operator() -> Self {
        Actor {
            key_id: None,
            key_name: "operator (command line)".to_owned(),
        }
    }
}

/// One recorded change.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditEvent {
    pub id: String,
    /// Unix milliseconds.
    pub at: i64,
    /// The API key that made the change; null for the command line.
    pub actor_key_id: Option<String>,
    pub actor_key_name: String,
    pub action: AuditAction,
    pub target_type: String,
    pub target_id: String,
    /// What changed; never a secret value.
    #[schema(value_type = Object)]
    pub details: Value,
}

/// What to record.
#[derive(Debug, Clone)]
pub struct NewAuditEvent {
    pub action: AuditAction,
    pub target_type: &'static str,
    pub target_id: String,
    pub details: Value,
}

impl NewAuditEvent {
    pub fn new(
        action: AuditAction,
        target_type: &'static str,
        target_id: impl Into<String>,
        details: Value,
    ) -> Self {
        NewAuditEvent {
            action,
            target_type,
            target_id: target_id.into(),
            details,
        }
    }
}

/// Which events to list, newest first.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub action: Option<AuditAction>,
    pub target_id: Option<String>,
    pub actor_key_id: Option<String>,
    /// Unix milliseconds, inclusive.
    pub since: Option<i64>,
    /// Unix milliseconds, exclusive.
    pub until: Option<i64>,
    /// From [`AuditPage::next_cursor`]: the events after (older than) that page.
    pub cursor: Option<String>,
    pub limit: i64,
}

/// Most events one page holds.
pub const MAX_AUDIT_PAGE: i64 = 500;

/// One page of events, and the cursor of the next (older) page if there is one.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditPage {
    pub events: Vec<AuditEvent>,
    pub next_cursor: Option<String>,
}

/// Records `event` inside the caller's transaction.
pub(crate) async fn record_in(
    conn: &mut AnyConnection,
    organisation_id: &str,
    actor: &Actor,
    event: &NewAuditEvent,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO audit_events (id, organisation_id, at, actor_key_id, actor_key_name, action, target_type, target_id, details) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    // Time-ordered ids (UUIDv7, monotonic within this process) keep events of
    // the same millisecond in the order they happened: pages sort by (at, id).
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(organisation_id)
    .bind(now_ms())
    .bind(&actor.key_id)
    .bind(&actor.key_name)
    .bind(event.action.as_str())
    .bind(event.target_type)
    .bind(&event.target_id)
    .bind(event.details.to_string())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

fn event_of(row: &AnyRow) -> Result<AuditEvent, StoreError> {
    let details: String = row.try_get("details")?;
    let id: String = row.try_get("id")?;
    // Written as JSON by `record_in`: text that is not is corrupt, not a string.
    let details: Value = serde_json::from_str(&details).map_err(|_| StoreError::Corrupt {
        table: "audit_events",
        column: "details",
        row: id.clone(),
        value: details.clone(),
    })?;
    Ok(AuditEvent {
        id,
        at: row.try_get("at")?,
        actor_key_id: row.try_get("actor_key_id")?,
        actor_key_name: row.try_get("actor_key_name")?,
        action: super::text_enum::column(row, "audit_events", "action")?,
        target_type: row.try_get("target_type")?,
        target_id: row.try_get("target_id")?,
        details,
    })
}

enum Bind {
    Text(String),
    Int(i64),
}

fn parse_cursor(cursor: &str) -> Result<(i64, String), StoreError> {
    cursor
        .split_once(':')
        .and_then(|(at, id)| Some((at.parse().ok()?, id.to_owned())))
        .ok_or_else(|| {
            invalid(
                "cursor",
                "pass the next_cursor of the previous page unchanged",
            )
        })
}

impl Store {
    /// Records a change made outside a transaction of the store, right after it.
    pub async fn record_audit(
        &self,
        organisation_id: &str,
        actor: &Actor,
        event: NewAuditEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        record_in(&mut tx.tx, organisation_id, actor, &event).await?;
        tx.commit().await
    }

    /// The organisation's events matching `filter`, newest first.
    pub async fn audit_events(
        &self,
        organisation_id: &str,
        filter: &AuditFilter,
    ) -> Result<AuditPage, StoreError> {
        if !(1..=MAX_AUDIT_PAGE).contains(&filter.limit) {
            return Err(invalid(
                "limit",
                format!("give 1 to {MAX_AUDIT_PAGE} events per page"),
            ));
        }
        let mut sql = String::from("SELECT * FROM audit_events WHERE organisation_id = $1");
        let mut binds = vec![Bind::Text(organisation_id.to_owned())];
        let mut push = |sql: &mut String, clause: &str, bind: Bind| {
            binds.push(bind);
            sql.push_str(&clause.replace('?', &format!("${}", binds.len())));
        };
        if let Some(action) = filter.action {
            push(
                &mut sql,
                " AND action = ?",
                Bind::Text(action.as_str().to_owned()),
            );
        }
        if let Some(target) = &filter.target_id {
            push(&mut sql, " AND target_id = ?", Bind::Text(target.clone()));
        }
        if let Some(actor) = &filter.actor_key_id {
            push(&mut sql, " AND actor_key_id = ?", Bind::Text(actor.clone()));
        }
        if let Some(since) = filter.since {
            push(&mut sql, " AND at >= ?", Bind::Int(since));
        }
        if let Some(until) = filter.until {
            push(&mut sql, " AND at < ?", Bind::Int(until));
        }
        if let Some(cursor) = &filter.cursor {
            let (at, id) = parse_cursor(cursor)?;
            push(&mut sql, " AND (at < ?", Bind::Int(at));
            push(&mut sql, " OR (at = ?", Bind::Int(at));
            push(&mut sql, " AND id < ?))", Bind::Text(id));
        }
        // One more than asked, to know whether there is a next page.
        push(
            &mut sql,
            " ORDER BY at DESC, id DESC LIMIT ?",
            Bind::Int(filter.limit + 1),
        );
        let mut query = sqlx::query(&sql);
        for bind in binds {
            query = match bind {
                Bind::Text(t) => query.bind(t),
                Bind::Int(i) => query.bind(i),
            };
        }
        let rows = query.fetch_all(self.pool()).await?;
        let mut events = rows.iter().map(event_of).collect::<Result<Vec<_>, _>>()?;
        let next_cursor = if events.len() as i64 > filter.limit {
            events.truncate(filter.limit as usize);
            events.last().map(|e| format!("{}:{}", e.at, e.id))
        } else {
            None
        };
        Ok(AuditPage {
            events,
            next_cursor,
        })
    }
}
