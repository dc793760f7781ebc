//! Terminals over HTTP: the provider account's terminals through the plugin's
//! `list-terminals`, reading and removing one terminal, and the terminal type
//! checked against the plugin's manifest; on SQLite and PostgreSQL.

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::{api_error, clinic_api, stores};
use vetpay_simulators::nets::Behaviour;

#[tokio::test]
async fn list_terminals_over_http_shows_the_nets_accounts_terminals_with_their_models() {
    for store in stores().await {
        let api = clinic_api(store).await;
        let dk = &api.demo.dk;
        api.demo
            .nets
            .add_terminal(vetpay::demo::NETS_USER, "NETS-DK-3G", "iWL250 3G", true);
        let path = format!(
            "/v1/plugins/nets-connect-cloud/terminals?department_id={}",
            dk.id
        );
        let r = api.get(api.admin(), &path).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let list: Value = r.json().await.unwrap();
        let mut seen: Vec<(String, String, bool)> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t["id"].as_str().unwrap().to_owned(),
                    t["model"].as_str().unwrap_or_default().to_owned(),
                    t["supported"].as_bool().unwrap(),
                )
            })
            .collect();
        seen.sort();
        assert_eq!(
            seen,
            [
                ("NETS-DK-1".to_owned(), "Lane3000".to_owned(), true),
                ("NETS-DK-2".to_owned(), "Move3500".to_owned(), true),
                ("NETS-DK-3G".to_owned(), "iWL250 3G".to_owned(), false),
            ]
        );
        let unsupported = list
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == "NETS-DK-3G")
            .unwrap();
        assert!(
            unsupported["note"].as_str().unwrap().contains("iWL250"),
            "{unsupported}"
        );
        // Each says where it is registered, if it is.
        assert_eq!(unsupported["registered"], Value::Null);
        let first = list
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == "NETS-DK-1")
            .unwrap();
        assert_eq!(
            first["registered"],
            json!({"id": api.demo.nets_terminals[0].id, "department_id": dk.id})
        );

        // Admin only; the department is required and must be the caller's;
        // the plugin must be installed, enabled there and list terminals.
        let r = api.get(api.staff(), &path).send().await.unwrap();
        assert_eq!(api_error(r).await.0, 403);
        let r = api
            .get(api.admin(), "/v1/plugins/nets-connect-cloud/terminals")
            .send()
            .await
            .unwrap();
        let (status, _, message) = api_error(r).await;
        assert_eq!(status, 400);
        assert!(message.contains("department_id"), "{message}");
        let r = api
            .get(
                api.admin(),
                "/v1/plugins/nets-connect-cloud/terminals?department_id=nope",
            )
            .send()
            .await
            .unwrap();
        let (status, _, message) = api_error(r).await;
        assert_eq!(status, 422);
        assert!(message.contains("department_id"), "{message}");
        let r = api
            .get(
                api.admin(),
                &format!("/v1/plugins/nope/terminals?department_id={}", dk.id),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(api_error(r).await.0, 404);
        let r = api
            .get(
                api.admin(),
                &format!(
                    "/v1/plugins/nets-connect-cloud/terminals?department_id={}",
                    api.demo.us.id
                ),
            )
            .send()
            .await
            .unwrap();
        let (status, _, message) = api_error(r).await;
        assert_eq!(status, 409);
        assert!(message.contains("not enabled for market US"), "{message}");
    }
}

