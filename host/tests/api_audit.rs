//! The audit trail through HTTP on SQLite and PostgreSQL: every change an
//! admin makes (plugins, markets, plugin settings, allowed hosts, terminals,
//! API keys, refunds, aborts, manual resolutions) is recorded with its actor,
//! time and what changed, never a secret value; the trail is filtered, paged,
//! admin-only and cannot be changed through the API.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{Value, json};
use support::{ClinicApi, api_error, clinic_api, stores};
use vetpay_simulators::nets::Behaviour;

const SECRET_TOKEN: &str = "tok-very-secret-4f1e9a";

async fn ok(r: reqwest::RequestBuilder, status: u16) -> Value {
    let r = r.send().await.unwrap();
    let got = r.status().as_u16();
    let text = r.text().await.unwrap();
    assert_eq!(got, status, "{text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

async fn page(api: &ClinicApi, key: &str, query: &str) -> Value {
    ok(api.get(key, &format!("/v1/audit-events{query}")), 200).await
}

/// Every event the filter finds, following the cursor page by page.
async fn all(api: &ClinicApi, query: &str, limit: usize) -> Vec<Value> {
    let mut events = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut q = format!("?limit={limit}{query}");
        if let Some(c) = &cursor {
            q.push_str(&format!("&cursor={c}"));
        }
        let p = page(api, api.admin(), &q).await;
        let batch = p["events"].as_array().unwrap();
        assert!(batch.len() <= limit);
        events.extend(batch.iter().cloned());
        match p["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return events,
        }
    }
}

#[tokio::test]
async fn every_change_is_in_the_trail_with_who_when_and_what() {
    let wasm = std::fs::read(vetpay_plugin_artifacts::FAULT_INJECTION).unwrap();
    for store in stores().await {
        let api = clinic_api(store).await;
        let started = jiff::Timestamp::now().as_millisecond();
        let us = api.demo.us.clone();
        let keys = ok(api.get(api.admin(), "/v1/api-keys"), 200).await;
        let key_id = |name: &str| {
            keys.as_array()
                .unwrap()
                .iter()
                .find(|k| k["name"] == name)
                .unwrap_or_else(|| panic!("no key {name} in {keys}"))["id"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        let (admin_id, staff_id) = (key_id("first admin key"), key_id("front desk"));

        // Plugins, markets, settings (with a secret), allowed hosts, a terminal.
        ok(
            api.http
                .post(format!("{}/v1/plugins", api.url))
                .bearer_auth(api.admin())
                .header("content-type", "application/wasm")
                .body(wasm.clone()),
            201,
        )
        .await;
        let market = |c: &str| format!("{}/v1/plugins/fault-injection/markets/{c}", api.url);
        ok(api.http.put(market("US")).bearer_auth(api.admin()), 200).await;
        ok(api.http.put(market("DK")).bearer_auth(api.admin()), 200).await;
        let r = api.http.delete(market("DK")).bearer_auth(api.admin());
        assert_eq!(r.send().await.unwrap().status(), 204);
        ok(
            api.put(
                api.admin(),
                "/v1/plugins/fault-injection/settings",
                json!({"mode": "wrong-amount", "api-token": SECRET_TOKEN}),
            ),
            200,
        )
        .await;
        ok(
            api.put(
                api.admin(),
                &format!("/v1/departments/{}/plugins/fault-injection/settings", us.id),
                json!({"mode": null}),
            ),
            200,
        )
        .await;
        ok(
            api.put(
                api.admin(),
                "/v1/plugins/fault-injection/allowed-hosts",
                json!({"hosts": ["https://sandbox.example.com:443"]}),
            ),
            200,
        )
        .await;
        let terminal = ok(
            api.post(
                api.admin(),
                &format!("/v1/departments/{}/terminals", us.id),
                json!({"plugin_id": "fault-injection", "terminal_id": "FAULT-1", "name": "Test", "type": "virtual"}),
            ),
            201,
        )
        .await;
        let terminal_id = terminal["id"].as_str().unwrap().to_owned();
        let nets = api.demo.nets_terminals[0].clone();
        ok(
            api.post(
                api.admin(),
                &format!("/v1/terminals/{}/reconcile", nets.id),
                json!({}),
            ),
            200,
        )
        .await;

        // API keys: made, rotated, revoked.
        let made = ok(
            api.post(
                api.admin(),
                "/v1/api-keys",
                json!({"role": "staff", "name": "temp"}),
            ),
            201,
        )
        .await;
        let temp_id = made["id"].as_str().unwrap().to_owned();
        let rotated = ok(
            api.post(
                api.admin(),
                &format!("/v1/api-keys/{temp_id}/rotate"),
                json!({"grace_seconds": 60}),
            ),
            200,
        )
        .await;
        let r = api
            .http
            .delete(format!("{}/v1/api-keys/{temp_id}", api.url))
            .bearer_auth(api.admin());
        assert_eq!(r.send().await.unwrap().status(), 204);

        // A cash payment and its refund.
        let invoice = api.invoice(&us.id, &api.demo.us_client.id, 5000).await;
        let invoice_id = invoice["id"].as_str().unwrap().to_owned();
        let cash = ok(
            api.money(
                api.staff(),
                &format!("/v1/invoices/{invoice_id}/payments"),
                json!({"method": "cash", "amount": 1000}),
            ),
            201,
        )
        .await;
        let cash_id = cash["id"].as_str().unwrap().to_owned();
        let refund = ok(
            api.money(
                api.admin(),
                &format!("/v1/payments/{cash_id}/refunds"),
                json!({"amount": 300}),
            ),
            201,
        )
        .await;
        let refund_id = refund["id"].as_str().unwrap().to_owned();

        // A card approval of the wrong amount needs review; an admin resolves it.
        let card = api
            .pay(
                &invoice_id,
                json!({"method": "card", "amount": 2000, "terminal_id": terminal_id}),
            )
            .await;
        let card_id = card["id"].as_str().unwrap().to_owned();
        let review = api.settled(&card_id).await;
        assert_eq!(review["status"], "needs_review", "{review}");
        let before = api.read(&format!("/v1/invoices/{invoice_id}")).await;
        assert_eq!(before["paid"], 700, "{before}");
        let resolve = format!("/v1/payments/{card_id}/resolve");
        // Staff may not; an unknown status or an empty note is refused.
        let r = api
            .post(
                api.staff(),
                &resolve,
                json!({"status": "succeeded", "note": "checked"}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(api_error(r).await.0, 403);
        for body in [
            json!({"status": "cancelled", "note": "checked"}),
            json!({"status": "succeeded", "note": " "}),
        ] {
            let r = api
                .post(api.admin(), &resolve, body.clone())
                .send()
                .await
                .unwrap();
            assert_eq!(api_error(r).await.0, 422, "{body}");
        }
        let resolved = ok(
            api.post(
                api.admin(),
                &resolve,
                json!({"status": "succeeded", "note": "the provider's portal shows 20.00 captured"}),
            ),
            200,
        )
        .await;
        assert_eq!(resolved["status"], "succeeded");
        let after = api.read(&format!("/v1/invoices/{invoice_id}")).await;
        assert_eq!(
            after["paid"], 2700,
            "paid moves as if the provider answered: {after}"
        );
        assert_eq!(after["due"], 2300);
        // Once settled it is not resolved again.
        let r = api
            .post(
                api.admin(),
                &resolve,
                json!({"status": "failed", "note": "oops"}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(api_error(r).await.1, "conflict");
        // Nor is a payment that has an outcome already.
        let r = api
            .post(
                api.admin(),
                &format!("/v1/payments/{cash_id}/resolve"),
                json!({"status": "failed", "note": "x"}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(api_error(r).await.0, 409);

        // An abort of a running card payment, by staff.
        let tid = &nets.provider_terminal_id;
        api.demo.nets.script(tid, Behaviour::Never, Duration::ZERO);
        let running = api
            .pay(
                &api.demo.dk_invoice.id,
                json!({"method": "card", "amount": 1000, "terminal_id": nets.id}),
            )
            .await;
        let running_id = running["id"].as_str().unwrap().to_owned();
        api.wait_for(&running_id, &["processing"]).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        ok(
            api.post(
                api.staff(),
                &format!("/v1/payments/{running_id}/abort"),
                json!({}),
            ),
            202,
        )
        .await;
        api.settled(&running_id).await;

        // The trail: newest first, each change with its actor and target.
        let events = all(&api, "", 500).await;
        let text = serde_json::to_string(&events).unwrap();
        assert!(
            !text.contains(SECRET_TOKEN),
            "a secret value is in the trail"
        );
        for secret in [
            made["secret"].as_str().unwrap(),
            rotated["secret"].as_str().unwrap(),
            api.admin(),
            api.staff(),
        ] {
            assert!(!text.contains(secret), "a key secret is in the trail");
        }
        let ats: Vec<i64> = events.iter().map(|e| e["at"].as_i64().unwrap()).collect();
        assert!(
            ats.windows(2).all(|w| w[0] >= w[1]),
            "newest first: {ats:?}"
        );
        let find = |action: &str, target: &str| -> Value {
            events
                .iter()
                .find(|e| e["action"] == action && e["target_id"] == target)
                .unwrap_or_else(|| panic!("no {action} of {target} in {text}"))
                .clone()
        };
        let by_admin = [
            ("plugin.install", "fault-injection"),
            ("plugin.market.enable", "fault-injection"),
            ("plugin.market.disable", "fault-injection"),
            ("plugin.settings.set", "fault-injection"),
            ("plugin.allowed_hosts.set", "fault-injection"),
            ("terminal.create", terminal_id.as_str()),
            ("terminal.reconcile", nets.id.as_str()),
            ("api_key.create", temp_id.as_str()),
            ("api_key.rotate", temp_id.as_str()),
            ("api_key.revoke", temp_id.as_str()),
            ("refund.create", refund_id.as_str()),
            ("payment.resolve", card_id.as_str()),
        ];
        for (action, target) in by_admin {
            let e = find(action, target);
            assert_eq!(e["actor_key_id"], admin_id.as_str(), "{e}");
            assert_eq!(e["actor_key_name"], "first admin key", "{e}");
            assert!(e["at"].as_i64().unwrap() >= started, "{e}");
            assert!(e["id"].as_str().is_some_and(|id| !id.is_empty()));
        }
        let abort = find("payment.abort", &running_id);
        assert_eq!(abort["actor_key_id"], staff_id.as_str());
        assert_eq!(abort["details"]["outcome"], "requested");

        // What changed.
        let settings: Vec<&Value> = events
            .iter()
            .filter(|e| e["action"] == "plugin.settings.set")
            .collect();
        assert_eq!(settings.len(), 2);
        let org_level = settings
            .iter()
            .find(|e| e["details"]["department_id"].is_null())
            .unwrap();
        let set: BTreeSet<&str> = org_level["details"]["set"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k.as_str().unwrap())
            .collect();
        assert_eq!(set, BTreeSet::from(["api-token", "mode"]));
        let dept_level = settings
            .iter()
            .find(|e| e["details"]["department_id"] == us.id.as_str())
            .unwrap();
        assert_eq!(dept_level["details"]["removed"], json!(["mode"]));
        let enabled: BTreeSet<&str> = events
            .iter()
            .filter(|e| e["action"] == "plugin.market.enable")
            .map(|e| e["details"]["country"].as_str().unwrap())
            .collect();
        assert_eq!(enabled, BTreeSet::from(["DK", "US"]));
        assert_eq!(
            find("plugin.market.disable", "fault-injection")["details"]["country"],
            "DK"
        );
        assert_eq!(
            find("plugin.allowed_hosts.set", "fault-injection")["details"]["hosts"],
            json!(["https://sandbox.example.com:443"])
        );
        assert_eq!(
            find("terminal.create", &terminal_id)["details"]["provider_terminal_id"],
            "FAULT-1"
        );
        assert_eq!(
            find("terminal.reconcile", &nets.id)["details"]["outcome"],
            "done"
        );
        assert_eq!(find("api_key.create", &temp_id)["details"]["role"], "staff");
        assert_eq!(
            find("api_key.rotate", &temp_id)["details"]["grace_seconds"],
            60
        );
        let r = find("refund.create", &refund_id);
        assert_eq!(
            (
                r["details"]["amount"].as_i64(),
                r["details"]["original_payment_id"].as_str()
            ),
            (Some(-300), Some(cash_id.as_str()))
        );
        let res = find("payment.resolve", &card_id);
        assert_eq!(res["details"]["from"], "needs_review");
        assert_eq!(res["details"]["to"], "succeeded");
        assert!(res["details"]["note"].as_str().unwrap().contains("portal"));

        // Filters and pages.
        let revokes = page(&api, api.admin(), "?action=api_key.revoke").await;
        assert_eq!(revokes["events"].as_array().unwrap().len(), 1);
        let of_temp = all(&api, &format!("&target_id={temp_id}"), 500).await;
        let actions: Vec<&str> = of_temp
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        assert_eq!(
            actions,
            ["api_key.revoke", "api_key.rotate", "api_key.create"]
        );
        let of_staff = all(&api, &format!("&actor_key_id={staff_id}"), 500).await;
        assert_eq!(of_staff.len(), 1, "{of_staff:?}");
        assert_eq!(of_staff[0]["action"], "payment.abort");
        let paged = all(&api, "", 2).await;
        assert_eq!(
            paged, events,
            "paging by 2 finds the same events in the same order"
        );
        let later = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(1);
        assert!(
            page(&api, api.admin(), &format!("?since={}", later)).await["events"]
                .as_array()
                .unwrap()
                .is_empty()
        );
        let until_start = all(&api, &format!("&until={started}"), 500).await;
        assert!(
            until_start
                .iter()
                .all(|e| e["at"].as_i64().unwrap() < started)
        );
        let since_start = all(&api, &format!("&since={started}"), 500).await;
        assert_eq!(since_start.len() + until_start.len(), events.len());
        let since_rfc = jiff::Timestamp::from_millisecond(started)
            .unwrap()
            .to_string();
        let since_rfc = all(
            &api,
            &format!("&since={}", since_rfc.replace('+', "%2B")),
            500,
        )
        .await;
        assert_eq!(since_rfc.len(), since_start.len());

        for (query, status) in [
            ("?limit=501", 422),
            ("?limit=0", 422),
            ("?action=plugin.explode", 422),
            ("?since=yesterday", 422),
            ("?cursor=garbage", 422),
            ("?colour=blue", 400),
        ] {
            let r = api
                .get(api.admin(), &format!("/v1/audit-events{query}"))
                .send()
                .await
                .unwrap();
            assert_eq!(api_error(r).await.0.as_u16(), status, "{query}");
        }

        // Admin only, and not changeable through the API.
        let r = api
            .get(api.staff(), "/v1/audit-events")
            .send()
            .await
            .unwrap();
        assert_eq!(api_error(r).await.1, "forbidden");
        let id = events[0]["id"].as_str().unwrap();
        for method in [
            reqwest::Method::DELETE,
            reqwest::Method::PUT,
            reqwest::Method::POST,
        ] {
            for path in [
                "/v1/audit-events".to_owned(),
                format!("/v1/audit-events/{id}"),
            ] {
                let r = api
                    .http
                    .request(method.clone(), format!("{}{path}", api.url))
                    .bearer_auth(api.admin())
                    .json(&json!({}))
                    .send()
                    .await
                    .unwrap();
                assert!(!r.status().is_success(), "{method} {path}");
            }
        }
        assert_eq!(all(&api, "", 500).await, events);
    }
}
