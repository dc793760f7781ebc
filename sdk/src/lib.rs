//! Write a vetpay payment-terminal plugin.
//!
//! A plugin is a crate of type `cdylib` built for `wasm32-wasip2`, with a
//! `plugin.toml` manifest beside its `Cargo.toml`. Implement [`Plugin`] (every
//! export has a default that answers `not-supported`):
//!
//! ```no_run
//! use vetpay_sdk::prelude::*;
//!
//! struct Acme;
//!
//! impl Plugin for Acme {
//!     fn charge_token(ctx: &Context, req: TokenCharge) -> Result<Outcome, PluginError> {
//!         let base = ctx.require("base-url")?;
//!         let reply = http::Request::post(format!("{base}/charges"))
//!             .bearer(ctx.secret("api-key"))
//!             .header("Idempotency-Key", &req.request_id)
//!             .json(&serde_json::json!({ "amount": req.amount.minor_units, "ref": req.request_id }))
//!             .send()?;
//!         // Name every answer the provider gives; a refusal it received is
//!         // `rejected`, never `not-sent`.
//!         match reply.status {
//!             200 => Ok(Outcome::Approved(Approval {
//!                 provider_reference: req.request_id.clone(),
//!                 amount: req.amount,
//!                 authorization_code: None,
//!                 card: None,
//!                 card_token: Some(req.card_token),
//!                 receipt: None,
//!             })),
//!             402 => Ok(Outcome::Declined(Decline {
//!                 code: Some("402".into()),
//!                 message: reply.text(),
//!                 provider_reference: None,
//!                 receipt: None,
//!             })),
//!             400..=499 => Err(PluginError::rejected(Some(reply.status.to_string()), reply.text())),
//!             other => Err(PluginError::other(format!("Acme answered HTTP {other}"))),
//!         }
//!     }
//! }
//! ```
//!
//! and export it with `vetpay_sdk::export_plugin!(Acme);` at the crate root.
//! The macro embeds `plugin.toml` as the `vetpay:manifest` custom section, so the
//! `.wasm` file is the whole plugin. Nothing of wit-bindgen shows.

pub mod cache;
mod context;
mod errors;
mod host;
pub mod http;
pub mod log;
pub mod money;
pub mod progress;
#[cfg(all(feature = "testing", not(target_arch = "wasm32")))]
pub mod testing;

/// The generated bindings. Not part of the API: `export_plugin!` needs a path
/// to them from the plugin's crate, so they are public only under this name;
/// what plugins use is re-exported below, by name.
#[doc(hidden)]
pub mod __private {
    wit_bindgen::generate!({
        world: "payment-terminal",
        // The WIT lives in this crate (`wit/`), so the packaged SDK carries the
        // contract it binds; the host binds the same files.
        path: "wit/since_v0.2.0",
        pub_export_macro: true,
        default_bindings_module: "vetpay_sdk::__private",
    });
}
use __private as bindings;

use std::marker::PhantomData;
use std::time::Duration;

pub use bindings::vetpay::terminal::types::{
    AbortRequest, Approval, CallContext, CardDetails, ConfigurationError, CurrencyTotals, Decline,
    Money, Outcome, PaymentRequest, PluginError, Receipt, ReconciledTransaction, Reconciliation,
    Refusal, SaveCardRequest, Setting, StatusQuery, Stopped, TerminalInfo, TerminalProblem,
    TokenCharge, TokenRefund, TransactionKind,
};
pub use context::Context;

/// Everything a plugin usually needs.
pub mod prelude {
    pub use crate::progress::Stage;
    pub use crate::{
        AbortRequest, Approval, CardDetails, Context, CurrencyTotals, Decline, Money, Outcome,
        PaymentRequest, Plugin, PluginError, Receipt, ReconciledTransaction, Reconciliation,
        SaveCardRequest, StatusQuery, Stopped, TerminalInfo, TerminalProblem, TokenCharge,
        TokenRefund, TransactionKind, cache, http, log, money, progress, sleep, wall_clock_ms,
    };
}

