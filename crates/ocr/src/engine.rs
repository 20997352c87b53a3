//! Text detection and recognition with PaddleOCR's PP-OCRv4 models, run by `rten` (pure Rust,
//! `.onnx` loaded directly). Pre- and post-processing follow PaddleOCR's: BGR channel order;
//! detection input sides in multiples of 32, ImageNet mean/std; DB post-processing (threshold the
//! probability map, components, box score, unclip by area × ratio ÷ perimeter); recognition crops
//! at height 48 normalised to `(x/255 − 0.5)/0.5`; CTC greedy decoding over the dictionary stored
//! in the recognition model's metadata (`character`), with blank first and space last.
//!
//! Beyond PaddleOCR's pipeline: the photo's tilt is measured from the lines' own slope and every
//! line is cut out upright from one detection pass; the direction classifier votes, weighted by
//! line length, on whether the whole photo is upside down (documents are rigid: one decision per
//! photo, not per line); detection starts small and looks again closer only when the text is
//! small; the lines of a photo are recognised side by side on single-threaded lanes.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use image::{RgbImage, imageops::FilterType};
use rten_tensor::prelude::*;
use rten_tensor::{NdTensor, NdTensorView};

use crate::fields::TextLine;
use crate::network::{Lanes, Network, RtenNetwork, lanes};
use crate::repair::CharReading;

pub const DET_MODEL: &str = "ch_PP-OCRv4_det_infer.onnx";
pub const REC_MODEL: &str = "ch_PP-OCRv4_rec_infer.onnx";
/// The 0°/180° text direction classifier (PaddleOCR's mobile v2.0).
pub const CLS_MODEL: &str = "ch_ppocr_mobile_v2.0_cls_infer.onnx";

/// Longest side the detector sees first.
const DET_SIDE: u32 = 576;
/// Longest side of a second look when the text was small at [`DET_SIDE`].
const DET_MAX_SIDE: u32 = 1600;
/// Median line height (detector pixels) below which the detector looks again, closer. Real
/// documents print labels letter-spaced (`名    称`): their lone characters are lost below about
/// this size, which the benchmark's template families showed (at 11 px a third of the company
/// names were lost).
const SMALL_LINE_PX: f64 = 18.0;
/// Fewer lines than this at the first look (ID cards and licenses have more) also means "closer".
const MIN_LINES: usize = 4;
/// Line height the second look aims for.
const GOOD_LINE_PX: f64 = 24.0;
/// A document whose lines lie in a part of the photo at most this share of its longest side is
/// read again from that part alone when its text is still small (see [`Engine::read`]).
const CROP_SHARE: f64 = 0.8;
/// Margin around the found lines' extent, as a share of it, when cutting the document out.
const CROP_MARGIN: f64 = 0.1;
const DET_THRESHOLD: f32 = 0.3;
const BOX_THRESHOLD: f64 = 0.5;
/// PaddleOCR uses 1.6 at 960 pixels; at 576–640 the probability map's text regions come out
/// relatively thicker, and 1.2 gives the same tight boxes (measured on the accuracy benchmark:
/// at 512 repeated characters start to fold, at 576 every field of 300 photos is right).
const UNCLIP_RATIO: f64 = 1.2;
const REC_HEIGHT: u32 = 48;
/// The direction classifier's input (height, width) and how many lines it looks at.
const CLS_SIZE: [u32; 2] = [48, 192];
const CLS_LINES: usize = 3;
/// Length-weighted share of "180°" above which a photo is turned half round.
const UPSIDE_DOWN_SHARE: f64 = 0.6;
/// Most recognition lanes (cores) one photo uses.
const MAX_LANES: usize = 4;
const MIN_BOX_SIDE: f64 = 3.0;
/// Tilt below which a photo is read as it is.
const MIN_SKEW_DEGREES: f32 = 1.0;
/// Tilt beyond which the estimate is not trusted (upright documents, ±10° photos expected).
const MAX_SKEW_DEGREES: f32 = 20.0;

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

/// Where the models are: `SEALDESK_MODELS_DIR`, else `$XDG_CACHE_HOME/sealdesk/models`, else
/// `~/.cache/sealdesk/models` (where `scripts/fetch-models` puts them).
pub fn default_models_dir() -> std::path::PathBuf {
    use std::path::PathBuf;
    if let Some(dir) = std::env::var_os("SEALDESK_MODELS_DIR") {
        return PathBuf::from(dir);
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from("."));
    cache.join("sealdesk").join("models")
}

