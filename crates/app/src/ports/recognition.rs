//! Reading photos (OCR) and the durable reading jobs.

use crate::StoreError;
use async_trait::async_trait;
use domain::document::DocumentKind;
use domain::{ApplicationId, UserId};
use time::OffsetDateTime;

/// What OCR read from one document photo.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OcrReading {
    /// `license`, `id-front` or `id-back`.
    pub kind: String,
    pub fields: std::collections::BTreeMap<String, String>,
    pub warnings: Vec<String>,
    pub repairs: Vec<String>,
    /// Values read with low confidence or failing plausibility: shown to the applicant to check
    /// ("识别结果：…，请核对"), never prefilled. Absent in readings stored before they existed.
    #[serde(default)]
    pub suggestions: std::collections::BTreeMap<String, String>,
}

/// The OCR engine (blocking; the app runs it off the async threads, a bounded number at a time).
pub trait OcrReader: Send + Sync {
    /// Reads a photo expected to be `kind` (`license`, `id-front`, `id-back`).
    fn read(&self, image: &[u8], kind: &str) -> Result<OcrReading, String>;
}

/// OCR readings kept with the documents.
#[async_trait]
pub trait ReadingRepo: Send + Sync {
    /// Stores the sealed reading of an application's document; with `None` removes it and any
    /// job still to read it (the document is gone).
    async fn set_reading(
        &self,
        application: ApplicationId,
        kind: DocumentKind,
        sealed: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// The sealed readings of an application, by document kind.
    async fn readings(&self, application: ApplicationId) -> Result<Vec<(DocumentKind, String)>, StoreError>;
    /// Queues the reading of a newly uploaded photo (its old reading is removed at once, and a
    /// reading of the photo it replaced, still under way, will be dropped).
    async fn enqueue_reading(
        &self,
        user: UserId,
        application: ApplicationId,
        kind: DocumentKind,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// Leases up to `limit` due jobs (queued, or running past their lease) until `now + lease`.
    /// A job leased `max_attempts` times whose lease ran out is failed (`ocr_timeout`) instead.
    async fn claim_readings(
        &self,
        now: OffsetDateTime,
        lease: time::Duration,
        max_attempts: i64,
        limit: i64,
    ) -> Result<Vec<ReadingJob>, StoreError>;
    /// Ends a leased job: `Ok(sealed reading)` stores the reading, `Err(code)` records why the
    /// photo could not be read. `false` (nothing stored) when the photo was replaced meanwhile.
    async fn finish_reading(
        &self,
        job: &ReadingJob,
        outcome: Result<&str, &str>,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// Where the reading of each document of an application stands.
    async fn reading_states(&self, application: ApplicationId) -> Result<Vec<ReadingState>, StoreError>;
    /// Records, per field, whether the saved value kept what OCR read (`accepted`) or changed it
    /// (`corrected`); returns the fields whose outcome is new or changed.
    async fn set_field_sources(
        &self,
        application: ApplicationId,
        outcomes: &[(&'static str, &'static str)],
        now: OffsetDateTime,
    ) -> Result<Vec<&'static str>, StoreError>;
    /// (field, outcome) of an application's fields read from photos.
    async fn field_sources(&self, application: ApplicationId) -> Result<Vec<(String, String)>, StoreError>;
}

/// A photo to read in the background, as leased to a worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadingJob {
    pub user: UserId,
    pub application: ApplicationId,
    pub kind: DocumentKind,
    /// Which upload of the document this is.
    pub version: i64,
    pub attempts: i64,
}

/// Where the reading of one document stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadingState {
    pub kind: DocumentKind,
    /// `queued`, `running`, `done` or `failed`.
    pub status: String,
    /// Why it failed: `ocr_failed`, `ocr_timeout`.
    pub error: Option<String>,
}
