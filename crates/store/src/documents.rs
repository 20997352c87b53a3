//! `DocumentRepo` and `ConsentRepo` over `documents` and `consents`.

use app::StoreError;
use app::ports::{ConsentRepo, DocumentRecord, DocumentRepo, DocumentShelf};
use async_trait::async_trait;
use domain::document::DocumentKind;
use domain::{ApplicationId, UserId};
use time::OffsetDateTime;

use crate::sql;
use crate::{Db, db_err};

sql::row! {
    struct DocumentRow {
        application_id: i64,
        kind: String,
        file_key: String,
        wrapped_key: String,
        content_type: String,
        size: i64,
        sha256: String,
        uploaded_at: OffsetDateTime,
    }
}

impl DocumentRow {
    fn into_record(self) -> Result<DocumentRecord, StoreError> {
        Ok(DocumentRecord {
            application_id: ApplicationId(self.application_id),
            kind: DocumentKind::parse(&self.kind)
                .ok_or_else(|| StoreError::Other(format!("unknown document kind {}", self.kind)))?,
            file_key: self.file_key,
            wrapped_key: self.wrapped_key,
            content_type: self.content_type,
            size: self.size,
            sha256: self.sha256,
            uploaded_at: self.uploaded_at,
        })
    }
}

const SELECT_DOCUMENT: &str =
    "SELECT application_id, kind, file_key, wrapped_key, content_type, size, sha256, uploaded_at FROM documents";

#[async_trait]
impl DocumentRepo for Db {
    async fn referenced_file_keys(&self) -> Result<std::collections::HashSet<String>, StoreError> {
        let keys: Vec<String> = sql::query_scalar(
            "SELECT file_key FROM documents UNION SELECT file_key FROM invoice_files UNION SELECT file_key FROM form_templates",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(keys.into_iter().collect())
    }

    async fn put_document(&self, user: UserId, d: &DocumentRecord) -> Result<Option<String>, StoreError> {
        let mut tx = self.write_tx().await?;
        // The application must be the user's: the insert below only runs for an owned one.
        let owned: Option<i64> = sql::query_scalar("SELECT id FROM applications WHERE id = $1 AND user_id = $2")
            .bind(d.application_id.0)
            .bind(user.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
        if owned.is_none() {
            return Err(StoreError::Other("document for an application the user does not own".into()));
        }
        let old: Option<String> =
            sql::query_scalar("DELETE FROM documents WHERE application_id = $1 AND kind = $2 RETURNING file_key")
                .bind(d.application_id.0)
                .bind(d.kind.as_str())
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_err)?;
        sql::query(
            "INSERT INTO documents (user_id, application_id, kind, file_key, wrapped_key, content_type, size, sha256, uploaded_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(user.0)
        .bind(d.application_id.0)
        .bind(d.kind.as_str())
        .bind(&d.file_key)
        .bind(&d.wrapped_key)
        .bind(&d.content_type)
        .bind(d.size)
        .bind(&d.sha256)
        .bind(d.uploaded_at)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        // An upload is activity on the draft (it resets the abandoned-draft clock).
        sql::query("UPDATE applications SET updated_at = $1 WHERE id = $2")
            .bind(d.uploaded_at)
            .bind(d.application_id.0)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(old)
    }

    async fn delete_document(
        &self,
        user: UserId,
        application: ApplicationId,
        kind: DocumentKind,
    ) -> Result<Option<String>, StoreError> {
        sql::query_scalar(
            "DELETE FROM documents WHERE user_id = $1 AND application_id = $2 AND kind = $3 RETURNING file_key",
        )
        .bind(user.0)
        .bind(application.0)
        .bind(kind.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)
    }
}

#[async_trait]
impl DocumentShelf for Db {
    async fn documents(&self, user: UserId, application: ApplicationId) -> Result<Vec<DocumentRecord>, StoreError> {
        sql::query_as::<DocumentRow>(&format!(
            "{SELECT_DOCUMENT} WHERE user_id = $1 AND application_id = $2 ORDER BY id"
        ))
        .bind(user.0)
        .bind(application.0)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?
        .into_iter()
        .map(DocumentRow::into_record)
        .collect()
    }

    async fn document(
        &self,
        user: UserId,
        application: ApplicationId,
        kind: DocumentKind,
    ) -> Result<Option<DocumentRecord>, StoreError> {
        sql::query_as::<DocumentRow>(&format!(
            "{SELECT_DOCUMENT} WHERE user_id = $1 AND application_id = $2 AND kind = $3"
        ))
        .bind(user.0)
        .bind(application.0)
        .bind(kind.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?
        .map(DocumentRow::into_record)
        .transpose()
    }
}

#[async_trait]
impl ConsentRepo for Db {
    async fn record_consent(
        &self,
        user: UserId,
        version: &str,
        text_sha256: &str,
        purposes: &str,
        client: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        sql::query("INSERT INTO consents (user_id, version, text_sha256, purposes, client, granted_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(user.0)
            .bind(version)
            .bind(text_sha256)
            .bind(purposes)
            .bind(client)
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn has_consent(&self, user: UserId, version: &str) -> Result<bool, StoreError> {
        let count: i64 = sql::query_scalar("SELECT COUNT(*) FROM consents WHERE user_id = $1 AND version = $2")
            .bind(user.0)
            .bind(version)
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(count > 0)
    }
}