/// The three models and the dictionary; load once per process.
pub struct Engine {
    det: Box<dyn Network>,
    rec: Box<dyn Network>,
    cls: Box<dyn Network>,
    /// Time spent inside the detection and the recognition model since loading (for the
    /// pipeline-over-model ratio).
    det_nanos: AtomicU64,
    rec_nanos: AtomicU64,
    /// Class index → character; 0 is the CTC blank.
    classes: Vec<char>,
    /// How many lines are recognised side by side, each single-threaded on its own lane (one
    /// per core): that keeps the cores busier than splitting each small line's operators.
    lanes: usize,
}

fn load(dir: &Path, name: &str, lanes: &Lanes) -> Result<Box<dyn Network>, EngineError> {
    let path = dir.join(name);
    if !path.is_file() {
        return Err(EngineError::MissingModel(path.display().to_string()));
    }
    let network = RtenNetwork::load(&path, Arc::clone(lanes)).map_err(|e| EngineError::Load(name.into(), e))?;
    Ok(Box::new(network))
}

fn run_err(e: impl std::fmt::Display) -> EngineError {
    EngineError::Run(e.to_string())
}

impl Engine {
    /// The PP-OCRv4 models in `dir`, run by rten.
    pub fn load(dir: &Path) -> Result<Self, EngineError> {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get).min(MAX_LANES);
        let pools = lanes(cores);
        let det = load(dir, DET_MODEL, &pools)?;
        let rec = load(dir, REC_MODEL, &pools)?;
        let cls = load(dir, CLS_MODEL, &pools)?;
        Self::with_networks(det, rec, cls, cores)
    }

    /// The engine over models run by any [`Network`] implementation; the recogniser's `lanes`
    /// must be valid lane numbers for it.
    pub fn with_networks(
        det: Box<dyn Network>,
        rec: Box<dyn Network>,
        cls: Box<dyn Network>,
        lanes: usize,
    ) -> Result<Self, EngineError> {
        let dictionary = rec.metadata("character").ok_or(EngineError::NoDictionary)?;
        let mut classes = vec!['\u{0}'];
        classes.extend(dictionary.split('\n').filter_map(|entry| entry.chars().next()));
        classes.push(' ');
        Ok(Self { det, rec, cls, classes, lanes, det_nanos: AtomicU64::new(0), rec_nanos: AtomicU64::new(0) })
    }

    /// Time spent running the detection and the recognition model so far.
    pub fn model_times(&self) -> (Duration, Duration) {
        let read = |n: &AtomicU64| Duration::from_nanos(n.load(Ordering::Relaxed));
        (read(&self.det_nanos), read(&self.rec_nanos))
    }

    fn timed<T>(counter: &AtomicU64, run: impl FnOnce() -> T) -> T {
        let started = Instant::now();
        let out = run();
        counter.fetch_add(nanos(started.elapsed()), Ordering::Relaxed);
        out
    }

    /// Number of recognisable classes (blank and space included).
    pub fn classes(&self) -> usize {
        self.classes.len()
    }

    /// Every text line of the image, top to bottom, left to right.
    ///
    /// A document small in a large photo (a license a third of a 4000 × 3000 shot) stays small at
    /// the closer look's [`DET_MAX_SIDE`]: its letter-spaced labels are lost. Then the document's
    /// own part of the photo — where the lines were found, with a margin for the ones that were
    /// not — is cut out and read on its own, at the resolution the whole photo could not be.
    pub fn read(&self, image: &RgbImage) -> Result<Vec<TextLine>, EngineError> {
        let found = self.detect(image)?;
        if let Some(region) = small_document(image.dimensions(), &found) {
            let [x0, y0, x1, y1] = region;
            let crop = image::imageops::crop_imm(image, x0, y0, x1 - x0, y1 - y0).to_image();
            let closer = self.detect(&crop)?;
            if closer.boxes.len() >= found.boxes.len() {
                let mut lines = self.read_detected(&crop, closer)?;
                #[allow(clippy::cast_precision_loss)]
                let (dx, dy) = (x0 as f32, y0 as f32);
                for line in &mut lines {
                    line.bbox = [line.bbox[0] + dx, line.bbox[1] + dy, line.bbox[2] + dx, line.bbox[3] + dy];
                }
                return Ok(lines);
            }
        }
        self.read_detected(image, found)
    }

    /// Recognises the detected lines (turning the photo half round first when it is upside down).
    fn read_detected(&self, image: &RgbImage, found: Detection) -> Result<Vec<TextLine>, EngineError> {
        let Detection { mut boxes, skew, .. } = found;
        let turned;
        let image = if self.upside_down(image, skew, &boxes)? {
            // Turning the photo half round maps each upright box to its mirror about the centre.
            turned = image::imageops::rotate180(image);
            let (w, h) = image.dimensions();
            boxes = reading_order(boxes.into_iter().map(|b| [w - b[2], h - b[3], w - b[0], h - b[1]]).collect());
            &turned
        } else {
            image
        };
        let read = self.recognise_all(image, skew, &boxes)?;
        let mut lines = Vec::with_capacity(boxes.len());
        for (b, (text, chars)) in boxes.into_iter().zip(read) {
            if !text.trim().is_empty() {
                #[allow(clippy::cast_precision_loss)]
                let bbox = [b[0] as f32, b[1] as f32, b[2] as f32, b[3] as f32];
                lines.push(TextLine { text, bbox, chars });
            }
        }
        Ok(lines)
    }

    /// The text's slope in radians (positive when lines fall to the right; 0 when below
    /// [`MIN_SKEW_DEGREES`]) and the line boxes `[x0, y0, x1, y1]` in the upright frame: the
    /// image turned by minus the slope about its centre, as [`rotate`] would turn it. A tilted
    /// photo is thus read with one detection pass, each line cut out straight.
    ///
    /// The detector first sees the photo at [`DET_SIDE`]; when the text turns out small there
    /// (or fewer than [`MIN_LINES`] lines are found), it looks again at the resolution that
    /// makes the lines about [`GOOD_LINE_PX`] high, up to [`DET_MAX_SIDE`] — a whole A4 license
    /// shot from afar — and keeps whichever look found more lines.
    fn detect(&self, image: &RgbImage) -> Result<Detection, EngineError> {
        let longest = image.width().max(image.height());
        let first = self.detect_at(image, DET_SIDE)?;
        if longest <= DET_SIDE {
            return Ok(first);
        }
        let again = match first.line_px {
            // Every document read here has more lines than that: only a title was big enough.
            _ if first.boxes.len() < MIN_LINES => Some(DET_MAX_SIDE),
            Some(px) if px >= SMALL_LINE_PX => None,
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            Some(px) => Some((f64::from(DET_SIDE) * GOOD_LINE_PX / px.max(1.0)) as u32),
            None => Some(DET_MAX_SIDE),
        };
        match again {
            Some(side) if side > DET_SIDE => {
                let second = self.detect_at(image, side.min(DET_MAX_SIDE))?;
                Ok(if second.boxes.len() >= first.boxes.len() { second } else { first })
            }
            _ => Ok(first),
        }
    }

    /// One detection pass with the photo's longest side brought down to `max_side`.
    fn detect_at(&self, image: &RgbImage, max_side: u32) -> Result<Detection, EngineError> {
        let (w, h) = image.dimensions();
        let scale = (f64::from(max_side) / f64::from(w.max(h))).min(1.0);
        let side = |v: u32| {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let scaled = (f64::from(v) * scale).round() as u32;
            (scaled.div_ceil(32) * 32).max(32)
        };
        let (dw, dh) = (side(w), side(h));
        let resized = image::imageops::resize(image, dw, dh, FilterType::Triangle);
        let (mean, std) = ([0.485f32, 0.456, 0.406], [0.229f32, 0.224, 0.225]);
        let input = one_image(&resized, |c, v| (v / 255.0 - mean[c]) / std[c]);
        let output = Self::timed(&self.det_nanos, || self.det.run(input, None)).map_err(run_err)?;
        let map: NdTensor<f32, 4> = output.try_into().map_err(run_err)?;
        let map = map.slice((0, 0));
        let components = components(&map);
        let mut slopes: Vec<(f32, usize)> = components.iter().filter_map(Component::slope).collect();
        let skew = weighted_median(&mut slopes);
        let skew = if skew.abs() > MIN_SKEW_DEGREES.to_radians() { skew } else { 0.0 };
        #[allow(clippy::cast_precision_loss)] // map sides are at most a few thousand
        let (fx, fy) = (f64::from(w) / map.size(1) as f64, f64::from(h) / map.size(0) as f64);
        let upright = Upright::new(w, h, skew);
        let mut heights = Vec::new();
        let boxes = components
            .iter()
            .filter_map(|component| {
                // Pixel edges in image coordinates, turned upright; extents along the line.
                let (mut u0, mut v0, mut u1, mut v1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
                for &(x, y) in &component.pixels {
                    for (dx, dy) in [(0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (1.0, 1.0)] {
                        let (u, v) = upright.to_upright((f64::from(x) + dx) * fx, (f64::from(y) + dy) * fy);
                        (u0, v0, u1, v1) = (u0.min(u), v0.min(v), u1.max(u), v1.max(v));
                    }
                }
                // Unclip: grow by area × ratio ÷ perimeter (the DB paper's offset), in map pixels.
                let (bw, bh) = ((u1 - u0) / fx, (v1 - v0) / fy);
                if bw.min(bh) < MIN_BOX_SIDE || component.score() < BOX_THRESHOLD {
                    return None;
                }
                let grow = bw * bh * UNCLIP_RATIO / (2.0 * (bw + bh));
                heights.push(bh + 2.0 * grow);
                let clamp = |v: f64, limit: u32| {
                    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                    let v = v.round().max(0.0) as u32;
                    v.min(limit)
                };
                let b = [
                    clamp(u0 - grow * fx, w - 1),
                    clamp(v0 - grow * fy, h - 1),
                    clamp(u1 + grow * fx, w),
                    clamp(v1 + grow * fy, h),
                ];
                (b[2] > b[0] + 1 && b[3] > b[1] + 1).then_some(b)
            })
            .collect();
        heights.sort_by(f64::total_cmp);
        Ok(Detection {
            boxes: reading_order(boxes),
            skew,
            line_px: heights.get(heights.len() / 2).copied(),
            side: dw.max(dh),
        })
    }

    /// Whether the photo is upside down: the direction classifier's vote over the longest
    /// lines, weighted by their length.
    fn upside_down(&self, image: &RgbImage, skew: f32, boxes: &[[u32; 4]]) -> Result<bool, EngineError> {
        let mut lines: Vec<&[u32; 4]> = boxes.iter().filter(|b| b[2] - b[0] >= 2 * (b[3] - b[1])).collect();
        lines.sort_by_key(|b| std::cmp::Reverse(b[2] - b[0]));
        lines.truncate(CLS_LINES);
        if lines.is_empty() {
            return Ok(false);
        }
        let (height, width) = (CLS_SIZE[0] as usize, CLS_SIZE[1] as usize);
        // Each line resized to the classifier's height (squeezed to its width when longer),
        // the rest of the row left at zero, as PaddleOCR pads.
        let mut data = Vec::with_capacity(lines.len() * 3 * height * width);
        for b in &lines {
            let crop = upright_crop(image, skew, **b);
            let w = crop.width().saturating_mul(CLS_SIZE[0]).div_ceil(crop.height().max(1)).clamp(1, CLS_SIZE[1]);
            let resized = image::imageops::resize(&crop, w, CLS_SIZE[0], FilterType::Triangle);
            data.extend(planar_bgr(&resized, width, centred));
        }
        let input = NdTensor::from_data([lines.len(), 3, height, width], data);
        let output = Self::timed(&self.det_nanos, || self.cls.run(input, None)).map_err(run_err)?;
        let probs: NdTensor<f32, 2> = output.try_into().map_err(run_err)?;
        let (mut turned, mut total) = (0.0f64, 0.0f64);
        for (n, b) in lines.iter().enumerate() {
            let weight = f64::from(b[2] - b[0]);
            turned += weight * f64::from(probs[[n, 1]]);
            total += weight;
        }
        Ok(turned > UPSIDE_DOWN_SHARE * total)
    }

    /// The text of every box, in order: the lines, longest first, go to the lanes as they free
    /// up. The phase's wall time counts as model time in the share the lanes spent in the model.
    fn recognise_all(&self, image: &RgbImage, skew: f32, boxes: &[[u32; 4]]) -> Result<Vec<Reading>, EngineError> {
        let started = Instant::now();
        let mut order: Vec<usize> = (0..boxes.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(boxes[i][2] - boxes[i][0]));
        let next = AtomicUsize::new(0);
        let work = |lane: usize| {
            let (mut mine, mut in_model) = (Vec::new(), Duration::ZERO);
            let busy = Instant::now();
            while let Some(&i) = order.get(next.fetch_add(1, Ordering::Relaxed)) {
                let crop = upright_crop(image, skew, boxes[i]);
                mine.push((i, self.recognise(&crop, lane, &mut in_model)));
            }
            (mine, in_model, busy.elapsed())
        };
        let lanes = self.lanes.min(boxes.len()).max(1);
        let done: Vec<_> = std::thread::scope(|scope| {
            let running: Vec<_> = (0..lanes).map(|l| scope.spawn(move || work(l))).collect();
            running.into_iter().map(|r| r.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))).collect()
        });
        let (in_model, busy) = done.iter().fold((0, 0), |(m, b), d| (m + nanos(d.1), b + nanos(d.2)));
        #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let share = (nanos(started.elapsed()) as f64 * in_model as f64 / busy.max(1) as f64) as u64;
        self.rec_nanos.fetch_add(share, Ordering::Relaxed);
        let mut read: Vec<(usize, Result<Reading, EngineError>)> = done.into_iter().flat_map(|d| d.0).collect();
        read.sort_by_key(|r| r.0);
        read.into_iter().map(|r| r.1).collect()
    }

    /// The text of one line crop, with per-character readings (best and runners-up), run on
    /// `lane`; adds the time spent in the model to `in_model`.
    fn recognise(&self, crop: &RgbImage, lane: usize, in_model: &mut Duration) -> Result<Reading, EngineError> {
        let (w, h) = crop.dimensions();
        let width = ((u64::from(w) * u64::from(REC_HEIGHT)).div_ceil(u64::from(h.max(1)))).clamp(16, 2048);
        let width = u32::try_from(width).unwrap_or(2048);
        let resized = image::imageops::resize(crop, width, REC_HEIGHT, FilterType::Triangle);
        let input = one_image(&resized, centred);
        let started = Instant::now();
        let output = self.rec.run(input, Some(lane)).map_err(run_err);
        *in_model += started.elapsed();
        let output = output?;
        let probs: NdTensor<f32, 3> = output.try_into().map_err(run_err)?;
        let (steps, classes) = (probs.size(1), probs.size(2));
        let mut text = String::new();
        let mut chars = Vec::new();
        let mut previous = 0usize;
        for t in 0..steps {
            // The four likeliest classes, in one pass (sorting all 6,625 per step was the cost).
            let mut ranked: Vec<(usize, f32)> = Vec::with_capacity(5);
            for k in 0..classes {
                let p = probs[[0, t, k]];
                if ranked.len() < 4 || p > ranked[ranked.len() - 1].1 {
                    let at = ranked.iter().position(|(_, q)| p > *q).unwrap_or(ranked.len());
                    ranked.insert(at, (k, p));
                    ranked.truncate(4);
                }
            }
            let best = ranked[0].0;
            if best != 0 && best != previous {
                let c = self.classes.get(best).copied().unwrap_or(' ');
                text.push(c);
                let alternatives = ranked[1..4.min(ranked.len())]
                    .iter()
                    .filter(|(k, _)| *k != 0)
                    .filter_map(|(k, p)| self.classes.get(*k).map(|c| (*c, *p)))
                    .collect();
                #[allow(clippy::cast_precision_loss)] // a few hundred steps
                let at = t as f32 / steps.max(1) as f32;
                chars.push(CharReading { best: c, confidence: ranked[0].1, alternatives, span: 1, at });
            } else if best != 0
                && let Some(last) = chars.last_mut()
            {
                // The same class again without a blank between: CTC folds it into one character.
                last.span = last.span.saturating_add(1);
            }
            previous = best;
        }
        Ok((text, chars))
    }
}

