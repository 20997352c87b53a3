//! Documents API: upload (multipart, field `file`), list, download as an attachment, delete; and
//! the separate consent identity documents need first.

use axum::Json;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use domain::ApplicationId;
use domain::document::{CONSENT_TEXT, CONSENT_VERSION};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ApiJson, ApiPath, no_content};
use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::visitor::{ApiUser, Visitor};

#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentResponse {
    pub version: String,
    /// Shown beside an unchecked box, separately from the terms of service.
    pub text: String,
    pub granted: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ConsentRequest {
    /// The version that was shown.
    pub version: String,
    pub agree: bool,
}

/// The separate consent to processing sensitive personal information, and whether it was given.
#[utoipa::path(get, path = "/api/v1/consent", tag = "applications",
    responses((status = 200, body = ConsentResponse), (status = 401, body = ErrorBody)))]
pub async fn get_consent(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
) -> Result<Json<ConsentResponse>, ApiError> {
    let granted = state.app.has_consent(&user).await?;
    Ok(Json(ConsentResponse { version: CONSENT_VERSION.into(), text: CONSENT_TEXT.into(), granted }))
}

/// Give the separate consent (recorded with version, text digest, purposes, time and address).
#[utoipa::path(post, path = "/api/v1/consent", tag = "applications", request_body = ConsentRequest,
    responses((status = 204), (status = 401, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn give_consent(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    visitor: Visitor,
    ApiJson(req): ApiJson<ConsentRequest>,
) -> Result<Response, ApiError> {
    state.app.give_consent(&user, &req.version, req.agree, &visitor.client).await?;
    Ok(no_content())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentBody {
    pub kind: String,
    pub label: String,
    /// What we stored: `image/jpeg` (every image is re-encoded) or `application/pdf`.
    pub content_type: String,
    pub size: i64,
    /// SHA-256 of the stored file, hex.
    pub sha256: String,
    pub uploaded_at: String,
}

impl From<app::ports::DocumentRecord> for DocumentBody {
    fn from(d: app::ports::DocumentRecord) -> Self {
        Self {
            kind: d.kind.as_str().into(),
            label: d.kind.label().into(),
            content_type: d.content_type,
            size: d.size,
            sha256: d.sha256,
            uploaded_at: super::rfc3339(d.uploaded_at),
        }
    }
}

/// The multipart form of an upload.
#[derive(ToSchema)]
#[allow(dead_code)] // describes the request body for OpenAPI only
pub struct UploadForm {
    /// JPG, PNG or WebP (PDF too for the signed forms), at most 10 MB.
    #[schema(format = Binary, content_media_type = "application/octet-stream")]
    file: String,
}

/// Upload or replace one document. Identity documents need the separate consent first.
#[utoipa::path(put, path = "/api/v1/applications/{id}/documents/{kind}", tag = "applications",
    params(("id" = i64, Path), ("kind" = String, Path, description = "license, holder_id_front, holder_id_back, agent_id_front, agent_id_back, application_form, authorization, service_agreement")),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses((status = 201, body = DocumentBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn upload_document(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath((id, kind)): ApiPath<(ApplicationId, String)>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, ApiError> {
    let bytes = read_file_field(multipart?).await?;
    let record = state.app.upload_document(&user, id, &kind, bytes).await?;
    Ok((StatusCode::CREATED, Json(DocumentBody::from(record))).into_response())
}

impl From<MultipartRejection> for ApiError {
    fn from(_: MultipartRejection) -> Self {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "multipart_required",
            "请以 multipart/form-data 上传文件（字段名 file）",
        )
    }
}

/// The bytes of the `file` field; the body limit of the route bounds them.
async fn read_file_field(mut multipart: Multipart) -> Result<Vec<u8>, ApiError> {
    let too_large = || ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "upload_too_large", "文件不能超过10MB");
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| if e.status() == StatusCode::PAYLOAD_TOO_LARGE { too_large() } else { bad_form() })?
    {
        if field.name() == Some("file") {
            return field
                .bytes()
                .await
                .map(|b| b.to_vec())
                .map_err(|e| if e.status() == StatusCode::PAYLOAD_TOO_LARGE { too_large() } else { bad_form() });
        }
    }
    Err(ApiError::from(app::Error::field("file", "upload_empty", "请选择要上传的文件")))
}

fn bad_form() -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "multipart_malformed", "上传内容格式不正确，请重新选择文件")
}

/// The application's documents (metadata only).
#[utoipa::path(get, path = "/api/v1/applications/{id}/documents", tag = "applications", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<DocumentBody>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_documents(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<ApplicationId>,
) -> Result<Json<Vec<DocumentBody>>, ApiError> {
    Ok(Json(state.app.documents(&user, id).await?.into_iter().map(Into::into).collect()))
}

