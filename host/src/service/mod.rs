//! The clinic's payment service: what the API asks for, checked against the
//! books and carried out through the plugins. Store rules (due sums, busy
//! terminals, idempotency) live in the store's transactions; this layer picks
//! the plugin, builds its call, runs card attempts in the background and
//! recovers the ones whose outcome is unknown.

mod billing;
mod day_close;
mod events;
mod recovery;
mod registry;
mod relay;
mod runner;
mod terminals;

use std::sync::Arc;

pub use billing::BillingConfig;
pub use events::{EventHub, PaymentEvent};
pub use recovery::RecoveryConfig;
pub use registry::PluginRegistry;
pub use terminals::ListedTerminal;

use crate::plugin::types::{Outcome, Reconciliation, SaveCardRequest};
use crate::plugin::{CallEnv, CallError, Capability, ProgressSink, Provider, Runtime};
use crate::store::now_ms;
use crate::store::{
    Card, Conflict, Department, Idempotency, Method, NewCard, NewPayment, Payment, PaymentKind,
    PaymentStatus, Started, Store, StoreError, Terminal,
};
pub use day_close::{Closed, DayCloseReport};
// The ids the service speaks, for its callers.
pub use vetpay_domain::{
    CardId, ClientId, DepartmentId, InvoiceId, OrganisationId, PaymentId, TerminalId,
};

/// Why a service call failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    NotFound(String),
    /// The plugin cannot run on this host right now.
    #[error("{0}")]
    Unavailable(String),
    /// The plugin or provider refused or failed.
    #[error(transparent)]
    Plugin(#[from] CallError),
    /// The provider answered, but not with what was asked (a decline, a cancel).
    #[error("{0}")]
    NotDone(String),
}

fn invalid(field: &str, message: impl Into<String>) -> ServiceError {
    ServiceError::Store(StoreError::Invalid {
        field: field.to_owned(),
        message: message.into(),
    })
}

fn conflict(c: Conflict) -> ServiceError {
    ServiceError::Store(StoreError::Conflict(c))
}

/// What the API asks to pay, deposit or refund.
#[derive(Debug, Clone, Default)]
pub struct PaymentOrder {
    pub invoice_id: Option<InvoiceId>,
    pub client_id: Option<ClientId>,
    pub department_id: Option<DepartmentId>,
    pub method: Option<Method>,
    pub amount: i64,
    pub excess_as_deposit: bool,
    pub terminal_id: Option<TerminalId>,
    pub card_id: Option<CardId>,
    pub original_payment_id: Option<PaymentId>,
    /// The invoice's head (no lines), when the caller has read it already
    /// (the API does, to answer 404 before anything else): not read again.
    pub invoice: Option<crate::store::Invoice>,
}

/// Settings of the service beyond the runtime's.
#[derive(Debug, Clone)]
pub struct ClinicConfig {
    pub recovery: RecoveryConfig,
    pub billing: BillingConfig,
    /// This host's name in attempt leases. Keep it across restarts (and unique
    /// among the hosts of one database) so that a restarted host takes back its
    /// own orphans at once; a random one is taken by default.
    pub host_id: String,
}

impl Default for ClinicConfig {
    fn default() -> Self {
        Self {
            recovery: RecoveryConfig::default(),
            billing: BillingConfig::default(),
            host_id: format!("host-{}", uuid::Uuid::new_v4().simple()),
        }
    }
}

struct Inner {
    store: Store,
    runtime: Runtime,
    plugins: PluginRegistry,
    events: EventHub,
    config: ClinicConfig,
    /// When this host started (Unix ms): what was running before is an orphan.
    started_at: i64,
}

/// The service; cheap to clone.
#[derive(Clone)]
pub struct Clinic {
    inner: Arc<Inner>,
}

