//! What every HTML face of the site shares, the applicant's pages and the back office alike:
//! rendering a template, the redirect after a POST, forms re-rendered with their errors, the
//! page error ([`PageError`]) and the typed path ([`PagePath`]).

use askama::Template;
use axum::extract::FromRequestParts;
use axum::extract::rejection::PathRejection;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use domain::FieldErrors;
use std::collections::HashMap;

pub use crate::times::local_time;

/// Renders a page with a status.
pub fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response(),
        Err(err) => {
            tracing::error!(error = %err, "template rendering failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                "系统繁忙，请稍后再试",
            )
                .into_response()
        }
    }
}

/// A redirect after a successful POST (303, so a reload does not resubmit).
pub fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// The result of a page handler: the page, or the failure shown as the error page of the face
/// the route belongs to.
pub type PageResult = Result<Response, PageError>;

/// A page's failure, returned with `?` from any use-case error. It is only a status and a
/// marker here; the face of the router the route is served on turns it into a page: the site's
/// error page (and the login page for 401) or the back office's ([`Failed`]).
#[derive(Debug)]
pub struct PageError(app::Error);

impl PageError {
    pub fn not_found() -> Self {
        Self(app::Error::NotFound)
    }

    /// A refusal whose field errors are shown as one line (for pages without a form to show
    /// them beside).
    pub fn refused(err: app::Error) -> Self {
        match err {
            app::Error::Validation(errors) => {
                Self(app::Error::Conflict { code: "validation_failed", message: joined(&errors) })
            }
            other => Self(other),
        }
    }
}

impl From<app::Error> for PageError {
    fn from(err: app::Error) -> Self {
        Self(err)
    }
}

/// Field errors as one line.
pub fn joined(errors: &FieldErrors) -> String {
    errors.iter().map(|e| e.message.clone()).collect::<Vec<_>>().join("；")
}

/// What failed, as the face that renders it needs it (the cause of a 5xx is logged once, when
/// the error becomes a response, and goes no further).
#[derive(Debug, Clone)]
pub struct Failed {
    pub status: StatusCode,
    pub message: String,
    /// 401: the face sends the visitor to its login page.
    pub unauthenticated: bool,
    /// 403: the back office has its own page for it.
    pub forbidden: bool,
}

impl Failed {
    pub fn of(err: &app::Error) -> Self {
        let (status, _, message) = crate::error::describe(err);
        Self {
            status,
            message,
            unauthenticated: matches!(err, app::Error::Unauthenticated),
            forbidden: matches!(err, app::Error::Forbidden),
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let failed = Failed::of(&self.0);
        let mut response = failed.status.into_response();
        response.extensions_mut().insert(failed);
        response
    }
}

/// `Path` whose rejections are the face's 404: an id that does not parse names nothing.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(PageError))]
pub struct PagePath<T>(pub T);

impl From<PathRejection> for PageError {
    fn from(_: PathRejection) -> Self {
        Self::not_found()
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    message: &'a str,
    hotline: &'a str,
}

/// The site's error page: a title, the message and the hotline to call.
pub fn error_page(status: StatusCode, title: &str, message: &str, hotline: &str) -> Response {
    render(status, &ErrorPage { title, message, hotline })
}

/// The site's face for a failed page: the login page for 401, the error page otherwise.
pub fn site_failure(failed: &Failed, hotline: &str) -> Response {
    if failed.unauthenticated {
        return see_other("/login");
    }
    let title = if failed.status == StatusCode::NOT_FOUND { "页面不存在" } else { "操作未完成" };
    error_page(failed.status, title, &failed.message, hotline)
}

/// `?notice=key` of a page reached by a redirect.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct NoticeQuery {
    pub notice: Option<String>,
}

/// Submitted values and their errors, for re-rendering a form.
#[derive(Debug, Default)]
pub struct Form {
    values: HashMap<&'static str, String>,
    pub errors: FieldErrors,
    /// A message for the whole form (wrong password, rate limit, ...).
    pub message: Option<String>,
    /// A success message for the whole form.
    pub success: Option<String>,
    /// The key of a notice to show after a redirect (see `notice_text`).
    pub notice: Option<String>,
    /// Fields filled from a document photo, marked 请核对 beside the photo they came from.
    pub prefilled: Vec<&'static str>,
}

impl Form {
    pub fn with(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.values.insert(name, value.into());
        self
    }

    /// Sets `name` to `value` only when it is empty; returns whether it did.
    pub fn fill_empty(&mut self, name: &'static str, value: &str) -> bool {
        if self.value(name).is_empty() && !value.trim().is_empty() {
            self.values.insert(name, value.trim().to_owned());
            return true;
        }
        false
    }

    /// Like [`Form::fill_empty`], and marks the field as read from a photo (请核对).
    pub fn prefill_from_photo(&mut self, name: &'static str, value: &str) -> bool {
        let filled = self.fill_empty(name, value);
        if filled {
            self.prefilled.push(name);
        }
        filled
    }

    /// The fields filled from a photo, with their values.
    pub fn prefilled_values(&self) -> std::collections::BTreeMap<&'static str, String> {
        self.prefilled.iter().map(|name| (*name, self.value(name).to_owned())).collect()
    }

    /// Whether `name` was filled from a photo and waits for the applicant's check.
    pub fn is_prefilled(&self, name: &str) -> bool {
        self.prefilled.contains(&name)
    }

    /// Whether `name` currently holds `value` (for checked radios and selected options).
    pub fn is(&self, name: &str, value: &str) -> bool {
        self.value(name) == value
    }

    pub fn value(&self, name: &str) -> &str {
        self.values.get(name).map_or("", String::as_str)
    }

    pub fn error(&self, name: &str) -> Option<&str> {
        self.errors.message_for(name)
    }

    /// Files a use-case error: field errors beside their fields, anything else above the form.
    /// Returns the HTTP status the re-rendered page should carry.
    pub fn fail(&mut self, err: app::Error) -> StatusCode {
        let (status, _, message) = crate::error::describe(&err);
        match err {
            app::Error::Validation(errors) => self.errors = errors,
            _ => self.message = Some(message),
        }
        status
    }
}

/// The bytes of a form's `file` field (empty when the form has none or could not be read: the
/// use case then says a file is needed).
pub async fn uploaded_file(
    multipart: Result<axum::extract::Multipart, axum::extract::multipart::MultipartRejection>,
) -> Vec<u8> {
    let Ok(mut multipart) = multipart else { return Vec::new() };
    while let Ok(Some(field)) = multipart.next_field().await {
        if field.name() == Some("file") {
            return field.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
        }
    }
    Vec::new()
}

/// Only same-site relative paths may be redirect targets (no `//host`, no scheme).
pub fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(path) if path.starts_with('/') && !path.starts_with("//") && !path.contains('\\') => path,
        _ => "/",
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_local_paths_are_redirect_targets() {
        assert_eq!(safe_next(Some("/addresses")), "/addresses");
        for bad in ["//evil.example", "https://evil.example", "/\\evil.example", "addresses"] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
