//! Exact money: integer minor units with an ISO 4217 currency.
//!
//! Used by the host and, through the SDK, by plugins, so both sides convert
//! between minor units and providers' decimal strings the same way. Nothing here
//! rounds silently: a decimal that does not fit the currency's minor unit is an
//! error, and rounding is always asked for with an explicit strategy.

mod limits;

use std::fmt;
use std::str::FromStr;

use iso_currency::Currency as IsoCurrency;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

pub use limits::{AmountLimits, DEFAULT_MAX_MAJOR_UNITS, TooLarge};

/// Why an amount or a currency was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error(
        "'{0}' is not an ISO 4217 currency code (expected three upper-case letters such as USD, DKK or EUR)"
    )]
    UnknownCurrency(String),
    #[error("'{0}' is not a decimal amount (expected digits with an optional '.' such as 12.34)")]
    NotADecimal(String),
    #[error("{amount} has more decimals than {currency} allows ({exponent})")]
    TooPrecise {
        amount: String,
        currency: Currency,
        exponent: u32,
    },
    #[error("{0} does not fit in 64-bit minor units")]
    Overflow(String),
    #[error("cannot combine {0} with {1}")]
    CurrencyMismatch(Currency, Currency),
}

/// An ISO 4217 currency, known to have a minor-unit exponent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency(IsoCurrency);

impl Currency {
    /// Parses an alphabetic code; only upper case is accepted, as ISO 4217 writes it.
    pub fn parse(code: &str) -> Result<Self, MoneyError> {
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(MoneyError::UnknownCurrency(code.to_owned()));
        }
        IsoCurrency::from_code(code)
            .filter(|c| c.exponent().is_some())
            .map(Currency)
            .ok_or_else(|| MoneyError::UnknownCurrency(code.to_owned()))
    }

    /// The three-letter code.
    pub fn code(self) -> &'static str {
        // iso_currency's codes are 'static strings of the enum's names.
        self.0.code()
    }

    /// Digits after the decimal point: 2 for USD, 0 for JPY, 3 for KWD.
    pub fn exponent(self) -> u32 {
        // `parse` refused currencies without an exponent (such as XAU).
        u32::from(self.0.exponent().unwrap_or(0))
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Currency {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let code = String::deserialize(d)?;
        Currency::parse(&code).map_err(serde::de::Error::custom)
    }
}

/// Serialises an amount as its minor units alone, for records that show their
/// currency once beside several amounts (`#[serde(serialize_with = …)]`).
pub fn serialize_minor_units<S: serde::Serializer>(m: &Money, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_i64(m.minor_units)
}

/// An amount in minor units of a currency. May be negative (a refund on an invoice).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    pub minor_units: i64,
    pub currency: Currency,
}

impl Money {
    pub fn new(minor_units: i64, currency: Currency) -> Self {
        Self {
            minor_units,
            currency,
        }
    }

    /// Minor units from a code, such as `Money::of(1234, "USD")` for $12.34.
    pub fn of(minor_units: i64, currency: &str) -> Result<Self, MoneyError> {
        Ok(Self::new(minor_units, Currency::parse(currency)?))
    }

    /// Parses a decimal string in major units, such as emergepay's `"12.34"`.
    /// More decimals than the currency has is an error, never a rounding.
    pub fn from_decimal_str(amount: &str, currency: Currency) -> Result<Self, MoneyError> {
        let trimmed = amount.trim();
        let valid = !trimmed.is_empty()
            && trimmed
                .trim_start_matches('-')
                .bytes()
                .all(|b| b.is_ascii_digit() || b == b'.');
        if !valid {
            return Err(MoneyError::NotADecimal(amount.to_owned()));
        }
        let value =
            Decimal::from_str(trimmed).map_err(|_| MoneyError::NotADecimal(amount.to_owned()))?;
        Self::from_decimal(value, currency)
    }

    /// Converts an exact decimal in major units; refuses one with more decimals
    /// than the currency has.
    pub fn from_decimal(value: Decimal, currency: Currency) -> Result<Self, MoneyError> {
        let exponent = currency.exponent();
        let scaled = value
            .checked_mul(Decimal::from(10i64.pow(exponent)))
            .ok_or_else(|| MoneyError::Overflow(value.to_string()))?;
        if !scaled.fract().is_zero() {
            return Err(MoneyError::TooPrecise {
                amount: value.to_string(),
                currency,
                exponent,
            });
        }
        let minor = i64::try_from(scaled).map_err(|_| MoneyError::Overflow(value.to_string()))?;
        Ok(Self::new(minor, currency))
    }

