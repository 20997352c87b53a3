//! SECURITY B1: every id-bearing route, called by another user, answers 404 and reveals nothing;
//! called anonymously, 401. The API side of the matrix is read from the OpenAPI document, so a
//! new id route that is not listed here fails the test.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use support::{TestApp, address_body};

/// Every id-bearing API route with a body that would be valid for its owner.
fn matrix() -> Vec<(&'static str, &'static str, Option<Value>)> {
    let subject = json!({"company_name": "被人改掉", "credit_code": "91350100M000100Y43", "user_type": "enterprise", "holder_name": "坏人", "holder_id_number": "11010519491231002X"});
    let agent =
        json!({"name": "坏人", "id_number": "11010519491231002X", "phone": "13700000000", "email": "x@example.com"});
    vec![
        ("get", "/api/v1/addresses/{id}", None),
        ("put", "/api/v1/addresses/{id}", Some(address_body("被别人改掉"))),
        ("delete", "/api/v1/addresses/{id}", None),
        ("post", "/api/v1/addresses/{id}/default", None),
        ("get", "/api/v1/applications/{id}", None),
        ("delete", "/api/v1/applications/{id}", None),
        ("put", "/api/v1/applications/{id}/package", Some(json!({"package_id": 1}))),
        ("put", "/api/v1/applications/{id}/subject", Some(subject)),
        ("put", "/api/v1/applications/{id}/agent", Some(agent)),
        ("post", "/api/v1/applications/{id}/order", Some(support::pickup_order_body())),
        ("get", "/api/v1/applications/{id}/documents", None),
        ("get", "/api/v1/applications/{id}/documents/{kind}", None),
        ("put", "/api/v1/applications/{id}/documents/{kind}", None),
        ("delete", "/api/v1/applications/{id}/documents/{kind}", None),
        ("post", "/api/v1/applications/{id}/documents/{kind}/ocr", None),
        ("get", "/api/v1/applications/{id}/readings", None),
        ("get", "/api/v1/applications/{id}/reading-status", None),
        ("get", "/api/v1/orders/{id}", None),
        ("post", "/api/v1/orders/{id}/cancel", None),
        ("post", "/api/v1/orders/{id}/resubmit", None),
        ("get", "/api/v1/orders/{id}/payments", None),
        ("post", "/api/v1/orders/{id}/payments", Some(json!({"method": "alipay_page"}))),
        ("post", "/api/v1/orders/{id}/payments/refresh", None),
        ("post", "/api/v1/orders/{id}/confirm-receipt", None),
    ]
}

#[tokio::test]
async fn the_matrix_lists_every_id_route() {
    let doc = serde_json::to_value(web::openapi()).unwrap();
    let mut documented: Vec<(String, String)> = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        // Certificates are addressed by serial; another user's real certificate is refused in
        // tests/certificates.rs, where a station has made one.
        if path.contains('{') && !path.contains("{serial}") {
            for method in item.as_object().unwrap().keys() {
                documented.push((method.clone(), path.clone()));
            }
        }
    }
    documented.sort();
    let mut listed: Vec<(String, String)> = matrix().into_iter().map(|(m, p, _)| (m.into(), p.into())).collect();
    listed.sort();
    assert_eq!(documented, listed, "an id-bearing API route is missing from the IDOR matrix");
}

/// The owner's objects (an address, a draft, an order) and an intruder who owns objects too.
struct Fixture {
    app: TestApp,
    owner: support::Client,
    other: support::Client,
    address: i64,
    application: i64,
    ordered: i64,
    order: i64,
}

async fn fixture() -> Fixture {
    let app = TestApp::new().await;
    let mut owner = app.user("13800138000").await;
    let mut other = app.user("13900139000").await;
    let address =
        owner.call(Method::POST, "/api/v1/addresses", Some(address_body("机密大厦8层808"))).await.json()["id"]
            .as_i64()
            .unwrap();
    let application = owner
        .call(Method::POST, "/api/v1/applications", Some(json!({"subject_kind": "enterprise", "business": "new"})))
        .await
        .json()["id"]
        .as_i64()
        .unwrap();
    let subject = json!({"company_name": "机密科技有限公司", "credit_code": "91350100M000100Y43", "user_type": "enterprise", "holder_name": "王五", "holder_id_number": "11010519491231002X"});
    owner
        .call(Method::PUT, &format!("/api/v1/applications/{application}/subject"), Some(subject))
        .await
        .assert_status(StatusCode::OK);
    // A second, complete application of the owner's, turned into an order (another subject).
    let ordered = support::complete_application(&mut owner, "enterprise", "91350100M000200Y4T").await;
    let placed = owner.order(ordered, "key-idor-0001", support::pickup_order_body()).await;
    placed.assert_status(StatusCode::CREATED);
    let order = placed.json()["id"].as_i64().unwrap();
    owner
        .upload(&format!("/api/v1/applications/{application}/documents/license"), "license.png", &support::png(32, 32))
        .await
        .assert_status(StatusCode::CREATED);
    // The intruder owns objects of their own, so ids exist on both sides.
    other
        .call(Method::POST, "/api/v1/addresses", Some(address_body("别人的地址1号")))
        .await
        .assert_status(StatusCode::CREATED);
    other
        .call(Method::POST, "/api/v1/applications", Some(json!({"subject_kind": "personal", "business": "new"})))
        .await
        .assert_status(StatusCode::CREATED);

    Fixture { app, owner, other, address, application, ordered, order }
}

