//! `ThrottleRepo` over the `login_failures` table.

use app::StoreError;
use app::ports::ThrottleRepo;
use async_trait::async_trait;
use time::OffsetDateTime;

use crate::sql;
use crate::{Db, db_err};

#[async_trait]
impl ThrottleRepo for Db {
    async fn record_failure(&self, key: &str, now: OffsetDateTime) -> Result<(), StoreError> {
        sql::query("INSERT INTO login_failures (key, at) VALUES ($1, $2)")
            .bind(key)
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn failures_since(&self, key: &str, since: OffsetDateTime) -> Result<Vec<OffsetDateTime>, StoreError> {
        let times: Vec<OffsetDateTime> =
            sql::query_scalar("SELECT at FROM login_failures WHERE key = $1 AND at >= $2 ORDER BY at")
                .bind(key)
                .bind(since)
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?;
        Ok(times.into_iter().collect())
    }

    async fn clear_failures(&self, key: &str) -> Result<(), StoreError> {
        sql::query("DELETE FROM login_failures WHERE key = $1").bind(key).execute(&self.pool).await.map_err(db_err)?;
        Ok(())
    }
}