    /// Rounds a decimal in major units to the currency's minor unit with an
    /// explicit strategy (for VAT: `RoundingStrategy::MidpointAwayFromZero`).
    pub fn round_decimal(
        value: Decimal,
        currency: Currency,
        strategy: RoundingStrategy,
    ) -> Result<Self, MoneyError> {
        Self::from_decimal(
            value.round_dp_with_strategy(currency.exponent(), strategy),
            currency,
        )
    }

    /// The amount in major units as an exact decimal.
    pub fn to_decimal(self) -> Decimal {
        Decimal::new(self.minor_units, self.currency.exponent())
    }

    /// The amount as a decimal string with exactly the currency's decimals,
    /// such as `"12.30"` for 1230 USD cents.
    pub fn to_decimal_string(self) -> String {
        let exponent = self.currency.exponent() as usize;
        let digits = self.minor_units.unsigned_abs().to_string();
        let sign = if self.minor_units < 0 { "-" } else { "" };
        if exponent == 0 {
            return format!("{sign}{digits}");
        }
        let padded = format!("{digits:0>width$}", width = exponent + 1);
        let (major, minor) = padded.split_at(padded.len() - exponent);
        format!("{sign}{major}.{minor}")
    }

    /// Adds two amounts of the same currency.
    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        if self.currency != other.currency {
            return Err(MoneyError::CurrencyMismatch(self.currency, other.currency));
        }
        self.minor_units
            .checked_add(other.minor_units)
            .map(|m| Money::new(m, self.currency))
            .ok_or_else(|| MoneyError::Overflow(format!("{self} + {other}")))
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.to_decimal_string(), self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd() -> Currency {
        Currency::parse("USD").unwrap()
    }

    #[test]
    fn decimal_strings_round_trip_exactly() {
        for (text, minor) in [
            ("12.34", 1234),
            ("0.05", 5),
            ("100", 10000),
            ("-3.10", -310),
        ] {
            let m = Money::from_decimal_str(text, usd()).unwrap();
            assert_eq!(m.minor_units, minor, "{text}");
        }
        assert_eq!(Money::of(5, "USD").unwrap().to_decimal_string(), "0.05");
        assert_eq!(Money::of(-310, "USD").unwrap().to_decimal_string(), "-3.10");
        assert_eq!(Money::of(12550, "DKK").unwrap().to_string(), "125.50 DKK");
        assert_eq!(Money::of(500, "JPY").unwrap().to_decimal_string(), "500");
        assert_eq!(Money::of(1234, "KWD").unwrap().to_decimal_string(), "1.234");
    }

    #[test]
    fn refuses_what_would_need_rounding_or_is_not_money() {
        assert!(matches!(
            Money::from_decimal_str("1.005", usd()),
            Err(MoneyError::TooPrecise { .. })
        ));
        assert!(matches!(
            Money::from_decimal_str("1e3", usd()),
            Err(MoneyError::NotADecimal(_))
        ));
        assert!(matches!(
            Money::from_decimal_str("", usd()),
            Err(MoneyError::NotADecimal(_))
        ));
        assert!(matches!(
            Currency::parse("usd"),
            Err(MoneyError::UnknownCurrency(_))
        ));
        assert!(matches!(
            Currency::parse("XYZ"),
            Err(MoneyError::UnknownCurrency(_))
        ));
        assert!(matches!(
            Money::from_decimal_str("99999999999999999999", usd()),
            Err(MoneyError::Overflow(_))
        ));
    }

    #[test]
    fn explicit_rounding_is_half_away_from_zero_when_asked() {
        let v = Decimal::from_str("2.345").unwrap();
        let m = Money::round_decimal(v, usd(), RoundingStrategy::MidpointAwayFromZero).unwrap();
        assert_eq!(m.minor_units, 235);
        let m = Money::round_decimal(-v, usd(), RoundingStrategy::MidpointAwayFromZero).unwrap();
        assert_eq!(m.minor_units, -235);
    }

    #[test]
    fn adding_different_currencies_is_refused() {
        let a = Money::of(1, "USD").unwrap();
        let b = Money::of(1, "DKK").unwrap();
        assert!(matches!(
            a.checked_add(b),
            Err(MoneyError::CurrencyMismatch(..))
        ));
        assert_eq!(a.checked_add(a).unwrap().minor_units, 2);
    }
}
