//! Back-office accounts, their sessions and the audit log.

use crate::StoreError;
use async_trait::async_trait;
use domain::{OrderId, StaffId};
use time::OffsetDateTime;

/// A back-office account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffRecord {
    pub id: StaffId,
    pub username: String,
    pub name: String,
    /// Their own mobile number, if they also apply as a user (they may not review their orders).
    pub phone: Option<String>,
    pub password_hash: String,
    pub roles: domain::staff::Roles,
    /// The TOTP secret, sealed; `None` until enrollment starts.
    pub totp_secret: Option<String>,
    pub totp_enabled: bool,
    pub disabled: bool,
    /// Still on the printed initial password.
    pub must_change_password: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewStaff {
    pub username: String,
    pub name: String,
    pub phone: Option<String>,
    pub password_hash: String,
    pub roles: domain::staff::Roles,
}

/// A staff session: `password` until the second factor is given, then `full`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffSessionRecord {
    pub token_digest: String,
    pub staff_id: StaffId,
    pub stage: String,
    pub created_at: OffsetDateTime,
    pub last_seen_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub at: OffsetDateTime,
    pub staff_id: Option<StaffId>,
    /// `order.approve`, `order.reject`, `document.view`, `id_number.reveal`, `staff.login`, …
    pub action: String,
    pub order_id: Option<OrderId>,
    pub detail: String,
}

/// Staff accounts, sessions and the audit log.
#[async_trait]
pub trait StaffRepo: Send + Sync {
    /// Fails with `Duplicate("staff.username")`.
    async fn create_staff(&self, staff: &NewStaff, now: OffsetDateTime) -> Result<StaffId, StoreError>;
    async fn staff_by_username(&self, username: &str) -> Result<Option<StaffRecord>, StoreError>;
    async fn staff_by_id(&self, id: StaffId) -> Result<Option<StaffRecord>, StoreError>;
    async fn list_staff(&self) -> Result<Vec<StaffRecord>, StoreError>;
    /// Sets roles and whether the account may log in; disabling ends its sessions. `false` for
    /// an unknown account.
    async fn update_staff(
        &self,
        id: StaffId,
        roles: domain::staff::Roles,
        disabled: bool,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// Sets the password the holder chose (clearing the must-change mark); other sessions end.
    async fn set_staff_password(
        &self,
        id: StaffId,
        password_hash: &str,
        keep_session: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
    async fn set_staff_totp(
        &self,
        id: StaffId,
        sealed_secret: Option<&str>,
        enabled: bool,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// Records that a TOTP time step was used; `false` if it (or a later one) was used before,
    /// so no code is accepted twice.
    async fn use_totp_step(&self, id: StaffId, step: i64) -> Result<bool, StoreError>;
    async fn create_staff_session(&self, session: &StaffSessionRecord) -> Result<(), StoreError>;
    async fn staff_session(&self, digest: &str) -> Result<Option<StaffSessionRecord>, StoreError>;
    async fn touch_staff_session(&self, digest: &str, now: OffsetDateTime) -> Result<(), StoreError>;
    async fn delete_staff_session(&self, digest: &str) -> Result<(), StoreError>;
}

/// The audit log: who did what to which order, appended and never changed.
#[async_trait]
pub trait AuditLog: Send + Sync {
    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError>;
    /// Newest first, optionally for one order.
    async fn audit_log(&self, order: Option<OrderId>, limit: i64) -> Result<Vec<AuditEntry>, StoreError>;
}
