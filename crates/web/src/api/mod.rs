//! The JSON API under `/api/v1`. Every handler is annotated for OpenAPI; the document served at
//! `/api/openapi.json` is generated from these annotations.

mod accounts;
mod addresses;
mod applications;
mod catalog;
pub(crate) mod certificates;
mod dev;
mod divisions;
mod documents;
mod orders;
mod payments;

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
    tags((name = "accounts"), (name = "addresses"), (name = "divisions"), (name = "applications"), (name = "orders"), (name = "certificates"), (name = "dev"))
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
        .routes(routes!(divisions::list_divisions))
        .routes(routes!(catalog::get_catalog))
        .routes(routes!(applications::list_applications, applications::start_application))
        .routes(routes!(applications::get_application, applications::discard_application))
        .routes(routes!(applications::choose_package))
        .routes(routes!(applications::save_subject))
        .routes(routes!(applications::save_agent))
        .routes(routes!(orders::confirm_order))
        .routes(routes!(orders::list_orders))
        .routes(routes!(orders::get_order))
        .routes(routes!(orders::cancel_order))
        .routes(routes!(orders::resubmit_order))
        .routes(routes!(orders::confirm_receipt))
        .routes(routes!(certificates::list_certificates))
        .routes(routes!(certificates::get_certificate))
        .routes(routes!(payments::list_payments, payments::start_payment))
        .routes(routes!(payments::refresh_payment))
        .routes(routes!(documents::get_consent, documents::give_consent))
        .routes(routes!(documents::list_documents))
        .routes(routes!(documents::download_document, documents::delete_document))
        .routes(routes!(documents::read_document))
        .routes(routes!(documents::list_readings))
        .routes(routes!(documents::reading_status))
        .merge(
            // Uploads get their own body limit; everything else keeps the small default.
            OpenApiRouter::new()
                .routes(routes!(documents::upload_document))
                .layer(axum::extract::DefaultBodyLimit::max(domain::document::MAX_UPLOAD_BYTES + 64 * 1024)),
        );
    let api = if dev_mode { api.routes(routes!(dev::list_outbox)) } else { api };
    api.route("/api/openapi.json", get(move || async move { openapi_json(dev_mode) }))
}

/// The OpenAPI 3 document of the full API (development routes included).
pub fn openapi() -> utoipa::openapi::OpenApi {
    document(true)
}

fn document(dev_mode: bool) -> utoipa::openapi::OpenApi {
    let mut doc = router(dev_mode).into_openapi();
    document_edge_errors(&mut doc);
    doc
}

/// Adds the answers the edge gives before any handler runs, so the document states every status
/// a client can see: 403 for a failed CSRF check on state-changing calls, 400 and 415 for a body
/// that is not JSON.
fn document_edge_errors(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    let error = |description: &str| {
        ResponseBuilder::new()
            .description(description)
            .content("application/json", ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build())
            .build()
    };
    for item in doc.paths.paths.values_mut() {
        for (operation, state_changing) in [
            (item.get.as_mut(), false),
            (item.post.as_mut(), true),
            (item.put.as_mut(), true),
            (item.delete.as_mut(), true),
            (item.patch.as_mut(), true),
        ] {
            let Some(operation) = operation else { continue };
            let responses = &mut operation.responses.responses;
            if state_changing {
                responses.entry("403".into()).or_insert_with(|| error("CSRF check failed (`csrf_failed`)").into());
            }
            if operation.request_body.is_some() {
                responses
                    .entry("400".into())
                    .or_insert_with(|| error("Body is not valid JSON (`json_syntax_error`)").into());
                responses
                    .entry("415".into())
                    .or_insert_with(|| error("Body is not `application/json` (`json_content_type_required`)").into());
            }
        }
    }
}

/// The document of the routes this instance serves, built once per mode.
fn openapi_json(dev_mode: bool) -> Response {
    static DEV: LazyLock<String> = LazyLock::new(|| document(true).to_json().unwrap_or_default());
    static PRODUCTION: LazyLock<String> = LazyLock::new(|| document(false).to_json().unwrap_or_default());
    let doc = if dev_mode { DEV.as_str() } else { PRODUCTION.as_str() };
    ([(header::CONTENT_TYPE, "application/json")], doc).into_response()
}

/// `Json` whose rejections are API errors with stable codes. Every documented body is an object:
/// anything else (`[]`, which serde would read as a struct's fields in order, a string, a
/// number) is refused with 422 `json_object_required` before it can set a field.
pub struct ApiJson<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<mime_guess::mime::Mime>().ok())
            .is_some_and(|m| {
                m.type_() == "application" && (m.subtype() == "json" || m.suffix().is_some_and(|s| s == "json"))
            });
        if !is_json {
            return Err(JsonRejection::from(axum::extract::rejection::MissingJsonContentType::default()).into());
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|_| ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large", "请求内容过大"))?;
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "json_object_required",
                "请求格式不正确：应为 JSON 对象",
            ));
        }
        Ok(Self(Json::<T>::from_bytes(&bytes)?.0))
    }
}

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

/// Times in the API: RFC 3339, UTC.
pub(crate) use crate::times::rfc3339;

/// 204 with no body.
fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}
