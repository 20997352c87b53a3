//! Reading uploaded licenses and ID cards (OCR) for the applicant's form and the reviewer. The
//! engine is CPU-heavy and blocking: it runs on blocking threads, at most `workers` at a time,
//! and each image has a time limit. An upload queues its reading in the database and answers at
//! once; [`App::run_reading_jobs`] (on any instance) leases due jobs and reads them, and the
//! form fills itself in when they are done. A reading asked for directly (the API's `/ocr`)
//! waits for a worker, with at most `queue` waiting; beyond that the answer is "busy, retry"
//! (503). Readings are sealed (they hold ID numbers) and shown masked.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use domain::ApplicationId;
use domain::application::Step;
use domain::document::DocumentKind;
use domain::mask::mask_middle;
use tokio::sync::{Notify, Semaphore};

use crate::ports::{OcrReader, OcrReading, ReadingJob, ReadingState};
use crate::sessions::CurrentUser;
use crate::{App, Error, StoreError};

const READING: &str = "document.ocr";

/// Which form field a photo's reading fills: (step, form field, document kind, reading field).
pub const FIELD_SOURCES: &[(Step, &str, &str, &str)] = &[
    (Step::Subject, "company_name", "license", "company_name"),
    (Step::Subject, "credit_code", "license", "credit_code"),
    (Step::Subject, "holder_name", "license", "legal_representative"),
    (Step::Subject, "holder_name", "holder_id_front", "name"),
    (Step::Subject, "holder_id_number", "holder_id_front", "id_number"),
    (Step::Agent, "name", "agent_id_front", "name"),
    (Step::Agent, "id_number", "agent_id_front", "id_number"),
];

/// The engine with its limits.
#[derive(Clone)]
pub struct OcrPool {
    reader: Arc<dyn OcrReader>,
    /// Running plus waiting.
    admitted: Arc<Semaphore>,
    running: Arc<Semaphore>,
    workers: usize,
    time_limit: Duration,
    /// Rung when an upload queued a reading, so the worker starts at once.
    wake: Arc<Notify>,
}

impl OcrPool {
    pub fn new(reader: Arc<dyn OcrReader>, workers: usize, queue: usize, time_limit: Duration) -> Self {
        Self {
            reader,
            admitted: Arc::new(Semaphore::new(workers.max(1) + queue)),
            running: Arc::new(Semaphore::new(workers.max(1))),
            workers: workers.max(1),
            time_limit,
            wake: Arc::new(Notify::new()),
        }
    }

    /// Reads `bytes` as `expected` on a blocking thread once a worker is free, within the time
    /// limit. The worker's permit goes with the inference: when the time limit answers first, the
    /// inference still holds its worker until it really ends, so `workers` bounds the CPU.
    async fn infer(
        &self,
        bytes: Vec<u8>,
        expected: &'static str,
        admitted: Option<tokio::sync::OwnedSemaphorePermit>,
    ) -> Result<OcrReading, Error> {
        let running = self.running.clone().acquire_owned().await.map_err(|_| busy())?;
        let reader = self.reader.clone();
        let job = tokio::task::spawn_blocking(move || {
            let reading = reader.read(&bytes, expected);
            drop((running, admitted));
            reading
        });
        match tokio::time::timeout(self.time_limit, job).await {
            Ok(Ok(Ok(reading))) => Ok(reading),
            Ok(Ok(Err(reason))) => {
                tracing::info!(expected, %reason, "document could not be read");
                Err(Error::Unavailable { code: "ocr_failed", message: FAILED.into() })
            }
            Ok(Err(_)) | Err(_) => Err(Error::Unavailable { code: "ocr_timeout", message: TIMED_OUT.into() }),
        }
    }
}

const FAILED: &str = "未能识别该照片，请手动填写或重新拍摄";
const TIMED_OUT: &str = "识别超时，请手动填写或稍后重试";
/// How long a worker holds a job before another may take it (well beyond the time limit).
const LEASE: time::Duration = time::Duration::minutes(2);
/// How often a job is tried before it is given up.
const MAX_ATTEMPTS: i64 = 3;

