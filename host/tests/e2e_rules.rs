//! The payment rules over HTTP on SQLite and PostgreSQL: tenancy, roles,
//! idempotent retries, concurrent partial payments, a hanging plugin ending
//! unknown and then resolved, and bad input answered with a 4xx that changes
//! nothing.

mod support;

use serde_json::{Value, json};
use support::{api_error, clinic_api, stores};

#[tokio::test]
async fn another_organisation_sees_nothing_and_roles_hold() {
    for store in stores().await {
        let api = clinic_api(store.clone()).await;
        let (_, other) = store.create_organisation("Other Vets").await.unwrap();
        let other = other.key;
        let invoice = &api.demo.dk_invoice;
        let p = api
            .pay(&invoice.id, json!({"method": "cash", "amount": 100}))
            .await;
        let pid = p["id"].as_str().unwrap();
        let terminal = &api.demo.nets_terminals[0].id;
        let client = &api.demo.dk_client.id;

        for path in [
            format!("/v1/invoices/{}", invoice.id),
            format!("/v1/payments/{pid}"),
            format!("/v1/clients/{client}"),
            format!("/v1/clients/{client}/patients"),
            format!("/v1/departments/{}/terminals", api.demo.dk.id),
            "/v1/plugins/nets-connect-cloud/settings".to_owned(),
        ] {
            let r = api.get(&other, &path).send().await.unwrap();
            assert_eq!(
                api_error(r).await.0,
                404,
                "GET {path} with another organisation's key"
            );
        }
        let r = api
            .money(
                &other,
                &format!("/v1/invoices/{}/payments", invoice.id),
                json!({"method": "cash", "amount": 100}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(api_error(r).await.0, 404);
        let r = api
            .post(
                &other,
                &format!("/v1/terminals/{terminal}/reconcile"),
                json!({}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(api_error(r).await.0, 404);
        let list = api.get(&other, "/v1/invoices").send().await.unwrap();
        assert_eq!(list.json::<Value>().await.unwrap(), json!([]));

        // Staff run the front desk, not the plugins.
        let staff = api.staff();
        for (method, path, body) in [
            (
                "PUT",
                "/v1/plugins/gravity/settings".to_owned(),
                json!({"oid": "x"}),
            ),
            (
                "PUT",
                "/v1/plugins/gravity/allowed-hosts".to_owned(),
                json!({"hosts": []}),
            ),
            (
                "POST",
                format!("/v1/terminals/{terminal}/reconcile"),
                json!({}),
            ),
            (
                "POST",
                format!("/v1/departments/{}/terminals", api.demo.dk.id),
                json!({"plugin_id": "nets-connect-cloud", "terminal_id": "X", "name": "X", "type": "Connect@Cloud"}),
            ),
        ] {
            let builder = if method == "PUT" {
                api.put(staff, &path, body)
            } else {
                api.post(staff, &path, body)
            };
            let (status, code, message) = api_error(builder.send().await.unwrap()).await;
            assert_eq!(
                (status.as_u16(), code.as_str()),
                (403, "forbidden"),
                "{method} {path}"
            );
            assert!(message.contains("admin"));
        }
        let r = api
            .post(staff, "/v1/clients", json!({"name": "Walk-in"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let r = api.get("not-a-key", "/v1/invoices").send().await.unwrap();
        assert_eq!(api_error(r).await.0, 401);
    }
}

#[tokio::test]
async fn a_repeated_request_returns_the_first_answer_and_moves_nothing() {
    for store in stores().await {
        let api = clinic_api(store).await;
        let invoice = &api.demo.dk_invoice;
        let terminal = &api.demo.nets_terminals[0];
        let path = format!("/v1/invoices/{}/payments", invoice.id);
        let body = json!({"method": "card", "amount": 30000, "terminal_id": terminal.id});
        let send = |key: &'static str, body: Value| {
            api.post(api.staff(), &path, body)
                .header("Idempotency-Key", key)
                .send()
        };
        let first = send("retry-1", body.clone()).await.unwrap();
        assert_eq!(first.status(), 201);
        assert!(first.headers().get("idempotent-replayed").is_none());
        let first: Value = first.json().await.unwrap();
        let id = first["id"].as_str().unwrap();
        api.settled(id).await;
        for _ in 0..3 {
            let again = send("retry-1", body.clone()).await.unwrap();
            assert_eq!(again.status(), 201);
            assert_eq!(again.headers()["idempotent-replayed"], "true");
            let again: Value = again.json().await.unwrap();
            assert_eq!(again["id"], first["id"]);
        }
        assert_eq!(
            api.demo.nets.ledger().len(),
            1,
            "one transaction at the provider"
        );
        assert_eq!(
            api.read(&format!("/v1/invoices/{}", invoice.id)).await["paid"],
            30000
        );

        // The same key for another request is refused, and so is no key.
        let r = send(
            "retry-1",
            json!({"method": "card", "amount": 100, "terminal_id": terminal.id}),
        )
        .await
        .unwrap();
        let (status, _, message) = api_error(r).await;
        assert_eq!(status, 422);
        assert!(message.contains("Idempotency-Key"), "{message}");
        let r = api
            .post(api.staff(), &path, body.clone())
            .send()
            .await
            .unwrap();
        let (status, _, message) = api_error(r).await;
        assert_eq!(status, 400);
        assert!(message.contains("Idempotency-Key"), "{message}");

        // Concurrent repeats of one new request: one payment.
        let cash = json!({"method": "cash", "amount": 500});
        let answers =
            futures::future::join_all((0..8).map(|_| send("retry-2", cash.clone()))).await;
        let mut ids = Vec::new();
        for a in answers {
            let a = a.unwrap();
            if a.status() == 201 {
                ids.push(a.json::<Value>().await.unwrap()["id"].clone());
            } else {
                // Only "still being handled" may differ from the first answer.
                assert_eq!(api_error(a).await.0, 409);
            }
        }
        ids.dedup();
        assert_eq!(ids.len(), 1, "{ids:?}");
        assert_eq!(
            api.read(&format!("/v1/invoices/{}", invoice.id)).await["paid"],
            30500
        );
    }
}

#[tokio::test]
async fn concurrent_partial_payments_add_up_exactly() {
    for store in stores().await {
        let api = clinic_api(store).await;
        let invoice = api
            .invoice(&api.demo.us.id, &api.demo.us_client.id, 10_000)
            .await;
        let id = invoice["id"].as_str().unwrap().to_owned();
        let path = format!("/v1/invoices/{id}/payments");
        let tries = futures::future::join_all((0..13).map(|_| {
            api.money(
                api.staff(),
                &path,
                json!({"method": "cash", "amount": 1000}),
            )
            .send()
        }))
        .await;
        let mut accepted = 0;
        for r in tries {
            let r = r.unwrap();
            if r.status() == 201 {
                accepted += 1;
            } else {
                let (status, _, message) = api_error(r).await;
                assert_eq!(status, 422);
                assert!(message.contains("exceeds"), "{message}");
            }
        }
        assert_eq!(accepted, 10);
        let after = api.read(&format!("/v1/invoices/{id}")).await;
        assert_eq!(
            (after["paid"].as_i64(), after["due"].as_i64()),
            (Some(10_000), Some(0))
        );
        assert_eq!(after["status"], "paid");

        // Two card payments at once on two Nets terminals, splitting the due sum.
        let dk = &api.demo.dk_invoice;
        let dk_path = format!("/v1/invoices/{}/payments", dk.id);
        let halves = [(40_000, 0), (38_500, 1)];
        let started = futures::future::join_all(halves.iter().map(|(amount, t)| {
            api.money(
                api.staff(),
                &dk_path,
                json!({"method": "card", "amount": amount, "terminal_id": api.demo.nets_terminals[*t].id}),
            )
            .send()
        }))
        .await;
        for r in started {
            let p: Value = r.unwrap().json().await.unwrap();
            assert_eq!(
                api.settled(p["id"].as_str().unwrap()).await["status"],
                "succeeded"
            );
        }
        let dk_after = api.read(&format!("/v1/invoices/{}", dk.id)).await;
        assert_eq!(dk_after["paid"], 78_500);
        assert_eq!(dk_after["status"], "paid");
        let total: i64 = api.demo.nets.ledger().iter().map(|e| e.amount).sum();
        assert_eq!(total, 78_500);
    }
}

#[tokio::test]
async fn a_hanging_plugin_ends_unknown_and_is_then_resolved() {
    let wasm = std::fs::read(vetpay_plugin_artifacts::FAULT_INJECTION).unwrap();
    for store in stores().await {
        let api = clinic_api(store).await;
        let us = &api.demo.us;
        let r = api
            .http
            .post(format!("{}/v1/plugins", api.url))
            .bearer_auth(api.admin())
            .header("content-type", "application/wasm")
            .body(wasm.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let r = api
            .http
            .put(format!("{}/v1/plugins/fault-injection/markets/US", api.url))
            .bearer_auth(api.admin())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let r = api
            .put(
                api.admin(),
                "/v1/plugins/fault-injection/settings",
                json!({"mode": "sleep"}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let r = api
            .post(
                api.admin(),
                &format!("/v1/departments/{}/terminals", us.id),
                json!({"plugin_id": "fault-injection", "terminal_id": "FAULT-1", "name": "Test", "type": "virtual"}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let terminal: Value = r.json().await.unwrap();
        let invoice = api.invoice(&us.id, &api.demo.us_client.id, 4200).await;
        let invoice_id = invoice["id"].as_str().unwrap();

        let p = api
            .pay(
                invoice_id,
                json!({"method": "card", "amount": 4200, "terminal_id": terminal["id"]}),
            )
            .await;
        let id = p["id"].as_str().unwrap();
        // The call hangs until its deadline: the outcome is unknown, not failed.
        let unknown = api.wait_for(id, &["unknown"]).await;
        assert!(
            unknown["message"].as_str().unwrap().contains("deadline"),
            "{unknown}"
        );

        // No new card attempt on the invoice, nor on the terminal, meanwhile.
        let r = api
            .money(api.staff(), &format!("/v1/invoices/{invoice_id}/payments"), json!({"method": "card", "amount": 100, "terminal_id": api.demo.gravity_terminal.id}))
            .send()
            .await
            .unwrap();
        let (status, _, message) = api_error(r).await;
        assert_eq!(status, 409);
        assert!(message.contains("unknown outcome"), "{message}");
        let other = api.invoice(&us.id, &api.demo.us_client.id, 100).await;
        let r = api
            .money(
                api.staff(),
                &format!("/v1/invoices/{}/payments", other["id"].as_str().unwrap()),
                json!({"method": "card", "amount": 100, "terminal_id": terminal["id"]}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(api_error(r).await.1, "terminal_busy");

        // The provider (here: the plugin's status) now knows: the job resolves it.
        let r = api
            .put(
                api.admin(),
                "/v1/plugins/fault-injection/settings",
                json!({"mode": "well"}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let resolved = api.settled(id).await;
        assert_eq!(resolved["status"], "succeeded", "{resolved}");
        assert!(resolved["recovery_attempts"].as_i64().unwrap() >= 1);
        let paid = api.read(&format!("/v1/invoices/{invoice_id}")).await;
        assert_eq!(paid["status"], "paid");
        assert_eq!(paid["paid"], 4200);
    }
}

/// A request that must be refused with `status` and a message containing `hint`.
struct Bad {
    what: &'static str,
    method: &'static str,
    path: String,
    body: Option<Value>,
    key: Option<String>,
    status: u16,
    hint: &'static str,
}

#[tokio::test]
async fn bad_input_gets_a_clear_4xx_and_changes_nothing() {
    for store in stores().await {
        let api = clinic_api(store).await;
        let inv = api.demo.dk_invoice.id.clone();
        let pay = format!("/v1/invoices/{inv}/payments");
        let dk_t = api.demo.nets_terminals[0].id.clone();
        let us_t = api.demo.gravity_terminal.id.clone();
        let draft = {
            let r = api
                .post(api.staff(), "/v1/invoices", json!({"department_id": api.demo.dk.id, "client_id": api.demo.dk_client.id, "kind": "consultation", "lines": [{"description": "x", "quantity": 1, "unit_price": 100, "vat_rate": 25}]}))
                .send()
                .await
                .unwrap();
            r.json::<Value>().await.unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        let staff = Some(api.staff().to_owned());
        let admin = Some(api.admin().to_owned());
        let invoice_body = |lines: Value| json!({"department_id": api.demo.dk.id, "client_id": api.demo.dk_client.id, "kind": "consultation", "lines": lines});
        let cases = vec![
            Bad {
                what: "no key",
                method: "POST",
                path: pay.clone(),
                body: Some(json!({"method": "cash", "amount": 1})),
                key: None,
                status: 401,
                hint: "Bearer",
            },
            Bad {
                what: "not JSON",
                method: "POST",
                path: pay.clone(),
                body: None,
                key: staff.clone(),
                status: 400,
                hint: "JSON",
            },
            Bad {
                what: "unknown field",
                method: "POST",
                path: pay.clone(),
                body: Some(json!({"method": "cash", "amount": 1, "tip": 5})),
                key: staff.clone(),
                status: 400,
                hint: "tip",
            },
            Bad {
                what: "unknown method",
                method: "POST",
                path: pay.clone(),
                body: Some(json!({"method": "bitcoin", "amount": 1})),
                key: staff.clone(),
                status: 400,
                hint: "bitcoin",
            },
            Bad {
                what: "zero",
                method: "POST",
                path: pay.clone(),
                body: Some(json!({"method": "cash", "amount": 0})),
                key: staff.clone(),
                status: 422,
                hint: "above zero",
            },
            Bad {
                what: "negative",
                method: "POST",
                path: pay.clone(),
                body: Some(json!({"method": "cash", "amount": -5})),
                key: staff.clone(),
                status: 422,
                hint: "above zero",
            },
            Bad {
                what: "fractional",
                method: "POST",
                path: pay.clone(),
                body: Some(json!({"method": "cash", "amount": 10.5})),
                key: staff.clone(),
                status: 400,
                hint: "amount",
            },
            Bad {
                what: "over the due sum",
                method: "POST",
                path: pay.clone(),
                body: Some(json!({"method": "cash", "amount": 78501})),
                key: staff.clone(),
                status: 422,
                hint: "excess_as_deposit",
            },
            Bad {
                what: "card without terminal",
                method: "POST",
                path: pay.clone(),
                body: Some(json!({"method": "card", "amount": 100})),
                key: staff.clone(),
                status: 422,
                hint: "terminal",
            },
            Bad {
                what: "terminal of another clinic",
                method: "POST",
                path: pay.clone(),
                body: Some(json!({"method": "card", "amount": 100, "terminal_id": us_t})),
                key: staff.clone(),
                status: 422,
                hint: "another department",
            },
            Bad {
                what: "unknown terminal",
                method: "POST",
                path: pay.clone(),
                body: Some(json!({"method": "card", "amount": 100, "terminal_id": "nope"})),
                key: staff.clone(),
                status: 422,
                hint: "no terminal",
            },
            Bad {
                what: "saved card without card",
                method: "POST",
                path: pay.clone(),
                body: Some(json!({"method": "saved_card", "amount": 100})),
                key: staff.clone(),
                status: 422,
                hint: "card_id",
            },
            Bad {
                what: "credit without credit",
                method: "POST",
                path: pay.clone(),
                body: Some(json!({"method": "client_credit", "amount": 100})),
                key: staff.clone(),
                status: 422,
                hint: "credit",
            },
            Bad {
                what: "paying a draft",
                method: "POST",
                path: format!("/v1/invoices/{draft}/payments"),
                body: Some(json!({"method": "cash", "amount": 100})),
                key: staff.clone(),
                status: 409,
                hint: "finalise",
            },
            Bad {
                what: "finalising twice",
                method: "POST",
                path: format!("/v1/invoices/{inv}/finalise"),
                body: None,
                key: staff.clone(),
                status: 409,
                hint: "already",
            },
            Bad {
                what: "changing a finalised invoice",
                method: "PUT",
                path: format!("/v1/invoices/{inv}/lines"),
                body: Some(json!({"lines": []})),
                key: staff.clone(),
                status: 409,
                hint: "credit note",
            },
            Bad {
                what: "bad quantity",
                method: "POST",
                path: "/v1/invoices".into(),
                body: Some(invoice_body(
                    json!([{"description": "x", "quantity": "lots", "unit_price": 1, "vat_rate": 25}]),
                )),
                key: staff.clone(),
                status: 422,
                hint: "quantity",
            },
            Bad {
                what: "VAT above 100",
                method: "POST",
                path: "/v1/invoices".into(),
                body: Some(invoice_body(
                    json!([{"description": "x", "quantity": 1, "unit_price": 1, "vat_rate": 150}]),
                )),
                key: staff.clone(),
                status: 422,
                hint: "vat_rate",
            },
            Bad {
                what: "negative price",
                method: "POST",
                path: "/v1/invoices".into(),
                body: Some(invoice_body(
                    json!([{"description": "x", "quantity": 1, "unit_price": -1, "vat_rate": 25}]),
                )),
                key: staff.clone(),
                status: 422,
                hint: "unit_price",
            },
            Bad {
                what: "unknown client",
                method: "POST",
                path: "/v1/invoices".into(),
                body: Some(
                    json!({"department_id": api.demo.dk.id, "client_id": "nobody", "kind": "consultation"}),
                ),
                key: staff.clone(),
                status: 422,
                hint: "client_id",
            },
            Bad {
                what: "unknown plugin setting",
                method: "PUT",
                path: "/v1/plugins/nets-connect-cloud/settings".into(),
                body: Some(json!({"colour": "red"})),
                key: admin.clone(),
                status: 422,
                hint: "known here",
            },
            Bad {
                what: "setting of the wrong type",
                method: "PUT",
                path: "/v1/plugins/nets-connect-cloud/settings".into(),
                body: Some(json!({"lookup-delay-ms": "soon"})),
                key: admin.clone(),
                status: 422,
                hint: "whole number",
            },
            Bad {
                what: "allowed host with a path",
                method: "PUT",
                path: "/v1/plugins/nets-connect-cloud/allowed-hosts".into(),
                body: Some(json!({"hosts": ["https://x.example.com/api"]})),
                key: admin.clone(),
                status: 422,
                hint: "without a path",
            },
            Bad {
                what: "cards without department",
                method: "GET",
                path: format!("/v1/clients/{}/cards", api.demo.dk_client.id),
                body: None,
                key: staff.clone(),
                status: 400,
                hint: "department_id",
            },
            Bad {
                what: "unknown route",
                method: "GET",
                path: "/v1/invoice".into(),
                body: None,
                key: staff.clone(),
                status: 404,
                hint: "openapi",
            },
            Bad {
                what: "terminal registered twice",
                method: "POST",
                path: format!("/v1/departments/{}/terminals", api.demo.dk.id),
                body: Some(
                    json!({"plugin_id": "nets-connect-cloud", "terminal_id": "NETS-DK-1", "name": "Dup", "type": "Connect@Cloud"}),
                ),
                key: admin.clone(),
                status: 409,
                hint: "already registered",
            },
        ];
        let _ = dk_t;
        for case in &cases {
            let url = format!("{}{}", api.url, case.path);
            let mut b = match case.method {
                "POST" => api.http.post(&url),
                "PUT" => api.http.put(&url),
                _ => api.http.get(&url),
            };
            if let Some(key) = &case.key {
                b = b.bearer_auth(key);
            }
            if let Some(body) = &case.body {
                b = b.json(body);
            }
            b = b.header("Idempotency-Key", uuid::Uuid::new_v4().to_string());
            let (status, _, message) = api_error(b.send().await.unwrap()).await;
            assert_eq!(status.as_u16(), case.status, "{}: {message}", case.what);
            assert!(
                message.contains(case.hint),
                "{}: the message should mention '{}': {message}",
                case.what,
                case.hint
            );
        }
        // Nothing moved.
        let after = api.read(&format!("/v1/invoices/{inv}")).await;
        assert_eq!(after["paid"], 0);
        assert_eq!(after["status"], "finalised");
        assert!(api.read(&pay).await.as_array().unwrap().is_empty());
        assert!(api.demo.nets.ledger().is_empty());
        assert_eq!(
            api.read(&format!("/v1/invoices?client_id={}", api.demo.dk_client.id))
                .await
                .as_array()
                .unwrap()
                .len(),
            2
        );
    }
}

#[tokio::test]
async fn credit_notes_and_excess_taken_as_deposit() {
    for store in stores().await {
        let api = clinic_api(store).await;
        let (dk, client) = (&api.demo.dk, &api.demo.dk_client);
        // Two lines: 2.5 × 39.90 at 10% off and 25% VAT; 1 × 120.00 at 25%.
        let r = api
            .post(
                api.staff(),
                "/v1/invoices",
                json!({"department_id": dk.id, "client_id": client.id, "kind": "counter_sale", "lines": [
                    {"description": "Dog food", "quantity": "2.5", "unit_price": 3990, "vat_rate": 25, "discount_percent": 10},
                    {"description": "Collar", "quantity": 1, "unit_price": 12000, "vat_rate": "25"}
                ]}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let draft: Value = r.json().await.unwrap();
        // 2.5 × 39.90 = 99.75, −10% = 89.775 → 89.78; VAT 22.445 → 22.45 (half away from zero).
        assert_eq!(draft["lines"][0]["net"], 8978);
        assert_eq!(draft["lines"][0]["vat"], 2245);
        assert_eq!(draft["total"], 8978 + 2245 + 15000);
        assert_eq!(draft["number"], Value::Null);
        let id = draft["id"].as_str().unwrap();
        let r = api
            .post(
                api.staff(),
                &format!("/v1/invoices/{id}/finalise"),
                json!({}),
            )
            .send()
            .await
            .unwrap();
        let invoice: Value = r.json().await.unwrap();
        let number = invoice["number"].as_i64().unwrap();
        assert!(
            number > api.demo.dk_invoice.number.unwrap(),
            "numbered after the seeded invoices"
        );
        let total = invoice["total"].as_i64().unwrap();

        // Paying 100.00 more than due, taken as a deposit: the rest is client credit.
        let p = api
            .pay(
                id,
                json!({"method": "cash", "amount": total + 10000, "excess_as_deposit": true}),
            )
            .await;
        assert_eq!(p["status"], "succeeded");
        assert_eq!(p["credit_amount"], 10000);
        let paid = api.read(&format!("/v1/invoices/{id}")).await;
        assert_eq!(
            (paid["paid"].as_i64(), paid["status"].as_str()),
            (Some(total), Some("paid"))
        );
        let credit = api
            .read(&format!("/v1/clients/{}/prepayments", client.id))
            .await;
        let dkk = credit["credit"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["currency"] == "DKK")
            .unwrap()
            .clone();
        assert_eq!(dkk["amount"], 10000);

        // Credit the collar: a numbered credit note; the clinic now owes 150.00.
        let r = api
            .post(
                api.staff(),
                &format!("/v1/invoices/{id}/credit-notes"),
                json!({"lines": [2]}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let note: Value = r.json().await.unwrap();
        assert_eq!(note["kind"], "credit_note");
        assert_eq!(note["total"], -15000);
        assert_eq!(note["number"].as_i64(), Some(number + 1));
        assert_eq!(note["credits_invoice_id"], id);
        let after = api.read(&format!("/v1/invoices/{id}")).await;
        assert_eq!(after["credited"], -15000);
        assert_eq!(after["due"], -15000);
        // The same line cannot be credited twice.
        let r = api
            .post(
                api.staff(),
                &format!("/v1/invoices/{id}/credit-notes"),
                json!({"lines": [2]}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(api_error(r).await.0, 409);
        // Refund what is owed, in cash: the invoice is settled again.
        let r = api
            .money(
                api.staff(),
                &format!("/v1/payments/{}/refunds", p["id"].as_str().unwrap()),
                json!({"amount": 15000}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let refund: Value = r.json().await.unwrap();
        assert_eq!(
            (refund["method"].as_str(), refund["status"].as_str()),
            (Some("cash"), Some("succeeded"))
        );
        let settled = api.read(&format!("/v1/invoices/{id}")).await;
        assert_eq!(settled["due"], 0);
        assert_eq!(settled["paid"], total - 15000);
        assert_eq!(settled["status"], "paid");
    }
}
