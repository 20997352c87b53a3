//! What an uploaded file really is (SECURITY D1, D3): the type comes from its magic bytes *and* a
//! successful, bounded decode; images are re-encoded as JPEG (which drops EXIF, GPS and anything
//! appended), PDFs are accepted only for the signed forms and never with scripts. Pure functions,
//! run off the async threads by the caller.

use domain::document::{MAX_IMAGE_PIXELS, MAX_IMAGE_SIDE, MAX_UPLOAD_BYTES, STORED_IMAGE_SIDE};
use image::{ColorType, ImageDecoder, ImageReader, Limits};
use std::io::Cursor;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Memory all decodes in flight may use together, across the process.
pub const DECODE_BUDGET_BYTES: u64 = 256 * 1024 * 1024;
/// How long an upload waits for its share of the budget before it is answered "busy".
const DECODE_WAIT: Duration = Duration::from_secs(10);
/// The budget is counted in these units (a tokio semaphore counts permits in `u32`).
const UNIT: u64 = 1024 * 1024;

/// Why an upload was refused; each has a stable code and a Chinese message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UploadError {
    #[error("请选择要上传的文件")]
    Empty,
    #[error("文件不能超过10MB")]
    TooLarge,
    #[error("只支持 JPG、PNG、WebP 图片{}", "")]
    UnsupportedImage,
    #[error("只支持 JPG、PNG、WebP 图片或 PDF 文件")]
    UnsupportedDocument,
    #[error("图片已损坏或无法识别，请重新拍摄后上传")]
    Undecodable,
    #[error("图片尺寸过大（不超过5000万像素、最长边不超过8192像素），请压缩后上传")]
    TooManyPixels,
    #[error("PDF 文件包含脚本、附件或加密内容，或已损坏，请重新扫描后上传（也可以上传照片）")]
    UnsafePdf,
}

impl UploadError {
    pub fn code(self) -> &'static str {
        match self {
            Self::Empty => "upload_empty",
            Self::TooLarge => "upload_too_large",
            Self::UnsupportedImage | Self::UnsupportedDocument => "upload_type_unsupported",
            Self::Undecodable => "upload_undecodable",
            Self::TooManyPixels => "upload_too_many_pixels",
            Self::UnsafePdf => "upload_pdf_unsafe",
        }
    }
}

/// A file fit to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sanitized {
    pub bytes: Vec<u8>,
    pub content_type: &'static str,
    pub extension: &'static str,
}

/// The memory of the decodes in flight, shared by every upload of the process: an upload takes
/// its image's cost (known from the header) before decoding and gives it back when done, so a
/// burst of large photos waits its turn instead of multiplying the peak.
#[derive(Clone)]
pub struct DecodeBudget {
    units: Arc<Semaphore>,
    total: u64,
    wait: Duration,
}

/// Waiting for the budget took too long: the caller answers "busy, retry".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BudgetBusy;

impl DecodeBudget {
    /// `bytes` in flight at most; a reservation waits up to `wait` for its share.
    pub fn new(bytes: u64, wait: Duration) -> Self {
        let units = u32::try_from(bytes / UNIT).unwrap_or(u32::MAX).max(1);
        Self { units: Arc::new(Semaphore::new(units as usize)), total: u64::from(units) * UNIT, wait }
    }

    /// Waits (at most a few seconds) for `cost` bytes of the budget; the permit returns them.
    pub async fn reserve(&self, cost: u64) -> Result<OwnedSemaphorePermit, BudgetBusy> {
        let units = u32::try_from(cost.div_ceil(UNIT).clamp(1, self.total / UNIT)).unwrap_or(u32::MAX);
        tokio::time::timeout(self.wait, self.units.clone().acquire_many_owned(units))
            .await
            .map_err(|_| BudgetBusy)?
            .map_err(|_| BudgetBusy)
    }

    pub fn total(&self) -> u64 {
        self.total
    }
}

impl Default for DecodeBudget {
    fn default() -> Self {
        Self::new(DECODE_BUDGET_BYTES, DECODE_WAIT)
    }
}

