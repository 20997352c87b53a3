//! The OCR accuracy benchmark: synthetic ID card fronts, backs and business licenses, photographed
//! with typical distortions, read by the engine; prints exact-match rates per field and per
//! distortion against the targets of the OCR issue. Run: `scripts/bench-ocr [COUNT]` (300).

#![allow(clippy::cast_precision_loss)]

mod synth;

use ocr::engine::Engine;

fn main() {
    let count: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(300);
    let engine = match Engine::load(&ocr::engine::default_models_dir()) {
        Ok(engine) => engine,
        Err(err) => {
            eprintln!("{err}");
            std::process::exit(2);
        }
    };
    let report = synth::run(&engine, count, 20_261_125);
    println!("OCR accuracy on {count} synthetic photos ({:.0} ms per photo)", report.millis as f64 / count as f64);
    let targets = [("id_number", 99.5), ("credit_code", 99.5), ("name", 98.0), ("company_name", 98.0)];
    for (field, (right, total)) in &report.by_field {
        let target =
            targets.iter().find(|(f, _)| f == field).map_or(String::new(), |(_, t)| format!("   target ≥ {t}%"));
        println!("  {field:<22} {:>6.1}%  ({right}/{total}){target}", report.rate(field));
    }
    println!(
        "  {:<22} {:>6.1}%  ({}/{})   target ≥ 97%",
        "all fields of a document",
        report.document_rate(),
        report.documents.0,
        report.documents.1
    );
    println!("documents read entirely right, by distortion:");
    for (distortion, (right, total)) in &report.by_distortion {
        println!("  {distortion:<12} {:>6.1}%  ({right}/{total})", 100.0 * *right as f64 / (*total).max(1) as f64);
    }
    println!("misses (photo, distortion, field: wanted → read):");
    for (photo, distortion, field, want, read) in &report.misses {
        println!("  #{photo:<4} {distortion:<12} {field}: {want} → {read}");
    }
}
