//! Trades, refunds, the finance record and the bill checks.

use super::{Books, lock};
use crate::StoreError;
use crate::gateway::Channel;
use crate::ports::{
    BillBook, BillCheck, FinanceAlert, MoneyMovement, NewNotification, NoticeLog, PaymentJournal, PaymentLedger,
    PaymentRecord, RefundDesk, RefundRecord, Settlement,
};
use async_trait::async_trait;
use domain::payment::{PaymentStatus, RefundStatus, refund_request_no};
use domain::{FinanceAlertId, Money, OrderId, OrderStatus, PaymentId, RefundId, StaffId};
use time::OffsetDateTime;

#[async_trait]
impl PaymentLedger for Books {
    async fn open_payment(
        &self,
        order: OrderId,
        channel: Channel,
        out_trade_no: &str,
        amount: Money,
        now: OffsetDateTime,
    ) -> Result<PaymentRecord, StoreError> {
        let mut state = lock(&self.state);
        if let Some(open) = state.payments.iter().find(|p| p.order_id == order && p.channel == channel) {
            return Ok(open.clone());
        }
        state.write()?;
        let payment = PaymentRecord {
            id: PaymentId(i64::try_from(state.payments.len()).unwrap_or(0) + 1),
            order_id: order,
            channel,
            out_trade_no: out_trade_no.into(),
            amount,
            status: PaymentStatus::Pending,
            trade_no: None,
            created_at: now,
            paid_at: None,
        };
        state.payments.push(payment.clone());
        Ok(payment)
    }

    async fn payment_by_trade(&self, out_trade_no: &str) -> Result<Option<PaymentRecord>, StoreError> {
        Ok(lock(&self.state).payments.iter().find(|p| p.out_trade_no == out_trade_no).cloned())
    }

    async fn payments_of_order(&self, order: OrderId) -> Result<Vec<PaymentRecord>, StoreError> {
        Ok(lock(&self.state).payments.iter().filter(|p| p.order_id == order).cloned().collect())
    }

    async fn settle_payment(
        &self,
        payment_id: PaymentId,
        trade_no: &str,
        reason: &str,
        notify: &[NewNotification],
        now: OffsetDateTime,
    ) -> Result<Settlement, StoreError> {
        let mut state = lock(&self.state);
        state.write()?;
        let payment = state
            .payments
            .iter_mut()
            .find(|p| p.id == payment_id)
            .ok_or_else(|| StoreError::Other("no such payment".into()))?;
        if !matches!(payment.status, PaymentStatus::Pending | PaymentStatus::Closed) {
            return Ok(Settlement::AlreadySettled);
        }
        payment.status = PaymentStatus::Paid;
        payment.trade_no = Some(trade_no.into());
        payment.paid_at = Some(now);
        let payment = payment.clone();
        if state.orders.get(&payment.order_id).is_some_and(|o| o.status == OrderStatus::PendingPayment) {
            state.move_order(payment.order_id, OrderStatus::UnderReview, reason, now);
            state.queued.extend_from_slice(notify);
            return Ok(Settlement::Applied);
        }
        let refund = RefundRecord {
            id: RefundId(i64::try_from(state.refunds.len()).unwrap_or(0) + 1),
            payment_id,
            order_id: payment.order_id,
            channel: payment.channel,
            out_trade_no: payment.out_trade_no.clone(),
            out_request_no: refund_request_no(&payment.out_trade_no),
            amount: payment.amount,
            reason: "订单已不能收款，原路退款".into(),
            status: RefundStatus::Pending,
            requested_by: None,
            attempts: 0,
            last_error: None,
            resolution: None,
        };
        state.refunds.push((refund.clone(), now));
        Ok(Settlement::RefundOwed(refund))
    }

    async fn close_payment(&self, payment_id: PaymentId, _now: OffsetDateTime) -> Result<bool, StoreError> {
        let mut state = lock(&self.state);
        state.write()?;
        Ok(match state.payments.iter_mut().find(|p| p.id == payment_id && p.status == PaymentStatus::Pending) {
            Some(payment) => {
                payment.status = PaymentStatus::Closed;
                true
            }
            None => false,
        })
    }

    async fn pending_payments_before(&self, before: OffsetDateTime) -> Result<Vec<PaymentRecord>, StoreError> {
        let state = lock(&self.state);
        Ok(state
            .payments
            .iter()
            .filter(|p| p.status == PaymentStatus::Pending && p.created_at < before)
            .cloned()
            .collect())
    }

    async fn pending_refunds(&self, now: OffsetDateTime) -> Result<Vec<RefundRecord>, StoreError> {
        let state = lock(&self.state);
        let due = state.refunds.iter().filter(|(r, due)| r.status == RefundStatus::Pending && *due <= now);
        Ok(due.map(|(r, _)| r.clone()).collect())
    }

