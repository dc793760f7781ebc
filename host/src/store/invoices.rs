//! Invoices: draft → finalised → partially paid → paid (and back when a refund
//! lands), numbered per organisation when finalised, with credit notes.
//! `paid` moves only inside the transaction that settles a payment.

use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use vetpay_domain::discount::AppliedDiscount;
use vetpay_domain::plan::split_plan_line;
use vetpay_domain::{
    Currency, InvoiceKind, InvoiceStatus, InvoiceSums, Money, SubscriptionStatus, line_amounts,
    settled_status, sql_list,
};

use super::ledger::reserve_numbers;
use super::rows::used_units;
use super::text_enum::column;
use super::{Conflict, Store, StoreError, invalid, new_id, now_ms, stored_currency};

/// A line as given: unit price in minor units without VAT.
#[derive(Debug, Clone)]
pub struct NewLine {
    pub description: String,
    pub quantity: Decimal,
    pub unit_price: i64,
    pub vat_rate: Decimal,
    pub discount_percent: Decimal,
    /// Takes this item from the patient's health plan: the included units
    /// left get the plan's discount, the rest is charged normally.
    pub plan_item_code: Option<String>,
    /// The catalog item the line was made from (its id and code); `None`
    /// for a free-text line.
    pub item: Option<(String, String)>,
    /// The discounts the line's price and percentage were made with.
    pub discounts: Vec<AppliedDiscount>,
}

