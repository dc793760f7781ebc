//! The day's close of a department (issue 16): End of Day on each terminal
//! whose plugin can run it, then, in one write, every settled payment no
//! earlier close took in (up to the moment the close began), its takings,
//! the payments still open, and what each terminal's provider totals say
//! against vetpay's books. The report is stored and never changes: closing the
//! same day again answers it, and a payment that settles after its day was
//! closed goes into the next close, marked with the day it belongs to.

use std::collections::BTreeMap;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use vetpay_domain::day_close::{
    ClosedPayment, ProviderTotals, Sums, Takings, TerminalSums, TotalsDifference, compare, takings,
};
use vetpay_domain::{Method, PaymentKind};

use super::{Clinic, ServiceError, invalid};
use crate::plugin::Capability;
use crate::plugin::types::TransactionKind;
use crate::store::{CloseClaim, Department, OpenPayment, SettledPayment};

/// A payment the close took in.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ClosedPaymentLine {
    pub id: String,
    pub kind: PaymentKind,
    pub method: Method,
    pub amount: i64,
    pub currency: String,
    pub terminal_id: Option<String>,
    pub plugin_id: Option<String>,
    pub finished_at: i64,
    /// The day it settled on, when that is not the closed day: it settled
    /// after its own day was closed (or that day was never closed).
    pub belongs_to: Option<String>,
}

/// A transaction a terminal's End of Day lists that vetpay never booked.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UnbookedTransaction {
    pub order_id: Option<String>,
    pub provider_reference: Option<String>,
    /// purchase, refund or deposit.
    pub kind: String,
    pub amount: i64,
    pub currency: String,
}

/// One terminal's End of Day against vetpay's books.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TerminalCheck {
    pub terminal_id: String,
    pub name: String,
    pub plugin_id: String,
    /// The provider's End of Day reference and report text.
    pub reference: Option<String>,
    pub report: Option<String>,
    /// Why End of Day did not run or failed; then nothing is compared.
    pub error: Option<String>,
    /// The provider's totals; null when it reports none.
    pub provider_totals: Option<Vec<ProviderTotals>>,
    /// Whether the provider's totals were compared with the books: not when
    /// End of Day failed or the provider reports no totals. A close with a
    /// terminal not compared is not balanced.
    pub compared: bool,
    /// What vetpay booked on the terminal in this close, per currency.
    pub booked: BTreeMap<String, TerminalSums>,
    pub differences: Vec<TotalsDifference>,
    /// Transactions vetpay never booked.
    pub unbooked: Vec<UnbookedTransaction>,
    /// Transactions vetpay booked, but not in this close: the payment is
    /// still open, or settled after the close's cut (it goes into the next).
    #[serde(default)]
    pub booked_elsewhere: Vec<UnbookedTransaction>,
}

/// The close of one department's day.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DayCloseReport {
    pub id: String,
    pub department_id: String,
    pub department: String,
    /// The department's local date.
    pub date: String,
    pub time_zone: String,
    pub closed_at: i64,
    /// Payments that finished before this moment are in the close.
    pub cut: i64,
    pub takings: Vec<Takings>,
    pub payments: Vec<ClosedPaymentLine>,
    /// Payments still running, unknown or waiting for review: their money
    /// may have moved; resolve them and they go into a later close.
    pub open_payments: Vec<OpenPayment>,
    pub terminals: Vec<TerminalCheck>,
    /// Nothing open, no late payment, and every terminal agrees.
    pub balanced: bool,
}

/// The answer to a close: the report, and whether this request wrote it.
pub struct Closed {
    pub report: DayCloseReport,
    pub created: bool,
}

fn time_zone(department: &Department) -> TimeZone {
    TimeZone::get(&department.time_zone).unwrap_or(TimeZone::UTC)
}

/// The first moment of `date` in `tz`, in Unix ms.
fn start_of(date: Date, tz: &TimeZone) -> Result<i64, ServiceError> {
    date.to_zoned(tz.clone())
        .map(|z| z.timestamp().as_millisecond())
        .map_err(|e| invalid("date", e.to_string()))
}

fn local_date(ms: i64, tz: &TimeZone) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_zoned(tz.clone()).date().to_string())
        .unwrap_or_default()
}

fn parse_report(text: &str) -> Result<DayCloseReport, ServiceError> {
    serde_json::from_str(text).map_err(|e| {
        ServiceError::Store(crate::store::StoreError::Corrupt {
            table: "day_closes",
            column: "report",
            row: String::new(),
            value: e.to_string(),
        })
    })
}

