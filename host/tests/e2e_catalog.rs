//! The item catalog (issue 16) over HTTP, on SQLite and PostgreSQL: items with
//! names by language, a VAT rate and prices per currency with department
//! overrides; invoice lines made from them keep what they were made with; the
//! price history stays; archived items cannot be invoiced; bad input is a 4xx
//! that says what to fix.

mod support;

use serde_json::{Value, json};
use support::{ClinicApi, api_error, clinic_api, stores};

async fn create_item(api: &ClinicApi, body: Value) -> Value {
    let r = api
        .post(api.admin(), "/v1/catalog/items", body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    r.json().await.unwrap()
}

async fn invoice(
    api: &ClinicApi,
    department: &str,
    client: &str,
    lines: Value,
) -> reqwest::Response {
    api.post(
        api.staff(),
        "/v1/invoices",
        json!({"department_id": department, "client_id": client, "kind": "consultation", "lines": lines}),
    )
    .send()
    .await
    .unwrap()
}

async fn change(api: &ClinicApi, id: &str, body: Value) -> reqwest::Response {
    api.http
        .patch(format!("{}/v1/catalog/items/{id}", api.url))
        .bearer_auth(api.admin())
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_invoice_made_from_catalog_items_keeps_its_prices_after_a_price_change() {
    for store in stores().await {
        let backend = store.backend();
        let api = clinic_api(store).await;
        let (dk, us) = (&api.demo.dk, &api.demo.us);
        let item = create_item(
            &api,
            json!({
                "code": "VAC-RAB", "kind": "medicine", "vat_rate": 25,
                "names": {"en": "Rabies vaccine", "da": "Rabiesvaccine"},
                "prices": [
                    {"currency": "DKK", "unit_price": 40000},
                    {"currency": "USD", "unit_price": 6500},
                    {"currency": "DKK", "department_id": dk.id, "unit_price": 38000},
                ],
            }),
        )
        .await;
        let id = item["id"].as_str().unwrap().to_owned();
        assert_eq!(item["prices"].as_array().unwrap().len(), 3, "{backend:?}");

        // The Danish department's own price, its language, the item's rate.
        let r = invoice(
            &api,
            &dk.id,
            &api.demo.dk_client.id,
            json!([{"item_id": id, "quantity": 2}]),
        )
        .await;
        assert_eq!(r.status(), 201, "{backend:?}");
        let first: Value = r.json().await.unwrap();
        let line = &first["lines"][0];
        assert_eq!(line["description"], "Rabiesvaccine");
        assert_eq!(line["unit_price"], 38000);
        assert_eq!(line["vat_rate"], "25");
        assert_eq!(line["item_id"], id.as_str());
        assert_eq!(line["item_code"], "VAC-RAB");
        assert_eq!(line["free_text"], false);
        assert_eq!(first["total"], 95000, "2 × 380.00 + 25 % VAT");
        // The US department: the organisation's USD price, in English.
        let r = invoice(
            &api,
            &us.id,
            &api.demo.us_client.id,
            json!([{"item_id": id, "quantity": 1}]),
        )
        .await;
        let us_line: Value = r.json().await.unwrap();
        assert_eq!(us_line["lines"][0]["unit_price"], 6500);
        assert_eq!(us_line["lines"][0]["description"], "Rabies vaccine");

        // A new price: the invoice made before keeps its own.
        let r = change(
            &api,
            &id,
            json!({"prices": [{"currency": "DKK", "department_id": dk.id, "unit_price": 41000}]}),
        )
        .await;
        assert_eq!(r.status(), 200, "{backend:?}");
        let again: Value = api
            .read(&format!("/v1/invoices/{}", first["id"].as_str().unwrap()))
            .await;
        assert_eq!(
            again["lines"][0]["unit_price"], 38000,
            "{backend:?}: the old invoice keeps its price"
        );
        let r = invoice(
            &api,
            &dk.id,
            &api.demo.dk_client.id,
            json!([{"item_id": id, "quantity": 1}]),
        )
        .await;
        let later: Value = r.json().await.unwrap();
        assert_eq!(later["lines"][0]["unit_price"], 41000);

        // The history holds both prices of the department.
        let history: Value = api.read(&format!("/v1/catalog/items/{id}")).await;
        let dk_prices: Vec<i64> = history["price_history"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["department_id"] == dk.id.as_str())
            .map(|p| p["unit_price"].as_i64().unwrap())
            .collect();
        assert_eq!(dk_prices, [41000, 38000], "{backend:?}: newest first");

        // Free-text lines stay possible, and are marked.
        let r = invoice(
            &api,
            &dk.id,
            &api.demo.dk_client.id,
            json!([{"description": "Nail trim", "quantity": 1, "unit_price": 15000, "vat_rate": 25}]),
        )
        .await;
        let free: Value = r.json().await.unwrap();
        assert_eq!(free["lines"][0]["free_text"], true);
        assert_eq!(free["lines"][0]["item_id"], Value::Null);

        // Search by code and by name, any case.
        for q in ["vac-rab", "RABIES", "rabiesvacc"] {
            let found: Value = api.read(&format!("/v1/catalog/items?q={q}")).await;
            assert_eq!(found.as_array().unwrap().len(), 1, "{backend:?}: {q}");
        }
        let none: Value = api.read("/v1/catalog/items?q=insulin").await;
        assert_eq!(none.as_array().unwrap().len(), 0);
        // Names are searched, never their language tags.
        let tags: Value = api.read("/v1/catalog/items?q=en").await;
        assert_eq!(tags.as_array().unwrap().len(), 0, "{backend:?}: {tags}");
        // Renamed, found by the new name only.
        let r = change(&api, &id, json!({"names": {"en": "Lyssa shot"}})).await;
        assert_eq!(r.status(), 200);
        let found: Value = api.read("/v1/catalog/items?q=lyssa").await;
        assert_eq!(found.as_array().unwrap().len(), 1);
        let gone: Value = api.read("/v1/catalog/items?q=rabiesvacc").await;
        assert_eq!(gone.as_array().unwrap().len(), 0);
    }
}

#[tokio::test]
async fn archived_items_unpriced_items_and_other_prices_are_refused_with_what_to_fix() {
    for store in stores().await {
        let backend = store.backend();
        let api = clinic_api(store).await;
        let dk = &api.demo.dk;
        let client = &api.demo.dk_client.id;
        let item = create_item(
            &api,
            json!({"code": "EXAM", "kind": "service", "vat_rate": "25", "names": {"en": "Examination"},
                   "prices": [{"currency": "DKK", "unit_price": 50000}]}),
        )
        .await;
        let id = item["id"].as_str().unwrap().to_owned();

        // Another price than the catalog's, unless the department allows it.
        let r = invoice(
            &api,
            &dk.id,
            client,
            json!([{"item_id": id, "quantity": 1, "unit_price": 1}]),
        )
        .await;
        let (status, _, message) = api_error(r).await;
        assert_eq!(status, 422, "{backend:?}");
        assert!(message.contains("catalog-price-override"), "{message}");
        let r = api
            .put(
                api.admin(),
                &format!("/v1/departments/{}/settings", dk.id),
                json!({"catalog-price-override": true}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{backend:?}");
        let r = invoice(
            &api,
            &dk.id,
            client,
            json!([{"item_id": id, "quantity": 1, "unit_price": 45000}]),
        )
        .await;
        assert_eq!(r.status(), 201, "{backend:?}");
        let overridden: Value = r.json().await.unwrap();
        assert_eq!(overridden["lines"][0]["unit_price"], 45000);

        // A catalog item's rate is the catalog's.
        let r = invoice(
            &api,
            &dk.id,
            client,
            json!([{"item_id": id, "quantity": 1, "vat_rate": 0}]),
        )
        .await;
        assert_eq!(api_error(r).await.0, 422);

        // No price in the department's currency.
        let usd_only = create_item(
            &api,
            json!({"code": "FOOD-US", "kind": "goods", "vat_rate": 0, "names": {"en": "Food"},
                   "prices": [{"currency": "USD", "unit_price": 1000}]}),
        )
        .await;
        let r = invoice(
            &api,
            &dk.id,
            client,
            json!([{"item_id": usd_only["id"], "quantity": 1}]),
        )
        .await;
        let (status, _, message) = api_error(r).await;
        assert_eq!(status, 422);
        assert!(message.contains("no price in DKK"), "{message}");

        // Archived: refused, and found only when asked for.
        assert_eq!(
            change(&api, &id, json!({"archived": true})).await.status(),
            200
        );
        let r = invoice(
            &api,
            &dk.id,
            client,
            json!([{"item_id": id, "quantity": 1}]),
        )
        .await;
        let (status, _, message) = api_error(r).await;
        assert_eq!(status, 422, "{backend:?}");
        assert!(message.contains("archived"), "{message}");
        let listed: Value = api.read("/v1/catalog/items?q=exam").await;
        assert_eq!(listed.as_array().unwrap().len(), 0);
        let listed: Value = api.read("/v1/catalog/items?q=exam&archived=true").await;
        assert_eq!(listed.as_array().unwrap().len(), 1);
        assert_eq!(
            change(&api, &id, json!({"archived": false})).await.status(),
            200
        );
        let r = invoice(
            &api,
            &dk.id,
            client,
            json!([{"item_id": id, "quantity": 1}]),
        )
        .await;
        assert_eq!(r.status(), 201, "restored");

        // Bad items: each a 4xx naming the field.
        for (body, field) in [
            (
                json!({"code": "EXAM", "kind": "service", "vat_rate": 25, "names": {"en": "Again"}}),
                "code",
            ),
            (
                json!({"code": "bad code!", "kind": "service", "vat_rate": 25, "names": {"en": "X"}}),
                "code",
            ),
            (
                json!({"code": "NONAME", "kind": "service", "vat_rate": 25, "names": {}}),
                "names",
            ),
            (
                json!({"code": "VAT", "kind": "service", "vat_rate": 125, "names": {"en": "X"}}),
                "vat_rate",
            ),
            (
                json!({"code": "NEG", "kind": "goods", "vat_rate": 0, "names": {"en": "X"},
                    "prices": [{"currency": "DKK", "unit_price": -5}]}),
                "unit_price",
            ),
            (
                json!({"code": "HUGE", "kind": "goods", "vat_rate": 0, "names": {"en": "X"},
                    "prices": [{"currency": "DKK", "unit_price": 9_000_000_000_000_000i64}]}),
                "unit_price",
            ),
            (
                json!({"code": "DEPT", "kind": "goods", "vat_rate": 0, "names": {"en": "X"},
                    "prices": [{"currency": "USD", "department_id": dk.id, "unit_price": 5}]}),
                "currency",
            ),
        ] {
            let r = api
                .post(api.admin(), "/v1/catalog/items", body.clone())
                .send()
                .await
                .unwrap();
            let (status, _, message) = api_error(r).await;
            assert_eq!(status, 422, "{backend:?}: {body}");
            assert!(message.contains(field), "{body}: {message}");
        }
        // Staff read the catalog but do not change it.
        let r = api
            .post(
                api.staff(),
                "/v1/catalog/items",
                json!({"code": "S", "kind": "goods", "vat_rate": 0, "names": {"en": "S"}}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);
        // A free-text line still needs its price.
        let r = invoice(
            &api,
            &dk.id,
            client,
            json!([{"description": "X", "quantity": 1, "vat_rate": 0}]),
        )
        .await;
        let (status, _, message) = api_error(r).await;
        assert_eq!(status, 422);
        assert!(message.contains("unit_price"), "{message}");
    }
}

async fn discount(api: &ClinicApi, body: Value) -> reqwest::Response {
    api.post(api.admin(), "/v1/catalog/discounts", body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn discounts_combine_as_documented_and_never_make_a_line_negative() {
    for store in stores().await {
        let backend = store.backend();
        let api = clinic_api(store).await;
        let dk = &api.demo.dk;
        let client = &api.demo.dk_client.id;
        let item = create_item(
            &api,
            json!({"code": "VAC", "kind": "medicine", "group": "vaccines", "vat_rate": 25,
                   "names": {"en": "Vaccine"}, "prices": [{"currency": "DKK", "unit_price": 40000}]}),
        )
        .await;
        let id = item["id"].as_str().unwrap().to_owned();
        assert_eq!(item["group"], "vaccines");
        let today = jiff::Timestamp::now()
            .to_zoned(jiff::tz::TimeZone::get(&dk.time_zone).unwrap())
            .date();
        let (yesterday, tomorrow) = (today.yesterday().unwrap(), today.tomorrow().unwrap());
        for body in [
            json!({"name": "50 kr. off vaccines", "amount": 5000, "currency": "DKK", "target": "item", "item_id": id}),
            json!({"name": "Vaccine month", "percent": 10, "target": "group", "group": "vaccines",
                   "valid_from": today.to_string(), "valid_to": today.to_string()}),
            json!({"name": "Loyal client", "percent": "5", "target": "invoice"}),
            // Not in force today, or archived below: they change nothing.
            json!({"name": "Ended", "percent": 50, "target": "invoice", "valid_to": yesterday.to_string()}),
            json!({"name": "Not yet", "percent": 50, "target": "invoice", "valid_from": tomorrow.to_string()}),
            json!({"name": "Archived", "percent": 50, "target": "invoice"}),
        ] {
            let r = discount(&api, body).await;
            assert_eq!(r.status(), 201, "{backend:?}");
            let made: Value = r.json().await.unwrap();
            if made["name"] == "Archived" {
                let r = api
                    .http
                    .patch(format!(
                        "{}/v1/catalog/discounts/{}",
                        api.url,
                        made["id"].as_str().unwrap()
                    ))
                    .bearer_auth(api.admin())
                    .json(&json!({"archived": true}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 200);
            }
        }
        let r = invoice(
            &api,
            &dk.id,
            client,
            json!([
                {"item_id": id, "quantity": 1},
                {"description": "Nail trim", "quantity": 1, "unit_price": 10000, "vat_rate": 25, "discount_percent": 50},
            ]),
        )
        .await;
        assert_eq!(r.status(), 201, "{backend:?}");
        let made: Value = r.json().await.unwrap();
        let (vac, trim) = (&made["lines"][0], &made["lines"][1]);
        // 400.00 − 50.00 = 350.00; then 1 − 0.90 × 0.95 = 14.5 % off.
        assert_eq!(vac["unit_price"], 35000, "{backend:?}");
        assert_eq!(vac["discount_percent"], "14.5");
        assert_eq!(vac["net"], 29925);
        assert_eq!(vac["vat"], 7481, "7481.25 rounded half away from zero");
        let names: Vec<&str> = vac["discounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            ["50 kr. off vaccines", "Vaccine month", "Loyal client"]
        );
        // A free-text line: its own 50 %, then the invoice's 5 %.
        assert_eq!(trim["discount_percent"], "52.5");
        assert_eq!(trim["net"], 4750);
        assert_eq!(trim["discounts"].as_array().unwrap().len(), 1);
        assert_eq!(made["total"], 29925 + 7481 + 4750 + 1188);

        // Refused with what to fix.
        for (body, field) in [
            (
                json!({"name": "Off the invoice", "amount": 1000, "currency": "DKK", "target": "invoice"}),
                "amount",
            ),
            (
                json!({"name": "Too much", "amount": 50000, "currency": "DKK", "target": "item", "item_id": id}),
                "negative",
            ),
            (
                json!({"name": "Both", "percent": 5, "amount": 5, "currency": "DKK", "target": "invoice"}),
                "percent",
            ),
            (
                json!({"name": "Over", "percent": 101, "target": "invoice"}),
                "percent",
            ),
            (
                json!({"name": "Backwards", "percent": 5, "target": "invoice", "valid_from": "2026-02-01", "valid_to": "2026-01-01"}),
                "valid_to",
            ),
            (
                json!({"name": "Whose", "percent": 5, "target": "item"}),
                "target",
            ),
        ] {
            let (status, _, message) = api_error(discount(&api, body.clone()).await).await;
            assert_eq!(status, 422, "{backend:?}: {body}");
            assert!(message.contains(field), "{body}: {message}");
        }
        // A price typed below the item's amount off: the line would be negative.
        let r = api
            .put(
                api.admin(),
                &format!("/v1/departments/{}/settings", dk.id),
                json!({"catalog-price-override": true}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let r = invoice(
            &api,
            &dk.id,
            client,
            json!([{"item_id": id, "quantity": 1, "unit_price": 3000}]),
        )
        .await;
        let (status, _, message) = api_error(r).await;
        assert_eq!(status, 422, "{backend:?}");
        assert!(message.contains("negative"), "{message}");
        let listed: Value = api.read("/v1/catalog/discounts").await;
        assert_eq!(listed.as_array().unwrap().len(), 6);
    }
}

async fn import(api: &ClinicApi, csv: &str) -> reqwest::Response {
    api.http
        .post(format!("{}/v1/catalog/import", api.url))
        .bearer_auth(api.admin())
        .header("content-type", "text/csv")
        .body(csv.to_owned())
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_catalog_goes_out_and_comes_back_as_csv_all_or_nothing() {
    for store in stores().await {
        let backend = store.backend();
        let api = clinic_api(store).await;
        create_item(
            &api,
            json!({"code": "VAC", "kind": "medicine", "group": "vaccines", "vat_rate": 25,
                   "names": {"en": "Vaccine, rabies", "da": "Vaccine"},
                   "prices": [{"currency": "DKK", "unit_price": 40000}, {"currency": "USD", "unit_price": 6500}]}),
        )
        .await;
        let exported = api
            .get(api.staff(), "/v1/catalog/export")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let mut lines = exported.lines();
        assert_eq!(
            lines.next(),
            Some("code,kind,group,vat_rate,archived,name:da,name:en,price:DKK,price:USD"),
            "{backend:?}"
        );
        // A comma in a name is quoted, as CSV says.
        assert_eq!(
            lines.next(),
            Some("VAC,medicine,vaccines,25,false,Vaccine,\"Vaccine, rabies\",400.00,65.00")
        );

        // Back in with a new DKK price and a new item.
        let edited = "code,kind,group,vat_rate,archived,name:da,name:en,price:DKK,price:USD\n\
                      VAC,medicine,vaccines,25,false,Vaccine,\"Vaccine, rabies\",420.00,65.00\n\
                      EXAM,service,,25,,Undersøgelse,Examination,500.00,\n";
        let r = import(&api, edited).await;
        assert_eq!(r.status(), 200, "{backend:?}");
        let report: Value = r.json().await.unwrap();
        assert_eq!(report, json!({"added": ["EXAM"], "changed": ["VAC"]}));
        let vac: Value = api.read("/v1/catalog/items?q=VAC").await;
        let history: Value = api
            .read(&format!(
                "/v1/catalog/items/{}",
                vac[0]["id"].as_str().unwrap()
            ))
            .await;
        let dkk: Vec<i64> = history["price_history"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["currency"] == "DKK")
            .map(|p| p["unit_price"].as_i64().unwrap())
            .collect();
        assert_eq!(
            dkk,
            [42000, 40000],
            "{backend:?}: the old price stays in the history"
        );

        // One bad line: nothing of the file is written, and the line is named.
        let bad = "code,kind,vat_rate,name:en,price:DKK\n\
                   VAC,medicine,25,Vaccine,999.00\n\
                   NEW,toy,25,New,1.00\n";
        let (status, _, message) = api_error(import(&api, bad).await).await;
        assert_eq!(status, 422);
        assert!(
            message.contains("line 3") && message.contains("kind"),
            "{message}"
        );
        let too_precise = "code,kind,vat_rate,name:en,price:DKK\nNEW,goods,25,New,1.005\n";
        let (status, _, message) = api_error(import(&api, too_precise).await).await;
        assert_eq!(status, 422);
        assert!(message.contains("more decimals"), "{message}");
        let vac: Value = api.read("/v1/catalog/items?q=VAC").await;
        assert_eq!(
            vac[0]["prices"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["currency"] == "DKK")
                .unwrap()["unit_price"],
            42000
        );
        let all: Value = api.read("/v1/catalog/items").await;
        assert_eq!(all.as_array().unwrap().len(), 2, "{backend:?}");
        let r = api
            .http
            .post(format!("{}/v1/catalog/import", api.url))
            .bearer_auth(api.staff())
            .body("code,kind,vat_rate\n")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "staff do not import");
    }
}
