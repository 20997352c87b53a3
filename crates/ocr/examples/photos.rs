//! Writes the benchmark's synthetic photos to a folder (for comparing engines on the same
//! images): `cargo run -p ocr --example photos -- DIR [COUNT]`.

#[path = "accuracy/synth.rs"]
mod synth;

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = std::path::PathBuf::from(args.next().unwrap_or_else(|| "photos".into()));
    let count: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(50);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for (i, photo) in synth::photos(count, 20_261_125).into_iter().enumerate() {
        photo.save(dir.join(format!("{i:04}.png"))).unwrap_or_else(|e| panic!("{e}"));
    }
}
