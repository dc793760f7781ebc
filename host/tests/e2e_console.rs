//! The clinic console in a real Chromium against the real router, the demo
//! seed and both simulators, in English and in Danish: the counter's
//! workflows, the admin pages and who may see them. Every page visited is
//! checked with axe-core; screenshots go under the target directory.

mod console;
mod support;

use std::time::Duration;

use console::Browser;
use serde_json::{Value, json};
use support::ClinicApi;
use vetpay_simulators::gravity::Behaviour as GravityBehaviour;
use vetpay_simulators::nets::Behaviour as NetsBehaviour;

const LANGS: [&str; 2] = ["en", "da"];

/// A seeded clinic on embedded SQLite (the console is the same on either
/// database; the API suites cover PostgreSQL).
async fn clinic() -> ClinicApi {
    let store = support::stores().await.remove(0);
    support::clinic_api(store).await
}

async fn signed_in(api: &ClinicApi, key: &str, lang: &'static str, test: &str) -> Browser {
    let b = Browser::start(&api.url, lang, test).await;
    b.sign_in(key).await;
    b
}

/// From the invoice page: Payment, check the prefilled due sum, pick the
/// terminal (its id), Process card. Returns the prefilled text.
async fn start_card_payment(
    b: &Browser,
    invoice_id: &str,
    terminal: &str,
    amount: Option<&str>,
) -> String {
    b.go(&format!("/invoices/{invoice_id}")).await;
    b.click("#payment").await;
    b.el("#pay-form").await;
    let prefilled = b.value("#amount").await;
    assert_eq!(
        b.el("input[name=method][value=card]")
            .await
            .prop("checked")
            .await
            .unwrap()
            .as_deref(),
        Some("true"),
        "Card is the type by default"
    );
    if let Some(a) = amount {
        b.fill("#amount", a).await;
    }
    b.el("#terminal")
        .await
        .select_by_value(terminal)
        .await
        .unwrap();
    b.click("#process").await;
    // The dialog, or the result at once when the terminal answered first.
    b.until(
        "the dialog opens or the result is shown",
        "return !!document.querySelector('#terminal-dialog[open], #result')",
    )
    .await;
    prefilled
}

/// Waits for the dialog to close itself and the page to announce `status`.
async fn result(b: &Browser, status: &str) -> String {
    let el = b.el(&format!("#result[data-status={status}]")).await;
    assert!(
        !b.exists("#terminal-dialog[open]").await,
        "the dialog closed itself"
    );
    el.text().await.unwrap()
}

async fn wait_stage(b: &Browser, stage: &str) {
    b.until(
        &format!("the dialog shows {stage}"),
        &format!("return document.getElementById('dialog-stage')?.dataset.stage === '{stage}'"),
    )
    .await;
}

#[tokio::test]
async fn nets_payment_closes_by_itself_and_a_refund_is_negative() {
    if !console::available() {
        return;
    }
    for lang in LANGS {
        let api = clinic().await;
        let invoice = &api.demo.dk_invoice;
        let t1 = &api.demo.nets_terminals[0];
        api.demo.nets.script(
            &t1.provider_terminal_id,
            NetsBehaviour::Approve,
            // Long enough for the dialog's checks and axe on a loaded machine.
            Duration::from_millis(3000),
        );
        let b = signed_in(&api, api.staff(), lang, "nets-payment").await;
        b.axe("invoices").await;
        b.click(&format!("a[href='/invoices/{}']", invoice.id))
            .await;
        assert_eq!(
            b.text("#invoice-due").await,
            b.pick("DKK 785.00", "785,00 kr.")
        );
        b.axe("invoice").await;
        b.shot("invoice").await;

        let prefilled = start_card_payment(&b, &invoice.id, &t1.id, None).await;
        assert_eq!(
            prefilled,
            b.pick("785.00", "785,00"),
            "the due sum is prefilled"
        );
        wait_stage(&b, "waiting-for-card").await;
        assert_eq!(
            b.text("#dialog-stage").await,
            b.pick("Waiting for the card…", "Venter på kortet…")
        );
        assert_eq!(
            b.text("#dialog-amount").await,
            b.pick("DKK 785.00", "785,00 kr.")
        );
        // docs/console-dialog.png (the README's picture) is this shot in English.
        b.shot("dialog").await;
        b.axe("terminal dialog").await;

        let text = result(&b, "succeeded").await;
        assert!(
            text.contains(b.pick("The payment went through.", "Betalingen er gennemført.")),
            "{text}"
        );
        assert_eq!(b.text("#invoice-status").await, b.pick("Paid", "Betalt"));
        assert_eq!(b.text("#invoice-due").await, b.pick("DKK 0.00", "0,00 kr."));
        b.shot("paid").await;
        let booked = api.read(&format!("/v1/invoices/{}", invoice.id)).await;
        assert_eq!(booked["status"], "paid");

        // The red Refund button: the negative sum, part of it refunded on the terminal.
        api.demo.nets.script(
            &t1.provider_terminal_id,
            NetsBehaviour::Approve,
            Duration::from_millis(800),
        );
        b.click("a.refund").await;
        assert_eq!(b.value("#amount").await, b.pick("-785.00", "-785,00"));
        b.axe("refund form").await;
        b.fill("#amount", b.pick("-100.00", "-100,00")).await;
        b.click("#process-refund").await;
        b.el("#terminal-dialog[open]").await;
        assert_eq!(
            b.text("#dialog-amount").await,
            b.pick("-DKK 100.00", "-100,00 kr.")
        );
        b.shot("refund-dialog").await;
        let text = result(&b, "succeeded").await;
        assert!(
            text.contains(b.pick("-DKK 100.00", "-100,00 kr.")),
            "{text}"
        );
        assert!(
            text.contains(b.pick("The refund went through.", "Refusionen er gennemført.")),
            "{text}"
        );
        b.shot("refunded").await;
        let payments = api
            .read(&format!("/v1/invoices/{}/payments", invoice.id))
            .await;
        let refund = payments
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["kind"] == "refund")
            .expect("the refund is on the invoice");
        assert_eq!(refund["amount"], -10000, "booked negative");
        assert_eq!(refund["status"], "succeeded");
        b.close().await;
    }
}