    async fn refund_attempt_failed(
        &self,
        refund_id: RefundId,
        error: &str,
        retry_at: Option<OffsetDateTime>,
    ) -> Result<bool, StoreError> {
        let mut state = lock(&self.state);
        state.write()?;
        let Some((refund, due)) =
            state.refunds.iter_mut().find(|(r, _)| r.id == refund_id && r.status == RefundStatus::Pending)
        else {
            return Ok(false);
        };
        refund.attempts += 1;
        refund.last_error = Some(error.into());
        match retry_at {
            Some(at) => *due = at,
            None => refund.status = RefundStatus::Failed,
        }
        Ok(true)
    }

    async fn refunds_of_order(&self, order: OrderId) -> Result<Vec<RefundRecord>, StoreError> {
        Ok(lock(&self.state).refunds.iter().filter(|(r, _)| r.order_id == order).map(|(r, _)| r.clone()).collect())
    }

    async fn finish_refund(
        &self,
        refund_id: RefundId,
        resolution: Option<&str>,
        messages: &[NewNotification],
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut state = lock(&self.state);
        state.write()?;
        let Some((refund, due)) = state
            .refunds
            .iter_mut()
            .find(|(r, _)| r.id == refund_id && matches!(r.status, RefundStatus::Pending | RefundStatus::Failed))
        else {
            return Ok(false);
        };
        refund.status = RefundStatus::Done;
        refund.resolution = resolution.map(str::to_owned);
        *due = now;
        let (payment_id, order_id) = (refund.payment_id, refund.order_id);
        if let Some(payment) = state.payments.iter_mut().find(|p| p.id == payment_id) {
            payment.status = PaymentStatus::Refunded;
        }
        if state.orders.get(&order_id).is_some_and(|o| o.status != OrderStatus::Refunded) {
            state.move_order(order_id, OrderStatus::Refunded, "退款完成", now);
        }
        state.queued.extend_from_slice(messages);
        Ok(true)
    }
}

#[async_trait]
impl PaymentJournal for Books {
    async fn log_notice(&self, notice: &NoticeLog) -> Result<(), StoreError> {
        let mut state = lock(&self.state);
        state.write()?;
        state.notices.push(notice.clone());
        Ok(())
    }

    async fn notices(&self, out_trade_no: Option<&str>, limit: i64) -> Result<Vec<NoticeLog>, StoreError> {
        let state = lock(&self.state);
        let matching =
            state.notices.iter().rev().filter(|n| out_trade_no.is_none_or(|no| n.out_trade_no.as_deref() == Some(no)));
        Ok(matching.take(usize::try_from(limit).unwrap_or(0)).cloned().collect())
    }

    async fn refused_notices_since(&self, since: OffsetDateTime) -> Result<i64, StoreError> {
        let state = lock(&self.state);
        let refused = state.notices.iter().filter(|n| !n.verified && n.received_at >= since).count();
        Ok(i64::try_from(refused).unwrap_or(i64::MAX))
    }

    async fn resolve_finance_alert(
        &self,
        id: FinanceAlertId,
        _staff: StaffId,
        note: &str,
        _now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut state = lock(&self.state);
        state.write()?;
        Ok(match state.alerts.iter_mut().find(|a| a.id == id && a.resolution.is_none()) {
            Some(alert) => {
                alert.resolution = Some(note.into());
                true
            }
            None => false,
        })
    }

    async fn add_finance_alert(&self, alert: &FinanceAlert) -> Result<(), StoreError> {
        let mut state = lock(&self.state);
        state.write()?;
        let id = FinanceAlertId(i64::try_from(state.alerts.len()).unwrap_or(0) + 1);
        state.alerts.push(FinanceAlert { id, ..alert.clone() });
        Ok(())
    }

    async fn finance_alerts(&self, limit: i64) -> Result<Vec<FinanceAlert>, StoreError> {
        let state = lock(&self.state);
        Ok(state.alerts.iter().rev().take(usize::try_from(limit).unwrap_or(0)).cloned().collect())
    }
}

#[async_trait]
impl RefundDesk for Books {
    async fn retry_refund(&self, refund_id: RefundId) -> Result<bool, StoreError> {
        let mut state = lock(&self.state);
        state.write()?;
        let Some((refund, due)) =
            state.refunds.iter_mut().find(|(r, _)| r.id == refund_id && r.status == RefundStatus::Failed)
        else {
            return Ok(false);
        };
        refund.status = RefundStatus::Pending;
        refund.attempts = 0;
        *due = OffsetDateTime::UNIX_EPOCH;
        Ok(true)
    }

    async fn failed_refunds(&self) -> Result<Vec<RefundRecord>, StoreError> {
        let state = lock(&self.state);
        Ok(state.refunds.iter().filter(|(r, _)| r.status == RefundStatus::Failed).map(|(r, _)| r.clone()).collect())
    }