/// The exports of the contract. Each has a default that answers
/// `not-supported`; implement those your manifest lists in `capabilities`.
///
/// Plugins are stateless: every call runs in a fresh instance, so there is no
/// `self`. Keep what must outlive a call in the [`cache`].
pub trait Plugin {
    /// A card-present purchase, refund or deposit; may block until the terminal is done.
    fn process(ctx: &Context, request: PaymentRequest) -> Result<Outcome, PluginError> {
        let _ = (ctx, request);
        Err(PluginError::not_supported("process"))
    }
    /// Abort a running `process` or `save-card` (called from another instance).
    fn abort(ctx: &Context, request: AbortRequest) -> Result<(), PluginError> {
        let _ = (ctx, request);
        Err(PluginError::not_supported("abort"))
    }
    /// What happened to an earlier request. Never starts a new transaction.
    fn status(ctx: &Context, query: StatusQuery) -> Result<Outcome, PluginError> {
        let _ = (ctx, query);
        Err(PluginError::not_supported("status"))
    }
    /// Charge a saved card.
    fn charge_token(ctx: &Context, request: TokenCharge) -> Result<Outcome, PluginError> {
        let _ = (ctx, request);
        Err(PluginError::not_supported("charge-token"))
    }
    /// Refund to the card of an earlier transaction.
    fn refund_token(ctx: &Context, request: TokenRefund) -> Result<Outcome, PluginError> {
        let _ = (ctx, request);
        Err(PluginError::not_supported("refund-token"))
    }
    /// Take a card on a terminal to save it.
    fn save_card(ctx: &Context, request: SaveCardRequest) -> Result<Outcome, PluginError> {
        let _ = (ctx, request);
        Err(PluginError::not_supported("save-card"))
    }
    /// The terminals of the account.
    fn list_terminals(ctx: &Context) -> Result<Vec<TerminalInfo>, PluginError> {
        let _ = ctx;
        Err(PluginError::not_supported("list-terminals"))
    }
    /// End of Day on a terminal.
    fn reconcile(ctx: &Context, terminal_id: String) -> Result<Reconciliation, PluginError> {
        let _ = (ctx, terminal_id);
        Err(PluginError::not_supported("reconcile"))
    }
}

/// Adapts a [`Plugin`] to the generated bindings; used by [`export_plugin!`].
#[doc(hidden)]
pub struct Export<P>(PhantomData<P>);

impl<P: Plugin> __private::exports::vetpay::terminal::provider::Guest for Export<P> {
    fn process(ctx: CallContext, request: PaymentRequest) -> Result<Outcome, PluginError> {
        P::process(&Context::new(ctx), request)
    }
    fn abort(ctx: CallContext, request: AbortRequest) -> Result<(), PluginError> {
        P::abort(&Context::new(ctx), request)
    }
    fn status(ctx: CallContext, query: StatusQuery) -> Result<Outcome, PluginError> {
        P::status(&Context::new(ctx), query)
    }
    fn charge_token(ctx: CallContext, request: TokenCharge) -> Result<Outcome, PluginError> {
        P::charge_token(&Context::new(ctx), request)
    }
    fn refund_token(ctx: CallContext, request: TokenRefund) -> Result<Outcome, PluginError> {
        P::refund_token(&Context::new(ctx), request)
    }
    fn save_card(ctx: CallContext, request: SaveCardRequest) -> Result<Outcome, PluginError> {
        P::save_card(&Context::new(ctx), request)
    }
    fn list_terminals(ctx: CallContext) -> Result<Vec<TerminalInfo>, PluginError> {
        P::list_terminals(&Context::new(ctx))
    }
    fn reconcile(ctx: CallContext, terminal_id: String) -> Result<Reconciliation, PluginError> {
        P::reconcile(&Context::new(ctx), terminal_id)
    }
}

/// Now, in milliseconds since the Unix epoch (UTC), on the host's clock: the
/// clock `StatusQuery::sent_at_ms` is written by.
/// In a native test it is the fake host's virtual clock, which
/// [`sleep`] moves on.
pub fn wall_clock_ms() -> u64 {
    host::wall_clock_ms()
}

/// Sleeps without spinning; counts against the call's deadline.
pub fn sleep(duration: Duration) {
    let ms = u32::try_from(duration.as_millis()).unwrap_or(u32::MAX);
    host::sleep(ms);
}

/// Exports a [`Plugin`] and embeds the crate's `plugin.toml` as its manifest.
#[macro_export]
macro_rules! export_plugin {
    ($plugin:ty) => {
        // The exports exist only in the component: built for the host (as in
        // `cargo build --workspace`) the crate would otherwise export the
        // canonical-ABI symbols and fail to link.
        #[doc(hidden)]
        #[cfg(target_arch = "wasm32")]
        type __VetpayPluginExport = $crate::Export<$plugin>;
        #[cfg(target_arch = "wasm32")]
        $crate::__private::export!(__VetpayPluginExport with_types_in $crate::__private);
        // Keeps the plugin type used on the host, where nothing exports it.
        #[cfg(not(target_arch = "wasm32"))]
        const _: fn() = || {
            let _ = ::core::marker::PhantomData::<$crate::Export<$plugin>>;
        };

        #[doc(hidden)]
        #[used]
        #[cfg_attr(target_arch = "wasm32", unsafe(link_section = "vetpay:manifest"))]
        static __VETPAY_MANIFEST: [u8; include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/plugin.toml")).len()] =
            *include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/plugin.toml"));
    };
}
