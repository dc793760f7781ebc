//! `/v1/payments/{id}`: a payment, its live events, abort and refunds.

use std::convert::Infallible;
use std::time::Duration;
use vetpay_domain::PaymentId;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use serde::Deserialize;
use tokio::sync::broadcast;

use super::body::{IdempotencyKey, idempotency, json, started};
use super::openapi::EventStream;
use super::{ApiError, AppState, Caller};
use crate::service::{PaymentEvent, PaymentOrder};
use crate::store::{
    AuditAction, Method, NewAuditEvent, Payment, PaymentKind, PaymentStatus, Started,
};
use serde_json::json;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundRequest {
    /// Minor units, positive; the refund is booked as a negative payment.
    amount: i64,
    /// Refund on this terminal (Return of Goods); without it, card payments
    /// are refunded to the card where the plugin can.
    terminal_id: Option<String>,
    /// For a manual payment: how the money goes back (cash by default, as paid).
    method: Option<Method>,
}

async fn own(state: &AppState, caller: &Caller, id: &str) -> Result<Payment, ApiError> {
    state
        .clinic
        .store()
        .payment(&caller.organisation_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("payment"))
}

#[utoipa::path(
    get,
    path = "/v1/payments/{id}",
    summary = "One payment",
    extensions(("x-vetpay-role" = json!("staff"))),
    responses((status = 200, description = "The payment", body = Payment))
)]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Payment>, ApiError> {
    Ok(Json(own(&state, &caller, &id).await?))
}

#[utoipa::path(
    post,
    path = "/v1/payments/{id}/abort",
    summary = "Ask the provider to abort a running card payment",
    extensions(("x-vetpay-role" = json!("staff"))),
    responses((status = 202, description = "The abort was asked; the payment as it is now", body = Payment))
)]
pub async fn abort(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<(axum::http::StatusCode, Json<Payment>), ApiError> {
    let result = state
        .clinic
        .abort_payment(&caller.organisation_id, &PaymentId::from(id.as_str()))
        .await;
    // The abort is asked once the payment is marked; a plugin error after that
    // is recorded with it.
    let outcome = match &result {
        Ok(p) => Some(json!({ "outcome": "requested", "status": p.status })),
        Err(crate::service::ServiceError::Plugin(e)) => {
            Some(json!({ "outcome": "plugin_error", "error": e.to_string() }))
        }
        Err(_) => None,
    };
    if let Some(details) = outcome {
        super::audit::record(
            &state,
            &caller,
            NewAuditEvent::new(AuditAction::PaymentAbortRequested, "payment", &id, details),
        )
        .await;
    }
    Ok((axum::http::StatusCode::ACCEPTED, Json(result?)))
}

#[utoipa::path(
    get,
    path = "/v1/payments/{id}/refunds",
    summary = "Refunds of a payment",
    extensions(("x-vetpay-role" = json!("staff"))),
    responses((status = 200, description = "The refunds", body = [Payment]))
)]
pub async fn refunds(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<Payment>>, ApiError> {
    own(&state, &caller, &id).await?;
    Ok(Json(
        state
            .clinic
            .store()
            .refunds_of(&caller.organisation_id, &id)
            .await?,
    ))
}

#[utoipa::path(
    post,
    path = "/v1/payments/{id}/refunds",
    summary = "Refund (part of) a payment: on a terminal, to the card, or as paid; lands as a negative payment",
    extensions(("x-vetpay-role" = json!("staff"))),
    params(IdempotencyKey),
    request_body = RefundRequest,
    responses((status = 201, description = "The refund (a repeated Idempotency-Key answers the first answer again, with Idempotent-Replayed: true)", body = Payment))
)]
pub async fn refund(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    own(&state, &caller, &id).await?;
    let idem = idempotency(&headers, "POST", uri.path(), &body)?;
    let req: RefundRequest = json(&body)?;
    let order = PaymentOrder {
        original_payment_id: Some(PaymentId::from(id.as_str())),
        amount: req.amount,
        terminal_id: req.terminal_id.map(Into::into),
        method: req.method,
        ..PaymentOrder::default()
    };
    let result = state
        .clinic
        .start_payment(
            &caller.organisation_id,
            PaymentKind::Refund,
            order,
            Some(&idem),
        )
        .await?;
    // A repeat is the first answer again: it was recorded then.
    if let Started::Fresh(refund) = &result {
        super::audit::record(
            &state,
            &caller,
            NewAuditEvent::new(
                AuditAction::RefundCreated,
                "payment",
                &refund.id,
                json!({
                    "original_payment_id": id,
                    "amount": refund.amount.minor_units,
                    "currency": refund.currency,
                    "method": refund.method,
                    "status": refund.status,
                }),
            ),
        )
        .await;
    }
    Ok(started(result))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolvePayment {
    /// "succeeded" or "failed": what the provider's records show.
    status: PaymentStatus,
    /// What was checked, for the audit trail (1 to 1000 characters).
    note: String,
}

/// Settles an `unknown` or `needs_review` payment by hand (admin), booked as
/// if the provider had answered; recorded in the audit trail.
#[utoipa::path(
    post,
    path = "/v1/payments/{id}/resolve",
    summary = "Settle an unknown or needs_review payment by hand (succeeded or failed, with a note), booked as if the provider had answered",
    extensions(("x-vetpay-role" = json!("admin"))),
    request_body = ResolvePayment,
    responses((status = 200, description = "The settled payment", body = Payment))
)]
pub async fn resolve(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Payment>, ApiError> {
    caller.require_admin()?;
    let req: ResolvePayment = json(&body)?;
    let payment = state
        .clinic
        .store()
        .resolve_payment(
            &caller.organisation_id,
            &id,
            req.status,
            &req.note,
            &caller.actor(),
        )
        .await?
        .ok_or_else(|| ApiError::not_found("payment"))?;
    state.clinic.events().publish(
        &id,
        PaymentEvent::Status {
            payment: Box::new(payment.clone()),
        },
    );
    Ok(Json(payment))
}

/// How often a watcher re-reads the payment, for attempts running on another host.
const REREAD_EVERY: Duration = Duration::from_millis(500);

struct Watch {
    state: AppState,
    organisation_id: String,
    id: String,
    rx: broadcast::Receiver<PaymentEvent>,
    last: Option<Payment>,
    done: bool,
}

fn status_event(p: &Payment) -> Event {
    let event = PaymentEvent::Status {
        payment: Box::new(p.clone()),
    };
    Event::default()
        .event("status")
        .json_data(&event)
        .unwrap_or_else(|_| Event::default().event("status"))
}

fn changed(last: &Option<Payment>, now: &Payment) -> bool {
    last.as_ref().is_none_or(|l| {
        l.status != now.status || l.stage != now.stage || l.updated_at != now.updated_at
    })
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.state.clinic.events().release(&self.id);
    }
}

