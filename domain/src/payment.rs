//! Payments: every attempt to move money, its state machine, and the limits
//! on what an attempt may take or give back.
//!
//! ```text
//! processing ─► succeeded | failed | cancelled | needs_review
//!      └─► unknown ─► succeeded | failed | cancelled | needs_review (or still unknown)
//! unknown | needs_review ─(a person, by hand)─► succeeded | failed
//! ```

use std::fmt;

use vetpay_money::{Currency, Money};

use crate::text_enum;

text_enum! {
    pub enum PaymentKind {
        /// Pays (part of) an invoice.
        Payment = "payment",
        /// A client prepayment: becomes client credit.
        Deposit = "deposit",
        /// Money back: a negative payment.
        Refund = "refund",
    }
}

text_enum! {
    pub enum Method {
        /// A card on a terminal, through the terminal's plugin.
        Card = "card",
        /// A card saved through a plugin, charged without the card holder.
        SavedCard = "saved_card",
        Cash = "cash",
        BankTransfer = "bank_transfer",
        /// The client's credit from earlier deposits.
        ClientCredit = "client_credit",
        Other = "other",
    }
}

text_enum! {
    pub enum PaymentStatus {
        /// Running on a terminal or at the provider.
        Processing = "processing",
        Succeeded = "succeeded",
        /// Declined, or cancelled by the card holder on the terminal.
        Failed = "failed",
        /// Aborted by the clinic.
        Cancelled = "cancelled",
        /// The outcome is not known yet; the recovery job asks the provider.
        Unknown = "unknown",
        /// The provider never gave a clear answer, or gave a suspicious one: a person must look.
        NeedsReview = "needs_review",
    }
}

impl Method {
    /// Whether the money moves through a payment plugin.
    pub fn through_plugin(self) -> bool {
        matches!(self, Method::Card | Method::SavedCard)
    }
}

/// Who decides where an attempt goes next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decider {
    /// The provider's answer (or its absence), through a plugin call, the
    /// recovery job or the billing run; also the host settling a manual method.
    Provider,
    /// A person who checked the provider's records (`resolve`).
    Person,
}

/// A move the state machine does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    /// A final state never moves back.
    #[error("the payment is already {}", .from.as_str())]
    Final { from: PaymentStatus },
    #[error("a payment cannot go from {} to {}", .from.as_str(), .to.as_str())]
    NotAllowed {
        from: PaymentStatus,
        to: PaymentStatus,
    },
}

impl PaymentStatus {
    /// Whether the outcome is settled (only a person may still resolve a
    /// `needs_review` one).
    pub fn is_final(self) -> bool {
        !matches!(self, PaymentStatus::Processing | PaymentStatus::Unknown)
    }

    /// Whether an attempt in this state still counts against what it takes:
    /// the running ones.
    pub fn is_running(self) -> bool {
        !self.is_final()
    }

    /// Whether a refund in this state counts against what is left to refund:
    /// succeeded, running, or waiting for a person (it may still succeed).
    pub fn holds_refund(self) -> bool {
        matches!(
            self,
            PaymentStatus::Processing
                | PaymentStatus::Unknown
                | PaymentStatus::Succeeded
                | PaymentStatus::NeedsReview
        )
    }

    /// Whether `by` may move an attempt from `self` to `to`.
    pub fn can_move_to(self, to: PaymentStatus, by: Decider) -> bool {
        use PaymentStatus::*;
        match by {
            Decider::Provider => {
                matches!(self, Processing | Unknown)
                    && matches!(to, Succeeded | Failed | Cancelled | Unknown | NeedsReview)
            }
            Decider::Person => {
                matches!(self, Unknown | NeedsReview) && matches!(to, Succeeded | Failed)
            }
        }
    }

    /// `to` if `by` may move the attempt there, else why not.
    pub fn move_to(self, to: PaymentStatus, by: Decider) -> Result<PaymentStatus, TransitionError> {
        if self.can_move_to(to, by) {
            Ok(to)
        } else if self.is_final() && (by == Decider::Provider || self != PaymentStatus::NeedsReview)
        {
            Err(TransitionError::Final { from: self })
        } else {
            Err(TransitionError::NotAllowed { from: self, to })
        }
    }

    /// The states `by` may move an attempt from to `to`, for a set-based
    /// update's `WHERE status IN (...)`.
    pub fn sources_of(to: PaymentStatus, by: Decider) -> impl Iterator<Item = PaymentStatus> {
        PaymentStatus::ALL
            .iter()
            .copied()
            .filter(move |from| from.can_move_to(to, by))
    }
}

/// `1234 USD minor units`: how the rules' messages write an amount.
struct Minor(Money);

impl fmt::Display for Minor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} minor units", self.0.minor_units, self.0.currency)
    }
}

