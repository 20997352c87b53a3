//! Who is asking: the session cookie resolved to a user, the anonymous cookie that binds CSRF
//! tokens before login, the client address, and the CSRF check on every state-changing request.

use app::sessions::{CurrentUser, SessionToken};
use axum::body::{Body, to_bytes};
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use std::net::SocketAddr;

use crate::error::ApiError;
use crate::{AppState, WebConfig, html};

/// Form field and header that carry the CSRF token.
pub const CSRF_FIELD: &str = "_csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The visitor of the current request, put into request extensions by [`visitor_layer`].
#[derive(Clone)]
pub struct Visitor {
    pub user: Option<CurrentUser>,
    pub csrf_token: String,
    pub client: String,
}

fn cookie_name(config: &WebConfig, base: &'static str) -> String {
    if config.secure_cookies { format!("__Host-{base}") } else { base.to_owned() }
}

fn build_cookie(config: &WebConfig, base: &'static str, value: String) -> Cookie<'static> {
    Cookie::build((cookie_name(config, base), value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(config.secure_cookies)
        .build()
}

/// `Set-Cookie` for a new session (login, password change).
pub fn session_cookie(config: &WebConfig, token: &SessionToken) -> HeaderValue {
    header_value(&build_cookie(config, "sid", token.0.clone()))
}

/// `Set-Cookie` that removes the session cookie (logout).
pub fn clear_session_cookie(config: &WebConfig) -> HeaderValue {
    let mut cookie = build_cookie(config, "sid", String::new());
    cookie.make_removal();
    header_value(&cookie)
}

/// `Set-Cookie` for a staff session (`ssid`): strict same-site, separate from applicants'.
pub fn staff_cookie(config: &WebConfig, token: &str) -> HeaderValue {
    let mut cookie = build_cookie(config, "ssid", token.to_owned());
    cookie.set_same_site(SameSite::Strict);
    header_value(&cookie)
}

/// `Set-Cookie` that removes the staff session cookie.
pub fn clear_staff_cookie(config: &WebConfig) -> HeaderValue {
    let mut cookie = build_cookie(config, "ssid", String::new());
    cookie.set_same_site(SameSite::Strict);
    cookie.make_removal();
    header_value(&cookie)
}

/// The staff session token the browser sent, if any.
pub fn staff_token(config: &WebConfig, headers: &HeaderMap) -> Option<String> {
    CookieJar::from_headers(headers).get(&cookie_name(config, "ssid")).map(|c| c.value().to_owned())
}

fn header_value(cookie: &Cookie<'_>) -> HeaderValue {
    HeaderValue::from_str(&cookie.to_string()).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The client's address: the socket peer, or the last `X-Forwarded-For` hop when the proxy in
/// front is ours (an attacker can add hops on the left, never on the right).
fn client_address(config: &WebConfig, headers: &HeaderMap, peer: Option<SocketAddr>) -> String {
    if config.trust_forwarded_for
        && let Some(hop) = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .map(str::trim)
            .filter(|hop| hop.parse::<std::net::IpAddr>().is_ok())
    {
        return hop.to_owned();
    }
    peer.map_or_else(|| "unknown".to_owned(), |p| p.ip().to_string())
}

/// Resolves the visitor, enforces CSRF on unsafe methods, and issues the anonymous cookie.
pub async fn visitor_layer(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let config = &state.config;
    let jar = CookieJar::from_headers(request.headers());
    let user = match jar.get(&cookie_name(config, "sid")).map(Cookie::value) {
        Some(token) if !token.is_empty() => match state.app.sessions().authenticate(token).await {
            Ok(user) => user.map(|u| (u, token.to_owned())),
            Err(err) => {
                // Fail closed: without a verdict the request is treated as anonymous.
                tracing::error!(error = %err, "session lookup failed");
                None
            }
        },
        _ => None,
    };
    // Before login, CSRF tokens are bound to an anonymous cookie, issued on the first answer;
    // a logged-in visitor's are bound to the session and need none.
    let existing_anon = jar.get(&cookie_name(config, "anon")).map(Cookie::value).filter(|v| v.len() >= 32);
    let new_anon = (user.is_none() && existing_anon.is_none()).then(app::crypto::random_token);
    let binding =
        user.as_ref().map(|(_, token)| token.as_str()).or(existing_anon).or(new_anon.as_deref()).unwrap_or_default();
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
    let visitor = Visitor {
        csrf_token: state.app.sessions().csrf_token(binding),
        user: user.map(|(u, _)| u),
        client: client_address(config, request.headers(), peer),
    };

    let request = if is_unsafe(request.method()) {
        match check_csrf(config, &visitor, request).await {
            Ok(request) => request,
            Err(response) => return response,
        }
    } else {
        request
    };

    let mut request = request;
    request.extensions_mut().insert(visitor);
    let mut response = next.run(request).await;
    if let Some(anon) = new_anon {
        response.headers_mut().append(header::SET_COOKIE, header_value(&build_cookie(config, "anon", anon)));
    }
    response
}

fn is_unsafe(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Same-origin check (`Origin`, `Sec-Fetch-Site`) plus the synchronizer token from the header or
/// the urlencoded form body. Returns the request (body restored) or the rejection.
async fn check_csrf(config: &WebConfig, visitor: &Visitor, request: Request) -> Result<Request, Response> {
    let is_api = request.uri().path().starts_with("/api/");
    let reject = |reason: &'static str| csrf_rejection_logged(is_api, reason);
    let headers = request.headers();
    if let Some(origin) = headers.get(header::ORIGIN) {
        let expected = config.public_origin.clone().or_else(|| {
            let host = headers.get(header::HOST)?.to_str().ok()?;
            Some(format!("{}://{host}", if config.secure_cookies { "https" } else { "http" }))
        });
        if expected.as_deref() != origin.to_str().ok() {
            return Err(reject("foreign origin"));
        }
    }
    if headers.get("sec-fetch-site").is_some_and(|v| v != "same-origin" && v != "none") {
        return Err(reject("cross-site fetch"));
    }
    let header_token = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let (parts, body) = request.into_parts();
    let too_large = || (StatusCode::PAYLOAD_TOO_LARGE, "请求内容过大").into_response();
    let (token, body) = match header_token {
        Some(token) => (Some(token), body),
        None if content_type.starts_with("application/x-www-form-urlencoded") => {
            let bytes = to_bytes(body, crate::BODY_LIMIT_BYTES).await.map_err(|_| too_large())?;
            let token = form_urlencoded_value(&bytes, CSRF_FIELD);
            (token, Body::from(bytes))
        }
        // File upload forms without JavaScript: the token is the form's first field.
        None if content_type.starts_with("multipart/form-data") => {
            let limit = domain::document::MAX_UPLOAD_BYTES + 64 * 1024;
            let bytes = to_bytes(body, limit).await.map_err(|_| too_large())?;
            let token = multipart_value(&content_type, bytes.clone(), CSRF_FIELD).await;
            (token, Body::from(bytes))
        }
        None => (None, body),
    };
    match token {
        Some(token) if app::crypto::constant_time_eq(&token, &visitor.csrf_token) => {
            Ok(Request::from_parts(parts, body))
        }
        Some(_) => Err(csrf_rejection_logged(is_api, "token mismatch")),
        None => Err(csrf_rejection_logged(is_api, "token missing")),
    }
}

fn csrf_rejection_logged(is_api: bool, reason: &'static str) -> Response {
    tracing::warn!(reason, "csrf check failed");
    csrf_rejection(is_api)
}

fn csrf_rejection(is_api: bool) -> Response {
    if is_api {
        ApiError::new(StatusCode::FORBIDDEN, "csrf_failed", "请求校验失败（CSRF），请刷新页面后重试").into_response()
    } else {
        html::error_page(
            StatusCode::FORBIDDEN,
            "页面已过期",
            "页面已过期或请求来源不明。请返回上一页，刷新后重新提交。",
            "",
        )
    }
}

/// The value of the text field `name` in a multipart body, looking no further than that field.
async fn multipart_value(content_type: &str, body: axum::body::Bytes, name: &str) -> Option<String> {
    let boundary = multer::parse_boundary(content_type).ok()?;
    let stream = futures_util::stream::once(async move { Ok::<_, std::convert::Infallible>(body) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    while let Ok(Some(field)) = multipart.next_field().await {
        if field.name() == Some(name) {
            return field.text().await.ok();
        }
    }
    None
}

/// The first value of `name` in an urlencoded body.
fn form_urlencoded_value(body: &[u8], name: &str) -> Option<String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).unwrap_or_default();
    pairs.into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

/// The visitor, whoever they are.
impl<S: Send + Sync> FromRequestParts<S> for Visitor {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Self>().cloned().ok_or_else(|| StatusCode::INTERNAL_SERVER_ERROR.into_response())
    }
}

/// A logged-in user for the JSON API: 401 otherwise.
pub struct ApiUser(pub CurrentUser);

impl<S: Send + Sync> FromRequestParts<S> for ApiUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let visitor = Visitor::from_request_parts(parts, state).await?;
        match visitor.user {
            Some(user) => Ok(Self(user)),
            None => Err(ApiError::from(app::Error::Unauthenticated).into_response()),
        }
    }
}

/// A logged-in user for HTML pages: otherwise a redirect to the login page that comes back here.
pub struct PageUser(pub CurrentUser, pub Visitor);

impl<S: Send + Sync> FromRequestParts<S> for PageUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let visitor = Visitor::from_request_parts(parts, state).await?;
        if let Some(user) = visitor.user.clone() {
            return Ok(Self(user, visitor));
        }
        let back = if parts.method == Method::GET { parts.uri.path() } else { "/" };
        Err(Redirect::to(&format!("/login?next={}", urlencode(back))).into_response())
    }
}

pub fn urlencode(value: &str) -> String {
    serde_urlencoded::to_string([("v", value)]).map(|s| s[2..].to_owned()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_for_is_used_only_behind_our_proxy() {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", HeaderValue::from_static("6.6.6.6, 10.1.2.3"));
        let peer = Some(SocketAddr::from(([127, 0, 0, 1], 9000)));
        let mut config = WebConfig::default();
        assert_eq!(client_address(&config, &headers, peer), "127.0.0.1");
        config.trust_forwarded_for = true;
        assert_eq!(client_address(&config, &headers, peer), "10.1.2.3");
        headers.insert("x-forwarded-for", HeaderValue::from_static("not-an-ip"));
        assert_eq!(client_address(&config, &headers, peer), "127.0.0.1");
    }

    #[test]
    fn csrf_field_is_found_in_forms() {
        assert_eq!(form_urlencoded_value(b"a=1&_csrf=x%2By&b=2", "_csrf").as_deref(), Some("x+y"));
        assert_eq!(form_urlencoded_value(b"a=1", "_csrf"), None);
    }
}
