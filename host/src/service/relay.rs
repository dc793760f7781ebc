//! Live events across the hosts of one PostgreSQL database, without polling:
//! every stage and status change a host publishes is also sent with `NOTIFY`,
//! and every host `LISTEN`s and hands what other hosts sent to its own
//! watchers, so a dialog on any host sees the payment within milliseconds.
//! SQLite has one host: nothing to relay.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::{Clinic, PaymentEvent};
use crate::store::PAYMENT_EVENTS;

/// What travels between hosts: a stage as it is, a status change as a nudge
/// to re-read the row (a payment does not fit a notification's 8000 bytes).
#[derive(Debug, Serialize, Deserialize)]
struct Relayed {
    host: String,
    #[serde(flatten)]
    event: BatchedEvent,
}

/// The events one host sends in one notification: every event queued while
/// the previous `NOTIFY` was on its way goes in the next, so a busy host
/// makes one round trip per batch rather than per event.
#[derive(Debug, Serialize, Deserialize)]
struct RelayedBatch {
    host: String,
    events: Vec<BatchedEvent>,
}

#[derive(Debug, Serialize, Deserialize)]
struct BatchedEvent {
    payment: String,
    stage: Option<String>,
    message: Option<String>,
}

/// A notification as any host of the database sends it: a batch, or a single
/// event from a host of an earlier version.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Incoming {
    Batch(RelayedBatch),
    One(Relayed),
}

/// PostgreSQL refuses a payload of 8000 bytes or more; this leaves room for
/// the batch's envelope.
const PAYLOAD_BUDGET: usize = 7600;

/// Packs queued events into as few payloads as fit the budget, in order.
fn pack(host: &str, events: Vec<(String, PaymentEvent)>) -> Vec<String> {
    let mut payloads = Vec::new();
    let mut batch = RelayedBatch {
        host: host.to_owned(),
        events: Vec::new(),
    };
    let mut size = host.len();
    for (payment, event) in events {
        let (stage, message) = match event {
            PaymentEvent::Stage { stage, message } => (Some(stage), message),
            PaymentEvent::Status { .. } => (None, None),
        };
        let one = BatchedEvent {
            payment,
            stage,
            message: message.map(|m| m.chars().take(1000).collect()),
        };
        let one_size = serde_json::to_string(&one).map(|s| s.len()).unwrap_or(0) + 1;
        if !batch.events.is_empty() && size + one_size > PAYLOAD_BUDGET {
            payloads.extend(serde_json::to_string(&batch).ok());
            batch.events.clear();
            size = host.len();
        }
        size += one_size;
        batch.events.push(one);
    }
    if !batch.events.is_empty() {
        payloads.extend(serde_json::to_string(&batch).ok());
    }
    payloads
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Clinic {
    /// Starts relaying events through the database; `None` on SQLite.
    pub async fn start_relay(&self) -> Option<tokio::task::JoinHandle<()>> {
        let mut listener = match self.store().listen(PAYMENT_EVENTS).await {
            Ok(Some(l)) => l,
            Ok(None) => return None,
            Err(e) => {
                tracing::warn!(error = %e, "not listening for other hosts' payment events; dialogs fall back to re-reading");
                return None;
            }
        };
        let (sink, mut outgoing) = mpsc::unbounded_channel::<(String, PaymentEvent)>();
        self.events().relay_to(sink);
        let host = self.inner.config.host_id.clone();
        let sender = {
            let clinic = self.clone();
            let host = host.clone();
            tokio::spawn(async move {
                while let Some(first) = outgoing.recv().await {
                    let mut queued = vec![first];
                    while let Ok(more) = outgoing.try_recv() {
                        queued.push(more);
                    }
                    for payload in pack(&host, queued) {
                        if let Err(e) = clinic.store().notify(PAYMENT_EVENTS, &payload).await {
                            tracing::warn!(error = %e, "payment events not relayed");
                        }
                    }
                }
            })
        };
        let clinic = self.clone();
        Some(tokio::spawn(async move {
            // Stopping the listener stops the sender with it.
            let _sender = AbortOnDrop(sender);
            loop {
                match listener.recv().await {
                    Ok(n) => clinic.deliver(&host, n.payload()).await,
                    // sqlx reconnects on the next recv; watchers re-read meanwhile.
                    Err(e) => {
                        tracing::warn!(error = %e, "listening for payment events failed");
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                }
            }
        }))
    }

    /// Hands another host's events to this host's watchers of their payments.
    async fn deliver(&self, host: &str, payload: &str) {
        let (from, events) = match serde_json::from_str::<Incoming>(payload) {
            Ok(Incoming::Batch(b)) => (b.host, b.events),
            Ok(Incoming::One(r)) => (r.host, vec![r.event]),
            Err(_) => return,
        };
        if from == host {
            return;
        }
        for relayed in events {
            if !self.events().is_watched(&relayed.payment) {
                continue;
            }
            let event = match relayed.stage {
                Some(stage) => PaymentEvent::Stage {
                    stage,
                    message: relayed.message,
                },
                None => match self.store().payment_by_id(&relayed.payment).await {
                    Ok(Some(p)) => PaymentEvent::Status {
                        payment: Box::new(p),
                    },
                    _ => continue,
                },
            };
            self.events().publish_here(&relayed.payment, event);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(payment: &str, message: Option<String>) -> (String, PaymentEvent) {
        (
            payment.to_owned(),
            PaymentEvent::Stage {
                stage: "waiting-for-card".into(),
                message,
            },
        )
    }

    #[test]
    fn queued_events_share_payloads_that_postgres_accepts_in_order() {
        let events: Vec<_> = (0..40)
            .map(|i| stage(&format!("p{i}"), Some("x".repeat(900))))
            .collect();
        let payloads = pack("host-a", events);
        assert!(
            payloads.len() > 1 && payloads.len() < 40,
            "{}",
            payloads.len()
        );
        let mut seen = Vec::new();
        for payload in &payloads {
            assert!(payload.len() < 8000, "{}", payload.len());
            let Ok(Incoming::Batch(batch)) = serde_json::from_str::<Incoming>(payload) else {
                panic!("not a batch: {payload}");
            };
            assert_eq!(batch.host, "host-a");
            seen.extend(batch.events.into_iter().map(|e| e.payment));
        }
        let expected: Vec<_> = (0..40).map(|i| format!("p{i}")).collect();
        assert_eq!(seen, expected);
    }

    #[test]
    fn an_earlier_hosts_single_event_is_still_read() {
        let old = r#"{"host":"h","payment":"p1","stage":null,"message":null}"#;
        assert!(matches!(
            serde_json::from_str::<Incoming>(old),
            Ok(Incoming::One(r)) if r.event.payment == "p1" && r.event.stage.is_none()
        ));
    }
}
