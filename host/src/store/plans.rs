//! Health plans: the catalog (plans and their included items) and the
//! subscriptions of patients to them, with what is left of each item. The
//! rules (who may sign up, what cancelling costs) are the domain's
//! (`vetpay_domain::plan`); this module loads their inputs and saves their
//! decisions.

use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use vetpay_domain::plan::{self as rules, Candidate, Eligibility, EligibilityError, UsedItem};
use vetpay_domain::{
    BillingPeriodId, Currency, Money, PaymentOption, Period, SubscriptionId, SubscriptionStatus,
    settled_status, sql_list,
};

use super::ledger::reserve_numbers;
use super::rows::{line_decimal, used_units};
use super::text_enum::column;
use super::{
    Conflict, Store, StoreError, flag, invalid, new_id, now_ms, stored_currency, stored_decimal,
    unique_or,
};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PlanItem {
    pub code: String,
    pub description: String,
    /// Included per contract (decimal text).
    pub quantity: String,
    /// Off the included units (100: free).
    pub discount_percent: String,
    /// The item's normal price in minor units, without VAT.
    pub unit_price: i64,
    pub vat_rate: String,
    /// The catalog item: a consultation charges its catalog price once the
    /// included units are used.
    pub item_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Plan {
    pub id: String,
    pub name: String,
    pub description: String,
    /// Null for any species.
    pub species: Option<String>,
    pub min_age_months: Option<i64>,
    pub max_age_months: Option<i64>,
    pub sale_from: Option<String>,
    pub sale_until: Option<String>,
    /// The department that receives the payments.
    pub main_department_id: String,
    /// ISO 4217, the currency of every price here and of the items' prices.
    #[schema(value_type = String)]
    pub currency: Currency,
    pub contract_months: i64,
    #[serde(serialize_with = "vetpay_money::serialize_minor_units")]
    #[schema(value_type = i64)]
    pub monthly_price: Money,
    #[serde(serialize_with = "vetpay_money::serialize_minor_units")]
    #[schema(value_type = i64)]
    pub upfront_price: Money,
    #[serde(serialize_with = "vetpay_money::serialize_minor_units")]
    #[schema(value_type = i64)]
    pub cancellation_fee: Money,
    pub renews: bool,
    pub next_plan_id: Option<String>,
    pub items: Vec<PlanItem>,
}

/// What creating a plan takes; decimals already parsed.
#[derive(Debug, Clone)]
pub struct NewPlan {
    pub name: String,
    pub description: String,
    pub species: Option<String>,
    pub min_age_months: Option<i64>,
    pub max_age_months: Option<i64>,
    pub sale_from: Option<String>,
    pub sale_until: Option<String>,
    pub main_department_id: String,
    pub contract_months: i64,
    pub monthly_price: i64,
    pub upfront_price: i64,
    pub cancellation_fee: i64,
    pub renews: bool,
    pub next_plan_id: Option<String>,
    pub items: Vec<NewPlanItem>,
}

#[derive(Debug, Clone)]
pub struct NewPlanItem {
    pub code: String,
    pub description: String,
    pub quantity: Decimal,
    pub discount_percent: Decimal,
    pub unit_price: i64,
    pub vat_rate: Decimal,
    pub item_id: Option<String>,
}

/// An included item of a subscription and how much of it is left.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ItemBalance {
    pub code: String,
    pub description: String,
    pub included: String,
    pub used: String,
    pub remaining: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Subscription {
    pub id: String,
    pub plan_id: String,
    pub client_id: String,
    pub patient_id: String,
    pub department_id: String,
    pub payment_option: PaymentOption,
    pub card_id: Option<String>,
    pub status: SubscriptionStatus,
    /// First month of the contract (YYYY-MM).
    pub start_period: String,
    /// The month after the contract's last.
    pub end_period: String,
    pub failed_charges: i64,
    pub renewed_from: Option<String>,
    pub close_reason: Option<String>,
    /// Included items and what is left of them.
    pub items: Vec<ItemBalance>,
}

#[derive(Debug, Clone)]
pub struct NewSubscription {
    pub plan_id: String,
    pub client_id: String,
    pub patient_id: String,
    pub payment_option: PaymentOption,
    pub card_id: Option<String>,
    pub start_period: Period,
}

fn date(field: &str, value: &Option<String>) -> Result<Option<jiff::civil::Date>, StoreError> {
    value
        .as_deref()
        .map(|d| {
            d.parse::<jiff::civil::Date>()
                .map_err(|_| invalid(field, format!("'{d}' is not a date like 2026-03-01")))
        })
        .transpose()
}

/// A sign-up the domain refused: the sale window is a conflict with the
/// catalog, the patient's fit an input to fix.
fn eligibility(e: EligibilityError) -> StoreError {
    match e {
        EligibilityError::NotOnSaleYet { plan, from } => {
            Conflict::NotOnSaleYet { plan, from }.into()
        }
        EligibilityError::SaleOver { plan, until } => Conflict::SaleOver { plan, until }.into(),
        other => invalid("patient_id", other.to_string()),
    }
}

/// A date read back from `table.column` of row `row`: it was checked when
/// written, so one that does not parse is corrupt, never the caller's mistake.
fn stored_date(
    table: &'static str,
    column: &'static str,
    row: &str,
    value: &Option<String>,
) -> Result<Option<jiff::civil::Date>, StoreError> {
    value
        .as_deref()
        .map(|d| {
            d.parse::<jiff::civil::Date>()
                .map_err(|_| StoreError::Corrupt {
                    table,
                    column,
                    row: row.to_owned(),
                    value: d.to_owned(),
                })
        })
        .transpose()
}

fn item(row: &AnyRow) -> Result<PlanItem, StoreError> {
    Ok(PlanItem {
        code: row.try_get("code")?,
        description: row.try_get("description")?,
        quantity: row.try_get("quantity")?,
        discount_percent: row.try_get("discount_percent")?,
        unit_price: row.try_get("unit_price")?,
        vat_rate: row.try_get("vat_rate")?,
        item_id: row.try_get("item_id")?,
    })
}

fn plan(row: &AnyRow, items: Vec<PlanItem>) -> Result<Plan, StoreError> {
    let species: String = row.try_get("species")?;
    let id: String = row.try_get("id")?;
    let currency = stored_currency("plans", &id, &row.try_get::<String, _>("currency")?)?;
    let money = |column: &str| -> Result<Money, StoreError> {
        Ok(Money::new(row.try_get(column)?, currency))
    };
    Ok(Plan {
        id,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        species: (!species.is_empty()).then_some(species),
        min_age_months: row.try_get("min_age_months")?,
        max_age_months: row.try_get("max_age_months")?,
        sale_from: row.try_get("sale_from")?,
        sale_until: row.try_get("sale_until")?,
        main_department_id: row.try_get("main_department_id")?,
        currency,
        contract_months: row.try_get("contract_months")?,
        monthly_price: money("monthly_price")?,
        upfront_price: money("upfront_price")?,
        cancellation_fee: money("cancellation_fee")?,
        renews: row.try_get::<i64, _>("renews")? == 1,
        next_plan_id: row.try_get("next_plan_id")?,
        items,
    })
}

fn subscription(row: &AnyRow) -> Result<Subscription, StoreError> {
    Ok(Subscription {
        id: row.try_get("id")?,
        plan_id: row.try_get("plan_id")?,
        client_id: row.try_get("client_id")?,
        patient_id: row.try_get("patient_id")?,
        department_id: row.try_get("department_id")?,
        payment_option: column(row, "subscriptions", "payment_option")?,
        card_id: row.try_get("card_id")?,
        status: column(row, "subscriptions", "status")?,
        start_period: row.try_get("start_period")?,
        end_period: row.try_get("end_period")?,
        failed_charges: row.try_get("failed_charges")?,
        renewed_from: row.try_get("renewed_from")?,
        close_reason: row.try_get("close_reason")?,
        items: Vec::new(),
    })
}

impl Store {
    pub async fn create_plan(
        &self,
        organisation_id: &str,
        currency: &str,
        new: NewPlan,
    ) -> Result<Plan, StoreError> {
        if new.name.trim().is_empty() {
            return Err(invalid("name", "give the plan a name"));
        }
        if !(1..=120).contains(&new.contract_months) {
            return Err(invalid("contract_months", "must be from 1 to 120"));
        }
        for (field, v) in [
            ("monthly_price", new.monthly_price),
            ("upfront_price", new.upfront_price),
            ("cancellation_fee", new.cancellation_fee),
        ] {
            if v < 0 {
                return Err(invalid(field, "must not be negative (minor units)"));
            }
            self.check_amount(field, v, currency)?;
        }
        if let (Some(min), Some(max)) = (new.min_age_months, new.max_age_months)
            && min > max
        {
            return Err(invalid(
                "max_age_months",
                "must not be below min_age_months",
            ));
        }
        if let (Some(from), Some(until)) = (
            date("sale_from", &new.sale_from)?,
            date("sale_until", &new.sale_until)?,
        ) && from > until
        {
            return Err(invalid(
                "sale_until",
                "the sale window ends before it starts",
            ));
        }
        let hundred = Decimal::ONE_HUNDRED;
        for (i, it) in new.items.iter().enumerate() {
            let field = |f: &str| format!("items[{i}].{f}");
            if it.code.trim().is_empty() {
                return Err(invalid(&field("code"), "give the item a code"));
            }
            if new.items.iter().filter(|o| o.code == it.code).count() > 1 {
                return Err(invalid(
                    &field("code"),
                    format!("'{}' appears twice", it.code),
                ));
            }
            if it.quantity.is_sign_negative() {
                return Err(invalid(&field("quantity"), "must not be negative"));
            }
            if it.discount_percent.is_sign_negative() || it.discount_percent > hundred {
                return Err(invalid(&field("discount_percent"), "must be from 0 to 100"));
            }
            if it.vat_rate.is_sign_negative() || it.vat_rate > hundred {
                return Err(invalid(&field("vat_rate"), "must be from 0 to 100"));
            }
            if it.unit_price < 0 {
                return Err(invalid(&field("unit_price"), "must not be negative"));
            }
            self.check_amount(&field("unit_price"), it.unit_price, currency)?;
        }
        if let Some(next) = &new.next_plan_id
            && self.plan(organisation_id, next).await?.is_none()
        {
            return Err(invalid(
                "next_plan_id",
                "no plan with this id in your organisation",
            ));
        }
        let id = new_id();
        let mut tx = self.write().await?;
        sqlx::query(
            "INSERT INTO plans (id, organisation_id, name, description, species, min_age_months, max_age_months, sale_from, sale_until, \
             main_department_id, currency, contract_months, monthly_price, upfront_price, cancellation_fee, renews, next_plan_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
        )
        .bind(&id)
        .bind(organisation_id)
        .bind(new.name.trim())
        .bind(&new.description)
        .bind(new.species.as_deref().unwrap_or("").trim().to_lowercase())
        .bind(new.min_age_months)
        .bind(new.max_age_months)
        .bind(&new.sale_from)
        .bind(&new.sale_until)
        .bind(&new.main_department_id)
        .bind(currency)
        .bind(new.contract_months)
        .bind(new.monthly_price)
        .bind(new.upfront_price)
        .bind(new.cancellation_fee)
        .bind(flag(new.renews))
        .bind(&new.next_plan_id)
        .bind(now_ms())
        .execute(&mut *tx.tx)
        .await?;
        for it in &new.items {
            sqlx::query(
                "INSERT INTO plan_items (plan_id, code, description, quantity, discount_percent, unit_price, vat_rate, item_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&id)
            .bind(it.code.trim())
            .bind(&it.description)
            .bind(it.quantity.normalize().to_string())
            .bind(it.discount_percent.normalize().to_string())
            .bind(it.unit_price)
            .bind(it.vat_rate.normalize().to_string())
            .bind(&it.item_id)
            .execute(&mut *tx.tx)
            .await?;
        }
        tx.commit().await?;
        self.plan(organisation_id, &id)
            .await?
            .ok_or_else(|| invalid("plan", "vanished"))
    }

    pub async fn plan(&self, organisation_id: &str, id: &str) -> Result<Option<Plan>, StoreError> {
        let Some(row) = sqlx::query("SELECT * FROM plans WHERE organisation_id = $1 AND id = $2")
            .bind(organisation_id)
            .bind(id)
            .fetch_optional(self.pool())
            .await?
        else {
            return Ok(None);
        };
        let items = sqlx::query("SELECT * FROM plan_items WHERE plan_id = $1 ORDER BY code")
            .bind(id)
            .fetch_all(self.pool())
            .await?;
        let items = items.iter().map(item).collect::<Result<_, _>>()?;
        Ok(Some(plan(&row, items)?))
    }

    pub async fn plans(&self, organisation_id: &str) -> Result<Vec<Plan>, StoreError> {
        let rows = sqlx::query("SELECT id FROM plans WHERE organisation_id = $1 ORDER BY name, id")
            .bind(organisation_id)
            .fetch_all(self.pool())
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let id: String = row.try_get("id")?;
            if let Some(p) = self.plan(organisation_id, &id).await? {
                out.push(p);
            }
        }
        Ok(out)
    }

    /// Signs a patient up (status applied). The caller checked the card and
    /// the department setting for saved-card plans.
    pub async fn subscribe(
        &self,
        organisation_id: &str,
        new: NewSubscription,
        today: jiff::civil::Date,
    ) -> Result<Subscription, StoreError> {
        let plan = self
            .plan(organisation_id, &new.plan_id)
            .await?
            .ok_or_else(|| invalid("plan_id", "no plan with this id in your organisation"))?;
        let terms = Eligibility {
            plan_name: plan.name.clone(),
            species: plan.species.clone(),
            min_age_months: plan.min_age_months,
            max_age_months: plan.max_age_months,
            sale_from: stored_date("plans", "sale_from", &plan.id, &plan.sale_from)?,
            sale_until: stored_date("plans", "sale_until", &plan.id, &plan.sale_until)?,
        };
        // The sale window first: a plan off sale is refused whoever the patient is.
        terms.check_on_sale(today).map_err(eligibility)?;
        let patient = sqlx::query(
            "SELECT species, birth_date FROM patients WHERE organisation_id = $1 AND id = $2 AND client_id = $3",
        )
        .bind(organisation_id)
        .bind(&new.patient_id)
        .bind(&new.client_id)
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| invalid("patient_id", "no patient with this id belongs to the client"))?;
        let candidate = Candidate {
            species: patient.try_get("species")?,
            birth_date: stored_date(
                "patients",
                "birth_date",
                &new.patient_id,
                &patient.try_get("birth_date")?,
            )?,
        };
        terms
            .check_patient(&candidate, today)
            .map_err(eligibility)?;
        let id = new_id();
        let end = new.start_period.plus_months(plan.contract_months);
        let mut tx = self.write().await?;
        // Checked in the write transaction; the unique index
        // `subscriptions_one_open_per_patient` catches a concurrent sign-up
        // that passed this check at the same time.
        let open = sqlx::query(
            &format!(
                "SELECT id FROM subscriptions WHERE organisation_id = $1 AND patient_id = $2 AND status IN ({})",
                sql_list(SubscriptionStatus::ALL.iter().copied().filter(|s| s.is_open()))
            ),
        )
        .bind(organisation_id)
        .bind(&new.patient_id)
        .fetch_optional(&mut *tx.tx)
        .await?;
        if let Some(row) = open {
            return Err(Conflict::OpenSubscription {
                subscription_id: Some(row.try_get("id")?),
            }
            .into());
        }
        let inserted = sqlx::query(
            "INSERT INTO subscriptions (id, organisation_id, plan_id, client_id, patient_id, department_id, payment_option, card_id, status, \
             start_period, end_period, failed_charges, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'applied', $9, $10, 0, $11)",
        )
        .bind(&id)
        .bind(organisation_id)
        .bind(&plan.id)
        .bind(&new.client_id)
        .bind(&new.patient_id)
        .bind(&plan.main_department_id)
        .bind(new.payment_option.as_str())
        .bind(&new.card_id)
        .bind(new.start_period.to_string())
        .bind(end.to_string())
        .bind(now_ms())
        .execute(&mut *tx.tx)
        .await;
        inserted.map_err(|e| {
            unique_or(
                e,
                Conflict::OpenSubscription {
                    subscription_id: None,
                },
            )
        })?;
        tx.commit().await?;
        self.require_subscription(organisation_id, &id).await
    }

    pub(crate) async fn require_subscription(
        &self,
        organisation_id: &str,
        id: &str,
    ) -> Result<Subscription, StoreError> {
        self.subscription(organisation_id, id)
            .await?
            .ok_or_else(|| {
                invalid(
                    "subscription",
                    "no subscription with this id in your organisation",
                )
            })
    }

    /// A subscription with its item balances.
    pub async fn subscription(
        &self,
        organisation_id: &str,
        id: &str,
    ) -> Result<Option<Subscription>, StoreError> {
        let Some(row) =
            sqlx::query("SELECT * FROM subscriptions WHERE organisation_id = $1 AND id = $2")
                .bind(organisation_id)
                .bind(id)
                .fetch_optional(self.pool())
                .await?
        else {
            return Ok(None);
        };
        let mut s = subscription(&row)?;
        let plan = self
            .plan(organisation_id, &s.plan_id)
            .await?
            .ok_or_else(|| invalid("plan", "vanished"))?;
        let mut conn = self.pool().acquire().await?;
        let used = used_units(&mut conn, &s.id, "").await?;
        s.items = plan
            .items
            .iter()
            .map(|it| {
                let included = stored_decimal(
                    "plan_items",
                    "quantity",
                    &format!("{}:{}", plan.id, it.code),
                    &it.quantity,
                )?;
                let u = used
                    .iter()
                    .find(|(c, _)| *c == it.code)
                    .map(|(_, q)| *q)
                    .unwrap_or_default();
                Ok(ItemBalance {
                    code: it.code.clone(),
                    description: it.description.clone(),
                    included: it.quantity.clone(),
                    used: u.normalize().to_string(),
                    remaining: rules::remaining_units(included, u).normalize().to_string(),
                })
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(Some(s))
    }

    /// Subscriptions of the organisation, optionally of one client.
    pub async fn subscriptions(
        &self,
        organisation_id: &str,
        client_id: Option<&str>,
    ) -> Result<Vec<Subscription>, StoreError> {
        let rows = sqlx::query(
            "SELECT id FROM subscriptions WHERE organisation_id = $1 AND ($2 = '' OR client_id = $2) ORDER BY created_at, id LIMIT 500",
        )
        .bind(organisation_id)
        .bind(client_id.unwrap_or(""))
        .fetch_all(self.pool())
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let id: String = row.try_get("id")?;
            if let Some(s) = self.subscription(organisation_id, &id).await? {
                out.push(s);
            }
        }
        Ok(out)
    }

    /// Moves a subscription to `to` if it is in one of `from`; false otherwise.
    pub async fn set_subscription_status(
        &self,
        organisation_id: &str,
        id: &str,
        from: &[SubscriptionStatus],
        to: SubscriptionStatus,
        reason: Option<&str>,
    ) -> Result<bool, StoreError> {
        let allowed: Vec<String> = from.iter().map(|s| format!("'{}'", s.as_str())).collect();
        let closing = matches!(to, SubscriptionStatus::Lapsed | SubscriptionStatus::Ended);
        let mut tx = self.write().await?;
        let done = sqlx::query(&format!(
            "UPDATE subscriptions SET status = $1, close_reason = COALESCE($2, close_reason), \
             activated_at = CASE WHEN $1 = 'active' AND activated_at IS NULL THEN $3 ELSE activated_at END, \
             closed_at = CASE WHEN $4 = 1 THEN $3 ELSE closed_at END \
             WHERE organisation_id = $5 AND id = $6 AND status IN ({})",
            allowed.join(", ")
        ))
        .bind(to.as_str())
        .bind(reason)
        .bind(now_ms())
        .bind(flag(closing))
        .bind(organisation_id)
        .bind(id)
        .execute(&mut *tx.tx)
        .await?
        .rows_affected()
            == 1;
        tx.commit().await?;
        Ok(done)
    }

    /// Records a patient's birth date (ISO), for plans with age limits.
    pub async fn set_patient_birth_date(
        &self,
        organisation_id: &str,
        patient_id: &str,
        birth_date: &str,
    ) -> Result<(), StoreError> {
        date("birth_date", &Some(birth_date.to_owned()))?;
        let mut tx = self.write().await?;
        sqlx::query("UPDATE patients SET birth_date = $1 WHERE organisation_id = $2 AND id = $3")
            .bind(birth_date)
            .bind(organisation_id)
            .bind(patient_id)
            .execute(&mut *tx.tx)
            .await?;
        tx.commit().await
    }
}

/// One line of an invoice the plans issue themselves (quantity 1, VAT-free
/// plan prices); a settlement may have a negative line.
pub struct IssuedLine {
    pub description: String,
    pub amount: i64,
}

/// A plan invoice to issue.
pub(crate) struct Issue<'a> {
    pub currency: &'a str,
    /// plan_period, plan_advance or plan_cancellation.
    pub purpose: &'a str,
    pub period: Option<&'a str>,
    pub lines: &'a [IssuedLine],
}

