//! The health-plan billing run: issues the month's invoices and charges saved
//! cards through their plugin, in leased batches. Safe to repeat, to restart
//! after a crash and to run on several hosts at once (see store/billing.rs):
//! a month's payment row exists before its card is charged, and a row found
//! mid-charge is asked about (`status`), never charged again.

use std::collections::HashMap;
use std::time::Duration;

use futures::future::join_all;
use serde_json::Value;

use super::runner::{settlement_of, settlement_of_error};
use super::{Clinic, ServiceError};
use crate::plugin::types::{Money, Outcome, TokenCharge};
use crate::plugin::{CallEnv, Capability, Provider};
use crate::store::now_ms;
use crate::store::{
    BillingRun, ClaimedPeriod, PaymentOption, PaymentStatus, Period, PeriodOutcome, Settlement,
    SubscriptionStatus,
};
use vetpay_domain::OrganisationId;

#[derive(Debug, Clone)]
pub struct BillingConfig {
    /// Months claimed per batch; each batch's charges run at once.
    pub batch: i64,
    /// Batches in flight at once.
    pub workers: usize,
    /// How often the scheduler runs the current month's billing; `None` never.
    pub every: Option<Duration>,
    /// How long a claimed month stays with a run. By default longer than any
    /// charge and status query can take; a run restarted after a crash finds
    /// the months the crashed run held once this has passed.
    pub lease: Option<Duration>,
}

impl Default for BillingConfig {
    fn default() -> Self {
        Self {
            batch: 64,
            workers: 4,
            every: Some(Duration::from_secs(3600)),
            lease: None,
        }
    }
}

/// A plugin ready to charge cards in a department, or why it cannot.
type Charger = Result<(Provider, CallEnv), String>;

/// What a worker needs from the organisation, loaded once per run.
struct RunContext {
    organisation_id: String,
    suspend_after: i64,
    retry_after_ms: i64,
    /// Per (plugin, department): the plugin and its call environment, or why
    /// its cards cannot be charged there.
    chargers: tokio::sync::Mutex<HashMap<(String, String), Charger>>,
}

impl Clinic {
    /// Whether the organisation has the health-plan add-on switched on.
    pub async fn health_plans_enabled(
        &self,
        organisation_id: &OrganisationId,
    ) -> Result<bool, ServiceError> {
        Ok(self
            .store()
            .setting(organisation_id, None, "health-plans-enabled")
            .await?
            == Value::Bool(true))
    }

    /// Starts a billing run for `period` in the background; its progress is
    /// readable at once.
    pub async fn start_billing(
        &self,
        organisation_id: &OrganisationId,
        period: Period,
    ) -> Result<BillingRun, ServiceError> {
        let run = self
            .store()
            .start_billing_run(organisation_id, period)
            .await?;
        let clinic = self.clone();
        let (org, started) = (organisation_id.to_owned(), run.clone());
        tokio::spawn(async move {
            if let Err(e) = clinic.run_billing(&org, &started).await {
                tracing::error!(run = %started.id, error = %e, "billing run failed");
            }
        });
        Ok(run)
    }

    /// Carries out a started run to its end.
    pub async fn run_billing(
        &self,
        organisation_id: &OrganisationId,
        run: &BillingRun,
    ) -> Result<BillingRun, ServiceError> {
        let store = self.store();
        let suspend_after = store
            .setting(
                organisation_id,
                None,
                "health-plan-failures-before-suspension",
            )
            .await?;
        let retry_hours = store
            .setting(organisation_id, None, "health-plan-retry-hours")
            .await?;
        let ctx = RunContext {
            organisation_id: organisation_id.to_string(),
            suspend_after: suspend_after.as_i64().unwrap_or(3),
            retry_after_ms: retry_hours.as_i64().unwrap_or(72) * 3_600_000,
            chargers: Default::default(),
        };
        let config = &self.inner.config.billing;
        let results =
            join_all((0..config.workers.max(1)).map(|_| self.billing_worker(&ctx, run))).await;
        let failed = results
            .iter()
            .find_map(|r| r.as_ref().err())
            .map(|e| e.to_string());
        match &failed {
            Some(message) => {
                self.store()
                    .finish_billing_run(&run.id, "failed", Some(message))
                    .await?
            }
            None => {
                self.store()
                    .finish_billing_run(&run.id, "done", None)
                    .await?
            }
        }
        self.store()
            .billing_run(organisation_id, &run.id)
            .await?
            .ok_or_else(|| ServiceError::NotFound("the billing run vanished".into()))
    }

