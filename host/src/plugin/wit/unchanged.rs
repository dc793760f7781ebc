//! What every contract version since 0.1.0 shares, generated into each
//! version's module over that version's own bindings: the export calls, the
//! host imports that did not change (`log`, `progress`, `cache`, `timer`), and
//! the conversions of the types that did not change. A version that changes
//! one of these writes its own and stops using this macro's copy of it (split
//! the macro then), so frozen versions never change behaviour.

macro_rules! unchanged_since_v0_1_0 {
    () => {
        pub use super::Answer;

        /// Calls one export. Only this export is type-checked per call (the load
        /// checked them all once); checking all eight cost a tenth of a call.
        async fn call<P, R>(
            instance: &Instance,
            index: &ComponentExportIndex,
            store: &mut WasmStore<CallState>,
            params: P,
        ) -> wasmtime::Result<R>
        where
            P: ComponentNamedList + Lower + Send + Sync,
            (R,): ComponentNamedList + Lift + Send + Sync,
            R: Send + Sync + 'static,
        {
            let func = instance.get_typed_func::<P, (R,)>(&mut *store, index)?;
            Ok(func.call_async(&mut *store, params).await?.0)
        }

        fn back<W, H: From<W>>(r: Result<W, types::PluginError>) -> Result<H, host::PluginError> {
            r.map(H::from).map_err(host::PluginError::from)
        }

        /// Calls one export of this version with host-typed arguments.
        pub struct Exports<'a> {
            pub instance: &'a Instance,
            pub index: &'a ComponentExportIndex,
            pub store: &'a mut WasmStore<CallState>,
            pub ctx: &'a host::CallContext,
        }

        impl Exports<'_> {
            fn ctx(&self) -> types::CallContext {
                self.ctx.into()
            }

            pub async fn process(self, r: &host::PaymentRequest) -> Answer<host::Outcome> {
                let ctx = self.ctx();
                let a: Result<types::Outcome, types::PluginError> = call(
                    self.instance,
                    self.index,
                    self.store,
                    (&ctx, &types::PaymentRequest::from(r)),
                )
                .await?;
                Ok(back(a))
            }

            pub async fn abort(self, r: &host::AbortRequest) -> Answer<()> {
                let ctx = self.ctx();
                let a: Result<(), types::PluginError> = call(
                    self.instance,
                    self.index,
                    self.store,
                    (&ctx, &types::AbortRequest::from(r)),
                )
                .await?;
                Ok(a.map_err(host::PluginError::from))
            }

            pub async fn status(self, q: &host::StatusQuery) -> Answer<host::Outcome> {
                let ctx = self.ctx();
                let a: Result<types::Outcome, types::PluginError> = call(
                    self.instance,
                    self.index,
                    self.store,
                    (&ctx, &types::StatusQuery::from(q)),
                )
                .await?;
                Ok(back(a))
            }

            pub async fn charge_token(self, r: &host::TokenCharge) -> Answer<host::Outcome> {
                let ctx = self.ctx();
                let a: Result<types::Outcome, types::PluginError> = call(
                    self.instance,
                    self.index,
                    self.store,
                    (&ctx, &types::TokenCharge::from(r)),
                )
                .await?;
                Ok(back(a))
            }

            pub async fn refund_token(self, r: &host::TokenRefund) -> Answer<host::Outcome> {
                let ctx = self.ctx();
                let a: Result<types::Outcome, types::PluginError> = call(
                    self.instance,
                    self.index,
                    self.store,
                    (&ctx, &types::TokenRefund::from(r)),
                )
                .await?;
                Ok(back(a))
            }

            pub async fn save_card(self, r: &host::SaveCardRequest) -> Answer<host::Outcome> {
                let ctx = self.ctx();
                let a: Result<types::Outcome, types::PluginError> = call(
                    self.instance,
                    self.index,
                    self.store,
                    (&ctx, &types::SaveCardRequest::from(r)),
                )
                .await?;
                Ok(back(a))
            }

            pub async fn list_terminals(self) -> Answer<Vec<host::TerminalInfo>> {
                let ctx = self.ctx();
                let a: Result<Vec<types::TerminalInfo>, types::PluginError> =
                    call(self.instance, self.index, self.store, (&ctx,)).await?;
                Ok(a.map(|l| l.into_iter().map(Into::into).collect())
                    .map_err(host::PluginError::from))
            }

            pub async fn reconcile(self, terminal_id: &str) -> Answer<host::Reconciliation> {
                let ctx = self.ctx();
                let a: Result<types::Reconciliation, types::PluginError> =
                    call(self.instance, self.index, self.store, (&ctx, terminal_id)).await?;
                Ok(back(a))
            }
        }

        // ---- the host imports of this version, delegating to the version-free host side

        impl types::Host for CallState {}

        impl log::Host for CallState {
            fn log(&mut self, level: log::Level, message: String) {
                let level = match level {
                    log::Level::Trace => tracing::Level::TRACE,
                    log::Level::Debug => tracing::Level::DEBUG,
                    log::Level::Info => tracing::Level::INFO,
                    log::Level::Warn => tracing::Level::WARN,
                    log::Level::Error => tracing::Level::ERROR,
                };
                self.log_line(level, message);
            }
        }

        impl progress::Host for CallState {
            fn report(&mut self, stage: progress::Stage, message: Option<String>) {
                self.report_progress(stage.into(), message);
            }
        }

        impl cache::Host for CallState {
            async fn get(&mut self, key: String) -> Option<Vec<u8>> {
                self.cache_get(key).await
            }

            async fn set(&mut self, key: String, value: Vec<u8>, ttl_ms: u32) {
                self.cache_set(key, value, ttl_ms).await
            }

            async fn delete(&mut self, key: String) {
                self.cache_delete(key).await
            }
        }

        impl timer::Host for CallState {
            async fn sleep(&mut self, ms: u32) {
                self.sleep_ms(ms).await
            }
        }

        // ---- host → this version

        impl From<&host::Money> for types::Money {
            fn from(m: &host::Money) -> Self {
                Self {
                    minor_units: m.minor_units,
                    currency: m.currency.clone(),
                }
            }
        }

        impl From<&host::Setting> for types::Setting {
            fn from(s: &host::Setting) -> Self {
                Self {
                    key: s.key.clone(),
                    value: s.value.clone(),
                }
            }
        }

        impl From<&host::CallContext> for types::CallContext {
            fn from(c: &host::CallContext) -> Self {
                Self {
                    market: c.market.clone(),
                    organisation_id: c.organisation_id.clone(),
                    department_id: c.department_id.clone(),
                    organisation_settings: c.organisation_settings.iter().map(Into::into).collect(),
                    department_settings: c.department_settings.iter().map(Into::into).collect(),
                }
            }
        }

        impl From<host::TransactionKind> for types::TransactionKind {
            fn from(k: host::TransactionKind) -> Self {
                match k {
                    host::TransactionKind::Purchase => Self::Purchase,
                    host::TransactionKind::Refund => Self::Refund,
                    host::TransactionKind::Deposit => Self::Deposit,
                }
            }
        }

        impl From<&host::PaymentRequest> for types::PaymentRequest {
            fn from(r: &host::PaymentRequest) -> Self {
                Self {
                    request_id: r.request_id.clone(),
                    kind: r.kind.into(),
                    amount: (&r.amount).into(),
                    terminal_id: r.terminal_id.clone(),
                    original_reference: r.original_reference.clone(),
                    description: r.description.clone(),
                }
            }
        }

        impl From<&host::TokenCharge> for types::TokenCharge {
            fn from(r: &host::TokenCharge) -> Self {
                Self {
                    request_id: r.request_id.clone(),
                    card_token: r.card_token.clone(),
                    amount: (&r.amount).into(),
                    description: r.description.clone(),
                }
            }
        }

        impl From<&host::TokenRefund> for types::TokenRefund {
            fn from(r: &host::TokenRefund) -> Self {
                Self {
                    request_id: r.request_id.clone(),
                    original_reference: r.original_reference.clone(),
                    card_token: r.card_token.clone(),
                    amount: (&r.amount).into(),
                    description: r.description.clone(),
                }
            }
        }

        impl From<&host::SaveCardRequest> for types::SaveCardRequest {
            fn from(r: &host::SaveCardRequest) -> Self {
                Self {
                    request_id: r.request_id.clone(),
                    terminal_id: r.terminal_id.clone(),
                    currency: r.currency.clone(),
                }
            }
        }

        impl From<&host::AbortRequest> for types::AbortRequest {
            fn from(r: &host::AbortRequest) -> Self {
                Self {
                    request_id: r.request_id.clone(),
                    terminal_id: r.terminal_id.clone(),
                }
            }
        }

        // ---- this version → host

        impl From<types::Money> for host::Money {
            fn from(m: types::Money) -> Self {
                Self {
                    minor_units: m.minor_units,
                    currency: m.currency,
                }
            }
        }

        impl From<types::CardDetails> for host::CardDetails {
            fn from(c: types::CardDetails) -> Self {
                Self {
                    masked_pan: c.masked_pan,
                    brand: c.brand,
                    expiry: c.expiry,
                    entry_method: c.entry_method,
                }
            }
        }

        impl From<types::Receipt> for host::Receipt {
            fn from(r: types::Receipt) -> Self {
                Self {
                    customer: r.customer,
                    merchant: r.merchant,
                }
            }
        }

        impl From<types::Stopped> for host::Stopped {
            fn from(s: types::Stopped) -> Self {
                Self {
                    message: s.message,
                    provider_reference: s.provider_reference,
                }
            }
        }

        impl From<types::TerminalInfo> for host::TerminalInfo {
            fn from(t: types::TerminalInfo) -> Self {
                Self {
                    id: t.id,
                    model: t.model,
                    name: t.name,
                    supported: t.supported,
                    note: t.note,
                }
            }
        }

        impl From<progress::Stage> for host::Stage {
            fn from(s: progress::Stage) -> Self {
                match s {
                    progress::Stage::Connecting => Self::Connecting,
                    progress::Stage::WaitingForCard => Self::WaitingForCard,
                    progress::Stage::WaitingForPin => Self::WaitingForPin,
                    progress::Stage::Processing => Self::Processing,
                    progress::Stage::WaitingForResult => Self::WaitingForResult,
                    progress::Stage::Cancelling => Self::Cancelling,
                    progress::Stage::Other(m) => Self::Other(m),
                }
            }
        }

        impl From<types::Approval> for host::Approval {
            fn from(a: types::Approval) -> Self {
                Self {
                    provider_reference: a.provider_reference,
                    amount: a.amount.into(),
                    authorization_code: a.authorization_code,
                    card: a.card.map(Into::into),
                    card_token: a.card_token,
                    receipt: a.receipt.map(Into::into),
                }
            }
        }

        impl From<types::Decline> for host::Decline {
            fn from(d: types::Decline) -> Self {
                Self {
                    code: d.code,
                    message: d.message,
                    provider_reference: d.provider_reference,
                    receipt: d.receipt.map(Into::into),
                }
            }
        }

        impl From<types::ConfigurationError> for host::ConfigurationError {
            fn from(c: types::ConfigurationError) -> Self {
                Self {
                    setting: c.setting,
                    message: c.message,
                }
            }
        }

        impl From<types::TerminalProblem> for host::TerminalProblem {
            fn from(t: types::TerminalProblem) -> Self {
                match t {
                    types::TerminalProblem::Busy => Self::Busy,
                    types::TerminalProblem::Offline => Self::Offline,
                    types::TerminalProblem::NotFound => Self::NotFound,
                    types::TerminalProblem::NeedsReconciliation => Self::NeedsReconciliation,
                    types::TerminalProblem::UnsupportedModel(m) => Self::UnsupportedModel(m),
                }
            }
        }
    };
}
