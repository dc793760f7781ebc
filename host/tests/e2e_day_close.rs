//! The day's close (issue 16) over HTTP with both simulators, on SQLite and
//! PostgreSQL: a day of card (Nets and Gravity), cash, deposit and refund
//! payments closes with takings equal to the simulators' ledgers and the Nets
//! End of Day totals; a transaction vetpay never booked and a payment still
//! open are reported with what explains them; a closed day never changes.

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::{ClinicApi, api_error, clinic_api, stores};
use vetpay_simulators::nets::Behaviour;

async fn close(api: &ClinicApi, department: &str) -> (u16, Value) {
    let r = api
        .post(
            api.staff(),
            &format!("/v1/departments/{department}/close"),
            json!({}),
        )
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

async fn succeeded(api: &ClinicApi, payment: &Value) {
    let id = payment["id"].as_str().unwrap();
    assert_eq!(api.settled(id).await["status"], "succeeded", "{payment}");
}

fn sums(group: &Value, method: &str) -> (i64, i64) {
    (
        group[method]["count"].as_i64().unwrap_or(0),
        group[method]["total"].as_i64().unwrap_or(0),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_day_closes_with_the_simulator_ledgers_and_the_end_of_day_totals() {
    for store in stores().await {
        let backend = store.backend();
        let api = clinic_api(store).await;
        let (dk, us) = (&api.demo.dk, &api.demo.us);
        let t1 = &api.demo.nets_terminals[0];

        // Denmark: a Nets card payment, part of it refunded, a card deposit, cash.
        let paid = api
            .pay(
                &api.demo.dk_invoice.id,
                json!({"method": "card", "amount": 78500, "terminal_id": t1.id}),
            )
            .await;
        succeeded(&api, &paid).await;
        let r = api
            .money(
                api.staff(),
                &format!("/v1/payments/{}/refunds", paid["id"].as_str().unwrap()),
                json!({"amount": 20000, "terminal_id": t1.id}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{backend:?}");
        succeeded(&api, &r.json().await.unwrap()).await;
        let client = &api.demo.dk_client.id;
        let r = api
            .money(
                api.staff(),
                &format!("/v1/clients/{client}/prepayments"),
                json!({"method": "card", "amount": 10000, "department_id": dk.id, "terminal_id": t1.id}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{backend:?}");
        succeeded(&api, &r.json().await.unwrap()).await;
        let cash_invoice = api.invoice(&dk.id, client, 5000).await;
        let cash = api
            .pay(
                cash_invoice["id"].as_str().unwrap(),
                json!({"method": "cash", "amount": 5000}),
            )
            .await;
        succeeded(&api, &cash).await;

        // The United States: a Gravity card sale and cash.
        let gravity = api
            .pay(
                &api.demo.us_invoice.id,
                json!({"method": "card", "amount": 2500, "terminal_id": api.demo.gravity_terminal.id}),
            )
            .await;
        succeeded(&api, &gravity).await;

        // Two closes at once (a double click, or two hosts): End of Day runs
        // for one of them, and both answer the same close (or say it is
        // being closed).
        let (first, second) = tokio::join!(close(&api, &dk.id), close(&api, &dk.id));
        let mut statuses = [first.0, second.0];
        statuses.sort();
        assert!(
            statuses == [200, 201] || statuses == [201, 409],
            "{backend:?}: {statuses:?}"
        );
        let report = if first.0 == 201 { first.1 } else { second.1 };
        let dkk = &report["takings"][0];
        assert_eq!(dkk["currency"], "DKK");
        assert_eq!(sums(&dkk["payments"], "card"), (1, 78500));
        assert_eq!(sums(&dkk["payments"], "cash"), (1, 5000));
        assert_eq!(sums(&dkk["deposits"], "card"), (1, 10000));
        assert_eq!(sums(&dkk["refunds"], "card"), (1, -20000));
        assert_eq!(dkk["net"], 78500 + 5000 + 10000 - 20000);

        // The simulator's books agree with the close...
        let ledger = api.demo.nets.ledger();
        let on_t1 = |kind: &str| -> (i64, i64) {
            let list: Vec<_> = ledger
                .iter()
                .filter(|e| e.terminal == t1.provider_terminal_id && e.approved)
                .filter(|e| (e.transaction_type == "returnOfGoods") == (kind == "refunds"))
                .collect();
            (list.len() as i64, list.iter().map(|e| e.amount).sum())
        };
        let booked = &dkk["terminals"][&t1.id];
        assert_eq!(
            (
                booked["purchases"]["count"].as_i64().unwrap(),
                booked["purchases"]["total"].as_i64().unwrap()
            ),
            on_t1("purchases"),
            "{backend:?}"
        );
        assert_eq!(
            (
                booked["refunds"]["count"].as_i64().unwrap(),
                booked["refunds"]["total"].as_i64().unwrap()
            ),
            on_t1("refunds")
        );
        // ...and so does the terminal's End of Day.
        let check = report["terminals"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["terminal_id"] == t1.id.as_str())
            .unwrap();
        assert_eq!(check["error"], Value::Null, "{check}");
        assert_eq!(
            check["provider_totals"],
            json!([{"currency": "DKK", "purchases": {"count": 2, "total": 88500}, "refunds": {"count": 1, "total": 20000}}])
        );
        assert_eq!(check["compared"], true);
        assert_eq!(check["differences"], json!([]));
        assert_eq!(check["unbooked"], json!([]));
        assert_eq!(check["booked_elsewhere"], json!([]));
        assert_eq!(report["open_payments"], json!([]));
        assert_eq!(report["balanced"], true, "{report}");

        // Closing again answers the first close; the day never changes.
        let (again_status, again) = close(&api, &dk.id).await;
        assert_eq!(again_status, 200);
        assert_eq!(again["id"], report["id"]);
        let later_invoice = api.invoice(&dk.id, client, 700).await;
        let later = api
            .pay(
                later_invoice["id"].as_str().unwrap(),
                json!({"method": "cash", "amount": 700}),
            )
            .await;
        succeeded(&api, &later).await;
        let date = report["date"].as_str().unwrap();
        let stored = api
            .read(&format!("/v1/departments/{}/closes/{date}", dk.id))
            .await;
        assert_eq!(
            stored["payments"].as_array().unwrap().len(),
            4,
            "{backend:?}"
        );
        assert_eq!(stored["takings"], report["takings"]);
        let (_, still) = close(&api, &dk.id).await;
        assert_eq!(
            still["takings"], report["takings"],
            "a payment after the close is not in it"
        );

        // The same report as CSV (a line per payment) and as a receipt.
        let csv = api
            .get(
                api.staff(),
                &format!("/v1/departments/{}/closes/{date}?format=csv", dk.id),
            )
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(csv.lines().count(), 5, "{csv}");
        assert!(csv.starts_with("date,payment_id,kind,method,amount"));
        let text = api
            .get(
                api.staff(),
                &format!("/v1/departments/{}/closes/{date}?format=text", dk.id),
            )
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            text.contains("BALANCED") && text.contains("735.00 DKK"),
            "{text}"
        );

        // The US department: Gravity's books agree (no End of Day there).
        let (status, us_report) = close(&api, &us.id).await;
        assert_eq!(status, 201);
        let usd = &us_report["takings"][0];
        let gravity_sales: i64 = api
            .demo
            .gravity
            .ledger()
            .iter()
            .filter(|e| e.kind == "CreditSale" && e.approved && !e.voided)
            .map(|e| e.cents)
            .sum();
        assert_eq!(
            sums(&usd["payments"], "card").1,
            gravity_sales,
            "{backend:?}"
        );

        // Bad input: a day not yet begun, a day before the last close, a format.
        let r = api
            .post(
                api.staff(),
                &format!("/v1/departments/{}/close", dk.id),
                json!({"date": "2999-01-01"}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(api_error(r).await.0, 422);
        let r = api
            .post(
                api.staff(),
                &format!("/v1/departments/{}/close", dk.id),
                json!({"date": "2020-01-01"}),
            )
            .send()
            .await
            .unwrap();
        let (status, _, message) = api_error(r).await;
        assert_eq!(status, 422);
        assert!(message.contains("closed already"), "{message}");
        let r = api
            .get(
                api.staff(),
                &format!("/v1/departments/{}/closes/{date}?format=pdf", dk.id),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(api_error(r).await.0, 422);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_vetpay_never_booked_and_an_open_payment_are_reported() {
    for store in stores().await {
        let backend = store.backend();
        let api = clinic_api(store).await;
        let dk = &api.demo.dk;
        let (t1, t2) = (&api.demo.nets_terminals[0], &api.demo.nets_terminals[1]);

        // Someone runs a sale on the terminal outside vetpay.
        let http = reqwest::Client::new();
        let base = &api.demo.nets.base_url;
        let login: Value = http
            .post(format!("{base}/v1/login"))
            .json(&json!({"username": vetpay::demo::NETS_USER, "password": vetpay::demo::NETS_PASSWORD}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let r = http
            .post(format!("{base}/v1/terminal/{}/transaction", t1.provider_terminal_id))
            .bearer_auth(login["token"].as_str().unwrap())
            .json(&json!({"transactionType": "purchase", "amount": 1234, "orderId": "outside-vetpay-1"}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{backend:?}");

        let paid = api
            .pay(
                &api.demo.dk_invoice.id,
                json!({"method": "card", "amount": 78500, "terminal_id": t1.id}),
            )
            .await;
        succeeded(&api, &paid).await;

        // A payment whose card holder never answers: open at the close.
        api.demo
            .nets
            .script(&t2.provider_terminal_id, Behaviour::Never, Duration::ZERO);
        let invoice = api.invoice(&dk.id, &api.demo.dk_client.id, 3000).await;
        let open = api
            .pay(
                invoice["id"].as_str().unwrap(),
                json!({"method": "card", "amount": 3000, "terminal_id": t2.id}),
            )
            .await;
        let open_id = open["id"].as_str().unwrap().to_owned();
        api.wait_for(&open_id, &["processing"]).await;

        let (status, report) = close(&api, &dk.id).await;
        assert_eq!(status, 201, "{backend:?}: {report}");
        assert_eq!(report["balanced"], false);
        let opened: Vec<&str> = report["open_payments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_str().unwrap())
            .collect();
        assert_eq!(opened, [open_id.as_str()], "{backend:?}");
        let check = |terminal: &str| {
            report["terminals"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["terminal_id"] == terminal)
                .cloned()
                .unwrap()
        };
        let first = check(&t1.id);
        assert_eq!(
            first["unbooked"],
            json!([{"order_id": "outside-vetpay-1", "provider_reference": null, "kind": "purchase", "amount": 1234, "currency": "DKK"}]),
            "{backend:?}"
        );
        assert_eq!(
            first["differences"],
            json!([{"currency": "DKK", "what": "purchases",
                    "provider": {"count": 2, "total": 79734}, "vetpay": {"count": 1, "total": 78500}}])
        );
        // The busy terminal could not run End of Day: said, not guessed, and
        // nothing compared there.
        let second = check(&t2.id);
        assert!(second["error"].as_str().is_some(), "{report}");
        assert_eq!(second["compared"], false);
        let text = api
            .get(
                api.staff(),
                &format!(
                    "/v1/departments/{}/closes/{}?format=text",
                    dk.id,
                    report["date"].as_str().unwrap()
                ),
            )
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            text.contains("NOT BALANCED") && text.contains("1 payment(s) still open"),
            "{text}"
        );

        // Let the terminal go.
        let r = api
            .post(
                api.staff(),
                &format!("/v1/payments/{open_id}/abort"),
                json!({}),
            )
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{backend:?}");
        api.settled(&open_id).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vetpay_close_closes_the_day_from_the_command_line_once() {
    for (url, store) in support::databases().await {
        let backend = store.backend();
        let api = clinic_api(store).await;
        let t1 = &api.demo.nets_terminals[0];
        let paid = api
            .pay(
                &api.demo.dk_invoice.id,
                json!({"method": "card", "amount": 78500, "terminal_id": t1.id}),
            )
            .await;
        succeeded(&api, &paid).await;
        let close = |format: &'static str| {
            let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_vetpay"));
            cmd.args(["close", "--department", &api.demo.dk.id, "--format", format])
                .args(["--database", &url])
                .env("VETPAY_SECRET_KEY", support::secret_key())
                .args(["--allow-private-network", "127.0.0.0/8"])
                .env(
                    "VETPAY_CODE_CACHE",
                    std::env::temp_dir().join("vetpay-test-compiled-cache"),
                );
            // The simulators serve the binary from this process's runtime.
            tokio::task::spawn_blocking(move || cmd.output().unwrap())
        };
        let out = close("json").await.unwrap();
        assert!(
            out.status.success(),
            "{backend:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(sums(&report["takings"][0]["payments"], "card"), (1, 78500));
        assert_eq!(report["balanced"], true, "{report}");
        let again = close("text").await.unwrap();
        assert!(again.status.success());
        assert!(String::from_utf8_lossy(&again.stderr).contains("was closed before"));
        assert!(String::from_utf8_lossy(&again.stdout).contains("785.00 DKK"));
        // The API answers the same close.
        let (status, via_api) = close_via_api(&api).await;
        assert_eq!(status, 200);
        assert_eq!(via_api["id"], report["id"], "{backend:?}");
    }
}

async fn close_via_api(api: &ClinicApi) -> (u16, Value) {
    close(api, &api.demo.dk.id).await
}