#[tokio::test]
async fn cancel_on_the_terminal_fails_and_abort_cancels() {
    if !console::available() {
        return;
    }
    for lang in LANGS {
        let api = clinic().await;
        let invoice = &api.demo.dk_invoice;
        let t1 = &api.demo.nets_terminals[0];
        let b = signed_in(&api, api.staff(), lang, "nets-cancel-abort").await;

        api.demo.nets.script(
            &t1.provider_terminal_id,
            NetsBehaviour::Cancel,
            Duration::from_millis(1000),
        );
        start_card_payment(&b, &invoice.id, &t1.id, None).await;
        let text = result(&b, "failed").await;
        assert!(
            text.contains(b.pick(
                "declined, or cancelled on the terminal",
                "afvist eller annulleret på terminalen"
            )),
            "{text}"
        );
        b.shot("failed").await;
        b.axe("failed payment").await;

        // The card holder hesitates; the clinic aborts before the PIN.
        api.demo.nets.script(
            &t1.provider_terminal_id,
            NetsBehaviour::Never,
            Duration::ZERO,
        );
        start_card_payment(&b, &invoice.id, &t1.id, None).await;
        wait_stage(&b, "waiting-for-card").await;
        // Reloading the page re-opens the running dialog.
        b.go(&format!("/invoices/{}", invoice.id)).await;
        b.el("#terminal-dialog[open]").await;
        wait_stage(&b, "waiting-for-card").await;
        assert!(b.el("#abort").await.is_enabled().await.unwrap());
        // Focus stays in the dialog.
        let focused = b
            .client
            .execute("return document.getElementById('terminal-dialog').contains(document.activeElement)", vec![])
            .await
            .unwrap();
        assert_eq!(focused, json!(true));
        b.shot("before-abort").await;
        b.click("#abort").await;
        let text = result(&b, "cancelled").await;
        assert!(
            text.contains(b.pick("aborted by the clinic", "afbrudt af klinikken")),
            "{text}"
        );
        b.shot("cancelled").await;
        let statuses: Vec<Value> = api
            .read(&format!("/v1/invoices/{}/payments", invoice.id))
            .await
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["status"].clone())
            .collect();
        assert!(
            statuses.contains(&json!("failed")) && statuses.contains(&json!("cancelled")),
            "{statuses:?}"
        );
        b.close().await;
    }
}

