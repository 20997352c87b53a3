//! Text detection and recognition with PaddleOCR's PP-OCRv4 models, run by `rten` (pure Rust,
//! `.onnx` loaded directly). Pre- and post-processing follow PaddleOCR's: BGR channel order;
//! detection input sides in multiples of 32, ImageNet mean/std; DB post-processing (threshold the
//! probability map, components, box score, unclip by area × ratio ÷ perimeter); recognition crops
//! at height 48 normalised to `(x/255 − 0.5)/0.5`; CTC greedy decoding over the dictionary stored
//! in the recognition model's metadata (`character`), with blank first and space last.
//!
//! This first engine detects axis-aligned lines (upright, unrotated documents); rotated and
//! perspective crops come with the synthetic-photo benchmark.

use std::path::Path;

use image::{RgbImage, imageops::FilterType};
use rten::Model;
use rten_tensor::NdTensor;
use rten_tensor::prelude::*;

use crate::fields::TextLine;
use crate::repair::CharReading;

pub const DET_MODEL: &str = "ch_PP-OCRv4_det_infer.onnx";
pub const REC_MODEL: &str = "ch_PP-OCRv4_rec_infer.onnx";

/// Longest side the detector sees.
const DET_MAX_SIDE: u32 = 960;
const DET_THRESHOLD: f32 = 0.3;
const BOX_THRESHOLD: f32 = 0.5;
const UNCLIP_RATIO: f32 = 1.6;
const REC_HEIGHT: u32 = 48;
const MIN_BOX_SIDE: usize = 3;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("model file {0} is missing; run scripts/fetch-models")]
    MissingModel(String),
    #[error("model {0} could not be loaded: {1}")]
    Load(String, String),
    #[error("the recognition model has no `character` dictionary in its metadata")]
    NoDictionary,
    #[error("inference failed: {0}")]
    Run(String),
}

/// The two models and the dictionary; load once per process.
pub struct Engine {
    det: Model,
    rec: Model,
    /// Class index → character; 0 is the CTC blank.
    classes: Vec<char>,
}

fn load(dir: &Path, name: &str) -> Result<Model, EngineError> {
    let path = dir.join(name);
    if !path.is_file() {
        return Err(EngineError::MissingModel(path.display().to_string()));
    }
    Model::load_file(&path).map_err(|e| EngineError::Load(name.into(), e.to_string()))
}

fn run_err(e: impl std::fmt::Display) -> EngineError {
    EngineError::Run(e.to_string())
}

impl Engine {
    pub fn load(dir: &Path) -> Result<Self, EngineError> {
        let det = load(dir, DET_MODEL)?;
        let rec = load(dir, REC_MODEL)?;
        let dictionary = rec.metadata().get("character").ok_or(EngineError::NoDictionary)?;
        let mut classes = vec!['\u{0}'];
        classes.extend(dictionary.split('\n').filter_map(|entry| entry.chars().next()));
        classes.push(' ');
        Ok(Self { det, rec, classes })
    }

    /// Number of recognisable classes (blank and space included).
    pub fn classes(&self) -> usize {
        self.classes.len()
    }

    /// Every text line of the image, top to bottom, left to right.
    pub fn read(&self, image: &RgbImage) -> Result<Vec<TextLine>, EngineError> {
        let boxes = self.detect(image)?;
        let mut lines = Vec::with_capacity(boxes.len());
        for b in boxes {
            let crop = image::imageops::crop_imm(image, b[0], b[1], b[2] - b[0], b[3] - b[1]).to_image();
            let (text, chars) = self.recognise(&crop)?;
            if !text.trim().is_empty() {
                #[allow(clippy::cast_precision_loss)]
                let bbox = [b[0] as f32, b[1] as f32, b[2] as f32, b[3] as f32];
                lines.push(TextLine { text, bbox, chars });
            }
        }
        Ok(lines)
    }

