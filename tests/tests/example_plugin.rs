//! The example plugin (the template for plugin authors) against a stub of its
//! fictional provider, through the real runtime: JSON over the host's HTTP,
//! secret injection, idempotency and error mapping.

use vetpay::plugin::types::{
    Money, Outcome, PluginError, StatusQuery, TokenCharge, TransactionKind,
};
use vetpay::plugin::{CallError, Disposition, Runtime};
use vetpay_tests::acme::{API_KEY, call_env, start_acme};
use vetpay_tests::fixtures::config;

fn dkk(minor_units: i64) -> Money {
    Money {
        minor_units,
        currency: "DKK".into(),
    }
}

fn charge_of(id: &str, token: &str, amount: i64) -> TokenCharge {
    TokenCharge {
        request_id: id.into(),
        card_token: token.into(),
        amount: dkk(amount),
        description: None,
    }
}

#[tokio::test]
async fn the_example_plugin_charges_saved_cards_idempotently() {
    let (url, acme) = start_acme().await;
    let rt = Runtime::new(config()).unwrap();
    let plugin = rt
        .load_file(vetpay_plugin_artifacts::EXAMPLE)
        .await
        .unwrap();
    let env = call_env(&url, API_KEY);

    let out = plugin
        .charge_token(&env, charge_of("req-1", "tok_ok", 12550))
        .await
        .unwrap();
    let Outcome::Approved(a) = out else {
        panic!("{out:?}")
    };
    assert_eq!(a.amount.minor_units, 12550);
    assert_eq!(a.card.unwrap().masked_pan, "************4242");

    // The same request id again: Acme sees the idempotency key and charges nothing.
    let again = plugin
        .charge_token(&env, charge_of("req-1", "tok_ok", 12550))
        .await
        .unwrap();
    assert!(matches!(again, Outcome::Approved(b) if b.provider_reference == a.provider_reference));
    assert_eq!(*acme.made.lock().unwrap(), 1);

    let declined = plugin
        .charge_token(&env, charge_of("req-2", "tok_declined", 100))
        .await
        .unwrap();
    assert!(matches!(declined, Outcome::Declined(d) if d.code.as_deref() == Some("51")));

    let query = |id: &str| StatusQuery {
        request_id: id.into(),
        terminal_id: None,
        kind: TransactionKind::Purchase,
        amount: dkk(12550),
        sent_at_ms: None,
        previous_request_id: None,
        superseded: false,
    };
    let status = plugin.status(&env, query("req-1")).await.unwrap();
    assert!(matches!(status, Outcome::Approved(_)), "{status:?}");
    let missing = plugin.status(&env, query("req-404")).await.unwrap();
    assert!(matches!(missing, Outcome::Unknown(_)), "{missing:?}");
    // Sent longer ago than any charge can run: Acme's 404 is final.
    let two_minutes_ago = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
        - 120_000;
    let settled = StatusQuery {
        sent_at_ms: Some(two_minutes_ago),
        ..query("req-404")
    };
    let gone = plugin.status(&env, settled).await.unwrap();
    assert!(matches!(gone, Outcome::NotFound(_)), "{gone:?}");
    assert!(plugin.list_terminals(&env).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_wrong_api_key_is_a_configuration_error_naming_the_setting() {
    let (url, acme) = start_acme().await;
    let rt = Runtime::new(config()).unwrap();
    let plugin = rt
        .load_file(vetpay_plugin_artifacts::EXAMPLE)
        .await
        .unwrap();
    let err = plugin
        .charge_token(
            &call_env(&url, "acme_sk_wrong_key"),
            charge_of("req-9", "tok_ok", 100),
        )
        .await
        .unwrap_err();
    let Some(PluginError::Configuration(c)) = err.plugin_error() else {
        panic!("{err:?}")
    };
    assert_eq!(c.setting, "api-key");
    assert_eq!(err.disposition(), Disposition::Refused);
    assert_eq!(*acme.made.lock().unwrap(), 0);
}

#[tokio::test]
async fn undeclared_exports_are_refused_without_calling_the_plugin() {
    let (url, _acme) = start_acme().await;
    let rt = Runtime::new(config()).unwrap();
    let plugin = rt
        .load_file(vetpay_plugin_artifacts::EXAMPLE)
        .await
        .unwrap();
    let err = plugin
        .reconcile(&call_env(&url, API_KEY), "T-1")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, CallError::NotSupported { export, .. } if export == "reconcile"),
        "{err:?}"
    );
    assert_eq!(err.disposition(), Disposition::NotSent);
}