/// What decoding `bytes` will take at most, read from the header alone; a picture too large to
/// be a document photo (pixels, sides, or decoded size beyond `budget`) is refused here, before a
/// single pixel is allocated. Files that are no picture cost nothing to check.
pub fn decode_cost(bytes: &[u8], budget: u64) -> Result<u64, UploadError> {
    if !matches!(infer::get(bytes).map(|t| t.mime_type()), Some("image/jpeg" | "image/png" | "image/webp")) {
        return Ok(0);
    }
    let reader = ImageReader::new(Cursor::new(bytes)).with_guessed_format().map_err(|_| UploadError::Undecodable)?;
    let decoder = reader.into_decoder().map_err(|_| UploadError::Undecodable)?;
    let (width, height) = decoder.dimensions();
    let pixels = u64::from(width) * u64::from(height);
    if width > MAX_IMAGE_SIDE || height > MAX_IMAGE_SIDE || pixels > MAX_IMAGE_PIXELS {
        return Err(UploadError::TooManyPixels);
    }
    let pixel_bytes = decoder.total_bytes();
    let converted = if decoder.color_type() == ColorType::Rgb8 { 0 } else { pixels * 3 };
    let (w, h) = stored_size(width, height);
    // The scaled copy, and once more for turning it upright.
    let cost = pixel_bytes + converted + 2 * u64::from(w) * u64::from(h) * 3;
    if cost > budget {
        return Err(UploadError::TooManyPixels);
    }
    Ok(cost)
}

/// The size a picture is stored at: its own, or scaled down to fit `STORED_IMAGE_SIDE` (ample
/// for reading a document; an 8000-pixel photo would only cost every later reader memory).
fn stored_size(width: u32, height: u32) -> (u32, u32) {
    let longest = width.max(height);
    if longest <= STORED_IMAGE_SIDE {
        return (width, height);
    }
    let scale = |side: u32| {
        u32::try_from(u64::from(side) * u64::from(STORED_IMAGE_SIDE) / u64::from(longest)).unwrap_or(1).max(1)
    };
    (scale(width), scale(height))
}

/// Checks and normalises an upload. Callers decoding on behalf of users reserve
/// [`decode_cost`] from a [`DecodeBudget`] first.
pub fn sanitize(bytes: &[u8], accepts_pdf: bool) -> Result<Sanitized, UploadError> {
    if bytes.is_empty() {
        return Err(UploadError::Empty);
    }
    if bytes.len() > MAX_UPLOAD_BYTES {
        return Err(UploadError::TooLarge);
    }
    let unsupported = if accepts_pdf { UploadError::UnsupportedDocument } else { UploadError::UnsupportedImage };
    match infer::get(bytes).map(|t| t.mime_type()) {
        Some("image/jpeg") if !jpeg_is_complete(bytes) => Err(UploadError::Undecodable),
        Some("image/jpeg" | "image/png" | "image/webp") => reencode(bytes),
        Some("application/pdf") if accepts_pdf => check_pdf(bytes),
        _ => Err(unsupported),
    }
}

/// Whether the JPEG reaches its end-of-image marker. Decoders fill a cut-off scan with grey and
/// call it a picture; a photo cut off in transfer must be sent again instead. The segments are
/// walked by their lengths and each scan's entropy data is skipped (`FF 00` and restart markers
/// belong to it), so whatever follows the end marker — a motion photo's video — is never mistaken
/// for the picture.
fn jpeg_is_complete(bytes: &[u8]) -> bool {
    let mut at = 2; // after SOI
    loop {
        // Fill bytes before a marker are allowed.
        while bytes.get(at) == Some(&0xFF) && bytes.get(at + 1) == Some(&0xFF) {
            at += 1;
        }
        let (Some(&0xFF), Some(&marker)) = (bytes.get(at), bytes.get(at + 1)) else { return false };
        at += 2;
        match marker {
            0xD9 => return true,
            0x01 | 0xD0..=0xD7 => {}
            _ => {
                let (Some(&hi), Some(&lo)) = (bytes.get(at), bytes.get(at + 1)) else { return false };
                at += usize::from(u16::from_be_bytes([hi, lo]));
                if marker == 0xDA {
                    // Entropy-coded data up to the next real marker.
                    loop {
                        match (bytes.get(at), bytes.get(at + 1)) {
                            (Some(&0xFF), Some(&next)) if next != 0x00 && !(0xD0..=0xD7).contains(&next) => break,
                            (Some(_), Some(_)) => at += 1,
                            _ => return false,
                        }
                    }
                }
            }
        }
    }
}

