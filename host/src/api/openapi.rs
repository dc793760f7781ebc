//! `GET /openapi.json`: the API described by the router that serves it. Each
//! handler carries its `#[utoipa::path]` (method, path, body, answers, who may
//! call it) and [`super::routes`] registers it with `routes!`, which adds the
//! route to the router and the operation to the document in one step; they
//! cannot drift. [`finish`] adds what every operation shares: its id and tag,
//! the security it needs, its path parameters and the error envelope.

use std::sync::LazyLock;

use axum::http::header;
use axum::response::IntoResponse;
use utoipa::OpenApi;
use utoipa::openapi::path::{Operation, ParameterBuilder, ParameterIn};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, Required, ResponseBuilder};

use crate::service::PaymentEvent;

/// The extension naming who may call an operation: `public` (no key),
/// `staff` (any API key) or `admin` (an admin key; a staff key gets 403).
/// Every operation declares it; `api_openapi.rs` checks it against the server.
pub const ROLE: &str = "x-vetpay-role";

/// Who may call an operation, as [`ROLE`] spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Public,
    Staff,
    Admin,
}

impl Access {
    pub fn parse(text: &str) -> Option<Access> {
        match text {
            "public" => Some(Access::Public),
            "staff" => Some(Access::Staff),
            "admin" => Some(Access::Admin),
            _ => None,
        }
    }

    fn sentence(self) -> &'static str {
        match self {
            Access::Public => "Needs no API key.",
            Access::Staff => "Any API key of the organisation (staff or admin).",
            Access::Admin => "An admin API key; a staff key gets 403 forbidden.",
        }
    }
}

/// A plugin's `.wasm` file, sent as the raw body.
pub struct WasmFile;

impl utoipa::PartialSchema for WasmFile {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .content_media_type("application/wasm")
            .description(Some(
                "A WebAssembly component with a vetpay:manifest section, at most 16 MiB",
            ))
            .into()
    }
}

impl utoipa::ToSchema for WasmFile {}

/// One event of `GET /v1/payments/{id}/events`. In OpenAPI 3.1 the schema of
/// a `text/event-stream` answer describes each event (3.2 names it
/// `itemSchema`): its `event` name and its `data`, JSON text whose
/// `contentSchema` is [`PaymentEvent`].
pub struct EventStream;

impl utoipa::PartialSchema for EventStream {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        let mut data = ObjectBuilder::new()
            .schema_type(Type::String)
            .content_media_type("application/json")
            .description(Some("A PaymentEvent as JSON"))
            .build();
        // utoipa has no field for JSON Schema's contentSchema; its flattened
        // extension map writes the keyword as it is.
        data.extensions.get_or_insert_default().insert(
            "contentSchema".to_owned(),
            serde_json::json!({ "$ref": "#/components/schemas/PaymentEvent" }),
        );
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(
                "A server-sent event: `stage` for each stage the plugin reports, `status` with \
                 the payment whenever it changes (the current one first); the stream ends \
                 after a final status",
            ))
            .property(
                "event",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some(["stage", "status"])),
            )
            .property("data", data)
            .required("event")
            .required("data")
            .into()
    }
}

impl utoipa::ToSchema for EventStream {}

/// A settings body: setting keys with their values (`null` removes one).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct SettingValues(std::collections::BTreeMap<String, serde_json::Value>);

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

/// What the handlers do not name themselves: the envelope every error answer
/// carries, and the event each `data:` of the payment stream holds.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "vetpay",
        description = "Clinic backend: invoices, payments, settings and payment plugins. Authenticate with `Authorization: Bearer KEY`. Money is integer minor units with an ISO 4217 currency. Each operation's `x-vetpay-role` says who may call it: `public` (no key), `staff` (any API key) or `admin` (an admin key)."
    ),
    components(schemas(ErrorBody, ErrorDetail, super::error::ErrorCode, PaymentEvent))
)]
struct Shared;

/// The document the router starts from, before any route is added.
pub(super) fn base() -> utoipa::openapi::OpenApi {
    let mut doc = Shared::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc.components.get_or_insert_default().add_security_scheme(
        "bearer",
        SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
    );
    doc
}

fn error_response(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build()
}

/// Who may call `op`, from its [`ROLE`]; a handler without one is a bug that
/// every test building the document catches.
pub fn access(method: &str, path: &str, op: &Operation) -> Access {
    op.extensions
        .as_ref()
        .and_then(|e| e.get(ROLE))
        .and_then(|v| v.as_str())
        .and_then(Access::parse)
        .unwrap_or_else(|| {
            panic!("{method} {path}: its #[utoipa::path] needs extensions((\"{ROLE}\" = json!(\"public\" | \"staff\" | \"admin\")))")
        })
}