/// A second finalised US invoice for the client, through the API.
async fn us_invoice(api: &ClinicApi) -> String {
    let r = api
        .post(
            api.staff(),
            "/v1/invoices",
            json!({
                "department_id": api.demo.us.id,
                "client_id": api.demo.us_client.id,
                "kind": "consultation",
                "lines": [{"description": "Dental check", "quantity": 1, "unit_price": 4000, "vat_rate": 0}],
            }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let draft: Value = r.json().await.unwrap();
    let id = draft["id"].as_str().unwrap().to_owned();
    let r = api
        .post(
            api.staff(),
            &format!("/v1/invoices/{id}/finalise"),
            json!({}),
        )
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    id
}

#[tokio::test]
async fn gravity_sale_deposit_and_saved_card_and_cards_only_where_allowed() {
    if !console::available() {
        return;
    }
    for lang in LANGS {
        let api = clinic().await;
        let device = vetpay::demo::GRAVITY_DEVICE;
        let terminal = &api.demo.gravity_terminal;
        let client = &api.demo.us_client;
        let b = signed_in(&api, api.staff(), lang, "gravity").await;

        // A sale on the Gravity terminal.
        api.demo.gravity.script(
            device,
            GravityBehaviour::Approve,
            Duration::from_millis(1000),
        );
        let prefilled = start_card_payment(&b, &api.demo.us_invoice.id, &terminal.id, None).await;
        assert_eq!(prefilled, b.pick("89.50", "89,50"));
        b.shot("gravity-dialog").await;
        result(&b, "succeeded").await;
        assert_eq!(b.text("#invoice-status").await, b.pick("Paid", "Betalt"));
        b.shot("gravity-paid").await;

        // A deposit from the client's Billing tab: the same dialog.
        b.go(&format!("/clients/{}", client.id)).await;
        assert!(b.text("#patients").await.contains("Rocky"));
        b.axe("client details").await;
        b.click("#tab-billing").await;
        b.el("#deposit-form").await;
        b.axe("client billing").await;
        b.fill("#amount", b.pick("20.00", "20,00")).await;
        b.el("#terminal")
            .await
            .select_by_value(&terminal.id)
            .await
            .unwrap();
        api.demo.gravity.script(
            device,
            GravityBehaviour::Approve,
            Duration::from_millis(800),
        );
        b.click("#process").await;
        b.el("#terminal-dialog[open]").await;
        let text = result(&b, "succeeded").await;
        assert!(
            text.contains(b.pick(
                "The deposit went through.",
                "Forudbetalingen er gennemført."
            )),
            "{text}"
        );
        assert!(
            b.text("#credit")
                .await
                .contains(b.pick("$20.00", "20,00 US$"))
        );
        b.shot("deposit").await;

        // A saved card (saved through the API at the terminal) charged for a new invoice.
        api.demo
            .gravity
            .script(device, GravityBehaviour::Approve, Duration::ZERO);
        let r = api
            .post(
                api.staff(),
                &format!("/v1/clients/{}/cards", client.id),
                json!({"terminal_id": terminal.id}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let card: Value = r.json().await.unwrap();
        let invoice = us_invoice(&api).await;
        b.go(&format!("/invoices/{invoice}/pay")).await;
        b.click("input[name=method][value=saved_card]").await;
        assert_eq!(
            b.text("#process").await,
            b.pick("Register payment", "Registrér betaling")
        );
        b.axe("saved card payment").await;
        b.click("#process").await;
        result(&b, "succeeded").await;
        let payments = api.read(&format!("/v1/invoices/{invoice}/payments")).await;
        assert_eq!(payments[0]["method"], "saved_card");
        assert_eq!(payments[0]["card_id"], card["id"]);
        assert_eq!(payments[0]["status"], "succeeded");
        b.shot("saved-card-charged").await;

        // Cards show where the department allows recurring charges (US), not in Denmark.
        b.go(&format!(
            "/clients/{}?tab=billing&department={}",
            client.id, api.demo.us.id
        ))
        .await;
        assert_eq!(
            b.client
                .find_all(fantoccini::Locator::Css("#cards .saved-card"))
                .await
                .unwrap()
                .len(),
            1
        );
        assert!(
            b.text("#cards")
                .await
                .contains(card["masked_pan"].as_str().unwrap())
        );
        b.go(&format!(
            "/clients/{}?tab=billing&department={}",
            client.id, api.demo.dk.id
        ))
        .await;
        assert!(b.exists("#cards-not-allowed").await);
        assert!(!b.exists("#cards").await);
        b.shot("cards-not-allowed").await;
        b.axe("billing without cards").await;
        b.close().await;
    }
}

#[tokio::test]
async fn admin_pages_refuse_gravity_for_denmark_and_end_of_day_unlocks_a_terminal() {
    if !console::available() {
        return;
    }
    for lang in LANGS {
        let api = clinic().await;
        let b = signed_in(&api, api.admin(), lang, "admin").await;
        b.click("a[href='/admin/plugins']").await;
        b.axe("plugins").await;
        let plugins = api.read("/v1/plugins").await;
        let gravity = plugins
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["manifest"]["name"].as_str().unwrap().contains("Gravity"))
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        // What the API says, word for word.
        let r = api
            .http
            .put(format!("{}/v1/plugins/{gravity}/markets/DK", api.url))
            .bearer_auth(api.admin())
            .send()
            .await
            .unwrap();
        let (_, _, refusal) = support::api_error(r).await;
        b.fill(&format!("#country-{gravity}"), "DK").await;
        b.click(&format!("#plugin-{gravity} ~ form button[value=enable]"))
            .await;
        let flash = b.text("#flash.error").await;
        assert_eq!(flash, refusal);
        b.shot("gravity-denmark-refused").await;
        b.axe("plugins with a refusal").await;

        // Settings from the manifest: secrets only as set / not set.
        b.go(&format!("/admin/plugins/{gravity}")).await;
        assert!(
            b.text("#state-auth-token")
                .await
                .contains(b.pick("Set", "Sat"))
        );
        let source = b.client.source().await.unwrap();
        assert!(
            !source.contains(vetpay::demo::GRAVITY_TOKEN),
            "a secret is never shown"
        );
        b.axe("plugin settings").await;
        b.shot("plugin-settings").await;

        // A new Nets terminal takes no payment before its End of Day.
        api.demo
            .nets
            .add_terminal(vetpay::demo::NETS_USER, "NETS-DK-3", "Lane3000", false);
        b.go("/admin/terminals").await;
        b.axe("terminals").await;
        let dk = &api.demo.dk.id;
        b.click(&format!("#dept-{dk} ~ details summary")).await;
        b.el(&format!("#plugin-{dk}"))
            .await
            .select_by_value("nets-connect-cloud")
            .await
            .unwrap();
        b.fill(&format!("#tid-{dk}"), "NETS-DK-3").await;
        b.fill(&format!("#tname-{dk}"), "Skranke 3").await;
        b.fill(&format!("#ttype-{dk}"), "Connect@Cloud").await;
        b.click(&format!("#dept-{dk} ~ details .add-terminal"))
            .await;
        b.el("#flash.ok").await;
        b.el("tr.terminal[data-terminal='NETS-DK-3']").await;

        let terminals = api.read(&format!("/v1/departments/{dk}/terminals")).await;
        let t3 = terminals
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == "Skranke 3")
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let invoice = &api.demo.dk_invoice.id;
        start_card_payment(&b, invoice, &t3, Some(b.pick("1.00", "1,00"))).await;
        let text = result(&b, "failed").await;
        assert!(text.contains("End of Day"), "the provider's words: {text}");
        b.shot("locked-terminal").await;

        b.go("/admin/terminals").await;
        b.click("tr.terminal[data-terminal='NETS-DK-3'] .end-of-day")
            .await;
        assert!(!b.text("#report").await.is_empty());
        b.axe("end of day report").await;
        b.shot("end-of-day").await;
        start_card_payment(&b, invoice, &t3, Some(b.pick("1.00", "1,00"))).await;
        result(&b, "succeeded").await;

        for (path, what) in [
            ("/admin/settings", "settings"),
            ("/admin/health-plans", "health plans"),
            ("/admin/billing-runs", "billing runs"),
            ("/admin/keys", "api keys"),
            ("/admin/audit", "audit trail"),
        ] {
            b.go(path).await;
            b.el("main h1").await;
            if b.exists("#error-message").await {
                panic!("{path}: {}", b.text("#error-message").await);
            }
            b.axe(what).await;
        }
        b.shot("audit").await;

        // A new key, its secret shown once; revoked, it stops working at once.
        b.go("/admin/keys").await;
        b.fill("#key-name", "Reception 2").await;
        b.click("#create-key").await;
        let secret = b.text("#created-secret").await;
        b.axe("new api key").await;
        let works = |key: String| {
            let api = &api;
            async move { api.get(&key, "/v1/invoices").send().await.unwrap().status() }
        };
        assert_eq!(works(secret.clone()).await, 200);
        b.go("/admin/keys").await;
        assert!(
            !b.client.source().await.unwrap().contains(&secret),
            "shown once only"
        );
        b.click("tr.api-key[data-name='Reception 2'] .revoke").await;
        b.el("#flash.ok").await;
        assert_eq!(works(secret).await, 401);
        b.close().await;
    }
}

#[tokio::test]
async fn staff_see_no_admin_page() {
    if !console::available() {
        return;
    }
    for lang in LANGS {
        let api = clinic().await;
        let b = signed_in(&api, api.staff(), lang, "staff").await;
        assert!(
            !b.exists("a[href='/admin/plugins']").await,
            "no admin menu for staff"
        );
        for path in [
            "/admin/plugins",
            "/admin/terminals",
            "/admin/keys",
            "/admin/audit",
        ] {
            b.go(path).await;
            assert_eq!(
                b.text("#error-message").await,
                b.pick(
                    "This page is for admins. Sign in with an admin key to see it.",
                    "Siden er for administratorer. Log ind med en administratornøgle for at se den."
                ),
                "{path}"
            );
        }
        b.axe("refused").await;
        b.shot("staff-refused").await;

        // The language switch: the other language, on the same page, remembered.
        let other = if lang == "en" { "da" } else { "en" };
        b.go("/invoices").await;
        b.click(&format!("a[hreflang={other}]")).await;
        b.until(
            "the page is in the other language",
            &format!("return document.documentElement.lang === '{other}'"),
        )
        .await;
        assert_eq!(b.path().await, "/invoices");
        assert_eq!(
            b.text("a[href='/invoices']").await,
            if other == "da" {
                "Fakturaer"
            } else {
                "Invoices"
            }
        );
        b.go("/clients").await;
        let html_lang = b
            .client
            .execute("return document.documentElement.lang", vec![])
            .await
            .unwrap();
        assert_eq!(html_lang, json!(other), "the choice is remembered");
        b.close().await;
    }
}

/// The value of `name` in a response's Set-Cookie headers, and the whole header.
fn set_cookie(r: &reqwest::Response, name: &str) -> (String, String) {
    let header = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|v| v.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} cookie"));
    let value = header
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_owned();
    (value, header)
}

fn csrf_field(html: &str) -> String {
    let at = html.find("name=\"_csrf\" value=\"").expect("a CSRF field") + 20;
    html[at..].split('"').next().unwrap().to_owned()
}

#[tokio::test]
async fn sessions_are_http_only_and_strict_and_every_form_needs_its_token() {
    let api = clinic().await;
    let base = &api.url;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = http.get(format!("{base}/invoices")).send().await.unwrap();
    assert_eq!(r.status(), 303, "signed out → sign in");
    assert_eq!(r.headers()["location"], "/sign-in");

    let r = http.get(format!("{base}/sign-in")).send().await.unwrap();
    let (pre, _) = set_cookie(&r, "vetpay_csrf");
    let token = csrf_field(&r.text().await.unwrap());
    assert_eq!(token, pre);
    let jar = format!("vetpay_csrf={pre}");
    let sign_in = |form: Vec<(&'static str, String)>| {
        http.post(format!("{base}/sign-in"))
            .header("cookie", jar.clone())
            .form(&form)
            .send()
    };
    let r = sign_in(vec![("key", api.staff().to_owned())])
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "sign-in without the token");
    let r = sign_in(vec![("key", "wrong".into()), ("_csrf", token.clone())])
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = sign_in(vec![
        ("key", api.staff().to_owned()),
        ("_csrf", token.clone()),
    ])
    .await
    .unwrap();
    assert_eq!(r.status(), 303);
    let (session, header) = set_cookie(&r, "vetpay_session");
    assert!(
        header.contains("HttpOnly") && header.contains("SameSite=Strict"),
        "{header}"
    );
    assert!(!header.contains(api.staff()), "the key stays on the server");
    let cookie = format!("vetpay_session={session}");

    let page = http
        .get(format!("{base}/invoices/{}", api.demo.dk_invoice.id))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let session_token = csrf_field(&page.text().await.unwrap());
    let credit_note = format!("{base}/invoices/{}/credit-note", api.demo.dk_invoice.id);
    for form in [vec![], vec![("_csrf", token.clone())]] {
        let r = http
            .post(&credit_note)
            .header("cookie", &cookie)
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "a form without this session's token");
    }
    let r = http
        .post(format!("{base}/payments/nope/abort"))
        .header("cookie", &cookie)
        .header("x-csrf-token", "forged")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = http
        .post(&credit_note)
        .header("cookie", &cookie)
        .form(&[("_csrf", session_token)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "with the token the form goes through");

    // The API beside the console is unchanged: bearer keys, JSON errors.
    let r = http
        .get(format!("{base}/v1/invoices"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "a console cookie is no API key");
}

#[tokio::test]
async fn a_health_plan_sign_up_gives_the_tag_and_heart_and_shows_the_items() {
    if !console::available() {
        return;
    }
    for lang in LANGS {
        let api = clinic().await;
        let r = api
            .put(
                api.admin(),
                "/v1/settings",
                json!({"health-plans-enabled": true, "health-plan-term": "Pet Club"}),
            )
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
        let r = api
            .post(
                api.admin(),
                "/v1/health-plans",
                json!({
                    "name": "Puppy Care", "main_department_id": api.demo.us.id,
                    "contract_months": 12, "monthly_price": 2500,
                    "items": [{"code": "VAX", "description": "Vaccination", "quantity": 2,
                               "discount_percent": 100, "unit_price": 2450}],
                }),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
        let client = &api.demo.us_client;
        let b = signed_in(&api, api.staff(), lang, "health-plan").await;
        b.go(&format!("/clients/{}", client.id)).await;
        assert!(!b.exists(".plan-tag").await, "no member yet");
        b.axe("client with plans").await;
        let options = b
            .client
            .find_all(fantoccini::Locator::Css(
                "#sign-up-form input[name=payment_option]",
            ))
            .await
            .unwrap();
        assert_eq!(options.len(), 5, "the five payment options");
        b.click("#sign-up").await;
        b.el("#flash.ok").await;
        b.click(".subscription .activate").await;
        let tag = b.text(".plan-tag").await;
        assert!(tag.contains("Pet Club") && tag.contains('♥'), "{tag}");
        assert_eq!(b.text(".subscription .remaining").await, "2");
        assert!(
            b.text(".subscription h3")
                .await
                .contains(b.pick("Active", "Aktiv"))
        );
        b.shot("member").await;
        b.axe("member").await;
        b.close().await;
    }
}

#[tokio::test]
async fn terminals_are_listed_from_the_provider_and_added_from_the_list() {
    if !console::available() {
        return;
    }
    for lang in LANGS {
        let api = clinic().await;
        let nets = &api.demo.nets;
        nets.add_terminal(vetpay::demo::NETS_USER, "NETS-DK-4", "Lane3000", true);
        nets.add_terminal(vetpay::demo::NETS_USER, "NETS-DK-5", "iWL250 3G", true);
        let dk = &api.demo.dk.id;
        let b = signed_in(&api, api.admin(), lang, "provider-terminals").await;
        b.go("/admin/terminals").await;
        let list = format!("#provider-{dk}-nets-connect-cloud");
        let registered = &api.demo.nets_terminals[0].provider_terminal_id;
        assert_eq!(
            b.text(&format!(
                "{list} tr[data-terminal='{registered}'] .registered"
            ))
            .await,
            b.pick("Registered", "Registreret")
        );
        // The unsupported model: said so, with the plugin's advice, and no way to add it.
        let unsupported = format!("{list} tr[data-terminal='NETS-DK-5']");
        assert!(b.text(&unsupported).await.contains("iWL250 3G"));
        let said = b.text(&format!("{unsupported} .supported")).await;
        assert!(said.starts_with(b.pick("No", "Nej")), "{said}");
        assert!(said.contains("Bluetooth"), "the plugin's note: {said}");
        assert!(!b.exists(&format!("{unsupported} form")).await);
        let row = format!("{list} tr[data-terminal='NETS-DK-4']");
        assert!(b.text(&row).await.contains("Lane3000"));
        assert_eq!(
            b.text(&format!("{row} .supported")).await,
            b.pick("Yes", "Ja")
        );
        b.axe("provider terminals").await;
        b.shot("provider-terminals").await;

        // A wrong type: refused as the API words it, nothing registered.
        let refusal = {
            let r = api
                .post(
                    api.admin(),
                    &format!("/v1/departments/{dk}/terminals"),
                    json!({"plugin_id": "nets-connect-cloud", "terminal_id": "NETS-DK-4",
                           "name": "Skranke 4", "type": "Bluetooth", "model": "Lane3000"}),
                )
                .send()
                .await
                .unwrap();
            support::api_error(r).await.2
        };
        b.fill(&format!("{row} input[name=name]"), "Skranke 4")
            .await;
        b.fill(&format!("{row} input[name=type]"), "Bluetooth")
            .await;
        b.click(&format!("{row} .add-terminal")).await;
        assert_eq!(b.text("#flash.error").await, refusal);
        assert!(!b.exists("tr.terminal[data-terminal='NETS-DK-4']").await);
        b.shot("provider-terminal-refused").await;
        b.axe("provider terminal refused").await;

        b.fill(&format!("{row} input[name=name]"), "Skranke 4")
            .await;
        b.fill(&format!("{row} input[name=type]"), "Connect@Cloud")
            .await;
        b.click(&format!("{row} .add-terminal")).await;
        b.el("#flash.ok").await;
        b.el("tr.terminal[data-terminal='NETS-DK-4']").await;
        b.el(&format!("{row} .registered")).await;
        b.shot("provider-terminal-added").await;
        let terminals = api.read(&format!("/v1/departments/{dk}/terminals")).await;
        let added = terminals
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == "Skranke 4")
            .expect("registered through the API");
        assert_eq!(added["model"], "Lane3000", "{added}");
        b.close().await;
    }
}

/// The id of the installed plugin whose name has `name` in it.
async fn plugin_id(api: &ClinicApi, name: &str) -> String {
    api.read("/v1/plugins")
        .await
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["manifest"]["name"].as_str().unwrap().contains(name))
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn plugin_settings_are_edited_per_organisation_and_department() {
    if !console::available() {
        return;
    }
    for lang in LANGS {
        let api = clinic().await;
        let gravity = plugin_id(&api, "Gravity").await;
        let (us, dk) = (&api.demo.us.id, &api.demo.dk.id);
        let b = signed_in(&api, api.admin(), lang, "plugin-settings-levels").await;
        b.go(&format!("/admin/plugins/{gravity}")).await;
        // The manifest's labels in the reader's language, at both levels.
        let oid = b.pick(
            "Gravity OID (merchant organisation id)",
            "Gravity OID (forhandlerorganisationens id)",
        );
        assert!(b.text("label[for='setting-oid']").await.starts_with(oid));
        assert!(
            b.text(&format!("label[for='setting-{us}-oid']"))
                .await
                .starts_with(oid)
        );
        // Organisation-only settings are not offered for a department.
        assert!(b.exists("#setting-base-url").await);
        assert!(!b.exists(&format!("#setting-{us}-base-url")).await);
        let state = format!("#state-{us}-auth-token");
        assert_eq!(
            b.text(&state).await,
            b.pick("Not set", "Ikke sat"),
            "the US department has no token of its own yet"
        );
        b.axe("plugin settings by level").await;

        let secret = "dept-token-7f3a9c";
        b.fill(&format!("#setting-{us}-auth-token"), secret).await;
        b.click(&format!("#settings-{us} button[type=submit]"))
            .await;
        b.el("#flash.ok").await;
        assert_eq!(b.text(&state).await, b.pick("Set (hidden)", "Sat (skjult)"));
        assert_eq!(b.value(&format!("#setting-{us}-auth-token")).await, "");
        let source = b.client.source().await.unwrap();
        assert!(!source.contains(secret), "a secret is never shown");
        // Only the US department got it: Denmark and the organisation are as they were.
        assert_eq!(
            b.text(&format!("#state-{dk}-auth-token")).await,
            b.pick("Not set", "Ikke sat")
        );
        let stored = api
            .get(
                api.admin(),
                &format!("/v1/departments/{us}/plugins/{gravity}/settings"),
            )
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap();
        let token = stored
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["key"] == "auth-token")
            .unwrap();
        assert_eq!(token["is_set"], true, "{token}");
        assert_eq!(token["value"], Value::Null);
        b.shot("plugin-settings-department").await;
        b.axe("plugin settings saved").await;
        b.close().await;
    }
}

