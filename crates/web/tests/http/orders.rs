//! Orders over HTTP: 确认订单 with fees computed on the server, idempotent submission, one open
//! order per subject, frozen applications, cancel, auto-cancel, and the timeline.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use axum::http::{Method, StatusCode};
use serde_json::json;
use support::{TestApp, address_body, complete_application, pickup_order_body, resident_id};
use time::Duration;

const CREDIT_CODE: &str = "91350100M000100Y43";

#[tokio::test]
async fn a_courier_order_with_an_e_invoice_is_created_unpaid() {
    let app = TestApp::new().await;
    let mut c = app.user("13800138000").await;
    let address = c.call(Method::POST, "/api/v1/addresses", Some(address_body("科技园1栋101"))).await.json()["id"]
        .as_i64()
        .unwrap();
    let application = complete_application(&mut c, "enterprise", CREDIT_CODE).await;
    let body = json!({
        "delivery": "courier", "address_id": address,
        "invoice_kind": "normal", "invoice_title": "示例科技有限公司", "invoice_taxpayer_no": CREDIT_CODE,
        "invoice_delivery": "email", "invoice_email": "finance@example.com",
        // Whatever a client claims about money is ignored.
        "total_fen": 1, "status": "completed"
    });
    let reply = c.order(application, "order-attempt-0001", body).await;
    reply.assert_status(StatusCode::CREATED);
    let order = reply.json();
    assert_eq!((order["status"].as_str(), order["status_label"].as_str()), (Some("pending_payment"), Some("待支付")));
    assert!(order["order_no"].as_str().unwrap().starts_with("SD2026"));
    assert_eq!(
        order["fees"],
        json!({"package_fen": 40_000, "delivery_fen": 1500, "service_fen": 0, "total_fen": 41_500})
    );
    assert_eq!(order["ship_to"], "张三 139****5678 广东省深圳市南山区科技园1栋101");
    assert_eq!(order["invoice"]["email"], "finance@example.com");
    assert_eq!(order["timeline"].as_array().unwrap().len(), 1);
    assert_eq!(order["timeline"][0]["label"], "待支付");
    assert!(!reply.body.contains("13912345678"), "the phone is masked");
    assert!(!reply.body.contains("flagged"), "internal flags stay internal");

    let list = c.get("/api/v1/orders?status=pending_payment").await.json();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(c.get("/api/v1/orders?status=completed").await.json(), json!([]));
    assert_eq!(c.get("/api/v1/orders?status=bogus").await.status, StatusCode::UNPROCESSABLE_ENTITY);

    // The application is frozen while its order is open.
    let edit = c
        .call(
            Method::PUT,
            &format!("/api/v1/applications/{application}/agent"),
            Some(json!({"name": "改名", "id_number": "", "phone": "13700137000", "email": "a@example.com"})),
        )
        .await;
    assert_eq!((edit.status, edit.code().as_str()), (StatusCode::CONFLICT, "application_submitted"));
}

#[tokio::test]
async fn a_retry_never_creates_a_second_order() {
    let app = TestApp::new().await;
    let mut c = app.user("13800138000").await;
    let application = complete_application(&mut c, "personal", &resident_id(7)).await;
    let first = c.order(application, "double-click-0001", pickup_order_body()).await;
    first.assert_status(StatusCode::CREATED);
    let again = c.order(application, "double-click-0001", pickup_order_body()).await;
    again.assert_status(StatusCode::CREATED);
    assert_eq!(first.json()["id"], again.json()["id"]);
    assert_eq!(c.get("/api/v1/orders").await.json().as_array().unwrap().len(), 1);
    assert_eq!(first.json()["fees"]["delivery_fen"], 0, "pickup costs no postage");

    let changed = c.order(application, "double-click-0001", json!({"delivery": "pickup", "pickup_point_id": 1, "invoice_kind": "normal", "invoice_title": "李雷", "invoice_delivery": "with_key"})).await;
    assert_eq!((changed.status, changed.code().as_str()), (StatusCode::CONFLICT, "idempotency_key_reused"));
    let no_key = c.order(application, "", pickup_order_body()).await;
    assert_eq!(no_key.fields(), ["idempotency_key"]);
}

