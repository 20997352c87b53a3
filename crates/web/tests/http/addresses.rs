//! The address book over HTTP (JSON API and HTML pages), including that no user can see or change
//! another user's addresses on any route.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use axum::http::{Method, StatusCode};
use serde_json::json;
use support::{TestApp, address_body};

#[tokio::test]
async fn add_list_edit_default_delete() {
    let app = TestApp::new().await;
    let mut c = app.user("13800138000").await;
    c.get("/api/v1/addresses").await.assert_status(StatusCode::OK);

    let first = c.call(Method::POST, "/api/v1/addresses", Some(address_body("科技园南区1栋101"))).await;
    first.assert_status(StatusCode::CREATED);
    let first = first.json();
    assert_eq!(first["region_name"], "广东省深圳市南山区");
    assert_eq!(first["is_default"], true, "the first address becomes the default");
    let second = c.call(Method::POST, "/api/v1/addresses", Some(address_body("科技园北区2栋202"))).await.json();
    assert_eq!(second["is_default"], false);

    let list = c.get("/api/v1/addresses").await;
    let list_json = list.json();
    assert_eq!(list_json.as_array().unwrap().len(), 2);
    assert_eq!(list_json[0]["phone_masked"], "139****5678");
    assert!(!list.body.contains("13912345678"), "lists mask the phone");

    let id = second["id"].as_i64().unwrap();
    let mut changed = address_body("科技园北区3栋303");
    changed["province_code"] = json!("110000");
    changed["city_code"] = json!("110000");
    changed["district_code"] = json!("110105");
    let updated = c.call(Method::PUT, &format!("/api/v1/addresses/{id}"), Some(changed)).await;
    updated.assert_status(StatusCode::OK);
    assert_eq!(updated.json()["region_name"], "北京市朝阳区");
    assert_eq!(c.get(&format!("/api/v1/addresses/{id}")).await.json()["detail"], "科技园北区3栋303");

    c.call(Method::POST, &format!("/api/v1/addresses/{id}/default"), None).await.assert_status(StatusCode::NO_CONTENT);
    let list = c.get("/api/v1/addresses").await.json();
    assert_eq!(
        (list[0]["id"].as_i64(), list[0]["is_default"].as_bool(), list[1]["is_default"].as_bool()),
        (Some(id), Some(true), Some(false))
    );

    c.call(Method::DELETE, &format!("/api/v1/addresses/{id}"), None).await.assert_status(StatusCode::NO_CONTENT);
    let list = c.get("/api/v1/addresses").await.json();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["is_default"], true, "the remaining address becomes the default");
    c.get(&format!("/api/v1/addresses/{id}")).await.assert_status(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn every_field_is_validated_with_a_chinese_message() {
    let app = TestApp::new().await;
    let mut c = app.user("13800138000").await;
    let bad = json!({"recipient": "", "phone": "12345", "province_code": "440000", "city_code": "110000", "district_code": "", "detail": "1号"});
    let reply = c.call(Method::POST, "/api/v1/addresses", Some(bad)).await;
    reply.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.fields(), ["recipient", "phone", "city_code", "detail"]);
    for message in ["请输入姓名", "请输入正确的11位手机号", "城市不属于所选省份，请重新选择", "请填写详细地址"]
    {
        assert!(reply.body.contains(message), "{message} missing from {}", reply.body);
    }
    assert_eq!(c.get("/api/v1/addresses").await.json().as_array().unwrap().len(), 0, "nothing stored");
}

#[tokio::test]
async fn the_address_book_has_a_limit() {
    let app = TestApp::new().await;
    let mut c = app.user("13800138000").await;
    for i in 0..domain::address::MAX_ADDRESSES_PER_USER {
        c.call(Method::POST, "/api/v1/addresses", Some(address_body(&format!("科技园{i}号楼"))))
            .await
            .assert_status(StatusCode::CREATED);
    }
    let over = c.call(Method::POST, "/api/v1/addresses", Some(address_body("科技园99号楼"))).await;
    assert_eq!((over.status, over.code().as_str()), (StatusCode::CONFLICT, "address_limit"));
    // 确认订单 with a new address meets the same limit, and no order is placed.
    let application = support::complete_application(&mut c, "personal", &support::resident_id(7)).await;
    let body =
        serde_json::json!({"delivery": "courier", "new_address": address_body("科技园98号楼"), "invoice_kind": "none"});
    let refused = c.order(application, "order-with-a-full-book", body).await;
    assert_eq!((refused.status, refused.code().as_str()), (StatusCode::CONFLICT, "address_limit"), "{}", refused.body);
    assert_eq!(c.get("/api/v1/orders").await.json(), serde_json::json!([]));
}

