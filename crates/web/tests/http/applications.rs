//! Application drafts over HTTP: business type, package, holder and agent, with validation beside
//! each field, checksum warnings that do not block, and ID numbers that are never shown in full
//! nor stored in plaintext.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use support::{Client, TestApp};

const HOLDER_ID: &str = "11010519491231002X";
/// A valid number (check character computed per GB 11643) for the agent.
const AGENT_ID: &str = "440305199001011234";

async fn start(c: &mut Client, body: Value) -> Value {
    let reply = c.call(Method::POST, "/api/v1/applications", Some(body)).await;
    reply.assert_status(StatusCode::CREATED);
    reply.json()
}

fn agent_id() -> String {
    let first17 = &AGENT_ID[..17];
    let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = first17.bytes().zip(weights).map(|(d, w)| u32::from(d - b'0') * w).sum();
    format!("{first17}{}", char::from(b"10X98765432"[(sum % 11) as usize]))
}

#[tokio::test]
async fn the_catalog_offers_packages_fees_and_pickup_points() {
    let app = TestApp::new().await;
    let catalog = app.client().get("/api/v1/catalog").await.json();
    let packages = catalog["packages"].as_array().unwrap();
    assert!(
        packages
            .iter()
            .any(|p| p["subject_kind"] == "enterprise" && p["name"] == "主锁 · 1年" && p["price_fen"] == 40_000)
    );
    assert!(packages.iter().any(|p| p["subject_kind"] == "personal"));
    assert_eq!(catalog["fees"]["courier_fen"], 1500);
    assert!(catalog["pickup_points"][0]["hours"].as_str().unwrap().contains("工作日"));
}

