//! Administration (admin keys only): plugins and their markets, settings and
//! allowed hosts; terminals with End of Day; settings; API keys and the
//! audit trail. The health-plan catalog and billing runs are in `catalog`.

use axum::Form;
use axum::extract::{Multipart, Path};
use axum::http::Method;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::backend::Call;
use super::counter::departments;
use super::{ConsoleError, Ctx, seg};

/// Runs an admin page; staff get the refusal page (403).
pub(super) async fn admin_page<F>(ctx: &Ctx, nav: &'static str, page: F) -> Response
where
    F: std::future::Future<Output = Result<Response, ConsoleError>>,
{
    let result = match ctx.signed.require_admin() {
        Ok(()) => page.await,
        Err(e) => Err(e),
    };
    ctx.finish(nav, result)
}

/// Runs an admin form; staff get the refusal page (403).
pub(super) async fn admin_form<F>(ctx: &Ctx, to: &str, action: F) -> Response
where
    F: std::future::Future<Output = Result<String, ConsoleError>>,
{
    let result = match ctx.signed.require_admin() {
        Ok(()) => action.await,
        Err(e) => Err(e),
    };
    ctx.after(to, result).await
}

pub async fn plugins(ctx: Ctx) -> Response {
    admin_page(&ctx, "plugins", async {
        let plugins = ctx.get("/v1/plugins").await?;
        ctx.render(
            "admin_plugins.html",
            "plugins",
            json!({ "title": ctx.t("plugins-title"), "plugins": plugins }),
        )
    })
    .await
}

/// Installs the uploaded `.wasm` through the API (which checks and compiles it).
pub async fn upload(ctx: Ctx, mut multipart: Multipart) -> Response {
    admin_form(&ctx, "/admin/plugins", async {
        let mut wasm = None;
        while let Some(field) = multipart
            .next_field()
            .await
            .map_err(|e| ConsoleError::BadInput(e.to_string()))?
        {
            if field.name() == Some("wasm") {
                let bytes = field
                    .bytes()
                    .await
                    .map_err(|e| ConsoleError::BadInput(e.to_string()))?;
                wasm = Some(bytes.to_vec());
            }
        }
        let wasm = wasm
            .filter(|w| !w.is_empty())
            .ok_or_else(|| ConsoleError::BadInput(ctx.t("plugin-upload-missing")))?;
        let mut call = Call::with(Method::POST, "/v1/plugins");
        call.bytes = Some((wasm, "application/wasm"));
        let installed = ctx.api().send(ctx.key(), call).await?;
        Ok(ctx.signed.lang.text(
            "plugin-installed",
            &[(
                "name",
                installed["manifest"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
                    .into(),
            )],
        ))
    })
    .await
}

#[derive(Deserialize)]
pub struct MarketForm {
    country: String,
    /// "enable" or "disable".
    action: String,
}

/// Switches a plugin on or off for a market; a refusal is the API's words.
pub async fn market(ctx: Ctx, Path(id): Path<String>, Form(form): Form<MarketForm>) -> Response {
    admin_form(&ctx, "/admin/plugins", async {
        let method = if form.action == "disable" {
            Method::DELETE
        } else {
            Method::PUT
        };
        let path = format!(
            "/v1/plugins/{}/markets/{}",
            seg(&id),
            seg(form.country.trim())
        );
        ctx.api().send(ctx.key(), Call::with(method, &path)).await?;
        Ok(ctx.t(if form.action == "disable" {
            "market-disabled"
        } else {
            "market-enabled"
        }))
    })
    .await
}

/// A plugin's settings drawn from its manifest's schema, and its allowed hosts.
pub async fn plugin(ctx: Ctx, Path(id): Path<String>) -> Response {
    admin_page(&ctx, "plugins", async {
        let plugins = ctx.get("/v1/plugins").await?;
        let plugin = plugins
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["id"].as_str() == Some(id.as_str()))
            .cloned()
            .ok_or_else(|| ConsoleError::NotFound(id.clone()))?;
        let settings = ctx
            .get(&format!("/v1/plugins/{}/settings", seg(&id)))
            .await?;
        let hosts = ctx
            .get(&format!("/v1/plugins/{}/allowed-hosts", seg(&id)))
            .await?;
        let mut departments = departments(&ctx).await?;
        for d in &mut departments {
            let department = d["id"].as_str().unwrap_or_default().to_owned();
            d["plugin_settings"] = ctx.get(&settings_path(&id, Some(&department))).await?;
        }
        ctx.render(
            "admin_plugin.html",
            "plugins",
            json!({
                "title": plugin["manifest"]["name"],
                "plugin": plugin,
                "settings": settings,
                "hosts": hosts,
                "departments": departments,
            }),
        )
    })
    .await
}

/// The API path of a plugin's settings at organisation or department level.
fn settings_path(plugin: &str, department: Option<&str>) -> String {
    match department {
        Some(d) => format!(
            "/v1/departments/{}/plugins/{}/settings",
            seg(d),
            seg(plugin)
        ),
        None => format!("/v1/plugins/{}/settings", seg(plugin)),
    }
}

/// Saves one level's settings form (the organisation's, or the department
/// its `_department` names): empty secret fields stay as they are (they are
/// never shown, so an empty field means "unchanged"); a cleared plain field
/// is removed, so the organisation's value applies again.
pub async fn plugin_settings(
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let to = format!("/admin/plugins/{id}");
    admin_form(&ctx, &to, async {
        let department = form
            .iter()
            .find(|(k, _)| k == "_department")
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty());
        let path = settings_path(&id, department);
        // The API lists only the settings of this level.
        let current = ctx.get(&path).await?;
        let mut values = Map::new();
        for spec in current.as_array().into_iter().flatten() {
            let key = spec["key"].as_str().unwrap_or_default();
            let given = form.iter().find(|(k, _)| k == key).map(|(_, v)| v.trim());
            let value = match (spec["type"].as_str(), given) {
                (Some("boolean"), given) => json!(if given.is_some() { "true" } else { "false" }),
                (_, None) => continue,
                (_, Some("")) if spec["secret"] == true => continue,
                (_, Some("")) if spec["is_set"] != true => continue,
                (_, Some("")) => Value::Null,
                (_, Some(v)) => json!(v),
            };
            values.insert(key.to_owned(), value);
        }
        ctx.api()
            .send(
                ctx.key(),
                Call::with(Method::PUT, &path).json(Value::Object(values)),
            )
            .await?;
        Ok(ctx.t("settings-saved"))
    })
    .await
}