async fn health_plans_on(api: &ClinicApi) {
    let r = api
        .put(
            api.admin(),
            "/v1/settings",
            json!({"health-plans-enabled": true}),
        )
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
}

#[tokio::test]
async fn the_health_plan_catalog_shows_the_apis_refusal_and_keeps_the_form() {
    if !console::available() {
        return;
    }
    for lang in LANGS {
        let api = clinic().await;
        health_plans_on(&api).await;
        let us = &api.demo.us.id;
        // What the API says of a discount over 100 %, word for word.
        let refusal = {
            let r = api
                .post(
                    api.admin(),
                    "/v1/health-plans",
                    json!({"name": "Kitten Care", "main_department_id": us, "contract_months": 12,
                           "monthly_price": 2500, "renews": false,
                           "items": [{"code": "VAX", "description": "Vaccination", "quantity": "2",
                                      "discount_percent": "150", "unit_price": 2450}]}),
                )
                .send()
                .await
                .unwrap();
            support::api_error(r).await.2
        };
        let b = signed_in(&api, api.admin(), lang, "health-plan-catalog").await;
        b.go("/admin/health-plans").await;
        b.axe("health-plan catalog").await;
        b.fill("#plan-name", "Kitten Care").await;
        b.el("#plan-department")
            .await
            .select_by_value(us)
            .await
            .unwrap();
        b.fill("#plan-months", "12").await;
        b.fill("#plan-monthly", b.pick("25.00", "25,00")).await;
        b.fill("#item-0-code", "VAX").await;
        b.fill("#item-0-description", "Vaccination").await;
        b.fill("#item-0-quantity", "2").await;
        b.fill("#item-0-discount", "150").await;
        b.fill("#item-0-price", b.pick("24.50", "24,50")).await;
        b.click("#create-plan").await;
        assert_eq!(b.text("#plan-error").await, refusal);
        // Nothing typed is lost.
        assert_eq!(b.value("#plan-name").await, "Kitten Care");
        assert_eq!(b.value("#item-0-code").await, "VAX");
        assert_eq!(b.value("#item-0-price").await, b.pick("24.50", "24,50"));
        b.shot("plan-refused").await;
        b.axe("plan refused").await;

        // A price that is no amount: the console says so in the reader's language.
        b.fill("#item-0-discount", "100").await;
        b.fill("#plan-monthly", "lots").await;
        b.click("#create-plan").await;
        let monthly = b.pick("Monthly price:", "Månedspris:");
        b.text_until("#plan-error", monthly, |t| t.starts_with(monthly))
            .await;

        b.fill("#plan-monthly", b.pick("25.00", "25,00")).await;
        b.click("#create-plan").await;
        b.el("#flash.ok").await;
        let row = b.text("tr.plan[data-name='Kitten Care']").await;
        assert!(row.contains(b.pick("$25.00", "25,00 US$")), "{row}");
        assert!(row.contains("Vaccination"), "{row}");
        b.shot("plan-created").await;
        let plans = api.read("/v1/health-plans").await;
        let plan = plans
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "Kitten Care")
            .expect("made through the API");
        assert_eq!(plan["monthly_price"], 2500);
        assert_eq!(plan["items"][0]["unit_price"], 2450);
        assert_eq!(
            plan["items"].as_array().unwrap().len(),
            1,
            "empty rows left out"
        );
        b.close().await;
    }
}

