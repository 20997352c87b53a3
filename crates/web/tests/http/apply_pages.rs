//! The application journey in HTML, without JavaScript: business type, the three steps with
//! errors beside fields, 确认订单, the order under 待支付, and 取消.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use axum::http::{Method, StatusCode};
use support::{TestApp, address_body, resident_id};

/// The orders listed on a page (the side menu names every business type, so only the list counts).
fn listed(body: &str) -> String {
    body.split("class=\"center-body\"").nth(1).unwrap_or_default().to_owned()
}

#[tokio::test]
async fn a_company_replacement_from_business_type_to_cancelled_order() {
    let app = TestApp::new().await;
    let mut c = app.user("13800138000").await;
    c.call(Method::POST, "/api/v1/addresses", Some(address_body("科技园南区1栋101")))
        .await
        .assert_status(StatusCode::CREATED);

    let missing = c.submit("/apply", &[("subject_kind", "enterprise"), ("business", "replacement")]).await;
    missing.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(missing.body.contains("请选择补办原因"));
    let started = c
        .submit(
            "/apply",
            &[("subject_kind", "enterprise"), ("business", "replacement"), ("replacement_reason", "lost")],
        )
        .await;
    assert_eq!(started.status, StatusCode::SEE_OTHER);
    let step = started.header("location").unwrap().to_owned();
    assert!(step.ends_with("/package"), "{step}");
    let base = step.trim_end_matches("/package").to_owned();

    let page = c.get(&step).await;
    assert!(page.body.contains("企业补办（遗失）") && page.body.contains("¥400.00"));
    let catalog = c.get("/api/v1/catalog").await.json();
    let package = catalog["packages"][0]["id"].to_string();
    assert_eq!(
        c.submit(&step, &[("package_id", &package)]).await.header("location"),
        Some(format!("{base}/subject").as_str())
    );

    let bad = c
        .submit(
            &format!("{base}/subject"),
            &[
                ("company_name", "示例科技有限公司"),
                ("credit_code", "123"),
                ("user_type", "enterprise"),
                ("holder_name", "王五"),
                ("holder_id_number", "110105194912310021"),
            ],
        )
        .await;
    bad.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("统一社会信用代码应为18位") && bad.body.contains("身份证号码校验位不正确"));
    assert!(bad.body.contains("value=\"示例科技有限公司\""), "typed values stay");
    assert!(!bad.body.contains("110105194912310021"), "ID numbers are never echoed");
    c.submit(
        &format!("{base}/subject"),
        &[
            ("company_name", "示例科技有限公司"),
            ("credit_code", "91350100M000100Y43"),
            ("user_type", "enterprise"),
            ("holder_name", "王五"),
            ("holder_id_number", "11010519491231002X"),
        ],
    )
    .await
    .assert_status(StatusCode::SEE_OTHER);
    let agent_id = resident_id(5);
    c.submit(
        &format!("{base}/agent"),
        &[("name", "赵六"), ("id_number", &agent_id), ("phone", "13700137000"), ("email", "agent@example.com")],
    )
    .await
    .assert_status(StatusCode::SEE_OTHER);

    uploads_with_consent(&mut c, &base).await;
    let confirm = c.get(&format!("{base}/confirm")).await;
    assert!(confirm.body.contains("110***********002X") && !confirm.body.contains("11010519491231002X"));
    // One 应付总额, for the delivery chosen (courier by default); the other hidden.
    assert!(confirm.body.contains("<span data-show-for=\"delivery=courier\">¥415.00</span>"), "{}", confirm.body);
    assert!(confirm.body.contains("<span data-show-for=\"delivery=pickup\" hidden>¥400.00</span>"));
    let key =
        confirm.body.split("name=\"idempotency_key\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();

    let address = c.get("/api/v1/addresses").await.json()[0]["id"].to_string();
    let fields = [
        ("delivery", "courier"),
        ("address_id", address.as_str()),
        ("invoice_kind", "normal"),
        ("invoice_title", "示例科技有限公司"),
        ("invoice_taxpayer_no", "91350100M000100Y43"),
        ("invoice_delivery", "email"),
        ("invoice_email", "finance@example.com"),
        ("idempotency_key", key.as_str()),
    ];
    let placed = c.submit(&format!("{base}/confirm"), &fields).await;
    assert_eq!(placed.status, StatusCode::SEE_OTHER);
    let order_page = placed.header("location").unwrap().to_owned();
    // The same form sent twice (a double click) lands on the same order.
    assert_eq!(c.submit(&format!("{base}/confirm"), &fields).await.header("location"), Some(order_page.as_str()));

    let detail = c.get(&order_page).await;
    assert!(detail.body.contains("订单已提交") && detail.body.contains("待支付") && detail.body.contains("¥415.00"));
    assert!(detail.body.contains("139****5678") && !detail.body.contains("13912345678"));
    for submitted in
        ["91350100M000100Y43", "110***********002X", "137****7000", "agent@example.com", "营业执照", "《服务协议》"]
    {
        assert!(detail.body.contains(submitted), "order detail lacks {submitted}");
    }
    assert!(!detail.body.contains("11010519491231002X") && !detail.body.contains("13700137000"));
    let list = listed(&c.get("/orders?status=pending_payment").await.body);
    assert!(list.contains("企业补办") && list.contains("¥415.00"), "{list}");

    let order_id = order_page.trim_start_matches("/orders/").split('?').next().unwrap().to_owned();
    c.submit(&format!("/orders/{order_id}/cancel"), &[]).await.assert_status(StatusCode::SEE_OTHER);
    let cancelled = c.get(&format!("/orders/{order_id}")).await;
    assert!(cancelled.body.contains("已取消") && !cancelled.body.contains("取消订单</button>"));
    assert!(listed(&c.get("/orders?status=cancelled").await.body).contains("企业补办"));
    assert!(!listed(&c.get("/orders?status=pending_payment").await.body).contains("企业补办"));
}