/// A struct that another flattens (`allOf`) cannot forbid other properties:
/// serde's `deny_unknown_fields` (kept for parsing, as for a manifest's
/// settings) would make every flattened answer fail its own schema.
fn open_flattened(components: &mut utoipa::openapi::Components) {
    use utoipa::openapi::RefOr;
    use utoipa::openapi::schema::{AdditionalProperties, Schema};
    let flattened: Vec<String> = components
        .schemas
        .values()
        .filter_map(|s| match s {
            RefOr::T(Schema::AllOf(all)) => Some(all.items.iter()),
            _ => None,
        })
        .flatten()
        .filter_map(|item| match item {
            RefOr::Ref(r) => r.ref_location.rsplit('/').next().map(str::to_owned),
            RefOr::T(_) => None,
        })
        .collect();
    for name in flattened {
        if let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(&name)
            && matches!(
                object.additional_properties.as_deref(),
                Some(AdditionalProperties::FreeForm(false))
            )
        {
            object.additional_properties = None;
        }
    }
}

/// Adds what every operation shares to the document `routes!` collected.
pub(super) fn finish(mut doc: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    if let Some(components) = doc.components.as_mut() {
        open_flattened(components);
    }
    for (path, item) in doc.paths.paths.iter_mut() {
        let operations = [
            ("get", &mut item.get),
            ("put", &mut item.put),
            ("post", &mut item.post),
            ("delete", &mut item.delete),
            ("patch", &mut item.patch),
            ("head", &mut item.head),
            ("options", &mut item.options),
            ("trace", &mut item.trace),
        ];
        for (method, op) in operations {
            let Some(op) = op.as_mut() else { continue };
            let access = access(method, path, op);
            // Ids from method and path: unique, and stable across handler renames.
            op.operation_id = Some(format!(
                "{method}_{}",
                path.trim_start_matches('/')
                    .replace(['/', '{', '}', '.', '-'], "_")
            ));
            let tag = path.split('/').nth(2).unwrap_or("service").to_owned();
            op.tags = Some(vec![tag]);
            op.description = Some(match op.description.take() {
                Some(d) if !d.is_empty() => format!("{d}\n\n{}", access.sentence()),
                _ => access.sentence().to_owned(),
            });
            op.security = match access {
                Access::Public => None,
                Access::Staff | Access::Admin => {
                    Some(vec![SecurityRequirement::new::<_, _, String>("bearer", [])])
                }
            };
            // Every `{name}` is a string path parameter, typed even where the
            // handler did not say more about it.
            let parameters = op.parameters.get_or_insert_default();
            for segment in path.split('/') {
                let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) else {
                    continue;
                };
                let declared = parameters
                    .iter()
                    .any(|p| p.name == name && p.parameter_in == ParameterIn::Path);
                if !declared {
                    parameters.push(
                        ParameterBuilder::new()
                            .name(name)
                            .parameter_in(ParameterIn::Path)
                            .required(Required::True)
                            .schema(Some(
                                utoipa::openapi::schema::ObjectBuilder::new()
                                    .schema_type(utoipa::openapi::schema::Type::String),
                            ))
                            .build(),
                    );
                }
            }
            if parameters.is_empty() {
                op.parameters = None;
            }
            let responses = &mut op.responses.responses;
            responses.entry("4XX".to_owned()).or_insert_with(|| {
                error_response("What was wrong and how to fix it; nothing was changed").into()
            });
            responses.entry("5XX".to_owned()).or_insert_with(|| {
                error_response(
                    "The host failed or a provider could not be reached; the body says whether to retry",
                )
                .into()
            });
        }
    }
    doc
}

/// The whole description: what `GET /openapi.json` serves and `vetpay openapi` prints.
pub fn document() -> utoipa::openapi::OpenApi {
    finish(super::routes().into_openapi())
}

/// Built once: the routes do not change while the server runs.
static SERVED: LazyLock<String> =
    LazyLock::new(|| serde_json::to_string(&document()).expect("the OpenAPI document serialises"));

#[utoipa::path(
    get,
    path = "/openapi.json",
    summary = "This description (OpenAPI 3.1)",
    extensions(("x-vetpay-role" = json!("public"))),
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json", body = Object))
)]
pub async fn serve() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        SERVED.as_str(),
    )
}
