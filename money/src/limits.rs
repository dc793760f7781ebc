//! The largest amount vetpay accepts, per currency. Bounding every amount that
//! comes in keeps every sum the host makes of them (invoice totals, a client's
//! credit, what was refunded) far inside 64 bits.

use std::collections::BTreeMap;

use crate::{Currency, Money, MoneyError};

/// One hundred million major units (USD 100,000,000.00; JPY 100,000,000):
/// beyond any clinic's single invoice or payment, and 10^12 minor units at most
/// (4 decimals), so that ten million of them still add up without overflow.
pub const DEFAULT_MAX_MAJOR_UNITS: i64 = 100_000_000;

/// An amount above the maximum of its currency.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{amount} minor units of {currency} is more than the {max} minor units ({max_major} {currency}) this server accepts"
)]
pub struct TooLarge {
    pub amount: i64,
    pub max: i64,
    pub max_major: String,
    pub currency: Currency,
}

/// Per-currency maxima: a default for every currency, and the operator's
/// overrides.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AmountLimits {
    overrides: BTreeMap<Currency, i64>,
}

impl AmountLimits {
    /// Sets the maximum of `currency`, in minor units (at least one).
    pub fn with(mut self, currency: Currency, max_minor_units: i64) -> Self {
        self.overrides.insert(currency, max_minor_units.max(1));
        self
    }

    /// Parses `CUR=AMOUNT` with the amount in major units (`ISK=5000000000`,
    /// `USD=250000.00`), as an operator writes it.
    pub fn parse_override(text: &str) -> Result<(Currency, i64), MoneyError> {
        let (code, amount) = text
            .split_once('=')
            .ok_or_else(|| MoneyError::NotADecimal(text.to_owned()))?;
        let currency = Currency::parse(code.trim())?;
        let max = Money::from_decimal_str(amount.trim(), currency)?;
        if max.minor_units <= 0 {
            return Err(MoneyError::NotADecimal(amount.to_owned()));
        }
        Ok((currency, max.minor_units))
    }

    /// The largest amount of `currency`, in minor units.
    pub fn max(&self, currency: Currency) -> i64 {
        self.overrides.get(&currency).copied().unwrap_or_else(|| {
            DEFAULT_MAX_MAJOR_UNITS.saturating_mul(10i64.saturating_pow(currency.exponent()))
        })
    }

    /// `amount` if its magnitude is within the maximum (refunds and credit
    /// notes are negative and bounded the same way).
    pub fn check(&self, amount: i64, currency: Currency) -> Result<i64, TooLarge> {
        let max = self.max(currency);
        if amount.unsigned_abs() > max.unsigned_abs() {
            return Err(TooLarge {
                amount,
                max,
                max_major: Money::new(max, currency).to_decimal_string(),
                currency,
            });
        }
        Ok(amount)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cur(c: &str) -> Currency {
        Currency::parse(c).unwrap()
    }

    #[test]
    fn defaults_scale_with_the_minor_unit() {
        let limits = AmountLimits::default();
        assert_eq!(limits.max(cur("USD")), 10_000_000_000);
        assert_eq!(limits.max(cur("JPY")), 100_000_000);
        assert_eq!(limits.max(cur("KWD")), 100_000_000_000);
        assert!(limits.check(10_000_000_000, cur("USD")).is_ok());
        assert!(limits.check(-10_000_000_000, cur("USD")).is_ok());
        let err = limits.check(i64::MAX, cur("USD")).unwrap_err();
        assert_eq!(err.max_major, "100000000.00");
        assert!(limits.check(i64::MIN, cur("USD")).is_err());
    }

    #[test]
    fn an_operator_overrides_one_currency() {
        let (c, max) = AmountLimits::parse_override("USD=250000.00").unwrap();
        let limits = AmountLimits::default().with(c, max);
        assert_eq!(limits.max(cur("USD")), 25_000_000);
        assert!(limits.check(25_000_001, cur("USD")).is_err());
        assert_eq!(limits.max(cur("DKK")), 10_000_000_000);
        assert!(AmountLimits::parse_override("USD=0.001").is_err());
        assert!(AmountLimits::parse_override("usd=1").is_err());
        assert!(AmountLimits::parse_override("USD").is_err());
    }
}
