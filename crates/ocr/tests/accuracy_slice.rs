//! A small slice of the accuracy benchmark as a regression test (30 synthetic photos, the
//! benchmark's generator and seed, a lower bar than the benchmark's targets). Needs the models
//! (`scripts/fetch-models`) and Debian's fonts-noto-cjk; `scripts/test` provides both.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../examples/accuracy/synth.rs"]
mod synth;

#[test]
fn thirty_synthetic_photos_are_read_well_enough() {
    let engine = ocr::engine::Engine::load(&ocr::engine::default_models_dir())
        .expect("the OCR models: run scripts/fetch-models");
    let report = synth::run(&engine, 30, 20_261_125);
    for field in ["id_number", "credit_code", "name", "company_name", "issuer"] {
        assert!(report.rate(field) >= 90.0, "{field}: {:.1}%", report.rate(field));
    }
    assert!(report.document_rate() >= 85.0, "documents entirely right: {:.1}%", report.document_rate());
}
