//! `GET /openapi.json`: the API described from [`ROUTES`], the one list of
//! every route (a test checks the router serves each of them), with the
//! request and response schemas derived from the Rust types.

use axum::Json;
use utoipa::OpenApi;
use utoipa::openapi::path::{OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, HttpMethod, Ref, Required, ResponseBuilder};

use super::{
    api_keys, clients, departments, health_plans, invoices, payments, plugin_config, terminals,
};
use crate::service::PaymentEvent;
use crate::store::{
    ApiKey, AuditAction, AuditEvent, AuditPage, BillingRun, Card, Client, Department, Invoice,
    InvoiceKind, InvoiceLine, InvoiceStatus, ItemBalance, Method, Patient, Payment, PaymentKind,
    PaymentOption, PaymentStatus, Plan, PlanItem, Role, Subscription, SubscriptionStatus, Terminal,
};

/// The request schema of a route whose body is a WebAssembly file.
pub const WASM_BODY: &str = "WasmFile";

/// A plugin's `.wasm` file, sent as the raw body.
pub struct WasmFile;

impl utoipa::PartialSchema for WasmFile {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .content_media_type("application/wasm")
            .description(Some(
                "A WebAssembly component with a vetpay:manifest section",
            ))
            .into()
    }
}

impl utoipa::ToSchema for WasmFile {}

/// A settings body: setting keys with their values (`null` removes one).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct SettingValues(std::collections::BTreeMap<String, serde_json::Value>);

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Public,
    Staff,
    Admin,
}

/// One route of the API.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
    pub summary: &'static str,
    /// Schema of the JSON body, if any.
    pub request: Option<&'static str>,
    /// Success status and schema ("[Name]" for a list, "" for no body).
    pub status: u16,
    pub response: &'static str,
    /// Needs an `Idempotency-Key` header (it moves money).
    pub idempotent: bool,
}

const fn r(
    method: &'static str,
    path: &'static str,
    access: Access,
    summary: &'static str,
    request: Option<&'static str>,
    status: u16,
    response: &'static str,
) -> Route {
    Route {
        method,
        path,
        access,
        summary,
        request,
        status,
        response,
        idempotent: false,
    }
}

const fn money(mut route: Route) -> Route {
    route.idempotent = true;
    route
}

use Access::{Admin, Public, Staff};

