//! `TemplateRepo`: admin-uploaded blank forms.

use app::StoreError;
use app::ports::{FormTemplate, TemplateRepo};
use async_trait::async_trait;
use domain::document::DocumentKind;
use time::OffsetDateTime;

use crate::sql;
use crate::{Db, db_err};

#[async_trait]
impl TemplateRepo for Db {
    async fn set_template(&self, t: &FormTemplate, staff: domain::StaffId) -> Result<Option<String>, StoreError> {
        let mut tx = self.write_tx().await?;
        let old: Option<String> = sql::query_scalar("SELECT file_key FROM form_templates WHERE kind = $1")
            .bind(t.kind)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
        sql::query(
            "INSERT INTO form_templates (kind, file_key, size, sha256, uploaded_by, uploaded_at) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (kind) DO UPDATE SET file_key = excluded.file_key, size = excluded.size, sha256 = excluded.sha256,
                 uploaded_by = excluded.uploaded_by, uploaded_at = excluded.uploaded_at",
        )
        .bind(t.kind)
        .bind(t.file_key.clone())
        .bind(t.size)
        .bind(t.sha256.clone())
        .bind(staff)
        .bind(t.uploaded_at)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(old)
    }

    async fn template(&self, kind: DocumentKind) -> Result<Option<FormTemplate>, StoreError> {
        let row: Option<(DocumentKind, String, i64, String, OffsetDateTime)> =
            sql::query_as("SELECT kind, file_key, size, sha256, uploaded_at FROM form_templates WHERE kind = $1")
                .bind(kind)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)?;
        Ok(row.map(|(kind, file_key, size, sha256, at)| FormTemplate { kind, file_key, size, sha256, uploaded_at: at }))
    }

    async fn delete_template(&self, kind: DocumentKind) -> Result<Option<String>, StoreError> {
        let mut tx = self.write_tx().await?;
        let old: Option<String> = sql::query_scalar("SELECT file_key FROM form_templates WHERE kind = $1")
            .bind(kind)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
        sql::query("DELETE FROM form_templates WHERE kind = $1").bind(kind).execute(&mut *tx).await.map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(old)
    }
}
