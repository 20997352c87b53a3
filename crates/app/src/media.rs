//! What an uploaded file really is (SECURITY D1, D3): the type comes from its magic bytes *and* a
//! successful, bounded decode; images are re-encoded as JPEG (which drops EXIF, GPS and anything
//! appended), PDFs are accepted only for the signed forms and never with scripts. Pure functions,
//! run off the async threads by the caller.

use domain::document::{MAX_IMAGE_SIDE, MAX_UPLOAD_BYTES};
use image::{ImageDecoder, ImageReader, Limits};
use std::io::Cursor;

/// Memory a single decode may use.
const MAX_DECODE_ALLOC: u64 = 256 * 1024 * 1024;

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
    #[error("图片尺寸过大（最长边不超过8192像素），请压缩后上传")]
    TooManyPixels,
    #[error("PDF 文件包含脚本或已损坏，请重新扫描后上传")]
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

/// Checks and normalises an upload.
pub fn sanitize(bytes: &[u8], accepts_pdf: bool) -> Result<Sanitized, UploadError> {
    if bytes.is_empty() {
        return Err(UploadError::Empty);
    }
    if bytes.len() > MAX_UPLOAD_BYTES {
        return Err(UploadError::TooLarge);
    }
    let unsupported = if accepts_pdf { UploadError::UnsupportedDocument } else { UploadError::UnsupportedImage };
    match infer::get(bytes).map(|t| t.mime_type()) {
        Some("image/jpeg" | "image/png" | "image/webp") => reencode(bytes),
        Some("application/pdf") if accepts_pdf => check_pdf(bytes),
        _ => Err(unsupported),
    }
}

fn reencode(bytes: &[u8]) -> Result<Sanitized, UploadError> {
    let reader = ImageReader::new(Cursor::new(bytes)).with_guessed_format().map_err(|_| UploadError::Undecodable)?;
    // Header only: refuse giant canvases before a single pixel is allocated.
    let (width, height) = reader.into_dimensions().map_err(|_| UploadError::Undecodable)?;
    if width > MAX_IMAGE_SIDE || height > MAX_IMAGE_SIDE {
        return Err(UploadError::TooManyPixels);
    }
    let mut reader =
        ImageReader::new(Cursor::new(bytes)).with_guessed_format().map_err(|_| UploadError::Undecodable)?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_IMAGE_SIDE);
    limits.max_image_height = Some(MAX_IMAGE_SIDE);
    limits.max_alloc = Some(MAX_DECODE_ALLOC);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(|_| UploadError::Undecodable)?;
    let orientation = decoder.orientation().ok();
    let mut picture = image::DynamicImage::from_decoder(decoder).map_err(|_| UploadError::Undecodable)?;
    if let Some(orientation) = orientation {
        picture.apply_orientation(orientation);
    }
    let rgb = picture.to_rgb8();
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .encode_image(&rgb)
        .map_err(|_| UploadError::Undecodable)?;
    Ok(Sanitized { bytes: out, content_type: "image/jpeg", extension: "jpg" })
}

fn check_pdf(bytes: &[u8]) -> Result<Sanitized, UploadError> {
    let has = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    let tail = &bytes[bytes.len().saturating_sub(1024)..];
    let ends = tail.windows(5).any(|w| w == b"%%EOF");
    if !bytes.starts_with(b"%PDF-")
        || !ends
        || has(b"/JavaScript")
        || has(b"/JS")
        || has(b"/Launch")
        || has(b"/EmbeddedFile")
    {
        return Err(UploadError::UnsafePdf);
    }
    Ok(Sanitized { bytes: bytes.to_vec(), content_type: "application/pdf", extension: "pdf" })
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
        let mut bytes = png(1, 1);
        // IHDR: length at 8, type at 12, width and height at 16..24, CRC over type+data at 29..33.
        bytes[16..20].copy_from_slice(&side.to_be_bytes());
        bytes[20..24].copy_from_slice(&side.to_be_bytes());
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
        let mut with_exif = vec![0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x10];
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
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
    }

    #[test]
    fn pdfs_only_for_forms_and_never_with_scripts() {
        let pdf = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n".to_vec();
        assert_eq!(sanitize(&pdf, true).unwrap().content_type, "application/pdf");
        assert_eq!(sanitize(&pdf, false), Err(UploadError::UnsupportedImage));
        let scripted = b"%PDF-1.7\n1 0 obj << /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >> endobj\n%%EOF\n";
        assert_eq!(sanitize(scripted, true), Err(UploadError::UnsafePdf));
    }
}