impl Store {
    /// Issues a finalised plan invoice in one transaction, with its number.
    pub(crate) async fn issue_plan_invoice(
        &self,
        conn: &mut AnyConnection,
        organisation_id: &str,
        s: &Subscription,
        issue: Issue<'_>,
    ) -> Result<String, StoreError> {
        let Issue {
            currency,
            purpose,
            period,
            lines,
        } = issue;
        let number = reserve_numbers(conn, organisation_id, 1).await?;
        let total = lines
            .iter()
            .try_fold(0i64, |t, l| t.checked_add(l.amount))
            .ok_or_else(|| invalid("total", "too large"))?;
        let status = settled_status(total, 0, 0);
        let id = new_id();
        let now = now_ms();
        sqlx::query(
            "INSERT INTO invoices (id, organisation_id, department_id, client_id, patient_id, kind, number, status, currency, net, vat, total, \
             paid, credited, created_at, finalised_at, subscription_id, billing_period, purpose) \
             VALUES ($1, $2, $3, $4, $5, 'counter_sale', $6, $7, $8, $9, 0, $9, 0, 0, $10, $10, $11, $12, $13)",
        )
        .bind(&id)
        .bind(organisation_id)
        .bind(&s.department_id)
        .bind(&s.client_id)
        .bind(&s.patient_id)
        .bind(number)
        .bind(status.as_str())
        .bind(currency)
        .bind(total)
        .bind(now)
        .bind(&s.id)
        .bind(period)
        .bind(purpose)
        .execute(&mut *conn)
        .await?;
        for (i, l) in lines.iter().enumerate() {
            sqlx::query(
                "INSERT INTO invoice_lines (invoice_id, position, description, quantity, unit_price, vat_rate, discount_percent, net, vat, total) \
                 VALUES ($1, $2, $3, '1', $4, '0', '0', $4, 0, $4)",
            )
            .bind(&id)
            .bind(i as i64 + 1)
            .bind(&l.description)
            .bind(l.amount)
            .execute(&mut *conn)
            .await?;
        }
        Ok(id)
    }