/// What one detection pass found.
struct Detection {
    boxes: Vec<[u32; 4]>,
    skew: f32,
    /// Median height of the boxes in detector pixels; `None` when there are none.
    line_px: Option<f64>,
    /// The longest side the detector saw the photo at.
    side: u32,
}

/// Where in the photo a document too small to read whole lies, `[x0, y0, x1, y1]` in image
/// pixels: when its lines were still small at the detector's last look of the whole photo,
/// and they lie in a part of it whose longest side is at most [`CROP_SHARE`] of the photo's
/// (with a margin of [`CROP_MARGIN`] of their extent for lines too small to be found at all).
fn small_document((w, h): (u32, u32), found: &Detection) -> Option<[u32; 4]> {
    let small = found.line_px.is_some_and(|px| px < SMALL_LINE_PX);
    // Only a photo larger than the look had the resolution a crop would bring out.
    if !small || found.boxes.len() < MIN_LINES || f64::from(w.max(h)) < 1.25 * f64::from(found.side) {
        return None;
    }
    // The boxes are in the upright frame: their corners turned back into the photo.
    let upright = Upright::new(w, h, found.skew);
    let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for b in &found.boxes {
        for (u, v) in [(b[0], b[1]), (b[2], b[1]), (b[0], b[3]), (b[2], b[3])] {
            let (x, y) = upright.to_photo(f64::from(u), f64::from(v));
            (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
        }
    }
    let (mx, my) = ((x1 - x0) * CROP_MARGIN, (y1 - y0) * CROP_MARGIN);
    let clamp = |v: f64, limit: u32| {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let v = v.round().max(0.0) as u32;
        v.min(limit)
    };
    let region = [clamp(x0 - mx, w), clamp(y0 - my, h), clamp(x1 + mx, w), clamp(y1 + my, h)];
    let longest = (region[2] - region[0]).max(region[3] - region[1]);
    (region[2] > region[0] && region[3] > region[1] && f64::from(longest) <= CROP_SHARE * f64::from(w.max(h)))
        .then_some(region)
}

/// A line's text and its per-character readings.
type Reading = (String, Vec<CharReading>);

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// An image as a `[1, 3, h, w]` tensor in BGR order (PaddleOCR's), each value normalised.
fn one_image(image: &RgbImage, normalise: impl Fn(usize, f32) -> f32) -> NdTensor<f32, 4> {
    let (w, h) = (image.width() as usize, image.height() as usize);
    NdTensor::from_data([1, 3, h, w], planar_bgr(image, w, normalise))
}

/// The recogniser's and the classifier's normalisation: `(x/255 − 0.5)/0.5`.
fn centred(_channel: usize, v: f32) -> f32 {
    (v / 255.0 - 0.5) / 0.5
}

/// An image as three planes, blue, green, red (PaddleOCR's order), of rows `width` values
/// long: past the image's own width a row stays 0, as PaddleOCR pads. Each value normalised.
fn planar_bgr(image: &RgbImage, width: usize, normalise: impl Fn(usize, f32) -> f32) -> Vec<f32> {
    let (w, h) = (image.width() as usize, image.height() as usize);
    debug_assert!(w <= width);
    let mut data = vec![0.0f32; 3 * h * width];
    let (blue, rest) = data.split_at_mut(h * width);
    let (green, red) = rest.split_at_mut(h * width);
    for (y, row) in image.rows().enumerate() {
        for (x, p) in row.enumerate() {
            let i = y * width + x;
            blue[i] = normalise(0, f32::from(p[2]));
            green[i] = normalise(1, f32::from(p[1]));
            red[i] = normalise(2, f32::from(p[0]));
        }
    }
    data
}

/// One connected region of the probability map above [`DET_THRESHOLD`].
struct Component {
    /// Its pixels, in map coordinates.
    pixels: Vec<(u32, u32)>,
    /// Sum of the probabilities over its pixels.
    sum: f32,
}

impl Component {
    fn score(&self) -> f64 {
        #[allow(clippy::cast_precision_loss)]
        let mean = f64::from(self.sum) / self.pixels.len() as f64;
        mean
    }

    /// The direction of the component's long axis and its weight (pixel count), when it is
    /// elongated enough to say which way the text runs (lines, not blobs).
    fn slope(&self) -> Option<(f32, usize)> {
        #[allow(clippy::cast_precision_loss)]
        let n = self.pixels.len() as f64;
        let (mut mx, mut my, mut mxx, mut myy, mut mxy) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for &(x, y) in &self.pixels {
            let (x, y) = (f64::from(x), f64::from(y));
            (mx, my, mxx, myy, mxy) = (mx + x, my + y, mxx + x * x, myy + y * y, mxy + x * y);
        }
        let (cx, cy) = (mx / n, my / n);
        let (vxx, vyy, vxy) = (mxx / n - cx * cx, myy / n - cy * cy, mxy / n - cx * cy);
        let spread = (((vxx - vyy) / 2.0).powi(2) + vxy * vxy).sqrt();
        let mean = f64::midpoint(vxx, vyy);
        let (major, minor) = (mean + spread, mean - spread);
        #[allow(clippy::cast_possible_truncation)]
        let angle = (0.5 * (2.0 * vxy).atan2(vxx - vyy)) as f32;
        (self.pixels.len() >= 12 && major > 9.0 * minor.max(0.25)).then_some((angle, self.pixels.len()))
    }
}

/// The 4-connected regions of the map above [`DET_THRESHOLD`].
fn components(map: &NdTensorView<f32, 2>) -> Vec<Component> {
    let (mh, mw) = (map.size(0), map.size(1));
    let on = |i: usize| map[[i / mw, i % mw]] > DET_THRESHOLD;
    let mut seen = vec![false; mh * mw];
    let mut found = Vec::new();
    let mut stack = Vec::new();
    for start in 0..mh * mw {
        if seen[start] || !on(start) {
            continue;
        }
        let mut component = Component { pixels: Vec::new(), sum: 0.0 };
        stack.push(start);
        seen[start] = true;
        while let Some(i) = stack.pop() {
            let (x, y) = (i % mw, i / mw);
            component.sum += map[[y, x]];
            #[allow(clippy::cast_possible_truncation)] // map sides are at most a few thousand
            component.pixels.push((x as u32, y as u32));
            let neighbours = [
                (x > 0).then(|| i - 1),
                (x + 1 < mw).then(|| i + 1),
                (y > 0).then(|| i - mw),
                (y + 1 < mh).then(|| i + mw),
            ];
            for n in neighbours.into_iter().flatten() {
                if !seen[n] && on(n) {
                    seen[n] = true;
                    stack.push(n);
                }
            }
        }
        found.push(component);
    }
    found
}

/// The turn that puts a photo's text level: image coordinates to upright coordinates and back,
/// about the image centre (the same turn as [`rotate`]).
struct Upright {
    centre: (f64, f64),
    sin: f64,
    cos: f64,
}

impl Upright {
    fn new(w: u32, h: u32, skew: f32) -> Self {
        let (sin, cos) = f64::from(skew).sin_cos();
        Self { centre: (f64::from(w) / 2.0, f64::from(h) / 2.0), sin, cos }
    }

    fn to_upright(&self, x: f64, y: f64) -> (f64, f64) {
        let (dx, dy) = (x - self.centre.0, y - self.centre.1);
        (self.centre.0 + dx * self.cos + dy * self.sin, self.centre.1 - dx * self.sin + dy * self.cos)
    }

    /// The inverse of [`Self::to_upright`].
    fn to_photo(&self, u: f64, v: f64) -> (f64, f64) {
        let (du, dv) = (u - self.centre.0, v - self.centre.1);
        (self.centre.0 + du * self.cos - dv * self.sin, self.centre.1 + du * self.sin + dv * self.cos)
    }
}

/// The box `[x0, y0, x1, y1]` of the upright frame cut out of the tilted image (bilinear),
/// or simply cropped when there is no tilt.
fn upright_crop(image: &RgbImage, skew: f32, b: [u32; 4]) -> RgbImage {
    if skew == 0.0 {
        return image::imageops::crop_imm(image, b[0], b[1], b[2] - b[0], b[3] - b[1]).to_image();
    }
    let (w, h) = image.dimensions();
    #[allow(clippy::cast_precision_loss)]
    let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
    let (sin, cos) = skew.sin_cos();
    #[allow(clippy::cast_precision_loss)]
    RgbImage::from_fn(b[2] - b[0], b[3] - b[1], |x, y| {
        let (dx, dy) = ((b[0] + x) as f32 - cx, (b[1] + y) as f32 - cy);
        bilinear(image, cx + dx * cos - dy * sin, cy + dx * sin + dy * cos)
    })
}

/// The colour at a fractional position (edges repeated).
#[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn bilinear(image: &RgbImage, at_x: f32, at_y: f32) -> image::Rgb<u8> {
    let (w, h) = image.dimensions();
    let (sx, sy) = (at_x.clamp(0.0, (w - 1) as f32), at_y.clamp(0.0, (h - 1) as f32));
    let (x0, y0) = (sx.floor() as u32, sy.floor() as u32);
    let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
    let (fx, fy) = (sx - x0 as f32, sy - y0 as f32);
    let px = |x: u32, y: u32, i: usize| f32::from(image.get_pixel(x, y)[i]);
    let channel = |i: usize| {
        let top = px(x0, y0, i) * (1.0 - fx) + px(x1, y0, i) * fx;
        let bottom = px(x0, y1, i) * (1.0 - fx) + px(x1, y1, i) * fx;
        (top * (1.0 - fy) + bottom * fy).round().clamp(0.0, 255.0) as u8
    };
    image::Rgb([channel(0), channel(1), channel(2)])
}

