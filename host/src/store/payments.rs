//! Payments: every attempt to move money, following the state machine in
//! docs/ARCHITECTURE.md. The row is written (and the idempotency key claimed)
//! before any plugin is called; settling it and updating the invoice or the
//! client's credit happen in one transaction. Final states never move back.
//! Which moves are allowed and how much may be paid or refunded are the
//! domain's rules (`vetpay_domain::payment`); this module loads their inputs
//! with the rows locked and books what they decide.

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use vetpay_domain::payment::{self as rules, RefundBasis, RefundError};
use vetpay_domain::{
    Currency, Decider, InvoiceKind, InvoiceStatus, Method, Money, PaymentKind, PaymentStatus,
    sql_list,
};

use super::idempotency::{self, Idempotency, StoredAnswer};
use super::text_enum::column;
use super::{
    Conflict, Store, StoreError, flag, invalid, new_id, now_ms, stored_currency, unique_or,
};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Payment {
    pub id: String,
    #[serde(skip)]
    pub organisation_id: String,
    pub department_id: String,
    pub client_id: String,
    pub invoice_id: Option<String>,
    pub kind: PaymentKind,
    pub method: Method,
    /// Minor units; negative for a refund.
    #[serde(serialize_with = "vetpay_money::serialize_minor_units")]
    #[schema(value_type = i64)]
    pub amount: Money,
    /// ISO 4217, the currency of every amount here.
    #[schema(value_type = String)]
    pub currency: Currency,
    /// The part that went to (positive) or came from (negative) client credit.
    #[serde(serialize_with = "vetpay_money::serialize_minor_units")]
    #[schema(value_type = i64)]
    pub credit_amount: Money,
    /// Whether more than the due sum may be taken, the rest becoming client credit.
    pub excess_as_deposit: bool,
    pub status: PaymentStatus,
    /// The last stage the plugin reported while processing.
    pub stage: Option<String>,
    /// Why it failed, or what the provider said.
    pub message: Option<String>,
    pub terminal_id: Option<String>,
    pub card_id: Option<String>,
    pub plugin_id: Option<String>,
    /// For a refund: the payment it refunds.
    pub original_payment_id: Option<String>,
    pub provider_reference: Option<String>,
    pub authorization_code: Option<String>,
    pub masked_pan: Option<String>,
    pub card_brand: Option<String>,
    #[serde(skip)]
    pub card_token: Option<String>,
    pub abort_requested: bool,
    pub recovery_attempts: i64,
    /// While processing: when the running host's lease lapses; while unknown:
    /// when recovery next asks.
    #[serde(skip)]
    pub next_check_at: Option<i64>,
    /// The host running the attempt (plugin attempts only).
    #[serde(skip)]
    pub lease_owner: Option<String>,
    /// When the attempt's first request left the host for the provider; null
    /// while nothing was sent (then nothing can have moved).
    pub sent_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub finished_at: Option<i64>,
}

/// What starting a payment takes; `amount` is positive, a refund is stored negative.
#[derive(Debug, Clone)]
pub struct NewPayment {
    pub department_id: String,
    pub client_id: String,
    pub invoice_id: Option<String>,
    pub kind: PaymentKind,
    pub method: Method,
    pub amount: i64,
    pub currency: String,
    pub excess_as_deposit: bool,
    pub terminal_id: Option<String>,
    pub card_id: Option<String>,
    pub plugin_id: Option<String>,
    pub original_payment_id: Option<String>,
    /// For plugin attempts: how long the first lease lasts; the recovery job
    /// takes over if the running host has not renewed it by then.
    pub check_after_ms: i64,
    /// The host that will run the attempt and holds its lease.
    pub lease_owner: Option<String>,
}

