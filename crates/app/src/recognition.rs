//! Reading uploaded licenses and ID cards (OCR) for the applicant's form and the reviewer. The
//! engine is CPU-heavy and blocking: it runs on blocking threads, at most `workers` at a time,
//! with at most `queue` more waiting; beyond that the answer is "busy, retry" (503), and each
//! image has a time limit. Readings are sealed (they hold ID numbers) and shown masked.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use domain::ApplicationId;
use domain::document::DocumentKind;
use domain::mask::mask_middle;
use tokio::sync::Semaphore;

use crate::ports::{OcrReader, OcrReading};
use crate::sessions::CurrentUser;
use crate::{App, Error, StoreError};

const READING: &str = "document.ocr";

/// The engine with its limits.
#[derive(Clone)]
pub struct OcrPool {
    reader: Arc<dyn OcrReader>,
    /// Running plus waiting.
    admitted: Arc<Semaphore>,
    running: Arc<Semaphore>,
    time_limit: Duration,
}

impl OcrPool {
    pub fn new(reader: Arc<dyn OcrReader>, workers: usize, queue: usize, time_limit: Duration) -> Self {
        Self {
            reader,
            admitted: Arc::new(Semaphore::new(workers.max(1) + queue)),
            running: Arc::new(Semaphore::new(workers.max(1))),
            time_limit,
        }
    }
}

fn busy() -> Error {
    Error::Unavailable {
        code: "ocr_busy", message: "识别服务繁忙，请稍后重试（也可以直接手动填写）".into()
    }
}

/// What OCR expects a document to be, if it reads it at all.
pub fn ocr_kind(kind: DocumentKind) -> Option<&'static str> {
    match kind {
        DocumentKind::License => Some("license"),
        DocumentKind::HolderIdFront | DocumentKind::AgentIdFront => Some("id-front"),
        DocumentKind::HolderIdBack | DocumentKind::AgentIdBack => Some("id-back"),
        _ => None,
    }
}

/// The reading as shown on screen: the ID number masked.
pub fn masked(mut reading: OcrReading) -> OcrReading {
    for id in [reading.fields.get_mut("id_number"), reading.suggestions.get_mut("id_number")].into_iter().flatten() {
        *id = mask_middle(id, 3, 4);
    }
    reading
}

impl App {
    /// The same app, reading documents with `pool`.
    #[must_use]
    pub fn with_ocr(mut self, pool: OcrPool) -> Self {
        self.ocr = Some(pool);
        self
    }

    /// Reads one of the user's uploaded documents, keeps the reading (sealed) and returns it with
    /// the ID number masked.
    pub async fn read_document(
        &self,
        user: &CurrentUser,
        application: ApplicationId,
        kind: &str,
    ) -> Result<OcrReading, Error> {
        let document_kind = DocumentKind::parse(kind).ok_or(Error::NotFound)?;
        let expected = ocr_kind(document_kind).ok_or(Error::NotFound)?;
        // Ownership first: someone else's document is "not found", whatever else holds.
        let (_, bytes) = self.download_document(user, application, kind).await?;
        let pool = self.ocr.clone().ok_or_else(|| Error::Unavailable {
            code: "ocr_unavailable",
            message: "证件识别暂不可用，请手动填写".into(),
        })?;
        let admitted = pool.admitted.clone().try_acquire_owned().map_err(|_| busy())?;
        let running = pool.running.clone().acquire_owned().await.map_err(|_| busy())?;
        let reader = pool.reader.clone();
        // The permits go with the reading: when the time limit answers the applicant first, the
        // inference still holds its worker until it really ends, so `workers` bounds the CPU.
        let job = tokio::task::spawn_blocking(move || {
            let reading = reader.read(&bytes, expected);
            drop((running, admitted));
            reading
        });
        let reading = match tokio::time::timeout(pool.time_limit, job).await {
            Ok(Ok(Ok(reading))) => reading,
            Ok(Ok(Err(reason))) => {
                tracing::info!(kind, %reason, "document could not be read");
                return Err(Error::Unavailable {
                    code: "ocr_failed",
                    message: "未能识别该照片，请手动填写或重新拍摄".into(),
                });
            }
            Ok(Err(_)) | Err(_) => {
                return Err(Error::Unavailable {
                    code: "ocr_timeout",
                    message: "识别超时，请手动填写或稍后重试".into(),
                });
            }
        };
        let json = serde_json::to_string(&reading).map_err(|e| StoreError::Other(e.to_string()))?;
        let sealed = self.keys.seal(READING, &json)?;
        self.store.set_reading(application, kind, Some(&sealed), self.clock.now()).await?;
        Ok(masked(reading))
    }

    /// The readings of an application's documents, unmasked (for prefilling the owner's form
    /// and for the reviewer; never rendered whole).
    pub(crate) async fn readings_of(&self, application: ApplicationId) -> Result<BTreeMap<String, OcrReading>, Error> {
        let mut out = BTreeMap::new();
        for (kind, sealed) in self.store.readings(application).await? {
            let json = self.keys.open(READING, &sealed)?;
            if let Ok(reading) = serde_json::from_str::<OcrReading>(&json) {
                out.insert(kind, reading);
            }
        }
        Ok(out)
    }

    /// The owner's readings unmasked, for prefilling the owner's own editing form only (the one
    /// place a full ID number is shown back); every other surface uses
    /// [`App::document_readings`].
    pub async fn own_readings_for_form(
        &self,
        user: &CurrentUser,
        application: ApplicationId,
    ) -> Result<BTreeMap<String, OcrReading>, Error> {
        self.application(user, application).await?;
        self.readings_of(application).await
    }

    /// The owner's readings, ID numbers masked.
    pub async fn document_readings(
        &self,
        user: &CurrentUser,
        application: ApplicationId,
    ) -> Result<BTreeMap<String, OcrReading>, Error> {
        Ok(self.own_readings_for_form(user, application).await?.into_iter().map(|(k, r)| (k, masked(r))).collect())
    }
}
