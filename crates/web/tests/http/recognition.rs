//! Uploaded licenses and ID cards read by OCR (a scripted engine here; the real one is tested
//! through `sealdesk ocr`): the reading fills the fields the applicant left empty, is kept sealed
//! for the reviewer, is shown with the ID number masked, and a saturated engine answers
//! "busy, retry" without losing the upload.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use std::sync::Arc;
use std::time::Duration;

use app::ports::{OcrReader, OcrReading, ReadingRepo};
use axum::http::{Method, StatusCode};
use serde_json::json;
use support::{TestApp, png};

/// Reads every license as the same fictional company, every ID front as the same person; the
/// legal representative's name is read unsure (a suggestion).
struct Scripted {
    delay: Duration,
}

impl OcrReader for Scripted {
    fn read(&self, _image: &[u8], kind: &str) -> Result<OcrReading, String> {
        std::thread::sleep(self.delay);
        let fields: &[(&str, &str)] = match kind {
            "license" => &[("company_name", "示例科技有限公司"), ("credit_code", "91350100M000100Y43")],
            "id-front" => &[("name", "王五"), ("id_number", "11010519491231002X"), ("sex", "男")],
            _ => &[("issuer", "北京市公安局朝阳分局")],
        };
        Ok(OcrReading {
            kind: kind.into(),
            fields: fields.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            warnings: if kind == "id-front" {
                vec!["证件上的性别与身份证号码不一致".into()]
            } else {
                Vec::new()
            },
            repairs: Vec::new(),
            suggestions: if kind == "license" {
                [("legal_representative".to_owned(), "王伍".to_owned())].into_iter().collect()
            } else {
                std::collections::BTreeMap::default()
            },
        })
    }
}

/// Counts how many readings run at once.
struct Counting {
    delay: Duration,
    running: std::sync::atomic::AtomicUsize,
    most: std::sync::atomic::AtomicUsize,
}

impl OcrReader for Counting {
    fn read(&self, _image: &[u8], kind: &str) -> Result<OcrReading, String> {
        use std::sync::atomic::Ordering::SeqCst;
        let now = self.running.fetch_add(1, SeqCst) + 1;
        self.most.fetch_max(now, SeqCst);
        std::thread::sleep(self.delay);
        self.running.fetch_sub(1, SeqCst);
        Ok(OcrReading { kind: kind.into(), ..OcrReading::default() })
    }
}

async fn enterprise_draft(c: &mut support::Client) -> i64 {
    let draft = c
        .call(Method::POST, "/api/v1/applications", Some(json!({"subject_kind": "enterprise", "business": "new"})))
        .await;
    draft.json()["id"].as_i64().unwrap()
}

