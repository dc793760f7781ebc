//! Checks of what a plugin answers: a plugin may be buggy or lie, and the host
//! never books what it cannot trust.

use vetpay_money::{Currency, Money};

use super::types::{Approval, CardDetails, Decline, Outcome, Receipt, Stopped, TerminalInfo};

/// Longest reference, code or short text accepted.
const MAX_SHORT: usize = 256;
/// Longest message or receipt accepted.
const MAX_TEXT: usize = 64 * 1024;
/// Most terminals one account may list.
pub const MAX_TERMINALS: usize = 10_000;

/// What the request asked for, to hold the answer against.
#[derive(Debug, Clone, Copy)]
pub struct Expected {
    pub amount: Money,
    /// Zero-amount approvals are right for `save-card` only.
    pub zero_amount: bool,
}

/// A failed check: either malformed, or a different amount than asked.
#[derive(Debug)]
pub enum Invalid {
    Malformed(String),
    AmountMismatch {
        requested: Money,
        reported: Money,
        approval: Box<Approval>,
    },
}

fn short(field: &str, value: &str) -> Result<(), Invalid> {
    if value.len() > MAX_SHORT {
        return Err(Invalid::Malformed(format!(
            "{field} is {} bytes; at most {MAX_SHORT}",
            value.len()
        )));
    }
    Ok(())
}

fn text(field: &str, value: &str) -> Result<(), Invalid> {
    if value.len() > MAX_TEXT {
        return Err(Invalid::Malformed(format!(
            "{field} is {} bytes; at most {MAX_TEXT}",
            value.len()
        )));
    }
    Ok(())
}

fn opt(
    field: &str,
    value: &Option<String>,
    check: fn(&str, &str) -> Result<(), Invalid>,
) -> Result<(), Invalid> {
    value.as_deref().map_or(Ok(()), |v| check(field, v))
}

/// A masked card number may show at most the first six and the last four
/// digits (PCI DSS); anything more is a card number the host must not store.
pub fn check_masked_pan(pan: &str) -> Result<(), String> {
    let digits = pan.chars().filter(char::is_ascii_digit).count();
    let allowed = |c: char| c.is_ascii_digit() || "*Xx#•. -".contains(c);
    if pan.is_empty() || pan.len() > 32 || !pan.chars().all(allowed) {
        return Err("the masked card number has unexpected characters".into());
    }
    if digits > 10 || (digits > 4 && digits == pan.chars().count()) {
        return Err(format!(
            "the masked card number shows {digits} digits; at most the first 6 and last 4 may show"
        ));
    }
    Ok(())
}

fn card(c: &CardDetails) -> Result<(), Invalid> {
    check_masked_pan(&c.masked_pan).map_err(Invalid::Malformed)?;
    opt("card brand", &c.brand, short)?;
    opt("card expiry", &c.expiry, short)?;
    opt("card entry method", &c.entry_method, short)
}

fn receipt(r: &Option<Receipt>) -> Result<(), Invalid> {
    if let Some(r) = r {
        opt("customer receipt", &r.customer, text)?;
        opt("merchant receipt", &r.merchant, text)?;
    }
    Ok(())
}

fn stopped(s: &Stopped) -> Result<(), Invalid> {
    text("message", &s.message)?;
    opt("provider reference", &s.provider_reference, short)
}

fn decline(d: &Decline) -> Result<(), Invalid> {
    opt("decline code", &d.code, short)?;
    text("decline message", &d.message)?;
    opt("provider reference", &d.provider_reference, short)?;
    receipt(&d.receipt)
}

/// Checks an outcome against the request it answers.
pub fn outcome(outcome: Outcome, expected: Expected) -> Result<Outcome, Invalid> {
    match &outcome {
        Outcome::Approved(a) => approval(a, expected)?,
        Outcome::Declined(d) => decline(d)?,
        Outcome::CancelledByClient(s) | Outcome::AbortedByClinic(s) => stopped(s)?,
        Outcome::InProgress(m) | Outcome::Unknown(m) | Outcome::NotFound(m) => text("message", m)?,
    }
    Ok(outcome)
}

