//! Documents of an application (license, ID cards, signed forms) and the separate consent that
//! identity documents need first. Files are sanitised (see `media`), encrypted per object and
//! stored under names we generate; they are read back only by their owner, as attachments.

use domain::document::{CONSENT_PURPOSES, CONSENT_TEXT, CONSENT_VERSION, DocumentKind};
use domain::{ApplicationId, FieldErrors};
use sha2::{Digest, Sha256};

use crate::media::{UploadError, decode_cost, sanitize};
use crate::ports::DocumentRecord;
use crate::sessions::CurrentUser;
use crate::{App, Error, StoreError};

impl App {
    /// Whether the user has given the current separate consent.
    pub async fn has_consent(&self, user: &CurrentUser) -> Result<bool, Error> {
        Ok(self.store.has_consent(user.id, CONSENT_VERSION).await?)
    }

    /// Records the separate consent to the text of `version`, which must be the current one.
    pub async fn give_consent(
        &self,
        user: &CurrentUser,
        version: &str,
        agreed: bool,
        client: &str,
    ) -> Result<(), Error> {
        if !agreed {
            return Err(Error::field("agree", "consent_not_given", "请阅读并勾选同意后再继续"));
        }
        if version != CONSENT_VERSION {
            return Err(Error::Conflict {
                code: "consent_outdated",
                message: "同意书已更新，请刷新页面阅读最新内容后再同意".into(),
            });
        }
        let text_sha256 = hex::encode(Sha256::digest(CONSENT_TEXT.as_bytes()));
        self.store
            .record_consent(user.id, CONSENT_VERSION, &text_sha256, CONSENT_PURPOSES, client, self.clock.now())
            .await?;
        tracing::info!(user = %user.id, version = CONSENT_VERSION, "sensitive-pi consent recorded");
        Ok(())
    }

    /// Stores (or replaces) one document of an application.
    pub async fn upload_document(
        &self,
        user: &CurrentUser,
        application: ApplicationId,
        kind: &str,
        bytes: Vec<u8>,
    ) -> Result<DocumentRecord, Error> {
        let draft = self.application(user, application).await?;
        self.ensure_editable(application).await?;
        let kind = document_kind(kind)?;
        if !kind.applies_to(draft.record.subject_kind) {
            return Err(Error::field("kind", "document_not_applicable", "此类申请不需要该材料"));
        }
        if kind.is_identity() && !self.has_consent(user).await? {
            return Err(Error::Conflict {
                code: "consent_required",
                message: "上传身份证件前，请先单独同意《敏感个人信息处理授权》".into(),
            });
        }
        let accepts_pdf = kind.accepts_pdf();
        // The decode's memory is reserved before it starts and held until it really ends (also
        // when the applicant has gone away meanwhile).
        let cost = decode_cost(&bytes, self.decodes.total()).map_err(upload_error)?;
        let reserved = self
            .decodes
            .reserve(cost)
            .await
            .map_err(|_| Error::Unavailable { code: "busy", message: "系统繁忙，请稍后再试".into() })?;
        let clean = tokio::task::spawn_blocking(move || {
            let clean = sanitize(&bytes, accepts_pdf);
            drop(reserved);
            clean
        })
        .await
        .map_err(|e| StoreError::Other(format!("sanitising task failed: {e}")))?
        .map_err(upload_error)?;
        let (file_key, wrapped_key) = self.store_sealed(&clean.bytes).await?;
        let record = DocumentRecord {
            application_id: application,
            kind,
            file_key: file_key.clone(),
            wrapped_key,
            content_type: clean.content_type.into(),
            size: i64::try_from(clean.bytes.len()).unwrap_or(i64::MAX),
            sha256: hex::encode(Sha256::digest(&clean.bytes)),
            uploaded_at: self.clock.now(),
        };
        let replaced = match self.store.put_document(user.id, &record).await {
            Ok(replaced) => replaced,
            Err(err) => {
                self.discard_blob(&file_key).await;
                return Err(err.into());
            }
        };
        if let Some(old) = replaced {
            self.discard_blob(&old).await;
        }
        tracing::info!(application = %application, kind = kind.as_str(), "document stored");
        // A new photo: the old reading no longer applies; the new one is read in the background
        // when OCR is on (the form fills itself in; a photo that cannot be read says so).
        if crate::recognition::ocr_kind(kind).is_some() {
            self.queue_reading(user, application, kind).await?;
        }
        Ok(record)
    }

