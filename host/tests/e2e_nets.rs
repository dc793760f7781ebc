//! The Nets clinic workflows end to end, over HTTP, with the real Nets plugin
//! against the Connect@Cloud simulator, on SQLite and PostgreSQL.

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::{api_error, clinic_api, stores};
use vetpay_simulators::nets::Behaviour;

/// Reads a server-sent event stream to its end; returns (event, data) pairs.
async fn events(api: &support::ClinicApi, payment_id: &str) -> Vec<(String, Value)> {
    let response = api
        .get(api.staff(), &format!("/v1/payments/{payment_id}/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let text = tokio::time::timeout(Duration::from_secs(30), response.text())
        .await
        .expect("the stream ends after the final state")
        .unwrap();
    let mut out = Vec::new();
    for block in text.split("\n\n") {
        let mut name = String::new();
        let mut data = String::new();
        for line in block.lines() {
            if let Some(v) = line.strip_prefix("event: ") {
                name = v.to_owned();
            } else if let Some(v) = line.strip_prefix("data: ") {
                data.push_str(v);
            }
        }
        if !name.is_empty() {
            out.push((name, serde_json::from_str(&data).unwrap()));
        }
    }
    out
}

#[tokio::test]
async fn nets_payment_of_the_due_sum_closes_the_dialog_with_events() {
    for store in stores().await {
        let api = clinic_api(store).await;
        let invoice = &api.demo.dk_invoice;
        let terminal = &api.demo.nets_terminals[0];
        // The card holder takes a moment, so the dialog sees the stages.
        api.demo.nets.script(
            &terminal.provider_terminal_id,
            Behaviour::Approve,
            Duration::from_millis(300),
        );
        let before = api.read(&format!("/v1/invoices/{}", invoice.id)).await;
        let due = before["due"].as_i64().unwrap();
        assert_eq!(due, 78500, "450 + 2 × 89 DKK with 25% VAT");
        let payment = api
            .pay(
                &invoice.id,
                json!({"method": "card", "amount": due, "terminal_id": terminal.id}),
            )
            .await;
        assert_eq!(payment["status"], "processing");
        let id = payment["id"].as_str().unwrap();

        let stream = events(&api, id).await;
        let (last_name, last) = stream.last().unwrap();
        assert_eq!(last_name, "status");
        assert_eq!(last["payment"]["status"], "succeeded", "{stream:?}");
        assert!(
            stream.iter().any(|(n, _)| n == "stage"),
            "the plugin's stages reach the dialog: {stream:?}"
        );

        // The dialog closed: no channel is left behind for it.
        let _ = events(&api, id).await;
        for _ in 0..50 {
            if api.clinic.events().watched() == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(api.clinic.events().watched(), 0);

        let paid = api.read(&format!("/v1/invoices/{}", invoice.id)).await;
        assert_eq!(paid["status"], "paid");
        assert_eq!(paid["paid"], due);
        assert_eq!(paid["due"], 0);
        let done = api.read(&format!("/v1/payments/{id}")).await;
        assert_eq!(done["masked_pan"].as_str().unwrap().len(), 16);
        // The payment's id is the provider-side order id: one entry, once.
        let ledger = api.demo.nets.ledger();
        assert_eq!(ledger.len(), 1);
        assert_eq!(ledger[0].order_id, id);
        assert_eq!(ledger[0].amount, due);

        // A second payment on a paid invoice is refused, and moves nothing.
        let r = api
            .money(
                api.staff(),
                &format!("/v1/invoices/{}/payments", invoice.id),
                json!({"method": "card", "amount": 100, "terminal_id": terminal.id}),
            )
            .send()
            .await
            .unwrap();
        let (status, _, message) = api_error(r).await;
        assert_eq!(status, 422);
        assert!(message.contains("exceeds"), "{message}");
        assert_eq!(api.demo.nets.ledger().len(), 1);
    }
}

#[tokio::test]
async fn an_abort_that_overtakes_its_transaction_still_cancels_it() {
    for store in stores().await {
        let api = clinic_api(store).await;
        let invoice = &api.demo.dk_invoice;
        let terminal = &api.demo.nets_terminals[0];
        // The transaction request takes 1.5 s to reach the terminal, and the
        // card holder never acts: only a cancelAction that finds it ends it.
        api.demo.nets.set_latency(Duration::from_millis(1500));
        api.demo.nets.script(
            &terminal.provider_terminal_id,
            Behaviour::Never,
            Duration::ZERO,
        );
        let p = api
            .pay(
                &invoice.id,
                json!({"method": "card", "amount": 1000, "terminal_id": terminal.id}),
            )
            .await;
        let id = p["id"].as_str().unwrap();
        // The row shows the stage once it lasted 250 ms: the request left by
        // then, past the plugin's own check of the abort flag, and is on its way.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let p = api.read(&format!("/v1/payments/{id}")).await;
            if p["stage"] == "waiting-for-card" {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "no stage: {p}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let asked = std::time::Instant::now();
        api.abort(id).await;
        let p = api.settled(id).await;
        assert_eq!(p["status"], "cancelled", "{p}");
        // Delivered again after 0.5, 1.5, 3.5 s: one of those finds it.
        assert!(
            asked.elapsed() < Duration::from_secs(8),
            "cancelled only after {:?}",
            asked.elapsed()
        );
        assert!(api.demo.nets.ledger().iter().all(|e| !e.approved));
        api.demo.nets.set_latency(Duration::ZERO);
    }
}

#[tokio::test]
async fn client_cancel_fails_and_clinic_abort_cancels() {
    for store in stores().await {
        let api = clinic_api(store).await;
        let invoice = &api.demo.dk_invoice;
        let terminal = &api.demo.nets_terminals[0];
        let tid = &terminal.provider_terminal_id;

        api.demo.nets.script(tid, Behaviour::Cancel, Duration::ZERO);
        let p = api
            .pay(
                &invoice.id,
                json!({"method": "card", "amount": 1000, "terminal_id": terminal.id}),
            )
            .await;
        let p = api.settled(p["id"].as_str().unwrap()).await;
        assert_eq!(p["status"], "failed", "client cancel → Failed: {p}");

        api.demo.nets.script(tid, Behaviour::Never, Duration::ZERO);
        let p = api
            .pay(
                &invoice.id,
                json!({"method": "card", "amount": 1000, "terminal_id": terminal.id}),
            )
            .await;
        let id = p["id"].as_str().unwrap();
        api.wait_for(id, &["processing"]).await;
        // The terminal is busy while the attempt runs.
        let busy = api
            .money(
                api.staff(),
                &format!("/v1/invoices/{}/payments", invoice.id),
                json!({"method": "card", "amount": 500, "terminal_id": terminal.id}),
            )
            .send()
            .await
            .unwrap();
        let (status, code, _) = api_error(busy).await;
        assert_eq!((status.as_u16(), code.as_str()), (409, "terminal_busy"));

        tokio::time::sleep(Duration::from_millis(200)).await;
        api.abort(id).await;
        let p = api.settled(id).await;
        assert_eq!(p["status"], "cancelled", "clinic abort → Cancelled: {p}");
        assert_eq!(p["abort_requested"], true);

        // Aborting again is a clear 409.
        let again = api
            .post(api.staff(), &format!("/v1/payments/{id}/abort"), json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(api_error(again).await.0, 409);

        let invoice_now = api.read(&format!("/v1/invoices/{}", invoice.id)).await;
        assert_eq!(invoice_now["paid"], 0);
        assert_eq!(invoice_now["status"], "finalised");
        assert!(api.demo.nets.ledger().iter().all(|e| !e.approved));

        // The terminal is free again.
        api.demo
            .nets
            .script(tid, Behaviour::Approve, Duration::ZERO);
        let p = api
            .pay(
                &invoice.id,
                json!({"method": "card", "amount": 1000, "terminal_id": terminal.id}),
            )
            .await;
        assert_eq!(
            api.settled(p["id"].as_str().unwrap()).await["status"],
            "succeeded"
        );
    }
}

#[tokio::test]
async fn refund_lands_as_a_negative_payment() {
    for store in stores().await {
        let api = clinic_api(store).await;
        let invoice = &api.demo.dk_invoice;
        let terminal = &api.demo.nets_terminals[1];
        let p = api
            .pay(
                &invoice.id,
                json!({"method": "card", "amount": 78500, "terminal_id": terminal.id}),
            )
            .await;
        let id = p["id"].as_str().unwrap().to_owned();
        assert_eq!(api.settled(&id).await["status"], "succeeded");

        let r = api
            .money(
                api.staff(),
                &format!("/v1/payments/{id}/refunds"),
                json!({"amount": 20000, "terminal_id": terminal.id}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let refund: Value = r.json().await.unwrap();
        assert_eq!(refund["amount"], -20000);
        assert_eq!(refund["kind"], "refund");
        let refund = api.settled(refund["id"].as_str().unwrap()).await;
        assert_eq!(refund["status"], "succeeded");

        let after = api.read(&format!("/v1/invoices/{}", invoice.id)).await;
        assert_eq!(after["paid"], 78500 - 20000);
        assert_eq!(
            after["status"], "partially_paid",
            "back from paid when a refund lands"
        );
        let payments = api
            .read(&format!("/v1/invoices/{}/payments", invoice.id))
            .await;
        let amounts: Vec<i64> = payments
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["status"] == "succeeded")
            .map(|p| p["amount"].as_i64().unwrap())
            .collect();
        assert_eq!(amounts, vec![78500, -20000]);

        // More than what is left to refund is refused and changes nothing.
        let r = api
            .money(
                api.staff(),
                &format!("/v1/payments/{id}/refunds"),
                json!({"amount": 58501, "terminal_id": terminal.id}),
            )
            .send()
            .await
            .unwrap();
        let (status, _, message) = api_error(r).await;
        assert_eq!(status, 422);
        assert!(message.contains("more than can be refunded"), "{message}");
        let ledger = api.demo.nets.ledger();
        assert_eq!(ledger.len(), 2);
        assert_ne!(ledger[1].transaction_type, ledger[0].transaction_type);
    }
}

#[tokio::test]
async fn terminals_per_department_and_the_nets_account_per_organisation() {
    for store in stores().await {
        let api = clinic_api(store).await;
        let (dk, us) = (&api.demo.dk, &api.demo.us);
        let dk_terminals = api
            .read(&format!("/v1/departments/{}/terminals", dk.id))
            .await;
        assert_eq!(dk_terminals.as_array().unwrap().len(), 2);
        assert!(
            dk_terminals
                .as_array()
                .unwrap()
                .iter()
                .all(|t| t["type"] == "Connect@Cloud" && t["last_reconciled_at"].is_i64())
        );
        let us_terminals = api
            .read(&format!("/v1/departments/{}/terminals", us.id))
            .await;
        assert_eq!(us_terminals.as_array().unwrap().len(), 1);

        // Nets terminals must be Connect@Cloud.
        let r = api
            .post(
                api.admin(),
                &format!("/v1/departments/{}/terminals", dk.id),
                json!({"plugin_id": "nets-connect-cloud", "terminal_id": "NETS-DK-9", "name": "Back", "type": "Baxi"}),
            )
            .send()
            .await
            .unwrap();
        let (status, _, message) = api_error(r).await;
        assert_eq!(status, 422);
        assert!(message.contains("Connect@Cloud"), "{message}");
        // Nets is not enabled for the US clinic's market.
        let r = api
            .post(
                api.admin(),
                &format!("/v1/departments/{}/terminals", us.id),
                json!({"plugin_id": "nets-connect-cloud", "terminal_id": "NETS-US-1", "name": "X", "type": "Connect@Cloud"}),
            )
            .send()
            .await
            .unwrap();
        let (status, _, message) = api_error(r).await;
        assert_eq!(status, 409);
        assert!(message.contains("not enabled for market US"), "{message}");

        // A new terminal needs End of Day before it takes payments.
        api.demo
            .nets
            .add_terminal(vetpay::demo::NETS_USER, "NETS-DK-3", "Lane3000", false);
        let r = api
            .post(
                api.admin(),
                &format!("/v1/departments/{}/terminals", dk.id),
                json!({"plugin_id": "nets-connect-cloud", "terminal_id": "NETS-DK-3", "name": "Skranke 3", "type": "Connect@Cloud"}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let t3: Value = r.json().await.unwrap();
        let p = api
            .pay(
                &api.demo.dk_invoice.id,
                json!({"method": "card", "amount": 100, "terminal_id": t3["id"]}),
            )
            .await;
        let p = api.settled(p["id"].as_str().unwrap()).await;
        assert_eq!(p["status"], "failed");
        assert!(p["message"].as_str().unwrap().contains("End of Day"), "{p}");
        let r = api
            .post(
                api.admin(),
                &format!("/v1/terminals/{}/reconcile", t3["id"].as_str().unwrap()),
                json!({}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let p = api
            .pay(
                &api.demo.dk_invoice.id,
                json!({"method": "card", "amount": 100, "terminal_id": t3["id"]}),
            )
            .await;
        assert_eq!(
            api.settled(p["id"].as_str().unwrap()).await["status"],
            "succeeded"
        );

        // The Nets account is set once per organisation: not per department.
        let r = api
            .put(
                api.admin(),
                &format!(
                    "/v1/departments/{}/plugins/nets-connect-cloud/settings",
                    dk.id
                ),
                json!({"username": "someone-else"}),
            )
            .send()
            .await
            .unwrap();
        let (status, _, message) = api_error(r).await;
        assert_eq!(status, 422);
        assert!(
            message.contains("set once for the organisation"),
            "{message}"
        );

        // Secrets are write-only: never returned.
        let r = api
            .get(api.admin(), "/v1/plugins/nets-connect-cloud/settings")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let text = r.text().await.unwrap();
        assert!(
            !text.contains(vetpay::demo::NETS_PASSWORD),
            "the password leaked: {text}"
        );
        let settings: Value = serde_json::from_str(&text).unwrap();
        let password = settings
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["key"] == "password")
            .unwrap();
        assert_eq!(password["value"], Value::Null);
        assert_eq!(password["is_set"], true);
        let username = settings
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["key"] == "username")
            .unwrap();
        assert_eq!(username["value"], vetpay::demo::NETS_USER);

        // A wrong password set by the admin shows up as a configuration failure.
        let r = api
            .put(
                api.admin(),
                "/v1/plugins/nets-connect-cloud/settings",
                json!({"password": "wrong"}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        api.demo.nets.expire_tokens();
        let p = api
            .pay(
                &api.demo.dk_invoice.id,
                json!({"method": "card", "amount": 100, "terminal_id": t3["id"]}),
            )
            .await;
        let p = api.settled(p["id"].as_str().unwrap()).await;
        assert_eq!(p["status"], "failed");
        assert!(p["message"].as_str().unwrap().contains("password"), "{p}");
    }
}