/// Twenty copies of one submission (a double-clicking user on a bad network, a retrying
/// client) in parallel: one order, and every copy gets the answer the first got.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_retries_with_one_key_all_get_the_first_answer() {
    let app = TestApp::new().await;
    let mut c = app.user("13800138000").await;
    let application = complete_application(&mut c, "personal", &resident_id(8)).await;
    let token = c.csrf().await;
    let copies = (0..20).map(|_| {
        let mut copy = c.clone_session();
        let token = token.clone();
        tokio::spawn(async move {
            copy.send(
                Method::POST,
                &format!("/api/v1/applications/{application}/order"),
                support::Payload::Json(pickup_order_body()),
                &[("x-csrf-token", &token), ("idempotency-key", "same-key-for-all-20")],
            )
            .await
        })
    });
    let mut answers = Vec::new();
    for copy in copies.collect::<Vec<_>>() {
        answers.push(copy.await.unwrap());
    }
    let ids: std::collections::BTreeSet<_> = answers
        .iter()
        .map(|a| {
            assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
            a.json()["id"].as_i64().unwrap()
        })
        .collect();
    assert_eq!(ids.len(), 1, "one order for all twenty");
    assert_eq!(c.get("/api/v1/orders").await.json().as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn one_open_order_per_subject_and_business() {
    let app = TestApp::new().await;
    let mut c = app.user("13800138000").await;
    let first = complete_application(&mut c, "enterprise", CREDIT_CODE).await;
    let order = c.order(first, "subject-order-01", pickup_order_body()).await.json();
    let second = complete_application(&mut c, "enterprise", &CREDIT_CODE.to_lowercase()).await;
    let refused = c.order(second, "subject-order-02", pickup_order_body()).await;
    assert_eq!((refused.status, refused.code().as_str()), (StatusCode::CONFLICT, "open_order_exists"));
    assert!(refused.body.contains(order["order_no"].as_str().unwrap()), "points at the existing order");

    // Someone else applying for the same company is refused without learning the order number.
    let mut stranger = app.user("13900139000").await;
    let theirs = complete_application(&mut stranger, "enterprise", CREDIT_CODE).await;
    let refused = stranger.order(theirs, "subject-order-03", pickup_order_body()).await;
    assert_eq!(refused.code(), "open_order_exists");
    assert!(!refused.body.contains(order["order_no"].as_str().unwrap()));

    // Once the first order is cancelled, the subject is free again.
    c.call(Method::POST, &format!("/api/v1/orders/{}/cancel", order["id"]), None).await.assert_status(StatusCode::OK);
    c.order(second, "subject-order-04", pickup_order_body()).await.assert_status(StatusCode::CREATED);
}

#[tokio::test]
async fn incomplete_or_invalid_confirmations_are_explained() {
    let app = TestApp::new().await;
    let mut c = app.user("13800138000").await;
    let draft = c
        .call(Method::POST, "/api/v1/applications", Some(json!({"subject_kind": "personal", "business": "new"})))
        .await
        .json()["id"]
        .as_i64()
        .unwrap();
    let incomplete = c.order(draft, "incomplete-0001", pickup_order_body()).await;
    assert_eq!((incomplete.status, incomplete.code().as_str()), (StatusCode::CONFLICT, "application_incomplete"));

    let application = complete_application(&mut c, "personal", &resident_id(9)).await;
    let bad = c.order(application, "invalid-0001", json!({"delivery": "courier", "address_id": 999, "invoice_kind": "special", "invoice_title": "", "invoice_delivery": "to_address"})).await;
    bad.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        bad.fields(),
        ["address_id", "invoice_kind", "invoice_title", "invoice_address_phone", "invoice_bank_account"]
    );
    assert!(bad.body.contains("请选择收货地址") && bad.body.contains("增值税专用发票只能开给单位"));
    assert_eq!(c.get("/api/v1/orders").await.json(), json!([]), "nothing was created");
}

#[tokio::test]
async fn cancelling_records_the_change_and_only_works_once() {
    let app = TestApp::new().await;
    let mut c = app.user("13800138000").await;
    let application = complete_application(&mut c, "personal", &resident_id(3)).await;
    let id = c.order(application, "cancel-me-0001", pickup_order_body()).await.json()["id"].as_i64().unwrap();
    let cancelled = c.call(Method::POST, &format!("/api/v1/orders/{id}/cancel"), None).await.json();
    assert_eq!(cancelled["status_label"], "已取消");
    let timeline = cancelled["timeline"].as_array().unwrap();
    assert_eq!(
        (timeline.len(), timeline[1]["from"].as_str(), timeline[1]["actor"].as_str()),
        (2, Some("pending_payment"), Some("applicant"))
    );
    let again = c.call(Method::POST, &format!("/api/v1/orders/{id}/cancel"), None).await;
    again.assert_status(StatusCode::CONFLICT);
    assert!(again.body.contains("订单当前状态为“已取消”"));
    // The application can be edited again.
    c.call(Method::PUT, &format!("/api/v1/applications/{application}/package"), Some(json!({"package_id": 7})))
        .await
        .assert_status(StatusCode::OK);
}

