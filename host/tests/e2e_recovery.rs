//! Recovery without waiting (issue 12): an attempt whose host stopped before
//! anything left for the provider ends at once and frees its terminal and
//! invoice; a restarted host takes back its own attempts at start; an abort of
//! such an orphan is carried out by the host that receives it; and the first
//! send of an attempt is recorded, and refused once recovery holds the attempt.
//! On SQLite and PostgreSQL.

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::{api_error, clinic_api, stores};
use vetpay::store::{Method, NewPayment, PaymentKind, PaymentStatus, Settlement, Started};

/// A host on `store` with the demo seeded and no recovery job running: the
/// attempts a test writes stay as written until it acts on them.
async fn seeded_without_recovery(
    store: vetpay::store::Store,
) -> (vetpay::service::Clinic, vetpay::demo::Demo) {
    let clinic = support::host(store);
    let demo = vetpay::demo::seed(&clinic, Default::default())
        .await
        .unwrap();
    (clinic, demo)
}

/// Writes a card attempt exactly as a host leaves it when it dies between
/// writing the row and sending the plugin's first request.
async fn orphan(api: &support::ClinicApi, owner: &str, lease: Duration) -> String {
    orphan_in(api.clinic.store(), &api.demo, owner, lease).await
}

async fn orphan_in(
    store: &vetpay::store::Store,
    demo: &vetpay::demo::Demo,
    owner: &str,
    lease: Duration,
) -> String {
    attempt_on(store, demo, 0, owner, lease).await
}

/// A running attempt on the demo's Nets terminal `terminal`, leased to `owner`.
async fn attempt_on(
    store: &vetpay::store::Store,
    demo: &vetpay::demo::Demo,
    terminal: usize,
    owner: &str,
    lease: Duration,
) -> String {
    let terminal = &demo.nets_terminals[terminal];
    let started = store
        .start_payment(
            &demo.organisation_id,
            None,
            NewPayment {
                department_id: demo.dk.id.clone(),
                client_id: demo.dk_client.id.clone(),
                invoice_id: Some(demo.dk_invoice.id.clone()),
                kind: PaymentKind::Payment,
                method: Method::Card,
                amount: 1000,
                currency: "DKK".into(),
                excess_as_deposit: false,
                terminal_id: Some(terminal.id.clone()),
                card_id: None,
                plugin_id: Some(terminal.plugin_id.clone()),
                original_payment_id: None,
                check_after_ms: lease.as_millis() as i64,
                lease_owner: Some(owner.into()),
            },
        )
        .await
        .expect("the attempt is written");
    let Started::Fresh(p) = started else {
        panic!("a fresh attempt")
    };
    p.id
}

async fn terminal_is_busy(api: &support::ClinicApi) -> bool {
    let terminal = &api.demo.nets_terminals[0];
    let r = api
        .money(
            api.staff(),
            &format!("/v1/invoices/{}/payments", api.demo.dk_invoice.id),
            json!({"method": "card", "amount": 100, "terminal_id": terminal.id}),
        )
        .send()
        .await
        .unwrap();
    if r.status() == 409 {
        let (_, code, _) = api_error(r).await;
        assert_eq!(code, "terminal_busy");
        true
    } else {
        assert!(
            r.status().is_success(),
            "the payment starts: {}",
            r.status()
        );
        let p: serde_json::Value = r.json().await.unwrap();
        let done = api.settled(p["id"].as_str().unwrap()).await;
        assert_eq!(done["status"], "succeeded", "{done}");
        false
    }
}

#[tokio::test]
async fn an_orphan_that_sent_nothing_fails_as_soon_as_its_lease_lapses() {
    for store in stores().await {
        let api = clinic_api(store).await;
        let id = orphan(&api, "a-host-that-died", Duration::from_millis(500)).await;
        let before = api.read(&format!("/v1/payments/{id}")).await;
        assert_eq!(before["status"], "processing");
        assert!(before["sent_at"].is_null(), "nothing was sent: {before}");
        assert!(
            terminal_is_busy(&api).await,
            "the orphan holds its terminal"
        );

        let t0 = Instant::now();
        let p = api.settled(&id).await;
        assert_eq!(p["status"], "failed", "{p}");
        assert!(
            p["message"]
                .as_str()
                .unwrap()
                .contains("before anything was sent"),
            "{p}"
        );
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "resolved {:?} after its lease lapsed",
            t0.elapsed()
        );
        // Nothing reached the provider, and the books show nothing paid.
        assert!(api.demo.nets.ledger().iter().all(|e| e.order_id != id));
        let invoice = api
            .read(&format!("/v1/invoices/{}", api.demo.dk_invoice.id))
            .await;
        assert_eq!(invoice["paid"], 0);
        // Terminal and invoice are free: the next payment runs and succeeds.
        assert!(!terminal_is_busy(&api).await);
        let paid = api
            .read(&format!("/v1/invoices/{}", api.demo.dk_invoice.id))
            .await;
        assert_eq!(paid["paid"], 100);
    }
}