/// Every route the router serves.
pub const ROUTES: &[Route] = &[
    r(
        "GET",
        "/healthz",
        Public,
        "Liveness: answers ok",
        None,
        200,
        "",
    ),
    r(
        "GET",
        "/openapi.json",
        Public,
        "This description",
        None,
        200,
        "",
    ),
    r(
        "GET",
        "/v1/departments",
        Staff,
        "The organisation's departments (locations)",
        None,
        200,
        "[Department]",
    ),
    r(
        "POST",
        "/v1/departments",
        Admin,
        "Create a department with its country, currency and time zone",
        Some("CreateDepartment"),
        201,
        "Department",
    ),
    r(
        "GET",
        "/v1/departments/{id}",
        Staff,
        "One department",
        None,
        200,
        "Department",
    ),
    r(
        "GET",
        "/v1/settings",
        Staff,
        "Organisation settings with their values and en/da labels",
        None,
        200,
        "",
    ),
    r(
        "PUT",
        "/v1/settings",
        Admin,
        "Set organisation settings (all checked before any is written)",
        Some("SettingValues"),
        200,
        "",
    ),
    r(
        "GET",
        "/v1/departments/{id}/settings",
        Staff,
        "Department settings",
        None,
        200,
        "",
    ),
    r(
        "PUT",
        "/v1/departments/{id}/settings",
        Admin,
        "Set department settings",
        Some("SettingValues"),
        200,
        "",
    ),
    r(
        "GET",
        "/v1/plugins",
        Staff,
        "Installed plugins with their manifests and enabled markets",
        None,
        200,
        "",
    ),
    r(
        "POST",
        "/v1/plugins",
        Admin,
        "Install a plugin: the .wasm as the body (application/wasm)",
        Some(WASM_BODY),
        201,
        "",
    ),
    r(
        "PUT",
        "/v1/plugins/{id}/markets/{country}",
        Admin,
        "Enable a plugin for a market its manifest lists",
        None,
        200,
        "",
    ),
    r(
        "DELETE",
        "/v1/plugins/{id}/markets/{country}",
        Admin,
        "Disable a plugin for a market",
        None,
        204,
        "",
    ),
    r(
        "GET",
        "/v1/plugins/{id}/settings",
        Admin,
        "A plugin's organisation-level settings; secrets show only whether they are set",
        None,
        200,
        "",
    ),
    r(
        "PUT",
        "/v1/plugins/{id}/settings",
        Admin,
        "Set a plugin's organisation-level settings (null removes one); secrets are write-only",
        Some("SettingValues"),
        200,
        "",
    ),
    r(
        "GET",
        "/v1/plugins/{id}/allowed-hosts",
        Admin,
        "Destinations allowed beyond the plugin's manifest",
        None,
        200,
        "",
    ),
    r(
        "PUT",
        "/v1/plugins/{id}/allowed-hosts",
        Admin,
        "Replace the extra allowed destinations (scheme://host:port)",
        Some("AllowedHosts"),
        200,
        "",
    ),
    r(
        "GET",
        "/v1/departments/{id}/plugins/{plugin}/settings",
        Admin,
        "A plugin's department-level settings",
        None,
        200,
        "",
    ),
    r(
        "PUT",
        "/v1/departments/{id}/plugins/{plugin}/settings",
        Admin,
        "Set a plugin's department-level settings",
        Some("SettingValues"),
        200,
        "",
    ),
    r(
        "GET",
        "/v1/departments/{id}/terminals",
        Staff,
        "The department's terminals",
        None,
        200,
        "[Terminal]",
    ),
    r(
        "POST",
        "/v1/departments/{id}/terminals",
        Admin,
        "Register a terminal (its plugin must be enabled for the department's market; Nets: type Connect@Cloud)",
        Some("CreateTerminal"),
        201,
        "Terminal",
    ),
    r(
        "POST",
        "/v1/terminals/{id}/reconcile",
        Admin,
        "Run End of Day on a terminal",
        None,
        200,
        "ReconcileReport",
    ),
    r(
        "GET",
        "/v1/clients",
        Staff,
        "Clients",
        None,
        200,
        "[Client]",
    ),
    r(
        "POST",
        "/v1/clients",
        Staff,
        "Create a client",
        Some("CreateClient"),
        201,
        "Client",
    ),
    r(
        "GET",
        "/v1/clients/{id}",
        Staff,
        "One client",
        None,
        200,
        "Client",
    ),
    r(
        "GET",
        "/v1/clients/{id}/patients",
        Staff,
        "The client's patients",
        None,
        200,
        "[Patient]",
    ),
    r(
        "POST",
        "/v1/clients/{id}/patients",
        Staff,
        "Add a patient",
        Some("CreatePatient"),
        201,
        "Patient",
    ),
    r(
        "GET",
        "/v1/clients/{id}/cards",
        Staff,
        "Saved cards as a department's billing view shows them (?department_id=)",
        None,
        200,
        "BillingCards",
    ),
    r(
        "POST",
        "/v1/clients/{id}/cards",
        Staff,
        "Save the card the client presents on a terminal",
        Some("SaveCard"),
        201,
        "Card",
    ),
    r(
        "DELETE",
        "/v1/clients/{id}/cards/{card}",
        Staff,
        "Delete a saved card",
        None,
        204,
        "",
    ),
    r(
        "PUT",
        "/v1/clients/{id}/cards/{card}/default",
        Staff,
        "Make a card the default",
        None,
        204,
        "",
    ),
    r(
        "GET",
        "/v1/clients/{id}/prepayments",
        Staff,
        "Deposits and the unused client credit",
        None,
        200,
        "Prepayments",
    ),
    money(r(
        "POST",
        "/v1/clients/{id}/prepayments",
        Staff,
        "Take a deposit (client prepayment); it becomes client credit",
        Some("Prepayment"),
        201,
        "Payment",
    )),
    r(
        "GET",
        "/v1/invoices",
        Staff,
        "Newest invoices (?client_id=, ?limit=)",
        None,
        200,
        "[Invoice]",
    ),
    r(
        "POST",
        "/v1/invoices",
        Staff,
        "Create a draft invoice",
        Some("CreateInvoice"),
        201,
        "Invoice",
    ),
    r(
        "GET",
        "/v1/invoices/{id}",
        Staff,
        "One invoice with its lines and due sum",
        None,
        200,
        "Invoice",
    ),
    r(
        "PUT",
        "/v1/invoices/{id}/lines",
        Staff,
        "Replace a draft's lines",
        Some("ReplaceLines"),
        200,
        "Invoice",
    ),
    r(
        "POST",
        "/v1/invoices/{id}/finalise",
        Staff,
        "Finalise a draft: it gets its number and can be paid",
        None,
        200,
        "Invoice",
    ),
    r(
        "POST",
        "/v1/invoices/{id}/credit-notes",
        Staff,
        "Credit a finalised invoice, wholly or some lines",
        Some("CreditNoteRequest"),
        201,
        "Invoice",
    ),
    r(
        "GET",
        "/v1/invoices/{id}/payments",
        Staff,
        "The invoice's payments and refunds",
        None,
        200,
        "[Payment]",
    ),
    money(r(
        "POST",
        "/v1/invoices/{id}/payments",
        Staff,
        "Pay an invoice: card payments start processing and are watched at /v1/payments/{id}/events",
        Some("PayInvoice"),
        201,
        "Payment",
    )),
    r(
        "GET",
        "/v1/payments/{id}",
        Staff,
        "One payment",
        None,
        200,
        "Payment",
    ),
    r(
        "GET",
        "/v1/payments/{id}/events",
        Staff,
        "Server-sent events: each stage, each status, ending with the final one",
        None,
        200,
        "PaymentEvent",
    ),
    r(
        "POST",
        "/v1/payments/{id}/abort",
        Staff,
        "Ask the provider to abort a running card payment",
        None,
        202,
        "Payment",
    ),
    r(
        "GET",
        "/v1/payments/{id}/refunds",
        Staff,
        "Refunds of a payment",
        None,
        200,
        "[Payment]",
    ),
    r(
        "POST",
        "/v1/payments/{id}/resolve",
        Admin,
        "Settle an unknown or needs_review payment by hand (succeeded or failed, with a note), booked as if the provider had answered",
        Some("ResolvePayment"),
        200,
        "Payment",
    ),
    money(r(
        "POST",
        "/v1/payments/{id}/refunds",
        Staff,
        "Refund (part of) a payment: on a terminal, to the card, or as paid; lands as a negative payment",
        Some("RefundRequest"),
        201,
        "Payment",
    )),
    r(
        "GET",
        "/v1/health-plans",
        Staff,
        "Health plans (add-on)",
        None,
        200,
        "[Plan]",
    ),
    r(
        "POST",
        "/v1/health-plans",
        Admin,
        "Create a health plan with its included items",
        Some("CreatePlan"),
        201,
        "Plan",
    ),
    r(
        "GET",
        "/v1/health-plans/{id}",
        Staff,
        "One health plan",
        None,
        200,
        "Plan",
    ),
    r(
        "GET",
        "/v1/subscriptions",
        Staff,
        "Plan subscriptions (?client_id=)",
        None,
        200,
        "[Subscription]",
    ),
    r(
        "POST",
        "/v1/subscriptions",
        Staff,
        "Sign a patient up for a plan, with its payment option",
        Some("Subscribe"),
        201,
        "Subscription",
    ),
    r(
        "GET",
        "/v1/subscriptions/{id}",
        Staff,
        "One subscription with what is left of each included item",
        None,
        200,
        "Subscription",
    ),
    r(
        "POST",
        "/v1/subscriptions/{id}/activate",
        Staff,
        "Activate an applied subscription (advance plans get their invoice)",
        None,
        200,
        "Subscription",
    ),
    r(
        "POST",
        "/v1/subscriptions/{id}/cancel",
        Staff,
        "Cancel and settle: fee + value of used items - payments made",
        Some("Cancel"),
        200,
        "Cancelled",
    ),
    r(
        "POST",
        "/v1/subscriptions/{id}/invoices",
        Staff,
        "Make a month's invoice by hand (manual plans); the same month gives the same invoice",
        Some("PeriodRequest"),
        201,
        "Invoice",
    ),
    r(
        "GET",
        "/v1/billing-runs",
        Staff,
        "Billing runs, newest first",
        None,
        200,
        "[BillingRun]",
    ),
    r(
        "POST",
        "/v1/billing-runs",
        Admin,
        "Bill a month: issue invoices and charge saved cards, idempotently",
        Some("PeriodRequest"),
        202,
        "BillingRun",
    ),
    r(
        "GET",
        "/v1/billing-runs/{id}",
        Staff,
        "A billing run's progress and totals, also while it runs",
        None,
        200,
        "BillingRun",
    ),
    r(
        "GET",
        "/v1/api-keys",
        Admin,
        "The organisation's API keys: name, role, created, last used, expiry, revocation and rotation; never a secret",
        None,
        200,
        "[ApiKey]",
    ),
    r(
        "POST",
        "/v1/api-keys",
        Admin,
        "Make an API key (role, name, optional expires_at RFC 3339 or expires_in_days); the secret is shown only in this answer",
        Some("CreateApiKey"),
        201,
        "CreatedApiKey",
    ),
    r(
        "DELETE",
        "/v1/api-keys/{id}",
        Admin,
        "Revoke a key at once, on every host (not the key making the request: 409 revoking_own_key)",
        None,
        204,
        "",
    ),
    r(
        "POST",
        "/v1/api-keys/{id}/rotate",
        Admin,
        "A new secret for a key; the old one works for grace_seconds (default 86400, at most 604800, 0 ends it at once)",
        Some("RotateApiKey"),
        200,
        "CreatedApiKey",
    ),
    r(
        "GET",
        "/v1/audit-events",
        Admin,
        "The audit trail, newest first (?action=, ?target_id=, ?actor_key_id=, ?since=, ?until= as Unix ms or RFC 3339, ?limit= up to 500, ?cursor=)",
        None,
        200,
        "AuditPage",
    ),
];

