//! The JSON API under `/api/v1`. Every handler is annotated for OpenAPI; the document served at
//! `/api/openapi.json` is generated from these annotations.

mod accounts;
mod addresses;
mod dev;
mod divisions;

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{FromRequest, FromRequestParts};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::sync::LazyLock;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::ApiError;

#[derive(OpenApi)]
#[openapi(
    info(title = "sealdesk API", description = "电子签章（含数字证书）在线申请系统 JSON API. Cookie sessions; every \
        state-changing call needs the `X-CSRF-Token` header from `GET /api/v1/session`."),
    tags((name = "accounts"), (name = "addresses"), (name = "divisions"), (name = "dev"))
)]
struct ApiDoc;

/// API routes; the dev outbox is included only in development mode.
pub fn router(dev_mode: bool) -> OpenApiRouter<AppState> {
    let api = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(accounts::send_sms_code))
        .routes(routes!(accounts::register))
        .routes(routes!(accounts::get_session, accounts::login, accounts::logout))
        .routes(routes!(accounts::reset_password))
        .routes(routes!(accounts::get_profile, accounts::update_profile))
        .routes(routes!(accounts::change_password))
        .routes(routes!(addresses::list_addresses, addresses::create_address))
        .routes(routes!(addresses::get_address, addresses::update_address, addresses::delete_address))
        .routes(routes!(addresses::set_default_address))
        .routes(routes!(divisions::list_divisions));
    let api = if dev_mode { api.routes(routes!(dev::list_outbox)) } else { api };
    api.route("/api/openapi.json", get(openapi_json))
}

/// The OpenAPI 3 document of the full API (development routes included).
pub fn openapi() -> utoipa::openapi::OpenApi {
    router(true).into_openapi()
}

async fn openapi_json() -> Response {
    static DOC: LazyLock<String> = LazyLock::new(|| openapi().to_json().unwrap_or_default());
    ([(header::CONTENT_TYPE, "application/json")], DOC.as_str()).into_response()
}

/// `Json` whose rejections are API errors with stable codes.
#[derive(FromRequest)]
#[from_request(via(Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let (status, code) = match rejection {
            JsonRejection::MissingJsonContentType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "json_content_type_required")
            }
            JsonRejection::JsonSyntaxError(_) => (StatusCode::BAD_REQUEST, "json_syntax_error"),
            _ => (StatusCode::UNPROCESSABLE_ENTITY, "json_invalid"),
        };
        ApiError::new(status, code, "请求格式不正确")
    }
}

/// `Path` whose rejections are 404: an id that does not parse names nothing.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

impl From<PathRejection> for ApiError {
    fn from(_: PathRejection) -> Self {
        ApiError::not_found()
    }
}

/// 204 with no body.
fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}
