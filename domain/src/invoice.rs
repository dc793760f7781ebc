//! Invoices: draft → finalised → partially paid → paid (and back when a refund
//! lands). A finalised invoice's status follows from its sums alone.

use vetpay_money::{Currency, Money};

use crate::text_enum;

text_enum! {
    /// What an invoice is for.
    pub enum InvoiceKind {
        Consultation = "consultation",
        CounterSale = "counter_sale",
        /// Credits (part of) a finalised invoice; its amounts are negative.
        CreditNote = "credit_note",
    }
}

text_enum! {
    pub enum InvoiceStatus {
        Draft = "draft",
        Finalised = "finalised",
        PartiallyPaid = "partially_paid",
        Paid = "paid",
    }
}

/// Why invoice sums cannot be worked with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvoiceError {
    #[error("the invoice's sums are out of range")]
    OutOfRange,
    #[error("the invoice is in {invoice}, not {other}")]
    CurrencyMismatch { invoice: Currency, other: Currency },
}

/// The sums of an invoice that decide its status and what is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvoiceSums {
    pub total: Money,
    /// Credit notes against it (zero or negative).
    pub credited: Money,
    /// Settled payments less refunds.
    pub paid: Money,
}

impl InvoiceSums {
    /// The sums of an invoice in `currency`, given in its minor units.
    pub fn new(currency: Currency, total: i64, credited: i64, paid: i64) -> Self {
        Self {
            total: Money::new(total, currency),
            credited: Money::new(credited, currency),
            paid: Money::new(paid, currency),
        }
    }

    pub fn currency(&self) -> Currency {
        self.total.currency
    }

    /// The status of a finalised invoice with these sums.
    pub fn status(&self) -> InvoiceStatus {
        settled_status(
            self.total.minor_units,
            self.credited.minor_units,
            self.paid.minor_units,
        )
    }

    /// What is still to pay: total + credited − paid (negative when the clinic
    /// owes). A credit note is never paid: nothing is due on it.
    pub fn due(&self, kind: InvoiceKind) -> Result<Money, InvoiceError> {
        if kind == InvoiceKind::CreditNote {
            return Ok(Money::new(0, self.currency()));
        }
        self.total
            .minor_units
            .checked_add(self.credited.minor_units)
            .and_then(|s| s.checked_sub(self.paid.minor_units))
            .map(|d| Money::new(d, self.currency()))
            .ok_or(InvoiceError::OutOfRange)
    }

    /// The sums after `delta` (negative for a refund) more is paid.
    pub fn with_paid(self, delta: Money) -> Result<Self, InvoiceError> {
        let paid = self
            .paid
            .checked_add(delta)
            .map_err(|_| match delta.currency {
                c if c != self.currency() => InvoiceError::CurrencyMismatch {
                    invoice: self.currency(),
                    other: c,
                },
                _ => InvoiceError::OutOfRange,
            })?;
        Ok(Self { paid, ..self })
    }

    /// The sums after a credit note of `total` (negative) against it.
    pub fn with_credited(self, total: Money) -> Result<Self, InvoiceError> {
        let credited = self
            .credited
            .checked_add(total)
            .map_err(|_| match total.currency {
                c if c != self.currency() => InvoiceError::CurrencyMismatch {
                    invoice: self.currency(),
                    other: c,
                },
                _ => InvoiceError::OutOfRange,
            })?;
        Ok(Self { credited, ..self })
    }
}

/// The status a finalised invoice has with these sums, in minor units.
pub fn settled_status(total: i64, credited: i64, paid: i64) -> InvoiceStatus {
    // In i128, where the sum of three i64 cannot overflow.
    if i128::from(paid) >= i128::from(total) + i128::from(credited) {
        InvoiceStatus::Paid
    } else if paid > 0 {
        InvoiceStatus::PartiallyPaid
    } else {
        InvoiceStatus::Finalised
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd() -> Currency {
        Currency::parse("USD").unwrap()
    }

    #[test]
    fn status_follows_total_credited_and_paid() {
        let s = InvoiceSums::new(usd(), 10_000, 0, 0);
        assert_eq!(s.status(), InvoiceStatus::Finalised);
        assert_eq!(
            s.due(InvoiceKind::Consultation).unwrap().minor_units,
            10_000
        );
        let s = s.with_paid(Money::new(4_000, usd())).unwrap();
        assert_eq!(s.status(), InvoiceStatus::PartiallyPaid);
        assert_eq!(s.due(InvoiceKind::Consultation).unwrap().minor_units, 6_000);
        // A credit note of 60.00 makes the 40.00 paid enough.
        let s = s.with_credited(Money::new(-6_000, usd())).unwrap();
        assert_eq!(s.status(), InvoiceStatus::Paid);
        assert_eq!(s.due(InvoiceKind::Consultation).unwrap().minor_units, 0);
        // A refund brings it back.
        let s = s.with_paid(Money::new(-4_000, usd())).unwrap();
        assert_eq!(s.status(), InvoiceStatus::Finalised);
    }

    #[test]
    fn a_zero_invoice_is_paid_and_a_credit_note_owes_nothing() {
        assert_eq!(settled_status(0, 0, 0), InvoiceStatus::Paid);
        let note = InvoiceSums::new(usd(), -5_000, 0, 0);
        assert_eq!(note.due(InvoiceKind::CreditNote).unwrap().minor_units, 0);
        // Credited below what was paid: the clinic owes the difference.
        let s = InvoiceSums::new(usd(), 10_000, -10_000, 3_000);
        assert_eq!(
            s.due(InvoiceKind::Consultation).unwrap().minor_units,
            -3_000
        );
        assert_eq!(s.status(), InvoiceStatus::Paid);
    }

    #[test]
    fn sums_out_of_range_and_other_currencies_are_errors() {
        assert_eq!(
            settled_status(i64::MAX, i64::MAX, i64::MAX),
            InvoiceStatus::PartiallyPaid
        );
        let s = InvoiceSums::new(usd(), i64::MAX, 0, -1);
        assert_eq!(
            s.due(InvoiceKind::Consultation),
            Err(InvoiceError::OutOfRange)
        );
        let dkk = Currency::parse("DKK").unwrap();
        assert!(matches!(
            InvoiceSums::new(usd(), 1, 0, 0).with_paid(Money::new(1, dkk)),
            Err(InvoiceError::CurrencyMismatch { .. })
        ));
        assert_eq!(
            InvoiceSums::new(usd(), 1, 0, i64::MAX).with_paid(Money::new(1, usd())),
            Err(InvoiceError::OutOfRange)
        );
    }
}
