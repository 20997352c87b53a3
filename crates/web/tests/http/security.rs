//! Cross-cutting protections: CSRF on every state-changing route (SECURITY B4), security headers
//! on every response (C3), no personal data or secrets in logs (E6), the dev outbox only in
//! development mode, operational endpoints.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use axum::http::{Method, StatusCode};
use serde_json::json;
use std::io::Write;
use std::sync::{Arc, Mutex};
use support::{PASSWORD, Payload, TestApp, address_body};

const PHONE: &str = "13800138000";

/// Every state-changing route with a concrete id: API routes come from the OpenAPI document,
/// HTML form routes are listed.
fn unsafe_routes(id: i64) -> Vec<(Method, String)> {
    let doc = serde_json::to_value(web::openapi()).unwrap();
    let mut routes = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if method != "get" {
                routes.push((
                    Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(),
                    path.replace("{id}", &id.to_string()),
                ));
            }
        }
    }
    for path in [
        "/login",
        "/register",
        "/forgot-password",
        "/logout",
        "/account/profile",
        "/account/password",
        "/addresses",
        "/account/export",
        "/account/close/code",
        "/account/close",
    ] {
        routes.push((Method::POST, path.to_owned()));
    }
    for path in [
        "/addresses/{id}",
        "/addresses/{id}/delete",
        "/addresses/{id}/default",
        "/applications/{id}/package",
        "/applications/{id}/subject",
        "/applications/{id}/agent",
        "/applications/{id}/confirm",
        "/orders/{id}/cancel",
        "/orders/{id}/resubmit",
    ] {
        routes.push((Method::POST, path.replace("{id}", &id.to_string())));
    }
    routes
}