impl Clinic {
    /// A department's stored close of `date`.
    pub async fn day_close(
        &self,
        organisation_id: &str,
        department_id: &str,
        date: &str,
    ) -> Result<DayCloseReport, ServiceError> {
        self.department(organisation_id, department_id).await?;
        let text = self
            .store()
            .day_close(organisation_id, department_id, date)
            .await?
            .ok_or_else(|| {
                ServiceError::NotFound(format!("the department's {date} is not closed"))
            })?;
        parse_report(&text)
    }

    /// Closes a department's day (today in its time zone by default).
    pub async fn close_day(
        &self,
        organisation_id: &str,
        department_id: &str,
        date: Option<&str>,
    ) -> Result<Closed, ServiceError> {
        let department = self.department(organisation_id, department_id).await?;
        let tz = time_zone(&department);
        let now = jiff::Timestamp::now();
        let today = now.to_zoned(tz.clone()).date();
        let date = match date {
            Some(d) => d
                .parse::<Date>()
                .map_err(|_| invalid("date", format!("'{d}' is not a date (YYYY-MM-DD)")))?,
            None => today,
        };
        if date > today {
            return Err(invalid(
                "date",
                format!(
                    "{date} has not begun in {} ({})",
                    department.name, department.time_zone
                ),
            ));
        }
        let key = date.to_string();
        if let Some(text) = self
            .store()
            .day_close(organisation_id, department_id, &key)
            .await?
        {
            return Ok(Closed {
                report: parse_report(&text)?,
                created: false,
            });
        }
        if let Some(last) = self.store().last_closed_date(department_id).await?
            && last > key
        {
            return Err(invalid(
                "date",
                format!(
                    "{last} is closed already; its close took in the payments of every day before it"
                ),
            ));
        }
        let next_day = date
            .tomorrow()
            .map_err(|e| invalid("date", e.to_string()))?;
        let end = start_of(next_day, &tz)?;
        let day_start = start_of(date, &tz)?;
        // The claim first: End of Day runs once per close, whoever else
        // presses the button or closes the day on another host meanwhile.
        let id = match self
            .store()
            .claim_day_close(organisation_id, department_id, &key, now.as_millisecond())
            .await?
        {
            CloseClaim::Claimed(id) => id,
            CloseClaim::AlreadyClosed(text) => {
                return Ok(Closed {
                    report: parse_report(&text)?,
                    created: false,
                });
            }
        };
        let closed = self
            .close_claimed(&id, &department, date == today, &key, &tz, day_start, end)
            .await;
        if closed.is_err() {
            // The close failed before its report was written: let the day go.
            let _ = self.store().release_day_close(&id).await;
        }
        closed
    }

    #[allow(clippy::too_many_arguments)]
    async fn close_claimed(
        &self,
        id: &str,
        department: &Department,
        today: bool,
        key: &str,
        tz: &TimeZone,
        day_start: i64,
        end: i64,
    ) -> Result<Closed, ServiceError> {
        let organisation_id = &department.organisation_id;
        // Everything settled before this moment is in; what settles later goes
        // into the next close. End of Day runs after it, so a provider's batch
        // holds at least what vetpay books here.
        let cut = end.min(jiff::Timestamp::now().as_millisecond());
        let checks = if today {
            self.end_of_day(organisation_id, department).await?
        } else {
            Vec::new()
        };
        let (settled, open) = self.store().payments_to_close(&department.id, cut).await?;
        let closed_at = jiff::Timestamp::now().as_millisecond();
        // A listed transaction that is not this close's may be a payment
        // vetpay booked elsewhere (still open, or settled after the cut).
        let listed: Vec<(Option<String>, Option<String>)> = checks
            .iter()
            .flat_map(|c| c.unbooked.iter())
            .map(|t| (t.order_id.clone(), t.provider_reference.clone()))
            .collect();
        let known = self.store().payments_known(&department.id, &listed).await?;
        let mut report = build(
            department, key, tz, day_start, cut, closed_at, settled, open, checks, &known,
        )?;
        report.id = id.to_owned();
        let ids: Vec<String> = report.payments.iter().map(|p| p.id.clone()).collect();
        let text = serde_json::to_string(&report).map_err(|e| invalid("date", e.to_string()))?;
        self.store()
            .write_day_close(id, closed_at, &ids, &text)
            .await?;
        Ok(Closed {
            report,
            created: true,
        })
    }

