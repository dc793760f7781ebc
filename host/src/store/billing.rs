//! The billing of health plans, in batches. `billing_periods` holds one row per
//! subscription and month: its invoice and its payment are written in the same
//! transaction that claims them, before any card is charged, so a run that is
//! repeated, restarted after a crash, or run by several hosts at once never
//! charges a month twice. Rows are leased (`FOR UPDATE SKIP LOCKED` on
//! PostgreSQL); a lease that runs out hands the row to the next run.

use std::collections::BTreeMap;

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use vetpay_domain::{
    Contract, Decider, InvoiceSums, Money, MonthStatus, PaymentOption, PaymentStatus, Period,
    PlanId, SubscriptionStatus, settled_status, sql_list,
};

use super::ledger::{reserve_numbers, standing};
use super::payments::Settlement;
use super::placeholders::{param, params};
use super::text_enum::stored;
use super::{Backend, Store, StoreError, invalid, new_id, now_ms, stored_currency};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BillingRun {
    pub id: String,
    pub period: String,
    /// running, done or failed.
    pub status: String,
    /// Months to bill when the run started.
    pub total: i64,
    pub processed: i64,
    /// Invoices issued for clients to pay.
    pub invoiced: i64,
    /// Cards charged successfully, and their sum in minor units.
    pub charged: i64,
    pub charged_amount: i64,
    /// Charges that failed (retried later per the organisation's policy).
    pub failed: i64,
    pub message: Option<String>,
    pub started_at: i64,
    pub finished_at: Option<i64>,
}

/// A month of a subscription taken by this run, with what billing it needs.
#[derive(Debug, Clone)]
pub struct ClaimedPeriod {
    pub id: String,
    pub subscription_id: String,
    pub period: String,
    pub status: String,
    pub invoice_id: Option<String>,
    pub payment_id: Option<String>,
    pub attempts: i64,
    pub option: PaymentOption,
    pub subscription_status: SubscriptionStatus,
    pub department_id: String,
    pub client_id: String,
    pub patient_id: String,
    pub card_id: Option<String>,
    pub card_token: Option<String>,
    pub card_plugin: Option<String>,
    pub monthly_price: i64,
    pub currency: String,
    pub plan_name: String,
}

impl ClaimedPeriod {
    fn from_row(row: &AnyRow) -> Result<Self, StoreError> {
        let deleted: Option<i64> = row.try_get("card_deleted")?;
        let subscription_id: String = row.try_get("subscription_id")?;
        Ok(Self {
            id: row.try_get("id")?,
            period: row.try_get("period")?,
            status: row.try_get("status")?,
            invoice_id: row.try_get("invoice_id")?,
            payment_id: row.try_get("payment_id")?,
            attempts: row.try_get("attempts")?,
            option: stored(
                "subscriptions",
                "payment_option",
                &subscription_id,
                &row.try_get::<String, _>("payment_option")?,
            )?,
            subscription_status: stored(
                "subscriptions",
                "status",
                &subscription_id,
                &row.try_get::<String, _>("sub_status")?,
            )?,
            subscription_id,
            department_id: row.try_get("department_id")?,
            client_id: row.try_get("client_id")?,
            patient_id: row.try_get("patient_id")?,
            card_id: row.try_get("card_id")?,
            card_token: if deleted.is_some() {
                None
            } else {
                row.try_get("card_token")?
            },
            card_plugin: row.try_get("card_plugin")?,
            monthly_price: row.try_get("monthly_price")?,
            currency: row.try_get("currency")?,
            plan_name: row.try_get("plan_name")?,
        })
    }
}

/// What happened to one claimed month.
#[derive(Debug, Clone)]
pub enum PeriodOutcome {
    /// An invoice was issued for the client to pay.
    Invoiced,
    /// The card charge ended like this (`Unknown` leaves it to be asked again).
    Charge(Settlement),
    /// Nothing to do now (left for a later run), with why.
    Skipped(String),
}

/// A value of a bulk insert.
enum Val {
    Text(Option<String>),
    Int(Option<i64>),
}

