//! Applicant accounts: users, sessions, SMS codes and login throttling.

use crate::StoreError;
use async_trait::async_trait;
use domain::{Email, Phone, SmsCodeId, SmsPurpose, UserId};
use time::OffsetDateTime;

/// An applicant account as stored.
#[derive(Debug, Clone)]
pub struct UserRecord {
    pub id: UserId,
    pub phone: Phone,
    pub password_hash: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub created_at: OffsetDateTime,
}

/// A logged-in session; the token itself is never stored, only its digest.
#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub token_digest: String,
    pub user_id: UserId,
    pub created_at: OffsetDateTime,
    pub last_seen_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// An issued SMS code; only its keyed MAC is stored.
#[derive(Debug, Clone)]
pub struct SmsCodeRecord {
    pub id: SmsCodeId,
    pub code_mac: String,
    pub expires_at: OffsetDateTime,
    pub wrong_guesses: i64,
}

/// A new SMS code to store.
#[derive(Debug, Clone)]
pub struct NewSmsCode<'a> {
    pub phone: &'a Phone,
    pub purpose: SmsPurpose,
    pub code_mac: String,
    pub client: &'a str,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

#[async_trait]
pub trait UserRepo: Send + Sync {
    /// 注销账户, in one transaction. With `restricted_until` (the account has orders): drafts
    /// never ordered (with their documents), addresses and sessions go (the consents behind the
    /// kept documents stay); the row stays
    /// with `closed_phone` in place of the number, no password, name or email, marked closed and
    /// restricted. Without: the account and everything of it go. Returns the file keys of the
    /// documents whose rows went, for the caller to delete.
    async fn close_user(
        &self,
        id: UserId,
        closed_phone: &str,
        restricted_until: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> Result<Vec<String>, StoreError>;
    /// Fails with `StoreError::Duplicate("users.phone")` when the number is taken.
    async fn create_user(&self, phone: &Phone, password_hash: &str, now: OffsetDateTime) -> Result<UserId, StoreError>;
    /// Uses SMS code `code_id` and creates the account in one transaction: both or neither
    /// (a crash in between never eats the code). `Ok(None)` when the code was used meanwhile;
    /// `Duplicate("users.phone")` (the code left unused) when the number is taken.
    async fn create_user_with_code(
        &self,
        phone: &Phone,
        password_hash: &str,
        code_id: SmsCodeId,
        now: OffsetDateTime,
    ) -> Result<Option<UserId>, StoreError>;
    async fn update_profile(
        &self,
        id: UserId,
        name: Option<&str>,
        email: Option<&Email>,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// Sets the hash and ends every session of the user except `keep` (a token digest), in one
    /// transaction.
    async fn set_password(
        &self,
        id: UserId,
        password_hash: &str,
        keep: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
}

/// Accounts looked up by number or id.
#[async_trait]
pub trait UserDirectory: Send + Sync {
    async fn user_by_phone(&self, phone: &Phone) -> Result<Option<UserRecord>, StoreError>;
    async fn user_by_id(&self, id: UserId) -> Result<Option<UserRecord>, StoreError>;
}

#[async_trait]
pub trait SessionRepo: Send + Sync {
    async fn create_session(&self, session: &SessionRecord) -> Result<(), StoreError>;
    /// The session and its user, in one read; `None` when either is gone (a closed account
    /// has no sessions that count).
    async fn session_with_user(&self, digest: &str) -> Result<Option<(SessionRecord, UserRecord)>, StoreError>;
    async fn touch_session(&self, digest: &str, now: OffsetDateTime) -> Result<(), StoreError>;
    async fn delete_session(&self, digest: &str) -> Result<(), StoreError>;
}

#[async_trait]
pub trait SmsCodeRepo: Send + Sync {
    /// Stores a code and retires every earlier unused code for the same phone and purpose.
    async fn insert_sms_code(&self, code: &NewSmsCode<'_>) -> Result<(), StoreError>;
    /// The newest unused, unexpired code for phone + purpose.
    async fn active_sms_code(
        &self,
        phone: &Phone,
        purpose: SmsPurpose,
        now: OffsetDateTime,
    ) -> Result<Option<SmsCodeRecord>, StoreError>;
    /// Counts a wrong guess; at `kill_at` wrong guesses the code is retired. Returns the new count.
    async fn record_wrong_guess(&self, id: SmsCodeId, kill_at: i64, now: OffsetDateTime) -> Result<i64, StoreError>;
    /// Marks the code used; `false` when it was already used (a concurrent request won).
    async fn consume_sms_code(&self, id: SmsCodeId, now: OffsetDateTime) -> Result<bool, StoreError>;
    async fn sms_sends_to_phone_since(
        &self,
        phone: &Phone,
        since: OffsetDateTime,
    ) -> Result<Vec<OffsetDateTime>, StoreError>;
    async fn sms_sends_from_client_since(&self, client: &str, since: OffsetDateTime) -> Result<i64, StoreError>;
}

#[async_trait]
pub trait ThrottleRepo: Send + Sync {
    async fn record_failure(&self, key: &str, now: OffsetDateTime) -> Result<(), StoreError>;
    /// Times of failures for `key` since `since`, oldest first.
    async fn failures_since(&self, key: &str, since: OffsetDateTime) -> Result<Vec<OffsetDateTime>, StoreError>;
    async fn clear_failures(&self, key: &str) -> Result<(), StoreError>;
}