/// Download a document: always an attachment with a name we choose and the type we stored — a
/// photo as we re-encoded it (`image/jpeg`), a signed form as uploaded (`application/pdf`).
#[utoipa::path(get, path = "/api/v1/applications/{id}/documents/{kind}", tag = "applications",
    params(("id" = i64, Path), ("kind" = String, Path)),
    responses((status = 200, description = "The file, as an attachment",
                content((Vec<u8> = "image/jpeg"), (Vec<u8> = "application/pdf"))),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn download_document(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath((id, kind)): ApiPath<(ApplicationId, String)>,
) -> Result<Response, ApiError> {
    let (record, bytes) = state.app.download_document(&user, id, &kind).await?;
    let extension = if record.content_type == "application/pdf" { "pdf" } else { "jpg" };
    let disposition = format!("attachment; filename=\"{}.{extension}\"", record.kind.as_str());
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&record.content_type).unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&disposition).unwrap_or(HeaderValue::from_static("attachment")),
    );
    Ok(response)
}

/// Remove a document.
#[utoipa::path(delete, path = "/api/v1/applications/{id}/documents/{kind}", tag = "applications",
    params(("id" = i64, Path), ("kind" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete_document(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath((id, kind)): ApiPath<(ApplicationId, String)>,
) -> Result<Response, ApiError> {
    state.app.delete_document(&user, id, &kind).await?;
    Ok(no_content())
}

/// What OCR read from a document photo (ID numbers masked).
#[derive(Debug, Serialize, ToSchema)]
pub struct ReadingBody {
    /// `license`, `id-front` or `id-back`.
    pub kind: String,
    /// Field names of the output contract (`company_name`, `credit_code`, `name`, `id_number`, …).
    pub fields: std::collections::BTreeMap<String, String>,
    pub warnings: Vec<String>,
    pub repairs: Vec<String>,
}

impl From<app::ports::OcrReading> for ReadingBody {
    fn from(r: app::ports::OcrReading) -> Self {
        Self { kind: r.kind, fields: r.fields, warnings: r.warnings, repairs: r.repairs }
    }
}

/// Reads an uploaded license or ID card photo (OCR on our own server) and returns the fields
/// to fill the form with; 503 `ocr_busy` when the engine is saturated (retry, or fill by hand).
#[utoipa::path(post, path = "/api/v1/applications/{id}/documents/{kind}/ocr", tag = "applications",
    params(("id" = i64, Path), ("kind" = String, Path)),
    responses((status = 200, body = ReadingBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 503, body = ErrorBody)))]
pub async fn read_document(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath((id, kind)): ApiPath<(ApplicationId, String)>,
) -> Result<Json<ReadingBody>, ApiError> {
    Ok(Json(state.app.read_document(&user, id, &kind).await?.into()))
}

/// What OCR read from each uploaded photo of the application, by document kind.
#[utoipa::path(get, path = "/api/v1/applications/{id}/readings", tag = "applications",
    params(("id" = i64, Path)),
    responses((status = 200, body = std::collections::BTreeMap<String, ReadingBody>), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn list_readings(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<ApplicationId>,
) -> Result<Json<std::collections::BTreeMap<String, ReadingBody>>, ApiError> {
    let readings = state.app.document_readings(&user, id).await?;
    Ok(Json(readings.into_iter().map(|(k, r)| (k, r.into())).collect()))
}

/// Where the background reading of one uploaded photo stands.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReadingStatusBody {
    pub kind: String,
    /// `pending` (queued or being read), `done` (see `/readings`) or `failed`.
    pub status: &'static str,
    /// Why it failed, in Chinese (fill the fields by hand, or upload a clearer photo).
    pub message: Option<&'static str>,
}

/// Uploaded licenses and ID cards are read in the background: where each reading stands.
#[utoipa::path(get, path = "/api/v1/applications/{id}/reading-status", tag = "applications",
    params(("id" = i64, Path)),
    responses((status = 200, body = Vec<ReadingStatusBody>), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn reading_status(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<ApplicationId>,
) -> Result<Json<Vec<ReadingStatusBody>>, ApiError> {
    let progress = state.app.reading_progress(&user, id).await?;
    Ok(Json(
        progress
            .into_iter()
            .map(|p| ReadingStatusBody {
                status: if p.pending {
                    "pending"
                } else if p.failure.is_some() {
                    "failed"
                } else {
                    "done"
                },
                message: p.failure,
                kind: p.kind,
            })
            .collect(),
    ))
}
