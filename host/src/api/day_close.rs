//! `/v1/departments/{id}/close` and `/v1/departments/{id}/closes/{date}`:
//! the day's close (docs/ARCHITECTURE.md, "The day's close").

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::body::optional;
use super::error::ErrorCode;
use super::{ApiError, AppState, Caller};
use crate::service::DayCloseReport;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseDay {
    /// The department's local date, YYYY-MM-DD; today there by default.
    date: Option<String>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Format {
    /// json (default), csv (a line per payment) or text (a receipt to print).
    format: Option<String>,
}

#[utoipa::path(
    post,
    path = "/v1/departments/{id}/close",
    summary = "Close the department's day: End of Day on its terminals, the takings, and the differences (closing again answers the first close)",
    extensions(("x-vetpay-role" = json!("staff"))),
    request_body(content = Option<CloseDay>, description = "The day; today by default"),
    responses(
        (status = 201, description = "Closed now", body = DayCloseReport),
        (status = 200, description = "Closed before: the first close", body = DayCloseReport),
    )
)]
pub async fn close(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<DayCloseReport>), ApiError> {
    let req: Option<CloseDay> = optional(&body)?;
    let closed = state
        .clinic
        .close_day(
            &caller.organisation_id,
            &id,
            req.and_then(|r| r.date).as_deref(),
        )
        .await?;
    let status = if closed.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(closed.report)))
}

#[utoipa::path(
    get,
    path = "/v1/departments/{id}/closes/{date}",
    summary = "A closed day's report (?format=json|csv|text)",
    extensions(("x-vetpay-role" = json!("staff"))),
    params(Format),
    responses((status = 200, description = "The report", content(
        (DayCloseReport = "application/json"),
        (String = "text/csv"),
        (String = "text/plain"),
    )))
)]
pub async fn report(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, date)): Path<(String, String)>,
    Query(format): Query<Format>,
) -> Result<Response, ApiError> {
    let report = state
        .clinic
        .day_close(&caller.organisation_id, &id, &date)
        .await?;
    Ok(match format.format.as_deref().unwrap_or("json") {
        "json" => Json(report).into_response(),
        "csv" => (
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            report.csv(),
        )
            .into_response(),
        "text" => (
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            report.text(),
        )
            .into_response(),
        other => {
            return Err(ApiError::new(
                ErrorCode::Invalid,
                format!("format: '{other}' is none of json, csv, text"),
            ));
        }
    })
}
