//! `ThrottleRepo` over the `login_failures` table.

use app::StoreError;
use app::ports::ThrottleRepo;
use async_trait::async_trait;
use time::OffsetDateTime;

use crate::sql;
use crate::{Db, db_err, from_ts, ts};

#[async_trait]
impl ThrottleRepo for Db {
    async fn record_failure(&self, key: &str, now: OffsetDateTime) -> Result<(), StoreError> {
        sql::query("INSERT INTO login_failures (key, at) VALUES ($1, $2)")
            .bind(key)
            .bind(ts(now))
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn failures_since(&self, key: &str, since: OffsetDateTime) -> Result<Vec<OffsetDateTime>, StoreError> {
        let times: Vec<i64> =
            sql::query_scalar("SELECT at FROM login_failures WHERE key = $1 AND at >= $2 ORDER BY at")
                .bind(key)
                .bind(ts(since))
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?;
        Ok(times.into_iter().map(from_ts).collect())
    }

    async fn clear_failures(&self, key: &str) -> Result<(), StoreError> {
        sql::query("DELETE FROM login_failures WHERE key = $1").bind(key).execute(&self.pool).await.map_err(db_err)?;
        Ok(())
    }
}
