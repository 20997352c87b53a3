//! What people read, pinned as snapshots (insta): every SMS and email an applicant receives on
//! the way from registration to a completed order, and the JSON answers of the API's refusals.
//! A change to any wording shows up as a reviewed diff (`cargo insta review`), never silently.
//! Codes, order numbers and the like that differ per run are replaced by placeholders.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use app::ports::DevOutboxRepo;
use axum::http::{Method, StatusCode};
use serde_json::json;
use std::fmt::Write as _;
use support::{Client, TestApp, address_body, complete_application, resident_id};

/// Replaces runs of exactly six digits (SMS and pickup codes) by `######`; longer runs (phone
/// numbers, tracking numbers) stay.
fn redact_codes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut digits = String::new();
    let flush = |digits: &mut String, out: &mut String| {
        if digits.len() == 6 {
            out.push_str("######");
        } else {
            out.push_str(digits);
        }
        digits.clear();
    };
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else {
            flush(&mut digits, &mut out);
            out.push(c);
        }
    }
    flush(&mut digits, &mut out);
    out
}

async fn outbox(app: &TestApp, order_nos: &[String]) -> String {
    let mut messages = app.db.db.recent_messages(200).await.unwrap();
    messages.sort_by_key(|m| m.id);
    let mut doc = String::new();
    for m in messages {
        writeln!(doc, "── {} to {} ──", m.channel, m.recipient).unwrap();
        if !m.subject.is_empty() {
            writeln!(doc, "subject: {}", m.subject).unwrap();
        }
        let mut body = m.body.clone();
        for (i, no) in order_nos.iter().enumerate() {
            body = body.replace(no.as_str(), &format!("<order {}>", i + 1));
        }
        writeln!(doc, "{}\n", redact_codes(body.trim_end())).unwrap();
    }
    doc
}

/// A JSON value with its object keys sorted, whatever order `serde_json` keeps them in (its
/// `preserve_order` feature differs between a one-crate and a workspace build).
struct Sorted<'a>(&'a serde_json::Value);

impl serde::Serialize for Sorted<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            serde_json::Value::Object(map) => {
                map.iter().map(|(k, v)| (k, Sorted(v))).collect::<std::collections::BTreeMap<_, _>>().serialize(s)
            }
            serde_json::Value::Array(items) => s.collect_seq(items.iter().map(Sorted)),
            other => other.serialize(s),
        }
    }
}

