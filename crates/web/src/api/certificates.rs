//! 我的证书 API: the applicant's certificates, and each one as PEM (or DER with `?format=der`).

use app::certificates::CertificateView;
use axum::Json;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{ApiPath, rfc3339};
use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::visitor::ApiUser;

#[derive(Debug, Serialize, ToSchema)]
pub struct CertificateBody {
    /// Upper-case hex, two digits per octet.
    pub serial: String,
    /// `sm2` or `ecdsa-p256`.
    pub algorithm: String,
    pub subject: String,
    pub issuer: String,
    pub credit_code: Option<String>,
    /// SHA-256 of the DER, upper-case hex.
    pub fingerprint_sha256: String,
    pub not_before: String,
    pub not_after: String,
    /// `valid` (有效), `expiring` (即将过期, within 90 days), `expired` (已过期) or `revoked` (已吊销).
    pub status: String,
    pub status_label: String,
    pub order_id: i64,
    /// The certificate this one replaced (补办).
    pub replaces_serial: Option<String>,
    pub revoked_at: Option<String>,
    pub revocation_reason: Option<String>,
}

impl From<&CertificateView> for CertificateBody {
    fn from(c: &CertificateView) -> Self {
        let r = &c.record;
        Self {
            serial: r.serial.clone(),
            algorithm: r.algorithm.as_str().into(),
            subject: r.subject.clone(),
            issuer: r.issuer.clone(),
            credit_code: r.credit_code.clone(),
            fingerprint_sha256: r.fingerprint.clone(),
            not_before: rfc3339(r.not_before),
            not_after: rfc3339(r.not_after),
            status: c.status.as_str().into(),
            status_label: c.status.label().into(),
            order_id: r.order_id.0,
            replaces_serial: r.replaces_serial.clone(),
            revoked_at: r.revocation.map(|v| rfc3339(v.at)),
            revocation_reason: r.revocation.map(|v| v.reason.as_str().into()),
        }
    }
}

/// 我的证书: the signed-in user's certificates, newest first.
#[utoipa::path(get, path = "/api/v1/certificates", tag = "certificates",
    responses((status = 200, body = Vec<CertificateBody>), (status = 401, body = ErrorBody)))]
pub async fn list_certificates(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
) -> Result<Json<Vec<CertificateBody>>, ApiError> {
    let certificates = state.app.my_certificates(&user).await?;
    Ok(Json(certificates.iter().map(CertificateBody::from).collect()))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct DownloadQuery {
    /// `pem` (default) or `der`.
    pub format: Option<String>,
}

/// One of the user's certificates: PEM (`application/x-pem-file`), or DER with `?format=der`.
#[utoipa::path(get, path = "/api/v1/certificates/{serial}", tag = "certificates",
    params(("serial" = String, Path), DownloadQuery),
    responses((status = 200, content_type = "application/x-pem-file", body = String), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn get_certificate(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(serial): ApiPath<String>,
    Query(q): Query<DownloadQuery>,
) -> Result<Response, ApiError> {
    let certificate = state.app.my_certificate(&user, &serial).await?;
    Ok(crate::files::certificate(&certificate, q.format.as_deref() == Some("der")))
}