/// The part of a line a health plan covers.
#[derive(Debug, Clone)]
struct PlanUse {
    subscription_id: String,
    code: String,
    included: Decimal,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InvoiceLine {
    pub position: i64,
    pub description: String,
    /// Decimal, as text.
    pub quantity: String,
    /// Minor units, without VAT.
    pub unit_price: i64,
    /// Percent, as text.
    pub vat_rate: String,
    /// Percent, as text.
    pub discount_percent: String,
    pub net: i64,
    pub vat: i64,
    pub total: i64,
    /// The health-plan subscription this line takes an item from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan_item_code: Option<String>,
    /// Units covered by the plan.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub included_quantity: Option<String>,
    /// The catalog item the line was made from, with the name, price and VAT
    /// rate it had then; null for a free-text line.
    pub item_id: Option<String>,
    pub item_code: Option<String>,
    /// Typed at the counter rather than taken from the catalog.
    pub free_text: bool,
    /// The discounts in its price and percentage.
    pub discounts: Vec<AppliedDiscount>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Invoice {
    pub id: String,
    pub department_id: String,
    pub client_id: String,
    pub patient_id: Option<String>,
    pub kind: InvoiceKind,
    /// Given when finalised, per organisation.
    pub number: Option<i64>,
    pub status: InvoiceStatus,
    /// ISO 4217, the currency of every amount here.
    #[schema(value_type = String)]
    pub currency: Currency,
    #[serde(serialize_with = "vetpay_money::serialize_minor_units")]
    #[schema(value_type = i64)]
    pub net: Money,
    #[serde(serialize_with = "vetpay_money::serialize_minor_units")]
    #[schema(value_type = i64)]
    pub vat: Money,
    #[serde(serialize_with = "vetpay_money::serialize_minor_units")]
    #[schema(value_type = i64)]
    pub total: Money,
    /// Settled payments less refunds.
    #[serde(serialize_with = "vetpay_money::serialize_minor_units")]
    #[schema(value_type = i64)]
    pub paid: Money,
    /// Credit notes against this invoice (zero or negative).
    #[serde(serialize_with = "vetpay_money::serialize_minor_units")]
    #[schema(value_type = i64)]
    pub credited: Money,
    /// What is still to pay: total + credited − paid (negative when the clinic owes).
    #[serde(serialize_with = "vetpay_money::serialize_minor_units")]
    #[schema(value_type = i64)]
    pub due: Money,
    pub credits_invoice_id: Option<String>,
    /// For health-plan invoices: the subscription, the month, and why it was issued.
    pub subscription_id: Option<String>,
    pub billing_period: Option<String>,
    pub purpose: Option<String>,
    pub lines: Vec<InvoiceLine>,
    pub created_at: i64,
    pub finalised_at: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct NewInvoice {
    pub department_id: String,
    pub client_id: String,
    pub patient_id: Option<String>,
    pub kind: InvoiceKind,
    pub lines: Vec<NewLine>,
}

fn line(row: &AnyRow) -> Result<InvoiceLine, StoreError> {
    Ok(InvoiceLine {
        position: row.try_get("position")?,
        description: row.try_get("description")?,
        quantity: row.try_get("quantity")?,
        unit_price: row.try_get("unit_price")?,
        vat_rate: row.try_get("vat_rate")?,
        discount_percent: row.try_get("discount_percent")?,
        net: row.try_get("net")?,
        vat: row.try_get("vat")?,
        total: row.try_get("total")?,
        subscription_id: row.try_get("subscription_id")?,
        plan_item_code: row.try_get("plan_item_code")?,
        included_quantity: row.try_get("included_quantity")?,
        free_text: row.try_get::<Option<String>, _>("item_id")?.is_none(),
        discounts: match row.try_get::<Option<String>, _>("discounts")? {
            Some(text) => serde_json::from_str(&text).map_err(|_| StoreError::Corrupt {
                table: "invoice_lines",
                column: "discounts",
                row: row.try_get::<String, _>("invoice_id").unwrap_or_default(),
                value: text.clone(),
            })?,
            None => Vec::new(),
        },
        item_id: row.try_get("item_id")?,
        item_code: row.try_get("item_code")?,
    })
}

/// Whether an invoice is read with its lines.
#[derive(Clone, Copy)]
enum Lines {
    Read,
    Skip,
}

fn invoice(row: &AnyRow, lines: Vec<InvoiceLine>) -> Result<Invoice, StoreError> {
    let kind = column(row, "invoices", "kind")?;
    let id: String = row.try_get("id")?;
    let currency = stored_currency("invoices", &id, &row.try_get::<String, _>("currency")?)?;
    let money = |column: &str| -> Result<Money, StoreError> {
        Ok(Money::new(row.try_get(column)?, currency))
    };
    let (total, credited, paid) = (money("total")?, money("credited")?, money("paid")?);
    let sums = InvoiceSums::new(
        currency,
        total.minor_units,
        credited.minor_units,
        paid.minor_units,
    );
    Ok(Invoice {
        id,
        department_id: row.try_get("department_id")?,
        client_id: row.try_get("client_id")?,
        patient_id: row.try_get("patient_id")?,
        kind,
        number: row.try_get("number")?,
        status: column(row, "invoices", "status")?,
        currency,
        net: money("net")?,
        vat: money("vat")?,
        total,
        paid,
        credited,
        due: sums
            .due(kind)
            .map_err(|e| invalid("invoice", e.to_string()))?,
        credits_invoice_id: row.try_get("credits_invoice_id")?,
        subscription_id: row.try_get("subscription_id")?,
        billing_period: row.try_get("billing_period")?,
        purpose: row.try_get("purpose")?,
        lines,
        created_at: row.try_get("created_at")?,
        finalised_at: row.try_get("finalised_at")?,
    })
}

/// Computes every line, refusing any that makes no sense.
fn computed(lines: &[NewLine]) -> Result<Vec<InvoiceLine>, StoreError> {
    let hundred = Decimal::ONE_HUNDRED;
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let field = |name: &str| format!("lines[{i}].{name}");
            if l.description.trim().is_empty() {
                return Err(invalid(&field("description"), "describe what is sold"));
            }
            if l.quantity.is_zero() || l.quantity.is_sign_negative() {
                return Err(invalid(
                    &field("quantity"),
                    "must be above zero; credit a finalised invoice with a credit note instead",
                ));
            }
            if l.unit_price < 0 {
                return Err(invalid(
                    &field("unit_price"),
                    "must not be negative (minor units, without VAT)",
                ));
            }
            if l.vat_rate.is_sign_negative() || l.vat_rate > hundred {
                return Err(invalid(
                    &field("vat_rate"),
                    "must be a percentage from 0 to 100",
                ));
            }
            if l.discount_percent.is_sign_negative() || l.discount_percent > hundred {
                return Err(invalid(
                    &field("discount_percent"),
                    "must be a percentage from 0 to 100",
                ));
            }
            let a = line_amounts(l.quantity, l.unit_price, l.discount_percent, l.vat_rate)
                .map_err(|m| invalid(&field("quantity"), m))?;
            Ok(InvoiceLine {
                position: i as i64 + 1,
                description: l.description.trim().to_owned(),
                quantity: l.quantity.normalize().to_string(),
                unit_price: l.unit_price,
                vat_rate: l.vat_rate.normalize().to_string(),
                discount_percent: l.discount_percent.normalize().to_string(),
                net: a.net,
                vat: a.vat,
                total: a.total,
                subscription_id: None,
                plan_item_code: None,
                included_quantity: None,
                free_text: l.item.is_none(),
                discounts: l.discounts.clone(),
                item_id: l.item.as_ref().map(|(id, _)| id.clone()),
                item_code: l.item.as_ref().map(|(_, code)| code.clone()),
            })
        })
        .collect()
}

fn sums(lines: &[InvoiceLine]) -> Result<(i64, i64, i64), StoreError> {
    let mut s = (0i64, 0i64, 0i64);
    for l in lines {
        s.0 =
            s.0.checked_add(l.net)
                .ok_or_else(|| invalid("lines", "too large"))?;
        s.1 =
            s.1.checked_add(l.vat)
                .ok_or_else(|| invalid("lines", "too large"))?;
        s.2 =
            s.2.checked_add(l.total)
                .ok_or_else(|| invalid("lines", "too large"))?;
    }
    Ok(s)
}

impl Store {
    /// Every unit price within the currency's maximum, before any line is priced.
    fn check_unit_prices(&self, lines: &[NewLine], currency: &str) -> Result<(), StoreError> {
        for (i, l) in lines.iter().enumerate() {
            self.check_amount(&format!("lines[{i}].unit_price"), l.unit_price, currency)?;
        }
        Ok(())
    }

