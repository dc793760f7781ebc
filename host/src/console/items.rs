//! The item catalog for admins: search, add an item with its price in a
//! department's currency, archive and restore (all through the API).

use axum::Form;
use axum::extract::{Path, Query};
use axum::http::Method;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::admin::{admin_form, admin_page};
use super::backend::Call;
use super::counter::departments;
use super::{ConsoleError, Ctx, seg};

#[derive(Deserialize)]
pub struct Search {
    q: Option<String>,
}

pub async fn page(ctx: Ctx, Query(search): Query<Search>) -> Response {
    admin_page(&ctx, "catalog", async {
        let q = search.q.unwrap_or_default();
        let path = format!(
            "/v1/catalog/items?archived=true&q={}",
            percent_encoding::utf8_percent_encode(q.trim(), percent_encoding::NON_ALPHANUMERIC)
        );
        let items = ctx.get(&path).await?;
        let departments = departments(&ctx).await?;
        let mut currencies: Vec<Value> = departments.iter().map(|d| d["currency"].clone()).collect();
        currencies.sort_by_key(|c| c.as_str().map(str::to_owned));
        currencies.dedup();
        ctx.render(
            "admin_catalog.html",
            "catalog",
            json!({ "title": ctx.t("catalog-title"), "items": items, "q": q, "currencies": currencies }),
        )
    })
    .await
}

#[derive(Deserialize)]
pub struct ItemForm {
    code: String,
    kind: String,
    name_en: String,
    name_da: Option<String>,
    vat_rate: String,
    currency: String,
    price: String,
}

pub async fn add(ctx: Ctx, Form(form): Form<ItemForm>) -> Response {
    admin_form(&ctx, "/admin/catalog", async {
        let lang = ctx.signed.lang;
        let unit_price = lang
            .parse_amount(&form.price, &form.currency)
            .ok_or_else(|| {
                ConsoleError::BadInput(lang.text(
                    "error-amount-field",
                    &[("field", ctx.t("catalog-price").into())],
                ))
            })?;
        let mut names = Map::new();
        names.insert("en".into(), json!(form.name_en.trim()));
        if let Some(da) = form
            .name_da
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty())
        {
            names.insert("da".into(), json!(da));
        }
        let body = json!({
            "code": form.code.trim(),
            "kind": form.kind,
            "names": names,
            "vat_rate": form.vat_rate.trim().replace(',', "."),
            "prices": [{ "currency": form.currency, "unit_price": unit_price }],
        });
        ctx.api()
            .send(
                ctx.key(),
                Call::with(Method::POST, "/v1/catalog/items").json(body),
            )
            .await?;
        Ok(ctx.t("catalog-added"))
    })
    .await
}

#[derive(Deserialize)]
pub struct ArchiveForm {
    archived: String,
}

pub async fn archive(ctx: Ctx, Path(id): Path<String>, Form(form): Form<ArchiveForm>) -> Response {
    admin_form(&ctx, "/admin/catalog", async {
        let archived = form.archived == "true";
        let path = format!("/v1/catalog/items/{}", seg(&id));
        ctx.api()
            .send(
                ctx.key(),
                Call::with(Method::PATCH, &path).json(json!({ "archived": archived })),
            )
            .await?;
        Ok(ctx.t(if archived {
            "catalog-archived"
        } else {
            "catalog-restored"
        }))
    })
    .await
}