#[tokio::test]
async fn a_billing_run_shows_its_progress_live() {
    if !console::available() {
        return;
    }
    for lang in LANGS {
        let api = clinic().await;
        health_plans_on(&api).await;
        let us = &api.demo.us.id;
        let r = api
            .post(
                api.admin(),
                "/v1/health-plans",
                json!({"name": "Adult dog", "main_department_id": us, "contract_months": 12,
                       "monthly_price": 2500, "items": []}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let plan: Value = r.json().await.unwrap();
        let client = &api.demo.us_client.id;
        let patient: Value = api
            .post(
                api.staff(),
                &format!("/v1/clients/{client}/patients"),
                json!({"name": "Rex", "species": "dog", "birth_date": "2022-01-15"}),
            )
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        api.demo.gravity.add_saved_cards("tok-live-", 1);
        let card = api
            .clinic
            .store()
            .add_card(
                &api.demo.organisation_id,
                client,
                vetpay::store::NewCard {
                    department_id: us.clone(),
                    plugin_id: "gravity".into(),
                    token: "tok-live-0".into(),
                    masked_pan: "************1111".into(),
                    brand: Some("VS".into()),
                    expiry: None,
                },
            )
            .await
            .unwrap();
        let r = api
            .post(
                api.staff(),
                "/v1/subscriptions",
                json!({"plan_id": plan["id"], "client_id": client, "patient_id": patient["id"],
                       "payment_option": "saved_card", "card_id": card.id, "start_period": "2026-01"}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
        let sub: Value = r.json().await.unwrap();
        let r = api
            .post(
                api.staff(),
                &format!("/v1/subscriptions/{}/activate", sub["id"].as_str().unwrap()),
                json!({}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        // The provider is slow, so the run is seen running.
        api.demo.gravity.set_latency(Duration::from_millis(2500));

        let b = signed_in(&api, api.admin(), lang, "billing-run").await;
        b.go("/admin/billing-runs").await;
        b.axe("billing runs").await;
        b.fill("#period", "2026-01").await;
        b.click("#start-run").await;
        let progress = b.el("#run-progress").await;
        assert_eq!(
            progress.attr("data-status").await.unwrap().as_deref(),
            Some("running")
        );
        assert_eq!(b.text("#run-status").await, b.pick("Running", "Kører"));
        b.axe("running billing run").await;
        b.shot("billing-run-running").await;
        // A mark on this page: a reload would wipe it.
        b.client
            .execute("window.notReloaded = true", vec![])
            .await
            .unwrap();
        b.until(
            "the run is done",
            "return document.querySelector('#run-progress')?.dataset.status === 'done'",
        )
        .await;
        let kept = b
            .client
            .execute("return window.notReloaded === true", vec![])
            .await
            .unwrap();
        assert_eq!(kept, json!(true), "updated without a reload");
        assert_eq!(b.text("#run-status").await, b.pick("Done", "Færdig"));
        assert_eq!(
            b.text("#run-counts").await,
            b.pick("1 of 1 months billed", "1 af 1 måneder opkrævet")
        );
        assert_eq!(b.text("#run-charged").await, "1");
        b.shot("billing-run-done").await;
        b.axe("finished billing run").await;
        b.close().await;
    }
}

/// Signs in over plain HTTP; the session cookie to send.
async fn sign_in_http(http: &reqwest::Client, base: &str, key: &str) -> String {
    let r = http.get(format!("{base}/sign-in")).send().await.unwrap();
    let (pre, _) = set_cookie(&r, "vetpay_csrf");
    let token = csrf_field(&r.text().await.unwrap());
    let r = http
        .post(format!("{base}/sign-in"))
        .header("cookie", format!("vetpay_csrf={pre}"))
        .form(&[("key", key), ("_csrf", &token)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "signed in");
    format!("vetpay_session={}", set_cookie(&r, "vetpay_session").0)
}

#[tokio::test]
async fn a_session_is_kept_in_the_database_for_every_host_and_ends_with_its_key() {
    for store in support::stores().await {
        let backend = store.backend();
        let api = support::clinic_api(store.clone()).await;
        // Another host of the same database: its console has never seen the
        // session (as after a restart, or behind a load balancer).
        let other = support::second_host(store.clone()).await;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let cookie = sign_in_http(&http, &api.url, api.staff()).await;
        let invoice = format!("/invoices/{}", api.demo.dk_invoice.id);
        let page = http
            .get(format!("{other}{invoice}"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(
            page.status(),
            200,
            "{backend:?}: the other host knows the session"
        );
        let token = csrf_field(&page.text().await.unwrap());
        // Its form token too: a form posted on the first host with the token
        // the other host gave goes through, and its message follows.
        let r = http
            .post(format!("{}{invoice}/credit-note", api.url))
            .header("cookie", &cookie)
            .form(&[("_csrf", &token)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303, "{backend:?}");
        let to = r.headers()["location"].to_str().unwrap().to_owned();
        let shown = http
            .get(format!("{other}{to}"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            shown.contains("id=\"flash\""),
            "{backend:?}: the message is shown on the other host"
        );
        let again = http
            .get(format!("{other}{to}"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            !again.contains("id=\"flash\""),
            "{backend:?}: and only once"
        );

        // Revoking the key ends its session on every host at once.
        let keys: Value = api
            .get(api.admin(), "/v1/api-keys")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let staff_id = keys
            .as_array()
            .or_else(|| keys["keys"].as_array())
            .unwrap()
            .iter()
            .find(|k| k["name"] == "front desk")
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let r = api
            .http
            .delete(format!("{}/v1/api-keys/{staff_id}", api.url))
            .bearer_auth(api.admin())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
        for host in [&api.url, &other] {
            let r = http
                .get(format!("{host}/invoices"))
                .header("cookie", &cookie)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 303, "{backend:?}: signed out on {host}");
            assert_eq!(r.headers()["location"], "/sign-in");
        }
    }
}

#[tokio::test]
async fn admins_keep_the_catalog_and_the_counter_closes_the_day() {
    if !console::available() {
        return;
    }
    for lang in LANGS {
        let api = clinic().await;
        let dk = api.demo.dk.id.clone();

        // The catalog: an item added with its Danish price, archived, restored.
        let b = signed_in(&api, api.admin(), lang, "catalog").await;
        b.go("/admin/catalog").await;
        b.fill("#item-code", "VAC-RAB").await;
        b.fill("#item-name-en", "Rabies vaccine").await;
        b.fill("#item-name-da", "Rabiesvaccine").await;
        b.fill("#item-vat", "25").await;
        b.click("#item-currency option[value='DKK']").await;
        b.fill("#item-price", b.pick("380.00", "380,00")).await;
        b.click("#add-item").await;
        b.text_until("#flash", "the item added", |t| !t.is_empty())
            .await;
        let row = "tr.item[data-code='VAC-RAB']";
        let name = b.text(&format!("{row} td:nth-child(2)")).await;
        assert_eq!(name, b.pick("Rabies vaccine", "Rabiesvaccine"));
        let items: Value = api
            .get(api.staff(), "/v1/catalog/items?q=VAC-RAB")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            items[0]["prices"][0]["unit_price"], 38000,
            "{lang}: the price typed as the reader writes it"
        );
        b.click(&format!("{row} button.archive")).await;
        b.text_until(&format!("{row} td:nth-child(2)"), "archived", |t| {
            t.contains(b.pick("archived", "arkiveret"))
        })
        .await;
        b.axe("catalog").await;
        b.shot("catalog").await;
        b.close().await;

        // The counter: a cash payment, then the day closed from the console.
        let invoice = api.invoice(&dk, &api.demo.dk_client.id, 12345).await;
        let paid = api
            .pay(
                invoice["id"].as_str().unwrap(),
                json!({"method": "cash", "amount": 12345}),
            )
            .await;
        assert_eq!(
            api.settled(paid["id"].as_str().unwrap()).await["status"],
            "succeeded"
        );
        let b = signed_in(&api, api.staff(), lang, "day-close").await;
        b.go("/day-close").await;
        b.click(&format!("#close-department option[value='{dk}']"))
            .await;
        b.click("#close-day").await;
        let state = b
            .text_until("#close-state", "the close's state", |t| !t.is_empty())
            .await;
        assert!(
            state.starts_with(b.pick("Balanced", "Afstemt")),
            "{lang}: {state}"
        );
        let net = b.text("#close-net-DKK").await;
        assert!(net.contains(b.pick("123.45", "123,45")), "{lang}: {net}");
        assert!(
            b.exists("tr.taking[data-group='payments'][data-method='cash']")
                .await
        );
        b.axe("day-close").await;
        b.shot("day-close").await;
        b.close().await;
    }
}

#[tokio::test]
async fn cookies_are_secure_when_the_console_is_reached_over_https() {
    let api = clinic().await;
    let http = reqwest::Client::new();
    let plain = http
        .get(format!("{}/sign-in", api.url))
        .send()
        .await
        .unwrap();
    let (_, header) = set_cookie(&plain, "vetpay_csrf");
    assert!(!header.contains("Secure"), "{header}");
    // Behind a TLS-terminating proxy.
    let proxied = http
        .get(format!("{}/sign-in", api.url))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    let (_, header) = set_cookie(&proxied, "vetpay_csrf");
    assert!(
        header.contains("Secure") && header.contains("HttpOnly"),
        "{header}"
    );
}
