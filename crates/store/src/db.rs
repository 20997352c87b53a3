//! Connecting, configuring and migrating the database; the `Store` port's housekeeping.

use app::StoreError;
use app::ports::Store;
use async_trait::async_trait;
use time::OffsetDateTime;

use crate::db_err;
use crate::sql::{self, Migrations, Pool, Tx};

/// Which database engine is behind the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The application's database: a pool plus what it needs to know about its engine.
#[derive(Debug, Clone)]
pub struct Db {
    pub(crate) pool: Pool,
    backend: Backend,
}

impl Db {
    /// Connects to `url` (`sqlite://path?mode=rwc` or `postgres://...`) and applies the embedded
    /// migrations. SQLite runs in WAL mode with a 5 s busy timeout and foreign keys on.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let db = Self::connect_unmigrated(url).await?;
        db.migrate().await?;
        Ok(db)
    }

    /// Connects without touching the schema (for `sealdesk migrate --check` and test set-up).
    pub async fn connect_unmigrated(url: &str) -> Result<Self, StoreError> {
        let pool = Pool::open(url).map_err(db_err)?;
        let backend = match pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        };
        pool.check().await.map_err(db_err)?;
        Ok(Self { pool, backend })
    }

    /// Runs trusted, constant SQL (DDL in test set-up; one or more statements).
    pub async fn execute_raw(&self, sql: &str) -> Result<(), StoreError> {
        self.pool.batch(sql).await.map_err(db_err)
    }

    /// Applies pending migrations (idempotent).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let migrations = match self.backend {
            Backend::Sqlite => Migrations::SQLITE,
            Backend::Postgres => Migrations::POSTGRES,
        };
        migrations.run(&self.pool).await.map_err(|e| StoreError::Database(format!("migrating: {e}")))
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Starts a transaction that will write. On SQLite it takes the write lock up front
    /// (`BEGIN IMMEDIATE`), after this process's other writers.
    pub(crate) async fn write_tx(&self) -> Result<Tx, StoreError> {
        self.pool.begin().await.map_err(db_err)
    }

    #[allow(clippy::unused_async)] // callers await it, as they would a pool that drains
    pub async fn close(&self) {
        self.pool.close();
    }
}

#[async_trait]
impl Store for Db {
    async fn ping(&self) -> Result<(), StoreError> {
        sql::query("SELECT 1").execute(&self.pool).await.map(|_| ()).map_err(db_err)
    }

    async fn take_lease(
        &self,
        name: &str,
        holder: &str,
        now: OffsetDateTime,
        ttl: time::Duration,
    ) -> Result<bool, StoreError> {
        let taken = sql::query(
            "INSERT INTO job_leases (name, holder, until) VALUES ($1, $2, $3)
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until
             WHERE job_leases.until <= $4",
        )
        .bind(name.to_owned())
        .bind(holder.to_owned())
        .bind(now + ttl)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(taken.rows_affected() == 1)
    }

    async fn purge_expired(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        let day_ago = now - time::Duration::days(1);
        let mut removed = 0;
        for (sql, at) in [
            ("DELETE FROM sessions WHERE expires_at <= $1", now),
            ("DELETE FROM sms_codes WHERE created_at < $1", day_ago),
            ("DELETE FROM login_failures WHERE at < $1", day_ago),
        ] {
            removed += sql::query(sql).bind(at).execute(&self.pool).await.map_err(db_err)?.rows_affected();
        }
        Ok(removed)
    }
}
