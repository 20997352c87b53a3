//! `FulfilmentRepo`: the produced key and each dispatch step, written with the order's state
//! change, its history row and the audit entry in one transaction.

use app::StoreError;
use app::ports::{Dispatch, DispatchChange, FulfilmentRecord, FulfilmentRepo, OrderRecord};
use async_trait::async_trait;
use domain::fulfilment::KeyRecord;
use domain::pricing::{Delivery, KeyType};
use domain::{OrderId, OrderStatus, StaffId};
use time::macros::format_description;
use time::{Date, OffsetDateTime};

use crate::history::{record_audit, record_event};
use crate::orders::{OrderRow, SELECT_ORDER};
use crate::sql::{self, Target};
use crate::{Db, db_err};

sql::row! {
    struct FulfilmentRow {
        order_id: i64,
        key_type: String,
        cert_serial: String,
        valid_from: String,
        valid_to: String,
        produced_by: Option<i64>,
        produced_at: OffsetDateTime,
        courier: Option<String>,
        tracking_no: Option<String>,
        shipped_at: Option<OffsetDateTime>,
        pickup_code: Option<String>,
        ready_at: Option<OffsetDateTime>,
        completed_at: Option<OffsetDateTime>,
    }
}

fn day(text: &str) -> Result<Date, StoreError> {
    Date::parse(text, format_description!("[year]-[month]-[day]"))
        .map_err(|_| StoreError::Other(format!("stored date is not YYYY-MM-DD: {text}")))
}

fn day_text(date: Date) -> String {
    date.format(format_description!("[year]-[month]-[day]")).unwrap_or_default()
}

/// Records (or corrects) the produced key of an order, inside the caller's transaction.
pub(crate) async fn write_key(
    executor: impl Into<Target<'_>> + Send,
    id: OrderId,
    key: &KeyRecord,
    staff: Option<StaffId>,
    at: OffsetDateTime,
) -> Result<(), StoreError> {
    sql::query(
        "INSERT INTO fulfilments (order_id, key_type, cert_serial, valid_from, valid_to, produced_by, produced_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (order_id) DO UPDATE SET key_type = excluded.key_type, cert_serial = excluded.cert_serial,
             valid_from = excluded.valid_from, valid_to = excluded.valid_to, produced_by = excluded.produced_by,
             produced_at = excluded.produced_at",
    )
    .bind(id.0)
    .bind(key.key_type.as_str())
    .bind(key.serial.clone())
    .bind(day_text(key.valid_from))
    .bind(day_text(key.valid_to))
    .bind(staff)
    .bind(at)
    .execute(executor)
    .await
    .map_err(db_err)?;
    Ok(())
}

impl TryFrom<FulfilmentRow> for FulfilmentRecord {
    type Error = StoreError;

    fn try_from(r: FulfilmentRow) -> Result<Self, StoreError> {
        Ok(Self {
            order_id: OrderId(r.order_id),
            key: KeyRecord {
                key_type: KeyType::parse(&r.key_type)
                    .ok_or_else(|| StoreError::Other(format!("unknown key type {}", r.key_type)))?,
                serial: r.cert_serial,
                valid_from: day(&r.valid_from)?,
                valid_to: day(&r.valid_to)?,
            },
            produced_by: r.produced_by.map(StaffId),
            produced_at: r.produced_at,
            courier: r.courier,
            tracking_no: r.tracking_no,
            shipped_at: r.shipped_at,
            pickup_code: r.pickup_code,
            ready_at: r.ready_at,
            completed_at: r.completed_at,
        })
    }
}

#[async_trait]
impl FulfilmentRepo for Db {
    async fn save_key(
        &self,
        id: OrderId,
        key: &KeyRecord,
        staff: StaffId,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut tx = self.write_tx().await?;
        let status: Option<String> = sql::query_scalar("SELECT status FROM orders WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
        if status.as_deref() != Some(OrderStatus::Processing.as_str()) {
            return Ok(false);
        }
        write_key(&mut *tx, id, key, Some(staff), now).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

    async fn fulfilment(&self, id: OrderId) -> Result<Option<FulfilmentRecord>, StoreError> {
        let row: Option<FulfilmentRow> = sql::query_as(
            "SELECT order_id, key_type, cert_serial, valid_from, valid_to, produced_by, produced_at, courier, tracking_no,
                    shipped_at, pickup_code, ready_at, completed_at
             FROM fulfilments WHERE order_id = $1",
        )
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.map(TryInto::try_into).transpose()
    }

    async fn dispatch(&self, step: &Dispatch<'_>) -> Result<bool, StoreError> {
        let mut tx = self.write_tx().await?;
        let moved = sql::query("UPDATE orders SET status = $1, updated_at = $2 WHERE id = $3 AND status = $4")
            .bind(step.to.as_str())
            .bind(step.now)
            .bind(step.id.0)
            .bind(step.from.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        if moved.rows_affected() != 1 {
            return Ok(false);
        }
        record_event(&mut *tx, step.id.0, step.from, step.to, step.actor, Some(step.reason), step.now).await?;
        let updated = match &step.change {
            DispatchChange::Shipped { courier, tracking_no } => {
                sql::query("UPDATE fulfilments SET courier = $1, tracking_no = $2, shipped_at = $3 WHERE order_id = $4")
                    .bind(courier.clone())
                    .bind(tracking_no.clone())
                    .bind(step.now)
                    .bind(step.id.0)
                    .execute(&mut *tx)
                    .await
            }
            DispatchChange::ReadyForPickup { sealed_code } => {
                sql::query("UPDATE fulfilments SET pickup_code = $1, ready_at = $2 WHERE order_id = $3")
                    .bind(sealed_code.clone())
                    .bind(step.now)
                    .bind(step.id.0)
                    .execute(&mut *tx)
                    .await
            }
            DispatchChange::Completed => {
                sql::query("UPDATE fulfilments SET completed_at = $1 WHERE order_id = $2")
                    .bind(step.now)
                    .bind(step.id.0)
                    .execute(&mut *tx)
                    .await
            }
        }
        .map_err(db_err)?;
        if updated.rows_affected() != 1 {
            // No key recorded: nothing may leave.
            return Ok(false);
        }
        if let Some(audit) = step.audit {
            record_audit(&mut *tx, audit).await?;
        }
        crate::notifications::insert_notifications(&mut tx, step.notify, step.now).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

    async fn fulfilment_queue(&self) -> Result<Vec<OrderRecord>, StoreError> {
        sql::query_as::<OrderRow>(&format!(
            "{SELECT_ORDER} WHERE status = $1 OR (status = $2 AND delivery = $3) ORDER BY updated_at, id"
        ))
        .bind(OrderStatus::Processing.as_str())
        .bind(OrderStatus::Delivering.as_str())
        .bind(Delivery::Pickup.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?
        .into_iter()
        .map(OrderRow::into_record)
        .collect()
    }

    async fn shipped_before(&self, before: OffsetDateTime) -> Result<Vec<OrderId>, StoreError> {
        let ids: Vec<i64> = sql::query_scalar(
            "SELECT o.id FROM orders o JOIN fulfilments f ON f.order_id = o.id
             WHERE o.status = $1 AND o.delivery = $2 AND f.shipped_at < $3 ORDER BY o.id",
        )
        .bind(OrderStatus::Delivering.as_str())
        .bind(Delivery::Courier.as_str())
        .bind(before)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(ids.into_iter().map(OrderId).collect())
    }
}