#[tokio::test]
async fn anonymous_callers_must_log_in() {
    let app = TestApp::new().await;
    let mut anon = app.client();
    for (method, path) in [
        (Method::GET, "/api/v1/addresses"),
        (Method::POST, "/api/v1/addresses"),
        (Method::GET, "/api/v1/addresses/1"),
        (Method::PUT, "/api/v1/addresses/1"),
        (Method::DELETE, "/api/v1/addresses/1"),
        (Method::POST, "/api/v1/addresses/1/default"),
        (Method::GET, "/api/v1/me"),
        (Method::PUT, "/api/v1/me"),
        (Method::PUT, "/api/v1/me/password"),
    ] {
        let body = matches!(method, Method::POST | Method::PUT).then(|| address_body("科技园1号楼"));
        let reply = anon.call(method.clone(), path, body).await;
        assert_eq!(
            (reply.status, reply.code().as_str()),
            (StatusCode::UNAUTHORIZED, "unauthenticated"),
            "{method} {path}"
        );
    }
    for path in ["/addresses", "/addresses/new", "/addresses/1/edit", "/account", "/orders"] {
        let reply = anon.get(path).await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{path}");
        assert!(reply.header("location").unwrap().starts_with("/login?next="), "{path}");
    }
}

#[tokio::test]
async fn html_pages_add_edit_and_delete_addresses() {
    let app = TestApp::new().await;
    let mut c = app.user("13800138000").await;
    let form_page = c.get("/addresses/new").await;
    form_page.assert_status(StatusCode::OK);
    assert!(form_page.body.contains("请选择省份") && form_page.body.contains("广东省"));

    // Only the province chosen: the page comes back with that province's cities and the reason.
    let partial = c
        .submit(
            "/addresses",
            &[("recipient", "张三"), ("phone", "13912345678"), ("province_code", "440000"), ("detail", "科技园1栋")],
        )
        .await;
    partial.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(partial.body.contains("请选择城市") && partial.body.contains("深圳市"));
    assert!(partial.body.contains("value=\"张三\""), "typed values are kept");

    let saved = c
        .submit(
            "/addresses",
            &[
                ("recipient", "张三"),
                ("phone", "13912345678"),
                ("province_code", "440000"),
                ("city_code", "440300"),
                ("district_code", "440305"),
                ("detail", "科技园1栋"),
                ("is_default", "1"),
            ],
        )
        .await;
    saved.assert_status(StatusCode::SEE_OTHER);
    let list = c.get("/addresses?notice=address_saved").await;
    assert!(
        list.body.contains("收货地址已保存")
            && list.body.contains("广东省深圳市南山区 科技园1栋")
            && list.body.contains("139****5678")
    );
    assert!(!list.body.contains("13912345678"));

    let id = c.get("/api/v1/addresses").await.json()[0]["id"].as_i64().unwrap();
    let edit = c.get(&format!("/addresses/{id}/edit")).await;
    assert!(edit.body.contains("value=\"13912345678\""), "the owner edits the full number");
    assert!(edit.body.contains("<option value=\"440305\" selected>南山区</option>"));
    c.submit(
        &format!("/addresses/{id}"),
        &[
            ("recipient", "李四"),
            ("phone", "13912345678"),
            ("province_code", "440000"),
            ("city_code", "441900"),
            ("detail", "松山湖1号"),
        ],
    )
    .await
    .assert_status(StatusCode::SEE_OTHER);
    assert!(c.get("/addresses").await.body.contains("广东省东莞市 松山湖1号"));
    c.submit(&format!("/addresses/{id}/delete"), &[]).await.assert_status(StatusCode::SEE_OTHER);
    assert!(c.get("/addresses").await.body.contains("还没有收货地址"));
}

#[tokio::test]
async fn divisions_cascade() {
    let app = TestApp::new().await;
    let mut c = app.client();
    let provinces = c.get("/api/v1/divisions").await.json();
    assert_eq!(provinces.as_array().unwrap().len(), 34);
    let cities = c.get("/api/v1/divisions?province=440000").await.json();
    assert!(cities.as_array().unwrap().iter().any(|d| d["name"] == "深圳市"));
    let counties = c.get("/api/v1/divisions?city=110000").await.json();
    assert!(counties.as_array().unwrap().iter().any(|d| d["name"] == "朝阳区"));
    assert_eq!(c.get("/api/v1/divisions?province=999999").await.json(), json!([]));
}