/// `INSERT INTO table (cols) VALUES (...), (...)`, its parameters written by
/// [`param`] (sqlx's query builder writes `?` for the Any driver whatever the
/// database, which PostgreSQL refuses).
async fn bulk_insert(
    conn: &mut AnyConnection,
    backend: Backend,
    head: &str,
    rows: Vec<Vec<Val>>,
) -> Result<(), StoreError> {
    with_values(conn, backend, &format!("{head} VALUES {{}}"), rows).await?;
    Ok(())
}

/// Runs `sql`, whose `{}` is replaced by `($1, $2), ($3, $4), …` for `rows`
/// (`(?, ?), …` on SQLite: see [`param`]); `sql` has no parameters of its own.
/// One statement updates many rows (`UPDATE … FROM (VALUES …) AS v`, where
/// both databases name the columns column1, column2, …). Returns the rows of
/// a `RETURNING` clause, if any.
async fn with_values(
    conn: &mut AnyConnection,
    backend: Backend,
    sql: &str,
    rows: Vec<Vec<Val>>,
) -> Result<Vec<AnyRow>, StoreError> {
    let mut out = Vec::new();
    for chunk in rows.chunks(500) {
        let mut values = String::new();
        let mut n = 0;
        for (i, row) in chunk.iter().enumerate() {
            if i > 0 {
                values.push(',');
            }
            values.push('(');
            for j in 0..row.len() {
                if j > 0 {
                    values.push(',');
                }
                n += 1;
                values.push_str(&param(backend, n));
            }
            values.push(')');
        }
        let statement = sql.replacen("{}", &values, 1);
        let mut q = sqlx::query(&statement);
        for row in chunk {
            for v in row {
                q = match v {
                    Val::Text(t) => q.bind(t.clone()),
                    Val::Int(i) => q.bind(*i),
                };
            }
        }
        out.extend(q.fetch_all(&mut *conn).await?);
    }
    Ok(out)
}

fn text(s: &str) -> Val {
    Val::Text(Some(s.to_owned()))
}

/// Runs `sql`, whose `{}` is replaced by `$1, $2, …` for `ids` (`?` on
/// SQLite), in chunks; `sql` has no parameters of its own. Returns every row
/// selected.
async fn select_in(
    conn: &mut AnyConnection,
    backend: Backend,
    sql: &str,
    ids: &[String],
) -> Result<Vec<AnyRow>, StoreError> {
    let mut out = Vec::new();
    for chunk in ids.chunks(500) {
        let statement = sql.replacen("{}", &params(backend, 1, chunk.len()), 1);
        let mut q = sqlx::query(&statement);
        for id in chunk {
            q = q.bind(id.clone());
        }
        out.extend(q.fetch_all(&mut *conn).await?);
    }
    Ok(out)
}

fn run(row: &AnyRow) -> Result<BillingRun, StoreError> {
    Ok(BillingRun {
        id: row.try_get("id")?,
        period: row.try_get("period")?,
        status: row.try_get("status")?,
        total: row.try_get("total")?,
        processed: row.try_get("processed")?,
        invoiced: row.try_get("invoiced")?,
        charged: row.try_get("charged")?,
        charged_amount: row.try_get("charged_amount")?,
        failed: row.try_get("failed")?,
        message: row.try_get("message")?,
        started_at: row.try_get("started_at")?,
        finished_at: row.try_get("finished_at")?,
    })
}

/// The rows a run may work on: months up to its period in a state the domain
/// calls workable, whose lease is free and whose retry time has come.
/// Rows a run touched carry a later `updated_at` than its start (`$4`), so a run
/// takes each row at most once, however soon its retry is due.
fn workable() -> String {
    let statuses = sql_list(MonthStatus::ALL.iter().copied().filter(|s| s.is_workable()));
    format!(
        "organisation_id = $1 AND period <= $2 AND status IN ({statuses}) \
         AND (lease_until IS NULL OR lease_until < $3) AND (next_attempt_at IS NULL OR next_attempt_at <= $3) AND updated_at < $4"
    )
}

