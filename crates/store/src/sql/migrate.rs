//! Applies the embedded migrations, each once, in version order. The record of applied
//! migrations is the table sqlx's migrator kept (`_sqlx_migrations`, same columns, SHA-384
//! checksums), so databases created before this data layer keep their history.

use sha2::{Digest, Sha384};
use std::time::Instant;

use super::{Error, Pool, query, query_as};

/// One migration file.
pub(crate) struct Migration {
    version: i64,
    description: &'static str,
    sql: &'static str,
}

#[allow(clippy::unreadable_literal)]
mod embedded {
    use super::Migration;
    include!(concat!(env!("OUT_DIR"), "/migrations.rs"));
}

/// The migrations of one engine.
pub(crate) struct Migrations(&'static [Migration]);

impl Migrations {
    pub(crate) const SQLITE: Self = Self(embedded::SQLITE);
    pub(crate) const POSTGRES: Self = Self(embedded::POSTGRES);

    /// Applies what is pending in one transaction; a migration changed after it was applied, or
    /// one that failed half-way under the old migrator, stops everything.
    pub(crate) async fn run(&self, pool: &Pool) -> Result<(), Error> {
        let postgres = matches!(pool, Pool::Postgres(_));
        let mut tx = pool.begin().await?;
        if postgres {
            // One migrator at a time across instances, from before the record table exists
            // (concurrent `CREATE TABLE IF NOT EXISTS` can fail); released with the transaction.
            query("SELECT pg_advisory_xact_lock(7340219861)").execute(&mut tx).await?;
        }
        tx.batch(if postgres {
            "CREATE TABLE IF NOT EXISTS _sqlx_migrations (
                version BIGINT PRIMARY KEY, description TEXT NOT NULL,
                installed_on TIMESTAMPTZ NOT NULL DEFAULT now(), success BOOLEAN NOT NULL,
                checksum BYTEA NOT NULL, execution_time BIGINT NOT NULL)"
        } else {
            "CREATE TABLE IF NOT EXISTS _sqlx_migrations (
                version BIGINT PRIMARY KEY, description TEXT NOT NULL,
                installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, success BOOLEAN NOT NULL,
                checksum BLOB NOT NULL, execution_time BIGINT NOT NULL)"
        })
        .await?;
        let applied: Vec<(i64, Vec<u8>, bool)> =
            query_as("SELECT version, checksum, success FROM _sqlx_migrations ORDER BY version")
                .fetch_all(&mut tx)
                .await?;
        for migration in self.0 {
            let checksum = Sha384::digest(migration.sql.as_bytes()).to_vec();
            match applied.iter().find(|(version, _, _)| *version == migration.version) {
                Some((_, _, false)) => {
                    return Err(Error::Connection(format!("migration {} is marked failed", migration.version)));
                }
                Some((_, stored, true)) if *stored != checksum => {
                    return Err(Error::Connection(format!(
                        "migration {} was changed after it was applied",
                        migration.version
                    )));
                }
                Some(_) => {}
                None => {
                    let started = Instant::now();
                    tx.batch(migration.sql).await?;
                    let took = i64::try_from(started.elapsed().as_nanos()).unwrap_or(i64::MAX);
                    query(
                        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
                         VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(migration.version)
                    .bind(migration.description)
                    .bind(true)
                    .bind(checksum)
                    .bind(took)
                    .execute(&mut tx)
                    .await?;
                }
            }
        }
        tx.commit().await
    }
}