#[tokio::test]
async fn a_restarted_host_takes_back_its_own_attempts_at_once() {
    for store in stores().await {
        let api = clinic_api(store).await;
        // The lease would hold for ten minutes: only the take-back ends it soon.
        let id = orphan(&api, "host-7", Duration::from_secs(600)).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let still = api.read(&format!("/v1/payments/{id}")).await;
        assert_eq!(
            still["status"], "processing",
            "no other host touches a live lease"
        );

        let restarted = support::host_with(
            api.clinic.store().clone(),
            vetpay::service::ClinicConfig {
                host_id: "host-7".into(),
                recovery: vetpay::service::RecoveryConfig {
                    poll_every: Duration::from_millis(100),
                    ..Default::default()
                },
                ..Default::default()
            },
        );
        let t0 = Instant::now();
        let job = restarted.start_recovery();
        let p = api.settled(&id).await;
        job.abort();
        assert_eq!(p["status"], "failed", "{p}");
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "taken back after {:?}",
            t0.elapsed()
        );
    }
}

#[tokio::test]
async fn aborting_an_orphan_cancels_it_at_once_on_the_host_that_receives_it() {
    for store in stores().await {
        // A host with no recovery job running, so only the abort can end it.
        let (clinic, demo) = seeded_without_recovery(store).await;
        let id = orphan_in(clinic.store(), &demo, "a-host-that-died", Duration::ZERO).await;
        let p = clinic
            .abort_payment(&demo.organisation_id.as_str().into(), &id.as_str().into())
            .await
            .unwrap();
        assert_eq!(p.status, vetpay::store::PaymentStatus::Cancelled, "{p:?}");
        assert!(p.abort_requested);
        assert!(p.message.unwrap().contains("before anything was sent"));
        // Nothing reached the provider.
        assert!(demo.nets.ledger().iter().all(|e| e.order_id != id));
    }
}

#[tokio::test]
async fn the_first_send_is_recorded_and_refused_once_recovery_holds_the_attempt() {
    for store in stores().await {
        let api = clinic_api(store).await;
        // A payment that ran: its first request was recorded before it left.
        let terminal = &api.demo.nets_terminals[0];
        let p = api
            .pay(
                &api.demo.dk_invoice.id,
                json!({"method": "card", "amount": 200, "terminal_id": terminal.id}),
            )
            .await;
        let p = api.settled(p["id"].as_str().unwrap()).await;
        assert_eq!(p["status"], "succeeded");
        assert!(p["sent_at"].as_i64().unwrap() >= p["created_at"].as_i64().unwrap());
        assert!(
            p["message"].is_null(),
            "a success carries no stale message: {p}"
        );

        // Once recovery has claimed an attempt, its host may no longer send.
        let store = api.clinic.store();
        let id = orphan(&api, "slow-host", Duration::from_millis(1)).await;
        let row = store
            .payment(&api.demo.organisation_id, &id)
            .await
            .unwrap()
            .unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
        // Recovery may already have settled it; either way the host may not send.
        let _ = store.claim_recovery(&row, i64::MAX / 2).await.unwrap();
        assert!(!store.mark_attempt_sent(&id, "slow-host").await.unwrap());
        let row = store
            .payment(&api.demo.organisation_id, &id)
            .await
            .unwrap()
            .unwrap();
        assert!(row.sent_at.is_none());
    }
}

#[tokio::test]
async fn first_send_marks_that_wait_together_keep_each_their_own_answer() {
    for store in stores().await {
        // No recovery job: the attempts stay as written.
        let (clinic, demo) = seeded_without_recovery(store).await;
        let store = clinic.store();
        let lease = Duration::from_secs(600);
        let a = attempt_on(store, &demo, 0, "host-a", lease).await;
        let b = attempt_on(store, &demo, 1, "host-b", lease).await;
        for round in 0..2 {
            // Marks that arrive at the same moment share one statement where
            // they can; each still gets the answer it would get alone.
            let answers = futures::future::join_all([
                store.mark_attempt_sent(&a, "host-a"),
                store.mark_attempt_sent(&a, "host-a"),
                store.mark_attempt_sent(&b, "host-a"),
                store.mark_attempt_sent(&b, "host-b"),
                store.mark_attempt_sent("no-such-attempt", "host-a"),
            ])
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect::<Vec<_>>();
            let first = round == 0;
            assert_eq!(
                answers[0] as u8 + answers[1] as u8,
                first as u8,
                "an attempt is marked once: {answers:?}"
            );
            assert_eq!(&answers[2..], &[false, first, false], "round {round}");
        }
        for id in [&a, &b] {
            let row = store
                .payment(&demo.organisation_id, id)
                .await
                .unwrap()
                .unwrap();
            assert!(row.sent_at.is_some(), "{id} marked");
        }
    }
}

