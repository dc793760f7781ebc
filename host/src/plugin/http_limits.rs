//! The limits on a plugin's outbound HTTP: configuration, shared by the HTTP
//! import and the per-call state without either importing the other.

use std::time::Duration;

/// Limits on outbound HTTP.
#[derive(Debug, Clone)]
pub struct HttpLimits {
    pub connect_timeout: Duration,
    /// Used when the plugin asks for no timeout.
    pub default_timeout: Duration,
    /// The most a plugin may ask for (Nets' blocking transaction call needs 300 s).
    pub max_timeout: Duration,
    pub max_response_bytes: u64,
    pub max_request_bytes: usize,
    pub max_redirects: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            default_timeout: Duration::from_secs(30),
            max_timeout: Duration::from_secs(330),
            max_response_bytes: 1024 * 1024,
            max_request_bytes: 1024 * 1024,
            max_redirects: 5,
        }
    }
}
