//! `ReadingRepo`: sealed OCR readings of uploaded documents, and the queue of photos waiting to
//! be read in the background (leased to one worker at a time, on any instance).

use app::StoreError;
use app::ports::{ReadingJob, ReadingRepo, ReadingState};
use async_trait::async_trait;
use domain::document::DocumentKind;
use domain::{ApplicationId, UserId};
use time::OffsetDateTime;

use crate::db::Backend;
use crate::sql;
use crate::{Db, db_err};

#[async_trait]
impl ReadingRepo for Db {
    async fn set_reading(
        &self,
        application: ApplicationId,
        kind: DocumentKind,
        sealed: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        if let Some(sealed) = sealed {
            sql::query(
                "INSERT INTO document_readings (application_id, kind, sealed, read_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (application_id, kind) DO UPDATE SET sealed = excluded.sealed, read_at = excluded.read_at",
            )
            .bind(application.0)
            .bind(kind)
            .bind(sealed.to_owned())
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
            return Ok(());
        }
        // The document is gone: its reading, and the job that would read it.
        for table in ["document_readings", "reading_jobs"] {
            sql::query(&format!("DELETE FROM {table} WHERE application_id = $1 AND kind = $2"))
                .bind(application.0)
                .bind(kind)
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
        }
        Ok(())
    }

    async fn enqueue_reading(
        &self,
        user: UserId,
        application: ApplicationId,
        kind: DocumentKind,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        sql::query("DELETE FROM document_readings WHERE application_id = $1 AND kind = $2")
            .bind(application.0)
            .bind(kind)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        sql::query(
            "INSERT INTO reading_jobs (application_id, kind, user_id, version, status, attempts, queued_at, updated_at)
             VALUES ($1, $2, $3, 1, 'queued', 0, $4, $4)
             ON CONFLICT (application_id, kind) DO UPDATE SET version = reading_jobs.version + 1, status = 'queued',
                 attempts = 0, locked_until = NULL, error = NULL, queued_at = excluded.queued_at,
                 updated_at = excluded.updated_at",
        )
        .bind(application.0)
        .bind(kind)
        .bind(user.0)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)
    }

    async fn claim_readings(
        &self,
        now: OffsetDateTime,
        lease: time::Duration,
        max_attempts: i64,
        limit: i64,
    ) -> Result<Vec<ReadingJob>, StoreError> {
        type Row = (i64, DocumentKind, i64, i64, i64);
        let mut tx = self.write_tx().await?;
        // A job whose every attempt ran out of time (the worker died or hung) is given up.
        sql::query(
            "UPDATE reading_jobs SET status = 'failed', error = 'ocr_timeout', locked_until = NULL, updated_at = $1
             WHERE status = 'running' AND locked_until <= $1 AND attempts >= $2",
        )
        .bind(now)
        .bind(max_attempts)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        let lock = if self.backend() == Backend::Postgres { " FOR UPDATE SKIP LOCKED" } else { "" };
        let rows: Vec<Row> = sql::query_as(&format!(
            "SELECT application_id, kind, user_id, version, attempts FROM reading_jobs
             WHERE status = 'queued' OR (status = 'running' AND locked_until <= $1)
             ORDER BY queued_at, application_id LIMIT $2{lock}"
        ))
        .bind(now)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await
        .map_err(db_err)?;
        for (application, kind, ..) in &rows {
            sql::query(
                "UPDATE reading_jobs SET status = 'running', attempts = attempts + 1, locked_until = $1, updated_at = $2
                 WHERE application_id = $3 AND kind = $4",
            )
            .bind(now + lease)
            .bind(now)
            .bind(*application)
            .bind(*kind)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(rows
            .into_iter()
            .map(|(application, kind, user, version, attempts)| ReadingJob {
                user: UserId(user),
                application: ApplicationId(application),
                kind,
                version,
                attempts: attempts + 1,
            })
            .collect())
    }

    async fn finish_reading(
        &self,
        job: &ReadingJob,
        outcome: Result<&str, &str>,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut tx = self.write_tx().await?;
        let (status, error) = match outcome {
            Ok(_) => ("done", None),
            Err(code) => ("failed", Some(code.to_owned())),
        };
        let ended = sql::query(
            "UPDATE reading_jobs SET status = $1, error = $2, locked_until = NULL, updated_at = $3
             WHERE application_id = $4 AND kind = $5 AND version = $6 AND status = 'running'",
        )
        .bind(status)
        .bind(error)
        .bind(now)
        .bind(job.application.0)
        .bind(job.kind)
        .bind(job.version)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if ended.rows_affected() != 1 {
            return Ok(false);
        }
        if let Ok(sealed) = outcome {
            sql::query(
                "INSERT INTO document_readings (application_id, kind, sealed, read_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (application_id, kind) DO UPDATE SET sealed = excluded.sealed, read_at = excluded.read_at",
            )
            .bind(job.application.0)
            .bind(job.kind)
            .bind(sealed.to_owned())
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

    async fn reading_states(&self, application: ApplicationId) -> Result<Vec<ReadingState>, StoreError> {
        let rows: Vec<(DocumentKind, String, Option<String>)> =
            sql::query_as("SELECT kind, status, error FROM reading_jobs WHERE application_id = $1 ORDER BY kind")
                .bind(application.0)
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?;
        Ok(rows.into_iter().map(|(kind, status, error)| ReadingState { kind, status, error }).collect())
    }

    async fn set_field_sources(
        &self,
        application: ApplicationId,
        outcomes: &[(&'static str, &'static str)],
        now: OffsetDateTime,
    ) -> Result<Vec<&'static str>, StoreError> {
        let mut tx = self.write_tx().await?;
        let mut changed = Vec::new();
        for (field, outcome) in outcomes {
            let done = sql::query(
                "INSERT INTO field_sources (application_id, field, outcome, at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (application_id, field) DO UPDATE SET outcome = excluded.outcome, at = excluded.at
                 WHERE field_sources.outcome <> excluded.outcome",
            )
            .bind(application.0)
            .bind(*field)
            .bind(*outcome)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            if done.rows_affected() == 1 {
                changed.push(*field);
            }
        }
        tx.commit().await.map_err(db_err)?;
        Ok(changed)
    }

    async fn field_sources(&self, application: ApplicationId) -> Result<Vec<(String, String)>, StoreError> {
        sql::query_as("SELECT field, outcome FROM field_sources WHERE application_id = $1 ORDER BY field")
            .bind(application.0)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)
    }

    async fn readings(&self, application: ApplicationId) -> Result<Vec<(DocumentKind, String)>, StoreError> {
        sql::query_as("SELECT kind, sealed FROM document_readings WHERE application_id = $1 ORDER BY kind")
            .bind(application.0)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)
    }
}