/// How an attempt ended, or that its outcome is not known.
#[derive(Debug, Clone, Default)]
pub struct Settlement {
    pub status: Option<PaymentStatus>,
    pub message: Option<String>,
    pub provider_reference: Option<String>,
    pub authorization_code: Option<String>,
    pub masked_pan: Option<String>,
    pub card_brand: Option<String>,
    pub card_token: Option<String>,
    /// For `Unknown`: when the recovery job next asks.
    pub next_check_at: Option<i64>,
}

/// A new attempt, or the first answer to a repeated request.
#[derive(Debug, Clone)]
pub enum Started {
    Fresh(Box<Payment>),
    Repeat(StoredAnswer),
}

fn opt_text(row: &AnyRow, column: &str) -> Result<Option<String>, StoreError> {
    Ok(row.try_get(column)?)
}

pub(super) fn payment(row: &AnyRow) -> Result<Payment, StoreError> {
    let id: String = row.try_get("id")?;
    let currency = stored_currency("payments", &id, &row.try_get::<String, _>("currency")?)?;
    Ok(Payment {
        id,
        organisation_id: row.try_get("organisation_id")?,
        department_id: row.try_get("department_id")?,
        client_id: row.try_get("client_id")?,
        invoice_id: opt_text(row, "invoice_id")?,
        kind: column(row, "payments", "kind")?,
        method: column(row, "payments", "method")?,
        amount: Money::new(row.try_get("amount")?, currency),
        currency,
        credit_amount: Money::new(row.try_get("credit_amount")?, currency),
        excess_as_deposit: row.try_get::<i64, _>("allow_excess")? == 1,
        status: column(row, "payments", "status")?,
        stage: opt_text(row, "stage")?,
        message: opt_text(row, "message")?,
        terminal_id: opt_text(row, "terminal_id")?,
        card_id: opt_text(row, "card_id")?,
        plugin_id: opt_text(row, "plugin_id")?,
        original_payment_id: opt_text(row, "original_payment_id")?,
        provider_reference: opt_text(row, "provider_reference")?,
        authorization_code: opt_text(row, "authorization_code")?,
        masked_pan: opt_text(row, "masked_pan")?,
        card_brand: opt_text(row, "card_brand")?,
        card_token: opt_text(row, "card_token")?,
        abort_requested: row.try_get::<i64, _>("abort_requested")? == 1,
        recovery_attempts: row.try_get("recovery_attempts")?,
        next_check_at: row.try_get("next_check_at")?,
        lease_owner: opt_text(row, "lease_owner")?,
        sent_at: row.try_get("sent_at")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        finished_at: row.try_get("finished_at")?,
    })
}

/// The running states (`'processing', 'unknown'`), for SQL filters.
pub(super) fn running() -> String {
    sql_list(
        PaymentStatus::ALL
            .iter()
            .copied()
            .filter(|s| s.is_running()),
    )
}

/// A payment rule refused the attempt: an input to fix, naming its field.
fn payment_error(e: rules::PaymentError) -> StoreError {
    invalid(e.field(), e.to_string())
}

/// The currency a request names (already checked against the limits).
fn payment_currency(code: &str) -> Result<Currency, StoreError> {
    Currency::parse(code).map_err(|e| invalid("currency", e.to_string()))
}

async fn sum(conn: &mut AnyConnection, sql: &str, binds: &[&str]) -> Result<i64, StoreError> {
    let mut q = sqlx::query(sql);
    for b in binds {
        q = q.bind(*b);
    }
    let row = q.fetch_one(&mut *conn).await?;
    // SUM over no rows is NULL; COALESCE keeps the type an integer on both databases.
    Ok(row.try_get::<i64, _>("s")?)
}

/// The client's credit in `currency`: deposits and excess, less what was used.
async fn credit_balance(
    conn: &mut AnyConnection,
    organisation_id: &str,
    client_id: &str,
    currency: &str,
) -> Result<i64, StoreError> {
    sum(
        conn,
        "SELECT CAST(COALESCE(SUM(credit_amount), 0) AS BIGINT) AS s FROM payments \
         WHERE organisation_id = $1 AND client_id = $2 AND currency = $3 AND status = 'succeeded'",
        &[organisation_id, client_id, currency],
    )
    .await
}

