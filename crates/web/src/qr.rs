//! QR codes, drawn here as SVG (no third-party image service): the Alipay payment code and the
//! TOTP enrolment code.

/// `code` as a QR code, in inline SVG markup (empty if it is too long for one).
pub fn svg(code: &str) -> String {
    qrcode::QrCode::new(code.as_bytes())
        .map(|qr| qr.render::<qrcode::render::svg::Color<'_>>().min_dimensions(200, 200).quiet_zone(true).build())
        .unwrap_or_default()
}
