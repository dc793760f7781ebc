//! Health plans: who may sign up, how an invoice line takes a plan's included
//! units, what cancelling costs, when failed charges suspend a subscription,
//! and what happens when a contract is over.

use jiff::civil::Date;
use rust_decimal::Decimal;
use vetpay_money::{Currency, Money};

use crate::ids::PlanId;
use crate::invoice_math::round_minor;
use crate::period::Period;
use crate::text_enum;

text_enum! {
    /// How a subscription is paid, chosen at sign-up.
    pub enum PaymentOption {
        /// vetpay issues an invoice every month.
        MonthlyInvoice = "monthly_invoice",
        /// Every month's invoice is charged to the client's saved card through a plugin.
        SavedCard = "saved_card",
        /// Another system bills it; vetpay only records the subscription.
        ThirdParty = "third_party",
        /// The clinic makes each month's invoice by hand.
        Manual = "manual",
        /// The whole contract is paid in advance.
        Advance = "advance",
    }
}

text_enum! {
    pub enum SubscriptionStatus {
        Applied = "applied",
        Active = "active",
        /// Too many failed charges; back to active when paid.
        Suspended = "suspended",
        /// Cancelled, or its card deleted.
        Lapsed = "lapsed",
        /// The contract is over.
        Ended = "ended",
    }
}

text_enum! {
    /// A subscription's month in `billing_periods`.
    pub enum MonthStatus {
        /// Waiting for the billing run.
        Pending = "pending",
        /// A card charge is written or running.
        Charging = "charging",
        /// An invoice was issued for the client to pay.
        Invoiced = "invoiced",
        /// The charge failed; retried later.
        Failed = "failed",
        /// Paid by the card charge.
        Charged = "charged",
        /// Its invoice was paid another way.
        Paid = "paid",
    }
}

impl MonthStatus {
    /// Charged or paid: a settled month never moves again.
    pub fn is_settled(self) -> bool {
        matches!(self, MonthStatus::Charged | MonthStatus::Paid)
    }

    /// Pending, charging or failed: a billing run may take it (a charging one
    /// only to ask what became of its charge).
    pub fn is_workable(self) -> bool {
        matches!(
            self,
            MonthStatus::Pending | MonthStatus::Charging | MonthStatus::Failed
        )
    }

    /// Once the month's invoice is paid, however it was paid: a month being
    /// charged was charged, any other open one is paid.
    pub fn after_invoice_paid(self) -> MonthStatus {
        match self {
            s if s.is_settled() => s,
            MonthStatus::Charging => MonthStatus::Charged,
            _ => MonthStatus::Paid,
        }
    }

    /// What a billing run's outcome `next` makes of the month: settled stays settled.
    pub fn after_outcome(self, next: MonthStatus) -> MonthStatus {
        if self.is_settled() { self } else { next }
    }
}

impl PaymentOption {
    /// Whether the billing run bills its months (the others are paid in
    /// advance, elsewhere, or invoiced by hand).
    pub fn billed_by_run(self) -> bool {
        matches!(
            self,
            PaymentOption::MonthlyInvoice | PaymentOption::SavedCard
        )
    }
}

impl SubscriptionStatus {
    /// Applied, active or suspended: the patient has this plan (one at a time).
    pub fn is_open(self) -> bool {
        matches!(
            self,
            SubscriptionStatus::Applied
                | SubscriptionStatus::Active
                | SubscriptionStatus::Suspended
        )
    }

    /// Only an active plan covers its items in consultations (a suspended one
    /// again once its month is paid).
    pub fn covers_items(self) -> bool {
        self == SubscriptionStatus::Active
    }

    /// Active or suspended: its contract runs and its months are billed.
    pub fn is_running(self) -> bool {
        matches!(
            self,
            SubscriptionStatus::Active | SubscriptionStatus::Suspended
        )
    }
}

