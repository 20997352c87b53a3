//! Address-book API (收货地址). Every route is scoped to the logged-in owner; a foreign or unknown
//! id answers 404 with no detail.

use app::ports::AddressRecord;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use domain::{AddressDraft, AddressId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ApiJson, ApiPath, no_content};
use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::visitor::ApiUser;

#[derive(Debug, Deserialize, ToSchema)]
pub struct AddressRequest {
    /// 收件人.
    pub recipient: String,
    /// Recipient's mobile number.
    pub phone: String,
    /// GB/T 2260 codes, see `GET /api/v1/divisions`.
    pub province_code: String,
    #[serde(default)]
    pub city_code: String,
    #[serde(default)]
    pub district_code: String,
    /// Street, building, room.
    pub detail: String,
    #[serde(default)]
    pub is_default: bool,
}

impl From<AddressRequest> for AddressDraft {
    fn from(r: AddressRequest) -> Self {
        Self {
            recipient: r.recipient,
            phone: r.phone,
            province_code: r.province_code,
            city_code: r.city_code,
            district_code: r.district_code,
            detail: r.detail,
            is_default: r.is_default,
        }
    }
}

/// An address in lists: the phone is masked.
#[derive(Debug, Serialize, ToSchema)]
pub struct AddressSummary {
    pub id: i64,
    pub recipient: String,
    pub phone_masked: String,
    pub region_name: String,
    pub detail: String,
    pub is_default: bool,
}

impl From<AddressRecord> for AddressSummary {
    fn from(r: AddressRecord) -> Self {
        Self {
            phone_masked: r.phone_masked(),
            id: r.id.0,
            recipient: r.recipient,
            region_name: r.region_name,
            detail: r.detail,
            is_default: r.is_default,
        }
    }
}

/// One address, as its owner edits it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AddressDetail {
    pub id: i64,
    pub recipient: String,
    pub phone: String,
    pub province_code: String,
    pub city_code: String,
    pub district_code: String,
    pub region_name: String,
    pub detail: String,
    pub is_default: bool,
}

impl From<AddressRecord> for AddressDetail {
    fn from(r: AddressRecord) -> Self {
        Self {
            id: r.id.0,
            recipient: r.recipient,
            phone: r.phone,
            province_code: r.province_code,
            city_code: r.city_code,
            district_code: r.district_code,
            region_name: r.region_name,
            detail: r.detail,
            is_default: r.is_default,
        }
    }
}

/// The user's addresses, default first.
#[utoipa::path(get, path = "/api/v1/addresses", tag = "addresses",
    responses((status = 200, body = Vec<AddressSummary>), (status = 401, body = ErrorBody)))]
pub async fn list_addresses(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
) -> Result<Json<Vec<AddressSummary>>, ApiError> {
    Ok(Json(state.app.address_book().list_addresses(&user).await?.into_iter().map(Into::into).collect()))
}

/// Add an address. The first one becomes the default.
#[utoipa::path(post, path = "/api/v1/addresses", tag = "addresses", request_body = AddressRequest,
    responses((status = 201, body = AddressDetail), (status = 401, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn create_address(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(req): ApiJson<AddressRequest>,
) -> Result<Response, ApiError> {
    let record = state.app.address_book().add_address(&user, &req.into()).await?;
    Ok((StatusCode::CREATED, Json(AddressDetail::from(record))).into_response())
}

/// One address of the user.
#[utoipa::path(get, path = "/api/v1/addresses/{id}", tag = "addresses", params(("id" = i64, Path)),
    responses((status = 200, body = AddressDetail), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_address(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<AddressId>,
) -> Result<Json<AddressDetail>, ApiError> {
    Ok(Json(state.app.address_book().address(&user, id).await?.into()))
}

/// Replace an address.
#[utoipa::path(put, path = "/api/v1/addresses/{id}", tag = "addresses", params(("id" = i64, Path)), request_body = AddressRequest,
    responses((status = 200, body = AddressDetail), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn update_address(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<AddressId>,
    ApiJson(req): ApiJson<AddressRequest>,
) -> Result<Json<AddressDetail>, ApiError> {
    Ok(Json(state.app.address_book().update_address(&user, id, &req.into()).await?.into()))
}

/// Delete an address. If it was the default, the newest remaining one becomes default.
#[utoipa::path(delete, path = "/api/v1/addresses/{id}", tag = "addresses", params(("id" = i64, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_address(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<AddressId>,
) -> Result<Response, ApiError> {
    state.app.address_book().delete_address(&user, id).await?;
    Ok(no_content())
}

/// Make an address the default.
#[utoipa::path(post, path = "/api/v1/addresses/{id}/default", tag = "addresses", params(("id" = i64, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn set_default_address(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<AddressId>,
) -> Result<Response, ApiError> {
    state.app.address_book().set_default_address(&user, id).await?;
    Ok(no_content())
}
