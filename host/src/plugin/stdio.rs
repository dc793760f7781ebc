//! A plugin's stdout and stderr go to the host log, line by line, tagged with the
//! plugin id. The last lines are kept so that a trap can be reported with what
//! the plugin printed before it (a Rust panic message, for instance).

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

use super::secrets::SecretVault;

/// Bytes a call may write before the rest is dropped.
const MAX_LOGGED_BYTES: usize = 64 * 1024;
/// Longest line logged; longer ones are cut.
const MAX_LINE: usize = 4096;
/// Bytes of the latest output kept for error reports.
const TAIL_BYTES: usize = 2048;

#[derive(Debug, Default)]
struct Buffer {
    partial: Vec<u8>,
    tail: String,
    written: usize,
    truncated: bool,
}

/// One of a call's output streams.
#[derive(Clone)]
pub struct PluginOutput {
    plugin: Arc<str>,
    stream: &'static str,
    buffer: Arc<Mutex<Buffer>>,
    /// Lines are scrubbed of the call's secrets before they are logged or kept.
    secrets: SecretVault,
}

impl PluginOutput {
    pub fn new(plugin: Arc<str>, stream: &'static str) -> Self {
        Self {
            plugin,
            stream,
            buffer: Arc::default(),
            secrets: SecretVault::default(),
        }
    }

    /// The same stream, scrubbing every line of `secrets`.
    pub fn with_secrets(mut self, secrets: &SecretVault) -> Self {
        self.secrets = secrets.clone();
        self
    }

    fn accept(&self, bytes: &[u8]) {
        let mut b = self.buffer.lock().unwrap_or_else(|p| p.into_inner());
        let room = MAX_LOGGED_BYTES.saturating_sub(b.written);
        if room == 0 {
            if !b.truncated {
                b.truncated = true;
                tracing::warn!(plugin = %self.plugin, stream = self.stream,
                    "plugin wrote more than {MAX_LOGGED_BYTES} bytes in one call; the rest is dropped");
            }
            return;
        }
        let bytes = &bytes[..bytes.len().min(room)];
        b.written += bytes.len();
        b.partial.extend_from_slice(bytes);
        while let Some(pos) = b.partial.iter().position(|&c| c == b'\n') {
            let line: Vec<u8> = b.partial.drain(..=pos).collect();
            self.emit(&mut b, &line[..line.len() - 1]);
        }
        if b.partial.len() >= MAX_LINE {
            let line = std::mem::take(&mut b.partial);
            self.emit(&mut b, &line);
        }
    }

    fn emit(&self, b: &mut Buffer, line: &[u8]) {
        let text = String::from_utf8_lossy(&line[..line.len().min(MAX_LINE)]);
        let text = self.secrets.redact(text.trim_end_matches('\r'));
        tracing::info!(target: "vetpay::plugin_output", plugin = %self.plugin, stream = self.stream, "{text}");
        b.tail.push_str(&text);
        b.tail.push('\n');
        if b.tail.len() > TAIL_BYTES {
            let mut cut = b.tail.len() - TAIL_BYTES;
            while !b.tail.is_char_boundary(cut) {
                cut += 1;
            }
            b.tail.drain(..cut);
        }
    }

    /// Logs an unfinished last line and returns the latest output.
    pub fn finish(&self) -> String {
        let mut b = self.buffer.lock().unwrap_or_else(|p| p.into_inner());
        if !b.partial.is_empty() {
            let line = std::mem::take(&mut b.partial);
            self.emit(&mut b, &line);
        }
        b.tail.trim_end().to_owned()
    }
}

impl IsTerminal for PluginOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for PluginOutput {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[async_trait::async_trait]
impl Pollable for PluginOutput {
    async fn ready(&mut self) {}
}

impl OutputStream for PluginOutput {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.accept(&bytes);
        Ok(())
    }
    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }
    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(MAX_LINE)
    }
}

impl tokio::io::AsyncWrite for PluginOutput {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.accept(buf);
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_split_and_the_tail_kept() {
        let out = PluginOutput::new("p".into(), "stderr");
        out.accept(b"first\nsec");
        out.accept(b"ond\nthird");
        assert_eq!(out.finish(), "first\nsecond\nthird");
    }

    #[test]
    fn lines_are_scrubbed_of_the_calls_secrets() {
        let mut vault = SecretVault::default();
        vault.insert("auth-token", "T0ken");
        let out = PluginOutput::new("p".into(), "stderr").with_secrets(&vault);
        out.accept(b"token t0ken\nraw T0ken");
        assert_eq!(
            out.finish(),
            "token {{secret:auth-token}}\nraw {{secret:auth-token}}"
        );
    }

    #[test]
    fn output_beyond_the_limit_is_dropped() {
        let out = PluginOutput::new("p".into(), "stdout");
        let line = vec![b'x'; 1000];
        for _ in 0..200 {
            out.accept(&line);
            out.accept(b"\n");
        }
        let b = out.buffer.lock().unwrap();
        assert!(b.truncated);
        assert_eq!(b.written, MAX_LOGGED_BYTES);
        assert!(b.tail.len() <= TAIL_BYTES);
    }
}