#[derive(Deserialize)]
pub struct HostsForm {
    hosts: String,
}

pub async fn allowed_hosts(
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<HostsForm>,
) -> Response {
    let to = format!("/admin/plugins/{id}");
    admin_form(&ctx, &to, async {
        let hosts: Vec<&str> = form
            .hosts
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        let path = format!("/v1/plugins/{}/allowed-hosts", seg(&id));
        ctx.api()
            .send(
                ctx.key(),
                Call::with(Method::PUT, &path).json(json!({ "hosts": hosts })),
            )
            .await?;
        Ok(ctx.t("settings-saved"))
    })
    .await
}

/// Terminals per department, with the form to add one and End of Day; and
/// the provider's own list (each plugin's `list-terminals`, reached with the
/// department's settings) to add from.
pub async fn terminals(ctx: Ctx) -> Response {
    admin_page(&ctx, "terminals", async {
        let plugins = ctx.get("/v1/plugins").await?;
        let mut departments = departments(&ctx).await?;
        for d in &mut departments {
            let id = d["id"].as_str().unwrap_or_default().to_owned();
            d["terminals"] = ctx
                .get(&format!("/v1/departments/{}/terminals", seg(&id)))
                .await?;
            d["providers"] = provider_lists(&ctx, &plugins, &id, &d["country"]).await?;
        }
        ctx.render(
            "admin_terminals.html",
            "terminals",
            json!({
                "title": ctx.t("terminals-title"),
                "departments": departments,
                "plugins": plugins,
            }),
        )
    })
    .await
}