/// The upload boxes of the subject, agent and materials steps, with the consent box before any
/// identity document; ends on 确认订单.
async fn uploads_with_consent(c: &mut support::Client, base: &str) {
    // A reload resumes where the applicant stopped: the uploads.
    assert_eq!(c.get(base).await.header("location"), Some(format!("{base}/materials").as_str()));
    let id = base.trim_start_matches("/applications/").to_owned();
    let subject_page = c.get(&format!("{base}/subject")).await;
    assert!(subject_page.body.contains("data-testid=\"consent\"") && subject_page.body.contains("请先勾选上方同意"));
    let refused = c.submit_file(&format!("/applications/{id}/documents/holder_id_front"), &support::png(40, 30)).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "no identity upload before consent");
    let version = c.get("/api/v1/consent").await.json()["version"].as_str().unwrap().to_owned();
    let consent =
        c.submit("/consent", &[("version", &version), ("agree", "1"), ("return_to", &format!("{base}/subject"))]).await;
    assert_eq!(consent.header("location"), Some(format!("{base}/subject").as_str()));
    assert!(!c.get(&format!("{base}/subject")).await.body.contains("data-testid=\"consent\""));
    let bad = c.submit_file(&format!("/applications/{id}/documents/license"), b"<html>not a photo</html>").await;
    bad.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("营业执照：只支持 JPG、PNG、WebP 图片"));
    let early = c.submit(&format!("{base}/materials"), &[]).await;
    assert!(early.body.contains("还有材料未上传"), "materials step lists what is missing");
    for kind in support::ALL_DOCUMENTS {
        let uploaded = c.submit_file(&format!("/applications/{id}/documents/{kind}"), &support::png(40, 30)).await;
        assert_eq!(uploaded.status, StatusCode::SEE_OTHER, "{kind}: {}", uploaded.body);
    }
    assert!(c.get(&format!("{base}/materials?notice=document_uploaded")).await.body.contains("已上传（"));
    assert_eq!(
        c.submit(&format!("{base}/materials"), &[]).await.header("location"),
        Some(format!("{base}/confirm").as_str())
    );
    assert_eq!(c.get(base).await.header("location"), Some(format!("{base}/confirm").as_str()));
}