#[tokio::test]
async fn every_state_changing_route_needs_a_same_origin_token() {
    let app = TestApp::new().await;
    let mut c = app.user(PHONE).await;
    let created = c.call(Method::POST, "/api/v1/addresses", Some(address_body("科技园1栋101"))).await.json();
    let id = created["id"].as_i64().unwrap();
    let token = c.csrf().await;
    let routes = unsafe_routes(id);
    assert!(routes.len() >= 20, "route inventory looks incomplete: {routes:?}");

    for (method, path) in &routes {
        let is_api = path.starts_with("/api/");
        let payload = || {
            if is_api {
                Payload::Json(address_body("攻击者写入"))
            } else {
                Payload::Form(vec![("detail".into(), "攻击者写入".into())])
            }
        };
        let no_token = c.send(method.clone(), path, payload(), &[]).await;
        assert_eq!(no_token.status, StatusCode::FORBIDDEN, "{method} {path} without token");
        let wrong = c.send(method.clone(), path, payload(), &[("x-csrf-token", "forged")]).await;
        assert_eq!(wrong.status, StatusCode::FORBIDDEN, "{method} {path} with a forged token");
        let foreign = c
            .send(method.clone(), path, payload(), &[("x-csrf-token", &token), ("origin", "https://evil.example")])
            .await;
        assert_eq!(foreign.status, StatusCode::FORBIDDEN, "{method} {path} from a foreign origin");
        let cross = c
            .send(method.clone(), path, payload(), &[("x-csrf-token", &token), ("sec-fetch-site", "cross-site")])
            .await;
        assert_eq!(cross.status, StatusCode::FORBIDDEN, "{method} {path} cross-site");
        if is_api {
            assert_eq!(no_token.code(), "csrf_failed");
        } else {
            assert!(no_token.body.contains("页面已过期"));
        }
    }
    // Nothing changed: still logged in, the address is intact, the password still works.
    let after = c.get(&format!("/api/v1/addresses/{id}")).await;
    after.assert_status(StatusCode::OK);
    assert_eq!(after.json()["detail"], "科技园1栋101");
    app.client().login(PHONE, PASSWORD).await.assert_status(StatusCode::OK);

    // Same-origin requests with the token work, from the API and from a form.
    let same = c
        .send(
            Method::POST,
            &format!("/api/v1/addresses/{id}/default"),
            Payload::None,
            &[("x-csrf-token", &token), ("origin", "http://localhost"), ("sec-fetch-site", "same-origin")],
        )
        .await;
    same.assert_status(StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn state_changing_form_routes_refuse_get() {
    let app = TestApp::new().await;
    let mut c = app.user(PHONE).await;
    for path in [
        "/logout",
        "/account/profile",
        "/account/password",
        "/addresses/1",
        "/addresses/1/delete",
        "/addresses/1/default",
    ] {
        assert_eq!(c.get(path).await.status, StatusCode::METHOD_NOT_ALLOWED, "GET {path}");
    }
    c.get("/api/v1/me").await.assert_status(StatusCode::OK);
}

#[tokio::test]
async fn every_kind_of_response_carries_the_security_headers() {
    let app = TestApp::new().await;
    let mut c = app.user(PHONE).await;
    let replies = vec![
        ("page", c.get("/").await),
        ("private page", c.get("/account").await),
        ("api", c.get("/api/v1/me").await),
        ("api error", app.client().get("/api/v1/me").await),
        ("not found", c.get("/no/such/page").await),
        ("static", c.get("/static/app.css").await),
        ("csrf rejection", c.send(Method::POST, "/api/v1/addresses", Payload::Json(json!({})), &[]).await),
        ("openapi", c.get("/api/openapi.json").await),
    ];
    for (what, reply) in &replies {
        let csp = reply.header("content-security-policy").unwrap_or_default();
        assert!(
            csp.contains("frame-ancestors 'none'")
                && csp.contains("script-src 'self'")
                && !csp.contains("unsafe-inline"),
            "{what}: {csp}"
        );
        assert_eq!(reply.header("x-content-type-options"), Some("nosniff"), "{what}");
        assert_eq!(reply.header("referrer-policy"), Some("same-origin"), "{what}");
        assert!(
            reply
                .header("strict-transport-security")
                .is_some_and(|v| v.contains("max-age=31536000") && v.contains("includeSubDomains")),
            "{what}"
        );
        let content_type = reply.header("content-type").unwrap_or_default();
        assert!(content_type.contains("charset=utf-8") || content_type == "application/json", "{what}: {content_type}");
    }
    for (what, reply) in &replies[..5] {
        assert_eq!(reply.header("cache-control"), Some("no-store"), "{what} may hold personal data");
    }
    assert!(replies[2].1.header("x-request-id").is_some());
}

#[tokio::test]
async fn pages_load_no_script_inline_or_from_elsewhere() {
    let app = TestApp::new().await;
    let mut c = app.user(PHONE).await;
    for path in
        ["/", "/login", "/register", "/account", "/addresses", "/addresses/new", "/orders", "/apply", "/dev/outbox"]
    {
        let body = c.get(path).await.body;
        assert!(
            !body.contains("<script>") && !body.contains("onclick=") && !body.contains("style=\""),
            "{path} has inline code"
        );
        assert!(!body.contains("http://") && !body.contains("https://"), "{path} references another origin");
    }
}

#[tokio::test]
async fn the_dev_outbox_exists_only_in_development() {
    let dev = TestApp::new().await;
    let mut c = dev.client();
    c.send_code(PHONE, "register").await.assert_status(StatusCode::ACCEPTED);
    let page = c.get("/dev/outbox").await;
    page.assert_status(StatusCode::OK);
    assert!(page.body.contains(&dev.last_code(PHONE).await));
    assert_eq!(c.get("/api/v1/dev/outbox").await.json()[0]["channel"], "sms");

    let prod = TestApp::with_config(|config| config.dev_mode = false).await;
    let mut c = prod.client();
    assert_eq!(c.get("/dev/outbox").await.status, StatusCode::NOT_FOUND);
    assert_eq!(c.get("/api/v1/dev/outbox").await.status, StatusCode::NOT_FOUND);
    assert!(!c.get("/register").await.body.contains("开发发件箱"));
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let app = TestApp::new().await;
    let mut c = app.client();
    assert_eq!(c.get("/healthz").await.body, "ok");
    assert_eq!(c.get("/readyz").await.body, "ready");
    app.db.db.close().await;
    c.get("/readyz").await.assert_status(StatusCode::SERVICE_UNAVAILABLE);
    c.get("/healthz").await.assert_status(StatusCode::OK);
}

#[tokio::test]
async fn a_broken_database_gives_a_generic_error_without_internals() {
    let app = TestApp::new().await;
    let mut c = app.client();
    let token = c.csrf().await;
    app.db.db.close().await;
    let reply = c
        .send(
            Method::POST,
            "/api/v1/session",
            Payload::Json(json!({"phone": PHONE, "password": PASSWORD})),
            &[("x-csrf-token", &token)],
        )
        .await;
    reply.assert_status(StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(reply.code(), "internal_error");
    for leak in ["sqlx", "SELECT", "pool", "/work", ".rs"] {
        assert!(!reply.body.contains(leak), "error body leaks {leak}: {}", reply.body);
    }
}

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn logs_carry_no_personal_data_or_secrets() {
    let captured = Captured::default();
    let sink = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || sink.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let app = TestApp::new().await;
    let mut c = app.user(PHONE).await;
    let code = app.last_code(PHONE).await;
    app.client().login(PHONE, "a wrong password").await;
    c.call(Method::POST, "/api/v1/addresses", Some(address_body("科技园1栋101")))
        .await
        .assert_status(StatusCode::CREATED);
    c.call(Method::PUT, "/api/v1/me", Some(json!({"name": "韩梅梅", "email": "han@example.com"}))).await;
    let session = c.session_cookie().unwrap();
    let csrf = c.csrf().await;

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("login failed") && logs.contains("138****8000"), "failures are logged, masked:\n{logs}");
    for secret in [
        PHONE,
        "13912345678",
        &code,
        PASSWORD,
        "a wrong password",
        &session,
        &csrf,
        "科技园",
        "韩梅梅",
        "han@example.com",
    ] {
        assert!(!logs.contains(secret), "log contains {secret}:\n{logs}");
    }
}

/// A digest of everything a user can change, excluding session bookkeeping (`last_seen_at`).
async fn snapshot(app: &TestApp) -> Vec<String> {
    let mut out = Vec::new();
    for table in [
        "users",
        "addresses",
        "applications",
        "orders",
        "order_events",
        "documents",
        "consents",
        "sms_codes",
        "login_failures",
        "dev_outbox",
    ] {
        let count = app.db.scalar(&format!("SELECT COUNT(*) FROM {table}")).await;
        let last = app.db.scalar(&format!("SELECT COALESCE(MAX(id), 0) FROM {table}")).await;
        out.push(format!("{table}:{count}:{last}"));
    }
    let updated = app.db.scalar("SELECT COALESCE(SUM(updated_at), 0) FROM orders").await;
    out.push(format!("orders.updated:{updated}"));
    out
}

/// SECURITY B4: a crawl of every GET route, as the owner and as a stranger, changes nothing.
#[tokio::test]
async fn no_get_route_changes_anything() {
    let app = TestApp::new().await;
    let mut c = app.user(PHONE).await;
    c.call(Method::POST, "/api/v1/addresses", Some(address_body("科技园1栋101")))
        .await
        .assert_status(StatusCode::CREATED);
    let application = support::complete_application(&mut c, "personal", &support::resident_id(3)).await;
    let order =
        c.order(application, "crawl-order-0001", support::pickup_order_body()).await.json()["id"].as_i64().unwrap();
    let address = c.get("/api/v1/addresses").await.json()[0]["id"].as_i64().unwrap();

    let doc = serde_json::to_value(web::openapi()).unwrap();
    let mut paths: Vec<String> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, item)| item.get("get").is_some())
        // A certificate exists only once a station made one (tests/certificates.rs reads them).
        .filter(|(p, _)| !p.contains("{serial}"))
        .map(|(p, _)| {
            p.replace("/applications/{id}", &format!("/applications/{application}"))
                .replace("/orders/{id}", &format!("/orders/{order}"))
                .replace("/addresses/{id}", &format!("/addresses/{address}"))
                .replace("{kind}", "holder_id_front")
        })
        .collect();
    for page in [
        "/",
        "/login",
        "/register",
        "/forgot-password",
        "/account",
        "/addresses",
        "/addresses/new",
        "/apply",
        "/orders",
        "/certificates",
        "/dev/outbox",
        "/templates/authorization",
    ] {
        paths.push(page.into());
    }
    paths.push(format!("/addresses/{address}/edit"));
    paths.push(format!("/orders/{order}"));
    paths.push(format!("/applications/{application}"));
    for step in ["package", "subject", "agent", "materials", "confirm"] {
        paths.push(format!("/applications/{application}/{step}"));
    }
    paths.push(format!("/applications/{application}/print/service_agreement"));

    let before = snapshot(&app).await;
    let mut stranger = app.user("13900139000").await;
    let after_setup = snapshot(&app).await;
    for path in &paths {
        let reply = c.get(path).await;
        assert!(reply.status.is_success() || reply.status.is_redirection(), "GET {path}: {}", reply.status);
        stranger.get(path).await;
        app.client().get(path).await;
    }
    assert_ne!(before, after_setup, "the snapshot sees changes");
    assert_eq!(snapshot(&app).await, after_setup, "a GET changed stored data");
}