    async fn billing_worker(&self, ctx: &RunContext, run: &BillingRun) -> Result<(), ServiceError> {
        let config = &self.inner.config.billing;
        let charge_deadline = self
            .runtime()
            .config()
            .deadlines
            .of(Capability::ChargeToken);
        // The lease outlives every charge of a batch, so a live run keeps its rows.
        let lease = config.lease.unwrap_or(
            charge_deadline
                + self.runtime().config().deadlines.of(Capability::Status)
                + Duration::from_secs(15),
        );
        loop {
            let batch = self
                .store()
                .claim_billing_batch(
                    &ctx.organisation_id,
                    run,
                    now_ms() + lease.as_millis() as i64,
                    config.batch,
                )
                .await?;
            if batch.is_empty() {
                return Ok(());
            }
            let n = batch.len() as i64;
            let mut decisions = Vec::with_capacity(batch.len());
            for row in &batch {
                decisions.push(self.decide(ctx, row).await?);
            }
            let charge: Vec<bool> = decisions
                .iter()
                .map(|d| matches!(d, Decision::Charge))
                .collect();
            let check_after = (charge_deadline + Duration::from_secs(60)).as_millis() as i64;
            let prepared = self
                .store()
                .prepare_billing_batch(&ctx.organisation_id, batch, &charge, check_after)
                .await?;
            let outcomes = join_all(
                prepared
                    .into_iter()
                    .zip(decisions)
                    .map(|(row, decision)| self.carry_out(ctx, row, decision)),
            )
            .await;
            let counts = self
                .store()
                .book_billing_batch(outcomes, ctx.suspend_after, ctx.retry_after_ms)
                .await?;
            self.store()
                .count_billing_progress(&run.id, n, counts)
                .await?;
        }
    }

    /// The plugin and environment that charge `plugin_id` cards in a department.
    async fn charger(
        &self,
        ctx: &RunContext,
        plugin_id: &str,
        department_id: &str,
    ) -> Result<(Provider, CallEnv), String> {
        let key = (plugin_id.to_owned(), department_id.to_owned());
        let mut chargers = ctx.chargers.lock().await;
        if let Some(found) = chargers.get(&key) {
            return found.clone();
        }
        let made = async {
            let department = self
                .department(&ctx.organisation_id, department_id)
                .await
                .map_err(|e| e.to_string())?;
            if plugin_id == "gravity" {
                let allowed = self
                    .store()
                    .gravity_recurring_allowed(&ctx.organisation_id, department_id)
                    .await
                    .map_err(|e| e.to_string())?;
                if !allowed {
                    return Err(format!(
                        "no automatic charge: department '{}' does not allow gravity payment for recurring payment",
                        department.name
                    ));
                }
            }
            let plugin = self
                .usable_plugin(&ctx.organisation_id, plugin_id, &department, Capability::ChargeToken)
                .await
                .map_err(|e| e.to_string())?;
            let env = self
                .call_env(&ctx.organisation_id, &plugin, &department, None)
                .await
                .map_err(|e| e.to_string())?;
            Ok((plugin, env))
        }
        .await;
        chargers.insert(key, made.clone());
        made
    }

    async fn decide(
        &self,
        ctx: &RunContext,
        row: &ClaimedPeriod,
    ) -> Result<Decision, ServiceError> {
        if row.payment_id.is_some() {
            // Found mid-charge: a run stopped after writing the payment.
            return Ok(Decision::Resolve);
        }
        let billable = matches!(
            row.subscription_status,
            SubscriptionStatus::Active | SubscriptionStatus::Suspended
        );
        // A free month has nothing to charge: its invoice is issued settled.
        if row.option != PaymentOption::SavedCard || !billable || row.monthly_price == 0 {
            return Ok(Decision::Invoice);
        }
        let (Some(_), Some(plugin)) = (&row.card_token, &row.card_plugin) else {
            return Ok(Decision::Leave("the subscription's card is gone".into()));
        };
        Ok(match self.charger(ctx, plugin, &row.department_id).await {
            Ok(_) => Decision::Charge,
            Err(why) => Decision::Leave(why),
        })
    }

