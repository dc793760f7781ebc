//! `vetpay demo`: both provider simulators on loopback, the bundled plugins
//! installed, and an organisation with a US clinic on Gravity and a Danish
//! clinic on Nets, each with a terminal, a client and an invoice to pay. The
//! end-to-end suites start from the same seed.

use std::fmt::Write;

use serde_json::{Map, Value, json};
use vetpay_simulators::gravity::GravitySim;
use vetpay_simulators::nets::NetsSim;

use crate::plugin::inspect;
use crate::service::Clinic;
use crate::store::{
    Client, Department, Invoice, InvoiceKind, NewClient, NewDepartment, NewInvoice, NewLine,
    NewPatient, NewTerminal, Role, Terminal,
};

pub const GRAVITY_OID: &str = "demo-oid-4471";
pub const GRAVITY_TOKEN: &str = "demo-auth-token-9c2e51";
pub const NETS_USER: &str = "demo-clinics";
pub const NETS_PASSWORD: &str = "demo-password-31f7";
pub const GRAVITY_DEVICE: &str = "GRAVITY-COUNTER-1";
pub const NETS_TERMINALS: [&str; 2] = ["NETS-DK-1", "NETS-DK-2"];

/// The terminal type the Nets plugin's manifest takes (its `terminal-types`).
pub const NETS_TERMINAL_TYPE: &str = "Connect@Cloud";

/// What the demo seeded.
pub struct Demo {
    pub gravity: GravitySim,
    pub nets: NetsSim,
    pub organisation_id: String,
    pub admin_key: String,
    pub staff_key: String,
    pub us: Department,
    pub dk: Department,
    pub gravity_terminal: Terminal,
    pub nets_terminals: Vec<Terminal>,
    pub us_client: Client,
    pub dk_client: Client,
    pub us_invoice: Invoice,
    pub dk_invoice: Invoice,
}

/// How the demo seeds.
#[derive(Debug, Clone, Default)]
pub struct DemoOptions {
    /// Use this admin key instead of a generated one.
    pub admin_key: Option<String>,
}

fn fail(what: &str) -> impl Fn(crate::store::StoreError) -> String + '_ {
    move |e| format!("{what}: {e}")
}

fn settings(pairs: &[(&str, &str)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), Value::String((*v).to_owned())))
        .collect()
}

/// Installs a bundled plugin from its built component.
async fn install(
    clinic: &Clinic,
    organisation_id: &str,
    name: &str,
    bytes: &[u8],
) -> Result<String, String> {
    let info = inspect(bytes).map_err(|e| format!("{name}: {e}"))?;
    let plugin = clinic
        .runtime()
        .load(bytes.to_vec())
        .await
        .map_err(|e| format!("loading {name}: {e}"))?;
    clinic.plugins().insert(std::sync::Arc::new(plugin));
    clinic
        .store()
        .install_plugin(organisation_id, &info, bytes)
        .await
        .map_err(fail("installing"))?;
    Ok(info.manifest.id)
}