/// Why a payment may not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaymentError {
    #[error("the invoice is in {invoice}, not {payment}")]
    OtherCurrency {
        invoice: Currency,
        payment: Currency,
    },
    #[error("{} exceeds what can be paid now: {}; lower the amount, or set \"excess_as_deposit\": true to keep the rest as client credit",
        Minor(*.amount),
        if .in_flight.minor_units > 0 {
            format!("{} is due, of which {} is being paid by running payments", Minor(*.due), Minor(*.in_flight))
        } else {
            format!("{} is due", Minor(Money::new(.due.minor_units.max(0), .due.currency)))
        })]
    ExceedsDue {
        amount: Money,
        due: Money,
        in_flight: Money,
    },
    #[error("the client has {} of credit, less than {}", Minor(*.credit), Minor(*.amount))]
    CreditTooLow { credit: Money, amount: Money },
    #[error("the invoice's sums are out of range")]
    OutOfRange,
}

impl PaymentError {
    /// The request field the error is about.
    pub fn field(&self) -> &'static str {
        match self {
            PaymentError::OtherCurrency { .. } => "currency",
            _ => "amount",
        }
    }
}

/// A payment of an invoice is in the invoice's currency.
pub fn check_currency(invoice: Currency, payment: Currency) -> Result<(), PaymentError> {
    if invoice == payment {
        Ok(())
    } else {
        Err(PaymentError::OtherCurrency { invoice, payment })
    }
}

/// An invoice payment fits in what is due less what running attempts
/// already take, unless the excess is to become client credit.
pub fn check_fits_due(
    due: Money,
    in_flight: Money,
    amount: Money,
    excess_as_deposit: bool,
) -> Result<(), PaymentError> {
    if excess_as_deposit {
        return Ok(());
    }
    if due.currency != amount.currency || in_flight.currency != amount.currency {
        return Err(PaymentError::OtherCurrency {
            invoice: due.currency,
            payment: amount.currency,
        });
    }
    let available = due
        .minor_units
        .checked_sub(in_flight.minor_units)
        .ok_or(PaymentError::OutOfRange)?;
    if amount.minor_units > available {
        return Err(PaymentError::ExceedsDue {
            amount,
            due,
            in_flight,
        });
    }
    Ok(())
}

/// Paying with client credit needs that much credit.
pub fn check_credit_covers(credit: Money, amount: Money) -> Result<(), PaymentError> {
    if amount.currency != credit.currency || amount.minor_units > credit.minor_units {
        return Err(PaymentError::CreditTooLow { credit, amount });
    }
    Ok(())
}

/// What a refund is checked against, loaded with the original payment locked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefundBasis {
    pub kind: PaymentKind,
    pub status: PaymentStatus,
    /// What the original payment took (its amount).
    pub paid: Money,
    /// Its refunds that succeeded or may still succeed ([`PaymentStatus::holds_refund`]).
    pub refunded: Money,
    /// For a deposit: the client's credit not yet used, which may be less
    /// than what the deposit left.
    pub unused_credit: Option<Money>,
}

/// Why a refund may not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefundError {
    #[error("only a succeeded payment can be refunded; this one is {} {}", .kind.as_str(), .status.as_str())]
    NotRefundable {
        kind: PaymentKind,
        status: PaymentStatus,
    },
    #[error("{} is more than can be refunded: {} was paid, {} is refunded or being refunded{}",
        Minor(*.amount), Minor(*.paid), Minor(*.refunded),
        if *.deposit { ", and a deposit can only be refunded up to the client's unused credit" } else { "" })]
    TooMuch {
        amount: Money,
        paid: Money,
        refunded: Money,
        deposit: bool,
    },
    #[error("the payment's refunds are out of range")]
    OutOfRange,
}

/// A refund never exceeds what was paid less what is refunded or being
/// refunded; a deposit's refund not more than the unused credit either.
pub fn check_refund(basis: &RefundBasis, amount: Money) -> Result<(), RefundError> {
    if basis.status != PaymentStatus::Succeeded || basis.paid.minor_units <= 0 {
        return Err(RefundError::NotRefundable {
            kind: basis.kind,
            status: basis.status,
        });
    }
    let mut refundable = basis
        .paid
        .minor_units
        .checked_sub(basis.refunded.minor_units)
        .ok_or(RefundError::OutOfRange)?;
    if let Some(credit) = basis.unused_credit {
        refundable = refundable.min(credit.minor_units);
    }
    if amount.minor_units > refundable || amount.currency != basis.paid.currency {
        return Err(RefundError::TooMuch {
            amount,
            paid: basis.paid,
            refunded: basis.refunded,
            deposit: basis.unused_credit.is_some(),
        });
    }
    Ok(())
}

