//! `ReadingRepo`: sealed OCR readings of uploaded documents.

use app::StoreError;
use app::ports::ReadingRepo;
use async_trait::async_trait;
use domain::ApplicationId;
use time::OffsetDateTime;

use crate::{Db, db_err, ts};

#[async_trait]
impl ReadingRepo for Db {
    async fn set_reading(
        &self,
        application: ApplicationId,
        kind: &str,
        sealed: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        match sealed {
            Some(sealed) => sqlx::query(
                "INSERT INTO document_readings (application_id, kind, sealed, read_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (application_id, kind) DO UPDATE SET sealed = excluded.sealed, read_at = excluded.read_at",
            )
            .bind(application.0)
            .bind(kind.to_owned())
            .bind(sealed.to_owned())
            .bind(ts(now))
            .execute(&self.pool)
            .await
            .map_err(db_err)?,
            None => sqlx::query("DELETE FROM document_readings WHERE application_id = $1 AND kind = $2")
                .bind(application.0)
                .bind(kind.to_owned())
                .execute(&self.pool)
                .await
                .map_err(db_err)?,
        };
        Ok(())
    }

    async fn readings(&self, application: ApplicationId) -> Result<Vec<(String, String)>, StoreError> {
        sqlx::query_as("SELECT kind, sealed FROM document_readings WHERE application_id = $1 ORDER BY kind")
            .bind(application.0)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)
    }
}
