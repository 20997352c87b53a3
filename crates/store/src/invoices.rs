//! `InvoiceRepo`: e-invoices issued for orders with their files, the red-letter invoices that
//! void them, and the queues of orders still to invoice or to void.

use app::StoreError;
use app::ports::{InvoiceBook, InvoiceFile, InvoiceRecord, InvoiceRepo, OrderRecord, RedInvoice};
use async_trait::async_trait;
use domain::invoice::InvoiceFormat;
use domain::{OrderId, OrderStatus, StaffId};
use time::OffsetDateTime;

use crate::orders::{OrderRow, SELECT_ORDER};
use crate::sql::{self, Tx};
use crate::{Db, db_err};

sql::row! {
    struct Row {
        order_id: i64,
        invoice_no: String,
        issued_by: Option<i64>,
        issued_at: OffsetDateTime,
        sent_count: i64,
        red_invoice_no: Option<String>,
        red_issued_by: Option<i64>,
        red_issued_at: Option<OffsetDateTime>,
    }
}

sql::row! {
    struct FileRow {
        red: bool,
        format: String,
        file_key: String,
        wrapped_key: String,
        sha256: String,
        size: i64,
    }
}

async fn insert_files(tx: &mut Tx, order: OrderId, files: &[InvoiceFile]) -> Result<(), StoreError> {
    for f in files {
        sql::query(
            "INSERT INTO invoice_files (order_id, red, format, file_key, wrapped_key, sha256, size)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(order.0)
        .bind(f.red)
        .bind(f.format.as_str())
        .bind(f.file_key.clone())
        .bind(f.wrapped_key.clone())
        .bind(f.sha256.clone())
        .bind(f.size)
        .execute(&mut **tx)
        .await
        .map_err(db_err)?;
    }
    Ok(())
}

#[async_trait]
impl InvoiceRepo for Db {
    async fn save_invoice(&self, i: &InvoiceRecord) -> Result<bool, StoreError> {
        let mut tx = self.write_tx().await?;
        let saved = sql::query(
            "INSERT INTO invoices (order_id, invoice_no, issued_by, issued_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (order_id) DO UPDATE SET invoice_no = excluded.invoice_no, issued_by = excluded.issued_by,
                 issued_at = excluded.issued_at
             WHERE invoices.red_invoice_no IS NULL",
        )
        .bind(i.order_id.0)
        .bind(i.invoice_no.clone())
        .bind(i.issued_by)
        .bind(i.issued_at)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if saved.rows_affected() != 1 {
            return Ok(false);
        }
        sql::query("DELETE FROM invoice_files WHERE order_id = $1 AND NOT red")
            .bind(i.order_id.0)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        let own: Vec<InvoiceFile> = i.files.iter().filter(|f| !f.red).cloned().collect();
        insert_files(&mut tx, i.order_id, &own).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

    async fn save_red_invoice(
        &self,
        order: OrderId,
        red: &RedInvoice,
        files: &[InvoiceFile],
    ) -> Result<bool, StoreError> {
        let mut tx = self.write_tx().await?;
        let voided = sql::query(
            "UPDATE invoices SET red_invoice_no = $1, red_issued_by = $2, red_issued_at = $3
             WHERE order_id = $4 AND red_invoice_no IS NULL",
        )
        .bind(red.invoice_no.clone())
        .bind(red.issued_by)
        .bind(red.issued_at)
        .bind(order.0)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if voided.rows_affected() != 1 {
            return Ok(false);
        }
        let files: Vec<InvoiceFile> = files.iter().map(|f| InvoiceFile { red: true, ..f.clone() }).collect();
        insert_files(&mut tx, order, &files).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

    async fn invoice_sent(&self, order: OrderId) -> Result<i64, StoreError> {
        sql::query_scalar("UPDATE invoices SET sent_count = sent_count + 1 WHERE order_id = $1 RETURNING sent_count")
            .bind(order.0)
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)
    }

    async fn invoice_queue(&self) -> Result<Vec<OrderRecord>, StoreError> {
        sql::query_as::<OrderRow>(&format!(
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

    async fn red_invoice_queue(&self) -> Result<Vec<OrderRecord>, StoreError> {
        sql::query_as::<OrderRow>(&format!(
            "{SELECT_ORDER} WHERE status = $1
               AND EXISTS (SELECT 1 FROM invoices i WHERE i.order_id = orders.id AND i.red_invoice_no IS NULL)
             ORDER BY created_at, id"
        ))
        .bind(OrderStatus::Refunded.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?
        .into_iter()
        .map(OrderRow::into_record)
        .collect()
    }
}

#[async_trait]
impl InvoiceBook for Db {
    async fn invoice(&self, order: OrderId) -> Result<Option<InvoiceRecord>, StoreError> {
        let row: Option<Row> = sql::query_as(
            "SELECT order_id, invoice_no, issued_by, issued_at, sent_count, red_invoice_no, red_issued_by, red_issued_at
             FROM invoices WHERE order_id = $1",
        )
        .bind(order.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        let Some(row) = row else { return Ok(None) };
        let files: Vec<FileRow> = sql::query_as(
            "SELECT red, format, file_key, wrapped_key, sha256, size FROM invoice_files WHERE order_id = $1
             ORDER BY red, format",
        )
        .bind(order.0)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        let files = files
            .into_iter()
            .map(|f| {
                Ok(InvoiceFile {
                    red: f.red,
                    format: InvoiceFormat::parse(&f.format).ok_or_else(|| {
                        StoreError::Other(format!("stored invoice file has an unknown format: {}", f.format))
                    })?,
                    file_key: f.file_key,
                    wrapped_key: f.wrapped_key,
                    sha256: f.sha256,
                    size: f.size,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let red = match (row.red_invoice_no, row.red_issued_at) {
            (Some(invoice_no), Some(at)) => {
                Some(RedInvoice { invoice_no, issued_by: row.red_issued_by.map(StaffId), issued_at: at })
            }
            _ => None,
        };
        Ok(Some(InvoiceRecord {
            order_id: OrderId(row.order_id),
            invoice_no: row.invoice_no,
            issued_by: row.issued_by.map(StaffId),
            issued_at: row.issued_at,
            sent_count: row.sent_count,
            red,
            files,
        }))
    }
}