#[tokio::test]
async fn one_terminal_is_read_and_removed_but_not_while_a_payment_runs_on_it() {
    for store in stores().await {
        let api = clinic_api(store).await;
        let terminal = &api.demo.nets_terminals[0];
        let at = format!("/v1/terminals/{}", terminal.id);

        let read = api.read(&at).await;
        assert_eq!(read["provider_terminal_id"], "NETS-DK-1");
        assert_eq!(read["type"], "Connect@Cloud");
        let r = api
            .get(api.staff(), "/v1/terminals/nope")
            .send()
            .await
            .unwrap();
        assert_eq!(api_error(r).await.0, 404);

        // A payment processing on it keeps it.
        api.demo
            .nets
            .script("NETS-DK-1", Behaviour::Never, Duration::ZERO);
        let p = api
            .pay(
                &api.demo.dk_invoice.id,
                json!({"method": "card", "amount": 1000, "terminal_id": terminal.id}),
            )
            .await;
        let id = p["id"].as_str().unwrap();
        api.wait_for(id, &["processing"]).await;
        let r = api
            .http
            .delete(format!("{}{at}", api.url))
            .bearer_auth(api.staff())
            .send()
            .await
            .unwrap();
        assert_eq!(api_error(r).await.0, 403);
        let r = api
            .http
            .delete(format!("{}{at}", api.url))
            .bearer_auth(api.admin())
            .send()
            .await
            .unwrap();
        let (status, code, message) = api_error(r).await;
        assert_eq!((status.as_u16(), code.as_str()), (409, "terminal_busy"));
        assert!(
            message.contains(&format!("payment {id} is processing on this terminal")),
            "{message}"
        );
        api.abort(id).await;
        assert_eq!(api.settled(id).await["status"], "cancelled");

        // Now it goes, and is audited; it is gone from reads and lists, and
        // takes no payment.
        let r = api
            .http
            .delete(format!("{}{at}", api.url))
            .bearer_auth(api.admin())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
        let r = api.get(api.staff(), &at).send().await.unwrap();
        assert_eq!(api_error(r).await.0, 404);
        let r = api
            .http
            .delete(format!("{}{at}", api.url))
            .bearer_auth(api.admin())
            .send()
            .await
            .unwrap();
        assert_eq!(api_error(r).await.0, 404);
        let listed = api
            .read(&format!("/v1/departments/{}/terminals", api.demo.dk.id))
            .await;
        assert!(
            listed
                .as_array()
                .unwrap()
                .iter()
                .all(|t| t["id"] != terminal.id.as_str()),
            "{listed}"
        );
        let r = api
            .money(
                api.staff(),
                &format!("/v1/invoices/{}/payments", api.demo.dk_invoice.id),
                json!({"method": "card", "amount": 500, "terminal_id": terminal.id}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(api_error(r).await.0, 422);
        let audit = api
            .get(
                api.admin(),
                &format!(
                    "/v1/audit-events?action=terminal.remove&target_id={}",
                    terminal.id
                ),
            )
            .send()
            .await
            .unwrap();
        let audit: Value = audit.json().await.unwrap();
        let event = &audit["events"][0];
        assert_eq!(
            event["details"]["provider_terminal_id"], "NETS-DK-1",
            "{audit}"
        );
        // The payment made on it still names it.
        assert_eq!(
            api.read(&format!("/v1/payments/{id}")).await["terminal_id"],
            terminal.id.as_str()
        );

        // Registering the device again brings the same terminal back.
        let r = api
            .post(
                api.admin(),
                &format!("/v1/departments/{}/terminals", api.demo.dk.id),
                json!({"plugin_id": "nets-connect-cloud", "terminal_id": "NETS-DK-1", "name": "Skranke 1 igen", "type": "Connect@Cloud"}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let back: Value = r.json().await.unwrap();
        assert_eq!(back["id"], terminal.id.as_str());
        assert_eq!(back["name"], "Skranke 1 igen");
        api.demo
            .nets
            .script("NETS-DK-1", Behaviour::Approve, Duration::ZERO);
        let p = api
            .pay(
                &api.demo.dk_invoice.id,
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
async fn the_terminal_type_is_one_the_plugins_manifest_lists() {
    for store in stores().await {
        let api = clinic_api(store).await;
        let register = |dept: String, plugin: &str, ty: &'static str| {
            api.post(
                api.admin(),
                &format!("/v1/departments/{dept}/terminals"),
                json!({"plugin_id": plugin, "terminal_id": format!("T-{ty}"), "name": "New", "type": ty}),
            )
            .send()
        };
        // Nets lists terminal-types = ["Connect@Cloud"].
        let r = register(api.demo.dk.id.clone(), "nets-connect-cloud", "Baxi")
            .await
            .unwrap();
        let (status, code, message) = api_error(r).await;
        assert_eq!((status.as_u16(), code.as_str()), (422, "invalid"));
        assert_eq!(
            message,
            "type: plugin 'nets-connect-cloud' takes terminals of type 'Connect@Cloud', got 'Baxi'"
        );
        // Gravity's manifest lists none: any type is taken, as before the field.
        let r = register(
            api.demo.us.id.clone(),
            api.demo.gravity_terminal.plugin_id.as_str(),
            "anything",
        )
        .await
        .unwrap();
        assert_eq!(r.status(), 201);
    }
}
