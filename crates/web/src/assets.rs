//! Static assets (CSS, JS, icons), embedded in the binary and served by us: no CDN.
//!
//! Pages link each asset as `/static/<file>?v=<hash of its bytes>` ([`url`]); a request naming
//! the current hash is answered `immutable` for a year, any other with a short cache. Every
//! answer carries a strong ETag (a matching `If-None-Match` gets 304) and, when the browser
//! accepts it, the brotli or gzip body compressed once when the process first serves an asset.
//! Assets sit outside the visitor layer: no session read, no CSRF token, no cookie.

use std::collections::HashMap;
use std::io::Write;
use std::sync::LazyLock;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rust_embed::Embed;
use sha2::{Digest, Sha256};

use crate::AppState;

#[derive(Embed)]
#[folder = "static/"]
struct Files;

/// One asset, ready to serve in every encoding.
struct Asset {
    content_type: HeaderValue,
    /// Hex of the first 8 bytes of the SHA-256 of the raw bytes.
    hash: String,
    etag: HeaderValue,
    raw: Bytes,
    gzip: Option<Bytes>,
    brotli: Option<Bytes>,
}

static ASSETS: LazyLock<HashMap<String, Asset>> = LazyLock::new(|| {
    Files::iter()
        .filter_map(|path| {
            let file = Files::get(&path)?;
            Some((path.to_string(), Asset::new(&path, file.data.into_owned())))
        })
        .collect()
});

impl Asset {
    fn new(path: &str, raw: Vec<u8>) -> Self {
        let mime = mime_guess::from_path(path).first_or_octet_stream();
        let textual =
            mime.type_() == "text" || mime.subtype() == "javascript" || mime.suffix() == Some(mime_guess::mime::XML);
        let content_type = if textual { format!("{mime}; charset=utf-8") } else { mime.to_string() };
        let hash = hex::encode(&Sha256::digest(&raw)[..8]);
        // Compressed only where it pays (text), and kept only when smaller.
        let smaller = |packed: Option<Vec<u8>>| packed.filter(|p| p.len() < raw.len()).map(Bytes::from);
        let (gzip, brotli) = if textual { (smaller(gzip(&raw)), smaller(brotli(&raw))) } else { (None, None) };
        Self {
            content_type: HeaderValue::from_str(&content_type)
                .unwrap_or(HeaderValue::from_static("application/octet-stream")),
            etag: HeaderValue::from_str(&format!("\"{hash}\"")).unwrap_or(HeaderValue::from_static("\"0\"")),
            hash,
            raw: Bytes::from(raw),
            gzip,
            brotli,
        }
    }
}

fn gzip(raw: &[u8]) -> Option<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(raw).ok()?;
    encoder.finish().ok()
}

fn brotli(raw: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    {
        let mut encoder = brotli::CompressorWriter::new(&mut out, 4096, 11, 22);
        encoder.write_all(raw).ok()?;
        encoder.flush().ok()?;
    }
    Some(out)
}

/// The URL pages link an asset by: its path with the hash of its bytes, so a changed file is a
/// new URL and an unchanged one is never fetched again.
pub fn url(path: &str) -> String {
    match ASSETS.get(path) {
        Some(asset) => format!("/static/{path}?v={}", asset.hash),
        None => format!("/static/{path}"),
    }
}

pub fn router() -> Router<AppState> {
    Router::new().route("/static/{*path}", get(asset))
}

async fn asset(Path(path): Path<String>, RawQuery(query): RawQuery, headers: HeaderMap) -> Response {
    let Some(asset) = ASSETS.get(&path) else {
        let mut missing = StatusCode::NOT_FOUND.into_response();
        crate::security::add_headers(missing.headers_mut(), crate::security::default_csp());
        return missing;
    };
    let current = query.as_deref().and_then(|q| q.strip_prefix("v=")) == Some(asset.hash.as_str());
    let cache =
        HeaderValue::from_static(if current { "public, max-age=31536000, immutable" } else { "public, max-age=300" });
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|t| t.trim() == asset.etag || t.trim() == "*"));
    let mut response = if matches {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let accepts = |coding: &str| {
            headers.get_all(header::ACCEPT_ENCODING).iter().filter_map(|v| v.to_str().ok()).any(|v| {
                v.split(',').any(|part| {
                    let mut bits = part.split(';');
                    let name = bits.next().unwrap_or_default().trim();
                    let refused = bits.any(|q| q.trim().replace(' ', "") == "q=0");
                    name.eq_ignore_ascii_case(coding) && !refused
                })
            })
        };
        let (body, encoding) = match (&asset.brotli, &asset.gzip) {
            (Some(br), _) if accepts("br") => (br.clone(), Some("br")),
            (_, Some(gz)) if accepts("gzip") => (gz.clone(), Some("gzip")),
            _ => (asset.raw.clone(), None),
        };
        let mut response = (StatusCode::OK, body).into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, asset.content_type.clone());
        if let Some(encoding) = encoding {
            response.headers_mut().insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
        }
        response
    };
    let out = response.headers_mut();
    out.insert(header::CACHE_CONTROL, cache);
    // Served without the site's middleware: the security headers are set here.
    crate::security::add_headers(out, crate::security::default_csp());
    out.insert(header::ETAG, asset.etag.clone());
    if asset.gzip.is_some() || asset.brotli.is_some() {
        out.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_carry_the_hash_of_the_bytes() {
        let css = url("app.css");
        assert!(css.starts_with("/static/app.css?v=") && css.len() == "/static/app.css?v=".len() + 16, "{css}");
        assert_ne!(url("app.css"), url("app.js").replace("app.js", "app.css"), "each file its own hash");
        assert_eq!(url("nope.css"), "/static/nope.css");
    }

    #[test]
    fn text_is_precompressed_and_round_trips() {
        use std::io::Read;
        let asset = &ASSETS["app.css"];
        let gz = asset.gzip.as_ref().unwrap();
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(&gz[..]).read_to_end(&mut back).unwrap();
        assert_eq!(back, asset.raw);
        let br = asset.brotli.as_ref().unwrap();
        let mut back = Vec::new();
        brotli::Decompressor::new(&br[..], 4096).read_to_end(&mut back).unwrap();
        assert_eq!(back, asset.raw);
        assert!(br.len() < asset.raw.len() / 2, "css compresses well");
    }
}
