//! The two error faces of the web edge: one JSON error for the API (status, stable `code`,
//! Chinese `message`, per-field errors) and one HTML error page. 5xx bodies never carry internals;
//! the cause is logged once, here.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use domain::FieldError;
use serde::Serialize;
use utoipa::ToSchema;

/// The body of every API error.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Stable snake_case code, e.g. `validation_failed`, `not_found`, `sms_too_frequent`.
    pub code: String,
    /// What happened, for people, in Chinese.
    pub message: String,
    /// Per-field problems of a rejected form.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldErrorBody>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FieldErrorBody {
    pub field: String,
    pub code: String,
    pub message: String,
}

impl From<&FieldError> for FieldErrorBody {
    fn from(e: &FieldError) -> Self {
        Self { field: e.field.into(), code: e.code.into(), message: e.message.clone() }
    }
}

/// An API failure; converts from every use-case error.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: ErrorBody,
    retry_after: Option<i64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, message: &str) -> Self {
        Self {
            status,
            body: ErrorBody { code: code.into(), message: message.into(), fields: Vec::new() },
            retry_after: None,
        }
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "请求的内容不存在")
    }
}

/// Status, code and message for a use-case error: the one mapping both faces share.
pub fn describe(err: &app::Error) -> (StatusCode, &'static str, String) {
    use app::Error as E;
    match err {
        E::Validation(_) => {
            (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", "提交的信息有误，请按提示修改".into())
        }
        E::Unauthenticated => (StatusCode::UNAUTHORIZED, "unauthenticated", "请先登录".into()),
        E::InvalidCredentials => (StatusCode::UNAUTHORIZED, "invalid_credentials", "手机号或密码错误".into()),
        E::NotFound => (StatusCode::NOT_FOUND, "not_found", "请求的内容不存在".into()),
        E::Forbidden => (StatusCode::FORBIDDEN, "forbidden", "您的角色无权进行此操作".into()),
        E::Conflict { code, message } => (StatusCode::CONFLICT, code, message.clone()),
        E::RateLimited { code, message, .. } => (StatusCode::TOO_MANY_REQUESTS, code, message.clone()),
        E::Unavailable { code, message } => (StatusCode::SERVICE_UNAVAILABLE, code, message.clone()),
        E::Internal(cause) => {
            tracing::error!(error = %cause, "request failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal_error", "系统繁忙，请稍后再试".into())
        }
    }
}

impl From<app::Error> for ApiError {
    fn from(err: app::Error) -> Self {
        let (status, code, message) = describe(&err);
        let fields = match &err {
            app::Error::Validation(errors) => errors.iter().map(FieldErrorBody::from).collect(),
            _ => Vec::new(),
        };
        let retry_after = match &err {
            app::Error::RateLimited { retry_after_secs, .. } => Some(*retry_after_secs),
            _ => None,
        };
        Self { status, body: ErrorBody { code: code.into(), message, fields }, retry_after }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body)).into_response();
        if let Some(secs) = self.retry_after
            && let Ok(value) = HeaderValue::from_str(&secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

/// What a panic turns into: a generic 500 without the panic message.
pub fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("handler panicked");
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", "系统繁忙，请稍后再试").into_response()
}

/// A page's panic: a plain page in Chinese (nothing of the template machinery that may have
/// failed), never the JSON the API answers.
pub fn panic_page(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("page handler panicked");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        axum::response::Html(
            "<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>系统繁忙</title></head><body><main><h1>系统繁忙</h1><p>请稍后再试。</p><p><a href=\"/\">返回首页</a></p></main></body></html>",
        ),
    )
        .into_response()
}