impl Store {
    /// Ends subscriptions whose contract is over by `period` (renewing those
    /// whose plan renews), enqueues the month of every billable subscription,
    /// and records a run.
    pub async fn start_billing_run(
        &self,
        organisation_id: &str,
        period: Period,
    ) -> Result<BillingRun, StoreError> {
        let p = period.to_string();
        let now = now_ms();
        let mut tx = self.write().await?;
        let running = sql_list(
            SubscriptionStatus::ALL
                .iter()
                .copied()
                .filter(|s| s.is_running()),
        );
        let lock = match self.backend() {
            Backend::Postgres => " FOR UPDATE OF s",
            Backend::Sqlite => "",
        };
        // Candidates: running contracts ending by this month; the domain decides
        // what becomes of each.
        let over = sqlx::query(&format!(
            "SELECT s.id AS id, s.status AS status, s.end_period AS end_period, s.client_id AS client_id, s.patient_id AS patient_id, \
             s.department_id AS department_id, s.payment_option AS payment_option, s.card_id AS card_id, \
             p.renews AS renews, n.id AS renew_plan, n.contract_months AS renew_months FROM subscriptions s \
             JOIN plans p ON p.id = s.plan_id LEFT JOIN plans n ON n.id = COALESCE(p.next_plan_id, p.id) \
             WHERE s.organisation_id = $1 AND s.status IN ({running}) AND s.end_period <= $2{lock}"
        ))
        .bind(organisation_id)
        .bind(&p)
        .fetch_all(&mut *tx.tx)
        .await?;
        for row in &over {
            let id: String = row.try_get("id")?;
            let renews = row.try_get::<i64, _>("renews")? == 1;
            let renew_months: Option<i64> = row.try_get("renew_months")?;
            let renew_plan: Option<String> = row.try_get("renew_plan")?;
            let (Some(renew_months), Some(renew_plan)) = (renew_months, renew_plan) else {
                // The plan a renewal would start is gone: nothing sane to do.
                return Err(sqlx::Error::RowNotFound.into());
            };
            let contract = Contract {
                status: stored(
                    "subscriptions",
                    "status",
                    &id,
                    &row.try_get::<String, _>("status")?,
                )?,
                end_period: {
                    let text: String = row.try_get("end_period")?;
                    // Written by vetpay as a month: anything else is corrupt.
                    Period::parse(&text).map_err(|_| StoreError::Corrupt {
                        table: "subscriptions",
                        column: "end_period",
                        row: id.clone(),
                        value: text.clone(),
                    })?
                },
                renews,
                renew_plan: PlanId::new(renew_plan),
                renew_contract_months: renew_months,
            };
            let Some(end) = contract.end(period) else {
                continue;
            };
            sqlx::query(
                "UPDATE subscriptions SET status = $1, closed_at = $2, close_reason = $3 WHERE id = $4",
            )
            .bind(end.status.as_str())
            .bind(now)
            .bind(end.reason)
            .bind(&id)
            .execute(&mut *tx.tx)
            .await?;
            if let Some(next) = end.renewal {
                let option: PaymentOption = stored(
                    "subscriptions",
                    "payment_option",
                    &id,
                    &row.try_get::<String, _>("payment_option")?,
                )?;
                sqlx::query(
                    "INSERT INTO subscriptions (id, organisation_id, plan_id, client_id, patient_id, department_id, payment_option, card_id, status, \
                     start_period, end_period, failed_charges, renewed_from, created_at, activated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 0, $12, $13, $13)",
                )
                .bind(new_id())
                .bind(organisation_id)
                .bind(next.plan_id.as_str())
                .bind(row.try_get::<String, _>("client_id")?)
                .bind(row.try_get::<String, _>("patient_id")?)
                .bind(row.try_get::<String, _>("department_id")?)
                .bind(option.as_str())
                .bind(row.try_get::<Option<String>, _>("card_id")?)
                .bind(next.status.as_str())
                .bind(next.start_period.to_string())
                .bind(next.end_period.to_string())
                .bind(&id)
                .bind(now)
                .execute(&mut *tx.tx)
                .await?;
            }
        }
        let billed = sql_list(
            PaymentOption::ALL
                .iter()
                .copied()
                .filter(|o| o.billed_by_run()),
        );
        // No conflict target: a concurrent run's insert of the same month may hit
        // either unique index first (id, or subscription and period).
        sqlx::query(&format!(
            "INSERT INTO billing_periods (id, organisation_id, subscription_id, period, status, attempts, updated_at) \
             SELECT s.id || ':' || $2, s.organisation_id, s.id, $2, '{pending}', 0, $3 FROM subscriptions s \
             WHERE s.organisation_id = $1 AND s.status IN ({running}) AND s.payment_option IN ({billed}) \
             AND s.start_period <= $2 AND s.end_period > $2 \
             ON CONFLICT DO NOTHING",
            pending = MonthStatus::Pending.as_str(),
        ))
        .bind(organisation_id)
        .bind(&p)
        // Untouched (0): any run, this one or one started at the same moment on
        // another host, may take these rows.
        .bind(0i64)
        .execute(&mut *tx.tx)
        .await?;
        let total: i64 = sqlx::query(&format!(
            "SELECT COUNT(*) AS n FROM billing_periods WHERE {}",
            workable()
        ))
        .bind(organisation_id)
        .bind(&p)
        .bind(now)
        .bind(now)
        .fetch_one(&mut *tx.tx)
        .await?
        .try_get("n")?;
        let id = new_id();
        sqlx::query(
            "INSERT INTO billing_runs (id, organisation_id, period, status, total, processed, invoiced, charged, failed, charged_amount, started_at) \
             VALUES ($1, $2, $3, 'running', $4, 0, 0, 0, 0, 0, $5)",
        )
        .bind(&id)
        .bind(organisation_id)
        .bind(&p)
        .bind(total)
        .bind(now)
        .execute(&mut *tx.tx)
        .await?;
        tx.commit().await?;
        self.billing_run(organisation_id, &id)
            .await?
            .ok_or_else(|| invalid("billing run", "vanished"))
    }

