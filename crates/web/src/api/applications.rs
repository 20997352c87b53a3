//! Application drafts API: start (business type), then package, holder and agent, step by step.
//! ID numbers are accepted here and never returned except masked.

use app::applications::{AgentForm, ApplicationView, StartForm, SubjectForm};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use domain::ApplicationId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ApiJson, ApiPath, no_content};
use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::visitor::ApiUser;

#[derive(Debug, Deserialize, ToSchema)]
pub struct StartRequest {
    /// `enterprise` or `personal`.
    pub subject_kind: String,
    /// `new` (新办) or `replacement` (补办).
    pub business: String,
    /// For `replacement`: `lost`, `damaged` or `other`.
    #[serde(default)]
    pub replacement_reason: String,
    /// For `replacement`, optional: serial of the certificate being replaced.
    #[serde(default)]
    pub replaced_serial: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PackageRequest {
    pub package_id: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SubjectRequest {
    /// Enterprise only.
    #[serde(default)]
    pub company_name: String,
    /// Enterprise only: 统一社会信用代码. A checksum mismatch is accepted with a warning.
    #[serde(default)]
    pub credit_code: String,
    /// One of the user types offered for the subject kind, e.g. `enterprise`, `individual`.
    pub user_type: String,
    /// Legal representative (enterprise) or the applicant (personal).
    pub holder_name: String,
    /// 18-digit resident ID; empty keeps the number on file.
    #[serde(default)]
    pub holder_id_number: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AgentRequest {
    pub name: String,
    /// 18-digit resident ID; empty keeps the number on file.
    #[serde(default)]
    pub id_number: String,
    pub phone: String,
    /// Receives review notices.
    pub email: String,
}

/// An application as its owner sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApplicationResponse {
    pub id: i64,
    pub subject_kind: String,
    pub business: String,
    pub replacement_reason: Option<String>,
    pub replaced_serial: Option<String>,
    pub package_id: Option<i64>,
    pub package_name: Option<String>,
    pub package_price_fen: Option<i64>,
    pub company_name: Option<String>,
    pub credit_code: Option<String>,
    pub user_type: Option<String>,
    pub holder_name: Option<String>,
    /// First 3 and last 4 characters only.
    pub holder_id_masked: Option<String>,
    pub agent_name: Option<String>,
    pub agent_id_masked: Option<String>,
    pub agent_phone_masked: Option<String>,
    pub agent_email: Option<String>,
    /// Shown to the applicant and the reviewer; never blocking.
    pub warnings: Vec<String>,
    /// Steps still to fill: `package`, `subject`, `agent`.
    pub missing_steps: Vec<String>,
}

impl From<ApplicationView> for ApplicationResponse {
    fn from(v: ApplicationView) -> Self {
        let missing_steps = v.missing_steps().into_iter().map(|s| s.as_str().to_owned()).collect();
        let agent_phone_masked = v.agent_phone_masked();
        let r = v.record;
        Self {
            id: r.id.0,
            subject_kind: r.subject_kind.as_str().into(),
            business: r.business.as_str().into(),
            replacement_reason: r.replacement_reason.map(|x| x.as_str().into()),
            replaced_serial: r.replaced_serial,
            package_id: r.package_id.map(|p| p.0),
            package_name: v.package.as_ref().map(app::ports::PackageRecord::name),
            package_price_fen: v.package.as_ref().map(|p| p.price.fen()),
            company_name: r.company_name,
            credit_code: r.credit_code,
            user_type: r.user_type.map(|t| t.as_str().into()),
            holder_name: r.holder_name,
            holder_id_masked: v.holder_id_masked,
            agent_name: r.agent_name,
            agent_id_masked: v.agent_id_masked,
            agent_phone_masked,
            agent_email: r.agent_email,
            warnings: v.warnings,
            missing_steps,
        }
    }
}

/// Start an application: company or person, new or replacement.
#[utoipa::path(post, path = "/api/v1/applications", tag = "applications", request_body = StartRequest,
    responses((status = 201, body = ApplicationResponse), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn start_application(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(req): ApiJson<StartRequest>,
) -> Result<Response, ApiError> {
    let form = StartForm {
        subject_kind: req.subject_kind,
        business: req.business,
        replacement_reason: req.replacement_reason,
        replaced_serial: req.replaced_serial,
    };
    let view = state.app.start_application(&user, &form).await?;
    Ok((StatusCode::CREATED, Json(ApplicationResponse::from(view))).into_response())
}

/// The user's applications, newest first.
#[utoipa::path(get, path = "/api/v1/applications", tag = "applications",
    responses((status = 200, body = Vec<ApplicationResponse>), (status = 401, body = ErrorBody)))]
pub async fn list_applications(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
) -> Result<Json<Vec<ApplicationResponse>>, ApiError> {
    Ok(Json(state.app.applications(&user).await?.into_iter().map(Into::into).collect()))
}

/// One application of the user.
#[utoipa::path(get, path = "/api/v1/applications/{id}", tag = "applications", params(("id" = i64, Path)),
    responses((status = 200, body = ApplicationResponse), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_application(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<ApplicationId>,
) -> Result<Json<ApplicationResponse>, ApiError> {
    Ok(Json(state.app.application(&user, id).await?.into()))
}

/// Discard an application draft.
#[utoipa::path(delete, path = "/api/v1/applications/{id}", tag = "applications", params(("id" = i64, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn discard_application(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<ApplicationId>,
) -> Result<Response, ApiError> {
    state.app.discard_application(&user, id).await?;
    Ok(no_content())
}

/// Step 套餐: choose a package offered for the application's subject kind.
#[utoipa::path(put, path = "/api/v1/applications/{id}/package", tag = "applications", params(("id" = i64, Path)), request_body = PackageRequest,
    responses((status = 200, body = ApplicationResponse), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn choose_package(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<ApplicationId>,
    ApiJson(req): ApiJson<PackageRequest>,
) -> Result<Json<ApplicationResponse>, ApiError> {
    Ok(Json(state.app.choose_package(&user, id, req.package_id).await?.into()))
}

/// Step 企业/法定代表人 or 个人: the certificate holder.
#[utoipa::path(put, path = "/api/v1/applications/{id}/subject", tag = "applications", params(("id" = i64, Path)), request_body = SubjectRequest,
    responses((status = 200, body = ApplicationResponse), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn save_subject(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<ApplicationId>,
    ApiJson(req): ApiJson<SubjectRequest>,
) -> Result<Json<ApplicationResponse>, ApiError> {
    let form = SubjectForm {
        company_name: req.company_name,
        credit_code: req.credit_code,
        user_type: req.user_type,
        holder_name: req.holder_name,
        holder_id_number: req.holder_id_number,
    };
    Ok(Json(state.app.save_subject(&user, id, &form).await?.into()))
}

/// Step 经办人: the person handling the application.
#[utoipa::path(put, path = "/api/v1/applications/{id}/agent", tag = "applications", params(("id" = i64, Path)), request_body = AgentRequest,
    responses((status = 200, body = ApplicationResponse), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn save_agent(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<ApplicationId>,
    ApiJson(req): ApiJson<AgentRequest>,
) -> Result<Json<ApplicationResponse>, ApiError> {
    let form = AgentForm { name: req.name, id_number: req.id_number, phone: req.phone, email: req.email };
    Ok(Json(state.app.save_agent(&user, id, &form).await?.into()))
}