async fn order_no(c: &mut Client, order: i64) -> String {
    c.get(&format!("/api/v1/orders/{order}")).await.json()["order_no"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_messages_an_applicant_receives_from_registration_to_a_completed_order() {
    let app = TestApp::new().await;
    let mut reviewer = app.staff("snap.rev", "reviewer", None).await;
    let mut maker = app.staff("snap.make", "fulfilment", None).await;
    let mut applicant = app.user("13800138301").await;

    // A couriered order: rejected, fixed, approved, shipped, received.
    let first = complete_application(&mut applicant, "personal", &resident_id(301)).await;
    let address =
        applicant.call(Method::POST, "/api/v1/addresses", Some(address_body("科技园1栋101"))).await.json()["id"]
            .as_i64()
            .unwrap();
    let body = json!({"delivery": "courier", "address_id": address, "invoice_kind": "none"});
    let couriered = applicant.order(first, "snapshot-order-1", body).await.json()["id"].as_i64().unwrap();
    app.mark_paid(couriered).await;
    let case = format!("/admin/orders/{couriered}");
    reviewer
        .submit(&format!("{case}/reject"), &[("reasons", "经办人身份证照片不清晰"), ("note", "请重新拍摄")])
        .await
        .assert_status(StatusCode::SEE_OTHER);
    applicant
        .call(Method::POST, &format!("/api/v1/orders/{couriered}/resubmit"), None)
        .await
        .assert_status(StatusCode::OK);
    reviewer.submit(&format!("{case}/approve"), &[]).await.assert_status(StatusCode::SEE_OTHER);
    let key =
        [("key_type", "main"), ("serial", "4A3F001B9C77"), ("valid_from", "2026-11-26"), ("valid_to", "2027-11-25")];
    maker.submit(&format!("{case}/key"), &key).await.assert_status(StatusCode::SEE_OTHER);
    maker
        .submit(&format!("{case}/ship"), &[("courier", "顺丰速运"), ("tracking_no", "SF1234567890")])
        .await
        .assert_status(StatusCode::SEE_OTHER);
    applicant
        .call(Method::POST, &format!("/api/v1/orders/{couriered}/confirm-receipt"), None)
        .await
        .assert_status(StatusCode::OK);

    // A pickup order: approved, ready for pickup, handed over.
    let second = complete_application(&mut applicant, "personal", &resident_id(302)).await;
    let picked =
        applicant.order(second, "snapshot-order-2", support::pickup_order_body()).await.json()["id"].as_i64().unwrap();
    app.mark_paid(picked).await;
    let case = format!("/admin/orders/{picked}");
    reviewer.submit(&format!("{case}/approve"), &[]).await.assert_status(StatusCode::SEE_OTHER);
    maker.submit(&format!("{case}/key"), &key).await.assert_status(StatusCode::SEE_OTHER);
    maker.submit(&format!("{case}/ready"), &[]).await.assert_status(StatusCode::SEE_OTHER);

    let numbers = [order_no(&mut applicant, couriered).await, order_no(&mut applicant, picked).await];
    insta::assert_snapshot!(outbox(&app, &numbers).await);
}

#[tokio::test]
async fn the_api_refusals_an_integrator_reads() {
    let app = TestApp::new().await;
    let mut anonymous = app.client();
    let mut applicant = app.user("13800138302").await;
    let mut doc = String::new();
    let mut record = |what: &str, reply: &support::Reply| {
        let body: serde_json::Value = serde_json::from_str(&reply.body).unwrap_or_else(|_| json!(reply.body));
        writeln!(
            doc,
            "── {what} → {}\n{}\n",
            reply.status.as_u16(),
            serde_json::to_string_pretty(&Sorted(&body)).unwrap()
        )
        .unwrap();
    };

    record("GET /api/v1/orders, not logged in", &anonymous.get("/api/v1/orders").await);
    record(
        "POST /api/v1/session, wrong password",
        &anonymous
            .call(Method::POST, "/api/v1/session", Some(json!({"phone": "13800138302", "password": "不是这个密码"})))
            .await,
    );
    record(
        "POST /api/v1/sms-codes, not a mobile number",
        &anonymous
            .call(Method::POST, "/api/v1/sms-codes", Some(json!({"phone": "12345", "purpose": "register"})))
            .await,
    );
    record("GET /api/v1/orders/999999, someone else's or none", &applicant.get("/api/v1/orders/999999").await);
    record(
        "POST /api/v1/applications, unknown kinds",
        &applicant
            .call(Method::POST, "/api/v1/applications", Some(json!({"subject_kind": "robot", "business": "new"})))
            .await,
    );
    let draft = applicant
        .call(Method::POST, "/api/v1/applications", Some(json!({"subject_kind": "personal", "business": "new"})))
        .await
        .json()["id"]
        .as_i64()
        .unwrap();
    record(
        "PUT /api/v1/applications/{id}/subject, a mistyped ID number",
        &applicant
            .call(
                Method::PUT,
                &format!("/api/v1/applications/{draft}/subject"),
                Some(
                    json!({"user_type": "individual", "holder_name": "李雷", "holder_id_number": "110101199003071234"}),
                ),
            )
            .await,
    );
    record(
        "POST /api/v1/applications/{id}/order, the form not finished",
        &applicant.order(draft, "snapshot-refusal", support::pickup_order_body()).await,
    );
    let no_token = applicant
        .send(Method::POST, "/api/v1/addresses", support::Payload::Json(address_body("科技园1栋101")), &[])
        .await;
    record("POST /api/v1/addresses, without a CSRF token", &no_token);
    record("GET /api/v1/no-such-thing", &applicant.get("/api/v1/no-such-thing").await);
    insta::assert_snapshot!(doc);
}
