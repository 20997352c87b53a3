//! `InvoiceRepo`: e-invoices issued for orders, and the queue of orders still to invoice.

use app::StoreError;
use app::ports::{InvoiceRecord, InvoiceRepo, OrderRecord};
use async_trait::async_trait;
use domain::{OrderId, OrderStatus};

use crate::orders::{OrderRow, SELECT_ORDER};
use crate::{Db, db_err, from_ts, ts};

type Row = (i64, String, Option<i64>, i64, String, String, String, i64, i64);

#[async_trait]
impl InvoiceRepo for Db {
    async fn save_invoice(&self, i: &InvoiceRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO invoices (order_id, invoice_no, issued_by, issued_at, file_key, wrapped_key, sha256, size)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (order_id) DO UPDATE SET invoice_no = excluded.invoice_no, issued_by = excluded.issued_by,
                 issued_at = excluded.issued_at, file_key = excluded.file_key, wrapped_key = excluded.wrapped_key,
                 sha256 = excluded.sha256, size = excluded.size",
        )
        .bind(i.order_id.0)
        .bind(i.invoice_no.clone())
        .bind(i.issued_by)
        .bind(ts(i.issued_at))
        .bind(i.file_key.clone())
        .bind(i.wrapped_key.clone())
        .bind(i.sha256.clone())
        .bind(i.size)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn invoice(&self, order: OrderId) -> Result<Option<InvoiceRecord>, StoreError> {
        let row: Option<Row> = sqlx::query_as(
            "SELECT order_id, invoice_no, issued_by, issued_at, file_key, wrapped_key, sha256, size, sent_count
             FROM invoices WHERE order_id = $1",
        )
        .bind(order.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(row.map(|(id, invoice_no, issued_by, at, file_key, wrapped_key, sha256, size, sent_count)| InvoiceRecord {
            order_id: OrderId(id),
            invoice_no,
            issued_by,
            issued_at: from_ts(at),
            file_key,
            wrapped_key,
            sha256,
            size,
            sent_count,
        }))
    }

    async fn invoice_sent(&self, order: OrderId) -> Result<i64, StoreError> {
        sqlx::query_scalar("UPDATE invoices SET sent_count = sent_count + 1 WHERE order_id = $1 RETURNING sent_count")
            .bind(order.0)
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)
    }

    async fn invoice_queue(&self) -> Result<Vec<OrderRecord>, StoreError> {
        sqlx::query_as::<_, OrderRow>(&format!(
            "{SELECT_ORDER} WHERE invoice_kind <> 'none' AND status NOT IN ($1, $2, $3)
               AND NOT EXISTS (SELECT 1 FROM invoices i WHERE i.order_id = orders.id)
             ORDER BY created_at, id"
        ))
        .bind(OrderStatus::PendingPayment.as_str())
        .bind(OrderStatus::Cancelled.as_str())
        .bind(OrderStatus::Refunded.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?
        .into_iter()
        .map(OrderRow::into_record)
        .collect()
    }
}
