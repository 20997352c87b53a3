//! Writes the benchmark's synthetic photos to a folder (for comparing engines on the same
//! images): `cargo run -p ocr --example photos -- DIR [COUNT]`. With `FLAT=1` the documents are
//! written unphotographed too (`NNNN-flat.png`), to look at a template.

#[path = "accuracy/synth.rs"]
mod synth;

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = std::path::PathBuf::from(args.next().unwrap_or_else(|| "photos".into()));
    let count: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(50);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    if std::env::var_os("FLAT").is_some() {
        use rand::SeedableRng;
        let fonts = synth::fonts();
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        for (i, family) in synth::FAMILIES.iter().enumerate() {
            let font = &fonts.tuning[i % fonts.tuning.len()].font;
            let (doc, _) = synth::document(&mut rng, &fonts, family, font);
            doc.save(dir.join(format!("{i:04}-flat.png"))).unwrap_or_else(|e| panic!("{e}"));
        }
    }
    for (i, photo) in synth::photos(count, 20_261_125).into_iter().enumerate() {
        photo.save(dir.join(format!("{i:04}.png"))).unwrap_or_else(|e| panic!("{e}"));
    }
}