    pub async fn billing_run(
        &self,
        organisation_id: &str,
        id: &str,
    ) -> Result<Option<BillingRun>, StoreError> {
        let row = sqlx::query("SELECT * FROM billing_runs WHERE organisation_id = $1 AND id = $2")
            .bind(organisation_id)
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(run).transpose()
    }

    pub async fn billing_runs(&self, organisation_id: &str) -> Result<Vec<BillingRun>, StoreError> {
        let rows = sqlx::query("SELECT * FROM billing_runs WHERE organisation_id = $1 ORDER BY started_at DESC LIMIT 100")
            .bind(organisation_id)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(run).collect()
    }

    /// Leases up to `limit` workable months until `lease_until`.
    pub async fn claim_billing_batch(
        &self,
        organisation_id: &str,
        run: &BillingRun,
        lease_until: i64,
        limit: i64,
    ) -> Result<Vec<ClaimedPeriod>, StoreError> {
        let owner = new_id();
        let skip = match self.backend() {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let mut tx = self.write().await?;
        sqlx::query(&format!(
            "UPDATE billing_periods SET lease_until = $5, lease_owner = $6 WHERE id IN \
             (SELECT id FROM billing_periods WHERE {} LIMIT $7{skip})",
            workable()
        ))
        .bind(organisation_id)
        .bind(&run.period)
        .bind(now_ms())
        .bind(run.started_at)
        .bind(lease_until)
        .bind(&owner)
        .bind(limit)
        .execute(&mut *tx.tx)
        .await?;
        // The owner's rows, found through the (indexed) lease owner.
        let rows = sqlx::query(
            "SELECT b.id AS id, b.subscription_id AS subscription_id, b.period AS period, b.status AS status, b.invoice_id AS invoice_id, \
             b.payment_id AS payment_id, b.attempts AS attempts, s.payment_option AS payment_option, s.status AS sub_status, \
             s.department_id AS department_id, s.client_id AS client_id, s.patient_id AS patient_id, s.card_id AS card_id, \
             c.token AS card_token, c.plugin_id AS card_plugin, c.deleted_at AS card_deleted, \
             p.monthly_price AS monthly_price, p.currency AS currency, p.name AS plan_name \
             FROM billing_periods b JOIN subscriptions s ON s.id = b.subscription_id JOIN plans p ON p.id = s.plan_id \
             LEFT JOIN cards c ON c.id = s.card_id WHERE b.lease_owner = $1 ORDER BY b.period, b.id",
        )
        .bind(&owner)
        .fetch_all(&mut *tx.tx)
        .await?;
        tx.commit().await?;
        rows.iter().map(ClaimedPeriod::from_row).collect()
    }

    /// Issues the month's invoice of every claimed row that has none, and
    /// writes a `processing` payment for each row in `charge` (the card is
    /// charged after this commits). Returns the rows with their ids set.
    pub async fn prepare_billing_batch(
        &self,
        organisation_id: &str,
        mut batch: Vec<ClaimedPeriod>,
        charge: &[bool],
        check_after_ms: i64,
    ) -> Result<Vec<ClaimedPeriod>, StoreError> {
        let now = now_ms();
        let mut tx = self.write().await?;
        let need: Vec<usize> = (0..batch.len())
            .filter(|i| batch[*i].invoice_id.is_none())
            .collect();
        if !need.is_empty() {
            let first = reserve_numbers(&mut tx.tx, organisation_id, need.len() as i64).await?;
            let mut invoices = Vec::with_capacity(need.len());
            let mut lines = Vec::with_capacity(need.len());
            for (k, i) in need.iter().enumerate() {
                let row = &mut batch[*i];
                let id = new_id();
                let price = row.monthly_price;
                invoices.push(vec![
                    text(&id),
                    text(organisation_id),
                    text(&row.department_id),
                    text(&row.client_id),
                    text(&row.patient_id),
                    Val::Int(Some(first + k as i64)),
                    text(settled_status(price, 0, 0).as_str()),
                    text(&row.currency),
                    Val::Int(Some(price)),
                    Val::Int(Some(price)),
                    text(&row.subscription_id),
                    text(&row.period),
                    Val::Int(Some(now)),
                    Val::Int(Some(now)),
                    text("counter_sale"),
                    Val::Int(Some(0)),
                    Val::Int(Some(0)),
                    Val::Int(Some(0)),
                    text("plan_period"),
                ]);
                lines.push(vec![
                    text(&id),
                    Val::Int(Some(1)),
                    text(&format!("{} {}", row.plan_name, row.period)),
                    text("1"),
                    Val::Int(Some(price)),
                    text("0"),
                    text("0"),
                    Val::Int(Some(price)),
                    Val::Int(Some(0)),
                    Val::Int(Some(price)),
                ]);
                row.invoice_id = Some(id);
            }
            bulk_insert(
                &mut tx.tx,
                self.backend(),
                "INSERT INTO invoices (id, organisation_id, department_id, client_id, patient_id, number, status, currency, net, total, \
                 subscription_id, billing_period, created_at, finalised_at, kind, vat, paid, credited, purpose)",
                invoices,
            )
            .await?;
            bulk_insert(
                &mut tx.tx,
                self.backend(),
                "INSERT INTO invoice_lines (invoice_id, position, description, quantity, unit_price, vat_rate, discount_percent, net, vat, total)",
                lines,
            )
            .await?;
        }
        let mut payments = Vec::new();
        for (row, charge) in batch.iter_mut().zip(charge) {
            if !charge || row.payment_id.is_some() {
                continue;
            }
            let id = new_id();
            payments.push(vec![
                text(&id),
                text(organisation_id),
                text(&row.department_id),
                text(&row.client_id),
                Val::Text(row.invoice_id.clone()),
                Val::Int(Some(row.monthly_price)),
                text(&row.currency),
                Val::Text(row.card_id.clone()),
                Val::Text(row.card_plugin.clone()),
                Val::Int(Some(now + check_after_ms)),
                Val::Int(Some(now)),
                Val::Int(Some(now)),
                text("payment"),
                text("saved_card"),
                Val::Int(Some(0)),
                Val::Int(Some(0)),
                text("processing"),
                Val::Int(Some(0)),
                Val::Int(Some(0)),
            ]);
            row.payment_id = Some(id);
        }
        if !payments.is_empty() {
            bulk_insert(
                &mut tx.tx,
                self.backend(),
                "INSERT INTO payments (id, organisation_id, department_id, client_id, invoice_id, amount, currency, card_id, plugin_id, \
                 next_check_at, created_at, updated_at, kind, method, credit_amount, allow_excess, status, abort_requested, recovery_attempts)",
                payments,
            )
            .await?;
        }
        let links = batch
            .iter()
            .zip(charge)
            .map(|(row, charge)| {
                vec![
                    text(&row.id),
                    Val::Text(row.invoice_id.clone()),
                    Val::Text(row.payment_id.clone()),
                    text(if *charge {
                        MonthStatus::Charging.as_str()
                    } else {
                        row.status.as_str()
                    }),
                ]
            })
            .collect();
        with_values(
            &mut tx.tx,
            self.backend(),
            &format!(
                "UPDATE billing_periods SET invoice_id = v.column2, payment_id = v.column3, status = v.column4, updated_at = {now} \
                 FROM (VALUES {{}}) AS v WHERE billing_periods.id = v.column1"
            ),
            links,
        )
        .await?;
        tx.commit().await?;
        Ok(batch)
    }

    /// Books what happened to each claimed month, in one transaction: the
    /// payment and its invoice, the month, and the subscription's failures.
    /// Returns (invoiced, charged, charged amount, failed).
    pub async fn book_billing_batch(
        &self,
        outcomes: Vec<(ClaimedPeriod, PeriodOutcome)>,
        suspend_after: i64,
        retry_after_ms: i64,
    ) -> Result<(i64, i64, i64, i64), StoreError> {
        let now = now_ms();
        let mut counts = (0, 0, 0, 0);
        let mut tx = self.write().await?;
        let outcomes = self
            .book_approved_charges(&mut tx.tx, outcomes, now, &mut counts)
            .await?;
        for (row, outcome) in outcomes {
            let (status, next, message) = match outcome {
                PeriodOutcome::Invoiced => {
                    counts.0 += 1;
                    (MonthStatus::Invoiced, None, None)
                }
                // Looked at again by the next run: the reason (a setting, a
                // missing card) may be gone by then.
                PeriodOutcome::Skipped(why) => (
                    stored("billing_periods", "status", &row.id, &row.status)?,
                    None,
                    Some(why),
                ),
                PeriodOutcome::Charge(settlement) => {
                    let Some(payment_id) = &row.payment_id else {
                        continue;
                    };
                    let mut p = self
                        .payment_in(&mut tx.tx, None, payment_id, true)
                        .await?
                        .ok_or_else(|| invalid("payment", "vanished"))?;
                    let to = settlement.status.unwrap_or(PaymentStatus::Unknown);
                    // A payment settled meanwhile (by recovery, by hand) keeps its state.
                    if p.status.can_move_to(to, Decider::Provider) {
                        self.settle(&mut tx.tx, &mut p, settlement, Decider::Provider)
                            .await?;
                    }
                    match p.status {
                        PaymentStatus::Succeeded => {
                            counts.1 += 1;
                            counts.2 += p.amount.minor_units;
                            // `settle` marked the month charged through the paid invoice.
                            (MonthStatus::Charged, None, None)
                        }
                        PaymentStatus::Processing | PaymentStatus::Unknown => (
                            MonthStatus::Charging,
                            Some(now + retry_after_ms.min(60_000)),
                            Some("the provider's answer is not known yet".to_owned()),
                        ),
                        PaymentStatus::Failed
                        | PaymentStatus::Cancelled
                        | PaymentStatus::NeedsReview => {
                            counts.3 += 1;
                            if let Some(before) = self
                                .locked_standing(&mut tx.tx, &row.subscription_id)
                                .await?
                            {
                                let after = before.after_failed_charge(suspend_after);
                                Self::write_standing(
                                    &mut tx.tx,
                                    &row.subscription_id,
                                    before,
                                    after,
                                )
                                .await?;
                            }
                            sqlx::query("UPDATE billing_periods SET payment_id = NULL, attempts = attempts + 1 WHERE id = $1")
                                .bind(&row.id)
                                .execute(&mut *tx.tx)
                                .await?;
                            (
                                MonthStatus::Failed,
                                Some(now + retry_after_ms),
                                p.message.clone(),
                            )
                        }
                    }
                }
            };
            let current = sqlx::query(&format!(
                "SELECT status FROM billing_periods WHERE id = $1{}",
                self.for_update()
            ))
            .bind(&row.id)
            .fetch_optional(&mut *tx.tx)
            .await?;
            let Some(current) = current else {
                continue;
            };
            let current: MonthStatus = stored(
                "billing_periods",
                "status",
                &row.id,
                &current.try_get::<String, _>("status")?,
            )?;
            sqlx::query(
                "UPDATE billing_periods SET status = $1, \
                 lease_until = NULL, lease_owner = NULL, next_attempt_at = $2, message = $3, updated_at = $4 WHERE id = $5",
            )
            .bind(current.after_outcome(status).as_str())
            .bind(next)
            .bind(&message)
            .bind(now)
            .bind(&row.id)
            .execute(&mut *tx.tx)
            .await?;
        }
        tx.commit().await?;
        Ok(counts)
    }

    /// The common case in few statements: approved charges of running
    /// payments. Each payment, its invoice (paid in full), its month and its
    /// subscription's failure count move in four set-based updates. What is not
    /// that (declines, unknowns, payments settled meanwhile) is returned for
    /// the row-by-row path.
    async fn book_approved_charges(
        &self,
        conn: &mut AnyConnection,
        outcomes: Vec<(ClaimedPeriod, PeriodOutcome)>,
        now: i64,
        counts: &mut (i64, i64, i64, i64),
    ) -> Result<Vec<(ClaimedPeriod, PeriodOutcome)>, StoreError> {
        let (approved, rest): (Vec<_>, Vec<_>) = outcomes.into_iter().partition(|(row, o)| {
            row.payment_id.is_some()
                && matches!(o, PeriodOutcome::Charge(s) if s.status == Some(PaymentStatus::Succeeded))
        });
        if approved.is_empty() {
            return Ok(rest);
        }
        let values = approved
            .iter()
            .map(|(row, o)| {
                let PeriodOutcome::Charge(s) = o else {
                    unreachable!("partitioned on Charge")
                };
                vec![
                    Val::Text(row.payment_id.clone()),
                    Val::Text(s.provider_reference.clone()),
                    Val::Text(s.authorization_code.clone()),
                    Val::Text(s.masked_pan.clone()),
                    Val::Text(s.card_brand.clone()),
                ]
            })
            .collect();
        let from = sql_list(PaymentStatus::sources_of(
            PaymentStatus::Succeeded,
            Decider::Provider,
        ));
        let moved = with_values(
            conn,
            self.backend(),
            &format!(
                "UPDATE payments SET status = '{succeeded}', provider_reference = v.column2, authorization_code = v.column3, \
                 masked_pan = v.column4, card_brand = v.column5, next_check_at = NULL, updated_at = {now}, finished_at = {now} \
                 FROM (VALUES {{}}) AS v WHERE payments.id = v.column1 AND payments.status IN ({from}) \
                 RETURNING payments.id AS id, payments.invoice_id AS invoice_id, payments.amount AS amount",
                succeeded = PaymentStatus::Succeeded.as_str(),
            ),
            values,
        )
        .await?;
        // What each invoice receives (a month has one invoice and one charge,
        // but summing keeps this right whatever the batch holds).
        let mut paid: BTreeMap<String, i64> = BTreeMap::new();
        let mut moved_ids = std::collections::HashSet::with_capacity(moved.len());
        for row in &moved {
            let id: String = row.try_get("id")?;
            let invoice: Option<String> = row.try_get("invoice_id")?;
            let amount: i64 = row.try_get("amount")?;
            counts.1 += 1;
            counts.2 += amount;
            if let Some(invoice) = invoice {
                let sum = paid.entry(invoice).or_default();
                *sum = sum
                    .checked_add(amount)
                    .ok_or_else(|| invalid("amount", "too large"))?;
            }
            moved_ids.insert(id);
        }
        // The invoices' new sums and status, decided by the domain from the
        // locked rows, then written in one statement.
        let lock = self.for_update();
        let ids: Vec<String> = paid.keys().cloned().collect();
        let rows = select_in(
            conn,
            self.backend(),
            &format!(
                "SELECT id, currency, total, credited, paid FROM invoices WHERE id IN ({{}}) ORDER BY id{lock}"
            ),
            &ids,
        )
        .await?;
        let mut invoices = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: String = row.try_get("id")?;
            let currency =
                stored_currency("invoices", &id, &row.try_get::<String, _>("currency")?)?;
            let sums = InvoiceSums::new(
                currency,
                row.try_get("total")?,
                row.try_get("credited")?,
                row.try_get("paid")?,
            )
            .with_paid(Money::new(paid[&id], currency))
            .map_err(|e| invalid("amount", e.to_string()))?;
            invoices.push(vec![
                text(&id),
                text(&sums.paid.minor_units.to_string()),
                text(sums.status().as_str()),
            ]);
        }
        with_values(
            conn,
            self.backend(),
            "UPDATE invoices SET paid = CAST(v.column2 AS BIGINT), status = v.column3 \
             FROM (VALUES {}) AS v WHERE invoices.id = v.column1",
            invoices,
        )
        .await?;
        let (done, left): (Vec<_>, Vec<_>) = approved.into_iter().partition(|(row, _)| {
            row.payment_id
                .as_ref()
                .is_some_and(|p| moved_ids.contains(p))
        });
        let months = done.iter().map(|(row, _)| vec![text(&row.id)]).collect();
        with_values(
            conn,
            self.backend(),
            &format!(
                "UPDATE billing_periods SET status = '{charged}', lease_until = NULL, lease_owner = NULL, next_attempt_at = NULL, \
                 message = NULL, updated_at = {now} FROM (VALUES {{}}) AS v WHERE billing_periods.id = v.column1",
                charged = MonthStatus::Charged.as_str(),
            ),
            months,
        )
        .await?;
        // A paid month forgives the failures and lifts a suspension: decided
        // per subscription from its locked row, written in one statement.
        let mut subscription_ids: Vec<String> = done
            .iter()
            .map(|(row, _)| row.subscription_id.clone())
            .collect();
        subscription_ids.sort();
        subscription_ids.dedup();
        let rows = select_in(
            conn,
            self.backend(),
            &format!(
                "SELECT id, status, failed_charges FROM subscriptions WHERE id IN ({{}}) ORDER BY id{lock}"
            ),
            &subscription_ids,
        )
        .await?;
        let mut changed = Vec::new();
        for row in &rows {
            let before = standing(row)?;
            let after = before.after_month_paid();
            if after != before {
                changed.push(vec![
                    text(&row.try_get::<String, _>("id")?),
                    text(after.status.as_str()),
                    text(&after.failed_charges.to_string()),
                ]);
            }
        }
        with_values(
            conn,
            self.backend(),
            "UPDATE subscriptions SET status = v.column2, failed_charges = CAST(v.column3 AS BIGINT) \
             FROM (VALUES {}) AS v WHERE subscriptions.id = v.column1",
            changed,
        )
        .await?;
        Ok(rest.into_iter().chain(left).collect())
    }

    /// Adds a batch's counts to a run.
    pub async fn count_billing_progress(
        &self,
        run_id: &str,
        processed: i64,
        (invoiced, charged, amount, failed): (i64, i64, i64, i64),
    ) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        sqlx::query(
            "UPDATE billing_runs SET processed = processed + $1, invoiced = invoiced + $2, charged = charged + $3, \
             charged_amount = charged_amount + $4, failed = failed + $5 WHERE id = $6",
        )
        .bind(processed)
        .bind(invoiced)
        .bind(charged)
        .bind(amount)
        .bind(failed)
        .bind(run_id)
        .execute(&mut *tx.tx)
        .await?;
        tx.commit().await
    }

    pub async fn finish_billing_run(
        &self,
        run_id: &str,
        status: &str,
        message: Option<&str>,
    ) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        sqlx::query(
            "UPDATE billing_runs SET status = $1, message = $2, finished_at = $3 WHERE id = $4",
        )
        .bind(status)
        .bind(message)
        .bind(now_ms())
        .bind(run_id)
        .execute(&mut *tx.tx)
        .await?;
        tx.commit().await
    }
}