/// The error body every 4xx and 5xx carries.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ErrorBody {
    error: ErrorDetail,
}

#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ErrorDetail {
    /// Machine-readable, such as "invalid", "terminal_busy", "not_found".
    code: super::error::ErrorCode,
    /// What was wrong and how to fix it.
    message: String,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "vetpay",
        description = "Clinic backend: invoices, payments, settings and payment plugins. Authenticate with `Authorization: Bearer KEY`. Money is integer minor units with an ISO 4217 currency."
    ),
    components(schemas(
        ErrorBody,
        ErrorDetail,
        super::error::ErrorCode,
        Department,
        departments::CreateDepartment,
        Client,
        Patient,
        Card,
        Terminal,
        Invoice,
        InvoiceLine,
        InvoiceKind,
        InvoiceStatus,
        Payment,
        PaymentKind,
        PaymentStatus,
        Method,
        PaymentEvent,
        clients::CreateClient,
        clients::CreatePatient,
        clients::SaveCard,
        clients::Prepayment,
        clients::BillingCards,
        clients::Prepayments,
        clients::CreditBalance,
        invoices::CreateInvoice,
        invoices::LineInput,
        invoices::ReplaceLines,
        invoices::CreditNoteRequest,
        invoices::PayInvoice,
        payments::RefundRequest,
        terminals::CreateTerminal,
        terminals::ReconcileReport,
        plugin_config::AllowedHosts,
        Plan,
        PlanItem,
        Subscription,
        ItemBalance,
        PaymentOption,
        SubscriptionStatus,
        BillingRun,
        health_plans::CreatePlan,
        health_plans::PlanItemInput,
        health_plans::Subscribe,
        health_plans::Cancel,
        health_plans::PeriodRequest,
        health_plans::Cancelled,
        payments::ResolvePayment,
        ApiKey,
        Role,
        api_keys::CreateApiKey,
        api_keys::RotateApiKey,
        api_keys::CreatedApiKey,
        AuditPage,
        AuditEvent,
        AuditAction,
        SettingValues,
        WasmFile
    ))
)]
struct Schemas;

