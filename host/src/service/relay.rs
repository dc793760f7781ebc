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
    payment: String,
    stage: Option<String>,
    message: Option<String>,
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
                while let Some((payment, event)) = outgoing.recv().await {
                    let (stage, message) = match event {
                        PaymentEvent::Stage { stage, message } => (Some(stage), message),
                        PaymentEvent::Status { .. } => (None, None),
                    };
                    let message = message.map(|m| m.chars().take(1000).collect());
                    let relayed = Relayed {
                        host: host.clone(),
                        payment,
                        stage,
                        message,
                    };
                    let Ok(payload) = serde_json::to_string(&relayed) else {
                        continue;
                    };
                    if let Err(e) = clinic.store().notify(PAYMENT_EVENTS, &payload).await {
                        tracing::warn!(error = %e, "payment event not relayed");
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

    /// Hands another host's event to this host's watchers of that payment.
    async fn deliver(&self, host: &str, payload: &str) {
        let Ok(relayed) = serde_json::from_str::<Relayed>(payload) else {
            return;
        };
        if relayed.host == host || !self.events().is_watched(&relayed.payment) {
            return;
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
                _ => return,
            },
        };
        self.events().publish_here(&relayed.payment, event);
    }
}
