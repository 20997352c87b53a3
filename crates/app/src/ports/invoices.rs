//! Invoices and red-letter invoices.

use super::orders::OrderRecord;
use crate::StoreError;
use async_trait::async_trait;
use domain::invoice::InvoiceFormat;
use domain::{OrderId, StaffId};
use time::OffsetDateTime;

/// An issued e-invoice and, once its order was refunded, the red-letter invoice (红字发票) that
/// voids it; every file is encrypted in the file store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceRecord {
    pub order_id: OrderId,
    pub invoice_no: String,
    pub issued_by: Option<StaffId>,
    pub issued_at: OffsetDateTime,
    pub sent_count: i64,
    pub red: Option<RedInvoice>,
    /// The invoice's files (the PDF always) and the red-letter invoice's.
    pub files: Vec<InvoiceFile>,
}

impl InvoiceRecord {
    /// One file: of the invoice or of its red-letter invoice.
    pub fn file(&self, red: bool, format: InvoiceFormat) -> Option<&InvoiceFile> {
        self.files.iter().find(|f| f.red == red && f.format == format)
    }

    /// The formats of the invoice (`red == false`) or of its red-letter invoice, PDF first.
    pub fn formats(&self, red: bool) -> Vec<InvoiceFormat> {
        InvoiceFormat::ALL.iter().copied().filter(|f| self.file(red, *f).is_some()).collect()
    }
}

/// The red-letter invoice recorded against an invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedInvoice {
    pub invoice_no: String,
    pub issued_by: Option<StaffId>,
    pub issued_at: OffsetDateTime,
}

/// One file of an invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceFile {
    /// Of the red-letter invoice.
    pub red: bool,
    pub format: InvoiceFormat,
    pub file_key: String,
    pub wrapped_key: String,
    pub sha256: String,
    pub size: i64,
}

#[async_trait]
pub trait InvoiceRepo: Send + Sync {
    /// Records (or replaces, with its files) the order's invoice; a voided one stays as it is
    /// (`false`).
    async fn save_invoice(&self, invoice: &InvoiceRecord) -> Result<bool, StoreError>;
    /// Records the red-letter invoice and its files against the order's invoice, once: `false`
    /// when there is no invoice or it is already voided.
    async fn save_red_invoice(
        &self,
        order: OrderId,
        red: &RedInvoice,
        files: &[InvoiceFile],
    ) -> Result<bool, StoreError>;
    /// Counts one more sending; returns the new count.
    async fn invoice_sent(&self, order: OrderId) -> Result<i64, StoreError>;
    /// Paid orders that asked for an invoice and have none yet, oldest first.
    async fn invoice_queue(&self) -> Result<Vec<OrderRecord>, StoreError>;
    /// Refunded orders whose invoice is not yet voided by a red-letter invoice, oldest first.
    async fn red_invoice_queue(&self) -> Result<Vec<OrderRecord>, StoreError>;
}

/// An order's invoice, read.
#[async_trait]
pub trait InvoiceBook: Send + Sync {
    async fn invoice(&self, order: OrderId) -> Result<Option<InvoiceRecord>, StoreError>;
}
