//! The day's close at the counter: pick the department, close its day, and
//! read the report (takings, End of Day against the books, what is open).

use axum::Form;
use axum::extract::Path;
use axum::http::Method;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;

use super::backend::Call;
use super::counter::departments;
use super::{ConsoleError, Ctx, seg};

pub async fn page(ctx: Ctx) -> Response {
    let result = async {
        let departments = departments(&ctx).await?;
        ctx.render(
            "day_close.html",
            "day-close",
            json!({ "title": ctx.t("close-title"), "departments": departments, "report": null }),
        )
    }
    .await;
    ctx.finish("day-close", result)
}

#[derive(Deserialize)]
pub struct CloseForm {
    department_id: String,
}

/// Closes today in the chosen department, then shows the report (closing a
/// closed day shows its first close).
pub async fn close(ctx: Ctx, Form(form): Form<CloseForm>) -> Response {
    let path = format!("/v1/departments/{}/close", seg(&form.department_id));
    match ctx
        .api()
        .send(ctx.key(), Call::with(Method::POST, &path).json(json!({})))
        .await
    {
        Ok(report) => Redirect::to(&format!(
            "/day-close/{}/{}",
            seg(&form.department_id),
            seg(report["date"].as_str().unwrap_or_default())
        ))
        .into_response(),
        Err(e) => ctx.after("/day-close", Err(e)).await,
    }
}

pub async fn report(ctx: Ctx, Path((department, date)): Path<(String, String)>) -> Response {
    let result = async {
        let departments = departments(&ctx).await?;
        let report = ctx
            .get(&format!("/v1/departments/{}/closes/{}", seg(&department), seg(&date)))
            .await?;
        if report.is_null() {
            return Err(ConsoleError::NotFound(ctx.t("close-none")));
        }
        ctx.render(
            "day_close.html",
            "day-close",
            json!({
                "title": ctx.t("close-title"),
                "departments": departments,
                "report": report,
                "csv": format!("/v1/departments/{}/closes/{}?format=csv", seg(&department), seg(&date)),
            }),
        )
    }
    .await;
    ctx.finish("day-close", result)
}