/// Reading order: lines top to bottom (same line when vertically overlapping), then left to right.
fn reading_order(mut boxes: Vec<[u32; 4]>) -> Vec<[u32; 4]> {
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
    ordered
}

/// The median of `(value, weight)` by weight; 0 when there is nothing or the result is beyond
/// [`MAX_SKEW_DEGREES`].
fn weighted_median(values: &mut [(f32, usize)]) -> f32 {
    values.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total: usize = values.iter().map(|v| v.1).sum();
    let mut seen = 0;
    for (value, weight) in values.iter() {
        seen += weight;
        if seen * 2 >= total {
            return if value.abs() > MAX_SKEW_DEGREES.to_radians() { 0.0 } else { *value };
        }
    }
    0.0
}

/// The image turned by `-angle` about its centre (bilinear; edges repeated), so lines that fell
/// by `angle` run level.
pub fn rotate(image: &RgbImage, angle: f32) -> RgbImage {
    let (w, h) = image.dimensions();
    upright_crop(image, angle, [0, 0, w, h])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_in(x0: u32, y0: u32, x1: u32, y1: u32) -> Vec<[u32; 4]> {
        (0..8).map(|i| [x0, y0 + i * (y1 - y0) / 8, x1, y0 + i * (y1 - y0) / 8 + 20]).collect()
    }

    #[test]
    fn a_small_document_in_a_large_photo_is_cut_out_with_a_margin() {
        let found = Detection { boxes: lines_in(1300, 1100, 2300, 1800), skew: 0.0, line_px: Some(10.0), side: 1280 };
        let region = small_document((4000, 3000), &found).expect("read from its own part");
        assert_eq!(region, [1200, 1037, 2400, 1795], "the lines' extent and a tenth of it around");
        // Turned back from the upright frame: the region still holds every line's corners.
        let tilted = Detection { skew: 0.05, ..found };
        let r = small_document((4000, 3000), &tilted).unwrap();
        let upright = Upright::new(4000, 3000, 0.05);
        for b in &tilted.boxes {
            let (x, y) = upright.to_photo(f64::from(b[0]), f64::from(b[1]));
            assert!(f64::from(r[0]) <= x && x <= f64::from(r[2]) && f64::from(r[1]) <= y && y <= f64::from(r[3]));
        }
    }

    #[test]
    fn a_document_that_fills_the_photo_or_reads_well_is_not_cut_out() {
        let filling = Detection { boxes: lines_in(100, 100, 3900, 2900), skew: 0.0, line_px: Some(10.0), side: 1280 };
        assert_eq!(small_document((4000, 3000), &filling), None, "no resolution to gain");
        let legible = Detection { boxes: lines_in(1300, 1100, 2300, 1800), skew: 0.0, line_px: Some(22.0), side: 1280 };
        assert_eq!(small_document((4000, 3000), &legible), None, "already read well");
        let seen_whole = Detection { boxes: lines_in(300, 300, 800, 700), skew: 0.0, line_px: Some(10.0), side: 1216 };
        assert_eq!(small_document((1200, 900), &seen_whole), None, "the look already had every pixel");
    }

    #[test]
    fn turning_to_the_upright_frame_and_back_is_the_identity() {
        let upright = Upright::new(4000, 3000, 0.2);
        let (u, v) = upright.to_upright(123.0, 2345.0);
        let (x, y) = upright.to_photo(u, v);
        assert!((x - 123.0).abs() < 1e-9 && (y - 2345.0).abs() < 1e-9);
    }

    #[test]
    fn the_slope_is_the_weighted_median_and_wild_estimates_are_ignored() {
        let mut slopes = vec![(0.10, 100), (0.12, 300), (-0.5, 10), (0.11, 200)];
        assert!((weighted_median(&mut slopes) - 0.11).abs() < 1e-6);
        assert!(weighted_median(&mut []).abs() < f32::EPSILON);
        assert!(weighted_median(&mut [(0.6, 5)]).abs() < f32::EPSILON, "beyond 20 degrees is not a tilt");
    }

    #[test]
    fn rotating_back_and_forth_returns_the_picture() {
        let image = RgbImage::from_fn(80, 60, |x, y| {
            image::Rgb([u8::try_from((x * 3) % 256).unwrap(), u8::try_from(y * 4).unwrap(), 128])
        });
        let there = rotate(&image, 0.1);
        assert_ne!(there, image);
        let back = rotate(&there, -0.1);
        // Away from the repeated edges the picture comes back within interpolation error.
        let (a, b) = (image.get_pixel(40, 30), back.get_pixel(40, 30));
        assert!(a.0.iter().zip(b.0).all(|(x, y)| x.abs_diff(y) <= 8), "{a:?} vs {b:?}");
    }
}