impl Store {
    pub(super) async fn payment_in(
        &self,
        conn: &mut AnyConnection,
        organisation_id: Option<&str>,
        id: &str,
        lock: bool,
    ) -> Result<Option<Payment>, StoreError> {
        let lock = if lock { self.for_update() } else { "" };
        let row = sqlx::query(&format!(
            "SELECT * FROM payments WHERE id = $1 AND ($2 = '' OR organisation_id = $2){lock}"
        ))
        .bind(id)
        .bind(organisation_id.unwrap_or(""))
        .fetch_optional(&mut *conn)
        .await?;
        row.as_ref().map(payment).transpose()
    }

    pub async fn payment(
        &self,
        organisation_id: &str,
        id: &str,
    ) -> Result<Option<Payment>, StoreError> {
        let mut conn = self.pool().acquire().await?;
        self.payment_in(&mut conn, Some(organisation_id), id, false)
            .await
    }

    async fn payments_where(
        &self,
        filter: &str,
        binds: &[&str],
    ) -> Result<Vec<Payment>, StoreError> {
        let sql = format!("SELECT * FROM payments WHERE {filter} ORDER BY created_at, id");
        let mut q = sqlx::query(&sql);
        for b in binds {
            q = q.bind(*b);
        }
        q.fetch_all(self.pool())
            .await?
            .iter()
            .map(payment)
            .collect()
    }

    pub async fn invoice_payments(
        &self,
        organisation_id: &str,
        invoice_id: &str,
    ) -> Result<Vec<Payment>, StoreError> {
        self.payments_where(
            "organisation_id = $1 AND invoice_id = $2",
            &[organisation_id, invoice_id],
        )
        .await
    }

    /// The client's deposits and the refunds of them.
    pub async fn prepayments(
        &self,
        organisation_id: &str,
        client_id: &str,
    ) -> Result<Vec<Payment>, StoreError> {
        self.payments_where(
            "organisation_id = $1 AND client_id = $2 AND invoice_id IS NULL",
            &[organisation_id, client_id],
        )
        .await
    }

    pub async fn refunds_of(
        &self,
        organisation_id: &str,
        payment_id: &str,
    ) -> Result<Vec<Payment>, StoreError> {
        self.payments_where(
            "organisation_id = $1 AND original_payment_id = $2",
            &[organisation_id, payment_id],
        )
        .await
    }

    /// The client's credit per currency.
    pub async fn client_credit(
        &self,
        organisation_id: &str,
        client_id: &str,
        currency: &str,
    ) -> Result<i64, StoreError> {
        let mut conn = self.pool().acquire().await?;
        credit_balance(&mut conn, organisation_id, client_id, currency).await
    }