/// Starts the simulators and seeds the demo organisation into `clinic`'s store.
pub async fn seed(clinic: &Clinic, options: DemoOptions) -> Result<Demo, String> {
    let store = clinic.store();
    let gravity = GravitySim::start(GRAVITY_OID, GRAVITY_TOKEN).await;
    let nets = NetsSim::start().await;
    nets.add_account(NETS_USER, NETS_PASSWORD);
    for (i, t) in NETS_TERMINALS.iter().enumerate() {
        nets.add_terminal(
            NETS_USER,
            t,
            if i == 0 { "Lane3000" } else { "Move3500" },
            false,
        );
    }

    let (org, generated) = store
        .create_organisation("Demo Animal Clinics")
        .await
        .map_err(fail("creating the organisation"))?;
    let admin_key = match &options.admin_key {
        Some(key) => {
            store
                .create_api_key_with(&org.id, Role::Admin, "demo admin", key)
                .await
                .map_err(fail("--admin-key"))?;
            key.clone()
        }
        None => generated.key,
    };
    let staff_key = store
        .create_api_key(&org.id, Role::Staff, "front desk")
        .await
        .map_err(fail("creating the staff key"))?
        .key;
    let us = store
        .create_department(
            &org.id,
            &NewDepartment {
                name: "Brooklyn Animal Hospital".into(),
                country: "US".into(),
                currency: "USD".into(),
                time_zone: "America/New_York".into(),
            },
        )
        .await
        .map_err(fail("creating the US clinic"))?;
    let dk = store
        .create_department(
            &org.id,
            &NewDepartment {
                name: "Dyreklinikken Østerbro".into(),
                country: "DK".into(),
                currency: "DKK".into(),
                time_zone: "Europe/Copenhagen".into(),
            },
        )
        .await
        .map_err(fail("creating the Danish clinic"))?;

    // The shipped plugins are embedded in the binary: the demo needs no file
    // from the build directory.
    let gravity_id = install(clinic, &org.id, "gravity", vetpay_bundled_plugins::GRAVITY).await?;
    let nets_id = install(clinic, &org.id, "nets", vetpay_bundled_plugins::NETS).await?;
    let plugins = store
        .plugins(&org.id)
        .await
        .map_err(fail("listing plugins"))?;
    let spec = |id: &str| {
        plugins
            .iter()
            .find(|p| p.id == id)
            .map(|p| p.manifest.settings.clone())
            .unwrap_or_default()
    };
    let gravity_plugin = plugins
        .iter()
        .find(|p| p.id == gravity_id)
        .ok_or("gravity missing")?;
    let nets_plugin = plugins
        .iter()
        .find(|p| p.id == nets_id)
        .ok_or("nets missing")?;
    store
        .enable_plugin_market(&org.id, gravity_plugin, "US")
        .await
        .map_err(fail("enabling Gravity"))?;
    store
        .enable_plugin_market(&org.id, nets_plugin, "DK")
        .await
        .map_err(fail("enabling Nets"))?;
    store
        .set_plugin_settings(
            &org.id,
            &gravity_id,
            &spec(&gravity_id),
            None,
            &settings(&[
                ("oid", GRAVITY_OID),
                ("auth-token", GRAVITY_TOKEN),
                ("base-url", &gravity.base_url),
                // The simulator answers at once; poll it briskly.
                ("poll-interval-ms", "100"),
                ("abort-grace-ms", "300"),
                ("background-interval-ms", "200"),
                ("background-window-ms", "2000"),
            ]),
        )
        .await
        .map_err(fail("Gravity settings"))?;
    store
        .set_plugin_allowed_hosts(&org.id, &gravity_id, std::slice::from_ref(&gravity.origin))
        .await
        .map_err(fail("Gravity allowed hosts"))?;
    store
        .set_plugin_settings(
            &org.id,
            &nets_id,
            &spec(&nets_id),
            None,
            &settings(&[
                ("username", NETS_USER),
                ("password", NETS_PASSWORD),
                ("base-url", &nets.base_url),
                ("lookup-delay-ms", "200"),
            ]),
        )
        .await
        .map_err(fail("Nets settings"))?;
    store
        .set_plugin_allowed_hosts(&org.id, &nets_id, std::slice::from_ref(&nets.base_url))
        .await
        .map_err(fail("Nets allowed hosts"))?;
    let mut recurring = Map::new();
    recurring.insert("gravity-recurring-payments".into(), json!(true));
    store
        .set_settings(&org.id, Some(&us.id), &recurring)
        .await
        .map_err(fail("department setting"))?;

    let gravity_terminal = store
        .create_terminal(
            &org.id,
            &us.id,
            NewTerminal {
                plugin_id: gravity_id,
                provider_terminal_id: GRAVITY_DEVICE.into(),
                name: "Front counter".into(),
                terminal_type: "emergepay".into(),
                model: Some("PAX A920".into()),
            },
        )
        .await
        .map_err(fail("Gravity terminal"))?;
    let mut nets_terminals = Vec::new();
    for (i, t) in NETS_TERMINALS.iter().enumerate() {
        let terminal = store
            .create_terminal(
                &org.id,
                &dk.id,
                NewTerminal {
                    plugin_id: nets_id.clone(),
                    provider_terminal_id: (*t).into(),
                    name: format!("Skranke {}", i + 1),
                    terminal_type: NETS_TERMINAL_TYPE.into(),
                    model: None,
                },
            )
            .await
            .map_err(fail("Nets terminal"))?;
        clinic
            .reconcile(&org.id.as_str().into(), &terminal.id.as_str().into())
            .await
            .map_err(|e| format!("End of Day on {t}: {e}"))?;
        nets_terminals.push(terminal);
    }

    let (us_client, us_invoice) = client_with_invoice(
        clinic,
        &org.id,
        &us,
        ("Maria Lopez", "maria@example.com", "Rocky", "dog"),
        &[
            ("Consultation", 1, 6500, "0"),
            ("Rabies vaccine", 1, 2450, "0"),
        ],
    )
    .await?;
    let (dk_client, dk_invoice) = client_with_invoice(
        clinic,
        &org.id,
        &dk,
        ("Freja Nielsen", "freja@example.dk", "Mis", "cat"),
        &[("Konsultation", 1, 45000, "25"), ("Ormekur", 2, 8900, "25")],
    )
    .await?;
    Ok(Demo {
        gravity,
        nets,
        organisation_id: org.id,
        admin_key,
        staff_key,
        us,
        dk,
        gravity_terminal,
        nets_terminals,
        us_client,
        dk_client,
        us_invoice,
        dk_invoice,
    })
}