/// Where the reading of one photo stands, as the applicant's form shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadingProgress {
    pub kind: String,
    /// Still queued or being read.
    pub pending: bool,
    /// Why it could not be read, in Chinese (the applicant types instead).
    pub failure: Option<&'static str>,
}

impl From<ReadingState> for ReadingProgress {
    fn from(state: ReadingState) -> Self {
        let failure = match (state.status.as_str(), state.error.as_deref()) {
            ("failed", Some("ocr_timeout")) => Some(TIMED_OUT),
            ("failed", _) => Some(FAILED),
            _ => None,
        };
        Self {
            pending: matches!(state.status.as_str(), "queued" | "running"),
            failure,
            kind: state.kind.as_str().to_owned(),
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
        let reading = pool.infer(bytes, expected, Some(admitted)).await?;
        let json = serde_json::to_string(&reading).map_err(|e| StoreError::Other(e.to_string()))?;
        let sealed = self.keys.seal(READING, &json)?;
        self.store.set_reading(application, document_kind, Some(&sealed), self.clock.now()).await?;
        Ok(masked(reading))
    }

    /// Queues the reading of a photo just uploaded (when OCR is on) and wakes the worker.
    pub(crate) async fn queue_reading(
        &self,
        user: &CurrentUser,
        application: ApplicationId,
        kind: DocumentKind,
    ) -> Result<(), Error> {
        match &self.ocr {
            Some(pool) => {
                self.store.enqueue_reading(user.id, application, kind, self.clock.now()).await?;
                pool.wake.notify_one();
            }
            None => self.store.set_reading(application, kind, None, self.clock.now()).await?,
        }
        Ok(())
    }

    /// Waits until an upload here queues a reading or `every` passes (another instance's
    /// uploads are seen then).
    pub async fn readings_wanted(&self, every: Duration) {
        match &self.ocr {
            Some(pool) => drop(tokio::time::timeout(every, pool.wake.notified()).await),
            None => tokio::time::sleep(every).await,
        }
    }

    /// Reads the photos waiting in the queue, as many at once as there are workers; returns how
    /// many jobs were taken (0: nothing due). Every instance runs this; each job is leased to one.
    pub async fn run_reading_jobs(&self) -> Result<usize, Error> {
        let Some(pool) = self.ocr.clone() else { return Ok(0) };
        let limit = i64::try_from(pool.workers).unwrap_or(1);
        let jobs = self.store.claim_readings(self.clock.now(), LEASE, MAX_ATTEMPTS, limit).await?;
        let taken = jobs.len();
        let mut running = tokio::task::JoinSet::new();
        for job in jobs {
            let (app, pool) = (self.clone(), pool.clone());
            running.spawn(async move {
                if let Err(err) = app.run_reading_job(&pool, &job).await {
                    // The lease runs out and the job is tried again (up to MAX_ATTEMPTS).
                    tracing::warn!(kind = job.kind.as_str(), attempt = job.attempts, error = %err, "reading job failed");
                }
            });
        }
        while running.join_next().await.is_some() {}
        Ok(taken)
    }

    async fn run_reading_job(&self, pool: &OcrPool, job: &ReadingJob) -> Result<(), Error> {
        let kind = job.kind;
        let expected = ocr_kind(kind).ok_or(Error::NotFound)?;
        let Some(document) = self.store.document(job.user, job.application, kind).await? else {
            // Deleted meanwhile: nothing to read.
            self.store.finish_reading(job, Err("document_gone"), self.clock.now()).await?;
            return Ok(());
        };
        let bytes = self.read_sealed(&document.file_key, &document.wrapped_key).await?;
        let sealed = match pool.infer(bytes, expected, None).await {
            Ok(reading) => {
                let json = serde_json::to_string(&reading).map_err(|e| StoreError::Other(e.to_string()))?;
                Ok(self.keys.seal(READING, &json)?)
            }
            Err(Error::Unavailable { code, .. }) if code == "ocr_failed" || code == "ocr_timeout" => Err(code),
            Err(err) => return Err(err),
        };
        let outcome = sealed.as_deref().map_err(|code| *code);
        metrics::counter!("sealdesk_ocr_jobs_total", "outcome" => if outcome.is_ok() { "read" } else { "unread" })
            .increment(1);
        if self.store.finish_reading(job, outcome, self.clock.now()).await? && outcome.is_ok() {
            // A photo uploaded after its step was saved: compare with what was typed.
            self.record_saved_sources(job).await?;
        }
        Ok(())
    }

    /// [`App::record_field_sources`] for the values already saved on the step the job's photo
    /// belongs to.
    async fn record_saved_sources(&self, job: &ReadingJob) -> Result<(), Error> {
        use crate::applications::{AGENT_ID, HOLDER_ID};
        let Some(record) = self.store.application(job.user, job.application).await? else { return Ok(()) };
        let open = |purpose: &str, sealed: &Option<String>| -> Result<Option<String>, Error> {
            Ok(sealed.as_deref().map(|s| self.keys.open(purpose, s)).transpose()?)
        };
        let Some(step) =
            FIELD_SOURCES.iter().find(|(_, _, kind, _)| *kind == job.kind.as_str()).map(|(step, ..)| *step)
        else {
            return Ok(());
        };
        let values: Vec<(&'static str, Option<String>)> = match step {
            Step::Subject => vec![
                ("company_name", record.company_name.clone()),
                ("credit_code", record.credit_code.clone()),
                ("holder_name", record.holder_name.clone()),
                ("holder_id_number", open(HOLDER_ID, &record.holder_id_sealed)?),
            ],
            Step::Agent => {
                vec![("name", record.agent_name.clone()), ("id_number", open(AGENT_ID, &record.agent_id_sealed)?)]
            }
            _ => return Ok(()),
        };
        let saved: Vec<(&'static str, &str)> =
            values.iter().filter_map(|(field, value)| value.as_deref().map(|v| (*field, v))).collect();
        self.record_field_sources(job.application, step, &saved).await
    }

    /// After a step is saved: per field a photo was read for, whether the applicant kept the
    /// reading or changed it — kept for the reviewer, and counted for /metrics
    /// (`sealdesk_ocr_field_outcomes_total{field, outcome}`: corrected ÷ all is the production
    /// error rate of each field). A field is counted again only when its outcome changes.
    pub(crate) async fn record_field_sources(
        &self,
        application: ApplicationId,
        step: Step,
        saved: &[(&'static str, &str)],
    ) -> Result<(), Error> {
        let readings = self.readings_of(application).await?;
        let normal = |v: &str| v.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_uppercase();
        let mut outcomes = Vec::new();
        for (field, value) in saved {
            let read: Vec<String> = FIELD_SOURCES
                .iter()
                .filter(|(s, f, ..)| *s == step && f == field)
                .filter_map(|(_, _, kind, name)| readings.get(*kind).and_then(|r| r.fields.get(*name)))
                .filter(|v| !v.trim().is_empty())
                .map(|v| normal(v))
                .collect();
            if read.is_empty() {
                continue;
            }
            outcomes.push((*field, if read.contains(&normal(value)) { "accepted" } else { "corrected" }));
        }
        for field in self.store.set_field_sources(application, &outcomes, self.clock.now()).await? {
            let outcome = outcomes.iter().find(|(f, _)| *f == field).map_or("accepted", |(_, o)| *o);
            metrics::counter!("sealdesk_ocr_field_outcomes_total", "field" => field, "outcome" => outcome).increment(1);
        }
        Ok(())
    }

    /// Where the reading of each photo of the owner's application stands.
    pub async fn reading_progress(
        &self,
        user: &CurrentUser,
        application: ApplicationId,
    ) -> Result<Vec<ReadingProgress>, Error> {
        self.application(user, application).await?;
        Ok(self.store.reading_states(application).await?.into_iter().map(ReadingProgress::from).collect())
    }

    /// The readings of an application's documents, unmasked (for prefilling the owner's form
    /// and for the reviewer; never rendered whole).
    pub(crate) async fn readings_of(&self, application: ApplicationId) -> Result<BTreeMap<String, OcrReading>, Error> {
        let mut out = BTreeMap::new();
        for (kind, sealed) in self.store.readings(application).await? {
            let json = self.keys.open(READING, &sealed)?;
            if let Ok(reading) = serde_json::from_str::<OcrReading>(&json) {
                out.insert(kind.as_str().to_owned(), reading);
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
