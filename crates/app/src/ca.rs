//! The certificate authority port: what the desk — a registration authority — needs from a CA:
//! certify a public key for a subject the desk built from the approved application, revoke a
//! certificate (补办 supersedes the old key), and publish who is revoked. The `ca`
//! crate implements it (the built-in CA for development, tests and small operators; a CMP client
//! to an external CA is to follow). Owned here, so use cases need no X.509 crate.

use async_trait::async_trait;
use domain::certificate::{KeyAlgorithm, RevocationReason, Subject};
use time::OffsetDateTime;

/// What to certify: the key a token generated (in its PKCS#10 request, whose signature proves
/// the token holds the private key) under the subject and validity the desk decided.
#[derive(Debug, Clone)]
pub struct Issuance {
    pub profile: CertificateProfile,
    pub request_der: Vec<u8>,
    pub subject: Subject,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
}

/// What the certificate is for, which decides its extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertificateProfile {
    /// The applicant's key on the USB-Key: signs documents, authenticates.
    Holder,
    /// The desk's seal-maker (制章者) key: signs electronic seals and nothing else.
    SealMaker,
}

/// A certificate as issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedCertificate {
    pub algorithm: KeyAlgorithm,
    /// Upper-case hex, as CAs print it.
    pub serial: String,
    pub der: Vec<u8>,
    /// The issuing CA first, the root last.
    pub chain: Vec<Vec<u8>>,
    /// SHA-256 of the DER, upper-case hex.
    pub fingerprint: String,
    pub subject: String,
    /// The issuing CA's name as people read it.
    pub issuer: String,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CaError {
    /// Not a PKCS#10 request, a signature that does not verify, or a key we do not certify.
    #[error("certificate request refused: {0}")]
    BadRequest(String),
    /// No certificate of ours has that serial number.
    #[error("unknown certificate")]
    Unknown,
    /// The CA could not be reached or failed.
    #[error("certificate authority unavailable: {0}")]
    Unavailable(String),
}

#[async_trait]
pub trait CertificateAuthority: Send + Sync {
    /// Certifies the request's key under the issuance's subject and validity.
    async fn issue(&self, issuance: &Issuance) -> Result<IssuedCertificate, CaError>;

    /// Revokes the certificate (once; revoking it again changes nothing).
    async fn revoke(
        &self,
        algorithm: KeyAlgorithm,
        serial: &str,
        reason: RevocationReason,
        at: OffsetDateTime,
    ) -> Result<(), CaError>;

    /// The issuing CA's current certificate revocation list (DER), as of `now`.
    async fn crl(&self, algorithm: KeyAlgorithm, now: OffsetDateTime) -> Result<Vec<u8>, CaError>;

    /// The issuing CA's certificate first, the root relying parties trust last (DER).
    async fn chain(&self, algorithm: KeyAlgorithm) -> Result<Vec<Vec<u8>>, CaError>;
}