#[tokio::test]
async fn a_license_photo_fills_the_empty_fields_and_is_kept_for_the_reviewer() {
    let app = TestApp::reading(Arc::new(Scripted { delay: Duration::ZERO }), 1, 4).await;
    let mut c = app.user("13800138150").await;
    let id = enterprise_draft(&mut c).await;
    c.upload(&format!("/api/v1/applications/{id}/documents/license"), "license.jpg", &png(64, 40))
        .await
        .assert_status(StatusCode::CREATED);
    c.give_consent().await;
    c.upload(&format!("/api/v1/applications/{id}/documents/holder_id_front"), "id.jpg", &png(64, 40))
        .await
        .assert_status(StatusCode::CREATED);

    // The upload answered at once; the page says the photos are being read and asks again.
    let waiting = c.get(&format!("/applications/{id}/subject")).await;
    assert!(waiting.body.contains("正在识别照片") && waiting.body.contains("data-readings=\""), "{}", waiting.body);
    assert!(!waiting.body.contains("value=\"示例科技有限公司\""), "not read yet");
    let asked = c.get(&format!("/applications/{id}/subject/readings")).await.json();
    assert_eq!(
        (asked["pending"].as_bool(), asked["fields"].as_object().map(serde_json::Map::len)),
        (Some(true), Some(0))
    );
    app.read_queued().await;
    let asked = c.get(&format!("/applications/{id}/subject/readings")).await;
    assert_eq!(asked.header("cache-control"), Some("no-store"));
    let asked = asked.json();
    assert_eq!(asked["pending"], false);
    assert_eq!(asked["fields"]["company_name"], "示例科技有限公司", "what the page's script fills in");
    assert_eq!(asked["fields"]["holder_id_number"], "11010519491231002X", "in full, for the owner's own form");
    assert!(asked["notes"].as_str().unwrap().contains("已根据上传的证件照片预填"));
    let mut other = app.user("13800138155").await;
    let theirs = other.get(&format!("/applications/{id}/subject/readings")).await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND, "nobody else's");

    let page = c.get(&format!("/applications/{id}/subject")).await;
    assert!(!page.body.contains("正在识别照片"), "done");
    // The photos beside the fields read from them, to check against.
    for kind in ["license", "holder_id_front"] {
        assert!(page.body.contains(&format!("src=\"/api/v1/applications/{id}/documents/{kind}\" alt=")), "{kind}");
    }
    assert!(page.body.contains("value=\"示例科技有限公司\""), "the company name is filled in");
    assert!(page.body.contains("value=\"91350100M000100Y43\""));
    assert!(page.body.contains("value=\"王五\""));
    assert!(page.body.contains("已根据上传的证件照片预填"));
    // The applicant checks instead of retyping: the full number in their own form, marked.
    assert!(page.body.contains("value=\"11010519491231002X\""), "the full ID number in the owner's form");
    for field in ["company_name", "credit_code", "holder_name", "holder_id_number"] {
        assert!(page.body.contains(&format!("data-testid=\"check-{field}\"")), "{field} is marked 请核对");
    }
    // An unsure reading is offered to check, never filled.
    assert!(page.body.contains("法定代表人识别结果：王伍，请核对") && !page.body.contains("value=\"王伍\""));
    assert!(page.body.contains("证件上的性别与身份证号码不一致"), "cross-check warnings are shown");

    let readings = c.get(&format!("/api/v1/applications/{id}/readings")).await.json();
    assert_eq!(readings["license"]["fields"]["credit_code"], "91350100M000100Y43");
    assert_eq!(readings["holder_id_front"]["fields"]["id_number"], "110***********002X", "masked elsewhere");

    // What the applicant typed wins over the reading.
    let subject = json!({"company_name": "另一家公司", "credit_code": "91350100M000100Y43", "user_type": "enterprise", "holder_name": "赵六", "holder_id_number": "11010519491231002X"});
    c.call(Method::PUT, &format!("/api/v1/applications/{id}/subject"), Some(subject))
        .await
        .assert_status(StatusCode::OK);
    let page = c.get(&format!("/applications/{id}/subject")).await;
    assert!(page.body.contains("value=\"另一家公司\"") && !page.body.contains("value=\"示例科技有限公司\""));
    assert!(!page.body.contains("11010519491231002X"), "once saved, the number is shown masked only");

    // Nobody else sees the readings; the photo's removal removes its reading.
    let mut stranger = app.user("13800138151").await;
    assert_eq!(stranger.get(&format!("/api/v1/applications/{id}/readings")).await.status, StatusCode::NOT_FOUND);
    c.call(Method::DELETE, &format!("/api/v1/applications/{id}/documents/license"), None).await;
    assert!(c.get(&format!("/api/v1/applications/{id}/readings")).await.json().get("license").is_none());

    // Stored sealed: the database never holds the ID number in plaintext.
    let raw = app.db.db.readings(domain::ApplicationId(id)).await.unwrap();
    assert!(!raw.is_empty() && raw.iter().all(|(_, sealed)| !sealed.contains("11010519491231002X")));
}

#[tokio::test]
async fn a_saturated_engine_says_busy_and_the_upload_still_counts() {
    let app = TestApp::reading(Arc::new(Scripted { delay: Duration::from_millis(400) }), 1, 0).await;
    let mut c = app.user("13800138152").await;
    let id = enterprise_draft(&mut c).await;
    c.upload(&format!("/api/v1/applications/{id}/documents/license"), "license.jpg", &png(64, 40))
        .await
        .assert_status(StatusCode::CREATED);
    let path = format!("/api/v1/applications/{id}/documents/license/ocr");
    let mut d = c.clone_session();
    let (first, second) = tokio::join!(c.call(Method::POST, &path, None), async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        d.call(Method::POST, &path, None).await
    });
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!((second.status, second.code().as_str()), (StatusCode::SERVICE_UNAVAILABLE, "ocr_busy"));
    assert!(second.json()["message"].as_str().unwrap().contains("识别服务繁忙"));
    let not_a_photo =
        c.call(Method::POST, &format!("/api/v1/applications/{id}/documents/application_form/ocr"), None).await;
    assert_eq!(not_a_photo.status, StatusCode::NOT_FOUND, "only licenses and ID cards are read");
}

