//! Uploads over HTTP (SECURITY D1–D3, E1, E2): separate consent before identity documents, type
//! by magic bytes and a bounded decode, re-encoded images, encrypted blobs under our own names,
//! downloads only as attachments to the owner.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use axum::http::{Method, StatusCode};
use serde_json::json;
use support::{TestApp, complete_application, pickup_order_body, png, resident_id};

async fn enterprise_draft(c: &mut support::Client) -> i64 {
    c.call(Method::POST, "/api/v1/applications", Some(json!({"subject_kind": "enterprise", "business": "new"})))
        .await
        .json()["id"]
        .as_i64()
        .unwrap()
}

fn blobs(app: &TestApp) -> Vec<Vec<u8>> {
    std::fs::read_dir(app.uploads.path()).unwrap().map(|e| std::fs::read(e.unwrap().path()).unwrap()).collect()
}

#[tokio::test]
async fn identity_documents_need_the_separate_consent_first() {
    let app = TestApp::new().await;
    let mut c = app.user("13800138000").await;
    let id = enterprise_draft(&mut c).await;
    let consent = c.get("/api/v1/consent").await.json();
    assert_eq!(consent["granted"], false);
    assert!(consent["text"].as_str().unwrap().contains("敏感个人信息"));

    let refused =
        c.upload(&format!("/api/v1/applications/{id}/documents/holder_id_front"), "id.png", &png(64, 40)).await;
    assert_eq!((refused.status, refused.code().as_str()), (StatusCode::CONFLICT, "consent_required"));
    assert!(blobs(&app).is_empty(), "nothing stored");
    c.upload(&format!("/api/v1/applications/{id}/documents/license"), "license.png", &png(64, 40))
        .await
        .assert_status(StatusCode::CREATED);

    let unticked =
        c.call(Method::POST, "/api/v1/consent", Some(json!({"version": consent["version"], "agree": false}))).await;
    assert_eq!(unticked.fields(), ["agree"]);
    let stale = c.call(Method::POST, "/api/v1/consent", Some(json!({"version": "2020-old", "agree": true}))).await;
    assert_eq!(stale.code(), "consent_outdated");
    c.give_consent().await;
    assert_eq!(c.get("/api/v1/consent").await.json()["granted"], true);
    c.upload(&format!("/api/v1/applications/{id}/documents/holder_id_front"), "id.png", &png(64, 40))
        .await
        .assert_status(StatusCode::CREATED);
}

