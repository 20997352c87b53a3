//! `sealdesk ocr [--kind K] FILE...`: reads each image and prints one JSON object per file on its
//! own line — `file`, `kind`, `fields`, `suggestions` (read, but to be checked rather than filled),
//! `confidence` (the least sure character of each), `repairs`, `warnings`, `elapsed_ms` — or the
//! file with an `error`. The models load once. Non-zero exit only for a usage error.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::bail;
use ocr::engine::Engine;
use ocr::{Kind, extract};
use serde_json::{Map, Value, json};

/// Largest side accepted before decoding (decompression bombs are refused up front).
const MAX_SIDE: u32 = 8192;

fn decode(path: &Path) -> Result<image::RgbImage, String> {
    let mut reader = image::ImageReader::open(path)
        .map_err(|e| format!("cannot open: {e}"))?
        .with_guessed_format()
        .map_err(|e| format!("cannot read: {e}"))?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(512 * 1024 * 1024);
    reader.limits(limits);
    reader.decode().map(|i| i.to_rgb8()).map_err(|e| format!("not a readable image: {e}"))
}

pub fn run(kind: &str, models: Option<PathBuf>, files: &[PathBuf], stats: bool) -> anyhow::Result<()> {
    let wanted = match kind {
        "auto" => None,
        other => match Kind::parse(other) {
            Some(k) => Some(k),
            None => bail!("--kind must be id-front, id-back, license or auto, not {other:?}"),
        },
    };
    let dir = models.unwrap_or_else(ocr::engine::default_models_dir);
    let engine = Engine::load(&dir).map_err(|e| anyhow::anyhow!("{e}"))?;
    let today = app::clock::Clock::now(&app::clock::SystemClock).to_offset(time::macros::offset!(+8)).date();
    let all = Instant::now();
    for file in files {
        let started = Instant::now();
        let name = file.display().to_string();
        let line = match decode(file).and_then(|image| engine.read(&image).map_err(|e| e.to_string())) {
            Ok(lines) => match wanted.or_else(|| Kind::detect(&lines)) {
                Some(kind) => {
                    let found = extract(kind, &lines, today);
                    let confidence: Map<String, Value> = found
                        .confidence
                        .iter()
                        .map(|(k, v)| ((*k).to_owned(), json!((f64::from(*v) * 1000.0).round() / 1000.0)))
                        .collect();
                    json!({
                        "file": name,
                        "kind": kind.as_str(),
                        "fields": found.fields,
                        "suggestions": found.suggestions,
                        "confidence": confidence,
                        "repairs": found.repairs,
                        "warnings": found.warnings,
                        "elapsed_ms": started.elapsed().as_millis(),
                    })
                }
                None => json!({
                    "file": name,
                    "kind": Value::Null,
                                        "fields": {},
                    "suggestions": {},
                    "confidence": {},
                    "repairs": [],
                    "warnings": ["无法判断证件类型"],
                    "elapsed_ms": started.elapsed().as_millis(),
                }),
            },
            Err(error) => json!({ "file": name, "error": error, "elapsed_ms": started.elapsed().as_millis() }),
        };
        println!("{line}");
    }
    if stats {
        let (total, (det, rec)) = (all.elapsed(), engine.model_times());
        let model = det + rec;
        eprintln!(
            "ocr stats: {} files, {} ms in all, {} ms in the models ({} detection, {} recognition), \
             pipeline / model = {:.3}",
            files.len(),
            total.as_millis(),
            model.as_millis(),
            det.as_millis(),
            rec.as_millis(),
            total.as_secs_f64() / model.as_secs_f64().max(f64::EPSILON)
        );
    }
    Ok(())
}

/// The OCR engine behind the app's port: decodes an uploaded (already sanitised) photo, reads
/// its lines and extracts the fields of the expected document.
pub struct EngineReader(pub Engine);

impl app::ports::OcrReader for EngineReader {
    fn read(&self, image: &[u8], kind: &str) -> Result<app::ports::OcrReading, String> {
        let kind = Kind::parse(kind).ok_or_else(|| format!("unknown kind {kind}"))?;
        let mut reader =
            image::ImageReader::new(std::io::Cursor::new(image)).with_guessed_format().map_err(|e| e.to_string())?;
        let mut limits = image::Limits::default();
        limits.max_image_width = Some(MAX_SIDE);
        limits.max_image_height = Some(MAX_SIDE);
        reader.limits(limits);
        let picture = reader.decode().map_err(|e| e.to_string())?.to_rgb8();
        let lines = self.0.read(&picture).map_err(|e| e.to_string())?;
        let today = app::clock::Clock::now(&app::clock::SystemClock).to_offset(time::macros::offset!(+8)).date();
        let found = extract(kind, &lines, today);
        Ok(app::ports::OcrReading {
            kind: kind.as_str().to_owned(),
            fields: found.fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
            warnings: found.warnings,
            repairs: found.repairs,
            suggestions: found.suggestions.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
        })
    }
}