    /// Every line's unit price and total, and the invoice's total, within the
    /// currency's maximum.
    fn bounded(&self, lines: &[InvoiceLine], currency: &str) -> Result<(), StoreError> {
        for (i, l) in lines.iter().enumerate() {
            self.check_amount(&format!("lines[{i}].unit_price"), l.unit_price, currency)?;
            self.check_amount(&format!("lines[{i}].total"), l.total, currency)?;
        }
        let (_, _, total) = sums(lines)?;
        self.check_amount("total", total, currency)?;
        Ok(())
    }
}

async fn write_lines(
    conn: &mut AnyConnection,
    invoice_id: &str,
    lines: &[InvoiceLine],
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM invoice_lines WHERE invoice_id = $1")
        .bind(invoice_id)
        .execute(&mut *conn)
        .await?;
    for l in lines {
        sqlx::query(
            "INSERT INTO invoice_lines (invoice_id, position, description, quantity, unit_price, vat_rate, discount_percent, net, vat, total, \
             subscription_id, plan_item_code, included_quantity, item_id, item_code, discounts) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
        )
        .bind(invoice_id)
        .bind(l.position)
        .bind(&l.description)
        .bind(&l.quantity)
        .bind(l.unit_price)
        .bind(&l.vat_rate)
        .bind(&l.discount_percent)
        .bind(l.net)
        .bind(l.vat)
        .bind(l.total)
        .bind(&l.subscription_id)
        .bind(&l.plan_item_code)
        .bind(&l.included_quantity)
        .bind(&l.item_id)
        .bind(&l.item_code)
        .bind((!l.discounts.is_empty()).then(|| serde_json::to_string(&l.discounts).unwrap_or_default()))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The next invoice number of an organisation, inside the caller's transaction.
async fn next_number(conn: &mut AnyConnection, organisation_id: &str) -> Result<i64, StoreError> {
    reserve_numbers(conn, organisation_id, 1).await
}

impl Store {
    /// Prices lines, splitting a line that takes a health-plan item into the
    /// units the plan still covers (at its discount) and the rest (normally).
    async fn priced_lines(
        &self,
        conn: &mut AnyConnection,
        organisation_id: &str,
        patient_id: Option<&str>,
        invoice_id: &str,
        lines: &[NewLine],
    ) -> Result<Vec<InvoiceLine>, StoreError> {
        let lock = match self.backend() {
            super::Backend::Postgres => " FOR UPDATE OF s",
            super::Backend::Sqlite => "",
        };
        let mut expanded: Vec<(NewLine, Option<PlanUse>)> = Vec::with_capacity(lines.len());
        for (i, l) in lines.iter().enumerate() {
            let Some(code) = &l.plan_item_code else {
                expanded.push((l.clone(), None));
                continue;
            };
            let field = format!("lines[{i}].plan_item_code");
            let patient = patient_id
                .ok_or_else(|| invalid(&field, "a plan item needs the invoice's patient_id"))?;
            let row = sqlx::query(&format!(
                "SELECT s.id AS id, i.plan_id AS plan_id, i.quantity AS quantity, i.discount_percent AS discount FROM subscriptions s \
                 JOIN plan_items i ON i.plan_id = s.plan_id \
                 WHERE s.organisation_id = $1 AND s.patient_id = $2 AND s.status IN ({covering}) AND i.code = $3{lock}",
                covering = sql_list(SubscriptionStatus::ALL.iter().copied().filter(|s| s.covers_items()))
            ))
            .bind(organisation_id)
            .bind(patient)
            .bind(code)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or_else(|| {
                invalid(&field, format!("the patient has no active health plan that includes '{code}'"))
            })?;
            let subscription_id: String = row.try_get("id")?;
            let item_row = format!("{}:{code}", row.try_get::<String, _>("plan_id")?);
            let included_total = super::stored_decimal(
                "plan_items",
                "quantity",
                &item_row,
                &row.try_get::<String, _>("quantity")?,
            )?;
            let discount = super::stored_decimal(
                "plan_items",
                "discount_percent",
                &item_row,
                &row.try_get::<String, _>("discount")?,
            )?;
            let earlier: Decimal = used_units(conn, &subscription_id, invoice_id)
                .await?
                .into_iter()
                .filter(|(c, _)| c == code)
                .map(|(_, q)| q)
                .sum();
            let in_this_invoice: Decimal = expanded
                .iter()
                .filter_map(|(_, u)| u.as_ref())
                .filter(|u| u.subscription_id == subscription_id && &u.code == code)
                .map(|u| u.included)
                .sum();
            let remaining = included_total - earlier - in_this_invoice;
            for part in split_plan_line(l.quantity, l.discount_percent, discount, remaining) {
                let plan = part.included.then(|| PlanUse {
                    subscription_id: subscription_id.clone(),
                    code: code.clone(),
                    included: part.quantity,
                });
                expanded.push((
                    NewLine {
                        quantity: part.quantity,
                        discount_percent: part.discount_percent,
                        plan_item_code: None,
                        ..l.clone()
                    },
                    plan,
                ));
            }
        }
        let plain: Vec<NewLine> = expanded.iter().map(|(l, _)| l.clone()).collect();
        let mut out = computed(&plain)?;
        for (line, (_, plan)) in out.iter_mut().zip(&expanded) {
            if let Some(u) = plan {
                line.subscription_id = Some(u.subscription_id.clone());
                line.plan_item_code = Some(u.code.clone());
                line.included_quantity = Some(u.included.normalize().to_string());
            }
        }
        Ok(out)
    }

    pub async fn create_invoice(
        &self,
        organisation_id: &str,
        currency: &str,
        new: NewInvoice,
    ) -> Result<Invoice, StoreError> {
        if new.kind == InvoiceKind::CreditNote {
            return Err(invalid(
                "kind",
                "credit notes are made from a finalised invoice: POST /v1/invoices/{id}/credit-notes",
            ));
        }
        if self
            .client(organisation_id, &new.client_id)
            .await?
            .is_none()
        {
            return Err(invalid(
                "client_id",
                "no client with this id in your organisation",
            ));
        }
        if let Some(patient) = &new.patient_id {
            let patients = self.patients(organisation_id, &new.client_id).await?;
            if !patients.iter().any(|p| &p.id == patient) {
                return Err(invalid(
                    "patient_id",
                    "no patient with this id belongs to the client",
                ));
            }
        }
        self.check_unit_prices(&new.lines, currency)?;
        computed(&new.lines)?;
        let id = new_id();
        let mut tx = self.write().await?;
        let lines = self
            .priced_lines(
                &mut tx.tx,
                organisation_id,
                new.patient_id.as_deref(),
                &id,
                &new.lines,
            )
            .await?;
        self.bounded(&lines, currency)?;
        let (net, vat, total) = sums(&lines)?;
        sqlx::query(
            "INSERT INTO invoices (id, organisation_id, department_id, client_id, patient_id, kind, status, currency, net, vat, total, paid, credited, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 'draft', $7, $8, $9, $10, 0, 0, $11)",
        )
        .bind(&id)
        .bind(organisation_id)
        .bind(&new.department_id)
        .bind(&new.client_id)
        .bind(&new.patient_id)
        .bind(new.kind.as_str())
        .bind(currency)
        .bind(net)
        .bind(vat)
        .bind(total)
        .bind(now_ms())
        .execute(&mut *tx.tx)
        .await?;
        write_lines(&mut tx.tx, &id, &lines).await?;
        tx.commit().await?;
        self.require_invoice(organisation_id, &id).await
    }

    /// Replaces the lines of a draft.
    pub async fn replace_invoice_lines(
        &self,
        organisation_id: &str,
        id: &str,
        lines: &[NewLine],
    ) -> Result<Invoice, StoreError> {
        let mut tx = self.write().await?;
        let current = self.locked_invoice(&mut tx.tx, organisation_id, id).await?;
        if current.status != InvoiceStatus::Draft {
            return Err(Conflict::NotDraft {
                number: current.number.unwrap_or_default(),
                status: current.status,
            }
            .into());
        }
        self.check_unit_prices(lines, current.currency.code())?;
        computed(lines)?;
        let lines = self
            .priced_lines(
                &mut tx.tx,
                organisation_id,
                current.patient_id.as_deref(),
                id,
                lines,
            )
            .await?;
        self.bounded(&lines, current.currency.code())?;
        let (net, vat, total) = sums(&lines)?;
        sqlx::query("UPDATE invoices SET net = $1, vat = $2, total = $3 WHERE id = $4")
            .bind(net)
            .bind(vat)
            .bind(total)
            .bind(id)
            .execute(&mut *tx.tx)
            .await?;
        write_lines(&mut tx.tx, id, &lines).await?;
        tx.commit().await?;
        self.require_invoice(organisation_id, id).await
    }

    /// Finalises a draft: it gets the organisation's next number and can be paid.
    pub async fn finalise_invoice(
        &self,
        organisation_id: &str,
        id: &str,
    ) -> Result<Invoice, StoreError> {
        let mut tx = self.write().await?;
        let current = self.locked_invoice(&mut tx.tx, organisation_id, id).await?;
        if current.status != InvoiceStatus::Draft {
            return Err(Conflict::AlreadyFinalised {
                number: current.number.unwrap_or_default(),
                status: current.status,
            }
            .into());
        }
        if current.lines.is_empty() {
            return Err(invalid(
                "lines",
                "an invoice needs at least one line before it is finalised",
            ));
        }
        let number = next_number(&mut tx.tx, organisation_id).await?;
        let status = settled_status(current.total.minor_units, 0, 0);
        sqlx::query(
            "UPDATE invoices SET number = $1, status = $2, finalised_at = $3 WHERE id = $4",
        )
        .bind(number)
        .bind(status.as_str())
        .bind(now_ms())
        .bind(id)
        .execute(&mut *tx.tx)
        .await?;
        tx.commit().await?;
        self.require_invoice(organisation_id, id).await
    }

    /// Credits a finalised invoice, wholly or the lines at `positions`: a new,
    /// finalised credit note with the lines negated. What was already paid
    /// stays; the due sum falls, below zero when a refund is owed.
    pub async fn credit_invoice(
        &self,
        organisation_id: &str,
        id: &str,
        positions: Option<&[i64]>,
    ) -> Result<Invoice, StoreError> {
        let mut tx = self.write().await?;
        let original = self.locked_invoice(&mut tx.tx, organisation_id, id).await?;
        if original.status == InvoiceStatus::Draft || original.kind == InvoiceKind::CreditNote {
            return Err(Conflict::NotCreditable.into());
        }
        let already = sqlx::query(
            "SELECT l.position AS position FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id \
             WHERE i.credits_invoice_id = $1",
        )
        .bind(id)
        .fetch_all(&mut *tx.tx)
        .await?;
        // A credit note's lines keep the credited line's position.
        let credited: Vec<i64> = already
            .iter()
            .map(|r| r.try_get("position"))
            .collect::<Result<_, _>>()?;
        let chosen: Vec<&InvoiceLine> = match positions {
            Some(ps) => {
                let mut out = Vec::new();
                for p in ps {
                    let l = original
                        .lines
                        .iter()
                        .find(|l| l.position == *p)
                        .ok_or_else(|| invalid("lines", format!("the invoice has no line {p}")))?;
                    out.push(l);
                }
                out
            }
            None => original.lines.iter().collect(),
        };
        if let Some(l) = chosen.iter().find(|l| credited.contains(&l.position)) {
            return Err(Conflict::AlreadyCredited {
                position: l.position,
            }
            .into());
        }
        if chosen.is_empty() {
            return Err(invalid("lines", "choose at least one line to credit"));
        }
        let lines: Vec<InvoiceLine> = chosen
            .into_iter()
            .map(|l| InvoiceLine {
                net: -l.net,
                vat: -l.vat,
                total: -l.total,
                quantity: format!("-{}", l.quantity),
                ..l.clone()
            })
            .collect();
        let (net, vat, total) = sums(&lines)?;
        let note_id = new_id();
        let number = next_number(&mut tx.tx, organisation_id).await?;
        let now = now_ms();
        sqlx::query(
            "INSERT INTO invoices (id, organisation_id, department_id, client_id, patient_id, kind, number, status, currency, net, vat, total, paid, credited, credits_invoice_id, created_at, finalised_at) \
             VALUES ($1, $2, $3, $4, $5, 'credit_note', $6, 'finalised', $7, $8, $9, $10, 0, 0, $11, $12, $12)",
        )
        .bind(&note_id)
        .bind(organisation_id)
        .bind(&original.department_id)
        .bind(&original.client_id)
        .bind(&original.patient_id)
        .bind(number)
        .bind(original.currency.code())
        .bind(net)
        .bind(vat)
        .bind(total)
        .bind(id)
        .bind(now)
        .execute(&mut *tx.tx)
        .await?;
        write_lines(&mut tx.tx, &note_id, &lines).await?;
        let now_credited = original.credited.minor_units + total;
        sqlx::query("UPDATE invoices SET credited = $1, status = $2 WHERE id = $3")
            .bind(now_credited)
            .bind(
                settled_status(
                    original.total.minor_units,
                    now_credited,
                    original.paid.minor_units,
                )
                .as_str(),
            )
            .bind(id)
            .execute(&mut *tx.tx)
            .await?;
        tx.commit().await?;
        self.require_invoice(organisation_id, &note_id).await
    }

    pub async fn invoice(
        &self,
        organisation_id: &str,
        id: &str,
    ) -> Result<Option<Invoice>, StoreError> {
        let mut conn = self.pool().acquire().await?;
        self.read_invoice(&mut conn, organisation_id, id, "", Lines::Read)
            .await
    }

    /// The invoice without its lines (`lines` is empty): its sums, status and
    /// parties are on its row, and a payment needs nothing else. One query
    /// instead of two on every payment.
    pub async fn invoice_head(
        &self,
        organisation_id: &str,
        id: &str,
    ) -> Result<Option<Invoice>, StoreError> {
        let mut conn = self.pool().acquire().await?;
        self.read_invoice(&mut conn, organisation_id, id, "", Lines::Skip)
            .await
    }

    async fn require_invoice(
        &self,
        organisation_id: &str,
        id: &str,
    ) -> Result<Invoice, StoreError> {
        self.invoice(organisation_id, id)
            .await?
            .ok_or_else(|| invalid("invoice", "vanished"))
    }

    /// The newest invoices, optionally of one client.
    pub async fn invoices(
        &self,
        organisation_id: &str,
        client_id: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Invoice>, StoreError> {
        let rows = sqlx::query(
            "SELECT id FROM invoices WHERE organisation_id = $1 AND ($2 = '' OR client_id = $2) ORDER BY created_at DESC, id LIMIT $3",
        )
        .bind(organisation_id)
        .bind(client_id.unwrap_or(""))
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let id: String = row.try_get("id")?;
            if let Some(i) = self.invoice(organisation_id, &id).await? {
                out.push(i);
            }
        }
        Ok(out)
    }

    async fn read_invoice(
        &self,
        conn: &mut AnyConnection,
        organisation_id: &str,
        id: &str,
        lock: &str,
        with: Lines,
    ) -> Result<Option<Invoice>, StoreError> {
        let Some(row) = sqlx::query(&format!(
            "SELECT * FROM invoices WHERE organisation_id = $1 AND id = $2{lock}"
        ))
        .bind(organisation_id)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        else {
            return Ok(None);
        };
        let lines = match with {
            Lines::Skip => Vec::new(),
            Lines::Read => {
                let rows = sqlx::query(
                    "SELECT * FROM invoice_lines WHERE invoice_id = $1 ORDER BY position",
                )
                .bind(id)
                .fetch_all(&mut *conn)
                .await?;
                rows.iter().map(line).collect::<Result<_, _>>()?
            }
        };
        Ok(Some(invoice(&row, lines)?))
    }

    /// The invoice, locked for the rest of the caller's transaction.
    pub(crate) async fn locked_invoice(
        &self,
        conn: &mut AnyConnection,
        organisation_id: &str,
        id: &str,
    ) -> Result<Invoice, StoreError> {
        self.locked(conn, organisation_id, id, Lines::Read).await
    }

    /// [`Self::locked_invoice`] without its lines, for moving money: the
    /// sums it needs are on the row.
    pub(crate) async fn locked_invoice_head(
        &self,
        conn: &mut AnyConnection,
        organisation_id: &str,
        id: &str,
    ) -> Result<Invoice, StoreError> {
        self.locked(conn, organisation_id, id, Lines::Skip).await
    }

    async fn locked(
        &self,
        conn: &mut AnyConnection,
        organisation_id: &str,
        id: &str,
        with: Lines,
    ) -> Result<Invoice, StoreError> {
        self.read_invoice(conn, organisation_id, id, self.for_update(), with)
            .await?
            .ok_or_else(|| invalid("invoice_id", "no invoice with this id in your organisation"))
    }

    /// Adds `delta` (negative for a refund) to what was paid on an invoice and
    /// moves its status, inside the caller's transaction.
    pub(crate) async fn add_paid(
        &self,
        conn: &mut AnyConnection,
        invoice: &Invoice,
        delta: i64,
    ) -> Result<(), StoreError> {
        let currency = invoice.currency;
        let sums = InvoiceSums::new(
            currency,
            invoice.total.minor_units,
            invoice.credited.minor_units,
            invoice.paid.minor_units,
        )
        .with_paid(Money::new(delta, currency))
        .map_err(|e| invalid("amount", e.to_string()))?;
        let status = sums.status();
        sqlx::query("UPDATE invoices SET paid = $1, status = $2 WHERE id = $3")
            .bind(sums.paid.minor_units)
            .bind(status.as_str())
            .bind(&invoice.id)
            .execute(&mut *conn)
            .await?;
        if status == InvoiceStatus::Paid
            && let Some(subscription) = &invoice.subscription_id
        {
            // A paid plan invoice settles its month and restores a suspended plan.
            self.plan_invoice_paid(conn, subscription, &invoice.id)
                .await?;
        }
        Ok(())
    }
}
