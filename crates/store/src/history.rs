//! The two append-only trails written inside other transactions: an order's history rows and the
//! staff audit log.

use app::StoreError;
use app::ports::AuditEntry;
use domain::{Actor, OrderStatus};
use time::OffsetDateTime;

use crate::db_err;
use crate::sql::{self, Target};

/// One row of an order's history.
pub(crate) async fn record_event(
    executor: impl Into<Target<'_>> + Send,
    order: i64,
    from: OrderStatus,
    to: OrderStatus,
    actor: Actor,
    reason: Option<&str>,
    at: OffsetDateTime,
) -> Result<(), StoreError> {
    sql::query("INSERT INTO order_events (order_id, from_status, to_status, actor, reason, at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(order)
        .bind(from.as_str())
        .bind(to.as_str())
        .bind(actor.as_str())
        .bind(reason.map(str::to_owned))
        .bind(at)
        .execute(executor)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// One line of the audit log.
pub(crate) async fn record_audit(executor: impl Into<Target<'_>> + Send, entry: &AuditEntry) -> Result<(), StoreError> {
    sql::query("INSERT INTO audit_log (at, staff_id, action, order_id, detail) VALUES ($1, $2, $3, $4, $5)")
        .bind(entry.at)
        .bind(entry.staff_id)
        .bind(entry.action.clone())
        .bind(entry.order_id.map(|o| o.0))
        .bind(entry.detail.clone())
        .execute(executor)
        .await
        .map_err(db_err)?;
    Ok(())
}