impl Watch {
    async fn next(&mut self) -> Option<Event> {
        if self.done {
            return None;
        }
        loop {
            let fresh = tokio::select! {
                event = self.rx.recv() => match event {
                    Ok(PaymentEvent::Stage { stage, message }) => {
                        let data = PaymentEvent::Stage { stage, message };
                        return Some(Event::default().event("stage").json_data(&data).unwrap_or_default());
                    }
                    Ok(PaymentEvent::Status { payment }) => Some(*payment),
                    // Missed events or a closed channel: the database has the truth.
                    Err(_) => {
                        self.rx = self.state.clinic.events().subscribe(&self.id);
                        self.reread().await
                    }
                },
                _ = tokio::time::sleep(REREAD_EVERY) => self.reread().await,
            };
            if let Some(p) = fresh
                && changed(&self.last, &p)
            {
                self.done = p.status.is_final();
                let event = status_event(&p);
                self.last = Some(p);
                return Some(event);
            }
        }
    }

    async fn reread(&self) -> Option<Payment> {
        self.state
            .clinic
            .store()
            .payment(&self.organisation_id, &self.id)
            .await
            .ok()
            .flatten()
    }
}

/// Server-sent events: `status` with the payment whenever it changes (first
/// at once), `stage` for each stage the plugin reports; the stream ends after
/// the final status.
#[utoipa::path(
    get,
    path = "/v1/payments/{id}/events",
    summary = "Server-sent events: each stage, each status, ending with the final one",
    extensions(("x-vetpay-role" = json!("staff"))),
    responses((status = 200, description = "The event stream; each data: is a PaymentEvent as JSON", content_type = "text/event-stream", body = inline(EventStream)))
)]
pub async fn events(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    // Subscribe before reading, so nothing between the two is missed.
    let rx = state.clinic.events().subscribe(&id);
    let current = own(&state, &caller, &id).await?;
    let first = status_event(&current);
    let watch = Watch {
        state,
        organisation_id: caller.organisation_id.to_string(),
        id,
        rx,
        done: current.status.is_final(),
        last: Some(current),
    };
    let rest = futures::stream::unfold(
        watch,
        |mut w| async move { w.next().await.map(|e| (Ok(e), w)) },
    );
    let stream = futures::StreamExt::chain(futures::stream::once(async move { Ok(first) }), rest);
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