impl Clinic {
    pub fn new(store: Store, runtime: Runtime, config: ClinicConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                runtime,
                plugins: PluginRegistry::default(),
                events: EventHub::default(),
                config,
                started_at: now_ms(),
            }),
        }
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn runtime(&self) -> &Runtime {
        &self.inner.runtime
    }

    pub fn events(&self) -> &EventHub {
        &self.inner.events
    }

    pub fn plugins(&self) -> &PluginRegistry {
        &self.inner.plugins
    }

    pub async fn plugin(&self, organisation_id: &str, id: &str) -> Result<Provider, ServiceError> {
        self.inner
            .plugins
            .get(&self.inner.store, &self.inner.runtime, organisation_id, id)
            .await
    }

    async fn department(
        &self,
        organisation_id: &str,
        id: &str,
    ) -> Result<Department, ServiceError> {
        self.store()
            .department(organisation_id, id)
            .await?
            .ok_or_else(|| {
                invalid(
                    "department_id",
                    "no department with this id in your organisation",
                )
            })
    }

    /// A plugin usable in `department` for `capability`: installed, enabled
    /// for the department's market, and declaring the capability.
    pub async fn usable_plugin(
        &self,
        organisation_id: &str,
        plugin_id: &str,
        department: &Department,
        capability: Capability,
    ) -> Result<Provider, ServiceError> {
        // Enabled for the market (so installed) and its code, in one query.
        let Some(sha) = self
            .store()
            .plugin_sha256_in_market(organisation_id, plugin_id, &department.country)
            .await?
        else {
            return Err(conflict(Conflict::PluginNotEnabled {
                plugin_id: plugin_id.to_owned(),
                market: department.country.clone(),
                department: department.name.clone(),
            }));
        };
        let plugin = self
            .inner
            .plugins
            .get_by_hash(
                &self.inner.store,
                &self.inner.runtime,
                organisation_id,
                plugin_id,
                &sha,
            )
            .await?;
        if !plugin.manifest().supports(capability) {
            return Err(conflict(Conflict::PluginCannot {
                plugin_id: plugin_id.to_owned(),
                export: capability.export_name(),
            }));
        }
        if !plugin
            .manifest()
            .currencies
            .iter()
            .any(|c| c.code() == department.currency)
        {
            return Err(conflict(Conflict::PluginCurrency {
                plugin_id: plugin_id.to_owned(),
                currency: department.currency.clone(),
                department: department.name.clone(),
            }));
        }
        Ok(plugin)
    }

    /// The call environment of a plugin in a department.
    pub async fn call_env(
        &self,
        organisation_id: &str,
        plugin: &Provider,
        department: &Department,
        progress: Option<ProgressSink>,
    ) -> Result<CallEnv, ServiceError> {
        // Which settings are secret comes from the loaded code's manifest
        // (the same file as the stored one): no read and parse per call.
        let setup = self
            .store()
            .plugin_setup(organisation_id, plugin.manifest(), &department.id)
            .await?;
        Ok(CallEnv {
            market: department.country.clone(),
            organisation_id: organisation_id.to_owned(),
            department_id: Some(department.id.clone()),
            organisation_settings: setup.organisation_settings,
            department_settings: setup.department_settings,
            extra_allowed_hosts: setup.extra_allowed_hosts,
            progress,
            first_send: None,
        })
    }

    async fn terminal(&self, organisation_id: &str, id: &str) -> Result<Terminal, ServiceError> {
        self.store()
            .terminal(organisation_id, id)
            .await?
            .ok_or_else(|| {
                invalid(
                    "terminal_id",
                    "no terminal with this id in your organisation",
                )
            })
    }

    /// Starts a payment, deposit or refund. Plugin attempts are written, then
    /// run in the background; manual methods are settled at once.
    pub async fn start_payment(
        &self,
        organisation_id: &OrganisationId,
        kind: PaymentKind,
        mut order: PaymentOrder,
        idem: Option<&Idempotency>,
    ) -> Result<Started, ServiceError> {
        let store = self.store();
        // Who pays, where, in which currency; and the original of a refund.
        let (department_id, client_id, currency, original) = match kind {
            PaymentKind::Payment => {
                let id = order.invoice_id.as_deref().unwrap_or_default();
                let read = match order.invoice.take() {
                    Some(head) if head.id == id => Some(head),
                    _ => store.invoice_head(organisation_id, id).await?,
                };
                let invoice = read.ok_or_else(|| {
                    ServiceError::NotFound("no invoice with this id in your organisation".into())
                })?;
                (
                    invoice.department_id,
                    invoice.client_id,
                    invoice.currency.code().to_owned(),
                    None,
                )
            }
            PaymentKind::Deposit => {
                let client = order.client_id.as_deref().unwrap_or_default().to_owned();
                if store.client(organisation_id, &client).await?.is_none() {
                    return Err(ServiceError::NotFound(
                        "no client with this id in your organisation".into(),
                    ));
                }
                let department = match (&order.department_id, &order.terminal_id) {
                    (Some(d), _) => d.to_string(),
                    (None, Some(t)) => self.terminal(organisation_id, t).await?.department_id,
                    (None, None) => {
                        return Err(invalid(
                            "department_id",
                            "say which department takes the deposit (or give a terminal_id)",
                        ));
                    }
                };
                let dept = self.department(organisation_id, &department).await?;
                (dept.id, client, dept.currency, None)
            }
            PaymentKind::Refund => {
                let id = order.original_payment_id.as_deref().unwrap_or_default();
                let original = store.payment(organisation_id, id).await?.ok_or_else(|| {
                    ServiceError::NotFound("no payment with this id in your organisation".into())
                })?;
                (
                    original.department_id.clone(),
                    original.client_id.clone(),
                    original.currency.code().to_owned(),
                    Some(original),
                )
            }
        };
        let department = self.department(organisation_id, &department_id).await?;
        let method = self.choose_method(kind, &order, original.as_ref())?;
        let mut plugin_id = None;
        // What the attempt's run will need, read here already.
        let mut ready: Option<(Provider, Option<String>)> = None;
        match method {
            Method::Card => {
                let terminal_id = order.terminal_id.as_deref().ok_or_else(|| {
                    invalid("terminal_id", "a card payment needs the terminal to run on")
                })?;
                let terminal = self.terminal(organisation_id, terminal_id).await?;
                if terminal.department_id != department.id {
                    return Err(invalid(
                        "terminal_id",
                        format!(
                            "the terminal belongs to another department; use one of department '{}'",
                            department.name
                        ),
                    ));
                }
                let plugin = self
                    .usable_plugin(
                        organisation_id,
                        &terminal.plugin_id,
                        &department,
                        Capability::Process,
                    )
                    .await?;
                ready = Some((plugin, Some(terminal.provider_terminal_id)));
                plugin_id = Some(terminal.plugin_id);
            }
            Method::SavedCard => {
                let capability = if kind == PaymentKind::Refund {
                    Capability::RefundToken
                } else {
                    Capability::ChargeToken
                };
                let card_plugin = match (&original, &order.card_id) {
                    (Some(o), _) => o.plugin_id.clone().unwrap_or_default(),
                    (None, Some(card)) => {
                        self.store()
                            .card(organisation_id, &client_id, card)
                            .await?
                            .ok_or_else(|| {
                                invalid("card_id", "the client has no saved card with this id")
                            })?
                            .plugin_id
                    }
                    (None, None) => {
                        return Err(invalid("card_id", "say which saved card to charge"));
                    }
                };
                let plugin = self
                    .usable_plugin(organisation_id, &card_plugin, &department, capability)
                    .await?;
                ready = Some((plugin, None));
                plugin_id = Some(card_plugin);
            }
            _ => {}
        }
        let new = NewPayment {
            department_id: department.id.clone(),
            client_id,
            invoice_id: match &original {
                Some(o) => o.invoice_id.clone(),
                None => order.invoice_id.as_ref().map(ToString::to_string),
            },
            kind,
            method,
            amount: order.amount,
            currency,
            excess_as_deposit: order.excess_as_deposit && kind == PaymentKind::Payment,
            terminal_id: (method == Method::Card)
                .then(|| order.terminal_id.as_ref().map(ToString::to_string))
                .flatten(),
            card_id: if method == Method::SavedCard && original.is_none() {
                order.card_id.as_ref().map(ToString::to_string)
            } else {
                original.as_ref().and_then(|o| o.card_id.clone())
            },
            plugin_id,
            original_payment_id: original.as_ref().map(|o| o.id.clone()),
            // The running host renews the lease while the call is alive; if
            // the host dies, any host's recovery takes over when it lapses.
            check_after_ms: self.inner.config.recovery.attempt_lease.as_millis() as i64,
            lease_owner: Some(self.inner.config.host_id.clone()),
        };
        let started = self
            .store()
            .start_payment(organisation_id, idem, new)
            .await?;
        if let Started::Fresh(p) = &started
            && p.method.through_plugin()
            && p.status == PaymentStatus::Processing
        {
            let clinic = self.clone();
            let payment = (**p).clone();
            let ready = ready.map(|(plugin, provider_terminal_id)| runner::Ready {
                plugin,
                department,
                provider_terminal_id,
            });
            tokio::spawn(async move { clinic.run_attempt(payment, ready).await });
        }
        Ok(started)
    }

    /// How a payment is made, or for a refund how the money goes back.
    fn choose_method(
        &self,
        kind: PaymentKind,
        order: &PaymentOrder,
        original: Option<&Payment>,
    ) -> Result<Method, ServiceError> {
        if let Some(original) = original {
            return refund_method(original.method, order);
        }
        let method = order.method.ok_or_else(|| {
            invalid(
                "method",
                "say how the client pays: card, saved_card, cash, bank_transfer, client_credit or other",
            )
        })?;
        if kind == PaymentKind::Deposit && method == Method::ClientCredit {
            return Err(invalid(
                "method",
                "a deposit cannot be paid from client credit",
            ));
        }
        Ok(method)
    }

    /// Asks the provider to abort a running card payment. The final state
    /// still comes from the provider (an approval that won the race stands).
    pub async fn abort_payment(
        &self,
        organisation_id: &OrganisationId,
        id: &PaymentId,
    ) -> Result<Payment, ServiceError> {
        let payment = self
            .store()
            .payment(organisation_id, id)
            .await?
            .ok_or_else(|| {
                ServiceError::NotFound("no payment with this id in your organisation".into())
            })?;
        if payment.terminal_id.is_none() || payment.plugin_id.is_none() {
            return Err(conflict(Conflict::NotAbortable { status: None }));
        }
        if !self.store().request_abort(organisation_id, id).await? {
            return Err(conflict(Conflict::NotAbortable {
                status: Some(payment.status),
            }));
        }
        // No live call will carry the abort out if the attempt's host is gone
        // (its lease lapsed) or recovery holds it: this host does, now.
        let orphan = payment.status == PaymentStatus::Processing
            && payment.lease_owner.is_some()
            && payment.next_check_at.is_some_and(|t| t <= now_ms());
        if orphan || payment.status == PaymentStatus::Unknown {
            if !(orphan && payment.sent_at.is_none() && self.settle_if_unsent(id, true).await) {
                self.abort_on_provider(&payment).await;
            }
        } else {
            self.deliver_abort(&payment).await?;
            self.keep_aborting(&payment);
        }
        Ok(self
            .store()
            .payment(organisation_id, id)
            .await?
            .unwrap_or(payment))
    }

    /// Saves the card a client presents on a terminal.
    pub async fn save_card(
        &self,
        organisation_id: &OrganisationId,
        client_id: &ClientId,
        terminal_id: &TerminalId,
    ) -> Result<Card, ServiceError> {
        let terminal = self.terminal(organisation_id, terminal_id).await?;
        let department = self
            .department(organisation_id, &terminal.department_id)
            .await?;
        let plugin = self
            .usable_plugin(
                organisation_id,
                &terminal.plugin_id,
                &department,
                Capability::SaveCard,
            )
            .await?;
        let env = self
            .call_env(organisation_id, &plugin, &department, None)
            .await?;
        let outcome = plugin
            .save_card(
                &env,
                SaveCardRequest {
                    request_id: crate::store::new_id(),
                    terminal_id: terminal.provider_terminal_id.clone(),
                    currency: department.currency.clone(),
                },
            )
            .await?;
        let approval = match outcome {
            Outcome::Approved(a) => a,
            other => {
                return Err(ServiceError::NotDone(format!(
                    "the card was not saved: {}",
                    runner::describe(&other)
                )));
            }
        };
        let (Some(token), Some(card)) = (approval.card_token, approval.card) else {
            return Err(ServiceError::NotDone(
                "the provider approved but returned no card token; the card was not saved".into(),
            ));
        };
        Ok(self
            .store()
            .add_card(
                organisation_id,
                client_id,
                NewCard {
                    department_id: department.id,
                    plugin_id: terminal.plugin_id,
                    token,
                    masked_pan: card.masked_pan,
                    brand: card.brand,
                    expiry: card.expiry,
                },
            )
            .await?)
    }

    /// Runs End of Day on a terminal and records the report.
    pub async fn reconcile(
        &self,
        organisation_id: &OrganisationId,
        terminal_id: &TerminalId,
    ) -> Result<Reconciliation, ServiceError> {
        // The terminal is the resource of the route: unknown is a 404.
        let terminal = self
            .store()
            .terminal(organisation_id, terminal_id)
            .await?
            .ok_or_else(|| {
                ServiceError::NotFound("no terminal with this id in your organisation".into())
            })?;
        let department = self
            .department(organisation_id, &terminal.department_id)
            .await?;
        let plugin = self
            .usable_plugin(
                organisation_id,
                &terminal.plugin_id,
                &department,
                Capability::Reconcile,
            )
            .await?;
        let env = self
            .call_env(organisation_id, &plugin, &department, None)
            .await?;
        let report = plugin
            .reconcile(&env, &terminal.provider_terminal_id)
            .await?;
        self.store()
            .record_reconciliation(organisation_id, &terminal.id, &report.report)
            .await?;
        Ok(report)
    }

    /// Starts the background job that resolves unknown attempts.
    pub fn start_recovery(&self) -> tokio::task::JoinHandle<()> {
        let clinic = self.clone();
        tokio::spawn(async move { clinic.recovery_loop().await })
    }

    /// Starts the scheduled billing of health plans, if configured.
    pub fn start_billing_schedule(&self) -> Option<tokio::task::JoinHandle<()>> {
        let every = self.inner.config.billing.every?;
        let clinic = self.clone();
        Some(tokio::spawn(
            async move { clinic.billing_schedule(every).await },
        ))
    }
}

