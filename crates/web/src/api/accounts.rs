//! Accounts API: SMS codes, registration, session (login / logout), password reset and change,
//! profile.

use app::accounts::{PasswordChange, ProfileUpdate, Registration};
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use domain::SmsPurpose;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ApiJson, no_content};
use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::visitor::{ApiUser, Visitor, clear_session_cookie, session_cookie};

/// What an SMS code will be used for.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CodePurpose {
    Register,
    ResetPassword,
}

impl From<CodePurpose> for SmsPurpose {
    fn from(p: CodePurpose) -> Self {
        match p {
            CodePurpose::Register => Self::Register,
            CodePurpose::ResetPassword => Self::ResetPassword,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SendCodeRequest {
    /// Mainland mobile number, 11 digits.
    pub phone: String,
    pub purpose: CodePurpose,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SendCodeResponse {
    /// Seconds before another code can be requested for this number.
    pub resend_after_secs: i64,
}

/// Send a 6-digit verification code by SMS. At most one per 60 s and ten per day per number.
#[utoipa::path(post, path = "/api/v1/sms-codes", tag = "accounts", request_body = SendCodeRequest,
    responses((status = 202, body = SendCodeResponse), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody),
              (status = 403, body = ErrorBody, description = "CSRF check failed")))]
pub async fn send_sms_code(
    State(state): State<AppState>,
    visitor: Visitor,
    ApiJson(req): ApiJson<SendCodeRequest>,
) -> Result<Response, ApiError> {
    let sent = state.app.sms_codes().send(&req.phone, req.purpose.into(), &visitor.client).await?;
    Ok((StatusCode::ACCEPTED, Json(SendCodeResponse { resend_after_secs: sent.resend_after_secs })).into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RegisterRequest {
    pub phone: String,
    /// The SMS code sent for `register`.
    pub code: String,
    pub password: String,
    pub password_confirm: String,
}

impl From<RegisterRequest> for Registration {
    fn from(r: RegisterRequest) -> Self {
        Self { phone: r.phone, code: r.code, password: r.password, password_confirm: r.password_confirm }
    }
}

/// Create an account with a verified mobile number. Log in afterwards.
#[utoipa::path(post, path = "/api/v1/accounts", tag = "accounts", request_body = RegisterRequest,
    responses((status = 201, description = "Account created"), (status = 422, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn register(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<RegisterRequest>,
) -> Result<Response, ApiError> {
    state.app.accounts().register(&req.into()).await?;
    Ok(StatusCode::CREATED.into_response())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserSummary {
    /// Profile name, or the masked phone number when no name is set.
    pub display_name: String,
    pub phone_masked: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionResponse {
    pub authenticated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<UserSummary>,
    /// Send as `X-CSRF-Token` with every state-changing request.
    pub csrf_token: String,
}

fn summary(user: &app::sessions::CurrentUser) -> UserSummary {
    UserSummary { display_name: user.display_name(), phone_masked: user.phone.masked() }
}

/// The current session and the CSRF token to use with it.
#[utoipa::path(get, path = "/api/v1/session", tag = "accounts", responses((status = 200, body = SessionResponse)))]
pub async fn get_session(visitor: Visitor) -> Json<SessionResponse> {
    Json(SessionResponse {
        authenticated: visitor.user.is_some(),
        user: visitor.user.as_ref().map(summary),
        csrf_token: visitor.csrf_token,
    })
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    pub phone: String,
    pub password: String,
}

/// Log in with mobile number and password. Sets a new session cookie; the response carries the
/// CSRF token bound to it.
#[utoipa::path(post, path = "/api/v1/session", tag = "accounts", request_body = LoginRequest,
    responses((status = 200, body = SessionResponse), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody),
              (status = 429, body = ErrorBody, description = "Too many failures; see Retry-After")))]
pub async fn login(
    State(state): State<AppState>,
    visitor: Visitor,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Response, ApiError> {
    let token = state.app.accounts().login(&req.phone, &req.password, &visitor.client).await?;
    let user = state.app.sessions().authenticate(&token.0).await?.ok_or(app::Error::Unauthenticated)?;
    let body = SessionResponse {
        authenticated: true,
        user: Some(summary(&user)),
        csrf_token: state.app.sessions().csrf_token(&token.0),
    };
    Ok(([(header::SET_COOKIE, session_cookie(&state.config, &token))], Json(body)).into_response())
}

/// Log out: ends the session and removes the cookie.
#[utoipa::path(delete, path = "/api/v1/session", tag = "accounts", responses((status = 204), (status = 403, body = ErrorBody)))]
pub async fn logout(State(state): State<AppState>, visitor: Visitor) -> Result<Response, ApiError> {
    if let Some(user) = &visitor.user {
        state.app.sessions().end_session(user).await?;
    }
    Ok(([(header::SET_COOKIE, clear_session_cookie(&state.config))], no_content()).into_response())
}

/// Set a new password with an SMS code sent for `reset_password`. Ends every session of the
/// account and lifts a login lock.
#[utoipa::path(post, path = "/api/v1/password-resets", tag = "accounts", request_body = RegisterRequest,
    responses((status = 204), (status = 422, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn reset_password(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<RegisterRequest>,
) -> Result<Response, ApiError> {
    state.app.accounts().reset_password(&req.into()).await?;
    Ok(no_content())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProfileResponse {
    pub phone_masked: String,
    pub name: Option<String>,
    pub email: Option<String>,
    /// RFC 3339.
    pub registered_at: String,
}

/// The logged-in user's profile (我的账户).
#[utoipa::path(get, path = "/api/v1/me", tag = "accounts", responses((status = 200, body = ProfileResponse), (status = 401, body = ErrorBody)))]
pub async fn get_profile(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
) -> Result<Json<ProfileResponse>, ApiError> {
    let p = state.app.accounts().profile(&user).await?;
    Ok(Json(ProfileResponse {
        phone_masked: p.phone_masked,
        name: p.name,
        email: p.email,
        registered_at: super::rfc3339(p.registered_at),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ProfileRequest {
    /// Empty or absent clears it.
    #[serde(default)]
    pub name: String,
    /// Empty or absent clears it.
    #[serde(default)]
    pub email: String,
}

/// Replace the profile's name and email.
#[utoipa::path(put, path = "/api/v1/me", tag = "accounts", request_body = ProfileRequest,
    responses((status = 204), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_profile(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(req): ApiJson<ProfileRequest>,
) -> Result<Response, ApiError> {
    state.app.accounts().update_profile(&user, &ProfileUpdate { name: req.name, email: req.email }).await?;
    Ok(no_content())
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PasswordChangeRequest {
    pub old_password: String,
    pub new_password: String,
    pub new_password_confirm: String,
}

/// Change the password (old password required). Ends every other session and replaces this one:
/// use the returned CSRF token from now on.
#[utoipa::path(put, path = "/api/v1/me/password", tag = "accounts", request_body = PasswordChangeRequest,
    responses((status = 200, body = SessionResponse), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn change_password(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(req): ApiJson<PasswordChangeRequest>,
) -> Result<Response, ApiError> {
    let form = PasswordChange {
        old_password: req.old_password,
        new_password: req.new_password,
        new_password_confirm: req.new_password_confirm,
    };
    let token = state.app.accounts().change_password(&user, &form).await?;
    let body = SessionResponse {
        authenticated: true,
        user: Some(summary(&user)),
        csrf_token: state.app.sessions().csrf_token(&token.0),
    };
    Ok(([(header::SET_COOKIE, session_cookie(&state.config, &token))], Json(body)).into_response())
}
