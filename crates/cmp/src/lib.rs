//! The CMP client: the CA port (`app::ca`) answered by an external CA over CMP (RFC 4210) as the
//! lightweight profile (RFC 9483) has a registration authority speak it — `p10cr` for the key a
//! station's token generated, `certConf` to accept (or refuse) what came back, `rr` to revoke —
//! over HTTP (RFC 6712), each message protected with the password-based MAC both sides share
//! (PBM, RFC 4210 §5.1.3.1) and each answer's protection, transaction and nonces checked.
//!
//! The desk decides the subject: a `p10cr` carries the station's request as it is, so the
//! station puts the subject the desk built into it, and a certificate whose subject is not that
//! one is refused in `certConf` (the CA then revokes it) and never reaches the order.
//!
//! The external CA publishes its own revocation lists, at the address its certificates name.

mod message;

use std::sync::Arc;

use app::ca::{CaError, CertificateAuthority, Issuance, IssuedCertificate};
use app::clock::Clock;
use async_trait::async_trait;
use der::{Decode, Encode};
use domain::certificate::{KeyAlgorithm, RevocationReason};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use x509_cert_02::Certificate;

pub use message::Protection;

/// Where the external CA is and how the desk is known to it.
#[derive(Debug, Clone)]
pub struct CmpSettings {
    /// The CA's CMP endpoint, e.g. `https://ca.example.com/pkix/`.
    pub url: String,
    /// The shared secret of the password-based MAC.
    pub secret: String,
    /// How the CA knows the desk (`senderKID`).
    pub reference: String,
    /// The CA's name (`recipient`), e.g. `CN=Example Issuing CA`.
    pub recipient: String,
    /// The issuing CA's certificate and its root (DER), per algorithm the CA certifies.
    pub chains: Vec<(KeyAlgorithm, Vec<Vec<u8>>)>,
}

/// The external CA behind CMP.
#[derive(Clone)]
pub struct CmpClient {
    settings: Arc<CmpSettings>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for CmpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CmpClient").field("url", &self.settings.url).finish_non_exhaustive()
    }
}

fn unavailable(e: impl std::fmt::Display) -> CaError {
    CaError::Unavailable(e.to_string())
}

/// Largest answer read from the CA.
const MAX_ANSWER: usize = 1024 * 1024;

impl CmpClient {
    pub fn new(settings: CmpSettings, clock: Arc<dyn Clock>) -> Result<Self, CaError> {
        if settings.chains.is_empty() {
            return Err(unavailable("CMP: no issuing CA chain configured"));
        }
        Ok(Self { settings: Arc::new(settings), clock })
    }

    /// The connection one transaction runs on, start to end: a CMP server may tie a transaction
    /// to its connection (OpenSSL's takes a new connection for a new transaction), and closes it
    /// when the transaction ends — so each transaction opens its own.
    fn transaction() -> Result<reqwest::Client, CaError> {
        reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .pool_max_idle_per_host(1)
            .build()
            .map_err(unavailable)
    }

    /// One message to the CA and its answer, its protection and transaction checked.
    async fn exchange(&self, http: &reqwest::Client, request: &message::Outgoing) -> Result<message::Answer, CaError> {
        let bytes = request.encode(&self.settings, self.clock.now())?;
        let response = http
            .post(&self.settings.url)
            .header(reqwest::header::CONTENT_TYPE, "application/pkixcmp")
            .body(bytes)
            .send()
            .await
            .map_err(|e| unavailable(format!("CMP: {e}")))?;
        if !response.status().is_success() {
            return Err(unavailable(format!("CMP: the CA answered HTTP {}", response.status())));
        }
        let body = response.bytes().await.map_err(|e| unavailable(format!("CMP: {e}")))?;
        if body.len() > MAX_ANSWER {
            return Err(unavailable("CMP: the CA's answer is too large"));
        }
        message::Answer::decode(&body, request, &self.settings)
    }

    fn issuer_of(&self, algorithm: KeyAlgorithm) -> Result<Certificate, CaError> {
        let chain = self.settings.chains.iter().find(|(a, _)| *a == algorithm).ok_or(CaError::Unknown)?;
        let der = chain.1.first().ok_or(CaError::Unknown)?;
        Certificate::from_der(der).map_err(unavailable)
    }
}

/// Upper-case hex of the serial's octets, the DER sign octet dropped (as OpenSSL prints it).
fn serial_hex(bytes: &[u8]) -> String {
    let bytes = match bytes {
        [0, rest @ ..] if rest.first().is_some_and(|b| *b >= 0x80) => rest,
        _ => bytes,
    };
    hex::encode_upper(bytes)
}

fn time_of(t: x509_cert_02::time::Time) -> Result<OffsetDateTime, CaError> {
    let seconds = i64::try_from(t.to_unix_duration().as_secs()).map_err(unavailable)?;
    OffsetDateTime::from_unix_timestamp(seconds).map_err(unavailable)
}

const EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
const P256: &str = "1.2.840.10045.3.1.7";
const SM2_CURVE: &str = "1.2.156.10197.1.301";
const SM2_WITH_SM3: &str = "1.2.156.10197.1.501";

fn algorithm_of(certificate: &Certificate) -> Result<KeyAlgorithm, CaError> {
    let key = &certificate.tbs_certificate.subject_public_key_info.algorithm;
    let curve = key.parameters.as_ref().and_then(|p| p.decode_as::<der::asn1::ObjectIdentifier>().ok());
    match (key.oid.to_string().as_str(), curve.map(|c| c.to_string()).as_deref()) {
        (EC_PUBLIC_KEY, Some(P256)) => Ok(KeyAlgorithm::EcdsaP256),
        (EC_PUBLIC_KEY | "1.2.156.10197.1.301.1", Some(SM2_CURVE)) => Ok(KeyAlgorithm::Sm2),
        _ => Err(CaError::BadRequest("the CA certified a key of an algorithm the desk does not issue".into())),
    }
}

/// The subject's attributes as (OID, text), in order.
fn attributes(name: &x509_cert_02::name::Name) -> Vec<(String, String)> {
    name.0
        .iter()
        .flat_map(|rdn| rdn.0.iter())
        .map(|atv| (atv.oid.to_string(), String::from_utf8_lossy(atv.value.value()).into_owned()))
        .collect()
}

#[async_trait]
impl CertificateAuthority for CmpClient {
    async fn issue(&self, issuance: &Issuance) -> Result<IssuedCertificate, CaError> {
        let request = message::Outgoing::p10cr(&issuance.request_der)?;
        let http = Self::transaction()?;
        let answer = self.exchange(&http, &request).await?;
        let message::Certified { certificate, der, extra } = answer.certificate()?;
        let expected: Vec<(String, String)> =
            issuance.subject.attributes.iter().map(|a| (a.oid().to_owned(), a.value().to_owned())).collect();
        let mut got = attributes(&certificate.tbs_certificate.subject);
        let mut want = expected.clone();
        got.sort();
        want.sort();
        let accepted = got == want;
        // certConf's hash is the certificate signature's own (RFC 9483 §4.1.1).
        let hash = if certificate.signature_algorithm.oid.to_string() == SM2_WITH_SM3 {
            <sm3::Sm3 as sm3::Digest>::digest(&der).to_vec()
        } else {
            Sha256::digest(&der).to_vec()
        };
        let confirm = message::Outgoing::cert_conf(&answer, &hash, accepted);
        self.exchange(&http, &confirm).await?.confirmed()?;
        if !accepted {
            return Err(CaError::BadRequest(
                "the CA certified a subject other than the one the desk built (the request must name it)".into(),
            ));
        }
        let algorithm = algorithm_of(&certificate)?;
        let chain = if extra.is_empty() {
            self.settings.chains.iter().find(|(a, _)| *a == algorithm).map(|(_, c)| c.clone()).unwrap_or_default()
        } else {
            extra
        };
        let validity = &certificate.tbs_certificate.validity;
        Ok(IssuedCertificate {
            algorithm,
            serial: serial_hex(certificate.tbs_certificate.serial_number.as_bytes()),
            fingerprint: hex::encode_upper(Sha256::digest(&der)),
            subject: issuance.subject.display(),
            issuer: certificate.tbs_certificate.issuer.to_string(),
            not_before: time_of(validity.not_before)?,
            not_after: time_of(validity.not_after)?,
            der,
            chain,
        })
    }

    async fn revoke(
        &self,
        algorithm: KeyAlgorithm,
        serial: &str,
        reason: RevocationReason,
        _at: OffsetDateTime,
    ) -> Result<(), CaError> {
        let issuer = self.issuer_of(algorithm)?;
        let serial = hex::decode(serial.trim()).map_err(|_| CaError::Unknown)?;
        let request = message::Outgoing::rr(&issuer.tbs_certificate.subject, &serial, reason.code());
        self.exchange(&Self::transaction()?, &request).await?.revoked()
    }

    async fn crl(&self, _: KeyAlgorithm, _: OffsetDateTime) -> Result<Vec<u8>, CaError> {
        // The external CA publishes its lists where its certificates say.
        Err(CaError::Unknown)
    }

    async fn chain(&self, algorithm: KeyAlgorithm) -> Result<Vec<Vec<u8>>, CaError> {
        let chain = self.settings.chains.iter().find(|(a, _)| *a == algorithm).ok_or(CaError::Unknown)?;
        Ok(chain.1.clone())
    }
}

/// The DER of a certificate already parsed.
fn der_of(certificate: &Certificate) -> Result<Vec<u8>, CaError> {
    certificate.to_der().map_err(unavailable)
}