    /// Activates an applied subscription; an advance plan gets its one
    /// invoice for the whole contract.
    pub async fn activate_subscription(
        &self,
        organisation_id: &str,
        id: &str,
    ) -> Result<Subscription, StoreError> {
        let s = self.require_subscription(organisation_id, id).await?;
        if s.status != SubscriptionStatus::Applied {
            return Err(Conflict::NotApplied { status: s.status }.into());
        }
        let plan = self
            .plan(organisation_id, &s.plan_id)
            .await?
            .ok_or_else(|| invalid("plan", "vanished"))?;
        let mut tx = self.write().await?;
        if s.payment_option == PaymentOption::Advance {
            self.issue_plan_invoice(
                &mut tx.tx,
                organisation_id,
                &s,
                Issue {
                    currency: plan.currency.code(),
                    purpose: "plan_advance",
                    period: Some(&s.start_period),
                    lines: &[IssuedLine {
                        description: format!(
                            "{}: {} months from {} paid in advance",
                            plan.name, plan.contract_months, s.start_period
                        ),
                        amount: plan.upfront_price.minor_units,
                    }],
                },
            )
            .await?;
        }
        sqlx::query("UPDATE subscriptions SET status = 'active', activated_at = $1 WHERE id = $2")
            .bind(now_ms())
            .bind(id)
            .execute(&mut *tx.tx)
            .await?;
        tx.commit().await?;
        self.require_subscription(organisation_id, id).await
    }