/// Only a JSON object is a body where an object is documented: `[]` (which serde would read as
/// a struct's fields in order) clears nothing, positional arrays set nothing.
#[tokio::test]
async fn bodies_that_are_not_json_objects_change_nothing() {
    let app = TestApp::new().await;
    let mut c = app.user(PHONE).await;
    c.call(Method::PUT, "/api/v1/me", Some(json!({"name": "李雷", "email": "li@example.com"})))
        .await
        .assert_status(StatusCode::NO_CONTENT);
    for body in [json!([]), json!(["韩梅梅", "han@example.com"]), json!("李雷"), json!(7), json!(null)] {
        let reply = c.call(Method::PUT, "/api/v1/me", Some(body.clone())).await;
        assert_eq!(
            (reply.status, reply.code().as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, "json_object_required"),
            "{body}"
        );
    }
    let token = c.csrf().await;
    let spaced = c
        .send_raw(
            Method::PUT,
            "/api/v1/me",
            b" \n [\"x\", \"y\"]".to_vec(),
            &[("x-csrf-token", &token), ("content-type", "application/json")],
        )
        .await;
    assert_eq!(spaced.code(), "json_object_required");
    let me = c.get("/api/v1/me").await.json();
    assert_eq!((me["name"].as_str(), me["email"].as_str()), (Some("李雷"), Some("li@example.com")));
    // Objects still work, with a JSON media type of any suffix, and a wrong type is still 415.
    let suffixed = c
        .send_raw(
            Method::PUT,
            "/api/v1/me",
            r#"{"name": "李雷", "email": "lei@example.com"}"#.as_bytes().to_vec(),
            &[("x-csrf-token", &token), ("content-type", "application/merge-patch+json")],
        )
        .await;
    suffixed.assert_status(StatusCode::NO_CONTENT);
    let text = c
        .send_raw(
            Method::PUT,
            "/api/v1/me",
            b"{}".to_vec(),
            &[("x-csrf-token", &token), ("content-type", "text/plain")],
        )
        .await;
    assert_eq!(text.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

/// The login throttle keeps no phone number, client address or username in the clear
/// (SECURITY: no table holds a plaintext phone number where a keyed hash would do).
#[tokio::test]
async fn the_login_throttle_names_no_phone_number() {
    let app = TestApp::new().await;
    let _registered = app.user(PHONE).await;
    for phone in [PHONE, "13912345678"] {
        let mut stranger = app.client_from("203.0.113.77");
        stranger.login(phone, "a wrong password").await.assert_status(StatusCode::UNAUTHORIZED);
    }
    let keys = app.db.texts("SELECT key FROM login_failures").await;
    assert_eq!(keys.len(), 4, "two accounts and one client, twice: {keys:?}");
    for key in &keys {
        for secret in [PHONE, "13912345678", "203.0.113.77", "login:"] {
            assert!(!key.contains(secret), "{key} names {secret}");
        }
    }
    // The throttle still works on the hashed keys.
    let mut stranger = app.client_from("203.0.113.78");
    for _ in 0..9 {
        stranger.login("13912345678", "a wrong password").await;
    }
    let throttled = stranger.login("13912345678", "a wrong password").await;
    assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS, "{}", throttled.body);
}

/// Static assets: linked by the hash of their bytes, cached for a year, revalidated by ETag,
/// compressed for browsers that accept it, and never touching a session or setting a cookie.
#[tokio::test]
async fn static_assets_are_immutable_compressed_and_cookieless() {
    let app = TestApp::new().await;
    let mut c = app.client();
    let page = c.get("/").await.body;
    let href = page.split("rel=\"stylesheet\" href=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    assert!(href.starts_with("/static/app.css?v="), "{href}");

    let mut fresh = app.client();
    let plain = fresh.get(&href).await;
    plain.assert_status(StatusCode::OK);
    assert_eq!(plain.header("cache-control"), Some("public, max-age=31536000, immutable"));
    assert!(plain.set_cookies().is_empty(), "no cookie on a public answer: {:?}", plain.set_cookies());
    assert_eq!(plain.header("content-type"), Some("text/css; charset=utf-8"));
    assert_eq!(plain.header("content-encoding"), None);
    let etag = plain.header("etag").unwrap().to_owned();

    let again = fresh.send_raw(Method::GET, &href, Vec::new(), &[("if-none-match", &etag)]).await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert!(again.bytes.is_empty());
    for (accept, coding) in [("br, gzip", "br"), ("gzip, deflate", "gzip"), ("gzip;q=0, identity", "")] {
        let reply = fresh.send_raw(Method::GET, &href, Vec::new(), &[("accept-encoding", accept)]).await;
        assert_eq!(reply.header("content-encoding").unwrap_or_default(), coding, "{accept}");
        assert_eq!(reply.header("vary"), Some("accept-encoding"));
        if coding.is_empty() {
            assert_eq!(reply.bytes, plain.bytes);
        } else {
            assert!(reply.bytes.len() < plain.bytes.len() / 2, "{coding}");
        }
    }
    // An old or missing version is served, but only briefly cached.
    let stale = fresh.get("/static/app.css?v=0000000000000000").await;
    assert_eq!(stale.header("cache-control"), Some("public, max-age=300"));
    assert_eq!(fresh.get("/static/nope.css").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_unknown_path_answers_in_the_kind_of_its_area() {
    let app = TestApp::new().await;
    let mut c = app.client();
    let api = c.get("/api/v1/no-such-thing").await;
    api.assert_status(StatusCode::NOT_FOUND);
    assert_eq!(api.code(), "not_found", "the API's JSON error, not a page: {}", api.body);
    assert!(api.header("content-type").is_some_and(|t| t.starts_with("application/json")));
    let page = c.get("/no-such-page").await;
    page.assert_status(StatusCode::NOT_FOUND);
    assert!(page.header("content-type").is_some_and(|t| t.starts_with("text/html")) && page.body.contains("<html"));
}
