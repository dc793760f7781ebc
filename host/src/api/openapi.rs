//! `GET /openapi.json`: placeholder replaced below.
pub async fn serve() -> &'static str {
    "{}"
}
