//! The billing of health plans, in batches. `billing_periods` holds one row per
//! subscription and month: its invoice and its payment are written in the same
//! transaction that claims them, before any card is charged, so a run that is
//! repeated, restarted after a crash, or run by several hosts at once never
//! charges a month twice. Rows are leased (`FOR UPDATE SKIP LOCKED` on
//! PostgreSQL); a lease that runs out hands the row to the next run.

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::payments::{PaymentStatus, Settlement};
use super::period::Period;
use super::plans::{PaymentOption, SubscriptionStatus};
use super::{Backend, Store, StoreError, invalid, new_id, now_ms};

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
        Ok(Self {
            id: row.try_get("id")?,
            subscription_id: row.try_get("subscription_id")?,
            period: row.try_get("period")?,
            status: row.try_get("status")?,
            invoice_id: row.try_get("invoice_id")?,
            payment_id: row.try_get("payment_id")?,
            attempts: row.try_get("attempts")?,
            option: PaymentOption::parse(&row.try_get::<String, _>("payment_option")?)?,
            subscription_status: SubscriptionStatus::parse(
                &row.try_get::<String, _>("sub_status")?,
            )?,
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

/// `INSERT INTO table (cols) VALUES (...), (...)` with `$N` parameters (sqlx's
/// query builder writes `?` for the Any driver, which PostgreSQL refuses).
async fn bulk_insert(
    conn: &mut AnyConnection,
    head: &str,
    rows: Vec<Vec<Val>>,
) -> Result<(), StoreError> {
    with_values(conn, &format!("{head} VALUES {{}}"), rows).await?;
    Ok(())
}

/// Runs `sql`, whose `{}` is replaced by `($1, $2), ($3, $4), …` for `rows`:
/// one statement updates many rows (`UPDATE … FROM (VALUES …) AS v`, where
/// both databases name the columns column1, column2, …). Returns the rows of
/// a `RETURNING` clause, if any.
async fn with_values(
    conn: &mut AnyConnection,
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
                values.push_str(&format!("${n}"));
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

/// Marks a plan invoice's month settled once the invoice is paid, however it
/// was paid, and brings a suspended subscription back.
pub(crate) async fn period_paid(
    conn: &mut AnyConnection,
    subscription_id: &str,
    invoice_id: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE billing_periods SET status = CASE WHEN status = 'charging' THEN 'charged' ELSE 'paid' END, \
         lease_until = NULL, lease_owner = NULL, next_attempt_at = NULL, updated_at = $1 \
         WHERE invoice_id = $2 AND status IN ('pending', 'charging', 'invoiced', 'failed')",
    )
    .bind(now_ms())
    .bind(invoice_id)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE subscriptions SET failed_charges = 0, status = CASE WHEN status = 'suspended' THEN 'active' ELSE status END WHERE id = $1",
    )
    .bind(subscription_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
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

/// The rows a run may work on: billable months up to its period whose lease
/// is free and whose retry time has come.
/// Rows a run touched carry a later `updated_at` than its start (`$4`), so a run
/// takes each row at most once, however soon its retry is due.
const WORKABLE: &str = "organisation_id = $1 AND period <= $2 AND status IN ('pending', 'charging', 'failed') \
     AND (lease_until IS NULL OR lease_until < $3) AND (next_attempt_at IS NULL OR next_attempt_at <= $3) AND updated_at < $4";

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
        let over = sqlx::query(
            "SELECT s.*, p.renews AS renews, COALESCE(p.next_plan_id, p.id) AS renew_plan, p.contract_months AS months FROM subscriptions s \
             JOIN plans p ON p.id = s.plan_id WHERE s.organisation_id = $1 AND s.status IN ('active', 'suspended') AND s.end_period <= $2",
        )
        .bind(organisation_id)
        .bind(&p)
        .fetch_all(&mut *tx.tx)
        .await?;
        for row in &over {
            let old = super::plans::subscription(row)?;
            sqlx::query("UPDATE subscriptions SET status = 'ended', closed_at = $1, close_reason = 'contract over' WHERE id = $2")
                .bind(now)
                .bind(&old.id)
                .execute(&mut *tx.tx)
                .await?;
            if row.try_get::<i64, _>("renews")? == 1 {
                let plan: String = row.try_get("renew_plan")?;
                let months: i64 = sqlx::query("SELECT contract_months FROM plans WHERE id = $1")
                    .bind(&plan)
                    .fetch_one(&mut *tx.tx)
                    .await?
                    .try_get("contract_months")?;
                let start = Period::parse(&old.end_period)?;
                sqlx::query(
                    "INSERT INTO subscriptions (id, organisation_id, plan_id, client_id, patient_id, department_id, payment_option, card_id, status, \
                     start_period, end_period, failed_charges, renewed_from, created_at, activated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'active', $9, $10, 0, $11, $12, $12)",
                )
                .bind(new_id())
                .bind(organisation_id)
                .bind(&plan)
                .bind(&old.client_id)
                .bind(&old.patient_id)
                .bind(&old.department_id)
                .bind(old.payment_option.as_str())
                .bind(&old.card_id)
                .bind(start.to_string())
                .bind(start.plus_months(months).to_string())
                .bind(&old.id)
                .bind(now)
                .execute(&mut *tx.tx)
                .await?;
            }
        }
        // No conflict target: a concurrent run's insert of the same month may hit
        // either unique index first (id, or subscription and period).
        sqlx::query(
            "INSERT INTO billing_periods (id, organisation_id, subscription_id, period, status, attempts, updated_at) \
             SELECT s.id || ':' || $2, s.organisation_id, s.id, $2, 'pending', 0, $3 FROM subscriptions s \
             WHERE s.organisation_id = $1 AND s.status IN ('active', 'suspended') AND s.payment_option IN ('monthly_invoice', 'saved_card') \
             AND s.start_period <= $2 AND s.end_period > $2 \
             ON CONFLICT DO NOTHING",
        )
        .bind(organisation_id)
        .bind(&p)
        // Untouched (0): any run, this one or one started at the same moment on
        // another host, may take these rows.
        .bind(0i64)
        .execute(&mut *tx.tx)
        .await?;
        let total: i64 = sqlx::query(&format!(
            "SELECT COUNT(*) AS n FROM billing_periods WHERE {WORKABLE}"
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
             (SELECT id FROM billing_periods WHERE {WORKABLE} LIMIT $7{skip})"
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
            let first =
                super::invoices::reserve_numbers(&mut tx.tx, organisation_id, need.len() as i64)
                    .await?;
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
                    text(if price == 0 { "paid" } else { "finalised" }),
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
                "INSERT INTO invoices (id, organisation_id, department_id, client_id, patient_id, number, status, currency, net, total, \
                 subscription_id, billing_period, created_at, finalised_at, kind, vat, paid, credited, purpose)",
                invoices,
            )
            .await?;
            bulk_insert(
                &mut tx.tx,
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
                        "charging"
                    } else {
                        row.status.as_str()
                    }),
                ]
            })
            .collect();
        with_values(
            &mut tx.tx,
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
            let (status, id, next, message) = match outcome {
                PeriodOutcome::Invoiced => {
                    counts.0 += 1;
                    ("invoiced".to_owned(), row.id.clone(), None, None)
                }
                // Looked at again by the next run: the reason (a setting, a
                // missing card) may be gone by then.
                PeriodOutcome::Skipped(why) => {
                    (row.status.clone(), row.id.clone(), None, Some(why))
                }
                PeriodOutcome::Charge(settlement) => {
                    let Some(payment_id) = &row.payment_id else {
                        continue;
                    };
                    let mut p = self
                        .payment_in(&mut tx.tx, None, payment_id, true)
                        .await?
                        .ok_or_else(|| invalid("payment", "vanished"))?;
                    if !p.status.is_final() {
                        self.settle(&mut tx.tx, &mut p, settlement).await?;
                    }
                    match p.status {
                        PaymentStatus::Succeeded => {
                            counts.1 += 1;
                            counts.2 += p.amount;
                            // `settle` marked the month charged through the paid invoice.
                            ("charged".to_owned(), row.id.clone(), None, None)
                        }
                        PaymentStatus::Processing | PaymentStatus::Unknown => (
                            "charging".to_owned(),
                            row.id.clone(),
                            Some(now + retry_after_ms.min(60_000)),
                            Some("the provider's answer is not known yet".to_owned()),
                        ),
                        PaymentStatus::Failed
                        | PaymentStatus::Cancelled
                        | PaymentStatus::NeedsReview => {
                            counts.3 += 1;
                            sqlx::query(
                                "UPDATE subscriptions SET failed_charges = failed_charges + 1, \
                                 status = CASE WHEN status = 'active' AND failed_charges + 1 >= $1 THEN 'suspended' ELSE status END WHERE id = $2",
                            )
                            .bind(suspend_after)
                            .bind(&row.subscription_id)
                            .execute(&mut *tx.tx)
                            .await?;
                            sqlx::query("UPDATE billing_periods SET payment_id = NULL, attempts = attempts + 1 WHERE id = $1")
                                .bind(&row.id)
                                .execute(&mut *tx.tx)
                                .await?;
                            (
                                "failed".to_owned(),
                                row.id.clone(),
                                Some(now + retry_after_ms),
                                p.message.clone(),
                            )
                        }
                    }
                }
            };
            sqlx::query(
                "UPDATE billing_periods SET status = CASE WHEN status IN ('charged', 'paid') THEN status ELSE $1 END, \
                 lease_until = NULL, lease_owner = NULL, next_attempt_at = $2, message = $3, updated_at = $4 WHERE id = $5",
            )
            .bind(&status)
            .bind(next)
            .bind(&message)
            .bind(now)
            .bind(&id)
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
        let moved = with_values(
            conn,
            &format!(
                "UPDATE payments SET status = 'succeeded', provider_reference = v.column2, authorization_code = v.column3, \
                 masked_pan = v.column4, card_brand = v.column5, next_check_at = NULL, updated_at = {now}, finished_at = {now} \
                 FROM (VALUES {{}}) AS v WHERE payments.id = v.column1 AND payments.status IN ('processing', 'unknown') \
                 RETURNING payments.id AS id, payments.invoice_id AS invoice_id, payments.amount AS amount"
            ),
            values,
        )
        .await?;
        let mut paid = Vec::with_capacity(moved.len());
        let mut moved_ids = std::collections::HashSet::with_capacity(moved.len());
        for row in &moved {
            let id: String = row.try_get("id")?;
            let invoice: Option<String> = row.try_get("invoice_id")?;
            let amount: i64 = row.try_get("amount")?;
            counts.1 += 1;
            counts.2 += amount;
            if let Some(invoice) = invoice {
                paid.push(vec![text(&invoice), text(&amount.to_string())]);
            }
            moved_ids.insert(id);
        }
        with_values(
            conn,
            "UPDATE invoices SET paid = invoices.paid + CAST(v.column2 AS BIGINT), status = CASE \
             WHEN invoices.paid + CAST(v.column2 AS BIGINT) >= invoices.total + invoices.credited THEN 'paid' \
             WHEN invoices.paid + CAST(v.column2 AS BIGINT) > 0 THEN 'partially_paid' ELSE 'finalised' END \
             FROM (VALUES {}) AS v WHERE invoices.id = v.column1",
            paid,
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
            &format!(
                "UPDATE billing_periods SET status = 'charged', lease_until = NULL, lease_owner = NULL, next_attempt_at = NULL, \
                 message = NULL, updated_at = {now} FROM (VALUES {{}}) AS v WHERE billing_periods.id = v.column1"
            ),
            months,
        )
        .await?;
        let subscriptions = done
            .iter()
            .map(|(row, _)| vec![text(&row.subscription_id)])
            .collect();
        with_values(
            conn,
            "UPDATE subscriptions SET failed_charges = 0, status = CASE WHEN subscriptions.status = 'suspended' THEN 'active' ELSE subscriptions.status END \
             FROM (VALUES {}) AS v WHERE subscriptions.id = v.column1 AND (subscriptions.failed_charges <> 0 OR subscriptions.status = 'suspended')",
            subscriptions,
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
