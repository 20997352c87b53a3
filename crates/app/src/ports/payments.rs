//! Payments, refunds, gateway notifications, finance alerts and bill checks.

use super::notifications::NewNotification;
use crate::StoreError;
use crate::gateway::Channel;
use async_trait::async_trait;
use domain::{FinanceAlertId, OrderId, PaymentId, RefundId, StaffId};
use time::OffsetDateTime;

/// A payment received or a refund made, as the takings report lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoneyMovement {
    pub at: OffsetDateTime,
    /// `false`: received; `true`: refunded.
    pub refund: bool,
    pub order_no: String,
    pub channel: Channel,
    pub out_trade_no: String,
    pub trade_no: Option<String>,
    pub amount: domain::Money,
}

/// One trade at one channel for an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentRecord {
    pub id: PaymentId,
    pub order_id: OrderId,
    pub channel: Channel,
    pub out_trade_no: String,
    pub amount: domain::Money,
    pub status: domain::payment::PaymentStatus,
    pub trade_no: Option<String>,
    pub created_at: OffsetDateTime,
    pub paid_at: Option<OffsetDateTime>,
}

/// A refund owed or made for a payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRecord {
    pub id: RefundId,
    pub payment_id: PaymentId,
    pub order_id: OrderId,
    pub channel: Channel,
    pub out_trade_no: String,
    pub out_request_no: String,
    pub amount: domain::Money,
    pub reason: String,
    pub status: domain::payment::RefundStatus,
    /// Finance staff who asked for it (`None`: the system, for money after a cancel).
    pub requested_by: Option<StaffId>,
    /// Gateway calls that failed so far, and what the last one answered.
    pub attempts: u32,
    pub last_error: Option<String>,
    /// How a failed refund was resolved outside the gateway (finance's note).
    pub resolution: Option<String>,
}

/// What applying a confirmed payment did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settlement {
    /// The order moved from 待支付 to 审核中.
    Applied,
    /// This payment was applied before (a duplicate notification, a query after a notify).
    AlreadySettled,
    /// The money arrived but the order could not take it (cancelled, or paid through another
    /// channel): a refund was recorded, to be made.
    RefundOwed(RefundRecord),
}

/// A received notification, for the finance record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeLog {
    pub channel: Channel,
    pub verified: bool,
    pub out_trade_no: Option<String>,
    pub outcome: String,
    /// The fields as received, without the signature.
    pub summary: String,
    pub received_at: OffsetDateTime,
}

/// Something finance must look at (a signed notification that does not match, a refund owed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinanceAlert {
    /// 0 for one not stored yet.
    pub id: FinanceAlertId,
    pub kind: String,
    pub order_id: Option<OrderId>,
    pub out_trade_no: Option<String>,
    pub detail: String,
    pub created_at: OffsetDateTime,
    /// How finance resolved it, once they have.
    pub resolution: Option<String>,
}

