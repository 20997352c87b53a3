//! Certificates, seals and the workstations that make keys.

use super::staff::AuditEntry;
use crate::StoreError;
use async_trait::async_trait;
use domain::pricing::KeyType;
use domain::{OrderId, StaffId, StationTokenId, UserId};
use time::OffsetDateTime;

/// A certificate the CA issued for an order, as the desk keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateRecord {
    pub serial: String,
    pub algorithm: domain::certificate::KeyAlgorithm,
    pub order_id: OrderId,
    pub user_id: UserId,
    /// The subject as people read it (`CN=…, O=…`).
    pub subject: String,
    /// The issuing CA's name as people read it.
    pub issuer: String,
    pub credit_code: Option<String>,
    /// SHA-256 of the DER, upper-case hex.
    pub fingerprint: String,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    pub der: Vec<u8>,
    pub issued_by: Option<StaffId>,
    pub issued_at: OffsetDateTime,
    /// The certificate this one replaces (补办).
    pub replaces_serial: Option<String>,
    pub revocation: Option<Revocation>,
}

/// When, why and by whom a certificate was revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Revocation {
    pub at: OffsetDateTime,
    pub reason: domain::certificate::RevocationReason,
    pub by: Option<StaffId>,
}

/// A company certificate's revocation asked for by one staff member, waiting for another's approval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevocationRequest {
    pub serial: String,
    pub reason: domain::certificate::RevocationReason,
    pub note: String,
    pub requested_by: StaffId,
    pub requested_at: OffsetDateTime,
}

/// A certificate just issued for an order, with the produced key's record (so the order can be
/// shipped or handed over) and the audit line, to be written in one transaction.
#[derive(Debug, Clone)]
pub struct IssuedForOrder<'a> {
    pub certificate: &'a CertificateRecord,
    pub key_type: KeyType,
    /// The PINs the station initialised the key with, sealed.
    pub pins: &'a KeyPins,
    pub audit: &'a AuditEntry,
}

/// Certificates issued through the desk.
#[async_trait]
pub trait CertificateRepo: Send + Sync {
    /// Records the certificate, the produced key on the order, a history row and the audit line,
    /// while the order is 待处理 and has no certificate in force; `false` otherwise (nothing is
    /// written).
    async fn record_issued(&self, issued: &IssuedForOrder<'_>) -> Result<bool, StoreError>;
    /// Marks the certificate revoked (with the audit line, and its revocation request settled);
    /// `false` when it is unknown or already revoked.
    async fn record_revoked(
        &self,
        serial: &str,
        revocation: &Revocation,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError>;
    async fn certificate(&self, serial: &str) -> Result<Option<CertificateRecord>, StoreError>;
    /// The order's certificate not revoked, if any.
    async fn certificate_in_force(&self, order: OrderId) -> Result<Option<CertificateRecord>, StoreError>;
    /// Every certificate issued for the order, newest first.
    async fn certificates_of_order(&self, order: OrderId) -> Result<Vec<CertificateRecord>, StoreError>;
    /// The user's certificates, newest first.
    async fn certificates_of_user(&self, user: UserId) -> Result<Vec<CertificateRecord>, StoreError>;
    /// Certificates whose serial starts with, or whose credit code is, `query`, or whose subject
    /// contains it; newest first, at most `limit`.
    async fn search_certificates(&self, query: &str, limit: i64) -> Result<Vec<CertificateRecord>, StoreError>;
    /// Certificates in force ending after `from` and by `until`, soonest first, at most `limit`.
    async fn certificates_expiring(
        &self,
        from: OffsetDateTime,
        until: OffsetDateTime,
        limit: i64,
    ) -> Result<Vec<CertificateRecord>, StoreError>;
    /// Records the request (with the audit line); `false` when one is already waiting.
    async fn request_revocation(&self, request: &RevocationRequest, audit: &AuditEntry) -> Result<bool, StoreError>;
    async fn revocation_request(&self, serial: &str) -> Result<Option<RevocationRequest>, StoreError>;
    /// Every request waiting for approval, oldest first.
    async fn revocation_requests(&self) -> Result<Vec<RevocationRequest>, StoreError>;
}

/// The electronic seal made for a certificate: the signed GB/T 38540 file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealRecord {
    /// The holder certificate's serial.
    pub serial: String,
    pub es_id: String,
    pub der: Vec<u8>,
    pub created_at: OffsetDateTime,
}

/// Electronic seals, one per certificate.
#[async_trait]
pub trait SealRepo: Send + Sync {
    /// Keeps the seal unless the certificate already has one; returns the one kept (a seal made
    /// at the same moment by another request wins or loses as a whole).
    async fn record_seal(&self, seal: &SealRecord) -> Result<SealRecord, StoreError>;
    async fn seal_of_certificate(&self, serial: &str) -> Result<Option<SealRecord>, StoreError>;
    /// Records where the order's seal picture comes from (a later choice replaces it).
    async fn choose_seal_source(
        &self,
        order: OrderId,
        source: domain::seal::SealSource,
        staff: StaffId,
        at: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// The reviewer's choice, if one was made.
    async fn seal_source(&self, order: OrderId) -> Result<Option<domain::seal::SealSource>, StoreError>;
}

/// An API token a fulfilment workstation authenticates with (only its digest is kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StationTokenRecord {
    pub id: StationTokenId,
    pub staff_id: StaffId,
    pub name: String,
    pub created_at: OffsetDateTime,
    pub last_used_at: Option<OffsetDateTime>,
    pub revoked_at: Option<OffsetDateTime>,
}

/// The PINs a produced USB-Key was initialised with, sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPins {
    pub order_id: OrderId,
    pub token_serial: String,
    pub user_pin_sealed: String,
    pub so_pin_sealed: String,
    pub stored_at: OffsetDateTime,
}

/// Production stations: their API tokens and the PINs of the keys they made.
#[async_trait]
pub trait StationRepo: Send + Sync {
    async fn create_station_token(
        &self,
        staff: StaffId,
        name: &str,
        digest: &str,
        now: OffsetDateTime,
    ) -> Result<StationTokenId, StoreError>;
    /// The staff member a token not revoked belongs to (noting its use).
    async fn station_token_staff(&self, digest: &str, now: OffsetDateTime) -> Result<Option<StaffId>, StoreError>;
    async fn station_tokens(&self, staff: StaffId) -> Result<Vec<StationTokenRecord>, StoreError>;
    /// `false` when the token is not the staff member's or was already revoked.
    async fn revoke_station_token(
        &self,
        staff: StaffId,
        id: StationTokenId,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
}

/// The PINs a produced key was initialised with, sealed, per order.
#[async_trait]
pub trait KeyPinBook: Send + Sync {
    async fn key_pins(&self, order: OrderId) -> Result<Option<KeyPins>, StoreError>;
}
