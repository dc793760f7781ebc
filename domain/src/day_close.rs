//! The day's close of a department (issue 16): the takings of the payments a
//! close takes in, per method, per terminal and plugin for cards, refunds and
//! deposits apart; and what a terminal's End of Day totals say against them.
//! Pure: the store picks the payments, the service asks the terminals.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::payment::{Method, PaymentKind};

/// A settled payment as the close sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClosedPayment {
    pub id: String,
    pub kind: PaymentKind,
    pub method: Method,
    /// Minor units; a refund is negative.
    pub amount: i64,
    pub currency: String,
    pub terminal_id: Option<String>,
    pub plugin_id: Option<String>,
}

/// Counts and sums of one group, in minor units.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Sums {
    pub count: u32,
    pub total: i64,
}

impl Sums {
    fn add(&mut self, amount: i64) -> Result<(), CloseError> {
        self.count = self.count.checked_add(1).ok_or(CloseError::Overflow)?;
        self.total = self.total.checked_add(amount).ok_or(CloseError::Overflow)?;
        Ok(())
    }
}

/// One currency's takings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Takings {
    pub currency: String,
    /// Invoice payments, by method (`card`, `cash`, ...).
    pub payments: BTreeMap<String, Sums>,
    /// Client prepayments, by method.
    pub deposits: BTreeMap<String, Sums>,
    /// Money back, by method (negative totals).
    pub refunds: BTreeMap<String, Sums>,
    /// Card payments, deposits and refunds on each terminal.
    pub terminals: BTreeMap<String, TerminalSums>,
    /// Card money per plugin (terminals and saved cards).
    pub plugins: BTreeMap<String, Sums>,
    /// Everything taken in, refunds deducted. Payments from client credit
    /// are in `payments` (method `client_credit`) but not here: the money
    /// came in with the deposit, on its own day.
    pub net: i64,
}

/// A terminal's card money, as its End of Day counts it: purchases (payments
/// and deposits) and refunds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TerminalSums {
    pub purchases: Sums,
    /// Counted as positive amounts, as End of Day reports count them.
    pub refunds: Sums,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CloseError {
    #[error("the day's takings do not fit in 64 bits")]
    Overflow,
}

/// The takings of `payments`, one entry per currency.
pub fn takings(payments: &[ClosedPayment]) -> Result<Vec<Takings>, CloseError> {
    let mut by_currency: BTreeMap<String, Takings> = BTreeMap::new();
    for p in payments {
        let t = by_currency
            .entry(p.currency.clone())
            .or_insert_with(|| Takings {
                currency: p.currency.clone(),
                ..Takings::default()
            });
        let method = p.method.as_str().to_owned();
        let group = match p.kind {
            PaymentKind::Payment => &mut t.payments,
            PaymentKind::Deposit => &mut t.deposits,
            PaymentKind::Refund => &mut t.refunds,
        };
        group.entry(method).or_default().add(p.amount)?;
        if p.method == Method::ClientCredit {
            continue;
        }
        t.net = t.net.checked_add(p.amount).ok_or(CloseError::Overflow)?;
        if let Some(terminal) = &p.terminal_id {
            let sums = t.terminals.entry(terminal.clone()).or_default();
            match p.kind {
                PaymentKind::Refund => sums
                    .refunds
                    .add(p.amount.checked_neg().ok_or(CloseError::Overflow)?)?,
                PaymentKind::Payment | PaymentKind::Deposit => sums.purchases.add(p.amount)?,
            }
        }
        if let Some(plugin) = &p.plugin_id {
            t.plugins.entry(plugin.clone()).or_default().add(p.amount)?;
        }
    }
    Ok(by_currency.into_values().collect())
}

/// A terminal's End of Day totals of one currency, as the provider reports them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ProviderTotals {
    pub currency: String,
    pub purchases: Sums,
    pub refunds: Sums,
}

/// Where the provider and vetpay's books disagree about a terminal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TotalsDifference {
    pub currency: String,
    /// `purchases` or `refunds`.
    pub what: String,
    pub provider: Sums,
    pub vetpay: Sums,
}

