//! Test support: a fresh, migrated database per test, on SQLite (always) or PostgreSQL (when
//! `SEALDESK_TEST_POSTGRES_URL` points at a server where we may create databases).

use crate::Db;

/// Environment variable naming a PostgreSQL server for tests, e.g.
/// `postgres://postgres@127.0.0.1:5432/postgres`.
pub const POSTGRES_URL_VAR: &str = "SEALDESK_TEST_POSTGRES_URL";
/// When set to `1`, a missing `SEALDESK_TEST_POSTGRES_URL` fails the PostgreSQL tests instead of
/// letting them pass vacuously (the README's test command and CI set it).
pub const REQUIRE_POSTGRES_VAR: &str = "SEALDESK_REQUIRE_POSTGRES";

/// A database that lives as long as the test.
pub struct TestDb {
    pub db: Db,
    dir: Option<tempfile::TempDir>,
    postgres: Option<(String, String)>,
}

impl TestDb {
    /// A new SQLite file in a temporary directory.
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display());
        let db = Db::connect(&url).await.expect("sqlite test database");
        Self { db, dir: Some(dir), postgres: None }
    }

    /// A new database on the test PostgreSQL server; `None` when none is configured (and not
    /// required).
    pub async fn postgres() -> Option<Self> {
        let Ok(admin_url) = std::env::var(POSTGRES_URL_VAR) else {
            assert!(
                std::env::var(REQUIRE_POSTGRES_VAR).as_deref() != Ok("1"),
                "{REQUIRE_POSTGRES_VAR}=1 but {POSTGRES_URL_VAR} is not set"
            );
            eprintln!("note: {POSTGRES_URL_VAR} not set; PostgreSQL variant not run");
            return None;
        };
        let name = format!("sealdesk_t_{}", uuid::Uuid::new_v4().simple());
        let admin = Db::connect_unmigrated(&admin_url).await.expect("connect to test PostgreSQL");
        admin.execute_raw(&format!("CREATE DATABASE {name}")).await.expect("create test database");
        admin.close().await;
        let url = replace_database(&admin_url, &name);
        let db = Db::connect(&url).await.expect("postgres test database");
        Some(Self { db, dir: None, postgres: Some((admin_url, name)) })
    }

    /// The directory holding a SQLite test database (with its WAL), for scanning its bytes.
    pub fn sqlite_dir(&self) -> Option<&std::path::Path> {
        self.dir.as_ref().map(tempfile::TempDir::path)
    }

    /// The single integer a trusted query returns (for tests that look at what was stored).
    pub async fn scalar(&self, sql: &str) -> i64 {
        scalar(&self.db, sql).await
    }

    /// The text column a trusted query returns, row by row.
    pub async fn texts(&self, sql: &str) -> Vec<String> {
        crate::sql::query_scalar::<String>(sql).fetch_all(&self.db.pool).await.expect("text query")
    }

    /// Closes the pool and drops a PostgreSQL test database.
    pub async fn finish(self) {
        self.db.close().await;
        if let Some((admin_url, name)) = self.postgres
            && let Ok(admin) = Db::connect_unmigrated(&admin_url).await
        {
            let _ = admin.execute_raw(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
            admin.close().await;
        }
    }
}

/// The single integer a trusted query returns on `db`.
pub async fn scalar(db: &Db, sql: &str) -> i64 {
    crate::sql::query_scalar::<i64>(sql).fetch_one(&db.pool).await.expect("scalar query")
}

/// The unique rules the store tells apart, each as PostgreSQL names it and as SQLite's message
/// names it (`users.phone`, `orders.user_id, orders.idempotency_key`).
pub fn unique_rules() -> Vec<(app::Unique, &'static str, &'static str)> {
    crate::UNIQUE_RULES.to_vec()
}

/// The SQLite virtual-machine steps the statements this thread ran took so far: a query that
/// reads only its own rows takes as many steps on a full table as on an empty one. (PostgreSQL
/// statements are not counted.)
pub fn sqlite_vm_steps() -> u64 {
    crate::sql::sqlite_vm_steps()
}

/// Swaps the database name in a PostgreSQL URL.
fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let base = match base.rfind('/') {
        Some(slash) if slash > base.find("//").map_or(0, |i| i + 1) => &base[..slash],
        _ => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn database_name_is_swapped() {
        assert_eq!(super::replace_database("postgres://u@h:5432/postgres", "x"), "postgres://u@h:5432/x");
        assert_eq!(
            super::replace_database("postgres://u@h/db?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
        assert_eq!(super::replace_database("postgres://u@h", "x"), "postgres://u@h/x");
    }
}