/// What decides whether a patient may sign up to a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Eligibility {
    pub plan_name: String,
    /// `None` for any species.
    pub species: Option<String>,
    pub min_age_months: Option<i64>,
    pub max_age_months: Option<i64>,
    pub sale_from: Option<Date>,
    pub sale_until: Option<Date>,
}

/// The patient who would sign up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub species: String,
    pub birth_date: Option<Date>,
}

/// Why a patient may not sign up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EligibilityError {
    #[error("plan '{plan}' is on sale from {from}")]
    NotOnSaleYet { plan: String, from: Date },
    #[error("plan '{plan}' was on sale until {until}")]
    SaleOver { plan: String, until: Date },
    #[error("plan '{plan}' is for {wanted}s; this patient is a {species}")]
    OtherSpecies {
        plan: String,
        wanted: String,
        species: String,
    },
    #[error("plan '{plan}' has age limits; record the patient's birth_date first")]
    NoBirthDate { plan: String },
    #[error("the patient is {age} months old; plan '{plan}' is for {} to {} months",
        .min.unwrap_or(0), .max.map_or("any".into(), |m| m.to_string()))]
    Age {
        plan: String,
        age: i64,
        min: Option<i64>,
        max: Option<i64>,
    },
}

/// Whole months from `birth` to `today`; a month is complete on the day of
/// the month of birth.
pub fn age_in_months(birth: Date, today: Date) -> i64 {
    (i64::from(today.year()) - i64::from(birth.year())) * 12
        + (i64::from(today.month()) - i64::from(birth.month()))
        - i64::from(today.day() < birth.day())
}

impl Eligibility {
    /// The plan is on sale `today` (both ends of the window included).
    pub fn check_on_sale(&self, today: Date) -> Result<(), EligibilityError> {
        if let Some(from) = self.sale_from
            && today < from
        {
            return Err(EligibilityError::NotOnSaleYet {
                plan: self.plan_name.clone(),
                from,
            });
        }
        if let Some(until) = self.sale_until
            && today > until
        {
            return Err(EligibilityError::SaleOver {
                plan: self.plan_name.clone(),
                until,
            });
        }
        Ok(())
    }

    /// The patient is of the plan's species and, where it has age limits, of
    /// an age within them `today`.
    pub fn check_patient(&self, patient: &Candidate, today: Date) -> Result<(), EligibilityError> {
        if let Some(wanted) = &self.species
            && *wanted != patient.species
        {
            return Err(EligibilityError::OtherSpecies {
                plan: self.plan_name.clone(),
                wanted: wanted.clone(),
                species: patient.species.clone(),
            });
        }
        if self.min_age_months.is_none() && self.max_age_months.is_none() {
            return Ok(());
        }
        let birth = patient
            .birth_date
            .ok_or_else(|| EligibilityError::NoBirthDate {
                plan: self.plan_name.clone(),
            })?;
        let age = age_in_months(birth, today);
        if self.min_age_months.is_some_and(|m| age < m)
            || self.max_age_months.is_some_and(|m| age > m)
        {
            return Err(EligibilityError::Age {
                plan: self.plan_name.clone(),
                age,
                min: self.min_age_months,
                max: self.max_age_months,
            });
        }
        Ok(())
    }

    /// Both: on sale, and the patient fits.
    pub fn check(&self, patient: &Candidate, today: Date) -> Result<(), EligibilityError> {
        self.check_on_sale(today)?;
        self.check_patient(patient, today)
    }
}

/// Units of an included item still left: what the contract includes less
/// what was used, never below zero.
pub fn remaining_units(included: Decimal, used: Decimal) -> Decimal {
    (included - used).max(Decimal::ZERO)
}

/// One part of an invoice line that takes a plan item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinePart {
    pub quantity: Decimal,
    pub discount_percent: Decimal,
    /// Whether these units are the plan's included ones.
    pub included: bool,
}

