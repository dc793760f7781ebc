//! Health plans end to end over HTTP on SQLite and PostgreSQL: the add-on
//! switch, each payment option over several months, a declined card retried
//! until the plan is suspended and restored by a payment, the department
//! setting, settlements in both directions, consumption of included items,
//! and two hosts billing the same month at once.

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::{ClinicApi, api_error, clinic_api, clinic_api_billing_every, stores};

/// Switches the add-on on, with a short retry for failed charges.
async fn enable(api: &ClinicApi, settings: Value) {
    let r = api
        .put(api.admin(), "/v1/settings", settings)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

async fn plan(api: &ClinicApi, body: Value) -> Value {
    let r = api
        .post(api.admin(), "/v1/health-plans", body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    r.json().await.unwrap()
}

fn adult_plan(api: &ClinicApi, monthly: i64) -> Value {
    json!({
        "name": "Adult dog", "description": "Vaccines and check-ups", "species": "dog",
        "main_department_id": api.demo.us.id, "contract_months": 12,
        "monthly_price": monthly, "upfront_price": 25000, "cancellation_fee": 5000,
        "items": [
            {"code": "VAC", "description": "Vaccination", "quantity": 2, "discount_percent": 100, "unit_price": 4500, "vat_rate": 0},
            {"code": "CHK", "description": "Check-up", "quantity": 1, "discount_percent": 50, "unit_price": 6000}
        ]
    })
}

/// A new client with a dog; returns (client id, patient id).
async fn owner(api: &ClinicApi, name: &str) -> (String, String) {
    let c: Value = api
        .post(api.staff(), "/v1/clients", json!({"name": name}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = c["id"].as_str().unwrap().to_owned();
    let p: Value = api
        .post(
            api.staff(),
            &format!("/v1/clients/{id}/patients"),
            json!({"name": "Rex", "species": "dog", "birth_date": "2022-01-15"}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (id, p["id"].as_str().unwrap().to_owned())
}

async fn save_card(api: &ClinicApi, client: &str) -> String {
    let r = api
        .post(
            api.staff(),
            &format!("/v1/clients/{client}/cards"),
            json!({"terminal_id": api.demo.gravity_terminal.id}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn subscribe(api: &ClinicApi, body: Value) -> Value {
    let r = api
        .post(api.staff(), "/v1/subscriptions", body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let s: Value = r.json().await.unwrap();
    let r = api
        .post(
            api.staff(),
            &format!("/v1/subscriptions/{}/activate", s["id"].as_str().unwrap()),
            json!({}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    r.json().await.unwrap()
}

/// Runs the billing of `period` over HTTP and waits for it to finish.
async fn bill(api: &ClinicApi, period: &str) -> Value {
    let r = api
        .post(api.admin(), "/v1/billing-runs", json!({"period": period}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
    let run: Value = r.json().await.unwrap();
    let id = run["id"].as_str().unwrap();
    for _ in 0..600 {
        let now = api.read(&format!("/v1/billing-runs/{id}")).await;
        if now["status"] != "running" {
            assert_eq!(now["status"], "done", "{now}");
            return now;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("billing run {id} did not finish");
}

async fn plan_invoices(api: &ClinicApi, client: &str) -> Vec<Value> {
    let all = api
        .read(&format!("/v1/invoices?client_id={client}&limit=100"))
        .await;
    let mut out: Vec<Value> = all
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["subscription_id"].is_string())
        .cloned()
        .collect();
    out.sort_by_key(|i| i["number"].as_i64());
    out
}

fn tokenized(api: &ClinicApi) -> Vec<(bool, i64)> {
    api.demo
        .gravity
        .ledger()
        .iter()
        .filter(|e| e.kind == "TokenizedPayment")
        .map(|e| (e.approved, e.cents))
        .collect()
}

#[tokio::test]
async fn the_add_on_is_off_until_switched_on() {
    for store in stores().await {
        let api = clinic_api(store).await;
        let r = api
            .get(api.staff(), "/v1/health-plans")
            .send()
            .await
            .unwrap();
        let (status, code, message) = api_error(r).await;
        assert_eq!(
            (status.as_u16(), code.as_str()),
            (403, "health_plans_disabled")
        );
        assert!(message.contains("health-plans-enabled"), "{message}");
        enable(
            &api,
            json!({"health-plans-enabled": true, "health-plan-term": "Pet Club"}),
        )
        .await;
        assert_eq!(api.read("/v1/health-plans").await, json!([]));
        // Bad plans are refused with the field named.
        let mut bad = adult_plan(&api, 2500);
        bad["contract_months"] = json!(0);
        let r = api
            .post(api.admin(), "/v1/health-plans", bad)
            .send()
            .await
            .unwrap();
        let (status, _, message) = api_error(r).await;
        assert_eq!(status, 422);
        assert!(message.contains("contract_months"), "{message}");
        let r = api
            .post(api.staff(), "/v1/health-plans", adult_plan(&api, 2500))
            .send()
            .await
            .unwrap();
        assert_eq!(api_error(r).await.0, 403, "staff do not make the catalog");

        // Members carry the organisation's own term.
        let p = plan(&api, adult_plan(&api, 2500)).await;
        let (client, patient) = owner(&api, "Tag Test").await;
        subscribe(&api, json!({"plan_id": p["id"], "client_id": client, "patient_id": patient, "payment_option": "monthly_invoice", "start_period": "2026-01"})).await;
        let patients = api.read(&format!("/v1/clients/{client}/patients")).await;
        assert_eq!(patients[0]["health_plan"], "Pet Club");
        // A cat cannot join a dog plan; a second plan for the same patient is refused.
        let cat: Value = api
            .post(
                api.staff(),
                &format!("/v1/clients/{client}/patients"),
                json!({"name": "Tom", "species": "cat"}),
            )
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let r = api
            .post(api.staff(), "/v1/subscriptions", json!({"plan_id": p["id"], "client_id": client, "patient_id": cat["id"], "payment_option": "monthly_invoice"}))
            .send()
            .await
            .unwrap();
        let (status, _, message) = api_error(r).await;
        assert_eq!(status, 422);
        assert!(message.contains("dog"), "{message}");
        let r = api
            .post(api.staff(), "/v1/subscriptions", json!({"plan_id": p["id"], "client_id": client, "patient_id": patient, "payment_option": "monthly_invoice"}))
            .send()
            .await
            .unwrap();
        assert_eq!(api_error(r).await.0, 409);
    }
}

#[tokio::test]
async fn each_payment_option_bills_the_right_months() {
    for store in stores().await {
        let api = clinic_api(store).await;
        enable(&api, json!({"health-plans-enabled": true})).await;
        let p = plan(&api, adult_plan(&api, 2500)).await;
        let mut subs = Vec::new();
        for option in [
            "monthly_invoice",
            "saved_card",
            "third_party",
            "manual",
            "advance",
        ] {
            let (client, patient) = owner(&api, option).await;
            let mut body = json!({"plan_id": p["id"], "client_id": client, "patient_id": patient, "payment_option": option, "start_period": "2026-01"});
            if option == "saved_card" {
                body["card_id"] = json!(save_card(&api, &client).await);
            }
            let s = subscribe(&api, body).await;
            assert_eq!(s["status"], "active");
            subs.push((option, client, s["id"].as_str().unwrap().to_owned()));
        }
        for period in ["2026-01", "2026-02", "2026-03"] {
            let run = bill(&api, period).await;
            assert_eq!(run["charged"], 1, "{run}");
            assert_eq!(run["invoiced"], 1, "{run}");
        }
        // Repeating a month moves nothing.
        let again = bill(&api, "2026-03").await;
        assert_eq!(again["processed"], 0, "{again}");
        assert_eq!(tokenized(&api), vec![(true, 2500); 3]);

        for (option, client, sub) in &subs {
            let invoices = plan_invoices(&api, client).await;
            let periods: Vec<&str> = invoices
                .iter()
                .filter_map(|i| i["billing_period"].as_str())
                .collect();
            match *option {
                "monthly_invoice" => {
                    assert_eq!(periods, ["2026-01", "2026-02", "2026-03"]);
                    assert!(
                        invoices
                            .iter()
                            .all(|i| i["status"] == "finalised" && i["total"] == 2500)
                    );
                }
                "saved_card" => {
                    assert_eq!(periods, ["2026-01", "2026-02", "2026-03"]);
                    assert!(
                        invoices.iter().all(|i| i["status"] == "paid"),
                        "{invoices:?}"
                    );
                }
                "third_party" => assert!(invoices.is_empty()),
                "manual" => {
                    assert!(invoices.is_empty());
                    let path = format!("/v1/subscriptions/{sub}/invoices");
                    let first: Value = api
                        .post(api.staff(), &path, json!({"period": "2026-02"}))
                        .send()
                        .await
                        .unwrap()
                        .json()
                        .await
                        .unwrap();
                    let second: Value = api
                        .post(api.staff(), &path, json!({"period": "2026-02"}))
                        .send()
                        .await
                        .unwrap()
                        .json()
                        .await
                        .unwrap();
                    assert_eq!(first["id"], second["id"], "one invoice per month");
                    assert_eq!(first["total"], 2500);
                    let r = api
                        .post(api.staff(), &path, json!({"period": "2027-06"}))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(api_error(r).await.0, 422, "outside the contract");
                }
                "advance" => {
                    assert_eq!(invoices.len(), 1);
                    assert_eq!(invoices[0]["total"], 25000);
                    assert_eq!(invoices[0]["purpose"], "plan_advance");
                }
                _ => unreachable!(),
            }
        }
    }
}

#[tokio::test]
async fn a_declined_card_is_retried_suspends_the_plan_and_a_payment_restores_it() {
    for store in stores().await {
        let api = clinic_api(store).await;
        enable(&api, json!({"health-plans-enabled": true, "health-plan-failures-before-suspension": 2, "health-plan-retry-hours": 0})).await;
        // The simulator declines amounts ending in 51 cents.
        let p = plan(&api, adult_plan(&api, 1051)).await;
        let (client, patient) = owner(&api, "Declined").await;
        let card = save_card(&api, &client).await;
        let s = subscribe(&api, json!({"plan_id": p["id"], "client_id": client, "patient_id": patient, "payment_option": "saved_card", "card_id": card, "start_period": "2026-01"})).await;
        let id = s["id"].as_str().unwrap();

        let run = bill(&api, "2026-01").await;
        assert_eq!(
            (run["failed"].as_i64(), run["charged"].as_i64()),
            (Some(1), Some(0))
        );
        let now = api.read(&format!("/v1/subscriptions/{id}")).await;
        assert_eq!(
            (now["status"].as_str(), now["failed_charges"].as_i64()),
            (Some("active"), Some(1))
        );
        // The retry policy (0 hours here) lets the next run try again: second failure suspends.
        bill(&api, "2026-01").await;
        let now = api.read(&format!("/v1/subscriptions/{id}")).await;
        assert_eq!(
            (now["status"].as_str(), now["failed_charges"].as_i64()),
            (Some("suspended"), Some(2))
        );
        assert_eq!(tokenized(&api), vec![(false, 1051), (false, 1051)]);

        // One invoice for the month, whatever the attempts; the client pays it at the counter.
        let invoices = plan_invoices(&api, &client).await;
        assert_eq!(invoices.len(), 1);
        let pay = api
            .pay(
                invoices[0]["id"].as_str().unwrap(),
                json!({"method": "cash", "amount": 1051}),
            )
            .await;
        assert_eq!(pay["status"], "succeeded");
        let now = api.read(&format!("/v1/subscriptions/{id}")).await;
        assert_eq!(
            (now["status"].as_str(), now["failed_charges"].as_i64()),
            (Some("active"), Some(0))
        );
        // The paid month is not charged again.
        bill(&api, "2026-01").await;
        assert_eq!(tokenized(&api).len(), 2);
    }
}

#[tokio::test]
async fn the_department_setting_off_means_no_automatic_charge_and_no_cards_shown() {
    for store in stores().await {
        let api = clinic_api(store).await;
        enable(&api, json!({"health-plans-enabled": true})).await;
        let p = plan(&api, adult_plan(&api, 2500)).await;
        let (client, patient) = owner(&api, "Setting").await;
        let card = save_card(&api, &client).await;
        subscribe(&api, json!({"plan_id": p["id"], "client_id": client, "patient_id": patient, "payment_option": "saved_card", "card_id": card, "start_period": "2026-01"})).await;
        let us = &api.demo.us.id;
        let r = api
            .put(
                api.admin(),
                &format!("/v1/departments/{us}/settings"),
                json!({"gravity-recurring-payments": false}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);

        let run = bill(&api, "2026-01").await;
        assert_eq!(run["charged"], 0, "{run}");
        assert!(tokenized(&api).is_empty(), "no automatic charge");
        let invoices = plan_invoices(&api, &client).await;
        assert_eq!(invoices.len(), 1, "the month is still invoiced");
        assert_eq!(invoices[0]["status"], "finalised");
        let view = api
            .read(&format!("/v1/clients/{client}/cards?department_id={us}"))
            .await;
        assert!(view["cards"].as_array().unwrap().is_empty());
        // Nobody new signs up to card payments there meanwhile.
        let (c2, p2) = owner(&api, "Setting 2").await;
        let r = api
            .put(
                api.admin(),
                &format!("/v1/departments/{us}/settings"),
                json!({"gravity-recurring-payments": true}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let card2 = save_card(&api, &c2).await;
        let r = api
            .put(
                api.admin(),
                &format!("/v1/departments/{us}/settings"),
                json!({"gravity-recurring-payments": false}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let r = api
            .post(api.staff(), "/v1/subscriptions", json!({"plan_id": p["id"], "client_id": c2, "patient_id": p2, "payment_option": "saved_card", "card_id": card2}))
            .send()
            .await
            .unwrap();
        let (status, _, message) = api_error(r).await;
        assert_eq!(status, 409);
        assert!(message.contains("recurring"), "{message}");

        // Switched back on, the waiting month is charged by the next run.
        let r = api
            .put(
                api.admin(),
                &format!("/v1/departments/{us}/settings"),
                json!({"gravity-recurring-payments": true}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        enable(&api, json!({"health-plan-retry-hours": 0})).await;
        let run = bill(&api, "2026-01").await;
        assert_eq!(run["charged"], 1, "{run}");
        assert_eq!(tokenized(&api), vec![(true, 2500)]);
    }
}

#[tokio::test]
async fn included_items_are_consumed_across_consultations_and_settled_on_cancellation() {
    for store in stores().await {
        let api = clinic_api(store).await;
        enable(&api, json!({"health-plans-enabled": true})).await;
        let p = plan(&api, adult_plan(&api, 2500)).await;
        let (client, patient) = owner(&api, "Consumer").await;
        let s = subscribe(&api, json!({"plan_id": p["id"], "client_id": client, "patient_id": patient, "payment_option": "monthly_invoice", "start_period": "2026-01"})).await;
        let sid = s["id"].as_str().unwrap();
        let consult = |lines: Value| {
            api.post(api.staff(), "/v1/invoices", json!({"department_id": api.demo.us.id, "client_id": client, "patient_id": patient, "kind": "consultation", "lines": lines}))
                .send()
        };
        // First visit: one vaccine, covered in full.
        let first: Value = consult(json!([{"description": "Vaccination", "quantity": 1, "unit_price": 4500, "vat_rate": 0, "plan_item_code": "VAC"}])).await.unwrap().json().await.unwrap();
        assert_eq!(first["total"], 0, "{first}");
        assert_eq!(first["lines"][0]["included_quantity"], "1");
        // Second visit: two vaccines (one left in the plan) and a check-up at 50%.
        let second: Value = consult(json!([
            {"description": "Vaccination", "quantity": 2, "unit_price": 4500, "vat_rate": 0, "plan_item_code": "VAC"},
            {"description": "Check-up", "quantity": 1, "unit_price": 6000, "vat_rate": 0, "plan_item_code": "CHK"}
        ])).await.unwrap().json().await.unwrap();
        let lines = second["lines"].as_array().unwrap();
        assert_eq!(lines.len(), 3, "{second}");
        assert_eq!(
            (
                lines[0]["included_quantity"].as_str(),
                lines[0]["total"].as_i64()
            ),
            (Some("1"), Some(0))
        );
        assert_eq!(
            (
                lines[1]["included_quantity"].as_str(),
                lines[1]["total"].as_i64()
            ),
            (None, Some(4500))
        );
        assert_eq!(lines[2]["total"], 3000);
        let now = api.read(&format!("/v1/subscriptions/{sid}")).await;
        let vac = now["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["code"] == "VAC")
            .unwrap()
            .clone();
        assert_eq!(
            (vac["used"].as_str(), vac["remaining"].as_str()),
            (Some("2"), Some("0"))
        );
        // An item the plan does not include is refused with a clear message.
        let r = consult(json!([{"description": "X-ray", "quantity": 1, "unit_price": 9000, "vat_rate": 0, "plan_item_code": "XRAY"}])).await.unwrap();
        let (status, _, message) = api_error(r).await;
        assert_eq!(status, 422);
        assert!(message.contains("XRAY"), "{message}");

        // Two months billed, one paid: cancelling settles fee + used − paid.
        bill(&api, "2026-01").await;
        bill(&api, "2026-02").await;
        let months = plan_invoices(&api, &client).await;
        api.pay(
            months[0]["id"].as_str().unwrap(),
            json!({"method": "cash", "amount": 2500}),
        )
        .await;
        let r = api
            .post(
                api.staff(),
                &format!("/v1/subscriptions/{sid}/cancel"),
                json!({"reason": "moving away"}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let cancelled: Value = r.json().await.unwrap();
        assert_eq!(cancelled["subscription"]["status"], "lapsed");
        // Fee 50.00 + used (2 × 45.00 free + 1 × 60.00 at 50%) 120.00 − paid 25.00.
        assert_eq!(cancelled["settlement"]["total"], 5000 + 12000 - 2500);
        assert_eq!(cancelled["settlement"]["purpose"], "plan_cancellation");
        let patients = api.read(&format!("/v1/clients/{client}/patients")).await;
        assert_eq!(
            patients[0]["health_plan"],
            Value::Null,
            "no longer a member"
        );

        // The other direction: paid in advance, little used → a credit.
        let (c2, p2) = owner(&api, "Advance").await;
        let s2 = subscribe(&api, json!({"plan_id": p["id"], "client_id": c2, "patient_id": p2, "payment_option": "advance", "start_period": "2026-01"})).await;
        let advance = plan_invoices(&api, &c2).await;
        api.pay(
            advance[0]["id"].as_str().unwrap(),
            json!({"method": "cash", "amount": 25000}),
        )
        .await;
        let r = api
            .post(
                api.staff(),
                &format!("/v1/subscriptions/{}/cancel", s2["id"].as_str().unwrap()),
                json!({}),
            )
            .send()
            .await
            .unwrap();
        let cancelled: Value = r.json().await.unwrap();
        assert_eq!(
            cancelled["settlement"]["total"],
            5000 - 25000,
            "a credit to the client"
        );
        assert_eq!(cancelled["settlement"]["due"], -20000);
    }
}

/// Two hosts on one PostgreSQL bill the same month at the same time: each
/// subscription is charged exactly once (checked against the simulator).
#[tokio::test]
async fn two_hosts_billing_the_same_month_charge_each_subscription_once() {
    let Some(store) = stores()
        .await
        .into_iter()
        .find(|s| s.backend() == vetpay::store::Backend::Postgres)
    else {
        eprintln!("no PostgreSQL: nothing to share");
        return;
    };
    let api = clinic_api(store.clone()).await;
    enable(&api, json!({"health-plans-enabled": true})).await;
    let p = plan(&api, adult_plan(&api, 2500)).await;
    const N: usize = 60;
    // Cards saved earlier, as the simulator knows them.
    api.demo.gravity.add_saved_cards("tok-", N);
    for n in 0..N {
        let (client, patient) = owner(&api, &format!("Owner {n}")).await;
        let card = store
            .add_card(
                &api.demo.organisation_id,
                &client,
                vetpay::store::NewCard {
                    department_id: api.demo.us.id.clone(),
                    plugin_id: "gravity".into(),
                    token: format!("tok-{n}"),
                    masked_pan: "************1111".into(),
                    brand: Some("VS".into()),
                    expiry: None,
                },
            )
            .await
            .unwrap();
        subscribe(&api, json!({"plan_id": p["id"], "client_id": client, "patient_id": patient, "payment_option": "saved_card", "card_id": card.id, "start_period": "2026-01"})).await;
    }
    api.demo.gravity.set_latency(Duration::from_millis(20));
    let config = || vetpay::service::ClinicConfig {
        billing: vetpay::service::BillingConfig {
            batch: 5,
            workers: 3,
            every: None,
            lease: None,
        },
        ..Default::default()
    };
    let runtime = || vetpay::plugin::RuntimeConfig {
        compiled_cache_dir: Some(std::env::temp_dir().join("vetpay-test-compiled-cache")),
        network: vetpay::plugin::NetworkPolicy::with_loopback(),
        ..Default::default()
    };
    let a = vetpay::server::clinic(store.clone(), runtime(), config()).unwrap();
    let b = vetpay::server::clinic(store.clone(), runtime(), config()).unwrap();
    let org = api.demo.organisation_id.clone();
    let period = vetpay::store::Period::parse("2026-01").unwrap();
    let (run_a, run_b) = tokio::join!(
        store.start_billing_run(&org, period),
        store.start_billing_run(&org, period)
    );
    let (run_a, run_b) = (run_a.unwrap(), run_b.unwrap());
    let org = vetpay::service::OrganisationId::from(org.as_str());
    let (done_a, done_b) = tokio::join!(a.run_billing(&org, &run_a), b.run_billing(&org, &run_b));
    let (done_a, done_b) = (done_a.unwrap(), done_b.unwrap());
    assert_eq!(
        done_a.charged + done_b.charged,
        N as i64,
        "{done_a:?} {done_b:?}"
    );
    assert!(
        done_a.charged > 0 && done_b.charged > 0,
        "both hosts took part: {done_a:?} {done_b:?}"
    );
    let charges = tokenized(&api);
    assert_eq!(charges.len(), N, "exactly one charge per subscription");
    assert!(charges.iter().all(|(ok, c)| *ok && *c == 2500));
    // Each batch numbers its invoices at its end; with both hosts' batches
    // interleaved the organisation's numbers are still unique and gapless.
    let all = api.read("/v1/invoices?limit=500").await;
    let all = all.as_array().unwrap();
    let billed = all
        .iter()
        .filter(|i| i["subscription_id"].is_string() && i["number"].is_i64())
        .count();
    assert_eq!(billed, N, "every billed month's invoice is numbered");
    let mut numbers: Vec<i64> = all.iter().filter_map(|i| i["number"].as_i64()).collect();
    numbers.sort();
    let first = numbers[0];
    assert_eq!(
        numbers,
        (first..first + numbers.len() as i64).collect::<Vec<_>>(),
        "invoice numbers are unique and gapless"
    );
}

#[tokio::test]
async fn limits_windows_and_renewal() {
    for store in stores().await {
        let api = clinic_api(store).await;
        enable(&api, json!({"health-plans-enabled": true})).await;
        let (client, patient) = owner(&api, "Limits").await;
        // Born 2022-01-15: too old for a puppy plan.
        let mut puppy = adult_plan(&api, 1500);
        puppy["name"] = json!("Puppy");
        puppy["max_age_months"] = json!(12);
        let puppy = plan(&api, puppy).await;
        let r = api
            .post(api.staff(), "/v1/subscriptions", json!({"plan_id": puppy["id"], "client_id": client, "patient_id": patient, "payment_option": "monthly_invoice"}))
            .send()
            .await
            .unwrap();
        let (status, _, message) = api_error(r).await;
        assert_eq!(status, 422);
        assert!(message.contains("months old"), "{message}");
        // A limited-time offer that is over.
        let mut offer = adult_plan(&api, 1000);
        offer["name"] = json!("Summer offer");
        offer["sale_from"] = json!("2025-06-01");
        offer["sale_until"] = json!("2025-08-31");
        let offer = plan(&api, offer).await;
        let r = api
            .post(api.staff(), "/v1/subscriptions", json!({"plan_id": offer["id"], "client_id": client, "patient_id": patient, "payment_option": "monthly_invoice"}))
            .send()
            .await
            .unwrap();
        let (status, _, message) = api_error(r).await;
        assert_eq!(status, 409);
        assert!(message.contains("until 2025-08-31"), "{message}");

        // Two months that renew into the senior plan.
        let mut senior = adult_plan(&api, 4000);
        senior["name"] = json!("Senior");
        let senior = plan(&api, senior).await;
        let mut short = adult_plan(&api, 2000);
        short["contract_months"] = json!(2);
        short["renews"] = json!(true);
        short["next_plan_id"] = senior["id"].clone();
        let short = plan(&api, short).await;
        let s = subscribe(&api, json!({"plan_id": short["id"], "client_id": client, "patient_id": patient, "payment_option": "monthly_invoice", "start_period": "2026-01"})).await;
        assert_eq!(s["end_period"], "2026-03");
        for period in ["2026-01", "2026-02", "2026-03"] {
            bill(&api, period).await;
        }
        let subs = api
            .read(&format!("/v1/subscriptions?client_id={client}"))
            .await;
        let subs = subs.as_array().unwrap();
        assert_eq!(subs.len(), 2, "{subs:?}");
        assert_eq!(subs[0]["status"], "ended");
        assert_eq!(subs[1]["status"], "active");
        assert_eq!(subs[1]["plan_id"], senior["id"]);
        assert_eq!(subs[1]["renewed_from"], subs[0]["id"]);
        assert_eq!(subs[1]["start_period"], "2026-03");
        let totals: Vec<(String, i64)> = plan_invoices(&api, &client)
            .await
            .iter()
            .map(|i| {
                (
                    i["billing_period"].as_str().unwrap().to_owned(),
                    i["total"].as_i64().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            totals,
            vec![
                ("2026-01".into(), 2000),
                ("2026-02".into(), 2000),
                ("2026-03".into(), 4000)
            ]
        );
    }
}

#[tokio::test]
async fn the_scheduler_bills_the_current_month() {
    for store in stores().await {
        let api = clinic_api_billing_every(store, Some(Duration::from_millis(200))).await;
        enable(&api, json!({"health-plans-enabled": true})).await;
        let p = plan(&api, adult_plan(&api, 2500)).await;
        let (client, patient) = owner(&api, "Scheduled").await;
        let month = vetpay::store::Period::current("UTC").to_string();
        subscribe(&api, json!({"plan_id": p["id"], "client_id": client, "patient_id": patient, "payment_option": "monthly_invoice", "start_period": month})).await;
        let mut invoices = Vec::new();
        for _ in 0..100 {
            invoices = plan_invoices(&api, &client).await;
            if !invoices.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(
            invoices.len(),
            1,
            "the scheduled run issued the month's invoice"
        );
        assert_eq!(invoices[0]["billing_period"], month.as_str());
        // Later scheduled runs issue nothing more for the month.
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert_eq!(plan_invoices(&api, &client).await.len(), 1);
        let runs = api.read("/v1/billing-runs").await;
        assert!(runs.as_array().unwrap().len() >= 2, "{runs}");
    }
}

#[tokio::test]
async fn a_plan_of_catalog_items_is_consumed_across_two_consultations_then_charged_at_catalog_price()
 {
    for store in stores().await {
        let backend = store.backend();
        let api = clinic_api(store).await;
        enable(&api, json!({"health-plans-enabled": true})).await;
        let us = api.demo.us.id.clone();
        let r = api
            .post(
                api.admin(),
                "/v1/catalog/items",
                json!({"code": "DENT", "kind": "service", "vat_rate": 0, "names": {"en": "Dental check"},
                       "prices": [{"currency": "USD", "unit_price": 8000}]}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let item: Value = r.json().await.unwrap();
        let item_id = item["id"].as_str().unwrap().to_owned();
        // The plan names the catalog item; a text item beside it becomes one.
        let p = plan(
            &api,
            json!({"name": "Dental", "main_department_id": us, "contract_months": 12, "monthly_price": 1500,
                   "items": [
                       {"item_id": item_id, "quantity": 2, "discount_percent": 100},
                       {"code": "SCALE", "description": "Scaling", "quantity": 1, "discount_percent": 50, "unit_price": 12000},
                   ]}),
        )
        .await;
        assert_eq!(p["items"][0]["code"], "DENT");
        assert_eq!(p["items"][0]["item_id"], item_id.as_str());
        let scale_item = p["items"][1]["item_id"]
            .as_str()
            .expect("the text item is in the catalog now")
            .to_owned();
        let scale: Value = api.read(&format!("/v1/catalog/items/{scale_item}")).await;
        assert_eq!(scale["item"]["code"], "SCALE");
        assert_eq!(scale["item"]["prices"][0]["unit_price"], 12000);

        let (client, patient) = owner(&api, "Catalog owner").await;
        subscribe(
            &api,
            json!({"plan_id": p["id"], "client_id": client, "patient_id": patient,
                               "payment_option": "monthly_invoice", "start_period": "2026-01"}),
        )
        .await;
        // At the consultation, the plan's items come first, with what is left.
        let offered: Value = api
            .read(&format!("/v1/catalog/items?patient_id={patient}"))
            .await;
        let codes: Vec<&str> = offered
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["code"].as_str().unwrap())
            .collect();
        assert_eq!(&codes[..2], ["DENT", "SCALE"], "{backend:?}: {codes:?}");
        assert_eq!(offered[0]["plan"]["remaining"], "2");

        let consult = |quantity: i64| {
            api.post(
                api.staff(),
                "/v1/invoices",
                json!({"department_id": us, "client_id": client, "patient_id": patient, "kind": "consultation",
                       "lines": [{"item_id": item_id, "quantity": quantity}]}),
            )
            .send()
        };
        // First visit: one check, covered by the plan.
        let first: Value = consult(1).await.unwrap().json().await.unwrap();
        assert_eq!(first["total"], 0, "{backend:?}: {first}");
        assert_eq!(first["lines"][0]["plan_item_code"], "DENT");
        // Second visit: two checks, one left in the plan, one at the catalog price.
        let second: Value = consult(2).await.unwrap().json().await.unwrap();
        assert_eq!(second["total"], 8000, "{backend:?}: {second}");
        let offered: Value = api
            .read(&format!("/v1/catalog/items?patient_id={patient}&q=DENT"))
            .await;
        assert_eq!(offered[0]["plan"]["remaining"], "0");
        // Third visit: nothing left, the catalog price.
        let third: Value = consult(1).await.unwrap().json().await.unwrap();
        assert_eq!(third["total"], 8000);
        assert_eq!(third["lines"][0]["item_code"], "DENT");
    }
}