#[tokio::test]
async fn an_enterprise_replacement_fills_step_by_step() {
    let app = TestApp::new().await;
    let mut c = app.user("13800138000").await;
    let draft = start(&mut c, json!({"subject_kind": "enterprise", "business": "replacement", "replacement_reason": "damaged", "replaced_serial": "sn-2024-0001"})).await;
    let id = draft["id"].as_i64().unwrap();
    assert_eq!(
        (draft["replacement_reason"].as_str(), draft["replaced_serial"].as_str()),
        (Some("damaged"), Some("SN-2024-0001"))
    );
    assert_eq!(draft["missing_steps"], json!(["package", "subject", "agent", "materials"]));

    let catalog = c.get("/api/v1/catalog").await.json();
    let package = catalog["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["subject_kind"] == "enterprise" && p["years"] == 2)
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let personal =
        catalog["packages"].as_array().unwrap().iter().find(|p| p["subject_kind"] == "personal").unwrap()["id"]
            .as_i64()
            .unwrap();
    let wrong =
        c.call(Method::PUT, &format!("/api/v1/applications/{id}/package"), Some(json!({"package_id": personal}))).await;
    assert_eq!(wrong.fields(), ["package_id"], "a personal package cannot be chosen for a company");
    let chosen = c
        .call(Method::PUT, &format!("/api/v1/applications/{id}/package"), Some(json!({"package_id": package})))
        .await
        .json();
    assert_eq!(
        (chosen["package_name"].as_str(), chosen["package_price_fen"].as_i64()),
        (Some("主锁 · 2年"), Some(70_000))
    );

    // A credit code whose check character is off (…Y43 would be right) is kept, with a warning.
    let subject = json!({"company_name": "示例科技有限公司", "credit_code": "91350100m000100y44", "user_type": "enterprise", "holder_name": "王五", "holder_id_number": HOLDER_ID});
    let saved = c.call(Method::PUT, &format!("/api/v1/applications/{id}/subject"), Some(subject)).await;
    saved.assert_status(StatusCode::OK);
    let saved = saved.json();
    assert_eq!(saved["credit_code"], "91350100M000100Y44");
    assert!(saved["warnings"][0].as_str().unwrap().contains("统一社会信用代码未通过校验"));
    assert_eq!(saved["holder_id_masked"], "110***********002X");

    let agent = json!({"name": "赵六", "id_number": agent_id(), "phone": "13700137000", "email": "zhao@example.com"});
    let done = c.call(Method::PUT, &format!("/api/v1/applications/{id}/agent"), Some(agent)).await;
    done.assert_status(StatusCode::OK);
    let done = done.json();
    assert_eq!(done["missing_steps"], json!(["materials"]), "documents still to upload");
    assert_eq!(done["agent_phone_masked"], "137****7000");

    // Everything reads back masked; the full numbers never appear.
    let read = c.get(&format!("/api/v1/applications/{id}")).await;
    for full in [HOLDER_ID, agent_id().as_str(), "13700137000"] {
        assert!(!read.body.contains(full), "{full} shown in full");
    }
    assert_eq!(c.get("/api/v1/applications").await.json().as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn each_mistake_is_explained_beside_its_field() {
    let app = TestApp::new().await;
    let mut c = app.user("13800138000").await;
    let bad_start = c
        .call(
            Method::POST,
            "/api/v1/applications",
            Some(json!({"subject_kind": "robot", "business": "replacement", "replaced_serial": "坏/序列号"})),
        )
        .await;
    bad_start.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad_start.fields(), ["subject_kind", "replacement_reason", "replaced_serial"]);

    let id = start(&mut c, json!({"subject_kind": "enterprise", "business": "new"})).await["id"].as_i64().unwrap();
    let subject = json!({"company_name": "", "credit_code": "91350100M000100YI4", "user_type": "individual", "holder_name": "王五5", "holder_id_number": "110105194912310021"});
    let reply = c.call(Method::PUT, &format!("/api/v1/applications/{id}/subject"), Some(subject)).await;
    assert_eq!(reply.fields(), ["company_name", "credit_code", "user_type", "holder_name", "holder_id_number"]);
    for message in ["请输入企业名称", "不含I、O、Z、S、V", "请选择用户类型", "姓名包含不允许的字符", "校验位不正确"]
    {
        assert!(reply.body.contains(message), "{message} missing: {}", reply.body);
    }
    let future = json!({"company_name": "示例", "credit_code": "91350100M000100Y43", "user_type": "enterprise", "holder_name": "王五", "holder_id_number": "110105203012310027"});
    let reply = c.call(Method::PUT, &format!("/api/v1/applications/{id}/subject"), Some(future)).await;
    assert!(reply.body.contains("出生日期"), "{}", reply.body);

    let agent = json!({"name": "赵六", "id_number": "", "phone": "12345", "email": "nope"});
    let reply = c.call(Method::PUT, &format!("/api/v1/applications/{id}/agent"), Some(agent)).await;
    assert_eq!(reply.fields(), ["id_number", "phone", "email"], "an empty ID is only allowed when one is on file");
}

#[tokio::test]
async fn a_blank_id_field_keeps_the_number_on_file() {
    let app = TestApp::new().await;
    let mut c = app.user("13800138000").await;
    let id = start(&mut c, json!({"subject_kind": "personal", "business": "new"})).await["id"].as_i64().unwrap();
    let first = json!({"user_type": "individual", "holder_name": "李雷", "holder_id_number": HOLDER_ID});
    c.call(Method::PUT, &format!("/api/v1/applications/{id}/subject"), Some(first)).await.assert_status(StatusCode::OK);
    let rename = json!({"user_type": "individual", "holder_name": "李雷雷", "holder_id_number": ""});
    let reply = c.call(Method::PUT, &format!("/api/v1/applications/{id}/subject"), Some(rename)).await.json();
    assert_eq!(
        (reply["holder_name"].as_str(), reply["holder_id_masked"].as_str()),
        (Some("李雷雷"), Some("110***********002X"))
    );
    assert_eq!(reply["company_name"], Value::Null, "a person has no company fields");
}

#[tokio::test]
async fn id_numbers_are_not_stored_in_plaintext() {
    let app = TestApp::new().await;
    let mut c = app.user("13800138000").await;
    let id = start(&mut c, json!({"subject_kind": "personal", "business": "new"})).await["id"].as_i64().unwrap();
    c.call(
        Method::PUT,
        &format!("/api/v1/applications/{id}/subject"),
        Some(json!({"user_type": "individual", "holder_name": "李雷", "holder_id_number": HOLDER_ID})),
    )
    .await
    .assert_status(StatusCode::OK);
    c.call(
        Method::PUT,
        &format!("/api/v1/applications/{id}/agent"),
        Some(json!({"name": "赵六", "id_number": agent_id(), "phone": "13700137000", "email": "z@example.com"})),
    )
    .await
    .assert_status(StatusCode::OK);
    let dir = app.db.sqlite_dir().expect("a SQLite test database");
    let mut scanned = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        scanned += bytes.len();
        for plain in [HOLDER_ID, agent_id().as_str()] {
            assert!(!bytes.windows(plain.len()).any(|w| w == plain.as_bytes()), "{plain} found in the database files");
        }
    }
    assert!(scanned > 0);
}

#[tokio::test]
async fn a_draft_can_be_discarded() {
    let app = TestApp::new().await;
    let mut c = app.user("13800138000").await;
    let id = start(&mut c, json!({"subject_kind": "personal", "business": "new"})).await["id"].as_i64().unwrap();
    c.call(Method::DELETE, &format!("/api/v1/applications/{id}"), None).await.assert_status(StatusCode::NO_CONTENT);
    c.get(&format!("/api/v1/applications/{id}")).await.assert_status(StatusCode::NOT_FOUND);
}
