//! What a plugin can say and learn. Secret settings never reach a plugin: it holds only placeholders, the host
//! fills them in on the way out to an allowed destination, scrubs them from
//! what comes back, and never writes them to the log.

use std::io::Write;
use std::sync::{Arc, Mutex};

use vetpay::plugin::Runtime;
use vetpay::plugin::types::Outcome;
use vetpay_tests::fault_server::FaultServer;
use vetpay_tests::fixtures::{SECRET_TOKEN, config, fault_env, fault_plugin, purchase, usd};

/// Collects everything logged on this thread.
#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl LogBuffer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// Sends everything logged on this thread (at `level` and above) to a buffer,
/// until the guard is dropped.
fn capture_logs(level: tracing::Level) -> (LogBuffer, tracing::subscriber::DefaultGuard) {
    let logs = LogBuffer::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    (logs, tracing::subscriber::set_default(subscriber))
}

// A current-thread runtime, so the thread-local log subscriber sees every event.
#[tokio::test(flavor = "current_thread")]
async fn a_plugin_only_ever_holds_the_placeholder() {
    let (logs, _guard) = capture_logs(tracing::Level::TRACE);

    let server = FaultServer::start().await;
    let rt = Runtime::new(config()).unwrap();
    let plugin = fault_plugin(&rt).await;
    let out = plugin
        .process(
            &fault_env("exfiltrate", Some(&server)),
            purchase("r-secret", usd(700)),
        )
        .await
        .unwrap();

    // What the plugin learnt, it put in the receipt: only placeholders.
    let Outcome::Approved(a) = out else {
        panic!("{out:?}")
    };
    let learnt = a.receipt.unwrap().customer.unwrap();
    assert!(
        !learnt.contains(SECRET_TOKEN),
        "the plugin saw the secret: {learnt}"
    );
    assert!(
        learnt.contains("api-token={{secret:api-token}}"),
        "{learnt}"
    );
    assert!(
        learnt.contains("Bearer {{secret:api-token}}"),
        "the echoed header is scrubbed: {learnt}"
    );

    // The provider did get the real value, in the header and in the JSON body.
    let received = server.received();
    let request = received.last().expect("the echo server was called");
    let auth = request
        .headers
        .iter()
        .find(|(n, _)| n == "authorization")
        .unwrap();
    assert_eq!(auth.1, format!("Bearer {SECRET_TOKEN}"));
    assert_eq!(request.body, format!(r#"{{"token":"{SECRET_TOKEN}"}}"#));

    // The log names the request and the plugin, and never the secret.
    let log = logs.text();
    assert!(log.contains("plugin HTTP request"), "{log}");
    assert!(log.contains("fault-injection"), "{log}");
    assert!(
        !log.contains(SECRET_TOKEN),
        "the secret leaked into the log"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn plugin_stdout_goes_to_the_host_log_tagged_with_the_plugin() {
    let (logs, _guard) = capture_logs(tracing::Level::INFO);

    let rt = Runtime::new(config()).unwrap();
    let plugin = fault_plugin(&rt).await;
    plugin
        .process(&fault_env("well", None), purchase("r-out", usd(100)))
        .await
        .unwrap();
    let log = logs.text();
    let line = log
        .lines()
        .find(|l| l.contains("well-behaved call r-out"))
        .unwrap_or_else(|| panic!("stdout line missing from: {log}"));
    assert!(
        line.contains("plugin=fault-injection") && line.contains("stream=\"stdout\""),
        "{line}"
    );
    assert!(
        log.contains("approving r-out"),
        "the log import reaches the host log: {log}"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_plugin_cannot_flood_the_log_or_the_payment_dialog() {
    let (logs, _guard) = capture_logs(tracing::Level::INFO);

    let rt = Runtime::new(config()).unwrap();
    let plugin = fault_plugin(&rt).await;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut env = fault_env("log-flood", None);
    env.progress = Some(tx);
    let out = plugin
        .process(&env, purchase("r-flood", usd(100)))
        .await
        .unwrap();
    assert!(matches!(out, Outcome::Approved(_)));
    let log = logs.text();
    let lines = log.lines().filter(|l| l.contains("flood ")).count();
    let mut reports = 0;
    while rx.try_recv().is_ok() {
        reports += 1;
    }
    // 5000 of each were attempted; 1000 events in all get through.
    assert_eq!(
        lines + reports,
        1000,
        "{lines} log lines, {reports} reports"
    );
    assert!(log.contains("the rest are dropped"), "the cut is announced");
}

/// Every call ends with one trace line saying where its time went: numbers
/// only, never a value of the call.
#[tokio::test(flavor = "current_thread")]
async fn every_call_reports_its_phases_in_one_trace_line() {
    let (logs, _guard) = capture_logs(tracing::Level::TRACE);
    let server = FaultServer::start().await;
    let rt = Runtime::new(config()).unwrap();
    let plugin = fault_plugin(&rt).await;
    plugin
        .process(
            &fault_env("exfiltrate", Some(&server)),
            purchase("r-phases", usd(700)),
        )
        .await
        .unwrap();

    let text = logs.text();
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("vetpay::plugin_phases"))
        .collect();
    assert_eq!(lines.len(), 1, "one phase line per call: {text}");
    let line = lines[0];
    let field = |name: &str| -> u64 {
        let start = line
            .find(&format!(" {name}="))
            .unwrap_or_else(|| panic!("{name} missing: {line}"))
            + name.len()
            + 2;
        line[start..]
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{name} is not a number: {line}"))
    };
    assert!(line.contains("export=process"), "{line}");
    assert!(field("instantiate_us") > 0, "{line}");
    assert!(
        field("http_us") > 0,
        "the plugin sent HTTP requests: {line}"
    );
    assert!(field("run_us") >= field("http_us"), "{line}");
    assert!(
        field("http_checks_us") + field("http_body_us") <= field("http_us"),
        "the request's parts fit in its whole: {line}"
    );
    for name in ["slot_us", "store_us", "drop_us"] {
        field(name);
    }
    assert!(!line.contains(SECRET_TOKEN), "{line}");
}
