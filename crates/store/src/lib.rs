//! Database adapters for the app's ports, on SQLite (default, embedded, WAL) and PostgreSQL.
//!
//! One code path over the crate's own small data layer ([`sql`]): the SQL is written once in the
//! dialect both backends share (`$n` placeholders, `RETURNING`, partial unique indexes), and each
//! backend has its own migration directory for the DDL where they differ. On PostgreSQL columns
//! have their real types (`timestamptz`, `boolean`, `bytea`); SQLite stores times as Unix seconds
//! and flags as 0 / 1. Either way the rows decode into `OffsetDateTime` and `bool`.

mod addresses;
mod applications;
mod catalog;
mod certificates;
mod db;
mod documents;
mod files;
mod fulfilment;
mod history;
mod invoices;
mod notifications;
mod orders;
mod outbox;
mod payments;
mod readings;
mod review;
mod s3;
mod seals;
mod sessions;
mod sms_codes;
mod sql;
mod staff;
mod templates;
mod throttle;
mod users;

#[cfg(feature = "testing")]
#[allow(clippy::expect_used)]
pub mod testing;

pub use db::{Backend, Db};
pub use files::LocalFileStore;
pub use outbox::DevOutbox;
pub use s3::{S3FileStore, S3Settings};

use app::StoreError;

/// Maps the data layer's errors to the port's error; unique violations carry the constraint's
/// logical name.
#[allow(clippy::needless_pass_by_value)] // shaped for `.map_err(db_err)`
pub(crate) fn db_err(err: sql::Error) -> StoreError {
    if let Some((constraint, message)) = err.unique_violation() {
        if constraint == "users_phone_key" || message.contains("users.phone") {
            return StoreError::Duplicate("users.phone");
        }
        if constraint == "staff_username_key" || message.contains("staff.username") {
            return StoreError::Duplicate("staff.username");
        }
        return StoreError::Duplicate("unknown");
    }
    StoreError::Database(err.to_string())
}