/// Splits `quantity` of a plan item into the included units still left (at
/// the plan's discount) and the rest (at the line's own discount, the normal
/// price). `remaining` is what the contract still covers.
pub fn split_plan_line(
    quantity: Decimal,
    line_discount: Decimal,
    plan_discount: Decimal,
    remaining: Decimal,
) -> Vec<LinePart> {
    let included = quantity.min(remaining.max(Decimal::ZERO));
    let mut parts = Vec::with_capacity(2);
    if included > Decimal::ZERO {
        parts.push(LinePart {
            quantity: included,
            discount_percent: plan_discount,
            included: true,
        });
    }
    if quantity > included {
        parts.push(LinePart {
            quantity: quantity - included,
            discount_percent: line_discount,
            included: false,
        });
    }
    parts
}

/// Included units a subscription has used, from one invoice line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsedItem {
    pub quantity: Decimal,
    /// The item's normal unit price.
    pub unit_price: Money,
    /// The plan's discount on it.
    pub discount_percent: Decimal,
}

/// The lines of a cancellation's settlement invoice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CancellationSettlement {
    pub fee: Money,
    /// The benefit of the included units used: price × discount of each.
    pub used_value: Money,
    /// What was paid under the plan, as a negative line.
    pub paid_back: Money,
}

impl CancellationSettlement {
    /// fee + used − paid; negative when the clinic owes the client.
    pub fn total(&self) -> Option<i64> {
        self.fee
            .minor_units
            .checked_add(self.used_value.minor_units)?
            .checked_add(self.paid_back.minor_units)
    }
}

/// Why a settlement cannot be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettlementError {
    #[error("the value of the items used is too large")]
    TooLarge,
    #[error("an item is priced in {item}, the plan in {plan}")]
    OtherCurrency { plan: Currency, item: Currency },
}

/// Cancelling costs the fee plus the value of the items used, less what was
/// paid on the plan's invoices.
pub fn cancellation_settlement(
    fee: Money,
    used: &[UsedItem],
    paid: Money,
) -> Result<CancellationSettlement, SettlementError> {
    let currency = fee.currency;
    let mut value = Decimal::ZERO;
    for item in used {
        if item.unit_price.currency != currency {
            return Err(SettlementError::OtherCurrency {
                plan: currency,
                item: item.unit_price.currency,
            });
        }
        let benefit = item
            .quantity
            .checked_mul(Decimal::from(item.unit_price.minor_units))
            .and_then(|v| v.checked_mul(item.discount_percent))
            .map(|v| v / Decimal::ONE_HUNDRED)
            .ok_or(SettlementError::TooLarge)?;
        value = value
            .checked_add(benefit)
            .ok_or(SettlementError::TooLarge)?;
    }
    let used_value = round_minor(value).map_err(|_| SettlementError::TooLarge)?;
    let paid_back = paid
        .minor_units
        .checked_neg()
        .ok_or(SettlementError::TooLarge)?;
    Ok(CancellationSettlement {
        fee,
        used_value: Money::new(used_value, currency),
        paid_back: Money::new(paid_back, currency),
    })
}

/// A subscription's standing with its charges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    pub status: SubscriptionStatus,
    pub failed_charges: i64,
}

impl Standing {
    /// After a failed charge: one more failure; an active subscription is
    /// suspended once it has `suspend_after` of them.
    pub fn after_failed_charge(self, suspend_after: i64) -> Standing {
        let failed_charges = self.failed_charges.saturating_add(1);
        let status = if self.status == SubscriptionStatus::Active && failed_charges >= suspend_after
        {
            SubscriptionStatus::Suspended
        } else {
            self.status
        };
        Standing {
            status,
            failed_charges,
        }
    }

    /// After a month is paid, however it was paid: no failures count any
    /// more, and a suspended subscription is active again.
    pub fn after_month_paid(self) -> Standing {
        Standing {
            status: if self.status == SubscriptionStatus::Suspended {
                SubscriptionStatus::Active
            } else {
                self.status
            },
            failed_charges: 0,
        }
    }
}

