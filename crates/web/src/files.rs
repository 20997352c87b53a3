//! Answers that are files rather than pages: downloads and the images we draw, the same for the
//! applicant's pages, the back office and the API.

use app::certificates::CertificateView;
use axum::http::header;
use axum::response::{IntoResponse, Response};

/// `Content-Disposition` for a download named `name` (RFC 6266): the UTF-8 name for browsers,
/// and an ASCII one (non-ASCII as `_`) for those that read only `filename`.
pub fn attachment_disposition(name: &str) -> String {
    let ascii: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') { c } else { '_' }).collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_') {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// An SVG made here, as an image that runs nothing and is kept by no one else.
pub fn svg_image(svg: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "private, no-store"),
            (header::CONTENT_SECURITY_POLICY, "default-src 'none'; style-src 'unsafe-inline'"),
        ],
        svg,
    )
        .into_response()
}

/// A certificate as a file to save: DER (`.cer`) or PEM.
pub fn certificate(certificate: &CertificateView, der: bool) -> Response {
    let serial = &certificate.record.serial;
    if der {
        (
            [
                (header::CONTENT_TYPE, "application/pkix-cert".to_owned()),
                (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{serial}.cer\"")),
                (header::CACHE_CONTROL, "private, no-store".to_owned()),
            ],
            certificate.record.der.clone(),
        )
            .into_response()
    } else {
        (
            [
                (header::CONTENT_TYPE, "application/x-pem-file".to_owned()),
                (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{serial}.pem\"")),
                (header::CACHE_CONTROL, "private, no-store".to_owned()),
            ],
            certificate.pem(),
        )
            .into_response()
    }
}