    /// Writes a new attempt after every rule is checked, claiming `idem` in the
    /// same transaction. Manual methods (cash, bank transfer, client credit)
    /// settle at once; plugin attempts start `processing`.
    pub async fn start_payment(
        &self,
        organisation_id: &str,
        idem: Option<&Idempotency>,
        new: NewPayment,
    ) -> Result<Started, StoreError> {
        if new.amount <= 0 {
            return Err(invalid(
                "amount",
                "must be above zero, in minor units (a refund is asked for as a positive amount)",
            ));
        }
        self.check_amount("amount", new.amount, &new.currency)?;
        let mut tx = self.write().await?;
        if let Some(idem) = idem
            && let Some(first) = idempotency::claim(&mut tx.tx, organisation_id, idem).await?
        {
            return Ok(Started::Repeat(first));
        }
        self.check_new_payment(&mut tx.tx, organisation_id, &new)
            .await?;
        let id = new_id();
        let now = now_ms();
        let signed = if new.kind == PaymentKind::Refund {
            -new.amount
        } else {
            new.amount
        };
        let inserted = sqlx::query(
            "INSERT INTO payments (id, organisation_id, department_id, client_id, invoice_id, kind, method, amount, currency, credit_amount, \
             allow_excess, status, terminal_id, card_id, plugin_id, original_payment_id, abort_requested, recovery_attempts, next_check_at, created_at, updated_at, lease_owner) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, $10, 'processing', $11, $12, $13, $14, 0, 0, $15, $16, $16, $17) RETURNING *",
        )
        .bind(&id)
        .bind(organisation_id)
        .bind(&new.department_id)
        .bind(&new.client_id)
        .bind(&new.invoice_id)
        .bind(new.kind.as_str())
        .bind(new.method.as_str())
        .bind(signed)
        .bind(&new.currency)
        .bind(flag(new.excess_as_deposit))
        .bind(&new.terminal_id)
        .bind(&new.card_id)
        .bind(&new.plugin_id)
        .bind(&new.original_payment_id)
        .bind(new.method.through_plugin().then_some(now + new.check_after_ms))
        .bind(now)
        .bind(new.method.through_plugin().then_some(new.lease_owner.clone()).flatten())
        // The row as written comes back with the insert: no second query.
        .fetch_one(&mut *tx.tx)
        .await;
        let inserted = inserted.map_err(|e| {
            unique_or(
                e,
                Conflict::TerminalBusy {
                    payment_id: None,
                    status: None,
                },
            )
        })?;
        let mut started = payment(&inserted)?;
        if !new.method.through_plugin() {
            // A manual method: the money moved as it was recorded.
            self.settle(
                &mut tx.tx,
                &mut started,
                Settlement {
                    status: Some(PaymentStatus::Succeeded),
                    ..Settlement::default()
                },
                Decider::Provider,
            )
            .await?;
        }
        if let Some(idem) = idem {
            let body =
                serde_json::to_string(&started).map_err(|e| invalid("payment", e.to_string()))?;
            idempotency::answer(&mut tx.tx, organisation_id, idem, 201, &body).await?;
        }
        tx.commit().await?;
        Ok(Started::Fresh(Box::new(started)))
    }

    /// The payment rules that need the database, inside the transaction that
    /// writes the attempt (so concurrent attempts see each other).
    async fn check_new_payment(
        &self,
        conn: &mut AnyConnection,
        organisation_id: &str,
        new: &NewPayment,
    ) -> Result<(), StoreError> {
        if let Some(terminal) = &new.terminal_id {
            // Lock the terminal first: a concurrent attempt on it waits here and
            // then sees this one, so a busy terminal is always a 409, never the
            // invoice's "not that much is due" that a later lock would give.
            let found = sqlx::query(&format!(
                "SELECT id FROM terminals WHERE id = $1 AND removed_at IS NULL{}",
                self.for_update()
            ))
            .bind(terminal)
            .fetch_optional(&mut *conn)
            .await?;
            // Removed since the caller looked it up.
            if found.is_none() {
                return Err(invalid(
                    "terminal_id",
                    "no terminal with this id in your organisation (it was removed)",
                ));
            }
            let running = sqlx::query(&format!(
                "SELECT id, status FROM payments WHERE terminal_id = $1 AND status IN ({})",
                running()
            ))
            .bind(terminal)
            .fetch_optional(&mut *conn)
            .await?;
            if let Some(row) = running {
                return Err(Conflict::TerminalBusy {
                    payment_id: Some(row.try_get("id")?),
                    status: Some(column(&row, "payments", "status")?),
                }
                .into());
            }
        }
        match new.kind {
            PaymentKind::Payment => self.check_invoice_payment(conn, organisation_id, new).await,
            PaymentKind::Deposit => {
                if new.method == Method::ClientCredit {
                    return Err(invalid(
                        "method",
                        "a deposit cannot be paid with client credit",
                    ));
                }
                Ok(())
            }
            PaymentKind::Refund => self.check_refund(conn, organisation_id, new).await,
        }
    }