    /// Boxes `[x0, y0, x1, y1]` in image pixels.
    fn detect(&self, image: &RgbImage) -> Result<Vec<[u32; 4]>, EngineError> {
        let (w, h) = image.dimensions();
        let scale = (f64::from(DET_MAX_SIDE) / f64::from(w.max(h))).min(1.0);
        let side = |v: u32| {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let scaled = (f64::from(v) * scale).round() as u32;
            (scaled.div_ceil(32) * 32).max(32)
        };
        let (dw, dh) = (side(w), side(h));
        let resized = image::imageops::resize(image, dw, dh, FilterType::Triangle);
        let (mean, std) = ([0.485f32, 0.456, 0.406], [0.229f32, 0.224, 0.225]);
        let (dwu, dhu) = (dw as usize, dh as usize);
        let mut input = NdTensor::<f32, 4>::zeros([1, 3, dhu, dwu]);
        for (x, y, p) in resized.enumerate_pixels() {
            // BGR: channel 0 is blue.
            for (c, value) in [p[2], p[1], p[0]].into_iter().enumerate() {
                input[[0, c, y as usize, x as usize]] = (f32::from(value) / 255.0 - mean[c]) / std[c];
            }
        }
        let output = self.det.run_one(input.into(), None).map_err(run_err)?;
        let map: NdTensor<f32, 4> = output.try_into().map_err(run_err)?;
        let (mh, mw) = (map.size(2), map.size(3));
        let prob = |x: usize, y: usize| map[[0, 0, y, x]];
        let mut seen = vec![false; mh * mw];
        let mut boxes = Vec::new();
        for start in 0..mh * mw {
            let (sx, sy) = (start % mw, start / mw);
            if seen[start] || prob(sx, sy) <= DET_THRESHOLD {
                continue;
            }
            // Flood fill one component (4-connected), keeping its extent and score.
            let (mut x0, mut y0, mut x1, mut y1) = (sx, sy, sx, sy);
            let (mut sum, mut count) = (0.0f32, 0usize);
            let mut stack = vec![start];
            seen[start] = true;
            while let Some(i) = stack.pop() {
                let (x, y) = (i % mw, i / mw);
                sum += prob(x, y);
                count += 1;
                (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
                let neighbours = [
                    (x > 0).then(|| i - 1),
                    (x + 1 < mw).then(|| i + 1),
                    (y > 0).then(|| i - mw),
                    (y + 1 < mh).then(|| i + mw),
                ];
                for n in neighbours.into_iter().flatten() {
                    if !seen[n] && prob(n % mw, n / mw) > DET_THRESHOLD {
                        seen[n] = true;
                        stack.push(n);
                    }
                }
            }
            let (bw, bh) = (x1 - x0 + 1, y1 - y0 + 1);
            #[allow(clippy::cast_precision_loss)]
            let score = sum / count as f32;
            if bw.min(bh) < MIN_BOX_SIDE || score < BOX_THRESHOLD {
                continue;
            }
            // Unclip: grow by area × ratio ÷ perimeter, as the DB paper's offset.
            #[allow(clippy::cast_precision_loss)]
            let grow = (bw * bh) as f32 * UNCLIP_RATIO / (2 * (bw + bh)) as f32;
            #[allow(clippy::cast_precision_loss)] // map sides are at most a few thousand
            let (fx, fy) = (f64::from(w) / mw as f64, f64::from(h) / mh as f64);
            let to_image = |v: f32, f: f64, limit: u32| {
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let scaled = (f64::from(v.max(0.0)) * f).round() as u32;
                scaled.min(limit)
            };
            #[allow(clippy::cast_precision_loss)]
            let b = [
                to_image(x0 as f32 - grow, fx, w - 1),
                to_image(y0 as f32 - grow, fy, h - 1),
                to_image((x1 + 1) as f32 + grow, fx, w),
                to_image((y1 + 1) as f32 + grow, fy, h),
            ];
            if b[2] > b[0] + 1 && b[3] > b[1] + 1 {
                boxes.push(b);
            }
        }
        // Reading order: lines top to bottom (same line when vertically overlapping), then left
        // to right.
        boxes.sort_by_key(|b| u32::midpoint(b[1], b[3]));
        let mut ordered: Vec<[u32; 4]> = Vec::with_capacity(boxes.len());
        let mut row: Vec<[u32; 4]> = Vec::new();
        for b in boxes {
            if let Some(first) = row.first()
                && u32::midpoint(b[1], b[3]) > first[3]
            {
                row.sort_by_key(|r| r[0]);
                ordered.append(&mut row);
            }
            row.push(b);
        }
        row.sort_by_key(|r| r[0]);
        ordered.append(&mut row);
        Ok(ordered)
    }

    /// The text of one line crop, with per-character readings (best and runners-up).
    fn recognise(&self, crop: &RgbImage) -> Result<(String, Vec<CharReading>), EngineError> {
        let (w, h) = crop.dimensions();
        let width = ((u64::from(w) * u64::from(REC_HEIGHT)).div_ceil(u64::from(h.max(1)))).clamp(16, 2048);
        let width = u32::try_from(width).unwrap_or(2048);
        let resized = image::imageops::resize(crop, width, REC_HEIGHT, FilterType::Triangle);
        let mut input = NdTensor::<f32, 4>::zeros([1, 3, REC_HEIGHT as usize, width as usize]);
        for (x, y, p) in resized.enumerate_pixels() {
            for (c, value) in [p[2], p[1], p[0]].into_iter().enumerate() {
                input[[0, c, y as usize, x as usize]] = (f32::from(value) / 255.0 - 0.5) / 0.5;
            }
        }
        let output = self.rec.run_one(input.into(), None).map_err(run_err)?;
        let probs: NdTensor<f32, 3> = output.try_into().map_err(run_err)?;
        let (steps, classes) = (probs.size(1), probs.size(2));
        let mut text = String::new();
        let mut chars = Vec::new();
        let mut previous = 0usize;
        for t in 0..steps {
            let mut ranked: Vec<(usize, f32)> = (0..classes).map(|k| (k, probs[[0, t, k]])).collect();
            ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
            let best = ranked[0].0;
            if best != 0 && best != previous {
                let c = self.classes.get(best).copied().unwrap_or(' ');
                text.push(c);
                let alternatives = ranked[1..4.min(ranked.len())]
                    .iter()
                    .filter(|(k, _)| *k != 0)
                    .filter_map(|(k, p)| self.classes.get(*k).map(|c| (*c, *p)))
                    .collect();
                chars.push(CharReading { best: c, confidence: ranked[0].1, alternatives });
            }
            previous = best;
        }
        Ok((text, chars))
    }
}
