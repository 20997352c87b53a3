//! Invoices and red-letter invoices.

use super::{Books, lock};
use crate::StoreError;
use crate::ports::{InvoiceFile, InvoiceRecord, InvoiceRepo, OrderRecord, RedInvoice};
use async_trait::async_trait;
use domain::{OrderId, OrderStatus};

#[async_trait]
impl InvoiceRepo for Books {
    async fn save_invoice(&self, invoice: &InvoiceRecord) -> Result<bool, StoreError> {
        let mut state = lock(&self.state);
        state.write()?;
        if state.invoices.iter().any(|i| i.order_id == invoice.order_id && i.red.is_some()) {
            return Ok(false);
        }
        state.invoices.retain(|i| i.order_id != invoice.order_id);
        state.invoices.push(invoice.clone());
        Ok(true)
    }

    async fn save_red_invoice(
        &self,
        order: OrderId,
        red: &RedInvoice,
        files: &[InvoiceFile],
    ) -> Result<bool, StoreError> {
        let mut state = lock(&self.state);
        state.write()?;
        let Some(invoice) = state.invoices.iter_mut().find(|i| i.order_id == order && i.red.is_none()) else {
            return Ok(false);
        };
        invoice.red = Some(red.clone());
        invoice.files.extend(files.iter().cloned().map(|f| InvoiceFile { red: true, ..f }));
        Ok(true)
    }

    async fn invoice_sent(&self, order: OrderId) -> Result<i64, StoreError> {
        let mut state = lock(&self.state);
        state.write()?;
        let invoice = state.invoices.iter_mut().find(|i| i.order_id == order);
        let invoice = invoice.ok_or_else(|| StoreError::Other("no invoice".into()))?;
        invoice.sent_count += 1;
        Ok(invoice.sent_count)
    }

    async fn invoice_queue(&self) -> Result<Vec<OrderRecord>, StoreError> {
        let state = lock(&self.state);
        let waiting = state.orders.values().filter(|o| {
            o.order.invoice.is_some()
                && !matches!(o.status, OrderStatus::PendingPayment | OrderStatus::Cancelled)
                && !state.invoices.iter().any(|i| i.order_id == o.id)
        });
        Ok(waiting.cloned().collect())
    }

    async fn red_invoice_queue(&self) -> Result<Vec<OrderRecord>, StoreError> {
        let state = lock(&self.state);
        let waiting = state.orders.values().filter(|o| {
            o.status == OrderStatus::Refunded && state.invoices.iter().any(|i| i.order_id == o.id && i.red.is_none())
        });
        Ok(waiting.cloned().collect())
    }
}