    async fn check_invoice_payment(
        &self,
        conn: &mut AnyConnection,
        organisation_id: &str,
        new: &NewPayment,
    ) -> Result<(), StoreError> {
        let invoice_id = new
            .invoice_id
            .as_deref()
            .ok_or_else(|| invalid("invoice_id", "a payment belongs to an invoice"))?;
        let invoice = self
            .locked_invoice_head(conn, organisation_id, invoice_id)
            .await?;
        if invoice.kind == InvoiceKind::CreditNote {
            return Err(Conflict::CreditNoteNotPaid.into());
        }
        if invoice.status == InvoiceStatus::Draft {
            return Err(Conflict::InvoiceIsDraft.into());
        }
        let currency = invoice.currency;
        let amount = Money::new(new.amount, payment_currency(&new.currency)?);
        rules::check_currency(currency, amount.currency).map_err(payment_error)?;
        if new.method.through_plugin() {
            let unknown = sqlx::query(
                "SELECT id FROM payments WHERE invoice_id = $1 AND status = 'unknown' AND method IN ('card', 'saved_card')",
            )
            .bind(invoice_id)
            .fetch_optional(&mut *conn)
            .await?;
            if let Some(row) = unknown {
                return Err(Conflict::InvoiceBeingPaid {
                    payment_id: row.try_get("id")?,
                }
                .into());
            }
        }
        let in_flight = sum(
            conn,
            &format!(
                "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) AS s FROM payments \
                 WHERE invoice_id = $1 AND status IN ({}) AND amount > 0 AND allow_excess = 0",
                running()
            ),
            &[invoice_id],
        )
        .await?;
        rules::check_fits_due(
            invoice.due,
            Money::new(in_flight, currency),
            amount,
            new.excess_as_deposit,
        )
        .map_err(payment_error)?;
        if new.method == Method::ClientCredit {
            // Lock the client so two uses of the same credit are serialised.
            sqlx::query(&format!(
                "SELECT id FROM clients WHERE id = $1{}",
                self.for_update()
            ))
            .bind(&new.client_id)
            .fetch_optional(&mut *conn)
            .await?;
            let credit =
                credit_balance(conn, organisation_id, &new.client_id, &new.currency).await?;
            rules::check_credit_covers(Money::new(credit, currency), amount)
                .map_err(payment_error)?;
        }
        Ok(())
    }

    async fn check_refund(
        &self,
        conn: &mut AnyConnection,
        organisation_id: &str,
        new: &NewPayment,
    ) -> Result<(), StoreError> {
        let original_id = new
            .original_payment_id
            .as_deref()
            .ok_or_else(|| invalid("payment", "a refund refunds a payment"))?;
        let original = self
            .payment_in(conn, Some(organisation_id), original_id, true)
            .await?
            .ok_or_else(|| invalid("payment", "no payment with this id in your organisation"))?;
        let currency = original.currency;
        // Refunds that succeeded or still may.
        let holding = sql_list(
            PaymentStatus::ALL
                .iter()
                .copied()
                .filter(|s| s.holds_refund()),
        );
        let refunded = sum(
            conn,
            &format!(
                "SELECT CAST(COALESCE(SUM(-amount), 0) AS BIGINT) AS s FROM payments \
                 WHERE original_payment_id = $1 AND status IN ({holding})"
            ),
            &[original_id],
        )
        .await?;
        let unused_credit = match original.invoice_id {
            // A deposit's money may already be spent on invoices.
            None if original.status == PaymentStatus::Succeeded
                && original.amount.minor_units > 0 =>
            {
                Some(
                    credit_balance(
                        conn,
                        organisation_id,
                        &original.client_id,
                        original.currency.code(),
                    )
                    .await?,
                )
            }
            _ => None,
        };
        let basis = RefundBasis {
            kind: original.kind,
            status: original.status,
            paid: original.amount,
            refunded: Money::new(refunded, currency),
            unused_credit: unused_credit.map(|c| Money::new(c, currency)),
        };
        rules::check_refund(&basis, Money::new(new.amount, currency)).map_err(|e| match e {
            RefundError::NotRefundable { kind, status } => {
                Conflict::NotRefundable { kind, status }.into()
            }
            other => invalid("amount", other.to_string()),
        })
    }

