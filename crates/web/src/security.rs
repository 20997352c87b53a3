//! Response headers every answer carries (SECURITY C3): a CSP without inline scripts, no framing,
//! no sniffing, a strict referrer policy, HSTS, and `no-store` unless a handler chose a cache
//! policy (only static assets do).

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; \
                   form-action 'self'; frame-ancestors 'none'";

/// Set on a response whose page posts a form to another origin (a payment gateway): the CSP's
/// `form-action` then allows that one origin too.
#[derive(Debug, Clone)]
pub struct FormTarget(pub String);

impl FormTarget {
    /// The origin (`scheme://host[:port]`) of an absolute URL; `None` for anything else.
    pub fn of(url: &str) -> Option<Self> {
        let (scheme, rest) = url.split_once("://")?;
        let host = rest.split(['/', '?', '#']).next()?;
        let clean = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-.:[]".contains(c));
        (matches!(scheme, "http" | "https") && clean(host)).then(|| Self(format!("{scheme}://{host}")))
    }
}

pub async fn headers_layer(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let csp = match response.extensions().get::<FormTarget>() {
        Some(FormTarget(origin)) => {
            HeaderValue::from_str(&CSP.replace("form-action 'self'", &format!("form-action 'self' {origin}")))
                .unwrap_or(HeaderValue::from_static(CSP))
        }
        None => HeaderValue::from_static(CSP),
    };
    add_headers(response.headers_mut(), csp);
    response
}

/// The headers every answer carries, with `csp` as our policy (for handlers outside the layer,
/// such as static assets, and for the layer itself).
pub fn add_headers(headers: &mut axum::http::HeaderMap, csp: HeaderValue) {
    // A handler's own policy (a document's `sandbox`) stays beside ours: browsers enforce both.
    headers.append(header::CONTENT_SECURITY_POLICY, csp);
    let fixed: [(HeaderName, &'static str); 6] = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "same-origin"),
        (header::STRICT_TRANSPORT_SECURITY, "max-age=31536000; includeSubDomains"),
        (HeaderName::from_static("cross-origin-opener-policy"), "same-origin"),
        (HeaderName::from_static("permissions-policy"), "camera=(self), microphone=(), geolocation=()"),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}

/// Our policy, for handlers that add the headers themselves.
pub fn default_csp() -> HeaderValue {
    HeaderValue::from_static(CSP)
}
