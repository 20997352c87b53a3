//! Every failure answers in the kind of the place it happened: the site's error page (with the
//! hotline) for the applicant's pages, the back office's own page under `/admin`, JSON under
//! `/api`, and the bare answer a payment gateway expects from its notification endpoint, which
//! needs no session and no CSRF token.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use axum::http::{Method, StatusCode};
use support::{Payload, TestApp};

/// The site's error page, as the default configuration renders it.
#[track_caller]
fn assert_site_error_page(reply: &support::Reply, status: StatusCode, title: &str) {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert!(reply.header("content-type").unwrap().starts_with("text/html"), "{:?}", reply.headers);
    assert!(reply.body.contains(&format!("<h1>{title}</h1>")), "{}", reply.body);
    assert!(reply.body.contains("如需帮助，请致电客服热线 400-000-0000（演示）"), "{}", reply.body);
    assert!(!reply.body.contains("data-testid=\"admin-error\""), "{}", reply.body);
}

#[tokio::test]
async fn a_page_that_names_nothing_shows_the_error_page_with_the_hotline() {
    let app = TestApp::new().await;
    let mut c = app.user("13800138000").await;
    for path in [
        "/orders/not-a-number",
        "/orders/99999",
        "/orders/99999/invoice/pdf",
        "/applications/abc",
        "/applications/99999/subject",
        "/addresses/1x/edit",
        "/applications/99999/print/application",
        "/no-such-page",
    ] {
        let reply = c.get(path).await;
        assert_site_error_page(&reply, StatusCode::NOT_FOUND, "页面不存在");
        assert!(reply.body.contains("请求的内容不存在"), "{path}: {}", reply.body);
    }
    // An unknown step of a real application is as unknown as a wrong id.
    let application = support::complete_application(&mut c, "personal", &support::resident_id(41)).await;
    let reply = c.get(&format!("/applications/{application}/no-such-step")).await;
    assert_site_error_page(&reply, StatusCode::NOT_FOUND, "页面不存在");
}

#[tokio::test]
async fn a_refused_page_action_explains_itself_on_the_error_page() {
    let app = TestApp::new().await;
    let mut c = app.user("13800138000").await;
    let application = support::complete_application(&mut c, "personal", &support::resident_id(41)).await;
    let order =
        c.order(application, "faces-order-00001", support::pickup_order_body()).await.json()["id"].as_i64().unwrap();
    // Receipt can be confirmed only for a couriered key on its way: the use case refuses.
    let token = c.csrf().await;
    let reply = c
        .send(
            Method::POST,
            &format!("/orders/{order}/confirm-receipt"),
            Payload::Form(vec![("_csrf".into(), token)]),
            &[],
        )
        .await;
    assert_site_error_page(&reply, StatusCode::CONFLICT, "操作未完成");
}

#[tokio::test]
async fn the_back_office_answers_in_its_own_frame() {
    let app = TestApp::new().await;
    let mut reviewer = app.staff("reviewer1", "reviewer", None).await;
    for path in ["/admin/orders/not-a-number", "/admin/orders/99999", "/admin/orders/abc/documents/id_front"] {
        let reply = reviewer.get(path).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}: {}", reply.body);
        assert!(reply.body.contains("data-testid=\"admin-error\">请求的内容不存在"), "{path}: {}", reply.body);
        assert!(!reply.body.contains("客服热线"), "{path}: the applicant's error page: {}", reply.body);
    }
    // Anonymous visitors are sent to the staff login, not the applicants'.
    let reply = app.client().get("/admin/orders/1").await;
    assert_eq!(reply.header("location"), Some("/admin/login"));
}

#[tokio::test]
async fn the_api_answers_json_for_the_same_mistakes() {
    let app = TestApp::new().await;
    let mut c = app.user("13800138000").await;
    for path in ["/api/v1/orders/not-a-number", "/api/v1/orders/99999", "/api/v1/no-such-endpoint"] {
        let reply = c.get(path).await;
        reply.assert_status(StatusCode::NOT_FOUND);
        assert_eq!(reply.code(), "not_found", "{path}");
    }
}

#[tokio::test]
async fn the_gateway_endpoint_is_the_only_unsafe_route_without_a_csrf_token() {
    let app = TestApp::new().await;
    let mut stranger = app.client();
    let cross_site = [("origin", "https://evil.example"), ("content-type", "application/x-www-form-urlencoded")];
    // A forged notification reaches the signature check (and fails it), with no cookie issued.
    let reply = stranger.send_raw(Method::POST, "/pay/notify/alipay", b"a=1".to_vec(), &cross_site).await;
    reply.assert_status(StatusCode::OK);
    assert_ne!(reply.body, "success");
    assert!(reply.set_cookies().is_empty(), "{:?}", reply.set_cookies());
    let reply = stranger.send_raw(Method::POST, "/pay/notify/no-such-gateway", Vec::new(), &cross_site).await;
    reply.assert_status(StatusCode::NOT_FOUND);
    assert!(reply.set_cookies().is_empty());
    // The same request anywhere else, even beside it, is refused by the CSRF check.
    for path in ["/pay/return/alipay", "/orders/1/pay", "/pay/notify"] {
        let reply = stranger.send_raw(Method::POST, path, b"a=1".to_vec(), &cross_site).await;
        assert!(
            reply.status == StatusCode::FORBIDDEN || reply.status == StatusCode::METHOD_NOT_ALLOWED,
            "{path}: {} {}",
            reply.status,
            reply.body
        );
    }
}
