//! Discounts (issue 16): defined once, for a catalog item, an item group or
//! every line of an invoice, as a percentage or as an amount off each unit,
//! valid between two dates. How they combine on one line, in this order:
//!
//! 1. amounts off each unit: the item's, then its group's, from the catalog
//!    price; a line they would take below zero is refused;
//! 2. percentages, each on what the ones before left: the percentage typed on
//!    the line, then the item's, the group's and the invoice's. Together they
//!    are one exact percentage (`100 × (1 − Π(1 − p/100))`), so the line is
//!    rounded once, half away from zero, as every line is.
//!
//! An amount off the whole invoice is not a discount here: it would need a
//! VAT rate of its own. Give it per item or group, or as a percentage.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// What a discount takes off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Off {
    /// A percentage of the price, 0 to 100.
    Percent(Decimal),
    /// Minor units off each unit, in `currency`.
    Amount { minor_units: i64, currency: String },
}

/// What a discount is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Item(String),
    Group(String),
    Invoice,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discount {
    pub id: String,
    pub name: String,
    pub off: Off,
    pub target: Target,
}

/// A discount as an invoice line records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AppliedDiscount {
    pub id: String,
    pub name: String,
}

/// A line's price after its discounts: the unit price after amounts off, and
/// the one percentage of all percentages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discounted {
    pub unit_price: i64,
    pub discount_percent: Decimal,
    pub applied: Vec<AppliedDiscount>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiscountError {
    #[error(
        "discount '{name}' takes {off} off a unit price of {price}, which would make the line negative"
    )]
    NegativeLine { name: String, off: i64, price: i64 },
    #[error("discount_percent must be a percentage from 0 to 100")]
    Percent,
}

/// Applies `discounts` to one line in the documented order. `item` and `group`
/// are the line's catalog item and its group (none for a free-text line).
pub fn apply(
    unit_price: i64,
    currency: &str,
    typed_percent: Decimal,
    item: Option<&str>,
    group: Option<&str>,
    discounts: &[Discount],
) -> Result<Discounted, DiscountError> {
    let hundred = Decimal::ONE_HUNDRED;
    if typed_percent.is_sign_negative() || typed_percent > hundred {
        return Err(DiscountError::Percent);
    }
    let for_item = |d: &&Discount| matches!(&d.target, Target::Item(i) if Some(i.as_str()) == item);
    let for_group =
        |d: &&Discount| matches!(&d.target, Target::Group(g) if Some(g.as_str()) == group);
    let for_invoice = |d: &&Discount| d.target == Target::Invoice;
    let mut applied = Vec::new();
    let mut price = unit_price;
    for d in discounts
        .iter()
        .filter(for_item)
        .chain(discounts.iter().filter(for_group))
    {
        if let Off::Amount {
            minor_units,
            currency: c,
        } = &d.off
            && c == currency
        {
            price = match price.checked_sub(*minor_units) {
                Some(p) if p >= 0 => p,
                _ => {
                    return Err(DiscountError::NegativeLine {
                        name: d.name.clone(),
                        off: *minor_units,
                        price,
                    });
                }
            };
            applied.push(AppliedDiscount {
                id: d.id.clone(),
                name: d.name.clone(),
            });
        }
    }
    let mut left = (hundred - typed_percent) / hundred;
    let percentages = discounts
        .iter()
        .filter(for_item)
        .chain(discounts.iter().filter(for_group))
        .chain(discounts.iter().filter(for_invoice));
    for d in percentages {
        if let Off::Percent(p) = d.off {
            left = left * (hundred - p) / hundred;
            applied.push(AppliedDiscount {
                id: d.id.clone(),
                name: d.name.clone(),
            });
        }
    }
    Ok(Discounted {
        unit_price: price,
        discount_percent: ((Decimal::ONE - left) * hundred).normalize(),
        applied,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn discount(id: &str, off: Off, target: Target) -> Discount {
        Discount {
            id: id.into(),
            name: id.into(),
            off,
            target,
        }
    }

    fn pct(p: &str) -> Off {
        Off::Percent(d(p))
    }

    fn amount(minor_units: i64) -> Off {
        Off::Amount {
            minor_units,
            currency: "DKK".into(),
        }
    }

    #[test]
    fn amounts_come_off_first_then_percentages_compound_in_order() {
        let all = [
            discount("invoice-5", pct("5"), Target::Invoice),
            discount("group-10", pct("10"), Target::Group("vaccines".into())),
            discount("item-50kr", amount(5000), Target::Item("vac".into())),
            discount("other-item", pct("50"), Target::Item("other".into())),
        ];
        let got = apply(40000, "DKK", d("0"), Some("vac"), Some("vaccines"), &all).unwrap();
        assert_eq!(got.unit_price, 35000);
        // 1 − 0.9 × 0.95 = 0.145
        assert_eq!(got.discount_percent, d("14.5"));
        let names: Vec<&str> = got.applied.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["item-50kr", "group-10", "invoice-5"]);
    }

    #[test]
    fn a_typed_percentage_compounds_with_the_others_and_free_text_gets_only_the_invoices() {
        let all = [
            discount("invoice-10", pct("10"), Target::Invoice),
            discount("item-20", pct("20"), Target::Item("vac".into())),
        ];
        let free = apply(1000, "DKK", d("50"), None, None, &all).unwrap();
        assert_eq!(free.discount_percent, d("55"));
        assert_eq!(free.applied.len(), 1);
        let both = apply(1000, "DKK", d("0"), Some("vac"), None, &all).unwrap();
        assert_eq!(both.discount_percent, d("28"));
    }

    #[test]
    fn a_discount_never_makes_a_line_negative_and_other_currencies_do_not_apply() {
        let all = [discount("big", amount(5000), Target::Item("vac".into()))];
        assert!(matches!(
            apply(4000, "DKK", d("0"), Some("vac"), None, &all),
            Err(DiscountError::NegativeLine {
                off: 5000,
                price: 4000,
                ..
            })
        ));
        let usd = apply(4000, "USD", d("0"), Some("vac"), None, &all).unwrap();
        assert_eq!(usd.unit_price, 4000);
        assert!(usd.applied.is_empty());
        // A full percentage is allowed: the line is free, never below zero.
        let free = apply(4000, "DKK", d("100"), None, None, &[]).unwrap();
        assert_eq!(free.discount_percent, d("100"));
        assert_eq!(
            apply(4000, "DKK", d("101"), None, None, &[]),
            Err(DiscountError::Percent)
        );
    }
}
