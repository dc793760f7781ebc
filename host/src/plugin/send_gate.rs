//! The first send of an attempt: the caller is told before the call's first
//! HTTP request leaves the host, and may stop it (issue 12's "know what left
//! the host"). A plugin has no other way out than the host's HTTP, so an
//! attempt whose gate never opened sent nothing.

use std::sync::Arc;

/// Told before the first HTTP request of a call leaves the host, so the caller
/// can record durably that something was sent. Answering false stops the
/// request: the caller no longer owns the attempt, so nothing may leave.
#[async_trait::async_trait]
pub trait FirstSend: Send + Sync {
    async fn first_send(&self) -> bool;
}

/// One call's gate: asks [`FirstSend`] once, and every later request of the
/// call gets the same answer.
pub struct SendGate {
    mark: Arc<dyn FirstSend>,
    passed: tokio::sync::OnceCell<bool>,
}

impl SendGate {
    pub fn new(mark: Arc<dyn FirstSend>) -> Self {
        Self {
            mark,
            passed: tokio::sync::OnceCell::new(),
        }
    }

    /// Whether the call's requests may leave.
    pub async fn pass(&self) -> bool {
        *self.passed.get_or_init(|| self.mark.first_send()).await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    struct Count(AtomicU32, bool);

    #[async_trait::async_trait]
    impl FirstSend for Count {
        async fn first_send(&self) -> bool {
            self.0.fetch_add(1, Ordering::SeqCst);
            self.1
        }
    }

    #[tokio::test]
    async fn a_gate_asks_once_per_call_and_keeps_the_answer() {
        for answer in [true, false] {
            let mark = Arc::new(Count(AtomicU32::new(0), answer));
            let gate = SendGate::new(mark.clone());
            for _ in 0..3 {
                assert_eq!(gate.pass().await, answer);
            }
            assert_eq!(mark.0.load(Ordering::SeqCst), 1);
        }
    }
}
