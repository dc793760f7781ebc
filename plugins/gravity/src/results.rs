//! What an emergepay result means: its exhaustive mapping to the contract's
//! outcomes. Pure code, no host calls, tested natively.
//!
//! | `resultStatus` | `uniqueTransId` | abort flag | outcome |
//! | --- | --- | --- | --- |
//! | "true" | any | any | approved [known] |
//! | "false" | present | any | declined: the gateway processed and refused it [known] |
//! | "false" | absent or empty | set | aborted by the clinic [inferred] |
//! | "false" | absent or empty | not set | cancelled on the terminal by the card holder [inferred] |
//! | anything else | | | not parsed: an unexpected answer, never final |
//!
//! [inferred] emergepay gives every transaction it processed a
//! `uniqueTransId`, declines included; a transaction stopped on the device
//! before the card reached the gateway has none. `resultMessage` is kept as
//! the message only: its wording decides nothing.

use vetpay_sdk::prelude::*;

use crate::api::{TransactionResponse, brand};

/// A final emergepay result, classified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Approved,
    Declined,
    /// Stopped on the device before the gateway saw a card.
    StoppedOnTerminal,
}

impl Status {
    pub fn of(r: &TransactionResponse) -> Self {
        let processed = r
            .unique_trans_id
            .as_deref()
            .is_some_and(|id| !id.is_empty());
        match (r.approved(), processed) {
            (true, _) => Status::Approved,
            (false, true) => Status::Declined,
            (false, false) => Status::StoppedOnTerminal,
        }
    }
}

/// Exact conversion of an emergepay decimal string.
pub fn usd(amount: &str) -> Result<Money, PluginError> {
    money::from_decimal_str(amount, "USD")
        .map_err(|e| PluginError::other(format!("emergepay sent the amount '{amount}': {e}")))
}

fn receipt(r: &TransactionResponse, amount: &Money) -> Receipt {
    let card = r.masked_account.as_deref().unwrap_or("");
    let brand = r
        .account_card_type
        .as_deref()
        .map(brand)
        .unwrap_or_default();
    let text = format!(
        "APPROVED\nUSD {}\n{} {}\nAUTH {}\nREF {}",
        money::to_decimal_string(amount).unwrap_or_default(),
        brand.to_uppercase(),
        card,
        r.approval_number_result.as_deref().unwrap_or("-"),
        r.unique_trans_id.as_deref().unwrap_or("-"),
    );
    Receipt {
        customer: Some(text.clone()),
        merchant: Some(text),
    }
}

fn message(r: &TransactionResponse, fallback: &str) -> String {
    if r.result_message.is_empty() {
        fallback.into()
    } else {
        r.result_message.clone()
    }
}

/// Maps a final emergepay result to the contract's outcome; `aborted` is
/// vetpay's abort flag for the request.
pub fn outcome(r: &TransactionResponse, aborted: bool) -> Result<Outcome, PluginError> {
    match Status::of(r) {
        Status::Approved => approval(r),
        Status::Declined => Ok(Outcome::Declined(Decline {
            code: None,
            message: message(r, "declined"),
            provider_reference: r.unique_trans_id.clone(),
            receipt: None,
        })),
        Status::StoppedOnTerminal if aborted => Ok(Outcome::AbortedByClinic(Stopped {
            message: message(r, "aborted by the clinic"),
            provider_reference: None,
        })),
        Status::StoppedOnTerminal => Ok(Outcome::CancelledByClient(Stopped {
            message: message(r, "cancelled on the terminal"),
            provider_reference: None,
        })),
    }
}

fn approval(r: &TransactionResponse) -> Result<Outcome, PluginError> {
    let reference = r
        .unique_trans_id
        .clone()
        .ok_or_else(|| PluginError::other("an approval without a uniqueTransId"))?;
    let processed = r
        .amount_processed
        .as_deref()
        .or(r.amount.as_deref())
        .ok_or_else(|| PluginError::other("an approval without an amount"))?;
    let amount = usd(processed)?;
    Ok(Outcome::Approved(Approval {
        receipt: Some(receipt(r, &amount)),
        provider_reference: reference.clone(),
        amount,
        authorization_code: r.approval_number_result.clone().filter(|a| !a.is_empty()),
        card: r.masked_account.clone().map(|masked_pan| CardDetails {
            masked_pan,
            brand: r.account_card_type.as_deref().map(brand),
            expiry: r.account_expiry_date.clone(),
            entry_method: r
                .account_entry_method
                .as_deref()
                .map(str::to_ascii_lowercase),
        }),
        // Gravity's card token is the uniqueTransId of the transaction.
        card_token: Some(reference),
    }))
}