/// Where the money of a succeeded attempt goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Booking {
    /// Added to the invoice's paid sum (negative for a refund).
    pub to_invoice: Option<Money>,
    /// To (positive) or from (negative) the client's credit.
    pub credit: Money,
}

/// Books a succeeded attempt of `amount` (signed: a refund is negative);
/// `invoice_due` is what its invoice had due, if it has one.
pub fn booking(
    kind: PaymentKind,
    method: Method,
    excess_as_deposit: bool,
    amount: Money,
    invoice_due: Option<Money>,
) -> Booking {
    let zero = Money::new(0, amount.currency);
    match (kind, invoice_due) {
        (PaymentKind::Payment, Some(due)) => {
            let applied = if excess_as_deposit {
                amount.minor_units.min(due.minor_units.max(0))
            } else {
                amount.minor_units
            };
            let credit = if method == Method::ClientCredit {
                -amount.minor_units
            } else {
                amount.minor_units - applied
            };
            Booking {
                to_invoice: Some(Money::new(applied, amount.currency)),
                credit: Money::new(credit, amount.currency),
            }
        }
        (PaymentKind::Refund, Some(_)) => Booking {
            to_invoice: Some(amount),
            credit: zero,
        },
        // A deposit, or the refund of one: client credit only.
        _ => Booking {
            to_invoice: None,
            credit: amount,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use PaymentStatus::*;

    fn usd(minor: i64) -> Money {
        Money::of(minor, "USD").unwrap()
    }

    #[test]
    fn a_final_state_never_moves_back() {
        for from in [Succeeded, Failed, Cancelled, NeedsReview] {
            for to in PaymentStatus::ALL {
                assert!(
                    !from.can_move_to(*to, Decider::Provider),
                    "{from:?} → {to:?}"
                );
            }
            assert_eq!(
                from.move_to(Succeeded, Decider::Provider),
                Err(TransitionError::Final { from })
            );
        }
        for from in [Succeeded, Failed, Cancelled] {
            assert_eq!(
                from.move_to(Failed, Decider::Person),
                Err(TransitionError::Final { from })
            );
        }
    }

    #[test]
    fn processing_and_unknown_move_to_an_answer() {
        for to in [Succeeded, Failed, Cancelled, Unknown, NeedsReview] {
            assert!(Processing.can_move_to(to, Decider::Provider), "{to:?}");
            assert!(Unknown.can_move_to(to, Decider::Provider), "{to:?}");
        }
        assert!(!Processing.can_move_to(Processing, Decider::Provider));
        assert!(!Unknown.can_move_to(Processing, Decider::Provider));
        assert_eq!(
            Unknown.move_to(Processing, Decider::Provider),
            Err(TransitionError::NotAllowed {
                from: Unknown,
                to: Processing
            })
        );
        let sources: Vec<_> = PaymentStatus::sources_of(Succeeded, Decider::Provider).collect();
        assert_eq!(sources, vec![Processing, Unknown]);
    }

    #[test]
    fn a_person_resolves_only_unknown_or_needs_review() {
        for from in [Unknown, NeedsReview] {
            assert_eq!(from.move_to(Succeeded, Decider::Person), Ok(Succeeded));
            assert_eq!(from.move_to(Failed, Decider::Person), Ok(Failed));
            assert!(!from.can_move_to(Cancelled, Decider::Person));
        }
        assert!(!Processing.can_move_to(Succeeded, Decider::Person));
        assert!(!Processing.is_final() && !Unknown.is_final() && NeedsReview.is_final());
    }

    #[test]
    fn a_payment_fits_in_what_is_due_less_running_attempts() {
        assert_eq!(
            check_fits_due(usd(10_000), usd(0), usd(10_000), false),
            Ok(())
        );
        assert_eq!(
            check_fits_due(usd(10_000), usd(4_000), usd(6_000), false),
            Ok(())
        );
        let e = check_fits_due(usd(10_000), usd(4_000), usd(6_001), false).unwrap_err();
        assert!(matches!(e, PaymentError::ExceedsDue { .. }));
        assert_eq!(e.field(), "amount");
        assert_eq!(
            e.to_string(),
            "6001 USD minor units exceeds what can be paid now: 10000 USD minor units is due, of which 4000 USD minor units is being paid by running payments; lower the amount, or set \"excess_as_deposit\": true to keep the rest as client credit"
        );
        // Nothing due (or owed back) reads as zero due.
        let e = check_fits_due(usd(-500), usd(0), usd(1), false).unwrap_err();
        assert!(e.to_string().contains(": 0 USD minor units is due;"), "{e}");
        // The excess may become client credit.
        assert_eq!(check_fits_due(usd(100), usd(0), usd(10_000), true), Ok(()));
        assert_eq!(
            check_fits_due(usd(i64::MIN), usd(1), usd(1), false),
            Err(PaymentError::OutOfRange)
        );
    }

    #[test]
    fn currencies_and_credit() {
        let dkk = Money::of(1, "DKK").unwrap();
        assert_eq!(check_currency(usd(1).currency, usd(2).currency), Ok(()));
        let e = check_currency(usd(1).currency, dkk.currency).unwrap_err();
        assert_eq!(
            (e.field(), e.to_string().as_str()),
            ("currency", "the invoice is in USD, not DKK")
        );
        assert_eq!(check_credit_covers(usd(500), usd(500)), Ok(()));
        assert_eq!(
            check_credit_covers(usd(499), usd(500))
                .unwrap_err()
                .to_string(),
            "the client has 499 USD minor units of credit, less than 500 USD minor units"
        );
    }

    fn basis(paid: i64, refunded: i64, credit: Option<i64>) -> RefundBasis {
        RefundBasis {
            kind: if credit.is_some() {
                PaymentKind::Deposit
            } else {
                PaymentKind::Payment
            },
            status: Succeeded,
            paid: usd(paid),
            refunded: usd(refunded),
            unused_credit: credit.map(usd),
        }
    }

    #[test]
    fn a_refund_never_exceeds_what_is_left_to_refund() {
        assert_eq!(check_refund(&basis(10_000, 0, None), usd(10_000)), Ok(()));
        assert_eq!(
            check_refund(&basis(10_000, 3_000, None), usd(7_000)),
            Ok(())
        );
        let e = check_refund(&basis(10_000, 3_000, None), usd(7_001)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "7001 USD minor units is more than can be refunded: 10000 USD minor units was paid, 3000 USD minor units is refunded or being refunded"
        );
        // A deposit partly spent on invoices: only the unused credit comes back.
        assert_eq!(
            check_refund(&basis(10_000, 0, Some(2_500)), usd(2_500)),
            Ok(())
        );
        let e = check_refund(&basis(10_000, 0, Some(2_500)), usd(2_501)).unwrap_err();
        assert!(
            e.to_string().ends_with("up to the client's unused credit"),
            "{e}"
        );
    }

    #[test]
    fn only_a_succeeded_payment_is_refunded() {
        for status in [Processing, Unknown, Failed, Cancelled, NeedsReview] {
            let b = RefundBasis {
                status,
                ..basis(10_000, 0, None)
            };
            assert_eq!(
                check_refund(&b, usd(1)),
                Err(RefundError::NotRefundable {
                    kind: PaymentKind::Payment,
                    status
                })
            );
        }
        // A refund (negative) is not refunded again.
        let b = RefundBasis {
            kind: PaymentKind::Refund,
            ..basis(-100, 0, None)
        };
        assert!(matches!(
            check_refund(&b, usd(1)),
            Err(RefundError::NotRefundable { .. })
        ));
        assert!(Processing.holds_refund() && NeedsReview.holds_refund() && !Failed.holds_refund());
    }

    #[test]
    fn booking_splits_between_invoice_and_credit() {
        use Method::*;
        let b = booking(
            PaymentKind::Payment,
            Card,
            false,
            usd(6_000),
            Some(usd(10_000)),
        );
        assert_eq!((b.to_invoice, b.credit), (Some(usd(6_000)), usd(0)));
        // Excess becomes client credit.
        let b = booking(
            PaymentKind::Payment,
            Card,
            true,
            usd(12_000),
            Some(usd(10_000)),
        );
        assert_eq!((b.to_invoice, b.credit), (Some(usd(10_000)), usd(2_000)));
        let b = booking(PaymentKind::Payment, Cash, true, usd(500), Some(usd(-100)));
        assert_eq!((b.to_invoice, b.credit), (Some(usd(0)), usd(500)));
        // Paying with credit uses it up.
        let b = booking(
            PaymentKind::Payment,
            ClientCredit,
            false,
            usd(3_000),
            Some(usd(3_000)),
        );
        assert_eq!((b.to_invoice, b.credit), (Some(usd(3_000)), usd(-3_000)));
        let b = booking(PaymentKind::Refund, Card, false, usd(-3_000), Some(usd(0)));
        assert_eq!((b.to_invoice, b.credit), (Some(usd(-3_000)), usd(0)));
        let b = booking(PaymentKind::Deposit, Cash, false, usd(5_000), None);
        assert_eq!((b.to_invoice, b.credit), (None, usd(5_000)));
        let b = booking(PaymentKind::Refund, Cash, false, usd(-5_000), None);
        assert_eq!((b.to_invoice, b.credit), (None, usd(-5_000)));
    }
}