/// For each plugin switched on in the department's market that can list its
/// provider's terminals: the list, or the API's refusal in its own words (a
/// missing account setting, the provider unreachable) in its place.
async fn provider_lists(
    ctx: &Ctx,
    plugins: &Value,
    department_id: &str,
    country: &Value,
) -> Result<Value, ConsoleError> {
    let mut lists = Vec::new();
    for p in plugins.as_array().into_iter().flatten() {
        let lists_terminals = p["manifest"]["capabilities"]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c == "list-terminals"));
        let in_market = p["enabled_markets"]
            .as_array()
            .is_some_and(|m| m.contains(country));
        if !lists_terminals || !in_market {
            continue;
        }
        let plugin_id = p["id"].as_str().unwrap_or_default();
        let path = format!(
            "/v1/plugins/{}/terminals?department_id={}",
            seg(plugin_id),
            seg(department_id)
        );
        let (terminals, error) = match ctx.get(&path).await {
            Ok(list) => (list, Value::Null),
            Err(ConsoleError::Refused { message, .. }) => (json!([]), json!(message)),
            Err(e) => return Err(e),
        };
        lists.push(json!({
            "plugin": p,
            "terminals": terminals,
            "error": error,
        }));
    }
    Ok(Value::Array(lists))
}

#[derive(Deserialize)]
pub struct TerminalForm {
    department_id: String,
    plugin_id: String,
    terminal_id: String,
    name: String,
    #[serde(rename = "type")]
    terminal_type: String,
    model: Option<String>,
}

pub async fn add_terminal(ctx: Ctx, Form(form): Form<TerminalForm>) -> Response {
    admin_form(&ctx, "/admin/terminals", async {
        let path = format!("/v1/departments/{}/terminals", seg(&form.department_id));
        let model = form
            .model
            .as_deref()
            .map(str::trim)
            .filter(|m| !m.is_empty());
        ctx.api()
            .send(
                ctx.key(),
                Call::with(Method::POST, &path).json(json!({
                    "plugin_id": form.plugin_id,
                    "terminal_id": form.terminal_id.trim(),
                    "name": form.name.trim(),
                    "type": form.terminal_type.trim(),
                    "model": model,
                })),
            )
            .await?;
        Ok(ctx.t("terminal-added"))
    })
    .await
}

/// Runs End of Day on a terminal and shows the provider's report.
pub async fn end_of_day(ctx: Ctx, Path(id): Path<String>) -> Response {
    admin_page(&ctx, "terminals", async {
        let path = format!("/v1/terminals/{}/reconcile", seg(&id));
        let result = ctx
            .api()
            .send(ctx.key(), Call::with(Method::POST, &path))
            .await;
        match result {
            Ok(report) => ctx.render(
                "admin_report.html",
                "terminals",
                json!({ "title": ctx.t("end-of-day-title"), "report": report }),
            ),
            Err(ConsoleError::Refused { message, .. }) => ctx.render(
                "admin_report.html",
                "terminals",
                json!({ "title": ctx.t("end-of-day-title"), "error": message }),
            ),
            Err(e) => Err(e),
        }
    })
    .await
}

/// Organisation and department settings, with their labels in the reader's language.
pub async fn settings(ctx: Ctx) -> Response {
    admin_page(&ctx, "settings", async {
        let organisation = ctx.get("/v1/settings").await?;
        let mut departments = departments(&ctx).await?;
        for d in &mut departments {
            let id = d["id"].as_str().unwrap_or_default().to_owned();
            d["settings"] = ctx
                .get(&format!("/v1/departments/{}/settings", seg(&id)))
                .await?;
        }
        ctx.render(
            "admin_settings.html",
            "settings",
            json!({
                "title": ctx.t("settings-title"),
                "organisation": organisation,
                "departments": departments,
            }),
        )
    })
    .await
}

/// Saves one settings form (organisation, or the department it names).
pub async fn save_settings(ctx: Ctx, Form(form): Form<Vec<(String, String)>>) -> Response {
    admin_form(&ctx, "/admin/settings", async {
        let department = form
            .iter()
            .find(|(k, _)| k == "_department")
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty());
        let path = match &department {
            Some(d) => format!("/v1/departments/{}/settings", seg(d)),
            None => "/v1/settings".to_owned(),
        };
        let current = ctx.get(&path).await?;
        let mut values = Map::new();
        for setting in current.as_array().into_iter().flatten() {
            let key = setting["key"].as_str().unwrap_or_default();
            let given = form.iter().find(|(k, _)| k == key).map(|(_, v)| v.trim());
            let value = match (&setting["kind"], given) {
                (Value::String(k), given) if k == "boolean" => json!(given.is_some()),
                (_, None) => continue,
                (kind, Some(v)) if kind.get("integer").is_some() => {
                    json!(v.parse::<i64>().map_err(|_| {
                        ConsoleError::BadInput(
                            ctx.signed
                                .lang
                                .text("error-integer", &[("field", key.to_owned().into())]),
                        )
                    })?)
                }
                (_, Some(v)) => json!(v),
            };
            if value != setting["value"] {
                values.insert(key.to_owned(), value);
            }
        }
        ctx.api()
            .send(
                ctx.key(),
                Call::with(Method::PUT, &path).json(Value::Object(values)),
            )
            .await?;
        Ok(ctx.t("settings-saved"))
    })
    .await
}

