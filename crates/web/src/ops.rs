//! Operational endpoints (`/healthz`, `/readyz`, `/metrics`) and request telemetry.

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::collections::HashSet;
use std::sync::RwLock;
use std::time::Instant;
use tower_http::request_id::{MakeRequestId, RequestId};

use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz)).route("/metrics", get(metrics))
}

/// The process is up.
async fn healthz() -> &'static str {
    "ok"
}

/// The process can serve: the database answers.
async fn readyz(State(state): State<AppState>) -> Response {
    if state.app.is_ready().await {
        "ready".into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
    }
}

/// Prometheus text exposition.
async fn metrics(State(state): State<AppState>) -> Response {
    match &state.config.metrics {
        Some(handle) => {
            ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], handle.render())
                .into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Request ids: this process's random prefix and a counter, `1f2e3d4c-000000000001` — unique
/// across instances and restarts, without a system call per request (a UUID v4 asked the kernel
/// for randomness on every one).
#[derive(Clone, Copy, Default)]
pub struct RequestIds;

static REQUEST_PREFIX: std::sync::LazyLock<u32> = std::sync::LazyLock::new(|| uuid::Uuid::new_v4().as_fields().0);
static REQUEST_COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

impl MakeRequestId for RequestIds {
    fn make_request_id<B>(&mut self, _request: &axum::http::Request<B>) -> Option<RequestId> {
        let n = REQUEST_COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let id = format!("{:08x}-{n:012x}", *REQUEST_PREFIX);
        HeaderValue::from_str(&id).ok().map(RequestId::new)
    }
}

/// Route templates as `'static` labels: each distinct template is kept once (there are as many
/// as routes), so counting a request allocates no label strings.
fn route_label(route: &str) -> &'static str {
    static ROUTES: std::sync::LazyLock<RwLock<HashSet<&'static str>>> = std::sync::LazyLock::new(RwLock::default);
    if let Ok(known) = ROUTES.read()
        && let Some(label) = known.get(route)
    {
        return label;
    }
    let Ok(mut known) = ROUTES.write() else { return "unlabelled" };
    if let Some(label) = known.get(route) {
        return label;
    }
    let label: &'static str = Box::leak(route.to_owned().into_boxed_str());
    known.insert(label);
    label
}

/// The status as a label; the usual ones without an allocation.
fn status_label(status: StatusCode) -> metrics::SharedString {
    let label = match status.as_u16() {
        200 => "200",
        201 => "201",
        202 => "202",
        204 => "204",
        302 => "302",
        303 => "303",
        304 => "304",
        400 => "400",
        401 => "401",
        403 => "403",
        404 => "404",
        409 => "409",
        413 => "413",
        422 => "422",
        429 => "429",
        500 => "500",
        503 => "503",
        _ => return status.as_str().to_owned().into(),
    };
    label.into()
}

fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Counts requests and their latency by route template (never by raw path, which holds ids).
pub async fn track_metrics(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", |p| route_label(p.as_str()));
    let method = method_label(request.method());
    let response = next.run(request).await;
    let status = status_label(response.status());
    metrics::counter!("http_requests_total", "method" => method, "route" => route, "status" => status).increment(1);
    metrics::histogram!("http_request_duration_seconds", "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

/// Request span: method, route template and request id; no query strings, no bodies.
pub fn make_span(request: &Request) -> tracing::Span {
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str);
    let request_id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("");
    tracing::info_span!("request", method = method_label(request.method()), route, request_id)
}