fn reencode(bytes: &[u8]) -> Result<Sanitized, UploadError> {
    // Header only: refuse giant canvases before a single pixel is allocated.
    decode_cost(bytes, u64::MAX)?;
    let mut reader =
        ImageReader::new(Cursor::new(bytes)).with_guessed_format().map_err(|_| UploadError::Undecodable)?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_IMAGE_SIDE);
    limits.max_image_height = Some(MAX_IMAGE_SIDE);
    limits.max_alloc = Some(DECODE_BUDGET_BYTES);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(|_| UploadError::Undecodable)?;
    let orientation = decoder.orientation().ok();
    let mut picture = image::DynamicImage::from_decoder(decoder).map_err(|_| UploadError::Undecodable)?;
    let (width, height) = stored_size(picture.width(), picture.height());
    if (width, height) != (picture.width(), picture.height()) {
        // Area averaging straight into the output (`resize` would first build a full-width
        // intermediate at 16 bytes a pixel, beyond the budget).
        picture = image::DynamicImage::ImageRgb8(image::imageops::thumbnail(&picture.into_rgb8(), width, height));
    }
    if let Some(orientation) = orientation {
        picture.apply_orientation(orientation);
    }
    let rgb = picture.into_rgb8();
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .encode_image(&rgb)
        .map_err(|_| UploadError::Undecodable)?;
    Ok(Sanitized { bytes: out, content_type: "image/jpeg", extension: "jpg" })
}

/// PDF names that make a document do something when opened, or carry something other than its
/// pages: scripts, program launches, actions on events, embedded files, XFA forms, rich media,
/// form submission and import. And encryption, which would hide all of them. (`OpenAction` is
/// judged by its value: only a direct destination — the page to open at, as office suites write
/// it — passes.)
const ACTIVE_PDF_NAMES: [&[u8]; 12] = [
    b"JavaScript",
    b"JS",
    b"Launch",
    b"AA",
    b"EmbeddedFile",
    b"EmbeddedFiles",
    b"XFA",
    b"RichMedia",
    b"SubmitForm",
    b"ImportData",
    b"GoToE",
    b"Encrypt",
];

/// Most bytes one stream of an uploaded PDF may inflate to while it is checked (a scanned form's
/// object streams are a few kilobytes).
const MAX_PDF_STREAM_BYTES: usize = 8 * 1024 * 1024;