/// The differences between a terminal's End of Day totals and what vetpay
/// booked on it, per currency: none when they agree.
pub fn compare(
    provider: &[ProviderTotals],
    booked: &BTreeMap<String, TerminalSums>,
) -> Vec<TotalsDifference> {
    let mut currencies: Vec<&String> = provider.iter().map(|p| &p.currency).collect();
    currencies.extend(booked.keys());
    currencies.sort();
    currencies.dedup();
    let mut out = Vec::new();
    for currency in currencies {
        let theirs = provider.iter().find(|p| &p.currency == currency);
        let ours = booked.get(currency).cloned().unwrap_or_default();
        let (their_purchases, their_refunds) = theirs
            .map(|t| (t.purchases.clone(), t.refunds.clone()))
            .unwrap_or_default();
        for (what, p, v) in [
            ("purchases", their_purchases, ours.purchases),
            ("refunds", their_refunds, ours.refunds),
        ] {
            if p != v {
                out.push(TotalsDifference {
                    currency: currency.clone(),
                    what: what.to_owned(),
                    provider: p,
                    vetpay: v,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paid(
        id: &str,
        kind: PaymentKind,
        method: Method,
        amount: i64,
        terminal: Option<&str>,
    ) -> ClosedPayment {
        ClosedPayment {
            id: id.into(),
            kind,
            method,
            amount,
            currency: "DKK".into(),
            terminal_id: terminal.map(Into::into),
            plugin_id: terminal.map(|_| "nets".into()),
        }
    }

    #[test]
    fn takings_are_split_by_kind_method_terminal_and_plugin() {
        let day = [
            paid("a", PaymentKind::Payment, Method::Card, 10_000, Some("T1")),
            paid("b", PaymentKind::Payment, Method::Cash, 2_500, None),
            paid("c", PaymentKind::Deposit, Method::Card, 5_000, Some("T1")),
            paid("d", PaymentKind::Refund, Method::Card, -3_000, Some("T1")),
        ];
        let t = &takings(&day).unwrap()[0];
        assert_eq!(
            t.payments["card"],
            Sums {
                count: 1,
                total: 10_000
            }
        );
        assert_eq!(
            t.payments["cash"],
            Sums {
                count: 1,
                total: 2_500
            }
        );
        assert_eq!(t.deposits["card"].total, 5_000);
        assert_eq!(t.refunds["card"].total, -3_000);
        assert_eq!(
            t.terminals["T1"].purchases,
            Sums {
                count: 2,
                total: 15_000
            }
        );
        assert_eq!(
            t.terminals["T1"].refunds,
            Sums {
                count: 1,
                total: 3_000
            }
        );
        assert_eq!(t.plugins["nets"].total, 12_000);
        assert_eq!(t.net, 14_500);
    }

    #[test]
    fn a_payment_from_client_credit_is_shown_but_takes_nothing_in() {
        let day = [
            paid("a", PaymentKind::Payment, Method::ClientCredit, 5_000, None),
            paid("b", PaymentKind::Payment, Method::Cash, 1_000, None),
        ];
        let t = &takings(&day).unwrap()[0];
        assert_eq!(
            t.payments["client_credit"],
            Sums {
                count: 1,
                total: 5_000
            }
        );
        assert_eq!(t.net, 1_000);
    }

    #[test]
    fn totals_that_agree_give_no_difference_and_each_mismatch_is_named() {
        let booked = BTreeMap::from([(
            "DKK".to_owned(),
            TerminalSums {
                purchases: Sums {
                    count: 2,
                    total: 15_000,
                },
                refunds: Sums {
                    count: 1,
                    total: 3_000,
                },
            },
        )]);
        let same = [ProviderTotals {
            currency: "DKK".into(),
            purchases: Sums {
                count: 2,
                total: 15_000,
            },
            refunds: Sums {
                count: 1,
                total: 3_000,
            },
        }];
        assert!(compare(&same, &booked).is_empty());
        let more = [ProviderTotals {
            currency: "DKK".into(),
            purchases: Sums {
                count: 3,
                total: 16_000,
            },
            refunds: Sums {
                count: 1,
                total: 3_000,
            },
        }];
        let diff = compare(&more, &booked);
        assert_eq!(diff.len(), 1);
        assert_eq!(diff[0].what, "purchases");
        assert_eq!(diff[0].provider.count, 3);
        assert!(
            compare(&[], &booked).len() == 2,
            "nothing reported against something booked"
        );
    }

    #[test]
    fn an_overflowing_day_is_an_error_not_a_wrong_sum() {
        let day = [
            paid("a", PaymentKind::Payment, Method::Cash, i64::MAX, None),
            paid("b", PaymentKind::Payment, Method::Cash, 1, None),
        ];
        assert_eq!(takings(&day), Err(CloseError::Overflow));
    }
}