/// A running subscription whose contract may be over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contract {
    pub status: SubscriptionStatus,
    /// The month after the contract's last.
    pub end_period: Period,
    pub renews: bool,
    /// The plan a renewal signs up to: the plan's next plan, or itself.
    pub renew_plan: PlanId,
    /// That plan's contract length.
    pub renew_contract_months: i64,
}

/// The contract that follows one that is over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Renewal {
    pub plan_id: PlanId,
    pub start_period: Period,
    pub end_period: Period,
    pub status: SubscriptionStatus,
}

/// What billing `period` does to a contract that is over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractEnd {
    pub status: SubscriptionStatus,
    pub reason: &'static str,
    pub renewal: Option<Renewal>,
}

impl Contract {
    /// Over by `period`: running, and `period` is at or past its end.
    pub fn is_over(&self, period: Period) -> bool {
        self.status.is_running() && self.end_period <= period
    }

    /// `None` while the contract runs; else it ends, and a renewing plan starts
    /// the next contract, active, from the month the old one ended.
    pub fn end(&self, period: Period) -> Option<ContractEnd> {
        if !self.is_over(period) {
            return None;
        }
        let renewal = self.renews.then(|| Renewal {
            plan_id: self.renew_plan.clone(),
            start_period: self.end_period,
            end_period: self.end_period.plus_months(self.renew_contract_months),
            status: SubscriptionStatus::Active,
        });
        Some(ContractEnd {
            status: SubscriptionStatus::Ended,
            reason: "contract over",
            renewal,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn date(s: &str) -> Date {
        s.parse().unwrap()
    }

    fn usd(minor: i64) -> Money {
        Money::of(minor, "USD").unwrap()
    }

    fn puppy_plan() -> Eligibility {
        Eligibility {
            plan_name: "Puppy".into(),
            species: Some("dog".into()),
            min_age_months: Some(2),
            max_age_months: Some(12),
            sale_from: Some(date("2026-01-01")),
            sale_until: Some(date("2026-06-30")),
        }
    }

    fn dog(birth: Option<&str>) -> Candidate {
        Candidate {
            species: "dog".into(),
            birth_date: birth.map(date),
        }
    }

    #[test]
    fn age_counts_whole_months() {
        assert_eq!(age_in_months(date("2025-03-15"), date("2026-03-15")), 12);
        assert_eq!(age_in_months(date("2025-03-15"), date("2026-03-14")), 11);
        assert_eq!(age_in_months(date("2025-12-31"), date("2026-01-31")), 1);
        assert_eq!(age_in_months(date("2026-01-31"), date("2026-02-28")), 0);
        assert_eq!(age_in_months(date("2026-03-01"), date("2026-03-01")), 0);
    }

    #[test]
    fn the_sale_window_includes_both_ends() {
        let p = puppy_plan();
        assert_eq!(p.check_on_sale(date("2026-01-01")), Ok(()));
        assert_eq!(p.check_on_sale(date("2026-06-30")), Ok(()));
        assert_eq!(
            p.check_on_sale(date("2025-12-31")),
            Err(EligibilityError::NotOnSaleYet {
                plan: "Puppy".into(),
                from: date("2026-01-01")
            })
        );
        assert!(matches!(
            p.check_on_sale(date("2026-07-01")),
            Err(EligibilityError::SaleOver { .. })
        ));
        let open = Eligibility {
            sale_from: None,
            sale_until: None,
            ..puppy_plan()
        };
        assert_eq!(open.check_on_sale(date("2000-01-01")), Ok(()));
    }

    #[test]
    fn species_and_age_limits() {
        let p = puppy_plan();
        let today = date("2026-03-10");
        assert_eq!(p.check(&dog(Some("2025-11-10")), today), Ok(()));
        let cat = Candidate {
            species: "cat".into(),
            birth_date: None,
        };
        let e = p.check(&cat, today).unwrap_err();
        assert_eq!(
            e.to_string(),
            "plan 'Puppy' is for dogs; this patient is a cat"
        );
        assert_eq!(
            p.check(&dog(None), today),
            Err(EligibilityError::NoBirthDate {
                plan: "Puppy".into()
            })
        );
        // One month short of two, and past twelve.
        let e = p.check(&dog(Some("2026-01-11")), today).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the patient is 1 months old; plan 'Puppy' is for 2 to 12 months"
        );
        assert!(matches!(
            p.check(&dog(Some("2025-02-10")), today),
            Err(EligibilityError::Age { age: 13, .. })
        ));
        // No age limits: no birth date needed.
        let any_age = Eligibility {
            min_age_months: None,
            max_age_months: None,
            species: None,
            ..puppy_plan()
        };
        assert_eq!(any_age.check(&cat, today), Ok(()));
        let adult = Eligibility {
            min_age_months: Some(12),
            max_age_months: None,
            ..puppy_plan()
        };
        let e = adult.check(&dog(Some("2026-01-01")), today).unwrap_err();
        assert!(e.to_string().ends_with("is for 12 to any months"), "{e}");
    }

    #[test]
    fn a_plan_line_splits_into_included_units_and_the_rest() {
        // 3 units, 2 left: 2 at the plan's 100% off, 1 at the line's own 5%.
        let parts = split_plan_line(d("3"), d("5"), d("100"), d("2"));
        assert_eq!(
            parts,
            vec![
                LinePart {
                    quantity: d("2"),
                    discount_percent: d("100"),
                    included: true
                },
                LinePart {
                    quantity: d("1"),
                    discount_percent: d("5"),
                    included: false
                },
            ]
        );
        // Enough left: all included.
        assert_eq!(split_plan_line(d("1.5"), d("0"), d("50"), d("4")).len(), 1);
        // Nothing left: all at the normal price.
        assert_eq!(
            split_plan_line(d("2"), d("0"), d("50"), d("0")),
            vec![LinePart {
                quantity: d("2"),
                discount_percent: d("0"),
                included: false
            }]
        );
        assert_eq!(remaining_units(d("2"), d("3")), d("0"));
        assert_eq!(remaining_units(d("2"), d("0.5")), d("1.5"));
    }

    #[test]
    fn cancelling_costs_fee_plus_items_used_less_what_was_paid() {
        let used = [
            // A free vaccination worth 45.00 and half of a 30.00 check.
            UsedItem {
                quantity: d("1"),
                unit_price: usd(4_500),
                discount_percent: d("100"),
            },
            UsedItem {
                quantity: d("1"),
                unit_price: usd(3_000),
                discount_percent: d("50"),
            },
        ];
        let s = cancellation_settlement(usd(2_000), &used, usd(5_000)).unwrap();
        assert_eq!(s.fee, usd(2_000));
        assert_eq!(s.used_value, usd(6_000));
        assert_eq!(s.paid_back, usd(-5_000));
        assert_eq!(s.total(), Some(3_000));
        // Paid more than fee and use: the clinic owes the difference.
        let s = cancellation_settlement(usd(0), &[], usd(9_000)).unwrap();
        assert_eq!(s.total(), Some(-9_000));
        // Fractions of a minor unit round half away from zero.
        let third = [UsedItem {
            quantity: d("0.5"),
            unit_price: usd(1),
            discount_percent: d("100"),
        }];
        assert_eq!(
            cancellation_settlement(usd(0), &third, usd(0))
                .unwrap()
                .used_value,
            usd(1)
        );
        let huge = [UsedItem {
            quantity: Decimal::MAX,
            unit_price: usd(i64::MAX),
            discount_percent: d("100"),
        }];
        assert_eq!(
            cancellation_settlement(usd(0), &huge, usd(0)),
            Err(SettlementError::TooLarge)
        );
        let dkk = [UsedItem {
            quantity: d("1"),
            unit_price: Money::of(1, "DKK").unwrap(),
            discount_percent: d("1"),
        }];
        assert!(matches!(
            cancellation_settlement(usd(0), &dkk, usd(0)),
            Err(SettlementError::OtherCurrency { .. })
        ));
    }

    #[test]
    fn failures_suspend_and_a_paid_month_lifts_the_suspension() {
        let s = Standing {
            status: SubscriptionStatus::Active,
            failed_charges: 0,
        };
        let s = s.after_failed_charge(2);
        assert_eq!(
            s,
            Standing {
                status: SubscriptionStatus::Active,
                failed_charges: 1
            }
        );
        let s = s.after_failed_charge(2);
        assert_eq!(
            s,
            Standing {
                status: SubscriptionStatus::Suspended,
                failed_charges: 2
            }
        );
        // Further failures keep it suspended and count on.
        let s = s.after_failed_charge(2);
        assert_eq!(
            s,
            Standing {
                status: SubscriptionStatus::Suspended,
                failed_charges: 3
            }
        );
        assert_eq!(
            s.after_month_paid(),
            Standing {
                status: SubscriptionStatus::Active,
                failed_charges: 0
            }
        );
        // Only an active one is suspended; a closed one stays closed.
        let lapsed = Standing {
            status: SubscriptionStatus::Lapsed,
            failed_charges: 5,
        };
        assert_eq!(
            lapsed.after_failed_charge(1).status,
            SubscriptionStatus::Lapsed
        );
        assert_eq!(lapsed.after_month_paid().status, SubscriptionStatus::Lapsed);
        // A threshold of one suspends at the first failure.
        let s = Standing {
            status: SubscriptionStatus::Active,
            failed_charges: 0,
        };
        assert_eq!(
            s.after_failed_charge(1).status,
            SubscriptionStatus::Suspended
        );
    }

    #[test]
    fn a_contract_over_ends_and_a_renewing_one_starts_again() {
        let p = |s: &str| Period::parse(s).unwrap();
        let c = Contract {
            status: SubscriptionStatus::Suspended,
            end_period: p("2027-01"),
            renews: true,
            renew_plan: PlanId::new("next"),
            renew_contract_months: 6,
        };
        assert_eq!(c.end(p("2026-12")), None);
        let end = c.end(p("2027-01")).unwrap();
        assert_eq!(end.status, SubscriptionStatus::Ended);
        assert_eq!(end.reason, "contract over");
        assert_eq!(
            end.renewal,
            Some(Renewal {
                plan_id: PlanId::new("next"),
                start_period: p("2027-01"),
                end_period: p("2027-07"),
                status: SubscriptionStatus::Active,
            })
        );
        let once = Contract {
            renews: false,
            ..c.clone()
        };
        assert_eq!(once.end(p("2027-03")).unwrap().renewal, None);
        // Only a running contract ends.
        let lapsed = Contract {
            status: SubscriptionStatus::Lapsed,
            ..c
        };
        assert_eq!(lapsed.end(p("2027-03")), None);
    }

    #[test]
    fn a_settled_month_stays_settled() {
        use MonthStatus::*;
        assert_eq!(Charging.after_invoice_paid(), Charged);
        for s in [Pending, Invoiced, Failed] {
            assert_eq!(s.after_invoice_paid(), Paid);
            assert_eq!(s.after_outcome(Charging), Charging);
        }
        assert!(Pending.is_workable() && Failed.is_workable() && !Invoiced.is_workable());
        for s in [Charged, Paid] {
            assert!(!s.is_workable());
            assert_eq!(s.after_invoice_paid(), s);
            assert_eq!(s.after_outcome(Failed), s);
        }
    }

    #[test]
    fn open_running_and_billed_options() {
        use SubscriptionStatus::*;
        assert!(Applied.is_open() && !Applied.is_running());
        assert!(Active.covers_items() && !Suspended.covers_items() && !Applied.covers_items());
        assert!(Suspended.is_open() && Suspended.is_running());
        assert!(!Lapsed.is_open() && !Ended.is_running());
        assert!(PaymentOption::SavedCard.billed_by_run());
        assert!(!PaymentOption::Manual.billed_by_run());
        let _ = Currency::parse("USD").unwrap();
    }
}
