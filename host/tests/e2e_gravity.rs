//! The Gravity clinic workflows end to end, over HTTP, with the real Gravity
//! plugin against the emergepay simulator, on SQLite and PostgreSQL.

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::{api_error, clinic_api, stores};
use vetpay_simulators::gravity::Behaviour;

#[tokio::test]
async fn gravity_sale_deposit_credit_and_refund_to_the_card() {
    for store in stores().await {
        let api = clinic_api(store).await;
        let terminal = &api.demo.gravity_terminal;
        let client = &api.demo.us_client;
        let invoice = &api.demo.us_invoice;

        // Sale of the due sum.
        let p = api
            .pay(
                &invoice.id,
                json!({"method": "card", "amount": invoice.due.minor_units, "terminal_id": terminal.id}),
            )
            .await;
        let sale_id = p["id"].as_str().unwrap().to_owned();
        let sale = api.settled(&sale_id).await;
        assert_eq!(sale["status"], "succeeded", "{sale}");
        assert_eq!(
            api.read(&format!("/v1/invoices/{}", invoice.id)).await["status"],
            "paid"
        );

        // A deposit on the terminal becomes client credit.
        let r = api
            .money(
                api.staff(),
                &format!("/v1/clients/{}/prepayments", client.id),
                json!({"amount": 5000, "method": "card", "terminal_id": terminal.id}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let deposit: Value = r.json().await.unwrap();
        assert_eq!(deposit["kind"], "deposit");
        assert_eq!(
            api.settled(deposit["id"].as_str().unwrap()).await["status"],
            "succeeded"
        );
        let pre = api
            .read(&format!("/v1/clients/{}/prepayments", client.id))
            .await;
        let usd = |v: &Value| {
            v["credit"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["currency"] == "USD")
                .unwrap()["amount"]
                .as_i64()
                .unwrap()
        };
        assert_eq!(usd(&pre), 5000);

        // The credit pays (part of) a later invoice, at once.
        let second = api.invoice(&api.demo.us.id, &client.id, 3000).await;
        let second_id = second["id"].as_str().unwrap();
        let p = api
            .pay(
                second_id,
                json!({"method": "client_credit", "amount": 3000}),
            )
            .await;
        assert_eq!(p["status"], "succeeded");
        assert_eq!(p["credit_amount"], -3000);
        assert_eq!(
            api.read(&format!("/v1/invoices/{second_id}")).await["status"],
            "paid"
        );
        assert_eq!(
            usd(&api
                .read(&format!("/v1/clients/{}/prepayments", client.id))
                .await),
            2000
        );
        // No more credit than there is.
        let third = api.invoice(&api.demo.us.id, &client.id, 3000).await;
        let r = api
            .money(
                api.staff(),
                &format!("/v1/invoices/{}/payments", third["id"].as_str().unwrap()),
                json!({"method": "client_credit", "amount": 2500}),
            )
            .send()
            .await
            .unwrap();
        let (status, _, message) = api_error(r).await;
        assert_eq!(status, 422);
        assert!(message.contains("credit"), "{message}");

        // Refund part of the sale to the card, without the card holder.
        let r = api
            .money(
                api.staff(),
                &format!("/v1/payments/{sale_id}/refunds"),
                json!({"amount": 2000}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let refund: Value = r.json().await.unwrap();
        assert_eq!(refund["method"], "saved_card");
        let refund = api.settled(refund["id"].as_str().unwrap()).await;
        assert_eq!(refund["status"], "succeeded", "{refund}");
        assert_eq!(refund["amount"], -2000);
        let inv = api.read(&format!("/v1/invoices/{}", invoice.id)).await;
        assert_eq!(inv["paid"], invoice.due.minor_units - 2000);
        assert_eq!(inv["status"], "partially_paid");

        let ledger = api.demo.gravity.ledger();
        let kinds: Vec<(&str, i64)> = ledger.iter().map(|e| (e.kind.as_str(), e.cents)).collect();
        assert_eq!(
            kinds,
            vec![
                ("CreditSale", invoice.due.minor_units),
                ("CreditSale", 5000),
                ("TokenizedRefund", 2000)
            ]
        );
    }
}

#[tokio::test]
async fn saved_cards_follow_the_department_setting_and_pay_invoices() {
    for store in stores().await {
        let api = clinic_api(store).await;
        let terminal = &api.demo.gravity_terminal;
        let client = &api.demo.us_client;
        let us = &api.demo.us;
        let cards_path = format!("/v1/clients/{}/cards", client.id);

        let r = api
            .post(
                api.staff(),
                &cards_path,
                json!({"terminal_id": terminal.id}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let first: Value = r.json().await.unwrap();
        assert!(first["masked_pan"].as_str().unwrap().contains('*'));
        assert_eq!(first["is_default"], true);
        assert!(
            first.get("token").is_none(),
            "the provider's token stays inside"
        );

        let view = api
            .read(&format!("{cards_path}?department_id={}", us.id))
            .await;
        assert_eq!(view["recurring_allowed"], true);
        assert_eq!(view["cards"].as_array().unwrap().len(), 1);

        // Setting off → no stored Gravity cards on the billing view.
        let r = api
            .put(
                api.admin(),
                &format!("/v1/departments/{}/settings", us.id),
                json!({"gravity-recurring-payments": false}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let view = api
            .read(&format!("{cards_path}?department_id={}", us.id))
            .await;
        assert_eq!(view["recurring_allowed"], false);
        assert!(view["cards"].as_array().unwrap().is_empty());
        let r = api
            .put(
                api.admin(),
                &format!("/v1/departments/{}/settings", us.id),
                json!({"gravity-recurring-payments": true}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);

        // A second card; one default at a time.
        let r = api
            .post(
                api.staff(),
                &cards_path,
                json!({"terminal_id": terminal.id}),
            )
            .send()
            .await
            .unwrap();
        let second: Value = r.json().await.unwrap();
        assert_eq!(second["is_default"], false);
        let r = api
            .http
            .put(format!(
                "{}{cards_path}/{}/default",
                api.url,
                second["id"].as_str().unwrap()
            ))
            .bearer_auth(api.staff())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
        let view = api
            .read(&format!("{cards_path}?department_id={}", us.id))
            .await;
        let cards = view["cards"].as_array().unwrap();
        assert_eq!(cards.iter().filter(|c| c["is_default"] == true).count(), 1);
        assert_eq!(cards[0]["id"], second["id"]);

        // Charge the default card for an invoice.
        let invoice = api.invoice(&us.id, &client.id, 4200).await;
        let p = api
            .pay(
                invoice["id"].as_str().unwrap(),
                json!({"method": "saved_card", "amount": 4200, "card_id": second["id"]}),
            )
            .await;
        let p = api.settled(p["id"].as_str().unwrap()).await;
        assert_eq!(p["status"], "succeeded", "{p}");
        assert_eq!(
            api.read(&format!("/v1/invoices/{}", invoice["id"].as_str().unwrap()))
                .await["status"],
            "paid"
        );
        assert!(
            api.demo
                .gravity
                .ledger()
                .iter()
                .any(|e| e.kind == "TokenizedPayment" && e.cents == 4200)
        );

        // Deleting the default hands the role to the remaining card.
        let r = api
            .http
            .delete(format!(
                "{}{cards_path}/{}",
                api.url,
                second["id"].as_str().unwrap()
            ))
            .bearer_auth(api.staff())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
        let view = api
            .read(&format!("{cards_path}?department_id={}", us.id))
            .await;
        let cards = view["cards"].as_array().unwrap();
        assert_eq!(cards.len(), 1);
        assert_eq!(cards[0]["id"], first["id"]);
        assert_eq!(cards[0]["is_default"], true);
    }
}

#[tokio::test]
async fn gravity_is_refused_outside_the_us() {
    for store in stores().await {
        let api = clinic_api(store).await;
        let r = api
            .http
            .put(format!("{}/v1/plugins/gravity/markets/DK", api.url))
            .bearer_auth(api.admin())
            .send()
            .await
            .unwrap();
        let (status, _, message) = api_error(r).await;
        assert_eq!(status, 422);
        assert!(message.contains("serves US only"), "{message}");
        let r = api
            .post(
                api.admin(),
                &format!("/v1/departments/{}/terminals", api.demo.dk.id),
                json!({"plugin_id": "gravity", "terminal_id": "G-DK", "name": "X", "type": "emergepay"}),
            )
            .send()
            .await
            .unwrap();
        let (status, _, message) = api_error(r).await;
        assert_eq!(status, 409);
        assert!(message.contains("not enabled for market DK"), "{message}");
        let plugins = api.read("/v1/plugins").await;
        let gravity = plugins
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == "gravity")
            .unwrap();
        assert_eq!(gravity["enabled_markets"], json!(["US"]));
    }
}

#[tokio::test]
async fn gravity_abort_and_decline() {
    for store in stores().await {
        let api = clinic_api(store).await;
        let terminal = &api.demo.gravity_terminal;
        let invoice = &api.demo.us_invoice;
        let device = vetpay::demo::GRAVITY_DEVICE;

        api.demo
            .gravity
            .script(device, Behaviour::Decline, Duration::ZERO);
        let p = api
            .pay(
                &invoice.id,
                json!({"method": "card", "amount": 1000, "terminal_id": terminal.id}),
            )
            .await;
        assert_eq!(
            api.settled(p["id"].as_str().unwrap()).await["status"],
            "failed"
        );

        api.demo
            .gravity
            .script(device, Behaviour::Never, Duration::ZERO);
        let p = api
            .pay(
                &invoice.id,
                json!({"method": "card", "amount": 1000, "terminal_id": terminal.id}),
            )
            .await;
        let id = p["id"].as_str().unwrap();
        // The plugin leaves the transaction token in the cache for abort.
        tokio::time::sleep(Duration::from_millis(400)).await;
        api.abort(id).await;
        assert_eq!(api.settled(id).await["status"], "cancelled");
        let inv = api.read(&format!("/v1/invoices/{}", invoice.id)).await;
        assert_eq!(inv["paid"], 0);
    }
}

/// Two hosts on one PostgreSQL: a payment started on one is aborted through
/// the other (Gravity's transaction token travels through the shared plugin
/// cache), and a dialog watching on the second host sees it end.
#[tokio::test]
async fn two_hosts_share_one_postgresql() {
    let Some(store) = stores()
        .await
        .into_iter()
        .find(|s| s.backend() == vetpay::store::Backend::Postgres)
    else {
        eprintln!("no PostgreSQL: nothing to share");
        return;
    };
    let a = clinic_api(store.clone()).await;
    let b = support::second_host(store).await;

    a.demo.gravity.script(
        vetpay::demo::GRAVITY_DEVICE,
        Behaviour::Never,
        Duration::ZERO,
    );
    let p = a
        .pay(
            &a.demo.us_invoice.id,
            json!({"method": "card", "amount": 1000, "terminal_id": a.demo.gravity_terminal.id}),
        )
        .await;
    let id = p["id"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(400)).await;

    let watcher = {
        let (http, url, key) = (
            a.http.clone(),
            format!("{b}/v1/payments/{id}/events"),
            a.staff().to_owned(),
        );
        tokio::spawn(async move {
            http.get(url)
                .bearer_auth(key)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        })
    };
    let r = a
        .http
        .post(format!("{b}/v1/payments/{id}/abort"))
        .bearer_auth(a.staff())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
    assert_eq!(a.settled(&id).await["status"], "cancelled");
    let seen = tokio::time::timeout(Duration::from_secs(10), watcher)
        .await
        .expect("the watcher on the other host sees the end")
        .unwrap();
    assert!(seen.contains("\"status\":\"cancelled\""), "{seen}");
}
