//! `SessionRepo` over the `sessions` table.

use app::StoreError;
use app::ports::{SessionRecord, SessionRepo, UserRecord};
use async_trait::async_trait;
use time::OffsetDateTime;

use crate::sql;
use crate::users::UserRow;
use crate::{Db, db_err};

sql::row! {
    struct SessionUserRow {
        token_digest: String,
        user_id: i64,
        created_at: OffsetDateTime,
        last_seen_at: OffsetDateTime,
        expires_at: OffsetDateTime,
        phone: String,
        password_hash: String,
        name: Option<String>,
        email: Option<String>,
        user_created_at: OffsetDateTime,
    }
}

#[async_trait]
impl SessionRepo for Db {
    async fn create_session(&self, s: &SessionRecord) -> Result<(), StoreError> {
        sql::query(
            "INSERT INTO sessions (token_digest, user_id, created_at, last_seen_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&s.token_digest)
        .bind(s.user_id.0)
        .bind(s.created_at)
        .bind(s.last_seen_at)
        .bind(s.expires_at)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn session_with_user(&self, digest: &str) -> Result<Option<(SessionRecord, UserRecord)>, StoreError> {
        let row = sql::query_as::<SessionUserRow>(
            "SELECT s.token_digest, s.user_id, s.created_at, s.last_seen_at, s.expires_at,
                    u.phone, u.password_hash, u.name, u.email, u.created_at AS user_created_at
               FROM sessions s JOIN users u ON u.id = s.user_id AND u.closed_at IS NULL
              WHERE s.token_digest = $1",
        )
        .bind(digest)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        let Some(r) = row else { return Ok(None) };
        let user = UserRow {
            id: r.user_id,
            phone: r.phone,
            password_hash: r.password_hash,
            name: r.name,
            email: r.email,
            created_at: r.user_created_at,
        }
        .into_record()?;
        let session = SessionRecord {
            token_digest: r.token_digest,
            user_id: user.id,
            created_at: r.created_at,
            last_seen_at: r.last_seen_at,
            expires_at: r.expires_at,
        };
        Ok(Some((session, user)))
    }

    async fn touch_session(&self, digest: &str, now: OffsetDateTime) -> Result<(), StoreError> {
        sql::query("UPDATE sessions SET last_seen_at = $1 WHERE token_digest = $2")
            .bind(now)
            .bind(digest)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn delete_session(&self, digest: &str) -> Result<(), StoreError> {
        sql::query("DELETE FROM sessions WHERE token_digest = $1")
            .bind(digest)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }
}
