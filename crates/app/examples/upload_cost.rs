//! What one uploaded photo costs the service: the CPU time of checking and re-encoding it
//! (`media::sanitize`, as every upload is) and the bytes kept. For the capacity model in
//! docs/deploy.md: `cargo run --release -p app --example upload_cost -- FILE...`.
//!
//! Each picture is first made into what a phone sends: 4000 × 3000 (12 MP), with a sensor's
//! noise (σ ≈ 3.5 per channel — flat synthetic paper would compress far better than a real
//! photo), JPEG quality 92.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::cast_precision_loss)]

use std::time::Instant;

fn main() {
    let files: Vec<String> = std::env::args().skip(1).collect();
    assert!(!files.is_empty(), "usage: upload_cost FILE...");
    let (mut read, mut kept, mut millis) = (0usize, 0usize, Vec::new());
    for file in &files {
        let bytes = as_phone_photo(&image::open(file).unwrap_or_else(|e| panic!("{file}: {e}")).to_rgb8());
        let started = Instant::now();
        let stored = app::media::sanitize(&bytes, false).unwrap_or_else(|e| panic!("{file}: {e:?}"));
        millis.push(started.elapsed().as_secs_f64() * 1000.0);
        read += bytes.len();
        kept += stored.bytes.len();
    }
    millis.sort_by(f64::total_cmp);
    let n = files.len() as f64;
    println!(
        "{} photos: uploaded {:.0} KiB, stored {:.0} KiB on average; sanitize median {:.0} ms, max {:.0} ms (one core)",
        files.len(),
        read as f64 / n / 1024.0,
        kept as f64 / n / 1024.0,
        millis[millis.len() / 2],
        millis[millis.len() - 1],
    );
}

fn as_phone_photo(picture: &image::RgbImage) -> Vec<u8> {
    let (w, h) = if picture.width() >= picture.height() { (4000, 3000) } else { (3000, 4000) };
    let mut photo = image::imageops::resize(picture, w, h, image::imageops::FilterType::Triangle);
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    for value in photo.iter_mut() {
        // xorshift; the sum of three uniforms is near enough a normal distribution.
        let mut noise = 0i32;
        for _ in 0..3 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            noise += i32::from((state >> 56) as u8 % 7) - 3;
        }
        *value = u8::try_from((i32::from(*value) + noise).clamp(0, 255)).unwrap_or(u8::MAX);
    }
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 92).encode_image(&photo).unwrap();
    out
}
