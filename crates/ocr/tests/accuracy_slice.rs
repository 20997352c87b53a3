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
    let report = synth::run(&engine, 30, 20_261_125, synth::Set::HeldOut);
    for field in ["id_number", "credit_code", "name", "company_name", "issuer"] {
        assert!(report.rate(field) >= 90.0, "{field}: {:.1}%", report.rate(field));
    }
    assert!(report.document_rate() >= 85.0, "documents entirely right: {:.1}%", report.document_rate());
}

#[test]
fn a_license_shot_from_afar_is_read_by_looking_again_closer() {
    use rand::SeedableRng;
    let engine = ocr::engine::Engine::load(&ocr::engine::default_models_dir())
        .expect("the OCR models: run scripts/fetch-models");
    let fonts = synth::fonts();
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let (license, truth) = synth::license(&mut rng, &fonts);
    // A phone photo (4000 × 3000) with the license small in it: at the detector's first
    // resolution its lines are a few pixels high.
    let mut photo = image::RgbImage::from_pixel(4000, 3000, image::Rgb([190, 188, 180]));
    image::imageops::overlay(&mut photo, &license, 1300, 1100);
    let lines = engine.read(&photo).unwrap();
    let found = ocr::extract(ocr::Kind::License, &lines, time::macros::date!(2026 - 11 - 25));
    for field in ["credit_code", "company_name", "legal_representative"] {
        assert_eq!(found.fields.get(field), truth.fields.get(field), "{field}");
    }
}
