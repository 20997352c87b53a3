//! `sealdesk ocr` with the real PP-OCRv4 models (fetched by `scripts/fetch-models`, which the
//! README's test command runs): one JSON line per file, the output contract's field names, an
//! `error` line for an unreadable file, a non-zero exit only for a usage error.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

fn models() -> PathBuf {
    let dir = std::env::var_os("SEALDESK_MODELS_DIR")
        .map_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache/sealdesk/models"), PathBuf::from);
    assert!(
        dir.join("ch_PP-OCRv4_rec_infer.onnx").is_file(),
        "the OCR models are missing in {}: run scripts/fetch-models (scripts/test does)",
        dir.display()
    );
    dir
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