#[tokio::test]
async fn no_api_route_shows_or_changes_another_users_objects() {
    let Fixture { app, mut owner, mut other, address, application, order, .. } = fixture().await;
    for (method, template, body) in matrix() {
        let id = if template.contains("addresses") {
            address
        } else if template.starts_with("/api/v1/orders") {
            order
        } else {
            application
        };
        let path = template.replace("{id}", &id.to_string()).replace("{kind}", "license");
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let reply = if method == Method::PUT && path.contains("/documents/") {
            other.upload(&path, "evil.png", &support::png(8, 8)).await
        } else {
            other.call(method.clone(), &path, body.clone()).await
        };
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{method} {path}");
        for secret in ["机密大厦", "机密科技", "王五", "002X"] {
            assert!(!reply.body.contains(secret), "{method} {path} leaked {secret}");
        }
        let anon = app.client().call(method.clone(), &path, body).await;
        assert_eq!(anon.status, StatusCode::UNAUTHORIZED, "anonymous {method} {path}");
    }

    // The owner's objects are untouched.
    let after = owner.get(&format!("/api/v1/addresses/{address}")).await.json();
    assert_eq!((after["detail"].as_str(), after["is_default"].as_bool()), (Some("机密大厦8层808"), Some(true)));
    let license = owner.get(&format!("/api/v1/applications/{application}/documents/license")).await;
    assert_eq!(image::load_from_memory(&license.bytes).unwrap().width(), 32, "the owner's document is untouched");
    let mine = owner.get(&format!("/api/v1/applications/{application}")).await.json();
    assert_eq!((mine["company_name"].as_str(), mine["package_id"].as_i64()), (Some("机密科技有限公司"), None));
    assert_eq!(owner.get(&format!("/api/v1/orders/{order}")).await.json()["status"], "pending_payment");
    assert!(!other.get("/api/v1/orders").await.body.contains("机密科技"));
}

#[tokio::test]
async fn no_page_shows_or_changes_another_users_objects() {
    // `_app` keeps the database alive for the whole test.
    let Fixture { app: _app, mut owner, mut other, address, application, ordered, order } = fixture().await;
    // HTML routes that carry an address id.
    let reply = other.get(&format!("/addresses/{address}/edit")).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert!(!reply.body.contains("机密大厦"));
    let form = [
        ("recipient", "坏人"),
        ("phone", "13712345678"),
        ("province_code", "440000"),
        ("city_code", "440300"),
        ("district_code", "440305"),
        ("detail", "被别人改掉了"),
    ];
    for path in [
        format!("/addresses/{address}"),
        format!("/addresses/{address}/delete"),
        format!("/addresses/{address}/default"),
    ] {
        let reply = other.submit(&path, &form).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "POST {path}");
        assert!(!reply.body.contains("机密大厦"));
    }
    for path in [
        format!("/applications/{application}"),
        format!("/applications/{application}/subject"),
        format!("/applications/{application}/subject/readings"),
        format!("/orders/{order}"),
        format!("/orders/{order}/pay"),
        format!("/orders/{order}/invoice"),
        format!("/orders/{order}/invoice/red-pdf"),
        format!("/orders/{order}/seal.svg"),
    ] {
        let reply = other.get(&path).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "GET {path}");
        assert!(!reply.body.contains("机密科技") && !reply.body.contains("示例科技"), "GET {path} leaked");
    }
    for path in [
        format!("/applications/{application}/package"),
        format!("/applications/{ordered}/confirm"),
        format!("/orders/{order}/cancel"),
        format!("/orders/{order}/resubmit"),
        format!("/orders/{order}/pay"),
        format!("/orders/{order}/pay/refresh"),
        format!("/orders/{order}/confirm-receipt"),
    ] {
        let reply = other
            .submit(
                &path,
                &[
                    ("package_id", "1"),
                    ("delivery", "pickup"),
                    ("pickup_point_id", "1"),
                    ("invoice_kind", "none"),
                    ("idempotency_key", "intruder-0001"),
                    ("method", "alipay_page"),
                ],
            )
            .await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "POST {path}");
    }
    assert!(!other.get("/orders").await.body.contains("示例科技"));
    assert!(!other.get("/api/v1/addresses").await.body.contains("机密大厦"));
    assert!(!other.get("/api/v1/applications").await.body.contains("机密科技"));

    let after = owner.get(&format!("/api/v1/addresses/{address}")).await.json();
    assert_eq!(after["detail"].as_str(), Some("机密大厦8层808"));
    assert_eq!(owner.get(&format!("/api/v1/orders/{order}")).await.json()["status"], "pending_payment");
}