    /// The month's invoice of a plan whose invoices are made by hand; asking
    /// again for the same month gives the same invoice.
    pub async fn manual_period_invoice(
        &self,
        organisation_id: &str,
        id: &str,
        period: Period,
    ) -> Result<String, StoreError> {
        let s = self.require_subscription(organisation_id, id).await?;
        if s.payment_option != PaymentOption::Manual {
            return Err(Conflict::NotManual {
                option: s.payment_option,
            }
            .into());
        }
        if !s.status.is_running() {
            return Err(Conflict::SubscriptionNotRunning { status: s.status }.into());
        }
        let p = period.to_string();
        if p < s.start_period || p >= s.end_period {
            return Err(invalid(
                "period",
                format!(
                    "the contract runs from {} until before {}",
                    s.start_period, s.end_period
                ),
            ));
        }
        let plan = self
            .plan(organisation_id, &s.plan_id)
            .await?
            .ok_or_else(|| invalid("plan", "vanished"))?;
        let month = BillingPeriodId::of(&SubscriptionId::new(s.id.clone()), period);
        let mut tx = self.write().await?;
        let existing = sqlx::query("SELECT invoice_id FROM billing_periods WHERE id = $1")
            .bind(month.as_str())
            .fetch_optional(&mut *tx.tx)
            .await?;
        if let Some(row) = existing
            && let Some(invoice) = row.try_get::<Option<String>, _>("invoice_id")?
        {
            return Ok(invoice);
        }
        let invoice = self
            .issue_plan_invoice(
                &mut tx.tx,
                organisation_id,
                &s,
                Issue {
                    currency: plan.currency.code(),
                    purpose: "plan_period",
                    period: Some(&p),
                    lines: &[IssuedLine {
                        description: format!("{} {p}", plan.name),
                        amount: plan.monthly_price.minor_units,
                    }],
                },
            )
            .await?;
        sqlx::query(
            "INSERT INTO billing_periods (id, organisation_id, subscription_id, period, status, invoice_id, attempts, updated_at) \
             VALUES ($1, $2, $3, $4, 'invoiced', $5, 0, $6)",
        )
        .bind(month.as_str())
        .bind(organisation_id)
        .bind(&s.id)
        .bind(&p)
        .bind(&invoice)
        .bind(now_ms())
        .execute(&mut *tx.tx)
        .await?;
        tx.commit().await?;
        Ok(invoice)
    }