fn approval(a: &Approval, expected: Expected) -> Result<(), Invalid> {
    if a.provider_reference.trim().is_empty() {
        return Err(Invalid::Malformed(
            "an approval without a provider reference".into(),
        ));
    }
    short("provider reference", &a.provider_reference)?;
    opt("authorization code", &a.authorization_code, short)?;
    opt("card token", &a.card_token, text)?;
    if let Some(c) = &a.card {
        card(c)?;
    }
    receipt(&a.receipt)?;
    let currency =
        Currency::parse(&a.amount.currency).map_err(|e| Invalid::Malformed(e.to_string()))?;
    let reported = Money::new(a.amount.minor_units, currency);
    if currency != expected.amount.currency {
        return Err(Invalid::Malformed(format!(
            "approved in {currency} for a request in {}",
            expected.amount.currency
        )));
    }
    let wanted = if expected.zero_amount {
        0
    } else {
        expected.amount.minor_units
    };
    if reported.minor_units != wanted {
        return Err(Invalid::AmountMismatch {
            requested: Money::new(wanted, currency),
            reported,
            approval: Box::new(a.clone()),
        });
    }
    Ok(())
}

/// Checks a terminal list.
pub fn terminals(list: &[TerminalInfo]) -> Result<(), Invalid> {
    if list.len() > MAX_TERMINALS {
        return Err(Invalid::Malformed(format!(
            "{} terminals; at most {MAX_TERMINALS}",
            list.len()
        )));
    }
    for t in list {
        if t.id.is_empty() {
            return Err(Invalid::Malformed("a terminal without an id".into()));
        }
        short("terminal id", &t.id)?;
        opt("terminal model", &t.model, short)?;
        opt("terminal name", &t.name, short)?;
        opt("terminal note", &t.note, text)?;
    }
    Ok(())
}

/// Checks a reconciliation report.
pub fn reconciliation(r: &super::types::Reconciliation) -> Result<(), Invalid> {
    opt("reconciliation reference", &r.reference, short)?;
    text("reconciliation report", &r.report)?;
    let totals = r.totals.as_deref().unwrap_or_default();
    let transactions = r.transactions.as_deref().unwrap_or_default();
    if totals.len() > MAX_CURRENCIES || transactions.len() > MAX_RECONCILED {
        return Err(Invalid::Malformed(format!(
            "a reconciliation with {} totals and {} transactions",
            totals.len(),
            transactions.len()
        )));
    }
    for t in totals {
        Currency::parse(&t.currency).map_err(|e| Invalid::Malformed(e.to_string()))?;
        if t.purchase_total < 0 || t.refund_total < 0 {
            return Err(Invalid::Malformed(format!(
                "negative End of Day totals in {}",
                t.currency
            )));
        }
    }
    for t in transactions {
        opt("order id", &t.order_id, short)?;
        opt("provider reference", &t.provider_reference, short)?;
        Currency::parse(&t.amount.currency).map_err(|e| Invalid::Malformed(e.to_string()))?;
        if t.amount.minor_units <= 0 {
            return Err(Invalid::Malformed(
                "a reconciled transaction without a positive amount".into(),
            ));
        }
    }
    Ok(())
}

/// A day's End of Day on one terminal lists at most this many transactions.
const MAX_RECONCILED: usize = 10_000;
/// ISO 4217 has fewer than 200 currencies.
const MAX_CURRENCIES: usize = 200;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_pans_show_at_most_six_and_four() {
        for ok in [
            "************1234",
            "411111******1111",
            "1234",
            "XXXX XXXX XXXX 4242",
        ] {
            assert!(check_masked_pan(ok).is_ok(), "{ok}");
        }
        for bad in [
            "4111111111111111",
            "41111111***11111",
            "",
            "4111-1111-1111-1111",
            "card 1234",
        ] {
            assert!(check_masked_pan(bad).is_err(), "{bad}");
        }
    }
}
