//! `SessionRepo` over the `sessions` table.

use app::StoreError;
use app::ports::{SessionRecord, SessionRepo};
use async_trait::async_trait;
use domain::UserId;
use time::OffsetDateTime;

use crate::{Db, db_err, from_ts, ts};

#[derive(sqlx::FromRow)]
struct SessionRow {
    token_digest: String,
    user_id: i64,
    created_at: i64,
    last_seen_at: i64,
    expires_at: i64,
}

#[async_trait]
impl SessionRepo for Db {
    async fn create_session(&self, s: &SessionRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (token_digest, user_id, created_at, last_seen_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&s.token_digest)
        .bind(s.user_id.0)
        .bind(ts(s.created_at))
        .bind(ts(s.last_seen_at))
        .bind(ts(s.expires_at))
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn session_by_digest(&self, digest: &str) -> Result<Option<SessionRecord>, StoreError> {
        let row = sqlx::query_as::<_, SessionRow>(
            "SELECT token_digest, user_id, created_at, last_seen_at, expires_at FROM sessions WHERE token_digest = $1",
        )
        .bind(digest)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(row.map(|r| SessionRecord {
            token_digest: r.token_digest,
            user_id: UserId(r.user_id),
            created_at: from_ts(r.created_at),
            last_seen_at: from_ts(r.last_seen_at),
            expires_at: from_ts(r.expires_at),
        }))
    }

    async fn touch_session(&self, digest: &str, now: OffsetDateTime) -> Result<(), StoreError> {
        sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE token_digest = $2")
            .bind(ts(now))
            .bind(digest)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn delete_session(&self, digest: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE token_digest = $1")
            .bind(digest)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }
}