    /// Cancels a subscription (lapsed) and settles it: an invoice of the
    /// cancellation fee plus the value of the items used, less what was paid
    /// under the plan. A negative total is what the clinic owes the client.
    pub async fn cancel_subscription(
        &self,
        organisation_id: &str,
        id: &str,
        reason: &str,
    ) -> Result<(Subscription, String), StoreError> {
        let s = self.require_subscription(organisation_id, id).await?;
        if !s.status.is_open() {
            return Err(Conflict::SubscriptionClosed { status: s.status }.into());
        }
        let plan = self
            .plan(organisation_id, &s.plan_id)
            .await?
            .ok_or_else(|| invalid("plan", "vanished"))?;
        let mut tx = self.write().await?;
        // The benefit of each used item: its price times the plan's discount.
        let used = sqlx::query(
            "SELECT invoice_id, position, included_quantity, unit_price, discount_percent FROM invoice_lines WHERE subscription_id = $1 AND included_quantity IS NOT NULL",
        )
        .bind(&s.id)
        .fetch_all(&mut *tx.tx)
        .await?;
        let currency = plan.currency;
        let used = used
            .iter()
            .map(|row| {
                Ok(UsedItem {
                    quantity: line_decimal(row, "included_quantity")?,
                    unit_price: Money::new(row.try_get("unit_price")?, currency),
                    discount_percent: line_decimal(row, "discount_percent")?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let paid: i64 = sqlx::query(
            "SELECT CAST(COALESCE(SUM(paid), 0) AS BIGINT) AS s FROM invoices WHERE subscription_id = $1 AND (purpose IS NULL OR purpose <> 'plan_cancellation')",
        )
        .bind(&s.id)
        .fetch_one(&mut *tx.tx)
        .await?
        .try_get("s")?;
        let settlement = rules::cancellation_settlement(
            plan.cancellation_fee,
            &used,
            Money::new(paid, currency),
        )
        .map_err(|e| invalid("items", e.to_string()))?;
        let invoice = self
            .issue_plan_invoice(
                &mut tx.tx,
                organisation_id,
                &s,
                Issue {
                    currency: plan.currency.code(),
                    purpose: "plan_cancellation",
                    period: None,
                    lines: &[
                        IssuedLine {
                            description: "Cancellation fee".into(),
                            amount: settlement.fee.minor_units,
                        },
                        IssuedLine {
                            description: "Value of the plan's items used".into(),
                            amount: settlement.used_value.minor_units,
                        },
                        IssuedLine {
                            description: "Payments made under the plan".into(),
                            amount: settlement.paid_back.minor_units,
                        },
                    ],
                },
            )
            .await?;
        sqlx::query(
            "UPDATE subscriptions SET status = 'lapsed', closed_at = $1, close_reason = $2 WHERE id = $3",
        )
        .bind(now_ms())
        .bind(reason)
        .bind(&s.id)
        .execute(&mut *tx.tx)
        .await?;
        tx.commit().await?;
        Ok((
            self.require_subscription(organisation_id, id).await?,
            invoice,
        ))
    }
}
