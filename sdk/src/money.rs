//! Exact conversions between the contract's minor units and the decimal strings
//! some providers use. Nothing rounds: an amount that does not fit is an error.

pub use vetpay_money::{Currency, Money as Exact, MoneyError};

use crate::{Money, PluginError};

/// The contract amount as an exact amount, checking the currency code.
pub fn exact(m: &Money) -> Result<Exact, PluginError> {
    Exact::of(m.minor_units, &m.currency).map_err(|e| PluginError::other(e.to_string()))
}

/// `1234` USD → `"12.34"`.
pub fn to_decimal_string(m: &Money) -> Result<String, PluginError> {
    Ok(exact(m)?.to_decimal_string())
}

/// `"12.34"` in `currency` → 1234 minor units.
pub fn from_decimal_str(amount: &str, currency: &str) -> Result<Money, MoneyError> {
    let c = Currency::parse(currency)?;
    let e = Exact::from_decimal_str(amount, c)?;
    Ok(Money {
        minor_units: e.minor_units,
        currency: c.code().to_owned(),
    })
}

impl Money {
    pub fn new(minor_units: i64, currency: &str) -> Self {
        Money {
            minor_units,
            currency: currency.to_owned(),
        }
    }
}