#[tokio::test]
async fn the_three_forms_print_blank_or_prefilled_without_full_id_numbers() {
    let app = TestApp::new().await;
    let mut c = app.user("13800138000").await;
    for doc in ["application_form", "authorization", "service_agreement"] {
        let blank = app.client().get(&format!("/templates/{doc}")).await;
        blank.assert_status(StatusCode::OK);
        assert!(blank.body.contains("签字/盖章"), "{doc}");
    }
    assert_eq!(
        app.client().get("/templates/holder_id_front").await.status,
        StatusCode::NOT_FOUND,
        "only the forms print"
    );

    let id = support::complete_application(&mut c, "enterprise", "91350100M000100Y43").await;
    let filled = c.get(&format!("/applications/{id}/print/application_form")).await;
    filled.assert_status(StatusCode::OK);
    for text in ["示例科技有限公司", "91350100M000100Y43", "王五", "赵六", "企业新办", "请手写完整号码"]
    {
        assert!(filled.body.contains(text), "pre-filled form lacks {text}");
    }
    assert!(
        filled.body.contains(&resident_id(1)[..3]) && !filled.body.contains(&resident_id(1)),
        "ID numbers print masked"
    );
    assert!(!filled.body.contains("13700137000"), "phone numbers print masked");
    let authorization = c.get(&format!("/applications/{id}/print/authorization")).await;
    assert!(authorization.body.contains("兹授权") && authorization.body.contains("赵六"));

    let mut stranger = app.user("13900139000").await;
    assert_eq!(stranger.get(&format!("/applications/{id}/print/application_form")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.client().get(&format!("/applications/{id}/print/application_form")).await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn an_address_can_be_added_inline_while_confirming() {
    let app = TestApp::new().await;
    let mut c = app.user("13800138000").await;
    let id = support::complete_application(&mut c, "personal", &resident_id(6)).await;
    let page = c.get(&format!("/applications/{id}/confirm")).await;
    let key =
        page.body.split("name=\"idempotency_key\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let mut fields = vec![
        ("delivery", "courier"),
        ("address_id", "new"),
        ("new_recipient", "韩梅梅"),
        ("new_phone", "13612345678"),
        ("new_province_code", "440000"),
        ("invoice_kind", "none"),
        ("idempotency_key", key.as_str()),
    ];
    let partial = c.submit(&format!("/applications/{id}/confirm"), &fields).await;
    partial.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        partial.body.contains("请选择城市") && partial.body.contains("深圳市"),
        "the cities of the chosen province come back"
    );
    assert!(partial.body.contains("value=\"韩梅梅\""));
    fields.extend([("new_city_code", "440300"), ("new_district_code", "440305"), ("new_detail", "科技园北区9栋")]);
    // A complete address but an invoice without its title: the order is refused and the address
    // is not saved either (one transaction), while everything typed stays on the form.
    let mut no_title = fields.clone();
    no_title.retain(|(k, _)| *k != "invoice_kind");
    no_title.extend([("invoice_kind", "normal"), ("invoice_delivery", "email"), ("invoice_email", "a@example.com")]);
    let refused = c.submit(&format!("/applications/{id}/confirm"), &no_title).await;
    refused.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("value=\"科技园北区9栋\""), "the typed address stays");
    assert_eq!(c.get("/api/v1/addresses").await.json(), serde_json::json!([]), "nothing saved for a refused order");
    let placed = c.submit(&format!("/applications/{id}/confirm"), &fields).await;
    assert_eq!(placed.status, StatusCode::SEE_OTHER, "{}", placed.body);
    let order = c.get(placed.header("location").unwrap()).await;
    assert!(order.body.contains("韩梅梅 136****5678 广东省深圳市南山区科技园北区9栋"));
    let saved = c.get("/api/v1/addresses").await.json();
    assert_eq!(saved[0]["recipient"], "韩梅梅", "the new address is kept in the address book");
    assert_eq!(saved.as_array().map(Vec::len), Some(1), "once");
    // 确认订单 sent again (a double click): the same order, still one address.
    let again = c.submit(&format!("/applications/{id}/confirm"), &fields).await;
    assert_eq!(again.header("location"), placed.header("location"));
    assert_eq!(c.get("/api/v1/addresses").await.json().as_array().map(Vec::len), Some(1));
}