    /// End of Day on every terminal of the department whose plugin runs it.
    async fn end_of_day(
        &self,
        organisation_id: &str,
        department: &Department,
    ) -> Result<Vec<TerminalCheck>, ServiceError> {
        let mut out = Vec::new();
        for terminal in self
            .store()
            .terminals(organisation_id, &department.id)
            .await?
        {
            let plugin = match self.plugin(organisation_id, &terminal.plugin_id).await {
                Ok(p) => p,
                Err(e) => {
                    out.push(check(&terminal, None, Some(e.to_string())));
                    continue;
                }
            };
            if !plugin.manifest().supports(Capability::Reconcile) {
                continue;
            }
            let tid = super::TerminalId::from(terminal.id.as_str());
            let oid = super::OrganisationId::from(organisation_id);
            match self.reconcile(&oid, &tid).await {
                Ok(rec) => out.push(check(&terminal, Some(rec), None)),
                Err(e) => out.push(check(&terminal, None, Some(e.to_string()))),
            }
        }
        Ok(out)
    }
}

fn check(
    terminal: &crate::store::Terminal,
    rec: Option<crate::plugin::types::Reconciliation>,
    error: Option<String>,
) -> TerminalCheck {
    let (reference, report, totals, transactions) = match rec {
        Some(r) => (r.reference, Some(r.report), r.totals, r.transactions),
        None => (None, None, None, None),
    };
    TerminalCheck {
        terminal_id: terminal.id.clone(),
        name: terminal.name.clone(),
        plugin_id: terminal.plugin_id.clone(),
        reference,
        report,
        error,
        provider_totals: totals.map(|list| {
            list.into_iter()
                .map(|t| ProviderTotals {
                    currency: t.currency,
                    purchases: Sums {
                        count: t.purchase_count,
                        total: t.purchase_total,
                    },
                    refunds: Sums {
                        count: t.refund_count,
                        total: t.refund_total,
                    },
                })
                .collect()
        }),
        booked: BTreeMap::new(),
        compared: false,
        differences: Vec::new(),
        booked_elsewhere: Vec::new(),
        // Filled in against the books by `build`; kept here until then.
        unbooked: transactions
            .unwrap_or_default()
            .into_iter()
            .map(|t| UnbookedTransaction {
                order_id: t.order_id,
                provider_reference: t.provider_reference,
                kind: match t.kind {
                    TransactionKind::Purchase => "purchase",
                    TransactionKind::Refund => "refund",
                    TransactionKind::Deposit => "deposit",
                }
                .to_owned(),
                amount: t.amount.minor_units,
                currency: t.amount.currency,
            })
            .collect(),
    }
}

#[allow(clippy::too_many_arguments)]
fn build(
    department: &Department,
    date: &str,
    tz: &TimeZone,
    day_start: i64,
    cut: i64,
    closed_at: i64,
    settled: Vec<SettledPayment>,
    open: Vec<OpenPayment>,
    mut checks: Vec<TerminalCheck>,
    // Order ids and provider references of the department's payments among
    // the transactions the terminals listed.
    known: &std::collections::BTreeSet<String>,
) -> Result<DayCloseReport, ServiceError> {
    let closed: Vec<ClosedPayment> = settled
        .iter()
        .map(|p| ClosedPayment {
            id: p.id.clone(),
            kind: p.kind,
            method: p.method,
            amount: p.amount,
            currency: p.currency.clone(),
            terminal_id: p.terminal_id.clone(),
            plugin_id: p.plugin_id.clone(),
        })
        .collect();
    let takings = takings(&closed).map_err(|e| invalid("date", e.to_string()))?;
    let payments: Vec<ClosedPaymentLine> = settled
        .into_iter()
        .map(|p| ClosedPaymentLine {
            belongs_to: (p.finished_at < day_start).then(|| local_date(p.finished_at, tz)),
            id: p.id,
            kind: p.kind,
            method: p.method,
            amount: p.amount,
            currency: p.currency,
            terminal_id: p.terminal_id,
            plugin_id: p.plugin_id,
            finished_at: p.finished_at,
        })
        .collect();
    for check in &mut checks {
        check.booked = takings
            .iter()
            .filter_map(|t| {
                t.terminals
                    .get(&check.terminal_id)
                    .map(|s| (t.currency.clone(), s.clone()))
            })
            .collect();
        if let Some(totals) = &check.provider_totals {
            check.differences = compare(totals, &check.booked);
            check.compared = true;
        }
        // A listed transaction is this close's when one of its payments has
        // its order id (vetpay sends the payment's id); else the department's
        // payments are asked by order id and provider reference.
        let in_close = |t: &UnbookedTransaction| {
            payments
                .iter()
                .any(|p| t.order_id.as_deref() == Some(p.id.as_str()))
        };
        let booked = |t: &UnbookedTransaction| {
            t.order_id.as_ref().is_some_and(|o| known.contains(o))
                || t.provider_reference
                    .as_ref()
                    .is_some_and(|r| known.contains(r))
        };
        let listed = std::mem::take(&mut check.unbooked);
        for t in listed {
            if in_close(&t) {
                continue;
            }
            if booked(&t) {
                check.booked_elsewhere.push(t);
            } else {
                check.unbooked.push(t);
            }
        }
    }
    let balanced = open.is_empty()
        && payments.iter().all(|p| p.belongs_to.is_none())
        && checks.iter().all(|c| {
            c.compared
                && c.differences.is_empty()
                && c.unbooked.is_empty()
                && c.booked_elsewhere.is_empty()
        });
    Ok(DayCloseReport {
        id: String::new(),
        department_id: department.id.clone(),
        department: department.name.clone(),
        date: date.to_owned(),
        time_zone: department.time_zone.clone(),
        closed_at,
        cut,
        takings,
        payments,
        open_payments: open,
        terminals: checks,
        balanced,
    })
}