    async fn request_refund(
        &self,
        payment_id: PaymentId,
        reason: &str,
        staff: StaffId,
        needs_approval: bool,
        now: OffsetDateTime,
    ) -> Result<RefundRecord, StoreError> {
        let mut state = lock(&self.state);
        state.write()?;
        if state.refunds.iter().any(|(r, _)| r.payment_id == payment_id) {
            return Err(StoreError::Duplicate(crate::Unique::RefundOfPayment));
        }
        let payment = state.payments.iter().find(|p| p.id == payment_id).cloned();
        let payment = payment.ok_or_else(|| StoreError::Other("no such payment".into()))?;
        let refund = RefundRecord {
            id: RefundId(i64::try_from(state.refunds.len()).unwrap_or(0) + 1),
            payment_id,
            order_id: payment.order_id,
            channel: payment.channel,
            out_request_no: refund_request_no(&payment.out_trade_no),
            out_trade_no: payment.out_trade_no,
            amount: payment.amount,
            reason: reason.into(),
            status: if needs_approval { RefundStatus::AwaitingApproval } else { RefundStatus::Pending },
            requested_by: Some(staff),
            attempts: 0,
            last_error: None,
            resolution: None,
        };
        state.refunds.push((refund.clone(), now));
        Ok(refund)
    }

    async fn approve_refund(&self, refund_id: RefundId, staff: StaffId) -> Result<bool, StoreError> {
        let mut state = lock(&self.state);
        state.write()?;
        let awaiting = state.refunds.iter_mut().find(|(r, _)| {
            r.id == refund_id && r.status == RefundStatus::AwaitingApproval && r.requested_by != Some(staff)
        });
        Ok(match awaiting {
            Some((refund, _)) => {
                refund.status = RefundStatus::Pending;
                true
            }
            None => false,
        })
    }

    async fn refunds_awaiting_approval(&self) -> Result<Vec<RefundRecord>, StoreError> {
        let state = lock(&self.state);
        let awaiting = state.refunds.iter().filter(|(r, _)| r.status == RefundStatus::AwaitingApproval);
        Ok(awaiting.map(|(r, _)| r.clone()).collect())
    }
}

#[async_trait]
impl BillBook for Books {
    async fn payments_paid_between(
        &self,
        channel: Channel,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<Vec<PaymentRecord>, StoreError> {
        let state = lock(&self.state);
        let paid =
            state.payments.iter().filter(|p| p.channel == channel && p.paid_at.is_some_and(|at| from <= at && at < to));
        Ok(paid.cloned().collect())
    }

    async fn money_movements(
        &self,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<Vec<MoneyMovement>, StoreError> {
        let state = lock(&self.state);
        let order_no = |id: OrderId| state.orders.get(&id).map(|o| o.order.order_no.clone()).unwrap_or_default();
        let mut moves: Vec<MoneyMovement> = state
            .payments
            .iter()
            .filter_map(|p| p.paid_at.filter(|at| from <= *at && *at < to).map(|at| (p, at)))
            .map(|(p, at)| MoneyMovement {
                at,
                refund: false,
                order_no: order_no(p.order_id),
                channel: p.channel,
                out_trade_no: p.out_trade_no.clone(),
                trade_no: p.trade_no.clone(),
                amount: p.amount,
            })
            .collect();
        let done = state.refunds.iter().filter(|(r, at)| r.status == RefundStatus::Done && from <= *at && *at < to);
        moves.extend(done.map(|(r, at)| MoneyMovement {
            at: *at,
            refund: true,
            order_no: order_no(r.order_id),
            channel: r.channel,
            out_trade_no: r.out_trade_no.clone(),
            trade_no: None,
            amount: r.amount,
        }));
        moves.sort_by_key(|m| m.at);
        Ok(moves)
    }

    async fn claim_bill_check(
        &self,
        channel: Channel,
        day: time::Date,
        now: OffsetDateTime,
        lease: time::Duration,
    ) -> Result<bool, StoreError> {
        let mut state = lock(&self.state);
        state.write()?;
        match state.bill_checks.get(&(channel, day)) {
            Some((_, Some(_))) => Ok(false),
            Some((claimed, None)) if now - *claimed < lease => Ok(false),
            _ => {
                state.bill_checks.insert((channel, day), (now, None));
                Ok(true)
            }
        }
    }

    async fn release_bill_check(&self, channel: Channel, day: time::Date) -> Result<(), StoreError> {
        let mut state = lock(&self.state);
        if matches!(state.bill_checks.get(&(channel, day)), Some((_, None))) {
            state.bill_checks.remove(&(channel, day));
        }
        Ok(())
    }

    async fn record_bill_check(&self, check: &BillCheck) -> Result<(), StoreError> {
        let mut state = lock(&self.state);
        state.write()?;
        state.bill_checks.insert((check.channel, check.day), (check.checked_at, Some(check.clone())));
        Ok(())
    }

    async fn bill_checks(&self, limit: i64) -> Result<Vec<BillCheck>, StoreError> {
        let state = lock(&self.state);
        let mut checks: Vec<BillCheck> = state.bill_checks.values().filter_map(|(_, c)| c.clone()).collect();
        checks.sort_by_key(|c| std::cmp::Reverse(c.day));
        checks.truncate(usize::try_from(limit).unwrap_or(0));
        Ok(checks)
    }
}
