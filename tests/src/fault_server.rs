//! A real HTTP server on loopback for the fault-injection plugin: it echoes what
//! it received (so tests see what actually left the host), serves an oversized
//! body, answers slowly, and redirects away.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};

/// A request as the server received it.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

#[derive(Clone, Default)]
struct Shared {
    received: Arc<Mutex<Vec<Received>>>,
}

/// A running server; stops when the test's runtime ends.
pub struct FaultServer {
    pub url: String,
    pub port: u16,
    shared: Shared,
}

/// Size of the `/huge` body: twice the host's default response limit.
pub const HUGE_BODY_BYTES: usize = 2 * 1024 * 1024;

impl FaultServer {
    pub async fn start() -> Self {
        let shared = Shared::default();
        let app = Router::new()
            .route("/echo", any(echo))
            .route("/huge", get(huge))
            .route("/slow", get(slow))
            .route("/redirect-away", get(redirect_away))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            axum::serve(listener, app).await.ok();
        });
        Self {
            url: format!("http://127.0.0.1:{port}"),
            port,
            shared,
        }
    }

    /// Everything received so far.
    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }
}

async fn echo(State(shared): State<Shared>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    let received = Received {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        headers: headers_of(&parts.headers),
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    shared.received.lock().unwrap().push(received.clone());
    let reply = serde_json::json!({
        "method": received.method,
        "headers": received.headers,
        "body": received.body,
    });
    (
        [(header::CONTENT_TYPE, "application/json")],
        reply.to_string(),
    )
        .into_response()
}

fn headers_of(h: &HeaderMap) -> Vec<(String, String)> {
    h.iter()
        .map(|(n, v)| {
            (
                n.to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

async fn huge() -> Response {
    // Streamed without a Content-Length, so the host must count as it reads.
    let chunks = (0..HUGE_BODY_BYTES / 8192).map(|_| Ok::<_, std::io::Error>(vec![b'x'; 8192]));
    Body::from_stream(futures::stream::iter(chunks)).into_response()
}

async fn slow() -> Response {
    tokio::time::sleep(Duration::from_secs(60)).await;
    StatusCode::NO_CONTENT.into_response()
}

async fn redirect_away() -> Response {
    (
        StatusCode::FOUND,
        [(header::LOCATION, "https://evil.example.com/collect")],
    )
        .into_response()
}
