//! Trust at the boundaries, over HTTP on SQLite and PostgreSQL: where plugins
//! may connect (decided by the operator, on the resolved address), money
//! bounds, refunds going back the way the money came, and bad input of every
//! kind answered with the JSON envelope and nothing written.

mod support;

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};
use support::{ClinicApi, api_error, clinic_api, clinic_api_configured, stores};
use vetpay::plugin::NetworkPolicy;

/// Every special destination an organisation admin tried in the review.
const PRIVATE_DESTINATIONS: &[&str] = &[
    "http://127.0.0.1:5432",
    "http://[::1]:80",
    "http://0.0.0.0:80",
    "http://localhost:8080",
    "http://api.localhost",
    "http://10.1.2.3",
    "http://172.16.0.1",
    "http://192.168.1.1",
    "http://100.64.0.1",
    "http://169.254.169.254",
    "http://metadata.google.internal",
    "http://2130706433",
    "http://0x7f.1",
    "http://017700000001",
    "http://[::ffff:127.0.0.1]",
    "http://[::ffff:169.254.169.254]",
    "http://[fd00::1]",
    "http://[fe80::1]",
    "http://224.0.0.1",
    "http://255.255.255.255",
];

async fn allowed_hosts(api: &ClinicApi, plugin: &str) -> Value {
    let r = api
        .get(api.admin(), &format!("/v1/plugins/{plugin}/allowed-hosts"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

#[tokio::test]
async fn private_destinations_are_refused_at_configuration() {
    for store in stores().await {
        let api = clinic_api_configured(store, None, NetworkPolicy::public_only()).await;
        let before = allowed_hosts(&api, "gravity").await;
        for bad in PRIVATE_DESTINATIONS {
            let r = api
                .put(
                    api.admin(),
                    "/v1/plugins/gravity/allowed-hosts",
                    json!({"hosts": ["https://sandbox.example.com", bad]}),
                )
                .send()
                .await
                .unwrap();
            let (status, code, message) = api_error(r).await;
            assert_eq!(status, 422, "{bad}: {message}");
            assert_eq!(code, "destination_refused", "{bad}: {message}");
            assert!(message.contains("hosts[1]"), "{bad}: {message}");
            assert!(
                message.contains("operator") && message.contains("--allow-private-network"),
                "{bad}: {message}"
            );
            assert_eq!(allowed_hosts(&api, "gravity").await, before, "{bad}");
        }
        for wildcard in ["http://*", "https://*.example.com", "http://*:443"] {
            let r = api
                .put(
                    api.admin(),
                    "/v1/plugins/gravity/allowed-hosts",
                    json!({"hosts": [wildcard]}),
                )
                .send()
                .await
                .unwrap();
            let (status, _, message) = api_error(r).await;
            assert_eq!(status, 422, "{wildcard}");
            assert!(message.contains("wildcard"), "{wildcard}: {message}");
        }
        assert_eq!(allowed_hosts(&api, "gravity").await, before);

        // A public destination is an admin's to allow.
        let r = api
            .put(
                api.admin(),
                "/v1/plugins/gravity/allowed-hosts",
                json!({"hosts": ["https://sandbox.example.com"]}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(
            allowed_hosts(&api, "gravity").await,
            json!(["https://sandbox.example.com:443"])
        );
    }
}

/// A listener that counts the connections it is offered.
async fn counting_listener() -> (u16, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.2:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            seen.fetch_add(1, Ordering::SeqCst);
            drop(socket);
        }
    });
    (port, count)
}

async fn pay_gravity_card(api: &ClinicApi) -> Value {
    let invoice = api
        .invoice(&api.demo.us.id, &api.demo.us_client.id, 1500)
        .await;
    let p = api
        .pay(
            invoice["id"].as_str().unwrap(),
            json!({"method": "card", "amount": 1500, "terminal_id": api.demo.gravity_terminal.id}),
        )
        .await;
    api.settled(p["id"].as_str().unwrap()).await
}

#[tokio::test]
async fn names_and_literals_resolving_to_private_addresses_are_refused_at_connect_time() {
    let loopback: IpAddr = "127.0.0.2".parse().unwrap();
    let mapped: IpAddr = "::ffff:127.0.0.2".parse().unwrap();
    for store in stores().await {
        // The operator allows nothing special; the test names stand in for
        // DNS answers that point at this machine (as a rebinding name would).
        let policy = NetworkPolicy::public_only()
            .pin_name("gravity.test", vec![loopback])
            .pin_name("mapped.test", vec![mapped]);
        let api = clinic_api_configured(store, None, policy).await;

        // The seeded destination is a literal loopback address: refused when
        // the request would leave, so the simulator sees nothing.
        let p = pay_gravity_card(&api).await;
        assert_eq!(p["status"], "failed", "{p}");
        let message = p["message"].as_str().unwrap();
        assert!(message.contains("loopback"), "{message}");
        assert!(message.contains("--allow-private-network"), "{message}");
        assert!(api.demo.gravity.ledger().is_empty());

        for name in ["gravity.test", "mapped.test"] {
            let (port, connections) = counting_listener().await;
            let destination = format!("http://{name}:{port}");
            let r = api
                .put(
                    api.admin(),
                    "/v1/plugins/gravity/allowed-hosts",
                    json!({"hosts": [destination]}),
                )
                .send()
                .await
                .unwrap();
            assert_eq!(
                r.status(),
                200,
                "a public-looking name passes configuration"
            );
            let r = api
                .put(
                    api.admin(),
                    "/v1/plugins/gravity/settings",
                    json!({"base-url": destination}),
                )
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
            let p = pay_gravity_card(&api).await;
            assert_eq!(p["status"], "failed", "{name}: {p}");
            let message = p["message"].as_str().unwrap();
            assert!(message.contains(name), "{message}");
            assert!(message.contains("loopback"), "{message}");
            assert_eq!(
                connections.load(Ordering::SeqCst),
                0,
                "{name}: no connection may be made"
            );
        }
    }
}

#[tokio::test]
async fn the_operator_can_allow_loopback_and_then_payments_flow() {
    for store in stores().await {
        // support::clinic_api allows loopback as `--allow-private-network
        // 127.0.0.0/8` would; the same payment as above then succeeds.
        let api = clinic_api(store).await;
        let p = pay_gravity_card(&api).await;
        assert_eq!(p["status"], "succeeded", "{p}");
        assert_eq!(api.demo.gravity.ledger().len(), 1);
    }
}

async fn refused(r: reqwest::Response, field: &str) {
    let (status, code, message) = api_error(r).await;
    assert_eq!(status, 422, "{field}: {message}");
    assert_eq!(code, "invalid", "{field}: {message}");
    assert!(message.starts_with(field), "{field}: {message}");
}

#[tokio::test]
async fn the_largest_amounts_are_refused_with_nothing_written() {
    let max = i64::MAX;
    // The default maximum: 100,000,000.00 USD.
    let usd_max = 10_000_000_000i64;
    for store in stores().await {
        let api = clinic_api(store).await;
        let us = &api.demo.us;
        let client = &api.demo.us_client.id;
        let invoice = &api.demo.us_invoice.id;

        for body in [
            json!({"method": "cash", "amount": max}),
            json!({"method": "card", "amount": max, "terminal_id": api.demo.gravity_terminal.id}),
            json!({"method": "cash", "amount": usd_max + 1}),
        ] {
            let r = api
                .money(
                    api.staff(),
                    &format!("/v1/invoices/{invoice}/payments"),
                    body,
                )
                .send()
                .await
                .unwrap();
            refused(r, "amount").await;
        }
        assert_eq!(
            api.read(&format!("/v1/invoices/{invoice}/payments")).await,
            json!([])
        );

        let prepay = |amount: i64| {
            api.money(
                api.staff(),
                &format!("/v1/clients/{client}/prepayments"),
                json!({"method": "cash", "amount": amount, "department_id": us.id}),
            )
        };
        refused(prepay(max).send().await.unwrap(), "amount").await;
        let view = api.read(&format!("/v1/clients/{client}/prepayments")).await;
        assert_eq!(view["payments"], json!([]), "{view}");

        // Two deposits of the maximum: every view and refund still answers.
        let mut deposits = Vec::new();
        for _ in 0..2 {
            let r = prepay(usd_max).send().await.unwrap();
            assert_eq!(r.status(), 201);
            deposits.push(r.json::<Value>().await.unwrap());
        }
        let view = api.read(&format!("/v1/clients/{client}/prepayments")).await;
        let usd = view["credit"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["currency"] == "USD")
            .cloned();
        assert_eq!(usd, Some(json!({"currency": "USD", "amount": 2 * usd_max})));
        let deposit = deposits[0]["id"].as_str().unwrap();
        let r = api
            .money(
                api.staff(),
                &format!("/v1/payments/{deposit}/refunds"),
                json!({"amount": max}),
            )
            .send()
            .await
            .unwrap();
        refused(r, "amount").await;
        assert_eq!(
            api.read(&format!("/v1/payments/{deposit}/refunds")).await,
            json!([])
        );
        let r = api
            .money(
                api.staff(),
                &format!("/v1/payments/{deposit}/refunds"),
                json!({"amount": usd_max}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());

        // Invoice lines: the unit price, the line's total and the invoice's.
        let invoices_before = api.read("/v1/invoices").await.as_array().unwrap().len();
        let line = |price: i64, quantity: i64| json!({"description": "Surgery", "quantity": quantity, "unit_price": price, "vat_rate": 25});
        for (lines, field) in [
            (vec![line(max, 1)], "lines[0].unit_price"),
            (vec![line(usd_max, 2)], "lines[0].total"),
            (vec![line(usd_max / 2, 1), line(usd_max / 2, 1)], "total"),
        ] {
            let r = api
                .post(
                    api.staff(),
                    "/v1/invoices",
                    json!({"department_id": us.id, "client_id": client, "kind": "counter_sale", "lines": lines}),
                )
                .send()
                .await
                .unwrap();
            refused(r, field).await;
        }
        assert_eq!(
            api.read("/v1/invoices").await.as_array().unwrap().len(),
            invoices_before
        );
        let r = api
            .post(
                api.staff(),
                "/v1/invoices",
                json!({"department_id": us.id, "client_id": client, "kind": "counter_sale", "lines": [line(100, 1)]}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let draft: Value = r.json().await.unwrap();
        let draft_id = draft["id"].as_str().unwrap();
        let r = api
            .put(
                api.staff(),
                &format!("/v1/invoices/{draft_id}/lines"),
                json!({"lines": [line(max, 1)]}),
            )
            .send()
            .await
            .unwrap();
        refused(r, "lines[0].unit_price").await;
        let after = api.read(&format!("/v1/invoices/{draft_id}")).await;
        assert_eq!(after["total"], draft["total"]);
        assert_eq!(after["lines"], draft["lines"]);

        // Health-plan prices.
        let r = api
            .put(
                api.admin(),
                "/v1/settings",
                json!({"health-plans-enabled": true}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let plan = |field: &str, value: i64| {
            let mut body = json!({
                "name": "Adult dog", "main_department_id": us.id, "contract_months": 12,
                "monthly_price": 2500,
                "items": [{"code": "VAC", "description": "Vaccine", "quantity": 1,
                           "discount_percent": 100, "unit_price": 5000}]
            });
            if field == "items[0].unit_price" {
                body["items"][0]["unit_price"] = json!(value);
            } else {
                body[field] = json!(value);
            }
            api.post(api.admin(), "/v1/health-plans", body)
        };
        for field in [
            "monthly_price",
            "upfront_price",
            "cancellation_fee",
            "items[0].unit_price",
        ] {
            refused(plan(field, max).send().await.unwrap(), field).await;
        }
        assert_eq!(api.read("/v1/health-plans").await, json!([]));
    }
}

#[tokio::test]
async fn refunds_go_back_the_way_the_money_came() {
    for store in stores().await {
        let api = clinic_api(store).await;
        let invoice = api
            .invoice(&api.demo.us.id, &api.demo.us_client.id, 1000)
            .await;
        let invoice_id = invoice["id"].as_str().unwrap();
        let cash = api
            .pay(invoice_id, json!({"method": "cash", "amount": 600}))
            .await;
        let transfer = api
            .pay(
                invoice_id,
                json!({"method": "bank_transfer", "amount": 400}),
            )
            .await;
        let refunds = |id: &Value| format!("/v1/payments/{}/refunds", id.as_str().unwrap());
        for (payment, body, field) in [
            (
                &cash,
                json!({"amount": 100, "terminal_id": api.demo.gravity_terminal.id}),
                "terminal_id",
            ),
            (&cash, json!({"amount": 100, "method": "card"}), "method"),
            (
                &cash,
                json!({"amount": 100, "method": "saved_card"}),
                "method",
            ),
            (
                &cash,
                json!({"amount": 100, "method": "bank_transfer"}),
                "method",
            ),
            (
                &transfer,
                json!({"amount": 100, "method": "cash"}),
                "method",
            ),
        ] {
            let r = api
                .money(api.staff(), &refunds(&payment["id"]), body.clone())
                .send()
                .await
                .unwrap();
            let (status, _, message) = api_error(r).await;
            assert_eq!(status, 422, "{body}: {message}");
            assert!(message.starts_with(field), "{body}: {message}");
            assert!(
                message.contains(payment["method"].as_str().unwrap()),
                "{body}: {message}"
            );
        }
        assert_eq!(api.read(&refunds(&cash["id"])).await, json!([]));
        assert_eq!(api.read(&refunds(&transfer["id"])).await, json!([]));
        let r = api
            .money(
                api.staff(),
                &refunds(&cash["id"]),
                json!({"amount": 100, "method": "cash"}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let refund: Value = r.json().await.unwrap();
        assert_eq!(refund["method"], "cash");
        assert_eq!(refund["status"], "succeeded");
    }
}

#[tokio::test]
async fn every_error_is_a_json_envelope_and_bad_input_writes_nothing() {
    for store in stores().await {
        let api = clinic_api(store).await;
        let http = &api.http;
        let url = |p: &str| format!("{}{p}", api.url);
        let staff = api.staff();

        let cases: Vec<(reqwest::RequestBuilder, u16, &str)> = vec![
            (
                http.get(url("/v1/nope")).bearer_auth(staff),
                404,
                "not_found",
            ),
            (http.get(url("/nope")), 404, "not_found"),
            (
                http.delete(url("/v1/invoices")).bearer_auth(staff),
                405,
                "method_not_allowed",
            ),
            (
                http.get(url("/v1/invoices?limit=abc")).bearer_auth(staff),
                400,
                "bad_request",
            ),
            (
                http.post(url("/v1/clients"))
                    .bearer_auth(staff)
                    .header("content-type", "application/json")
                    .body(vec![b' '; 3 * 1024 * 1024]),
                413,
                "too_large",
            ),
            (http.get(url("/v1/invoices")), 401, "unauthorized"),
        ];
        for (request, status, code) in cases {
            let r = request.send().await.unwrap();
            let (got, got_code, message) = api_error(r).await;
            assert_eq!(
                (got.as_u16(), got_code.as_str()),
                (status, code),
                "{message}"
            );
        }

        // Text has limits; at the limit it is taken.
        let clients_before = api.read("/v1/clients").await.as_array().unwrap().len();
        for (name, field) in [
            ("x".repeat(1_900_000), "$.name"),
            ("x".repeat(201), "$.name"),
        ] {
            let r = api
                .post(staff, "/v1/clients", json!({"name": name}))
                .send()
                .await
                .unwrap();
            let (status, _, message) = api_error(r).await;
            assert_eq!(status, 422, "{message}");
            assert!(message.starts_with(field), "{message}");
        }
        let r = api
            .post(
                staff,
                "/v1/invoices",
                json!({"department_id": api.demo.us.id, "client_id": api.demo.us_client.id,
                       "kind": "counter_sale",
                       "lines": [{"description": "d".repeat(4097), "quantity": 1, "unit_price": 1, "vat_rate": 0}]}),
            )
            .send()
            .await
            .unwrap();
        let (status, _, message) = api_error(r).await;
        assert_eq!(status, 422);
        assert!(message.starts_with("$.lines[0].description"), "{message}");
        assert_eq!(
            api.read("/v1/clients").await.as_array().unwrap().len(),
            clients_before
        );
        let r = api
            .post(staff, "/v1/clients", json!({"name": "y".repeat(200)}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);

        // Two Idempotency-Key headers: which would a retry repeat?
        let invoice = &api.demo.us_invoice.id;
        let r = api
            .post(
                staff,
                &format!("/v1/invoices/{invoice}/payments"),
                json!({"method": "cash", "amount": 100}),
            )
            .header("Idempotency-Key", "one")
            .header("Idempotency-Key", "two")
            .send()
            .await
            .unwrap();
        let (status, code, message) = api_error(r).await;
        assert_eq!((status.as_u16(), code.as_str()), (400, "bad_request"));
        assert!(message.contains("one Idempotency-Key"), "{message}");
        assert_eq!(
            api.read(&format!("/v1/invoices/{invoice}/payments")).await,
            json!([])
        );

        // Integer plugin settings keep to the manifest's range.
        for bad in [-1i64, 100_000_000_000_000] {
            let r = api
                .put(
                    api.admin(),
                    "/v1/plugins/gravity/settings",
                    json!({"poll-window-ms": bad.to_string()}),
                )
                .send()
                .await
                .unwrap();
            let (status, _, message) = api_error(r).await;
            assert_eq!(status, 422, "{bad}: {message}");
            assert!(message.contains("from 0 to 3600000"), "{message}");
        }
        let r = api
            .put(
                api.admin(),
                "/v1/plugins/gravity/settings",
                json!({"poll-window-ms": "1000"}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    }
}

#[tokio::test]
async fn a_busy_terminal_is_always_409() {
    for store in stores().await {
        let api = clinic_api(store).await;
        let terminal = &api.demo.nets_terminals[0].id;
        let invoice = api
            .invoice(&api.demo.dk.id, &api.demo.dk_client.id, 10_000)
            .await;
        let invoice_id = invoice["id"].as_str().unwrap();
        // Hold the card holder so the first payment keeps the terminal.
        api.demo.nets.script(
            &api.demo.nets_terminals[0].provider_terminal_id,
            vetpay_simulators::nets::Behaviour::Never,
            std::time::Duration::from_secs(3),
        );
        let attempts = (0..6).map(|_| {
            api.money(
                api.staff(),
                &format!("/v1/invoices/{invoice_id}/payments"),
                json!({"method": "card", "amount": 10_000, "terminal_id": terminal}),
            )
            .send()
        });
        let answers = futures::future::join_all(attempts).await;
        let mut statuses = Vec::new();
        for r in answers {
            let r = r.unwrap();
            let status = r.status().as_u16();
            if status != 201 {
                let (_, code, message) = api_error(r).await;
                assert_eq!((status, code.as_str()), (409, "terminal_busy"), "{message}");
            }
            statuses.push(status);
        }
        assert_eq!(
            statuses.iter().filter(|s| **s == 201).count(),
            1,
            "{statuses:?}"
        );
    }
}

#[tokio::test]
async fn two_hundred_concurrent_admin_writes_on_sqlite_never_fail() {
    let store = stores().await.remove(0);
    assert_eq!(store.backend(), vetpay::store::Backend::Sqlite);
    let api = clinic_api(store).await;
    let admin = api.admin();
    let (us, dk) = (&api.demo.us.id, &api.demo.dk.id);
    let r = api
        .put(admin, "/v1/settings", json!({"health-plans-enabled": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut drafts = Vec::new();
    for _ in 0..20 {
        let r = api
            .post(
                admin,
                "/v1/invoices",
                json!({"department_id": dk, "client_id": api.demo.dk_client.id, "kind": "counter_sale",
                       "lines": [{"description": "Food", "quantity": 1, "unit_price": 100, "vat_rate": 25}]}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        drafts.push(
            r.json::<Value>().await.unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let requests = (0..200).map(|i| {
        let request = match i % 10 {
            0 => api.put(admin, "/v1/settings", json!({"health-plan-term": format!("Club {i}")})),
            1 => api.put(
                admin,
                &format!("/v1/departments/{us}/settings"),
                json!({"gravity-recurring-payments": i % 20 == 1}),
            ),
            2 => api.put(
                admin,
                "/v1/plugins/gravity/settings",
                json!({"poll-interval-ms": (100 + i).to_string()}),
            ),
            3 => api.put(
                admin,
                "/v1/plugins/nets-connect-cloud/allowed-hosts",
                json!({"hosts": [format!("https://sandbox{i}.example.com"), api.demo.nets.base_url]}),
            ),
            4 => api.put(admin, "/v1/plugins/nets-connect-cloud/markets/SE", json!({})),
            5 => api.post(
                admin,
                &format!("/v1/departments/{dk}/terminals"),
                json!({"plugin_id": "nets-connect-cloud", "terminal_id": format!("T-{i}"),
                       "name": format!("Desk {i}"), "type": "Connect@Cloud"}),
            ),
            6 => api.post(
                admin,
                "/v1/departments",
                json!({"name": format!("Branch {i}"), "country": "DK", "currency": "DKK", "time_zone": "Europe/Copenhagen"}),
            ),
            7 => api.post(admin, "/v1/clients", json!({"name": format!("Client {i}")})),
            8 => api.post(
                admin,
                &format!("/v1/invoices/{}/finalise", drafts[i / 10]),
                json!({}),
            ),
            _ => api.post(admin, "/v1/billing-runs", json!({})),
        };
        async move {
            let r = request.send().await.unwrap();
            (i, r.status().as_u16(), r.text().await.unwrap())
        }
    });
    let answers = futures::future::join_all(requests).await;
    let failures: Vec<_> = answers.iter().filter(|(_, s, _)| *s >= 500).collect();
    assert!(failures.is_empty(), "{failures:?}");
    // And they did their work: every finalise and every client landed.
    let finalised = answers
        .iter()
        .filter(|(i, s, _)| i % 10 == 8 && *s == 200)
        .count();
    assert_eq!(finalised, 20);
    let clients = api.read("/v1/clients").await.as_array().unwrap().len();
    assert!(clients >= 20, "{clients}");
}