async fn client_with_invoice(
    clinic: &Clinic,
    organisation_id: &str,
    department: &Department,
    (name, email, pet, species): (&str, &str, &str, &str),
    lines: &[(&str, i64, i64, &str)],
) -> Result<(Client, Invoice), String> {
    let store = clinic.store();
    let client = store
        .create_client(
            organisation_id,
            NewClient {
                name: name.into(),
                email: Some(email.into()),
                phone: None,
            },
        )
        .await
        .map_err(fail("client"))?;
    let patient = store
        .create_patient(
            organisation_id,
            &client.id,
            NewPatient {
                name: pet.into(),
                species: species.into(),
                birth_date: None,
            },
        )
        .await
        .map_err(fail("patient"))?;
    let lines = lines
        .iter()
        .map(|(description, quantity, unit_price, vat)| NewLine {
            description: (*description).into(),
            quantity: (*quantity).into(),
            unit_price: *unit_price,
            vat_rate: vat.parse().unwrap_or_default(),
            discount_percent: Default::default(),
            plan_item_code: None,
            item: None,
            discounts: Vec::new(),
        })
        .collect();
    let draft = store
        .create_invoice(
            organisation_id,
            &department.currency,
            NewInvoice {
                department_id: department.id.clone(),
                client_id: client.id.clone(),
                patient_id: Some(patient.id),
                kind: InvoiceKind::Consultation,
                lines,
            },
        )
        .await
        .map_err(fail("invoice"))?;
    let invoice = store
        .finalise_invoice(organisation_id, &draft.id)
        .await
        .map_err(fail("finalising"))?;
    Ok((client, invoice))
}

impl Demo {
    /// The walk-through printed when the demo starts.
    pub fn walkthrough(&self, base: &str) -> String {
        let mut out = String::new();
        let k = &self.admin_key;
        let auth = format!("-H 'Authorization: Bearer {k}'");
        let json = "-H 'Content-Type: application/json'";
        let idem = "-H \"Idempotency-Key: $(uuidgen || date +%s%N)\"";
        let dk_t = &self.nets_terminals[0];
        let _ = writeln!(out, "vetpay demo is running at {base}");
        let _ = writeln!(
            out,
            "  the clinic console: open {base}/ and sign in with the staff key (the counter) or the admin key"
        );
        let _ = writeln!(out, "  admin key  {k}");
        let _ = writeln!(out, "  staff key  {}", self.staff_key);
        let _ = writeln!(
            out,
            "  Gravity simulator {}   Nets simulator {}",
            self.gravity.origin, self.nets.base_url
        );
        let _ = writeln!(out, "  API description: curl {base}/openapi.json\n");
        let _ = writeln!(
            out,
            "1. Pay the Danish invoice (due {} øre) on Nets terminal {}:",
            self.dk_invoice.due.minor_units, dk_t.provider_terminal_id
        );
        let _ = writeln!(
            out,
            "   curl -s {auth} {json} {idem} -d '{{\"method\":\"card\",\"amount\":{},\"terminal_id\":\"{}\"}}' {base}/v1/invoices/{}/payments",
            self.dk_invoice.due.minor_units, dk_t.id, self.dk_invoice.id
        );
        let _ = writeln!(
            out,
            "   Watch it:  curl -N {auth} {base}/v1/payments/PAYMENT_ID/events"
        );
        let _ = writeln!(
            out,
            "   The invoice: curl -s {auth} {base}/v1/invoices/{}\n",
            self.dk_invoice.id
        );
        let _ = writeln!(
            out,
            "2. Abort one: the Gravity card holder hesitates, the clinic aborts the US payment:"
        );
        let _ = writeln!(
            out,
            "   curl -s -X POST {json} -d '{{\"behaviour\":\"never\"}}' {}/_sim/devices/{}",
            self.gravity.origin, GRAVITY_DEVICE
        );
        let _ = writeln!(
            out,
            "   curl -s {auth} {json} {idem} -d '{{\"method\":\"card\",\"amount\":{},\"terminal_id\":\"{}\"}}' {base}/v1/invoices/{}/payments",
            self.us_invoice.due.minor_units, self.gravity_terminal.id, self.us_invoice.id
        );
        let _ = writeln!(
            out,
            "   curl -s -X POST {auth} {base}/v1/payments/PAYMENT_ID/abort"
        );
        let _ = writeln!(
            out,
            "   → the payment ends cancelled. Put the card holder back with {{\"behaviour\":\"approve\"}}.\n"
        );
        let _ = writeln!(
            out,
            "3. Refund a succeeded payment (Return of Goods) as a negative payment:"
        );
        let _ = writeln!(
            out,
            "   curl -s {auth} {json} {idem} -d '{{\"amount\":1000,\"terminal_id\":\"{}\"}}' {base}/v1/payments/PAYMENT_ID/refunds\n",
            dk_t.id
        );
        let _ = writeln!(
            out,
            "Card holder on Nets: POST {}/_sim/terminals/ID/script {{\"behaviour\":\"decline\",\"code\":\"05\"}} | {{\"behaviour\":\"cancel\"}}",
            self.nets.base_url
        );
        let _ = writeln!(
            out,
            "Card holder on Gravity: POST {}/_sim/devices/ID {{\"behaviour\":\"decline\",\"after_ms\":500}}",
            self.gravity.origin
        );
        let _ = writeln!(
            out,
            "Provider ledgers: GET {}/_sim/ledger and {}/_sim/ledger",
            self.gravity.origin, self.nets.base_url
        );
        out
    }
}
