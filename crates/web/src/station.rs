//! The production station's machine API under `/api/v1/station`: no cookies, no CSRF token — a
//! station authenticates every request with `Authorization: Bearer sdst_…`, a token a fulfilment
//! staff member created in the back office. A browser never sends such a header on its own, so a
//! cross-site request cannot carry it.
//!
//! - `GET  /api/v1/station/orders/{id}`: the order and its certificate in force, if any.
//! - `POST /api/v1/station/orders/{id}/certificate`: `{"csr": "<PKCS#10, base64 DER or PEM>",
//!   "token_serial", "user_pin", "so_pin"}` → the certificate and its chain (base64 DER).

use app::staff::CurrentStaff;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use domain::OrderId;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::error::ApiError;
use crate::times::rfc3339;

/// Largest PKCS#10 request accepted (an EC request is under 1 KiB).
const MAX_CSR_BYTES: usize = 16 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/station/orders/{id}", get(order))
        .route("/api/v1/station/orders/{id}/certificate", post(certificate))
}

/// The staff member a station token acts for.
pub struct Station(pub CurrentStaff);

impl FromRequestParts<AppState> for Station {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let unauthenticated =
            || ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", "工作站令牌无效或已停用").into_response();
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or_else(unauthenticated)?;
        match state.app.authenticate_station(token).await {
            Ok(Some(staff)) => Ok(Self(staff)),
            Ok(None) => Err(unauthenticated()),
            Err(err) => Err(ApiError::from(err).into_response()),
        }
    }
}

fn order_id(text: &str) -> Result<OrderId, ApiError> {
    text.parse::<i64>().ok().filter(|n| *n > 0).map(OrderId).ok_or_else(ApiError::not_found)
}

#[derive(Serialize)]
struct CertificateBody {
    serial: String,
    algorithm: &'static str,
    subject: String,
    fingerprint_sha256: String,
    not_before: String,
    not_after: String,
    status: &'static str,
}

#[derive(Serialize)]
struct OrderBody {
    id: i64,
    order_no: String,
    status: &'static str,
    status_label: &'static str,
    subject_name: String,
    package: String,
    delivery: &'static str,
    certificate: Option<CertificateBody>,
    /// The subject the desk certifies, most general attribute first: what the request should name.
    subject: Vec<AttributeBody>,
}

#[derive(Serialize)]
struct AttributeBody {
    oid: &'static str,
    value: String,
}

async fn order(State(state): State<AppState>, Station(staff): Station, Path(id): Path<String>) -> Response {
    let result = async {
        let found = state.app.station_order(&staff, order_id(&id)?).await?;
        let o = &found.order;
        Ok::<_, ApiError>(Json(OrderBody {
            id: o.id.0,
            order_no: o.order.order_no.clone(),
            status: o.status.as_str(),
            status_label: o.status.label(),
            subject_name: o.order.subject_name.clone(),
            package: o.order.package_name.clone(),
            delivery: o.order.delivery.as_str(),
            subject: found
                .subject
                .iter()
                .flat_map(|s| s.attributes.iter())
                .map(|a| AttributeBody { oid: a.oid(), value: a.value().to_owned() })
                .collect(),
            certificate: found.certificate.map(|c| CertificateBody {
                serial: c.record.serial.clone(),
                algorithm: c.record.algorithm.as_str(),
                subject: c.record.subject.clone(),
                fingerprint_sha256: c.record.fingerprint.clone(),
                not_before: rfc3339(c.record.not_before),
                not_after: rfc3339(c.record.not_after),
                status: c.status.as_str(),
            }),
        }))
    }
    .await;
    result.into_response()
}

#[derive(Deserialize)]
struct CertificateRequest {
    /// PKCS#10, base64 DER or PEM.
    csr: String,
    token_serial: String,
    user_pin: String,
    so_pin: String,
}

#[derive(Serialize)]
struct IssuedBody {
    serial: String,
    algorithm: &'static str,
    subject: String,
    fingerprint_sha256: String,
    not_before: String,
    not_after: String,
    /// Base64 DER.
    certificate: String,
    /// Base64 DER, the issuing CA first, the root last.
    chain: Vec<String>,
    /// The certificate this one replaced and revoked (补办), if any.
    revoked: Option<String>,
    /// Base64 DER: the GB/T 38540 electronic seal made with the certificate, to be written to
    /// the token beside it (absent when no seal could be made).
    seal: Option<String>,
}

/// The DER inside a PEM block, or base64 DER as it is.
fn request_der(text: &str) -> Option<Vec<u8>> {
    if text.len() > MAX_CSR_BYTES * 2 {
        return None;
    }
    let body: String = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with("-----"))
        .collect::<Vec<_>>()
        .concat()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    STANDARD.decode(body).ok().filter(|der| !der.is_empty() && der.len() <= MAX_CSR_BYTES)
}

async fn certificate(
    State(state): State<AppState>,
    Station(staff): Station,
    Path(id): Path<String>,
    body: Result<Json<CertificateRequest>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let result = async {
        let id = order_id(&id)?;
        let Json(body) = body.map_err(|_| bad_request("请求应为 JSON：csr、token_serial、user_pin、so_pin"))?;
        let der = request_der(&body.csr).ok_or_else(|| bad_request("csr 应为 PKCS#10 请求（base64 DER 或 PEM）"))?;
        let pins = app::station::PinReport {
            token_serial: &body.token_serial,
            user_pin: &body.user_pin,
            so_pin: &body.so_pin,
        };
        let produced = state.app.issue_for_order(&staff, id, &der, &pins).await?;
        let c = produced.certificate;
        Ok::<_, ApiError>(Json(IssuedBody {
            serial: c.serial,
            algorithm: c.algorithm.as_str(),
            subject: c.subject,
            fingerprint_sha256: c.fingerprint,
            not_before: rfc3339(c.not_before),
            not_after: rfc3339(c.not_after),
            certificate: STANDARD.encode(&c.der),
            chain: c.chain.iter().map(|d| STANDARD.encode(d)).collect(),
            revoked: produced.revoked,
            seal: produced.seal.map(|s| STANDARD.encode(s)),
        }))
    }
    .await;
    result.into_response()
}

fn bad_request(message: &str) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
}
