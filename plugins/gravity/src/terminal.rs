//! **[inferred]** Starting a transaction on a Gravity terminal.
//!
//! No public emergepay endpoint pushes a sale to a device. The known pattern is
//! `POST /orgs/{oid}/transactions/start` (documented, with the required fields
//! `base_amount` and `external_tran_id`), the card taken on the device, and the
//! result read by polling the retrieval endpoint. What is inferred, and kept in
//! this module only:
//! - `method` is `"terminal"`;
//! - the device is named by the field `{"id":"device_id","value":<terminal id>}`.
//!
//! How a Cancel on the terminal reads is in `results`.

use serde_json::json;
use vetpay_sdk::prelude::*;

use crate::api::{Client, unexpected};

/// Starts `transaction_type` for `cents_text` on `device`; returns emergepay's
/// transaction token (used to cancel).
pub fn start(
    client: &Client,
    transaction_type: &str,
    amount: &str,
    external_id: &str,
    device: &str,
    reference: Option<&str>,
) -> Result<String, PluginError> {
    let mut fields = vec![
        json!({ "id": "base_amount", "value": amount }),
        json!({ "id": "external_tran_id", "value": external_id }),
        json!({ "id": "device_id", "value": device }),
    ];
    if let Some(reference) = reference {
        fields.push(json!({ "id": "invoice_number", "value": reference }));
    }
    let body = json!({
        "transactionData": {
            "transactionType": transaction_type,
            "method": "terminal",
            "fields": fields,
        }
    });
    let response = client.send(
        http::Request::post(client.org_url("transactions/start"))
            .json(&body)
            .header("idempotency-key", external_id),
    )?;
    if !response.is_success() {
        return Err(unexpected(&response));
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Started {
        transaction_token: String,
    }
    Ok(response.json::<Started>()?.transaction_token)
}
