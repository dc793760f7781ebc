//! First-send marks written in groups (issue 15). Every attempt records its
//! first send just before the request leaves; under load on SQLite each such
//! mark waited in the one writer's queue behind the other clients' writes.
//! The marks that wait at the same moment are now written by one statement in
//! one turn ([`super::groups`]).

use std::collections::{BTreeMap, HashSet};

use sqlx::Row;
use tokio::sync::oneshot;

use super::groups::Queue;
use super::placeholders::placeholders;
use super::{Store, StoreError, now_ms};

/// The most marks one statement carries (SQLite's parameter limit is far off).
const MOST_PER_STATEMENT: usize = 256;

/// The marks waiting for the next group's statement.
pub(crate) type SendMarks = Queue<Waiting>;

pub(crate) struct Waiting {
    id: String,
    owner: String,
    /// `Some(recorded)`, or `None` when the group's statement failed: then
    /// the mark is written alone, for an error of its own.
    answer: oneshot::Sender<Option<bool>>,
}

impl Store {
    /// Records that the attempt's first request is about to leave. False means
    /// the attempt is no longer this host's to run (recovery took it over or
    /// it is settled): then nothing may be sent.
    pub async fn mark_attempt_sent(&self, id: &str, owner: &str) -> Result<bool, StoreError> {
        let (answer, answered) = oneshot::channel();
        let first = self.send_marks.push(Waiting {
            id: id.to_owned(),
            owner: owner.to_owned(),
            answer,
        });
        if first {
            let store = self.clone();
            tokio::spawn(async move { store.write_send_marks().await });
        }
        match answered.await {
            Ok(Some(recorded)) => Ok(recorded),
            _ => self.mark_attempt_sent_alone(id, owner).await,
        }
    }

    /// Takes the write turn, then every mark waiting by then, and writes them
    /// with one statement per owner (one per host in practice).
    async fn write_send_marks(&self) {
        let _turn = self.write_turn().await;
        let waiting = self.send_marks.take();
        let mut by_owner: BTreeMap<String, Vec<Waiting>> = BTreeMap::new();
        for w in waiting {
            by_owner.entry(w.owner.clone()).or_default().push(w);
        }
        for (owner, mut group) in by_owner {
            while !group.is_empty() {
                let rest = group.split_off(group.len().min(MOST_PER_STATEMENT));
                let chunk = std::mem::replace(&mut group, rest);
                let ids: Vec<&str> = chunk.iter().map(|w| w.id.as_str()).collect();
                match self.mark_sent_in_one(&owner, &ids).await {
                    Ok(mut marked) => {
                        for w in chunk {
                            // The same attempt twice in one group: as one
                            // statement each, only the first is recorded.
                            let _ = w.answer.send(Some(marked.remove(&w.id)));
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, marks = chunk.len(),
                            "first-send marks not written together; each is written alone");
                        for w in chunk {
                            let _ = w.answer.send(None);
                        }
                    }
                }
            }
        }
    }

    /// One statement for a group's marks: the ids it recorded.
    async fn mark_sent_in_one(
        &self,
        owner: &str,
        ids: &[&str],
    ) -> Result<HashSet<String>, StoreError> {
        let sql = format!(
            "UPDATE payments SET sent_at = $1 \
             WHERE status = 'processing' AND sent_at IS NULL \
             AND (lease_owner IS NULL OR lease_owner = $2) AND id IN ({}) RETURNING id",
            placeholders(3, ids.len())
        );
        let mut query = sqlx::query(&sql).bind(now_ms()).bind(owner);
        for id in ids {
            query = query.bind(*id);
        }
        let rows = query.fetch_all(&self.writer).await?;
        rows.iter()
            .map(|row| row.try_get::<String, _>("id").map_err(StoreError::from))
            .collect()
    }

    /// One mark by itself, in its own turn.
    async fn mark_attempt_sent_alone(&self, id: &str, owner: &str) -> Result<bool, StoreError> {
        let done = self
            .execute_write(
                sqlx::query(
                    "UPDATE payments SET sent_at = $1 \
                     WHERE id = $2 AND status = 'processing' AND sent_at IS NULL \
                     AND (lease_owner IS NULL OR lease_owner = $3)",
                )
                .bind(now_ms())
                .bind(id)
                .bind(owner),
            )
            .await?
            .rows_affected();
        Ok(done == 1)
    }
}
