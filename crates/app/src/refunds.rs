//! 退款 by finance: a paid order is refunded on a stated reason; above a set amount a second
//! finance person approves first (the requester never approves their own); a refund the gateway
//! would not make is retried by hand or recorded as returned another way. Every step is audited.
//! The gateway calls themselves are [`Payments`]'.

use std::sync::Arc;

use domain::payment::{PaymentStatus, RefundStatus};
use domain::staff::Role;
use domain::{Actor, Money, OrderEvent, OrderId, RefundId, order_status};

use crate::clock::Clock;
use crate::payment::Payments;
use crate::ports::{OrderBook, OrderRecord, PaymentLedger, PaymentRecord, RefundDesk, RefundRecord};
use crate::staff::{AuditTrail, CurrentStaff};
use crate::{Error, StoreError};

/// Whether finance may refund the order now: paid, not refunded yet, and in a state a refund
/// may leave (the order's state machine says which).
pub fn refundable(order: &OrderRecord, payments: &[PaymentRecord], refunds: &[RefundRecord]) -> bool {
    refunds.is_empty()
        && payments.iter().any(|p| p.status == PaymentStatus::Paid)
        && order_status::transition(order.status, OrderEvent::Refund, Actor::Finance).is_ok()
}

/// Refunds finance asks for, approves, retries and settles.
#[derive(Clone)]
pub struct Refunds {
    desk: Arc<dyn RefundDesk>,
    ledger: Arc<dyn PaymentLedger>,
    orders: Arc<dyn OrderBook>,
    audit: AuditTrail,
    pub(crate) payments: Payments,
    clock: Arc<dyn Clock>,
    /// Refunds above this amount need a second finance person's approval.
    approval_above: Money,
}

/// The ports a [`Refunds`] works with.
pub struct RefundPorts {
    pub desk: Arc<dyn RefundDesk>,
    pub ledger: Arc<dyn PaymentLedger>,
    pub orders: Arc<dyn OrderBook>,
    pub audit: AuditTrail,
    pub payments: Payments,
    pub clock: Arc<dyn Clock>,
}

impl Refunds {
    pub fn new(ports: RefundPorts, approval_above: Money) -> Self {
        let RefundPorts { desk, ledger, orders, audit, payments, clock } = ports;
        Self { desk, ledger, orders, audit, payments, clock, approval_above }
    }

    /// Refunds a paid order (abandoned after rejection, or cancelled by agreement before
    /// production). Above `Policy::refund_approval_above` a second finance person approves.
    pub async fn request_refund(&self, staff: &CurrentStaff, id: OrderId, reason: &str) -> Result<RefundRecord, Error> {
        staff.require(&[Role::Finance])?;
        let order = self.orders.order_by_id(id).await?.ok_or(Error::NotFound)?;
        let reason = reason.trim();
        if reason.chars().count() < 2 {
            return Err(Error::field("reason", "reason_required", "请填写退款原因"));
        }
        let payments = self.ledger.payments_of_order(id).await?;
        if !refundable(&order, &payments, &self.ledger.refunds_of_order(id).await?) {
            return Err(Error::Conflict {
                code: "not_refundable",
                message: "该订单当前不能退款（未支付、已退款或已发货）".into(),
            });
        }
        let payment = payments.iter().find(|p| p.status == PaymentStatus::Paid).ok_or(Error::NotFound)?;
        let needs_approval = payment.amount > self.approval_above;
        let refund =
            match self.desk.request_refund(payment.id, reason, staff.id, needs_approval, self.clock.now()).await {
                Ok(refund) => refund,
                Err(StoreError::Duplicate(crate::Unique::RefundOfPayment)) => {
                    return Err(Error::Conflict {
                        code: "refund_exists", message: "该笔付款已有退款申请".into()
                    });
                }
                Err(err) => return Err(err.into()),
            };
        let detail =
            format!("{} 元：{reason}{}", payment.amount.to_yuan(), if needs_approval { "（待复核）" } else { "" });
        self.audit.record(Some(staff.id), "refund.request", Some(id), &detail).await?;
        if !needs_approval {
            self.refund_now(&refund).await?;
        }
        Ok(refund)
    }