    pub async fn documents(
        &self,
        user: &CurrentUser,
        application: ApplicationId,
    ) -> Result<Vec<DocumentRecord>, Error> {
        self.application(user, application).await?;
        Ok(self.store.documents(user.id, application).await?)
    }

    /// The document and its decrypted bytes.
    pub async fn download_document(
        &self,
        user: &CurrentUser,
        application: ApplicationId,
        kind: &str,
    ) -> Result<(DocumentRecord, Vec<u8>), Error> {
        let kind = document_kind(kind).map_err(|_| Error::NotFound)?;
        let record = self.store.document(user.id, application, kind).await?.ok_or(Error::NotFound)?;
        let plain = self.read_sealed(&record.file_key, &record.wrapped_key).await?;
        Ok((record, plain))
    }

    pub async fn delete_document(
        &self,
        user: &CurrentUser,
        application: ApplicationId,
        kind: &str,
    ) -> Result<(), Error> {
        self.application(user, application).await?;
        self.ensure_editable(application).await?;
        let kind = document_kind(kind).map_err(|_| Error::NotFound)?;
        let key = self.store.delete_document(user.id, application, kind).await?.ok_or(Error::NotFound)?;
        self.store.set_reading(application, kind, None, self.clock.now()).await?;
        self.discard_blob(&key).await;
        Ok(())
    }

    /// Deletes drafts that were never ordered and not touched for `Policy::draft_retention`, with
    /// their documents (rows and encrypted blobs); returns how many went (SECURITY E5).
    pub async fn purge_abandoned_drafts(&self) -> Result<usize, Error> {
        let before = self.clock.now() - self.policy.draft_retention;
        let drafts = self.store.abandoned_drafts(before).await?;
        for (user, id, keys) in &drafts {
            // Rows first (documents cascade), then the blobs: a crash in between leaves only
            // unreferenced ciphertext, never a row pointing at nothing.
            self.store.delete_application(*user, *id).await?;
            for key in keys {
                self.discard_blob(key).await;
            }
        }
        if !drafts.is_empty() {
            tracing::info!(purged = drafts.len(), "abandoned drafts purged");
        }
        Ok(drafts.len())
    }

    /// Removes what a crash left in the file store: blobs no row refers to and temporary files
    /// of writes that never finished, each once it is older than an hour (an upload's blob is
    /// written a moment before its row). Counted in /metrics.
    pub async fn sweep_files(&self) -> Result<FileSweep, Error> {
        let cutoff = self.clock.now() - time::Duration::hours(1);
        // Listed before the references are read: a blob whose row commits in between is seen
        // as referenced.
        let files = self.files.list().await?;
        let referenced = self.store.referenced_file_keys().await?;
        let mut sweep = FileSweep::default();
        for file in files.iter().filter(|f| f.modified < cutoff) {
            if file.temporary {
                self.files.delete_temporary(&file.name).await?;
                sweep.temporary += 1;
            } else if !referenced.contains(&file.name) {
                self.files.delete(&file.name).await?;
                sweep.orphans += 1;
            }
        }
        metrics::counter!("sealdesk_files_swept_total", "kind" => "orphan").increment(sweep.orphans as u64);
        metrics::counter!("sealdesk_files_swept_total", "kind" => "temporary").increment(sweep.temporary as u64);
        if sweep != FileSweep::default() {
            tracing::info!(orphans = sweep.orphans, temporary = sweep.temporary, "file store swept");
        }
        Ok(sweep)
    }

    async fn discard_blob(&self, key: &str) {
        if let Err(err) = self.files.delete(key).await {
            tracing::warn!(error = %err, "orphaned blob left for collection");
        }
    }
}

/// What [`App::sweep_files`] removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FileSweep {
    pub orphans: usize,
    pub temporary: usize,
}

fn document_kind(name: &str) -> Result<DocumentKind, Error> {
    DocumentKind::parse(name).ok_or_else(|| Error::field("kind", "document_kind_invalid", "材料类型不存在"))
}

fn upload_error(err: UploadError) -> Error {
    let mut errors = FieldErrors::new();
    errors.add("file", err.code(), err.to_string());
    errors.into()
}
