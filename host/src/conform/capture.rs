//! Captures the host log of a conformance run, so the secrets check can read
//! every line the plugin and the host wrote.

use std::fmt::Write;
use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;

/// A tracing layer that keeps each event as one line of text.
#[derive(Clone, Default)]
pub struct Capture {
    lines: Arc<Mutex<Vec<String>>>,
}

impl Capture {
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

struct Line<'a>(&'a mut String);

impl Visit for Line<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={:?}", field.name(), value);
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        let _ = write!(self.0, " {}={}", field.name(), value);
    }
}

impl<S: tracing::Subscriber> Layer<S> for Capture {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        let mut line = event.metadata().target().to_owned();
        event.record(&mut Line(&mut line));
        if let Ok(mut lines) = self.lines.lock() {
            lines.push(line);
        }
    }
}

#[cfg(test)]
mod tests {
    use tracing_subscriber::layer::SubscriberExt;

    use super::Capture;

    #[test]
    fn every_event_is_kept_with_its_target_and_fields_at_any_level() {
        let capture = Capture::default();
        let subscriber = tracing_subscriber::registry().with(capture.clone());
        tracing::subscriber::with_default(subscriber, || {
            tracing::debug!(target: "vetpay::plugin", plugin = "p", "said {}", "hello");
            tracing::warn!(count = 2, "late");
        });
        let lines = capture.lines();
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(lines[0].starts_with("vetpay::plugin"), "{lines:?}");
        assert!(
            lines[0].contains("said hello") && lines[0].contains("plugin=p"),
            "{lines:?}"
        );
        assert!(lines[1].contains("count=2"), "{lines:?}");
    }
}
