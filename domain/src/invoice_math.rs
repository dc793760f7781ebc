//! The amounts of one invoice line. Unit prices are integer minor units without
//! VAT; quantity, discount and VAT rate are decimals. Each line is rounded to
//! whole minor units half away from zero (net first, then VAT on the rounded
//! net); invoice totals are sums of rounded lines, so they always add up.

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};

/// A line's rounded amounts, in minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineAmounts {
    pub net: i64,
    pub vat: i64,
    pub total: i64,
}

fn round(value: Decimal, field: &'static str) -> Result<i64, String> {
    value
        .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero)
        .to_i64()
        .ok_or_else(|| format!("{field} is too large"))
}

/// Rounds to whole minor units, half away from zero.
pub fn round_minor(value: Decimal) -> Result<i64, String> {
    round(value, "the amount")
}

/// Net = quantity × unit price × (1 − discount/100); VAT = net × rate/100.
pub fn line_amounts(
    quantity: Decimal,
    unit_price: i64,
    discount_percent: Decimal,
    vat_rate_percent: Decimal,
) -> Result<LineAmounts, String> {
    let hundred = Decimal::ONE_HUNDRED;
    let gross = quantity
        .checked_mul(Decimal::from(unit_price))
        .ok_or("quantity × unit price is too large")?;
    let too_large = "the line amount is too large";
    let discounted = gross
        .checked_mul(hundred - discount_percent)
        .ok_or(too_large)?
        / hundred;
    let net = round(discounted, "the line amount")?;
    let vat = Decimal::from(net)
        .checked_mul(vat_rate_percent)
        .ok_or("the VAT is too large")?
        / hundred;
    let vat = round(vat, "the VAT")?;
    let total = net.checked_add(vat).ok_or("the line total is too large")?;
    Ok(LineAmounts { net, vat, total })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn vat_rounds_half_away_from_zero() {
        // 0.50 × 25% = 0.125 → 0.13, where banker's rounding would give 0.12.
        let a = line_amounts(d("1"), 50, d("0"), d("25")).unwrap();
        assert_eq!(
            a,
            LineAmounts {
                net: 50,
                vat: 13,
                total: 63
            }
        );
        // And on the negative side, as on a credit note: -0.125 → -0.13.
        let a = line_amounts(d("-1"), 50, d("0"), d("25")).unwrap();
        assert_eq!(
            a,
            LineAmounts {
                net: -50,
                vat: -13,
                total: -63
            }
        );
    }

    #[test]
    fn fractional_quantity_and_discount() {
        // 2.5 × 3.99 = 9.975 → 10% off = 8.9775 → 8.98; 8.98 × 25% = 2.245 → 2.25.
        let a = line_amounts(d("2.5"), 399, d("10"), d("25")).unwrap();
        assert_eq!(
            a,
            LineAmounts {
                net: 898,
                vat: 225,
                total: 1123
            }
        );
    }

    #[test]
    fn overflow_is_an_error_not_a_wrap() {
        assert!(line_amounts(d("1000000000000"), i64::MAX / 2, d("0"), d("0")).is_err());
        // Near Decimal's own limit the discount step must not panic either.
        assert!(line_amounts(d("7000000000"), i64::MAX, d("0"), d("25")).is_err());
    }
}