#[tokio::test]
async fn images_are_reencoded_encrypted_and_served_only_as_attachments() {
    let app = TestApp::new().await;
    let mut c = app.user("13800138000").await;
    let id = enterprise_draft(&mut c).await;
    let stored = c
        .upload(&format!("/api/v1/applications/{id}/documents/license"), "../../etc/cron.d/x.html", &png(120, 80))
        .await;
    stored.assert_status(StatusCode::CREATED);
    let stored = stored.json();
    assert_eq!((stored["content_type"].as_str(), stored["label"].as_str()), (Some("image/jpeg"), Some("营业执照")));

    let list = c.get(&format!("/api/v1/applications/{id}/documents")).await.json();
    assert_eq!(list.as_array().unwrap().len(), 1);

    let download = c.get(&format!("/api/v1/applications/{id}/documents/license")).await;
    download.assert_status(StatusCode::OK);
    assert_eq!(download.header("content-type"), Some("image/jpeg"));
    assert_eq!(download.header("content-disposition"), Some("attachment; filename=\"license.jpg\""));
    assert_eq!(download.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(download.header("cache-control"), Some("no-store"));
    let picture = image::load_from_memory(&download.bytes).unwrap();
    assert_eq!((picture.width(), picture.height()), (120, 80));
    // The API document names what is served.
    let doc = serde_json::to_value(web::openapi()).unwrap();
    let served = &doc["paths"]["/api/v1/applications/{id}/documents/{kind}"]["get"]["responses"]["200"]["content"];
    assert!(served.get("image/jpeg").is_some() && served.get("application/pdf").is_some(), "{served}");

    // On disk: one blob under a name we chose, and no readable image in it.
    let names: Vec<String> =
        std::fs::read_dir(app.uploads.path()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    assert_eq!(names.len(), 1);
    let name = std::path::Path::new(&names[0]);
    assert_eq!(name.extension().and_then(|e| e.to_str()), Some("bin"));
    assert!(!names[0].contains("cron") && !names[0].contains(".."), "{names:?}");
    for blob in blobs(&app) {
        assert!(!blob.starts_with(&[0xFF, 0xD8]) && !blob.starts_with(b"\x89PNG"));
        assert!(!blob.windows(4).any(|w| w == b"JFIF"), "blob is not plaintext JPEG");
    }
}

#[tokio::test]
async fn bad_files_are_refused_with_a_reason() {
    let app = TestApp::new().await;
    let mut c = app.user("13800138000").await;
    let id = enterprise_draft(&mut c).await;
    c.give_consent().await;
    let path = |kind: &str| format!("/api/v1/applications/{id}/documents/{kind}");
    let cases: Vec<(&str, Vec<u8>, StatusCode, &str)> = vec![
        (
            "license",
            b"<html><script>alert(1)</script></html>".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "upload_type_unsupported",
        ),
        ("license", Vec::new(), StatusCode::UNPROCESSABLE_ENTITY, "upload_empty"),
        ("license", png(64, 64)[..40].to_vec(), StatusCode::UNPROCESSABLE_ENTITY, "upload_undecodable"),
        (
            "holder_id_front",
            b"%PDF-1.7\n1 0 obj <<>> endobj\n%%EOF\n".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "upload_type_unsupported",
        ),
        (
            "authorization",
            b"%PDF-1.7\n1 0 obj << /OpenAction << /S /JavaScript /JS (x) >> >> endobj\n%%EOF\n".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "upload_pdf_unsafe",
        ),
        ("license", vec![0xFF; 11 * 1024 * 1024], StatusCode::PAYLOAD_TOO_LARGE, "upload_too_large"),
        ("passport", png(8, 8), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
    ];
    for (kind, bytes, status, code) in cases {
        let reply = c.upload(&path(kind), "x.jpg", &bytes).await;
        assert_eq!(reply.status, status, "{kind} {code}: {}", reply.body);
        let got = reply.json();
        let field_code = got["fields"][0]["code"].as_str().unwrap_or_default().to_owned();
        assert!(reply.code() == code || field_code == code, "{kind}: expected {code}, got {}", reply.body);
    }
    let pdf = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";
    let ok = c.upload(&path("authorization"), "scan.pdf", pdf).await;
    ok.assert_status(StatusCode::CREATED);
    assert_eq!(ok.json()["content_type"], "application/pdf");
    let not_multipart = c.call(Method::PUT, &path("license"), Some(json!({"file": "x"}))).await;
    assert_eq!(
        (not_multipart.status, not_multipart.code().as_str()),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, "multipart_required")
    );
    assert_eq!(blobs(&app).len(), 1, "only the good PDF was stored");

    let personal = c
        .call(Method::POST, "/api/v1/applications", Some(json!({"subject_kind": "personal", "business": "new"})))
        .await
        .json()["id"]
        .as_i64()
        .unwrap();
    let not_needed = c.upload(&format!("/api/v1/applications/{personal}/documents/license"), "l.png", &png(8, 8)).await;
    assert_eq!(not_needed.fields(), ["kind"]);
}

/// SECURITY D3 inside the upload limit: canvases no document photo has, eight at once, are each
/// refused from their header with the accepted size named, and nothing is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_bombs_inside_the_size_limit_are_refused_from_their_header() {
    let app = TestApp::new().await;
    let mut c = app.user("13800138000").await;
    let id = enterprise_draft(&mut c).await;
    c.give_consent().await;
    let bombs = [
        support::png_claiming(8192, 8192, 8, 2),
        support::png_claiming(8192, 8192, 16, 6),
        support::png_claiming(8192, 8192, 8, 6),
        support::png_claiming(8000, 6000, 16, 6),
    ];
    c.csrf().await;
    let uploads = (0..8).map(|n| {
        let mut copy = c.clone_session();
        let bomb = bombs[n % bombs.len()].clone();
        let kind = ["license", "holder_id_front", "holder_id_back", "agent_id_front"][n % 4];
        tokio::spawn(async move {
            copy.upload(&format!("/api/v1/applications/{id}/documents/{kind}"), "bomb.png", &bomb).await
        })
    });
    for upload in uploads.collect::<Vec<_>>() {
        let reply = upload.await.unwrap();
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", reply.body);
        let field = &reply.json()["fields"][0];
        assert_eq!(field["code"], "upload_too_many_pixels", "{}", reply.body);
        assert!(field["message"].as_str().unwrap().contains("5000万像素"), "{}", reply.body);
    }
    assert!(blobs(&app).is_empty(), "nothing stored");
}

#[tokio::test]
async fn replacing_or_deleting_a_document_removes_its_blob() {
    let app = TestApp::new().await;
    let mut c = app.user("13800138000").await;
    let id = enterprise_draft(&mut c).await;
    let path = format!("/api/v1/applications/{id}/documents/license");
    let first = c.upload(&path, "a.png", &png(30, 30)).await.json();
    let second = c.upload(&path, "b.png", &png(40, 40)).await.json();
    assert_ne!(first["sha256"], second["sha256"]);
    assert_eq!(blobs(&app).len(), 1, "the replaced blob is gone");
    let picture = image::load_from_memory(&c.get(&path).await.bytes).unwrap();
    assert_eq!(picture.width(), 40, "the newest upload is served");
    c.call(Method::DELETE, &path, None).await.assert_status(StatusCode::NO_CONTENT);
    assert!(blobs(&app).is_empty());
    c.get(&path).await.assert_status(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn documents_are_frozen_once_ordered() {
    let app = TestApp::new().await;
    let mut c = app.user("13800138000").await;
    let id = complete_application(&mut c, "personal", &resident_id(8)).await;
    c.order(id, "frozen-docs-0001", pickup_order_body()).await.assert_status(StatusCode::CREATED);
    c.give_consent().await;
    let late = c.upload(&format!("/api/v1/applications/{id}/documents/holder_id_front"), "id.png", &png(20, 20)).await;
    assert_eq!((late.status, late.code().as_str()), (StatusCode::CONFLICT, "application_submitted"));
}

#[tokio::test]
async fn abandoned_drafts_are_purged_with_their_files_after_thirty_days() {
    let app = TestApp::new().await;
    let mut c = app.user("13800138000").await;
    let abandoned = enterprise_draft(&mut c).await;
    c.upload(&format!("/api/v1/applications/{abandoned}/documents/license"), "l.png", &png(20, 20))
        .await
        .assert_status(StatusCode::CREATED);
    let ordered = complete_application(&mut c, "personal", &resident_id(4)).await;
    c.order(ordered, "kept-order-0001", pickup_order_body()).await.assert_status(StatusCode::CREATED);
    let files_before = blobs(&app).len();

    app.advance(time::Duration::days(29));
    assert_eq!(app.app.purge_abandoned_drafts().await.unwrap(), 0, "not yet");
    app.advance(time::Duration::days(2));
    assert_eq!(app.app.purge_abandoned_drafts().await.unwrap(), 1, "only the draft never ordered");
    assert_eq!(blobs(&app).len(), files_before - 1, "its encrypted file went with it");

    c.forget_csrf();
    c.login("13800138000", support::PASSWORD).await.assert_status(StatusCode::OK);
    c.get(&format!("/api/v1/applications/{abandoned}")).await.assert_status(StatusCode::NOT_FOUND);
    c.get(&format!("/api/v1/applications/{ordered}")).await.assert_status(StatusCode::OK);
}

/// After a crash: blobs no row refers to and temporary files of unfinished writes are swept once
/// they are an hour old; referenced blobs and fresh files stay.
#[tokio::test]
async fn the_sweep_removes_what_a_crash_left_and_nothing_else() {
    let app = TestApp::new().await;
    let mut c = app.user("13800138000").await;
    let id = enterprise_draft(&mut c).await;
    c.upload(&format!("/api/v1/applications/{id}/documents/license"), "l.png", &png(40, 30))
        .await
        .assert_status(StatusCode::CREATED);
    let dir = app.uploads.path();
    let kept: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(kept.len(), 1);
    let now = std::time::SystemTime::from(app.clock_now());
    let age = |path: &std::path::Path, by: std::time::Duration| {
        std::fs::File::options().write(true).open(path).unwrap().set_modified(now - by).unwrap();
    };
    let hours = |n: u64| std::time::Duration::from_secs(n * 3600);
    age(&kept[0], hours(30 * 24));
    for (name, old) in [("0badc0ffee.bin", true), ("0ffcaf3.tmp", true), ("1a2b3c.bin", false), ("4d5e6f.tmp", false)] {
        std::fs::write(dir.join(name), b"left by a crash").unwrap();
        age(&dir.join(name), if old { hours(2) } else { std::time::Duration::from_secs(60) });
    }
    let swept = app.app.sweep_files().await.unwrap();
    assert_eq!((swept.orphans, swept.temporary), (1, 1));
    let mut left: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    left.sort();
    let mut expected = vec![
        kept[0].file_name().unwrap().to_str().unwrap().to_owned(),
        "1a2b3c.bin".to_owned(),
        "4d5e6f.tmp".to_owned(),
    ];
    expected.sort();
    assert_eq!(left, expected, "the referenced blob and fresh files stay");
    // The document still downloads.
    c.get(&format!("/api/v1/applications/{id}/documents/license")).await.assert_status(StatusCode::OK);
}