fn json_content(schema: &str) -> utoipa::openapi::Content {
    let builder = ContentBuilder::new();
    match schema.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
        Some(item) => builder
            .schema(Some(
                utoipa::openapi::schema::ArrayBuilder::new()
                    .items(Ref::from_schema_name(item))
                    .build(),
            ))
            .build(),
        None => builder.schema(Some(Ref::from_schema_name(schema))).build(),
    }
}

fn string_schema() -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .build()
}

fn method(m: &str) -> HttpMethod {
    match m {
        "POST" => HttpMethod::Post,
        "PUT" => HttpMethod::Put,
        "DELETE" => HttpMethod::Delete,
        _ => HttpMethod::Get,
    }
}

/// The whole description.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = Schemas::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    if let Some(components) = doc.components.as_mut() {
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
    for route in ROUTES {
        let tag = route.path.split('/').nth(2).unwrap_or("service");
        let mut op = OperationBuilder::new()
            .summary(Some(route.summary))
            .tag(tag)
            .operation_id(Some(format!(
                "{}_{}",
                route.method.to_lowercase(),
                route
                    .path
                    .trim_start_matches('/')
                    .replace(['/', '{', '}', '.', '-'], "_")
            )));
        if route.access != Access::Public {
            op = op.security(SecurityRequirement::new::<_, _, String>("bearer", []));
        }
        for segment in route.path.split('/') {
            if let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                op = op.parameter(
                    ParameterBuilder::new()
                        .name(name)
                        .parameter_in(ParameterIn::Path)
                        .required(Required::True)
                        .schema(Some(string_schema()))
                        .build(),
                );
            }
        }
        if route.idempotent {
            op = op.parameter(
                ParameterBuilder::new()
                    .name("Idempotency-Key")
                    .parameter_in(ParameterIn::Header)
                    .required(Required::True)
                    .schema(Some(
                        utoipa::openapi::schema::ObjectBuilder::new()
                            .schema_type(utoipa::openapi::schema::Type::String)
                            .min_length(Some(1))
                            .max_length(Some(255))
                            .build(),
                    ))
                    .description(Some("A new key per payment, the same key to retry it: a repeat returns the first answer and moves nothing."))
                    .build(),
            );
        }
        if let Some(request) = route.request {
            let body = if request == WASM_BODY {
                let file = utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .content_media_type("application/wasm")
                    .build();
                RequestBodyBuilder::new().content(
                    "application/wasm",
                    ContentBuilder::new().schema(Some(file)).build(),
                )
            } else {
                RequestBodyBuilder::new().content("application/json", json_content(request))
            };
            op = op.request_body(Some(body.required(Some(Required::True)).build()));
        }
        let content_type = if route.path.ends_with("/events") {
            "text/event-stream"
        } else {
            "application/json"
        };
        let mut ok = ResponseBuilder::new().description(match route.access {
            Access::Admin => "Success (admin key)",
            _ => "Success",
        });
        if content_type == "text/event-stream" {
            // A stream, not one JSON document: each event's `data` is a PaymentEvent.
            let stream = utoipa::openapi::schema::ObjectBuilder::new()
                .schema_type(utoipa::openapi::schema::Type::String)
                .description(Some(
                    "Server-sent events: `event: stage` or `event: status`, each with `data:` a \
                     PaymentEvent (#/components/schemas/PaymentEvent) as JSON; the current status \
                     comes first and the stream ends after a final status",
                ))
                .build();
            ok = ok.content(
                content_type,
                ContentBuilder::new().schema(Some(stream)).build(),
            );
        } else if !route.response.is_empty() {
            ok = ok.content(content_type, json_content(route.response));
        }
        op = op.response(route.status.to_string(), ok.build()).response(
            "4XX",
            ResponseBuilder::new()
                .description("What was wrong and how to fix it; nothing was changed")
                .content("application/json", json_content("ErrorBody"))
                .build(),
        )
        .response(
            "5XX",
            ResponseBuilder::new()
                .description("The host failed or a provider could not be reached; the body says whether to retry")
                .content("application/json", json_content("ErrorBody"))
                .build(),
        );
        doc.paths
            .add_path_operation(route.path, vec![method(route.method)], op.build());
    }
    doc
}

pub async fn serve() -> Json<utoipa::openapi::OpenApi> {
    Json(document())
}
