//! Health-plan rules the database must hold, over HTTP on SQLite and
//! PostgreSQL: one open subscription per patient when sign-ups race, and
//! corrupt stored decimals answered as server errors, never priced as zero;
//! corrupt stored enum texts are server errors too, never invalid input.

mod support;

use serde_json::{Value, json};
use support::{ClinicApi, api_error, clinic_api, stores};

async fn setup(api: &ClinicApi) -> Value {
    let r = api
        .put(
            api.admin(),
            "/v1/settings",
            json!({"health-plans-enabled": true}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let r = api
        .post(api.admin(), "/v1/health-plans", json!({
            "name": "Adult dog", "description": "Vaccines", "species": "dog",
            "main_department_id": api.demo.us.id, "contract_months": 12,
            "monthly_price": 2500, "upfront_price": 25000, "cancellation_fee": 5000,
            "items": [{"code": "VAC", "description": "Vaccination", "quantity": 2, "discount_percent": 100, "unit_price": 4500, "vat_rate": 0}]
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    r.json().await.unwrap()
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

#[tokio::test]
async fn two_concurrent_sign_ups_for_one_patient_end_with_one_subscription() {
    for store in stores().await {
        let api = clinic_api(store).await;
        let plan = setup(&api).await;
        for round in 0..5 {
            let (client, patient) = owner(&api, &format!("Racer {round}")).await;
            let body = json!({"plan_id": plan["id"], "client_id": client, "patient_id": patient, "payment_option": "monthly_invoice", "start_period": "2026-01"});
            let (a, b) = tokio::join!(
                api.post(api.staff(), "/v1/subscriptions", body.clone())
                    .send(),
                api.post(api.staff(), "/v1/subscriptions", body.clone())
                    .send()
            );
            let mut statuses = Vec::new();
            for r in [a.unwrap(), b.unwrap()] {
                if r.status() == 201 {
                    statuses.push((201, String::new()));
                } else {
                    let (status, code, message) = api_error(r).await;
                    assert!(message.contains("already has"), "{message}");
                    statuses.push((status.as_u16(), code));
                }
            }
            statuses.sort();
            assert_eq!(
                statuses,
                vec![(201, String::new()), (409, "conflict".to_owned())],
                "round {round}"
            );
            let all = api
                .read(&format!("/v1/subscriptions?client_id={client}"))
                .await;
            assert_eq!(all.as_array().unwrap().len(), 1, "{all}");
        }
    }
}

#[tokio::test]
async fn corrupt_stored_decimals_are_server_errors_not_zero() {
    for store in stores().await {
        let api = clinic_api(store).await;
        let plan = setup(&api).await;
        let (client, patient) = owner(&api, "Corrupt").await;
        let r = api
            .post(api.staff(), "/v1/subscriptions", json!({"plan_id": plan["id"], "client_id": client, "patient_id": patient, "payment_option": "monthly_invoice", "start_period": "2026-01"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
        let s: Value = r.json().await.unwrap();
        let sid = s["id"].as_str().unwrap().to_owned();
        let r = api
            .post(
                api.staff(),
                &format!("/v1/subscriptions/{sid}/activate"),
                json!({}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        let consult = |lines: Value| {
            api.post(api.staff(), "/v1/invoices", json!({"department_id": api.demo.us.id, "client_id": client, "patient_id": patient, "kind": "consultation", "lines": lines}))
                .send()
        };
        let vaccine = json!([{"description": "Vaccination", "quantity": 1, "unit_price": 4500, "vat_rate": 0, "plan_item_code": "VAC"}]);
        let first: Value = consult(vaccine.clone())
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(first["total"], 0, "{first}");
        let store = api.clinic.store();

        // A corrupt discount on the plan item: the line is not priced at all
        // (before, it read as 0% and charged the full price).
        let plan_id = plan["id"].as_str().unwrap();
        store
            .execute_raw(&format!(
                "UPDATE plan_items SET discount_percent = 'ten' WHERE plan_id = '{plan_id}' AND code = 'VAC'"
            ))
            .await
            .unwrap();
        let r = consult(vaccine.clone()).await.unwrap();
        let (status, code, message) = api_error(r).await;
        assert_eq!((status.as_u16(), code.as_str()), (500, "internal"));
        assert!(
            !message.contains("ten"),
            "the value stays in the log: {message}"
        );
        store
            .execute_raw(&format!(
                "UPDATE plan_items SET discount_percent = '100' WHERE plan_id = '{plan_id}' AND code = 'VAC'"
            ))
            .await
            .unwrap();

        // A corrupt quantity used: the balance and the settlement fail rather
        // than count it as nothing used.
        let invoice = first["id"].as_str().unwrap();
        store
            .execute_raw(&format!(
                "UPDATE invoice_lines SET included_quantity = '1x' WHERE invoice_id = '{invoice}'"
            ))
            .await
            .unwrap();
        let r = api
            .get(api.staff(), &format!("/v1/subscriptions/{sid}"))
            .send()
            .await
            .unwrap();
        let (status, code, _) = api_error(r).await;
        assert_eq!((status.as_u16(), code.as_str()), (500, "internal"));
        let r = api
            .post(
                api.staff(),
                &format!("/v1/subscriptions/{sid}/cancel"),
                json!({"reason": "moving away"}),
            )
            .send()
            .await
            .unwrap();
        let (status, code, _) = api_error(r).await;
        assert_eq!((status.as_u16(), code.as_str()), (500, "internal"));
        let r = consult(vaccine.clone()).await.unwrap();
        assert_eq!(api_error(r).await.0, 500);

        // Repaired, everything reads again and nothing was changed meanwhile.
        store
            .execute_raw(&format!(
                "UPDATE invoice_lines SET included_quantity = '1' WHERE invoice_id = '{invoice}'"
            ))
            .await
            .unwrap();
        let now = api.read(&format!("/v1/subscriptions/{sid}")).await;
        assert_eq!(now["status"], "active", "{now}");
        assert_eq!(now["items"][0]["used"], "1", "{now}");
    }
}

#[tokio::test]
async fn corrupt_stored_enum_texts_are_server_errors_not_invalid_input() {
    for store in stores().await {
        let api = clinic_api(store).await;
        // Something in the audit trail, whose action column has no CHECK
        // constraint that would keep a corrupt text out.
        let r = api
            .post(
                api.admin(),
                "/v1/api-keys",
                json!({"role": "staff", "name": "front desk"}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
        let store = api.clinic.store();
        store
            .execute_raw(
                "UPDATE audit_events SET action = 'api_key.weird' WHERE action = 'api_key.create'",
            )
            .await
            .unwrap();
        // The caller did nothing wrong: a 500 `internal` (not a 422 naming a
        // field), and the value stays in the log.
        let r = api
            .get(api.admin(), "/v1/audit-events")
            .send()
            .await
            .unwrap();
        let (status, code, message) = api_error(r).await;
        assert_eq!((status.as_u16(), code.as_str()), (500, "internal"));
        assert!(!message.contains("weird"), "{message}");

        // Repaired, it reads again.
        store
            .execute_raw(
                "UPDATE audit_events SET action = 'api_key.create' WHERE action = 'api_key.weird'",
            )
            .await
            .unwrap();
        let r = api
            .get(api.admin(), "/v1/audit-events")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let events: Value = r.json().await.unwrap();
        assert!(
            events["events"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["action"] == "api_key.create"),
            "{events}"
        );
    }
}

#[tokio::test]
async fn a_corrupt_stored_sale_date_is_a_server_error() {
    for store in stores().await {
        let api = clinic_api(store).await;
        let plan = setup(&api).await;
        let plan_id = plan["id"].as_str().unwrap();
        let (client, patient) = owner(&api, "Corrupt date").await;
        let store = api.clinic.store();
        store
            .execute_raw(&format!(
                "UPDATE plans SET sale_until = 'soon' WHERE id = '{plan_id}'"
            ))
            .await
            .unwrap();
        let sign_up = || {
            api.post(api.staff(), "/v1/subscriptions", json!({"plan_id": plan_id, "client_id": client, "patient_id": patient, "payment_option": "monthly_invoice", "start_period": "2026-01"}))
                .send()
        };
        // Not the caller's date to fix: a 500, and nothing signed up.
        let (status, code, message) = api_error(sign_up().await.unwrap()).await;
        assert_eq!((status.as_u16(), code.as_str()), (500, "internal"));
        assert!(!message.contains("soon"), "{message}");
        store
            .execute_raw(&format!(
                "UPDATE plans SET sale_until = NULL WHERE id = '{plan_id}'"
            ))
            .await
            .unwrap();
        let r = sign_up().await.unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    }
}