/// A table page over one API list.
async fn table(
    ctx: &Ctx,
    nav: &'static str,
    title: &str,
    path: &str,
    columns: &[&str],
) -> Response {
    admin_page(ctx, nav, async {
        let rows = match ctx.get(path).await {
            Ok(rows) => rows,
            // The health-plan add-on is off: say so, and where to switch it on.
            Err(ConsoleError::Refused { code, .. }) if code == "health_plans_disabled" => {
                return ctx.render(
                    "admin_table.html",
                    nav,
                    json!({ "title": ctx.t(title), "rows": [], "columns": columns, "nav": nav,
                            "notice": ctx.t("health-plans-off") }),
                );
            }
            Err(e) => return Err(e),
        };
        let rows = match rows {
            Value::Array(rows) => rows,
            // A page of a longer list: its one array.
            Value::Object(map) => map
                .into_iter()
                .find_map(|(_, v)| match v {
                    Value::Array(rows) => Some(rows),
                    _ => None,
                })
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        ctx.render(
            "admin_table.html",
            nav,
            json!({ "title": ctx.t(title), "rows": rows, "columns": columns, "nav": nav }),
        )
    })
    .await
}

/// API keys: the list (never a secret), a new key, revoking one.
pub async fn keys(ctx: Ctx) -> Response {
    admin_page(&ctx, "keys", async {
        let keys = ctx.get("/v1/api-keys").await?;
        ctx.render(
            "admin_keys.html",
            "keys",
            json!({ "title": ctx.t("keys-title"), "keys": keys }),
        )
    })
    .await
}

#[derive(Deserialize)]
pub struct KeyForm {
    name: String,
    role: String,
    expires_in_days: Option<String>,
}

/// Makes a key and shows its secret this once (rendered, never kept).
pub async fn create_key(ctx: Ctx, Form(form): Form<KeyForm>) -> Response {
    admin_page(&ctx, "keys", async {
        let mut body = json!({ "name": form.name.trim(), "role": form.role });
        if let Some(days) = form
            .expires_in_days
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty())
        {
            body["expires_in_days"] = json!(days.parse::<i64>().map_err(|_| {
                ConsoleError::BadInput(ctx.signed.lang.text(
                    "error-integer",
                    &[("field", ctx.t("field-expires_at").into())],
                ))
            })?);
        }
        let created = match ctx
            .api()
            .send(
                ctx.key(),
                Call::with(Method::POST, "/v1/api-keys").json(body),
            )
            .await
        {
            Ok(created) => created,
            Err(ConsoleError::Refused { message, .. }) | Err(ConsoleError::BadInput(message)) => {
                return Ok(ctx
                    .after("/admin/keys", Err(ConsoleError::BadInput(message)))
                    .await);
            }
            Err(e) => return Err(e),
        };
        let keys = ctx.get("/v1/api-keys").await?;
        ctx.render(
            "admin_keys.html",
            "keys",
            json!({ "title": ctx.t("keys-title"), "keys": keys, "created": created }),
        )
    })
    .await
}

pub async fn revoke_key(ctx: Ctx, Path(id): Path<String>) -> Response {
    admin_form(&ctx, "/admin/keys", async {
        let path = format!("/v1/api-keys/{}", seg(&id));
        ctx.api()
            .send(ctx.key(), Call::with(Method::DELETE, &path))
            .await?;
        Ok(ctx.t("key-revoked"))
    })
    .await
}

pub async fn audit(ctx: Ctx) -> Response {
    table(
        &ctx,
        "audit",
        "audit-title",
        "/v1/audit-events",
        &["at", "actor_key_name", "action", "target_type", "target_id"],
    )
    .await
}
