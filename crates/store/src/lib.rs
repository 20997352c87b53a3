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

use app::{StoreError, Unique};

/// The rules of uniqueness the use cases tell apart, as each engine reports them: PostgreSQL by
/// the constraint's (or unique index's) name, SQLite by the columns its message names (a unique
/// index on expressions would be `index 'name'`; we have none). A rule that two constraints
/// guard is listed twice: an engine reports whichever it checks first. Both migration trees
/// define each entry (`unique_rules_name_what_both_schemas_define`).
pub(crate) const UNIQUE_RULES: [(Unique, &str, &str); 8] = [
    (Unique::UserPhone, "users_phone_key", "users.phone"),
    (Unique::StaffUsername, "staff_username_key", "staff.username"),
    (Unique::OrderIdempotencyKey, "orders_idempotency_key", "orders.user_id, orders.idempotency_key"),
    (Unique::OrderOpenSubject, "orders_one_open_per_subject", "orders.subject_index, orders.business"),
    (Unique::OrderNumber, "orders_order_no_key", "orders.order_no"),
    (Unique::RefundOfPayment, "refunds_payment_key", "refunds.payment_id"),
    // The request number is the payment's trade number with `R1`: a second request for the
    // same payment breaks this one first on SQLite.
    (Unique::RefundOfPayment, "refunds_out_request_no_key", "refunds.out_request_no"),
    (Unique::PaymentTradeNo, "payments_trade_no_key", "payments.channel, payments.trade_no"),
];

/// Which rule a unique violation broke: the constraint PostgreSQL names, or the columns after
/// SQLite's `UNIQUE constraint failed: `, compared whole (never by substring).
fn unique_rule(constraint: &str, message: &str) -> Unique {
    let columns = message.strip_prefix("UNIQUE constraint failed: ").unwrap_or_default();
    UNIQUE_RULES
        .iter()
        .find(|(_, name, sqlite)| (!constraint.is_empty() && constraint == *name) || columns == *sqlite)
        .map_or(Unique::Other, |(rule, ..)| *rule)
}

/// Maps the data layer's errors to the port's error; a unique violation says which rule it broke.
#[allow(clippy::needless_pass_by_value)] // shaped for `.map_err(db_err)`
pub(crate) fn db_err(err: sql::Error) -> StoreError {
    match err.unique_violation() {
        Some((constraint, message)) => StoreError::Duplicate(unique_rule(constraint, message)),
        None => StoreError::Database(err.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::{Unique, unique_rule};

    #[test]
    fn a_unique_violation_is_named_by_the_whole_constraint_never_by_a_part() {
        assert_eq!(unique_rule("users_phone_key", "duplicate key value violates unique constraint"), Unique::UserPhone);
        assert_eq!(unique_rule("", "UNIQUE constraint failed: users.phone"), Unique::UserPhone);
        assert_eq!(
            unique_rule("", "UNIQUE constraint failed: orders.user_id, orders.idempotency_key"),
            Unique::OrderIdempotencyKey
        );
        assert_eq!(
            unique_rule("", "UNIQUE constraint failed: orders.subject_index, orders.business"),
            Unique::OrderOpenSubject
        );
        assert_eq!(unique_rule("", "UNIQUE constraint failed: orders.subject_index"), Unique::Other);
        assert_eq!(unique_rule("refunds_payment_key", ""), Unique::RefundOfPayment);
        // A neighbour's name, or a message that only contains one, is not the rule.
        assert_eq!(unique_rule("", "UNIQUE constraint failed: users.phone_hash"), Unique::Other);
        assert_eq!(unique_rule("users_phone_key_old", "users.phone"), Unique::Other);
        assert_eq!(unique_rule("payments_out_trade_no_key", ""), Unique::Other);
    }
}
