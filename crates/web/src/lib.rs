//! The HTTP edge of sealdesk: one axum router serving the HTML pages (`pages`), the JSON API under
//! `/api/v1` (`api`, documented at `/api/openapi.json`), static assets and operational endpoints.
//!
//! Handlers are thin: they parse the request, call one use case of [`app::App`], and render.

mod admin;
mod api;
mod assets;
mod ca;
mod error;
mod files;
mod gateways;
mod html;
mod ops;
mod pages;
mod qr;
mod security;
mod station;
mod times;
mod visitor;

use app::App;
use axum::Router;
use metrics_exporter_prometheus::PrometheusHandle;
use std::sync::Arc;
use std::time::Duration;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub use admin::{Access, policy as admin_policy};
pub use api::openapi;

/// Largest request body the extractors accept (forms and JSON; uploads get their own limit).
const BODY_LIMIT_BYTES: usize = 256 * 1024;

/// Settings of the web edge.
#[derive(Clone)]
pub struct WebConfig {
    /// Development mode: shows the dev outbox. Never on in production.
    pub dev_mode: bool,
    /// Served over TLS (directly or behind a proxy): `Secure` + `__Host-` cookies.
    pub secure_cookies: bool,
    /// The site's origin as browsers see it (`https://seal.example.cn`); `None` derives it from
    /// the `Host` header.
    pub public_origin: Option<String>,
    /// Take the client address from the last `X-Forwarded-For` hop (only behind a proxy we run).
    pub trust_forwarded_for: bool,
    /// Customer-service hotline shown on every page.
    pub hotline: String,
    /// Operator name shown in the header and footer.
    pub operator: String,
    /// Where `/metrics` reads from; `None` disables the endpoint.
    pub metrics: Option<PrometheusHandle>,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            dev_mode: false,
            secure_cookies: false,
            public_origin: None,
            trust_forwarded_for: false,
            hotline: "400-000-0000（演示）".into(),
            operator: "电子签章服务中心".into(),
            metrics: None,
        }
    }
}

/// Shared state of every handler; cloned per extractor, so everything in it is behind one `Arc`.
#[derive(Clone)]
pub struct AppState {
    pub app: Arc<App>,
    pub config: Arc<WebConfig>,
}

/// An unknown path: the API's JSON error under `/api/`, the 页面不存在 page elsewhere.
async fn not_found(
    axum::extract::State(state): axum::extract::State<AppState>,
    uri: axum::http::Uri,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    if uri.path() == "/api" || uri.path().starts_with("/api/") {
        return error::ApiError::new(axum::http::StatusCode::NOT_FOUND, "not_found", "接口不存在").into_response();
    }
    pages::not_found(&state)
}

/// The whole site.
pub fn router(app: App, config: WebConfig) -> Router {
    let state = AppState { app: Arc::new(app), config: Arc::new(config) };
    let (api_router, _) = api::router(state.config.dev_mode).split_for_parts();
    // A panic answers in the kind of the route: JSON under /api, a page elsewhere.
    let api_router = api_router.layer(CatchPanicLayer::custom(error::panic_response));
    let pages = pages::router(&state).merge(admin::router(&state)).layer(CatchPanicLayer::custom(error::panic_page));
    let site = Router::new()
        .merge(pages)
        .merge(api_router)
        .merge(ops::router())
        .merge(ca::router())
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), visitor::visitor_layer));
    // Machine endpoints get no visitor (no session read, no cookies, so no CSRF token to check):
    // production stations authenticate each request with a bearer token, and the payment
    // gateways' notifications with their signature.
    let machines = station::router().merge(gateways::router()).layer(CatchPanicLayer::custom(error::panic_response));
    let site = Router::new().merge(machines).merge(site);
    // Static assets are bytes in memory: they need no visitor (no session read, no CSRF token,
    // no cookie on a public answer), no request id, span, timeout or per-route metrics; the
    // handler sets the security headers every answer carries itself.
    let assets = assets::router();
    let site = site
        .layer(axum::middleware::from_fn(security::headers_layer))
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        .layer(TimeoutLayer::with_status_code(axum::http::StatusCode::REQUEST_TIMEOUT, Duration::from_secs(30)))
        .layer(CatchPanicLayer::custom(error::panic_response))
        .layer(axum::middleware::from_fn(ops::track_metrics))
        .layer(TraceLayer::new_for_http().make_span_with(ops::make_span))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(ops::RequestIds));
    Router::new().merge(assets).merge(site).with_state(state)
}

#[cfg(test)]
mod layering {
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::Path;

    /// `module -> modules it names as crate::…`, over the crate's top-level modules (comments
    /// excluded; `lib.rs` is the root that wires them and is left out).
    fn imports() -> BTreeMap<String, BTreeSet<String>> {
        fn walk(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(&path, files);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    files.push(path);
                }
            }
        }
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        walk(&src, &mut files);
        // The top-level module a file belongs to: `pages/orders.rs` and `pages/mod.rs` → `pages`.
        let top = |file: &Path| -> String {
            let first = file.strip_prefix(&src).unwrap().components().next().unwrap();
            first.as_os_str().to_string_lossy().trim_end_matches(".rs").to_owned()
        };
        let modules: BTreeSet<String> = files.iter().map(|f| top(f)).filter(|m| m != "lib").collect();
        let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for file in &files {
            let top = top(file);
            if top == "lib" {
                continue;
            }
            let text = std::fs::read_to_string(file).unwrap();
            let code = text.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n");
            let named = graph.entry(top.clone()).or_default();
            for module in &modules {
                let direct = format!("crate::{module}");
                let grouped = code.split("use crate::{").skip(1).any(|rest| {
                    rest.split('}')
                        .next()
                        .unwrap_or("")
                        .split(',')
                        .any(|item| item.trim().split("::").next() == Some(module.as_str()))
                });
                if *module != top
                    && (code.contains(&format!("{direct}::")) || code.contains(&format!("{direct};")) || grouped)
                {
                    named.insert(module.clone());
                }
            }
        }
        graph
    }

    /// Depth-first search: panics at the first edge back into the path, naming the circle.
    fn visit<'a>(
        node: &'a str,
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) {
        if let Some(start) = path.iter().position(|n| *n == node) {
            panic!("import circle: {} -> {node}", path[start..].join(" -> "));
        }
        if !done.insert(node) {
            return;
        }
        path.push(node);
        for next in graph.get(node).into_iter().flatten() {
            visit(next, graph, path, done);
        }
        path.pop();
    }
    #[test]
    fn the_modules_import_each_other_without_a_circle() {
        let graph = imports();
        // The edges that make the layering: pages and the back office over `html` and the
        // visitor; the visitor over `html`; nothing under them reaches back up.
        assert!(graph["pages"].contains("html") && graph["visitor"].contains("html"), "{graph:?}");
        let mut done = BTreeSet::new();
        for node in graph.keys() {
            visit(node, &graph, &mut Vec::new(), &mut done);
        }
    }
}