#[tokio::test]
async fn the_reviewer_sees_where_the_photos_disagree_with_what_was_typed() {
    let app = TestApp::reading(Arc::new(Scripted { delay: Duration::ZERO }), 1, 4).await;
    let mut c = app.user("13800138153").await;
    let application = support::complete_application(&mut c, "enterprise", "91350100M000100Y43").await;
    app.read_queued().await;
    let order =
        c.order(application, "reading-order-0001", support::pickup_order_body()).await.json()["id"].as_i64().unwrap();
    app.mark_paid(order).await;
    let mut reviewer = app.staff("rev.ocr", "reviewer", None).await;
    let case = reviewer.get(&format!("/admin/orders/{order}")).await;
    assert!(case.body.contains("持有人身份证号码与填写的不一致（识别为 110***********002X）"), "{}", case.body);
    assert!(!case.body.contains("11010519491231002X"), "masked for the reviewer too");
    assert!(case.body.contains("data-testid=\"readings\""), "the readings beside the typed values");
    assert!(!case.body.contains("营业执照上的名称与填写的不一致"), "what agrees is not flagged");
    // Which values the applicant kept from the photos, and which they changed.
    for (field, said) in [
        ("company_name", "照片识别，申请人已核对"),
        ("credit_code", "照片识别，申请人已核对"),
        ("holder_name", "照片识别，申请人已核对"),
        ("holder_id_number", "申请人修改了照片识别结果"),
        ("name", "申请人修改了照片识别结果"),
    ] {
        assert!(case.body.contains(&format!("data-testid=\"source-{field}\">{said}<")), "{field}: {}", case.body);
    }
    let queue = reviewer.get("/admin/review").await;
    assert!(queue.body.contains("持有人身份证号码与填写的不一致"), "the queue shows the warning too");
}

#[tokio::test]
async fn a_reading_past_its_time_limit_keeps_its_worker_until_it_ends() {
    let reader = Arc::new(Counting {
        delay: Duration::from_millis(600),
        running: std::sync::atomic::AtomicUsize::new(0),
        most: std::sync::atomic::AtomicUsize::new(0),
    });
    let app = TestApp::reading_within(reader.clone(), 1, 4, Duration::from_millis(100)).await;
    let mut c = app.user("13800138154").await;
    let id = enterprise_draft(&mut c).await;
    c.upload(&format!("/api/v1/applications/{id}/documents/license"), "license.jpg", &png(64, 40))
        .await
        .assert_status(StatusCode::CREATED);
    let path = format!("/api/v1/applications/{id}/documents/license/ocr");
    // Each answers "timed out" after 100 ms while its inference goes on; with one worker the
    // next must not start until the previous has really ended.
    for _ in 0..3 {
        let answer = c.call(Method::POST, &path, None).await;
        assert_eq!(answer.code(), "ocr_timeout", "{}", answer.body);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(reader.most.load(std::sync::atomic::Ordering::SeqCst), 1, "one worker means one reading at a time");
}

/// Reads nothing: every photo is "unreadable".
struct Blind;

impl OcrReader for Blind {
    fn read(&self, _image: &[u8], _kind: &str) -> Result<OcrReading, String> {
        Err("no text found".into())
    }
}

#[tokio::test]
async fn a_photo_that_cannot_be_read_says_so_and_a_new_photo_is_read_again() {
    let app = TestApp::reading(Arc::new(Blind), 1, 4).await;
    let mut c = app.user("13800138156").await;
    let id = enterprise_draft(&mut c).await;
    let upload = |c: &mut support::Client| {
        let path = format!("/api/v1/applications/{id}/documents/license");
        let mut c = c.clone_session();
        async move { c.upload(&path, "license.jpg", &png(64, 40)).await }
    };
    upload(&mut c).await.assert_status(StatusCode::CREATED);
    upload(&mut c).await.assert_status(StatusCode::CREATED);
    app.read_queued().await;
    let page = c.get(&format!("/applications/{id}/subject")).await.body;
    assert!(page.contains("未能识别该照片，请手动填写或重新拍摄") && !page.contains("data-readings=\""), "{page}");
    let status = c.get(&format!("/api/v1/applications/{id}/reading-status")).await.json();
    assert_eq!(
        status,
        json!([{"kind": "license", "status": "failed", "message": "未能识别该照片，请手动填写或重新拍摄"}])
    );
    let asked = c.get(&format!("/applications/{id}/subject/readings")).await.json();
    assert_eq!(asked["failures"][0]["kind"], "license");
    assert_eq!(asked["failures"][0]["message"], "未能识别该照片，请手动填写或重新拍摄");
    // A new photo is queued again: the old failure no longer shows.
    upload(&mut c).await.assert_status(StatusCode::CREATED);
    let page = c.get(&format!("/applications/{id}/subject")).await.body;
    assert!(page.contains("正在识别照片") && !page.contains("未能识别该照片"), "{page}");
}
