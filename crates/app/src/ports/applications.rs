//! Applications, their documents and the consent given.

use crate::StoreError;
use async_trait::async_trait;
use domain::application::{Business, ReplacementReason, SubjectKind, UserType};
use domain::{ApplicationId, PackageId, UserId};
use time::OffsetDateTime;

/// An application as stored; ID numbers only sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationRecord {
    pub id: ApplicationId,
    pub subject_kind: SubjectKind,
    pub business: Business,
    pub replacement_reason: Option<ReplacementReason>,
    pub replaced_serial: Option<String>,
    pub package_id: Option<PackageId>,
    pub company_name: Option<String>,
    pub credit_code: Option<String>,
    pub credit_code_checksum_ok: Option<bool>,
    pub user_type: Option<UserType>,
    pub holder_name: Option<String>,
    pub holder_id_sealed: Option<String>,
    pub agent_name: Option<String>,
    pub agent_id_sealed: Option<String>,
    pub agent_phone: Option<String>,
    pub agent_email: Option<String>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// The first step: what the application is about.
#[derive(Debug, Clone)]
pub struct NewApplication {
    pub subject_kind: SubjectKind,
    pub business: Business,
    pub replacement_reason: Option<ReplacementReason>,
    pub replaced_serial: Option<String>,
}

/// The certificate holder: the company and its legal representative, or the person.
#[derive(Debug, Clone)]
pub struct SubjectFields {
    pub company_name: Option<String>,
    pub credit_code: Option<String>,
    pub credit_code_checksum_ok: Option<bool>,
    pub user_type: UserType,
    pub holder_name: String,
    pub holder_id_sealed: String,
    pub holder_id_index: String,
}

/// The agent (经办人) who handles the application.
#[derive(Debug, Clone)]
pub struct AgentFields {
    pub name: String,
    pub id_sealed: String,
    pub id_index: String,
    pub phone: String,
    pub email: String,
}

/// Applications, always scoped to their owner: another user's id behaves as unknown.
#[async_trait]
pub trait ApplicationRepo: Send + Sync {
    async fn create_application(
        &self,
        user: UserId,
        new: &NewApplication,
        now: OffsetDateTime,
    ) -> Result<ApplicationId, StoreError>;
    async fn set_application_package(
        &self,
        user: UserId,
        id: ApplicationId,
        package: PackageId,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    async fn set_application_subject(
        &self,
        user: UserId,
        id: ApplicationId,
        subject: &SubjectFields,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    async fn set_application_agent(
        &self,
        user: UserId,
        id: ApplicationId,
        agent: &AgentFields,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    async fn delete_application(&self, user: UserId, id: ApplicationId) -> Result<bool, StoreError>;
    /// Drafts never turned into an order and untouched since `before`: `(owner, id, file keys)`.
    async fn abandoned_drafts(
        &self,
        before: OffsetDateTime,
    ) -> Result<Vec<(UserId, ApplicationId, Vec<String>)>, StoreError>;
}

/// An applicant's applications, read.
#[async_trait]
pub trait ApplicationBook: Send + Sync {
    /// Newest first.
    async fn applications(&self, user: UserId) -> Result<Vec<ApplicationRecord>, StoreError>;
    async fn application(&self, user: UserId, id: ApplicationId) -> Result<Option<ApplicationRecord>, StoreError>;
}

/// A stored document of an application; the blob itself is encrypted in the file store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentRecord {
    pub application_id: ApplicationId,
    pub kind: domain::document::DocumentKind,
    /// Server-chosen name of the encrypted blob in the file store.
    pub file_key: String,
    /// The blob's data key, sealed under the master key.
    pub wrapped_key: String,
    pub content_type: String,
    pub size: i64,
    /// SHA-256 of the plaintext, hex (pins what a reviewer approved).
    pub sha256: String,
    pub uploaded_at: OffsetDateTime,
}

/// Documents of applications, scoped to the owner.
#[async_trait]
pub trait DocumentRepo: Send + Sync {
    /// Every file key a row refers to (documents, invoices, blank form templates).
    async fn referenced_file_keys(&self) -> Result<std::collections::HashSet<String>, StoreError>;
    /// Stores or replaces the document of this kind; returns the file key it replaced.
    async fn put_document(&self, user: UserId, doc: &DocumentRecord) -> Result<Option<String>, StoreError>;
    /// Returns the removed document's file key.
    async fn delete_document(
        &self,
        user: UserId,
        application: ApplicationId,
        kind: domain::document::DocumentKind,
    ) -> Result<Option<String>, StoreError>;
}

/// An application's current documents, read.
#[async_trait]
pub trait DocumentShelf: Send + Sync {
    async fn documents(&self, user: UserId, application: ApplicationId) -> Result<Vec<DocumentRecord>, StoreError>;
    async fn document(
        &self,
        user: UserId,
        application: ApplicationId,
        kind: domain::document::DocumentKind,
    ) -> Result<Option<DocumentRecord>, StoreError>;
}

/// Separate consents to processing sensitive personal information; rows are never changed.
#[async_trait]
pub trait ConsentRepo: Send + Sync {
    async fn record_consent(
        &self,
        user: UserId,
        version: &str,
        text_sha256: &str,
        purposes: &str,
        client: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
    async fn has_consent(&self, user: UserId, version: &str) -> Result<bool, StoreError>;
}