    /// The second person's approval of a large refund; then the money goes back.
    pub async fn approve_refund(&self, staff: &CurrentStaff, refund_id: RefundId) -> Result<(), Error> {
        staff.require(&[Role::Finance])?;
        let refund = self
            .desk
            .refunds_awaiting_approval()
            .await?
            .into_iter()
            .find(|r| r.id == refund_id)
            .ok_or(Error::NotFound)?;
        if refund.requested_by == Some(staff.id) || !self.desk.approve_refund(refund_id, staff.id).await? {
            return Err(Error::Conflict {
                code: "second_approver_required",
                message: "大额退款需由另一位财务人员复核".into(),
            });
        }
        let detail = format!("{} 元", refund.amount.to_yuan());
        self.audit.record(Some(staff.id), "refund.approve", Some(refund.order_id), &detail).await?;
        self.refund_now(&RefundRecord { status: RefundStatus::Pending, ..refund }).await
    }

    /// 重试: a failed refund goes back to the gateway now (and on the retry schedule after).
    /// `Ok(true)` when the gateway made it this time.
    pub async fn retry_failed_refund(&self, staff: &CurrentStaff, refund_id: RefundId) -> Result<bool, Error> {
        staff.require(&[Role::Finance])?;
        let refund = self.failed_refund(refund_id).await?;
        if !self.desk.retry_refund(refund_id).await? {
            return Err(not_failed());
        }
        let detail = format!("{} 元", refund.amount.to_yuan());
        self.audit.record(Some(staff.id), "refund.retry", Some(refund.order_id), &detail).await?;
        let pending = RefundRecord { status: RefundStatus::Pending, attempts: 0, ..refund };
        match self.payments.make_refund(&pending).await {
            Ok(()) => Ok(true),
            Err(Error::Unavailable { .. }) => Ok(false),
            Err(err) => Err(err),
        }
    }

    /// 已线下退款: finance returned the money another way (bank transfer, cash at the hall) and
    /// records how; the refund is done, the order 已退款, the applicant told. Audited.
    pub async fn settle_failed_refund_offline(
        &self,
        staff: &CurrentStaff,
        refund_id: RefundId,
        note: &str,
    ) -> Result<(), Error> {
        staff.require(&[Role::Finance])?;
        let note = note.trim();
        if note.chars().count() < 4 || note.chars().count() > 200 {
            return Err(Error::field("note", "note_required", "请写明线下退款的方式与凭证号（4–200 字）"));
        }
        let refund = self.failed_refund(refund_id).await?;
        let detail = format!("{} 元：{note}", refund.amount.to_yuan());
        self.audit.record(Some(staff.id), "refund.offline", Some(refund.order_id), &detail).await?;
        self.payments.settle_refund(&refund, Some(note)).await
    }

    async fn failed_refund(&self, refund_id: RefundId) -> Result<RefundRecord, Error> {
        let failed = self.desk.failed_refunds().await?;
        failed.into_iter().find(|r| r.id == refund_id).ok_or_else(not_failed)
    }

    async fn refund_now(&self, refund: &RefundRecord) -> Result<(), Error> {
        // A gateway that cannot be reached leaves the refund pending; the reconciliation job retries.
        match self.payments.make_refund(refund).await {
            Ok(()) | Err(Error::Unavailable { .. }) => Ok(()),
            Err(err) => Err(err),
        }
    }
}

fn not_failed() -> Error {
    Error::Conflict {
        code: "refund_not_failed", message: "该退款不在“退款失败”状态，请刷新页面".into()
    }
}

#[cfg(test)]
mod tests;