    async fn carry_out(
        &self,
        ctx: &RunContext,
        row: ClaimedPeriod,
        decision: Decision,
    ) -> (ClaimedPeriod, PeriodOutcome) {
        let outcome = match decision {
            Decision::Invoice => PeriodOutcome::Invoiced,
            Decision::Leave(why) => PeriodOutcome::Skipped(why),
            Decision::Charge => PeriodOutcome::Charge(self.charge(ctx, &row).await),
            Decision::Resolve => PeriodOutcome::Charge(self.resolve(ctx, &row).await),
        };
        (row, outcome)
    }

    fn unknown(&self, message: String) -> Settlement {
        Settlement {
            status: Some(PaymentStatus::Unknown),
            message: Some(message),
            next_check_at: Some(
                now_ms() + self.inner.config.recovery.first_delay.as_millis() as i64,
            ),
            ..Settlement::default()
        }
    }

    async fn charge(&self, ctx: &RunContext, row: &ClaimedPeriod) -> Settlement {
        let (Some(token), Some(plugin_id), Some(payment_id)) =
            (&row.card_token, &row.card_plugin, &row.payment_id)
        else {
            return self.unknown("nothing to charge".into());
        };
        let (plugin, env) = match self.charger(ctx, plugin_id, &row.department_id).await {
            Ok(found) => found,
            Err(why) => {
                return Settlement {
                    status: Some(PaymentStatus::Failed),
                    message: Some(why),
                    ..Settlement::default()
                };
            }
        };
        let request = TokenCharge {
            request_id: payment_id.clone(),
            card_token: token.clone(),
            amount: Money {
                minor_units: row.monthly_price,
                currency: row.currency.clone(),
            },
            description: Some(format!("{} {}", row.plan_name, row.period)),
        };
        match plugin.charge_token(&env, request).await {
            Ok(outcome) => settlement_of(&outcome)
                .unwrap_or_else(|| self.unknown(super::runner::describe(&outcome))),
            Err(e) => settlement_of_error(&e).unwrap_or_else(|| self.unknown(e.to_string())),
        }
    }

    /// Asks the provider what became of a charge a stopped run left behind.
    async fn resolve(&self, ctx: &RunContext, row: &ClaimedPeriod) -> Settlement {
        let Some(payment_id) = &row.payment_id else {
            return self.unknown("no payment".into());
        };
        let payment = match self.store().payment(&ctx.organisation_id, payment_id).await {
            Ok(Some(p)) => p,
            Ok(None) => return self.unknown("the payment is gone".into()),
            Err(e) => return self.unknown(e.to_string()),
        };
        if payment.status.is_final() {
            // Booking sees the final state and takes it as it is.
            return Settlement::default();
        }
        let asked = match self.ask_status(&payment).await {
            // It never arrived: the run still owes the charge, so it is sent.
            Ok(Outcome::NotFound(_)) => None,
            Ok(outcome) => settlement_of(&outcome),
            Err(e) => {
                tracing::warn!(payment = %payment.id, error = %e, "status of a left-behind charge");
                None
            }
        };
        match asked {
            Some(settlement) => settlement,
            // The provider has no answer for it (the charge may never have
            // arrived): send it again with the same request id, which a
            // card-on-file plugin must treat as an idempotency key, so a
            // charge that did arrive is answered, not repeated.
            None => self.charge(ctx, row).await,
        }
    }

    /// Runs the current month's billing for every organisation with the add-on
    /// on, every `every`.
    pub(super) async fn billing_schedule(self, every: Duration) {
        loop {
            tokio::time::sleep(every).await;
            let organisations = match self.store().organisation_ids().await {
                Ok(ids) => ids,
                Err(e) => {
                    tracing::warn!(error = %e, "scheduled billing: cannot list organisations");
                    continue;
                }
            };
            for org in organisations {
                if !matches!(
                    self.health_plans_enabled(&org.as_str().into()).await,
                    Ok(true)
                ) {
                    continue;
                }
                let period = Period::current("UTC");
                match self.store().start_billing_run(&org, period).await {
                    Ok(run) => {
                        if let Err(e) = self.run_billing(&org.as_str().into(), &run).await {
                            tracing::warn!(organisation = %org, error = %e, "scheduled billing failed");
                        }
                    }
                    Err(e) => {
                        tracing::warn!(organisation = %org, error = %e, "scheduled billing not started")
                    }
                }
            }
        }
    }
}

/// What to do with a claimed month.
enum Decision {
    /// Issue the invoice for the client to pay.
    Invoice,
    /// Issue the invoice and charge the saved card.
    Charge,
    /// Find out what became of the charge already written.
    Resolve,
    /// Leave it (invoice issued) for a later run, with why.
    Leave(String),
}