    /// Applies a final state to a locked payment inside the caller's
    /// transaction; on success it moves the invoice or the client's credit.
    pub(super) async fn settle(
        &self,
        conn: &mut AnyConnection,
        p: &mut Payment,
        s: Settlement,
        by: Decider,
    ) -> Result<(), StoreError> {
        let status = p
            .status
            .move_to(s.status.unwrap_or(PaymentStatus::Unknown), by)
            .map_err(|_| Conflict::AlreadyFinal { status: p.status })?;
        let now = now_ms();
        let mut credit = 0;
        if status == PaymentStatus::Succeeded {
            credit = self.apply(conn, p).await?;
        }
        let next_check = if status.is_final() {
            None
        } else {
            s.next_check_at
        };
        let row = sqlx::query(
            "UPDATE payments SET status = $1, message = CASE WHEN $1 = 'succeeded' THEN $2 ELSE COALESCE($2, message) END, provider_reference = COALESCE($3, provider_reference), \
             authorization_code = COALESCE($4, authorization_code), masked_pan = COALESCE($5, masked_pan), card_brand = COALESCE($6, card_brand), \
             card_token = COALESCE($7, card_token), credit_amount = $8, next_check_at = $9, updated_at = $10, finished_at = $11 WHERE id = $12 RETURNING *",
        )
        .bind(status.as_str())
        .bind(&s.message)
        .bind(&s.provider_reference)
        .bind(&s.authorization_code)
        .bind(&s.masked_pan)
        .bind(&s.card_brand)
        .bind(&s.card_token)
        .bind(credit)
        .bind(next_check)
        .bind(now)
        .bind(status.is_final().then_some(now))
        .bind(&p.id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| invalid("payment", "vanished"))?;
        *p = payment(&row)?;
        Ok(())
    }

    /// Moves the money of a succeeded payment; returns its client-credit part.
    async fn apply(&self, conn: &mut AnyConnection, p: &Payment) -> Result<i64, StoreError> {
        let invoice = match &p.invoice_id {
            Some(id) => Some(
                self.locked_invoice_head(conn, &p.organisation_id, id)
                    .await?,
            ),
            None => None,
        };
        let due = invoice.as_ref().map(|i| i.due);
        let booked = rules::booking(p.kind, p.method, p.excess_as_deposit, p.amount, due);
        if let (Some(invoice), Some(delta)) = (&invoice, booked.to_invoice) {
            self.add_paid(conn, invoice, delta.minor_units).await?;
        }
        Ok(booked.credit.minor_units)
    }