#[tokio::test]
async fn settlements_that_wait_together_are_each_booked_as_alone() {
    for store in stores().await {
        let (clinic, demo) = seeded_without_recovery(store).await;
        let store = clinic.store();
        let org = &demo.organisation_id;
        let lease = Duration::from_secs(600);
        let a = attempt_on(store, &demo, 0, "host-a", lease).await;
        let b = attempt_on(store, &demo, 1, "host-a", lease).await;
        let paid_before = store
            .invoice(org, &demo.dk_invoice.id)
            .await
            .unwrap()
            .unwrap()
            .paid;
        let ends = |status| Settlement {
            status: Some(status),
            provider_reference: Some("REF".into()),
            ..Settlement::default()
        };
        // On SQLite these share one transaction where they arrive together.
        let booked = futures::future::join_all([
            store.finish_payment(&a, ends(PaymentStatus::Succeeded)),
            store.finish_payment(&a, ends(PaymentStatus::Failed)),
            store.finish_payment(&b, ends(PaymentStatus::Failed)),
            store.finish_payment("no-such-attempt", ends(PaymentStatus::Succeeded)),
        ])
        .await
        .into_iter()
        .map(|r| r.unwrap().map(|p| p.status))
        .collect::<Vec<_>>();
        // The two ends of `a` race on PostgreSQL; one of them is booked.
        let a_ended = match (booked[0], booked[1]) {
            (Some(won), None) | (None, Some(won)) => won,
            other => panic!("a final state never moves: {other:?}"),
        };
        assert_eq!(&booked[2..], &[Some(PaymentStatus::Failed), None]);
        let row = store.payment(org, &a).await.unwrap().unwrap();
        assert_eq!(row.status, a_ended);
        let invoice = store
            .invoice(org, &demo.dk_invoice.id)
            .await
            .unwrap()
            .unwrap();
        let paid = if a_ended == PaymentStatus::Succeeded {
            1000
        } else {
            0
        };
        assert_eq!(
            invoice.paid.minor_units,
            paid_before.minor_units + paid,
            "only a success is paid, once"
        );
    }
}

/// Contract 0.2's `not-found`: a request lost on its way to the terminal was
/// sent, so it is asked about, and the terminal proves it never started once
/// it can no longer be running (its last transaction is the payment before).
/// The payment fails and frees its terminal and invoice; nothing was charged.
#[tokio::test]
async fn a_request_lost_on_its_way_is_failed_once_the_terminal_proves_it_never_started() {
    for store in stores().await {
        let api = clinic_api(store).await;
        let r = api
            .put(
                api.admin(),
                "/v1/plugins/nets-connect-cloud/settings",
                json!({"transaction-timeout-s": 1}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let terminal = &api.demo.nets_terminals[0];
        let invoice = &api.demo.dk_invoice.id;
        let first = api
            .pay(
                invoice,
                json!({"method": "card", "amount": 100, "terminal_id": terminal.id}),
            )
            .await;
        let first = api.settled(first["id"].as_str().unwrap()).await;
        assert_eq!(first["status"], "succeeded", "{first}");

        api.demo.nets.fault_next(
            &terminal.provider_terminal_id,
            vetpay_simulators::nets::Fault::LoseRequest,
        );
        let t0 = Instant::now();
        let lost = api
            .pay(
                invoice,
                json!({"method": "card", "amount": 200, "terminal_id": terminal.id}),
            )
            .await;
        let id = lost["id"].as_str().unwrap().to_owned();
        let p = api.settled(&id).await;
        assert_eq!(p["status"], "failed", "{p}");
        assert!(!p["sent_at"].is_null(), "it was sent: {p}");
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "resolved after {:?}",
            t0.elapsed()
        );
        assert!(api.demo.nets.ledger().iter().all(|e| e.order_id != id));
        let books = api.read(&format!("/v1/invoices/{invoice}")).await;
        assert_eq!(books["paid"], 100, "{books}");
        assert!(!terminal_is_busy(&api).await, "the terminal is free again");
    }
}
