//! A fake host for native tests of plugin code (feature `testing`).
//!
//! Plugin code calls the host for HTTP, the cache, logging, progress, the
//! timer and the wall clock. Under `cargo test` on the build machine those
//! calls go to the [`FakeHost`] installed on the test's thread:
//!
//! - HTTP is answered from a scripted table (method and URL → status, headers,
//!   body, or an HTTP error), or by a handler such as [`loopback`], which
//!   forwards to a real server on 127.0.0.1; every request sent is recorded;
//! - the cache is in memory, and its expiry follows the virtual clock;
//! - [`sleep`](crate::sleep) returns at once and moves a virtual clock on, and
//!   [`wall_clock_ms`](crate::wall_clock_ms) reads that clock;
//! - progress reports and log lines are captured.
//!
//! ```
//! use vetpay_sdk::prelude::*;
//! use vetpay_sdk::testing::{FakeHost, Reply, context};
//!
//! fn fetch(ctx: &Context) -> Result<u16, PluginError> {
//!     let base = ctx.require("base-url")?;
//!     vetpay_sdk::sleep(std::time::Duration::from_secs(5));
//!     Ok(http::Request::get(format!("{base}/ping")).send()?.status)
//! }
//!
//! let host = FakeHost::install();
//! host.reply(http::Method::Get, "https://psp.example/ping", Reply::status(204));
//! let ctx = context("DK", &[("base-url", "https://psp.example")]);
//! let before = host.now_ms();
//! assert_eq!(fetch(&ctx).unwrap(), 204);
//! assert_eq!(host.now_ms() - before, 5_000);
//! assert_eq!(host.sent()[0].url, "https://psp.example/ping");
//! ```

mod fake;
mod http;

pub use fake::{FakeHost, LogLine, ProgressReport};
pub use http::{Reply, SentRequest, loopback};

use crate::{CallContext, Context, Setting};

/// A call context in `market` with these organisation-level settings (and a
/// department `dept-1` without settings of its own).
pub fn context(market: &str, settings: &[(&str, &str)]) -> Context {
    Context::new(CallContext {
        market: market.to_owned(),
        organisation_id: "org-1".to_owned(),
        department_id: Some("dept-1".to_owned()),
        organisation_settings: settings
            .iter()
            .map(|(key, value)| Setting {
                key: (*key).to_owned(),
                value: (*value).to_owned(),
            })
            .collect(),
        department_settings: Vec::new(),
    })
}