impl DayCloseReport {
    /// One line per payment taken in, with a header.
    pub fn csv(&self) -> String {
        let mut out = csv::Writer::from_writer(Vec::new());
        let header = [
            "date",
            "payment_id",
            "kind",
            "method",
            "amount",
            "currency",
            "terminal_id",
            "plugin_id",
            "finished_at",
            "belongs_to",
        ];
        // Writing to memory cannot fail.
        let _ = out.write_record(header);
        for p in &self.payments {
            let _ = out.write_record([
                self.date.as_str(),
                &p.id,
                p.kind.as_str(),
                p.method.as_str(),
                &p.amount.to_string(),
                &p.currency,
                p.terminal_id.as_deref().unwrap_or(""),
                p.plugin_id.as_deref().unwrap_or(""),
                &p.finished_at.to_string(),
                p.belongs_to.as_deref().unwrap_or(""),
            ]);
        }
        String::from_utf8(out.into_inner().unwrap_or_default()).unwrap_or_default()
    }

    /// A plain receipt to print.
    pub fn text(&self) -> String {
        let money = |minor: i64, currency: &str| match vetpay_domain::Money::of(minor, currency) {
            Ok(m) => format!("{} {currency}", m.to_decimal_string()),
            Err(_) => format!("{minor} {currency}"),
        };
        let mut out = format!(
            "DAY CLOSE\n{}\n{} ({})\n",
            self.department, self.date, self.time_zone
        );
        for t in &self.takings {
            out.push_str(&format!("\n{}\n", t.currency));
            for (title, group) in [
                ("payments", &t.payments),
                ("deposits", &t.deposits),
                ("refunds", &t.refunds),
            ] {
                for (method, s) in group {
                    out.push_str(&format!(
                        "  {title:<9} {method:<14} {:>4}  {:>16}\n",
                        s.count,
                        money(s.total, &t.currency)
                    ));
                }
            }
            out.push_str(&format!(
                "  {:<24} {:>22}\n",
                "net",
                money(t.net, &t.currency)
            ));
        }
        for c in &self.terminals {
            let agrees = c.differences.is_empty() && c.unbooked.is_empty();
            let state = match (&c.error, c.compared, agrees) {
                (Some(e), _, _) => format!("End of Day failed: {e}"),
                (None, false, _) => "End of Day gave no totals: not compared".to_owned(),
                (None, true, true) => "End of Day agrees".to_owned(),
                (None, true, false) => format!(
                    "End of Day differs: {} total(s), {} unbooked transaction(s)",
                    c.differences.len(),
                    c.unbooked.len()
                ),
            };
            out.push_str(&format!("\nterminal {}: {state}\n", c.name));
        }
        if !self.open_payments.is_empty() {
            out.push_str(&format!(
                "\n{} payment(s) still open: resolve them\n",
                self.open_payments.len()
            ));
        }
        let late = self
            .payments
            .iter()
            .filter(|p| p.belongs_to.is_some())
            .count();
        if late > 0 {
            out.push_str(&format!("{late} payment(s) from an earlier day\n"));
        }
        out.push_str(if self.balanced {
            "\nBALANCED\n"
        } else {
            "\nNOT BALANCED: see the differences\n"
        });
        out
    }
}
