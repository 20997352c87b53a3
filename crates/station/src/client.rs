//! The desk's station API, as the station calls it: bearer token, JSON, the desk's own error
//! messages passed on to the operator.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::json;

use crate::StationError;

/// The desk at `base`, reached with a station token.
#[derive(Clone)]
pub struct Desk {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl std::fmt::Debug for Desk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Desk").field("base", &self.base).finish_non_exhaustive()
    }
}

/// An order as the station sees it.
#[derive(Debug, Clone, Deserialize)]
pub struct OrderSummary {
    pub order_no: String,
    pub status: String,
    pub status_label: String,
    pub subject_name: String,
    /// The subject the desk certifies, for the request to name.
    #[serde(default)]
    pub subject: Vec<SubjectAttribute>,
}

/// One attribute of the subject: its X.520 type (dotted OID) and text.
#[derive(Debug, Clone, Deserialize)]
pub struct SubjectAttribute {
    pub oid: String,
    pub value: String,
}

impl SubjectAttribute {
    /// The attributes of a subject the desk built.
    pub fn of(subject: &domain::certificate::Subject) -> Vec<Self> {
        subject.attributes.iter().map(|a| Self { oid: a.oid().to_owned(), value: a.value().to_owned() }).collect()
    }
}

/// A certificate the desk issued.
#[derive(Debug, Clone)]
pub struct Issued {
    pub serial: String,
    pub subject: String,
    pub not_after: String,
    pub certificate: Vec<u8>,
    pub chain: Vec<Vec<u8>>,
    pub revoked: Option<String>,
    /// The electronic seal made with the certificate (DER), to be written beside it.
    pub seal: Option<Vec<u8>>,
}

#[derive(Deserialize)]
struct IssuedBody {
    serial: String,
    subject: String,
    not_after: String,
    certificate: String,
    chain: Vec<String>,
    revoked: Option<String>,
    #[serde(default)]
    seal: Option<String>,
}

#[derive(Deserialize)]
struct ErrorBody {
    message: String,
}

impl Desk {
    pub fn new(base: &str, token: &str) -> Result<Self, StationError> {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .map_err(|e| StationError::Network(e.to_string()))?;
        Ok(Self { base: base.trim_end_matches('/').to_owned(), token: token.trim().to_owned(), http })
    }

    async fn answer<T: for<'de> Deserialize<'de>>(response: reqwest::Response) -> Result<T, StationError> {
        let status = response.status();
        let bytes = response.bytes().await.map_err(|e| StationError::Network(e.to_string()))?;
        if status.is_success() {
            return serde_json::from_slice(&bytes)
                .map_err(|e| StationError::Desk(format!("服务器的回答无法解析：{e}")));
        }
        let message = serde_json::from_slice::<ErrorBody>(&bytes).map_or_else(|_| status.to_string(), |b| b.message);
        Err(StationError::Desk(message))
    }

    pub async fn order(&self, id: i64) -> Result<OrderSummary, StationError> {
        let response = self
            .http
            .get(format!("{}/api/v1/station/orders/{id}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(|e| StationError::Network(e.to_string()))?;
        Self::answer(response).await
    }

    /// Sends the request with the PINs; the desk issues (revoking an earlier one for the order).
    pub async fn certify(
        &self,
        id: i64,
        csr: &[u8],
        token_serial: &str,
        user_pin: &str,
        so_pin: &str,
    ) -> Result<Issued, StationError> {
        let body = json!({
            "csr": STANDARD.encode(csr),
            "token_serial": token_serial,
            "user_pin": user_pin,
            "so_pin": so_pin,
        });
        let response = self
            .http
            .post(format!("{}/api/v1/station/orders/{id}/certificate", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .map_err(|e| StationError::Network(e.to_string()))?;
        let body: IssuedBody = Self::answer(response).await?;
        let decode = |b64: &str| STANDARD.decode(b64).map_err(|e| StationError::Desk(format!("证书编码无效：{e}")));
        Ok(Issued {
            serial: body.serial,
            subject: body.subject,
            not_after: body.not_after,
            certificate: decode(&body.certificate)?,
            chain: body.chain.iter().map(|c| decode(c)).collect::<Result<_, _>>()?,
            revoked: body.revoked,
            seal: body.seal.as_deref().map(decode).transpose()?,
        })
    }
}