/// Money goes back the way it came: a card payment on a terminal or to its
/// card, a manual payment by the same method. Anything else could pay a refund
/// to a card that never paid, or in cash for a card payment.
fn refund_method(paid_by: Method, order: &PaymentOrder) -> Result<Method, ServiceError> {
    match paid_by {
        Method::Card | Method::SavedCard => match (order.terminal_id.is_some(), order.method) {
            (true, None | Some(Method::Card)) => Ok(Method::Card),
            (false, None | Some(Method::SavedCard)) => Ok(Method::SavedCard),
            (false, Some(Method::Card)) => Err(invalid(
                "terminal_id",
                "a refund on a terminal needs the terminal's id; leave both out to refund to the card",
            )),
            (_, Some(other)) => Err(invalid(
                "method",
                format!(
                    "a card payment is refunded on a terminal (terminal_id) or to its card, not by {}",
                    other.as_str()
                ),
            )),
        },
        Method::ClientCredit => Err(invalid(
            "payment",
            "a payment from client credit is undone with a credit note, not a refund",
        )),
        manual => {
            if order.terminal_id.is_some() {
                return Err(invalid(
                    "terminal_id",
                    format!(
                        "a {} payment is refunded by {} too, never to a card; leave terminal_id out",
                        manual.as_str(),
                        manual.as_str()
                    ),
                ));
            }
            match order.method {
                None => Ok(manual),
                Some(m) if m == manual => Ok(manual),
                Some(other) => Err(invalid(
                    "method",
                    format!(
                        "a {} payment is refunded by {}, not by {}",
                        manual.as_str(),
                        manual.as_str(),
                        other.as_str()
                    ),
                )),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(terminal: bool, method: Option<Method>) -> PaymentOrder {
        PaymentOrder {
            terminal_id: terminal.then(|| "t".into()),
            method,
            ..PaymentOrder::default()
        }
    }

    #[test]
    fn refunds_go_back_the_way_the_money_came() {
        use Method::*;
        for card in [Card, SavedCard] {
            assert_eq!(refund_method(card, &order(true, None)).unwrap(), Card);
            assert_eq!(refund_method(card, &order(true, Some(Card))).unwrap(), Card);
            assert_eq!(refund_method(card, &order(false, None)).unwrap(), SavedCard);
            for wrong in [Cash, BankTransfer, Other, ClientCredit] {
                assert!(refund_method(card, &order(false, Some(wrong))).is_err());
                assert!(refund_method(card, &order(true, Some(wrong))).is_err());
            }
            assert!(refund_method(card, &order(false, Some(Card))).is_err());
        }
        for manual in [Cash, BankTransfer, Other] {
            assert_eq!(refund_method(manual, &order(false, None)).unwrap(), manual);
            assert_eq!(
                refund_method(manual, &order(false, Some(manual))).unwrap(),
                manual
            );
            assert!(refund_method(manual, &order(true, None)).is_err());
            for wrong in [Card, SavedCard, ClientCredit] {
                assert!(refund_method(manual, &order(false, Some(wrong))).is_err());
            }
        }
        assert!(refund_method(Cash, &order(false, Some(BankTransfer))).is_err());
        assert!(refund_method(ClientCredit, &order(false, None)).is_err());
    }
}