thread_local! {
    /// Set by [`inspect_pdf_object`] while a PDF is loaded on this thread: active content, or an
    /// object stream that could not be opened.
    static PDF_ACTIVE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// A PDF is accepted when it parses (lopdf, streams inflated under a bound, nesting bounded)
/// and no object — top-level or inside a compressed object stream, names read with their `#xx`
/// escapes decoded — holds active content; the raw bytes are also scanned for those names, so an
/// object the parser skipped as malformed cannot hide one from the check.
fn check_pdf(bytes: &[u8]) -> Result<Sanitized, UploadError> {
    let tail = &bytes[bytes.len().saturating_sub(1024)..];
    if !bytes.starts_with(b"%PDF-") || !tail.windows(5).any(|w| w == b"%%EOF") || raw_names_are_active(bytes) {
        return Err(UploadError::UnsafePdf);
    }
    PDF_ACTIVE.with(|found| found.set(false));
    let options = lopdf::LoadOptions {
        filter: Some(inspect_pdf_object),
        max_decompressed_size: Some(MAX_PDF_STREAM_BYTES),
        ..lopdf::LoadOptions::default()
    };
    let loaded = lopdf::Document::load_mem_with_options(bytes, options);
    let active = PDF_ACTIVE.with(std::cell::Cell::take);
    match loaded {
        // A file that was encrypted is refused even when lopdf could open it (an empty user
        // password): its objects were never shown to the filter.
        Ok(doc) if !active && !doc.is_encrypted() && !doc.was_encrypted() && !dictionary_holds_active(&doc.trailer) => {
            Ok(Sanitized { bytes: bytes.to_vec(), content_type: "application/pdf", extension: "pdf" })
        }
        _ => Err(UploadError::UnsafePdf),
    }
}

/// The loader's filter: notes active content, opens each object stream itself (inflated under
/// the bound; one that cannot be opened makes the file unreadable, so nothing can hide in it)
/// and keeps nothing, so checking holds at most one stream's objects in memory.
fn inspect_pdf_object(_: (u32, u16), object: &mut lopdf::Object) -> Option<((u32, u16), lopdf::Object)> {
    let mut active = holds_active(object);
    // Viewers open a stream as an object stream by its /N and /First, whatever its /Type says.
    if let lopdf::Object::Stream(stream) = object
        && (stream.dict.has_type(b"ObjStm") || (stream.dict.has(b"N") && stream.dict.has(b"First")))
    {
        match lopdf::ObjectStream::new_with_limit(stream, Some(MAX_PDF_STREAM_BYTES)) {
            Ok(packed) => active |= packed.objects.values().any(holds_active),
            Err(_) => active = true,
        }
    }
    if active {
        PDF_ACTIVE.with(|found| found.set(true));
    }
    None
}

/// Whether `object` (the parser bounds its nesting) names active content, as a key or a value.
fn holds_active(object: &lopdf::Object) -> bool {
    use lopdf::Object;
    match object {
        Object::Name(name) => ACTIVE_PDF_NAMES.contains(&name.as_slice()),
        Object::Array(items) => items.iter().any(holds_active),
        Object::Dictionary(dict) => dictionary_holds_active(dict),
        Object::Stream(stream) => dictionary_holds_active(&stream.dict),
        _ => false,
    }
}

fn dictionary_holds_active(dict: &lopdf::Dictionary) -> bool {
    dict.iter().any(|(key, value)| {
        // Only a direct destination (an array) may open the file; an action, or a reference that
        // could name one (GoToR to a network share, URI, Named Print), is refused.
        let open_action = key.as_slice() == b"OpenAction" && !matches!(value, lopdf::Object::Array(_));
        open_action || ACTIVE_PDF_NAMES.contains(&key.as_slice()) || holds_active(value)
    })
}

/// The names in the raw bytes outside stream data, `#xx` escapes decoded (`/J#61vaScript` is
/// `/JavaScript`). Stream data (image scans, compressed objects) is skipped: random bytes would
/// spell `/JS` now and then, and what a compressed object stream holds the parser reads.
fn raw_names_are_active(bytes: &[u8]) -> bool {
    outside_streams(bytes).any(names_are_active)
}

/// The stretches of `bytes` between `stream` … `endstream` data.
fn outside_streams(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    let find = |from: usize, needle: &[u8]| {
        bytes.get(from..).and_then(|rest| rest.windows(needle.len()).position(|w| w == needle)).map(|at| from + at)
    };
    let mut at = Some(0);
    std::iter::from_fn(move || {
        let from = at?;
        let mut search = from;
        loop {
            let Some(start) = find(search, b"stream") else {
                at = None;
                return Some(&bytes[from..]);
            };
            // The keyword follows its dictionary's `>>` (a `stream` inside a string does not).
            let before = bytes[..start].iter().rposition(|b| !b.is_ascii_whitespace());
            let keyword = before.is_some_and(|at| at >= 1 && &bytes[at - 1..=at] == b">>");
            let data_follows = matches!(bytes.get(start + 6), Some(b'\r' | b'\n'));
            if keyword && data_follows {
                at = find(start + 6, b"endstream").map(|end| end + 9);
                return Some(&bytes[from..start]);
            }
            search = start + 6;
        }
    })
}

fn names_are_active(bytes: &[u8]) -> bool {
    let delimiter = |b: u8| b.is_ascii_whitespace() || b"()<>[]{}/%".contains(&b) || b == 0;
    let hex = |b: u8| char::from(b).to_digit(16).and_then(|d| u8::try_from(d).ok());
    let mut at = 0;
    let mut name = Vec::new();
    while let Some(offset) = bytes[at..].iter().position(|&b| b == b'/') {
        at += offset + 1;
        name.clear();
        while at < bytes.len() && !delimiter(bytes[at]) {
            match (bytes[at], bytes.get(at + 1).copied().and_then(hex), bytes.get(at + 2).copied().and_then(hex)) {
                (b'#', Some(high), Some(low)) => {
                    name.push(high << 4 | low);
                    at += 3;
                }
                (b, _, _) => {
                    name.push(b);
                    at += 1;
                }
            }
        }
        if ACTIVE_PDF_NAMES.contains(&name.as_slice()) {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let img =
            image::RgbImage::from_fn(width, height, |x, y| image::Rgb([x.to_le_bytes()[0], y.to_le_bytes()[0], 128]));
        let mut out = Vec::new();
        image::DynamicImage::ImageRgb8(img).write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png).unwrap();
        out
    }

    fn crc32(data: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &byte in data {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
            }
        }
        !crc
    }

    /// A well-formed PNG whose header claims a canvas of `side`×`side` (no pixel data to speak of).
    fn png_bomb(side: u32) -> Vec<u8> {
        png_header(side, side, 8, 2)
    }

    /// A PNG header claiming `width`×`height` at `depth` bits of colour type `color` (2 RGB, 6 RGBA).
    fn png_header(width: u32, height: u32, depth: u8, color: u8) -> Vec<u8> {
        let mut bytes = png(1, 1);
        // IHDR: length at 8, type at 12, width and height at 16..24, depth and colour type at 24
        // and 25, CRC over type+data at 29..33.
        bytes[16..20].copy_from_slice(&width.to_be_bytes());
        bytes[20..24].copy_from_slice(&height.to_be_bytes());
        bytes[24] = depth;
        bytes[25] = color;
        let crc = crc32(&bytes[12..29]);
        bytes[29..33].copy_from_slice(&crc.to_be_bytes());
        bytes
    }

    #[test]
    fn images_are_reencoded_as_jpeg() {
        let out = sanitize(&png(64, 32), false).unwrap();
        assert_eq!((out.content_type, out.extension), ("image/jpeg", "jpg"));
        assert!(out.bytes.starts_with(&[0xFF, 0xD8]));
        let back = image::load_from_memory(&out.bytes).unwrap();
        assert_eq!((back.width(), back.height()), (64, 32));
    }

    #[test]
    fn metadata_and_trailing_payloads_do_not_survive() {
        let jpeg = sanitize(&png(16, 16), false).unwrap().bytes;
        let mut with_exif = vec![0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x12];
        with_exif.extend_from_slice(b"Exif\0\0GPS-SECRET");
        with_exif.extend_from_slice(&jpeg[2..]);
        with_exif.extend_from_slice(b"<html><script>alert(1)</script></html>");
        let out = sanitize(&with_exif, false).unwrap().bytes;
        let contains = |needle: &[u8]| out.windows(needle.len()).any(|w| w == needle);
        assert!(!contains(b"GPS-SECRET") && !contains(b"<script>"));
    }

    #[test]
    fn what_is_not_a_picture_is_refused() {
        assert_eq!(sanitize(b"", false), Err(UploadError::Empty));
        assert_eq!(sanitize(b"<html><body>hi</body></html>", false), Err(UploadError::UnsupportedImage));
        assert_eq!(
            sanitize(b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>", true),
            Err(UploadError::UnsupportedDocument)
        );
        let jpeg = sanitize(&png(64, 64), false).unwrap().bytes;
        assert_eq!(sanitize(&jpeg[..jpeg.len() / 3], false), Err(UploadError::Undecodable), "truncated");
        assert_eq!(sanitize(&vec![0u8; MAX_UPLOAD_BYTES + 1], false), Err(UploadError::TooLarge));
    }

    #[test]
    fn giant_canvases_are_refused_before_decoding() {
        let started = std::time::Instant::now();
        assert_eq!(sanitize(&png_bomb(100_000), false), Err(UploadError::TooManyPixels));
        assert_eq!(sanitize(&png_bomb(16_384), false), Err(UploadError::TooManyPixels));
        // Inside the side limit, but 67 megapixels: more than any phone photo of a document.
        assert_eq!(sanitize(&png_bomb(8192), false), Err(UploadError::TooManyPixels));
        assert_eq!(decode_cost(&png_header(8192, 8192, 16, 6), DECODE_BUDGET_BYTES), Err(UploadError::TooManyPixels));
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
    }

    #[test]
    fn what_a_decode_costs_is_known_from_the_header() {
        let budget = DECODE_BUDGET_BYTES;
        // A 12-megapixel phone photo: decoded once, scaled to 4096 on its longest side.
        let rgb = decode_cost(&png_header(4000, 3000, 8, 2), budget).unwrap();
        assert_eq!(rgb, 4000 * 3000 * 3 + 2 * 4000 * 3000 * 3);
        let rgba16 = decode_cost(&png_header(4000, 3000, 16, 6), budget).unwrap();
        assert_eq!(rgba16, 4000 * 3000 * 8 + 4000 * 3000 * 3 + 2 * 4000 * 3000 * 3);
        // 48 megapixels in 8-bit RGB fit the budget; in 16-bit RGBA they do not.
        assert!(decode_cost(&png_header(8000, 6000, 8, 2), budget).is_ok());
        assert_eq!(decode_cost(&png_header(8000, 6000, 16, 6), budget), Err(UploadError::TooManyPixels));
        assert_eq!(decode_cost(b"%PDF-1.7 not a picture", budget), Ok(0));
    }

    #[test]
    fn large_photos_are_stored_scaled_to_4096_pixels() {
        let out = sanitize(&png(4200, 60), false).unwrap();
        let back = image::load_from_memory(&out.bytes).unwrap();
        assert_eq!((back.width(), back.height()), (4096, 58));
        let out = sanitize(&png(60, 4096), false).unwrap();
        let back = image::load_from_memory(&out.bytes).unwrap();
        assert_eq!((back.width(), back.height()), (60, 4096), "at the limit: as it was");
    }

    #[test]
    fn a_photo_cut_off_in_transfer_is_refused_not_filled_with_grey() {
        let jpeg = sanitize(&png(64, 64), false).unwrap().bytes;
        for keep in [jpeg.len() - 2, jpeg.len() * 9 / 10, jpeg.len() * 2 / 3] {
            assert_eq!(sanitize(&jpeg[..keep], false), Err(UploadError::Undecodable), "{keep} of {}", jpeg.len());
        }
        assert!(sanitize(&jpeg, false).is_ok());
    }

    #[test]
    fn a_motion_photo_with_video_after_the_picture_is_complete() {
        let jpeg = sanitize(&png(64, 64), false).unwrap().bytes;
        let mut motion = jpeg.clone();
        // What follows the end marker may hold FF DA and never FF D9.
        motion.extend_from_slice(b"ftypmp42\xFF\xDA\x00\x08video-bytes\xFF\xDAmore");
        assert!(sanitize(&motion, false).is_ok());
    }

    #[tokio::test]
    async fn decodes_in_flight_share_one_budget() {
        let budget = DecodeBudget::new(4 * UNIT, Duration::from_millis(50));
        let first = budget.reserve(3 * UNIT).await.unwrap();
        assert_eq!(budget.reserve(2 * UNIT).await.err(), Some(BudgetBusy), "waits, then is busy");
        let small = budget.reserve(UNIT / 2).await.unwrap();
        drop((first, small));
        assert!(budget.reserve(4 * UNIT).await.is_ok(), "given back when done");
        assert!(budget.reserve(40 * UNIT).await.is_ok(), "a reservation never asks for more than all");
    }

    #[test]
    fn pdfs_only_for_forms_and_never_with_scripts() {
        let pdf = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n".to_vec();
        assert_eq!(sanitize(&pdf, true).unwrap().content_type, "application/pdf");
        assert_eq!(sanitize(&pdf, false), Err(UploadError::UnsupportedImage));
        let scripted = b"%PDF-1.7\n1 0 obj << /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >> endobj\n%%EOF\n";
        assert_eq!(sanitize(scripted, true), Err(UploadError::UnsafePdf));
    }

    /// A one-page PDF written by lopdf, its catalog carrying `extra`; `compressed` puts every
    /// object in a Flate-compressed object stream, as modern writers do.
    fn pdf_with(extra: Vec<(&str, lopdf::Object)>, compressed: bool) -> Vec<u8> {
        use lopdf::{Document, Object, dictionary};
        let mut doc = Document::with_version("1.7");
        let pages = doc.new_object_id();
        let page = doc.add_object(dictionary! {
            "Type" => "Page", "Parent" => pages, "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
        });
        doc.objects.insert(
            pages,
            Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => vec![page.into()], "Count" => 1 }),
        );
        let mut catalog = dictionary! { "Type" => "Catalog", "Pages" => pages };
        for (key, value) in extra {
            catalog.set(key, value);
        }
        let root = doc.add_object(catalog);
        doc.trailer.set("Root", root);
        let mut out = Vec::new();
        if compressed { doc.save_modern(&mut out) } else { doc.save_to(&mut out) }.unwrap();
        out
    }

    fn script() -> lopdf::Object {
        use lopdf::{Object, StringFormat, dictionary};
        Object::Dictionary(dictionary! {
            "S" => "JavaScript", "JS" => Object::String(b"app.alert(1)".to_vec(), StringFormat::Literal),
        })
    }

    #[test]
    fn active_content_is_found_however_it_is_spelled_or_packed() {
        use lopdf::{Object, dictionary};
        for compressed in [false, true] {
            assert!(sanitize(&pdf_with(Vec::new(), compressed), true).is_ok(), "a plain form passes ({compressed})");
            assert_eq!(
                sanitize(&pdf_with(vec![("OpenAction", script())], compressed), true),
                Err(UploadError::UnsafePdf)
            );
        }
        // Inside a compressed object stream the words are nowhere in the file's bytes.
        let packed = pdf_with(vec![("OpenAction", script())], true);
        assert!(!packed.windows(10).any(|w| w == b"JavaScript"), "the fixture really hides it");
        // Opening at a page (a destination, as office suites write it) is no action; opening with
        // a GoTo action dictionary is refused like any action on open.
        let page_one =
            Object::Array(vec![Object::Reference((3, 0)), "XYZ".into(), Object::Null, Object::Null, 0.into()]);
        assert!(sanitize(&pdf_with(vec![("OpenAction", page_one)], false), true).is_ok(), "a destination passes");
        let by_reference = Object::Reference((9, 0));
        assert_eq!(
            sanitize(&pdf_with(vec![("OpenAction", by_reference)], false), true).err(),
            Some(UploadError::UnsafePdf),
            "a reference could name any action (GoToR to a share, URI, Print)"
        );
        let go_to =
            Object::Dictionary(dictionary! { "S" => "GoTo", "D" => Object::Array(vec![Object::Reference((3, 0))]) });
        assert_eq!(sanitize(&pdf_with(vec![("OpenAction", go_to)], false), true).err(), Some(UploadError::UnsafePdf));
        // Name escapes: `#61` is `a`.
        let plain = pdf_with(vec![("OpenAction", script())], false);
        let text = String::from_utf8_lossy(&plain).replace("/JavaScript", "/J#61vaScript").replace("/JS", "/J#53");
        assert!(!text.contains("/JavaScript"));
        assert_eq!(sanitize(text.as_bytes(), true).err(), Some(UploadError::UnsafePdf));
        let launch = pdf_with(
            vec![("OpenAction", Object::Dictionary(dictionary! { "S" => "Launch", "F" => "cmd.exe" }))],
            false,
        );
        let escaped =
            String::from_utf8_lossy(&launch).replace("/OpenAction", "/Open#41ction").replace("/Launch", "/L#61unch");
        assert_eq!(sanitize(escaped.as_bytes(), true).err(), Some(UploadError::UnsafePdf));
        for (key, value) in [
            ("Names", Object::Dictionary(dictionary! { "EmbeddedFiles" => Object::Dictionary(dictionary! {}) })),
            ("AcroForm", Object::Dictionary(dictionary! { "XFA" => Object::Array(Vec::new()) })),
            ("AA", Object::Dictionary(dictionary! { "WC" => script() })),
        ] {
            for compressed in [false, true] {
                assert_eq!(
                    sanitize(&pdf_with(vec![(key, value.clone())], compressed), true),
                    Err(UploadError::UnsafePdf),
                    "{key}"
                );
            }
        }
    }

    #[test]
    fn hostile_pdf_structures_end_in_a_refusal_or_a_pass_never_a_crash() {
        use std::fmt::Write as _;
        // 30,000 nested arrays: the parser's depth limit, not our stack, decides.
        let mut deep = String::from("%PDF-1.7\n1 0 obj << /Type /Catalog /Deep ");
        deep.push_str(&"[".repeat(30_000));
        deep.push_str(&"]".repeat(30_000));
        let _ = write!(deep, " >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n");
        let _ = sanitize(deep.as_bytes(), true);
        // An object stream that inflates far beyond what a form needs is refused.
        let mut bomb = lopdf::Stream::new(lopdf::dictionary! {}, vec![b' '; 16 * 1024 * 1024]);
        bomb.compress().unwrap();
        assert!(bomb.content.len() < 1024 * 1024, "{} bytes on the wire", bomb.content.len());
        let mut out = format!(
            "%PDF-1.7\n1 0 obj\n<< /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode /Length {} >>\nstream\n",
            bomb.content.len()
        )
        .into_bytes();
        out.extend_from_slice(&bomb.content);
        out.extend_from_slice(
            b"\nendstream\nendobj\n2 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 2 0 R /Size 3 >>\n%%EOF\n",
        );
        assert_eq!(sanitize(&out, true).err(), Some(UploadError::UnsafePdf));
    }
}