#[tokio::test]
async fn unpaid_orders_are_cancelled_after_a_day() {
    let app = TestApp::new().await;
    let mut c = app.user("13800138000").await;
    let application = complete_application(&mut c, "personal", &resident_id(4)).await;
    let id = c.order(application, "left-unpaid-0001", pickup_order_body()).await.json()["id"].as_i64().unwrap();
    app.advance(Duration::hours(23));
    assert_eq!(app.app.cancel_unpaid_orders().await.unwrap(), 0);
    app.advance(Duration::hours(2));
    assert_eq!(app.app.cancel_unpaid_orders().await.unwrap(), 1);
    // A day later the session has expired too.
    c.forget_csrf();
    c.login("13800138000", support::PASSWORD).await.assert_status(StatusCode::OK);
    let order = c.get(&format!("/api/v1/orders/{id}")).await.json();
    assert_eq!(order["status"], "cancelled");
    assert_eq!(order["timeline"][1]["actor"], "system");
    assert_eq!(order["timeline"][1]["reason"], "超时未支付，系统已自动取消");
    assert_eq!(app.app.cancel_unpaid_orders().await.unwrap(), 0, "nothing twice");
}

/// Moves an order the way payment and review will (those capabilities are not built yet): a test
/// helper only, straight through the store with the actors the state machine allows.
async fn pay_and_reject(app: &TestApp, order: i64, reason: &str) {
    use app::ports::OrderRepo;
    use domain::{Actor, OrderId, OrderStatus};
    let now = app.app.now();
    let id = OrderId(order);
    assert!(
        app.db
            .db
            .transition_order(
                id,
                OrderStatus::PendingPayment,
                OrderStatus::UnderReview,
                Actor::PaymentGateway,
                None,
                now
            )
            .await
            .unwrap()
    );
    assert!(
        app.db
            .db
            .transition_order(id, OrderStatus::UnderReview, OrderStatus::Rejected, Actor::Reviewer, Some(reason), now)
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn a_rejected_order_is_corrected_and_resubmitted() {
    let app = TestApp::new().await;
    let mut c = app.user("13800138000").await;
    let application = complete_application(&mut c, "enterprise", CREDIT_CODE).await;
    let order = c.order(application, "reject-me-0001", pickup_order_body()).await.json()["id"].as_i64().unwrap();

    // Not under review yet: nothing to resubmit, and the application stays frozen.
    let early = c.call(Method::POST, &format!("/api/v1/orders/{order}/resubmit"), None).await;
    assert_eq!(early.status, StatusCode::CONFLICT);
    pay_and_reject(&app, order, "营业执照照片不清晰").await;

    let page = c.get(&format!("/orders/{order}")).await;
    assert!(
        page.body.contains("审核不通过") && page.body.contains("营业执照照片不清晰") && page.body.contains("修改订单")
    );

    // 修改订单: holder details and documents can change, the paid-for package cannot.
    let fixed = json!({"company_name": "示例科技股份有限公司", "credit_code": CREDIT_CODE, "user_type": "enterprise", "holder_name": "王五", "holder_id_number": ""});
    c.call(Method::PUT, &format!("/api/v1/applications/{application}/subject"), Some(fixed))
        .await
        .assert_status(StatusCode::OK);
    c.upload(&format!("/api/v1/applications/{application}/documents/license"), "clear.png", &support::png(64, 64))
        .await
        .assert_status(StatusCode::CREATED);
    let package = c
        .call(Method::PUT, &format!("/api/v1/applications/{application}/package"), Some(json!({"package_id": 2})))
        .await;
    assert_eq!(package.code(), "package_locked");

    let resubmitted = c.submit(&format!("/orders/{order}/resubmit"), &[]).await;
    assert_eq!(resubmitted.header("location"), Some(format!("/orders/{order}?notice=order_resubmitted").as_str()));
    let detail = c.get(&format!("/api/v1/orders/{order}")).await.json();
    assert_eq!(
        (detail["status"].as_str(), detail["subject_name"].as_str()),
        (Some("under_review"), Some("示例科技股份有限公司"))
    );
    let labels: Vec<&str> =
        detail["timeline"].as_array().unwrap().iter().map(|e| e["label"].as_str().unwrap()).collect();
    assert_eq!(labels, ["待支付", "审核中", "审核不通过", "审核中"]);
    // Under review again: frozen.
    let frozen = c
        .call(
            Method::PUT,
            &format!("/api/v1/applications/{application}/agent"),
            Some(json!({"name": "赵六", "id_number": "", "phone": "13700137000", "email": "a@example.com"})),
        )
        .await;
    assert_eq!(frozen.code(), "application_submitted");
}

/// The manual's 修改订单: fix the materials, then 下一步 — the order goes back to review with its
/// delivery and invoice as they were; the wizard never offers a second 确认订单.
#[tokio::test]
async fn after_editing_a_rejected_order_next_resubmits_it_as_it_was() {
    let app = TestApp::new().await;
    let mut c = app.user("13800138000").await;
    let application = complete_application(&mut c, "personal", &resident_id(31)).await;
    let body = json!({"delivery": "pickup", "pickup_point_id": 1, "invoice_kind": "normal", "invoice_title": "李雷",
                      "invoice_delivery": "email", "invoice_email": "lilei@example.com"});
    let order = c.order(application, "edit-and-next-01", body).await.json()["id"].as_i64().unwrap();
    pay_and_reject(&app, order, "身份证照片不清晰").await;

    let materials = c.get(&format!("/applications/{application}/materials")).await;
    assert!(materials.body.contains("data-testid=\"editing-order\""), "{}", materials.body);
    c.upload(
        &format!("/api/v1/applications/{application}/documents/holder_id_front"),
        "clear.png",
        &support::png(64, 40),
    )
    .await
    .assert_status(StatusCode::CREATED);
    // The step bar's 确认订单 leads to the order, not to a second confirmation.
    let confirm = c.get(&format!("/applications/{application}/confirm")).await;
    assert_eq!(confirm.header("location"), Some(format!("/orders/{order}").as_str()));

    let next = c.submit(&format!("/applications/{application}/materials"), &[]).await;
    assert_eq!(next.header("location"), Some(format!("/orders/{order}?notice=order_resubmitted").as_str()));
    let detail = c.get(&format!("/api/v1/orders/{order}")).await.json();
    assert_eq!(detail["status"], "under_review");
    assert_eq!(
        (detail["delivery"].as_str(), detail["invoice"]["title"].as_str()),
        (Some("pickup"), Some("李雷")),
        "{detail}"
    );
    assert_eq!(c.get("/api/v1/orders").await.json().as_array().unwrap().len(), 1, "still one order");
}

/// 确认订单 as in the manual: 商品总价, 配送费, 服务费 and one 应付总额 for the delivery chosen.
#[tokio::test]
async fn the_confirm_page_shows_one_total_for_the_chosen_delivery() {
    let app = TestApp::new().await;
    let mut c = app.user("13800138000").await;
    let application = complete_application(&mut c, "personal", &resident_id(32)).await;
    let page = c.get(&format!("/applications/{application}/confirm")).await.body;
    for label in ["商品总价", "配送费", "服务费", "应付总额"] {
        assert!(page.contains(&format!("<dt>{label}</dt>")), "{label}");
    }
    let total = page.split("data-testid=\"total\">").nth(1).unwrap().split("</strong>").next().unwrap();
    let shown: Vec<&str> = total.split("<span").filter(|s| !s.is_empty() && !s.contains("hidden")).collect();
    assert_eq!(shown.len(), 1, "one total, for the default courier delivery: {total}");
    assert!(shown[0].contains("data-show-for=\"delivery=courier\""), "{total}");
}

/// Out of the box the pickup point is a complete, plainly fictional demo; a production site
/// withholds it from applicants until an admin has replaced it.
#[tokio::test]
async fn the_demo_pickup_point_is_complete_and_never_offered_in_production() {
    let app = TestApp::new().await;
    let catalog = app.app.catalog().await.unwrap();
    let demo = &catalog.pickup_points[0];
    assert!(demo.is_demo() && demo.address.contains("演示地址") && demo.phone.contains("演示"), "{demo:?}");
    assert!(!demo.hours.is_empty());
    let mut c = app.user("13800138000").await;
    let application = complete_application(&mut c, "personal", &resident_id(33)).await;
    let page = c.get(&format!("/applications/{application}/confirm")).await.body;
    assert!(page.contains("样板路 100 号") && !page.contains("请在管理后台填写"), "development shows the demo");

    let production = TestApp::paying_with(
        store::testing::TestDb::sqlite().await,
        &[],
        app::Policy { hide_demo_pickup_points: true, ..app::Policy::default() },
    )
    .await;
    assert!(production.app.catalog().await.unwrap().pickup_points.is_empty());
    let mut c = production.user("13800138001").await;
    let application = complete_application(&mut c, "personal", &resident_id(34)).await;
    let refused = c.order(application, "demo-point-0001", pickup_order_body()).await;
    assert_eq!(refused.fields(), ["pickup_point_id"], "{}", refused.body);
}
