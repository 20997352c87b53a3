//! `sealdesk ocr` with the real PP-OCRv4 models (fetched by `scripts/fetch-models`, which the
//! README's test command runs): one JSON line per file, the output contract's field names, an
//! `error` line for an unreadable file, a non-zero exit only for a usage error.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

fn models() -> PathBuf {
    let dir = ocr::engine::default_models_dir();
    assert!(
        dir.join("ch_PP-OCRv4_rec_infer.onnx").is_file(),
        "the OCR models are missing in {}: run scripts/fetch-models (scripts/test does)",
        dir.display()
    );
    dir
}

/// `sealdesk ocr FILE` for one file: its JSON line (the command must succeed).
fn read_one(path: &std::path::Path) -> Value {
    let output = Command::new(env!("CARGO_BIN_EXE_sealdesk"))
        .arg("ocr")
        .arg("--models")
        .arg(models())
        .arg(path)
        .output()
        .unwrap();
    assert!(output.status.success(), "a bad file is a line, not a failure");
    serde_json::from_str(String::from_utf8(output.stdout).unwrap().trim()).unwrap()
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

#[test]
fn a_license_and_an_id_card_are_read_into_the_output_contract() {
    let output = Command::new(env!("CARGO_BIN_EXE_sealdesk"))
        .arg("ocr")
        .arg("--models")
        .arg(models())
        .arg(fixture("license.png"))
        .arg(fixture("id-front.png"))
        .arg(fixture("not-an-image.png"))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let lines: Vec<Value> =
        String::from_utf8(output.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 3, "one line per file");

    let license = &lines[0];
    assert_eq!(license["kind"], "license", "detected from the image");
    assert_eq!(license["fields"]["credit_code"], "91350100M000100Y43");
    assert_eq!(license["fields"]["company_name"], "示例科技有限公司");
    assert_eq!(license["fields"]["legal_representative"], "王五");
    assert_eq!(license["fields"]["company_type"], "有限责任公司");
    assert!(license["confidence"]["credit_code"].as_f64().unwrap() > 0.9);
    assert!(license["elapsed_ms"].as_u64().is_some() && license["repairs"].is_array());

    let card = &lines[1];
    assert_eq!(card["kind"], "id-front");
    for (field, value) in [
        ("name", "韩梅梅"),
        ("sex", "女"),
        ("ethnicity", "汉"),
        ("birth_date", "1949-12-31"),
        ("id_number", "11010519491231002X"),
    ] {
        assert_eq!(card["fields"][field], value, "{field}: {card}");
    }
    assert!(card["fields"]["address"].as_str().unwrap().starts_with("北京市朝阳区建国路"));
    assert_eq!(card["warnings"], serde_json::json!([]), "sex and birth date agree with the number");

    assert!(lines[2]["error"].as_str().unwrap().contains("not a readable image"), "{}", lines[2]);
}

#[test]
fn a_wrong_kind_is_a_usage_error() {
    let output =
        Command::new(env!("CARGO_BIN_EXE_sealdesk")).args(["ocr", "--kind", "passport", "x.png"]).output().unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--kind must be"));
}

/// Kills the server when the test ends.
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn an_uploaded_license_is_read_by_the_running_service() {
    use std::io::BufRead;
    let data = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sealdesk"))
        .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
        .arg(data.path())
        .env("SEALDESK_MODELS_DIR", models())
        .env_remove("SEALDESK_DATABASE_URL")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let _server = Server(child);
    let base = line.split_whitespace().find(|w| w.starts_with("http://")).unwrap().trim_end_matches('/').to_owned();

    let web = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let token = |v: serde_json::Value| v["csrf_token"].as_str().unwrap().to_owned();
    let session: serde_json::Value =
        web.get(format!("{base}/api/v1/session")).send().await.unwrap().json().await.unwrap();
    let mut csrf = token(session);
    let post = |path: &str, body: serde_json::Value, csrf: &str| {
        web.post(format!("{base}{path}")).header("x-csrf-token", csrf).json(&body).send()
    };
    post("/api/v1/sms-codes", serde_json::json!({"phone": "13800138160", "purpose": "register"}), &csrf).await.unwrap();
    let outbox: serde_json::Value =
        web.get(format!("{base}/api/v1/dev/outbox")).send().await.unwrap().json().await.unwrap();
    let body = outbox[0]["body"].as_str().unwrap();
    let code: String = body.split(|c: char| !c.is_ascii_digit()).find(|w| w.len() == 6).unwrap().to_owned();
    let password = "识别 测试 用的 密码 2026";
    let account =
        serde_json::json!({"phone": "13800138160", "code": code, "password": password, "password_confirm": password});
    assert!(post("/api/v1/accounts", account, &csrf).await.unwrap().status().is_success());
    let login = post("/api/v1/session", serde_json::json!({"phone": "13800138160", "password": password}), &csrf)
        .await
        .unwrap();
    csrf = token(login.json().await.unwrap());
    let draft: serde_json::Value =
        post("/api/v1/applications", serde_json::json!({"subject_kind": "enterprise", "business": "new"}), &csrf)
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    let id = draft["id"].as_i64().unwrap();
    let photo = std::fs::read(fixture("license.png")).unwrap();
    let form = reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::bytes(photo).file_name("license.png").mime_str("image/png").unwrap());
    let uploaded = web
        .put(format!("{base}/api/v1/applications/{id}/documents/license"))
        .header("x-csrf-token", &csrf)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status().as_u16(), 201, "{}", uploaded.text().await.unwrap());
    // The upload answered at once; the service's worker reads the photo in the background.
    let started = std::time::Instant::now();
    loop {
        let status: serde_json::Value = web
            .get(format!("{base}/api/v1/applications/{id}/reading-status"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if status[0]["status"] == "done" {
            break;
        }
        assert!(status[0]["status"] == "pending", "{status}");
        assert!(started.elapsed() < std::time::Duration::from_secs(60), "never read: {status}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let readings: serde_json::Value =
        web.get(format!("{base}/api/v1/applications/{id}/readings")).send().await.unwrap().json().await.unwrap();
    assert_eq!(readings["license"]["fields"]["credit_code"], "91350100M000100Y43", "{readings}");
    assert_eq!(readings["license"]["fields"]["company_name"], "示例科技有限公司");
    let page = web.get(format!("{base}/applications/{id}/subject")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("value=\"91350100M000100Y43\"") && page.contains("已根据上传的证件照片预填"));
}

#[test]
fn a_photo_tilted_by_eight_degrees_is_straightened_and_read() {
    let dir = tempfile::tempdir().unwrap();
    let license = image::open(fixture("license.png")).unwrap().to_rgb8();
    // Pad so the corners stay on the page, then tilt.
    let mut canvas =
        image::RgbImage::from_pixel(license.width() + 200, license.height() + 200, image::Rgb([210, 210, 205]));
    image::imageops::overlay(&mut canvas, &license, 100, 100);
    let tilted = ocr::engine::rotate(&canvas, 8.0f32.to_radians());
    let path = dir.path().join("tilted.png");
    tilted.save(&path).unwrap();
    let line = read_one(&path);
    assert_eq!(line["fields"]["credit_code"], "91350100M000100Y43", "{line}");
    assert_eq!(line["fields"]["company_name"], "示例科技有限公司", "{line}");
}

/// CRC-32 (IEEE) for hand-made PNG chunks.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for b in bytes {
        crc ^= u32::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

#[test]
fn a_decompression_bomb_is_refused_at_once_without_allocating_it() {
    // A 17 KB file claiming 30000 × 30000 pixels (2.7 GB decoded).
    let chunk = |kind: &[u8], data: &[u8]| {
        let mut c = u32::try_from(data.len()).unwrap().to_be_bytes().to_vec();
        let body: Vec<u8> = kind.iter().chain(data).copied().collect();
        c.extend_from_slice(&body);
        c.extend_from_slice(&crc32(&body).to_be_bytes());
        c
    };
    let mut header = 30_000u32.to_be_bytes().to_vec();
    header.extend_from_slice(&30_000u32.to_be_bytes());
    header.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(chunk(b"IHDR", &header));
    png.extend(chunk(b"IDAT", &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]));
    png.extend(chunk(b"IEND", &[]));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bomb.png");
    std::fs::write(&path, png).unwrap();
    let started = std::time::Instant::now();
    let line = read_one(&path);
    assert!(line["error"].as_str().unwrap().contains("exceeds limit"), "{line}");
    assert!(started.elapsed() < std::time::Duration::from_secs(2), "{:?}", started.elapsed());
}