/// Trades at the gateways and the refunds they owe, as they happen: opened, settled once, closed, refunded.
#[async_trait]
pub trait PaymentLedger: Send + Sync {
    /// The order's trade at `channel`, created in `Pending` if there is none yet.
    async fn open_payment(
        &self,
        order: OrderId,
        channel: Channel,
        out_trade_no: &str,
        amount: domain::Money,
        now: OffsetDateTime,
    ) -> Result<PaymentRecord, StoreError>;
    async fn payment_by_trade(&self, out_trade_no: &str) -> Result<Option<PaymentRecord>, StoreError>;
    async fn payments_of_order(&self, order: OrderId) -> Result<Vec<PaymentRecord>, StoreError>;
    /// In one transaction: marks the payment paid with the gateway's `trade_no` (only if it is
    /// not paid yet), then moves the order 待支付 → 审核中 with its history row, or, when the
    /// order can no longer take the money, records the one refund it is owed and an alert.
    /// `notify` is enqueued in the same transaction when (and only when) the order moves.
    async fn settle_payment(
        &self,
        payment_id: PaymentId,
        trade_no: &str,
        reason: &str,
        notify: &[NewNotification],
        now: OffsetDateTime,
    ) -> Result<Settlement, StoreError>;
    /// Pending → closed; `false` if it was not pending.
    async fn close_payment(&self, payment_id: PaymentId, now: OffsetDateTime) -> Result<bool, StoreError>;
    /// Payments still pending that were opened before `before`, oldest first.
    async fn pending_payments_before(&self, before: OffsetDateTime) -> Result<Vec<PaymentRecord>, StoreError>;
    /// Pending refunds whose next attempt is due at `now`.
    async fn pending_refunds(&self, now: OffsetDateTime) -> Result<Vec<RefundRecord>, StoreError>;
    /// A gateway call for a pending refund failed: counts it and schedules the next attempt at
    /// `retry_at`, or with `None` ends the refund as failed. `false` if it was not pending.
    async fn refund_attempt_failed(
        &self,
        refund_id: RefundId,
        error: &str,
        retry_at: Option<OffsetDateTime>,
    ) -> Result<bool, StoreError>;
    async fn refunds_of_order(&self, order: OrderId) -> Result<Vec<RefundRecord>, StoreError>;
    /// In one transaction: the refund is done, its payment refunded, and the order (cancelled,
    /// in review, rejected or in production) becomes 已退款 with its history row. `false` if it
    /// was done already. `messages` (telling the applicant) are queued in the same transaction.
    /// A failed refund may be finished too, with `resolution` saying how the money went back.
    async fn finish_refund(
        &self,
        refund_id: RefundId,
        resolution: Option<&str>,
        messages: &[NewNotification],
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
}

/// Refunds finance asks for, with the second person's approval, and the failed ones finance decides on.
#[async_trait]
pub trait RefundDesk: Send + Sync {
    /// A failed refund goes back to pending, due at once, its attempts counted anew.
    async fn retry_refund(&self, refund_id: RefundId) -> Result<bool, StoreError>;
    /// Refunds that ended as failed, oldest first.
    async fn failed_refunds(&self) -> Result<Vec<RefundRecord>, StoreError>;
    /// A refund asked for by finance: pending, or awaiting a second person's approval. Fails with
    /// `Duplicate` when the payment already has its refund.
    async fn request_refund(
        &self,
        payment_id: PaymentId,
        reason: &str,
        staff: StaffId,
        needs_approval: bool,
        now: OffsetDateTime,
    ) -> Result<RefundRecord, StoreError>;
    /// Awaiting approval → pending, by someone other than the requester; `false` otherwise.
    async fn approve_refund(&self, refund_id: RefundId, staff: StaffId) -> Result<bool, StoreError>;
    /// Refunds awaiting a second approval.
    async fn refunds_awaiting_approval(&self) -> Result<Vec<RefundRecord>, StoreError>;
}

/// The finance record: every gateway notification received, and the alerts finance must look at.
#[async_trait]
pub trait PaymentJournal: Send + Sync {
    async fn log_notice(&self, notice: &NoticeLog) -> Result<(), StoreError>;
    /// Newest first.
    async fn notices(&self, out_trade_no: Option<&str>, limit: i64) -> Result<Vec<NoticeLog>, StoreError>;
    /// How many notifications failed verification since `since`.
    async fn refused_notices_since(&self, since: OffsetDateTime) -> Result<i64, StoreError>;
    /// Marks an open alert resolved with finance's note; `false` if there is none such.
    async fn resolve_finance_alert(
        &self,
        id: FinanceAlertId,
        staff: StaffId,
        note: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    async fn add_finance_alert(&self, alert: &FinanceAlert) -> Result<(), StoreError>;
    /// Open ones first, newest first within each.
    async fn finance_alerts(&self, limit: i64) -> Result<Vec<FinanceAlert>, StoreError>;
}

/// The daily bill comparison and the takings report.
#[async_trait]
pub trait BillBook: Send + Sync {
    /// Payments of `channel` settled in `[from, to)` (for the daily bill comparison).
    async fn payments_paid_between(
        &self,
        channel: Channel,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<Vec<PaymentRecord>, StoreError>;
    /// Money in (payments settled) and out (refunds done) in `[from, to)`, oldest first.
    async fn money_movements(&self, from: OffsetDateTime, to: OffsetDateTime)
    -> Result<Vec<MoneyMovement>, StoreError>;
    /// Takes the automatic check of `channel`'s bill for `day`: `true` when nobody has checked
    /// it and no other instance holds it (a claim older than `lease` is taken over).
    async fn claim_bill_check(
        &self,
        channel: Channel,
        day: time::Date,
        now: OffsetDateTime,
        lease: time::Duration,
    ) -> Result<bool, StoreError>;
    /// Lets go of a claim whose bill could not be had yet (tried again later).
    async fn release_bill_check(&self, channel: Channel, day: time::Date) -> Result<(), StoreError>;
    /// Records a finished check of the day's bill (automatic, or an upload by `staff`).
    async fn record_bill_check(&self, check: &BillCheck) -> Result<(), StoreError>;
    /// The newest finished checks, newest day first.
    async fn bill_checks(&self, limit: i64) -> Result<Vec<BillCheck>, StoreError>;
}

/// One day's bill compared with our records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillCheck {
    pub channel: Channel,
    pub day: time::Date,
    /// `None` when the bill was fetched from the gateway by itself.
    pub checked_by: Option<StaffId>,
    pub checked_at: OffsetDateTime,
    pub differences: i64,
}