    /// Settles an `unknown` or `needs_review` attempt by hand, as a person who
    /// checked the provider's records found it: the same booking as a status
    /// answer from the provider (the invoice's paid sum moves on success), with
    /// the audit row in the same transaction. A conflict if the payment is in
    /// any other state; `None` if the organisation has no such payment.
    pub async fn resolve_payment(
        &self,
        organisation_id: &str,
        id: &str,
        status: PaymentStatus,
        note: &str,
        actor: &super::Actor,
    ) -> Result<Option<Payment>, StoreError> {
        if !matches!(status, PaymentStatus::Succeeded | PaymentStatus::Failed) {
            return Err(invalid("status", "give \"succeeded\" or \"failed\""));
        }
        let note = note.trim();
        if note.is_empty() || note.chars().count() > 1000 {
            return Err(invalid(
                "note",
                "say in 1 to 1000 characters what the provider's records show",
            ));
        }
        let mut tx = self.write().await?;
        let Some(mut p) = self
            .payment_in(&mut tx.tx, Some(organisation_id), id, true)
            .await?
        else {
            return Ok(None);
        };
        let before = p.status;
        if !before.can_move_to(status, Decider::Person) {
            return Err(Conflict::AlreadyFinal { status: before }.into());
        }
        self.settle(
            &mut tx.tx,
            &mut p,
            Settlement {
                status: Some(status),
                message: Some(format!("resolved by hand: {note}")),
                ..Settlement::default()
            },
            Decider::Person,
        )
        .await?;
        super::audit::record_in(
            &mut tx.tx,
            organisation_id,
            actor,
            &super::NewAuditEvent::new(
                super::AuditAction::PaymentResolved,
                "payment",
                id,
                serde_json::json!({
                    "from": before.as_str(),
                    "to": status.as_str(),
                    "note": note,
                    "amount": p.amount.minor_units,
                    "currency": p.currency,
                    "invoice_id": p.invoice_id,
                }),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(Some(p))
    }

    /// Records the stage a plugin reported for a running attempt.
    pub async fn set_payment_stage(&self, id: &str, stage: &str) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        sqlx::query(
            "UPDATE payments SET stage = $1, updated_at = $2 WHERE id = $3 AND status = 'processing'",
        )
        .bind(stage)
        .bind(now_ms())
        .bind(id)
        .execute(&mut *tx.tx)
        .await?;
        tx.commit().await
    }

    /// Marks that the clinic asked to abort; false if the payment is settled.
    pub async fn request_abort(&self, organisation_id: &str, id: &str) -> Result<bool, StoreError> {
        let mut tx = self.write().await?;
        let done = sqlx::query(
            "UPDATE payments SET abort_requested = 1, updated_at = $1 WHERE organisation_id = $2 AND id = $3 AND status IN ('processing', 'unknown')",
        )
        .bind(now_ms())
        .bind(organisation_id)
        .bind(id)
        .execute(&mut *tx.tx)
        .await?
        .rows_affected()
            == 1;
        tx.commit().await?;
        Ok(done)
    }

    /// Attempts whose outcome the recovery job should look for now.
    pub async fn payments_to_recover(&self, limit: i64) -> Result<Vec<Payment>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM payments WHERE status IN ('processing', 'unknown') AND next_check_at <= $1 ORDER BY next_check_at LIMIT $2",
        )
        .bind(now_ms())
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(payment).collect()
    }

    /// Takes one attempt for recovery until `lease_until`, so no other host
    /// asks about it at the same time. A `processing` attempt whose call never
    /// ended (its host stopped) becomes `unknown` here.
    pub async fn claim_recovery(&self, p: &Payment, lease_until: i64) -> Result<bool, StoreError> {
        let mut tx = self.write().await?;
        // A compare-and-set lease; the states it may move from are the ones
        // the domain lets the provider's side move to unknown.
        let done = sqlx::query(&format!(
            "UPDATE payments SET next_check_at = $1, recovery_attempts = recovery_attempts + 1, status = '{unknown}', updated_at = $2, \
             message = CASE WHEN status = 'processing' THEN 'the call to the plugin never ended; asking the provider' ELSE message END \
             WHERE id = $3 AND next_check_at = $4 AND status IN ({from})",
            unknown = PaymentStatus::Unknown.as_str(),
            from = sql_list(PaymentStatus::sources_of(
                PaymentStatus::Unknown,
                Decider::Provider
            )),
        ))
        .bind(lease_until)
        .bind(now_ms())
        .bind(&p.id)
        .bind(p.next_check_at)
        .execute(&mut *tx.tx)
        .await?
        .rows_affected()
            == 1;
        tx.commit().await?;
        Ok(done)
    }
}
