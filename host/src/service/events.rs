//! Live payment events for the payment dialog: the stages a plugin reports and
//! the final state, fanned out to every watcher of a payment on this host.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use serde::Serialize;
use tokio::sync::{broadcast, mpsc};

use crate::store::Payment;

/// One event of a payment.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PaymentEvent {
    /// A stage the plugin reported, such as waiting-for-card.
    Stage {
        stage: String,
        message: Option<String>,
    },
    /// The payment's state changed; a final status closes the stream.
    Status { payment: Box<Payment> },
}

/// Watchers by payment id; a channel exists while someone watches or a call runs.
#[derive(Clone, Default)]
pub struct EventHub {
    channels: Arc<Mutex<HashMap<String, broadcast::Sender<PaymentEvent>>>>,
    /// Where events also go for the other hosts of the database (`relay.rs`).
    relay: Arc<OnceLock<mpsc::UnboundedSender<(String, PaymentEvent)>>>,
}

impl EventHub {
    /// Starts watching a payment.
    pub fn subscribe(&self, payment_id: &str) -> broadcast::Receiver<PaymentEvent> {
        let mut channels = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        channels
            .entry(payment_id.to_owned())
            .or_insert_with(|| broadcast::channel(64).0)
            .subscribe()
    }

    /// Forgets a payment's channel once no watcher is left but the caller's
    /// own receiver (a dialog that closed, or opened on a payment already final).
    pub fn release(&self, payment_id: &str) {
        let mut channels = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        if channels
            .get(payment_id)
            .is_some_and(|tx| tx.receiver_count() <= 1)
        {
            channels.remove(payment_id);
        }
    }

    /// How many payments have a channel; for tests of the hub itself.
    pub fn watched(&self) -> usize {
        self.channels
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }

    /// Sends this host's events to the other hosts as well, from now on.
    pub(super) fn relay_to(&self, sink: mpsc::UnboundedSender<(String, PaymentEvent)>) {
        let _ = self.relay.set(sink);
    }

    /// Sends to the payment's watchers here and, through the relay, on every
    /// other host of the database.
    pub fn publish(&self, payment_id: &str, event: PaymentEvent) {
        if let Some(relay) = self.relay.get() {
            let _ = relay.send((payment_id.to_owned(), event.clone()));
        }
        self.publish_here(payment_id, event);
    }

    /// Whether anyone on this host watches the payment.
    pub fn is_watched(&self, payment_id: &str) -> bool {
        self.channels
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(payment_id)
    }

    /// Sends to the payment's watchers on this host, if any; forgets the channel
    /// once the payment is final or nobody watches.
    pub fn publish_here(&self, payment_id: &str, event: PaymentEvent) {
        let last = matches!(&event, PaymentEvent::Status { payment } if payment.status.is_final());
        let mut channels = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(tx) = channels.get(payment_id) {
            let delivered = tx.send(event).is_ok();
            if last || !delivered {
                channels.remove(payment_id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_watcher_leaves_no_channel_behind() {
        let hub = EventHub::default();
        let first = hub.subscribe("p1");
        let second = hub.subscribe("p1");
        hub.release("p1");
        assert_eq!(hub.watched(), 1, "another watcher is still there");
        drop(second);
        hub.release("p1");
        assert_eq!(hub.watched(), 0);
        drop(first);
    }
}
