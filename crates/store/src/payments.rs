//! The payment ports (`PaymentLedger`, `RefundDesk`, `PaymentJournal`, `BillBook`): trades, refunds,
//! notifications and finance alerts. Settling a payment and
//! moving its order happen in one write transaction, each step a conditional update, so 50
//! copies of one notification racing each other change the order exactly once.

use app::StoreError;
use app::gateway::Channel;
use app::ports::{
    BillBook, BillCheck, FinanceAlert, MoneyMovement, NewNotification, NoticeLog, PaymentJournal, PaymentLedger,
    PaymentRecord, RefundDesk, RefundRecord, Settlement,
};
use async_trait::async_trait;
use domain::payment::{PaymentStatus, RefundStatus, refund_request_no};
use domain::{Actor, FinanceAlertId, Money, OrderId, OrderStatus, PaymentId, RefundId, StaffId};
use time::OffsetDateTime;

use crate::sql::{self, Tx};
use crate::{Db, db_err};

sql::row! {
    struct PaymentRow {
        id: i64,
        order_id: i64,
        channel: Channel,
        out_trade_no: String,
        amount_fen: i64,
        status: String,
        trade_no: Option<String>,
        created_at: OffsetDateTime,
        paid_at: Option<OffsetDateTime>,
    }
}

const SELECT_PAYMENT: &str =
    "SELECT id, order_id, channel, out_trade_no, amount_fen, status, trade_no, created_at, paid_at FROM payments";

fn money(fen: i64) -> Result<Money, StoreError> {
    Money::from_fen(fen).map_err(|_| StoreError::Other(format!("stored amount out of range: {fen}")))
}

impl TryFrom<PaymentRow> for PaymentRecord {
    type Error = StoreError;

    fn try_from(r: PaymentRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: PaymentId(r.id),
            order_id: OrderId(r.order_id),
            status: PaymentStatus::parse(&r.status)
                .ok_or_else(|| StoreError::Other(format!("unknown payment status {}", r.status)))?,
            channel: r.channel,
            out_trade_no: r.out_trade_no,
            amount: money(r.amount_fen)?,
            trade_no: r.trade_no,
            created_at: r.created_at,
            paid_at: r.paid_at,
        })
    }
}

sql::row! {
    struct RefundRow {
        id: i64,
        payment_id: i64,
        order_id: i64,
        channel: Channel,
        out_trade_no: String,
        out_request_no: String,
        amount_fen: i64,
        reason: String,
        status: String,
        requested_by: Option<i64>,
        attempts: i64,
        last_error: Option<String>,
        resolution: Option<String>,
    }
}

const SELECT_REFUND: &str = "SELECT r.id, r.payment_id, p.order_id, p.channel, p.out_trade_no, r.out_request_no,
        r.amount_fen, r.reason, r.status, r.requested_by, CAST(r.attempts AS BIGINT) AS attempts, r.last_error,
        r.resolution
     FROM refunds r JOIN payments p ON p.id = r.payment_id";

impl TryFrom<RefundRow> for RefundRecord {
    type Error = StoreError;

    fn try_from(r: RefundRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: RefundId(r.id),
            payment_id: PaymentId(r.payment_id),
            order_id: OrderId(r.order_id),
            channel: r.channel,
            out_trade_no: r.out_trade_no,
            out_request_no: r.out_request_no,
            amount: money(r.amount_fen)?,
            reason: r.reason,
            status: RefundStatus::parse(&r.status)
                .ok_or_else(|| StoreError::Other(format!("unknown refund status {}", r.status)))?,
            requested_by: r.requested_by.map(StaffId),
            attempts: u32::try_from(r.attempts).unwrap_or(u32::MAX),
            last_error: r.last_error,
            resolution: r.resolution,
        })
    }
}

async fn insert_alert(tx: &mut Tx, alert: &FinanceAlert) -> Result<(), StoreError> {
    sql::query(
        "INSERT INTO finance_alerts (kind, order_id, out_trade_no, detail, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(alert.kind.clone())
    .bind(alert.order_id.map(|o| o.0))
    .bind(alert.out_trade_no.clone())
    .bind(alert.detail.clone())
    .bind(alert.created_at)
    .execute(&mut **tx)
    .await
    .map_err(db_err)?;
    Ok(())
}

#[async_trait]
impl PaymentLedger for Db {
    async fn open_payment(
        &self,
        order: OrderId,
        channel: Channel,
        out_trade_no: &str,
        amount: Money,
        now: OffsetDateTime,
    ) -> Result<PaymentRecord, StoreError> {
        let inserted = sql::query(
            "INSERT INTO payments (order_id, channel, out_trade_no, amount_fen, status, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT DO NOTHING",
        )
        .bind(order.0)
        .bind(channel)
        .bind(out_trade_no.to_owned())
        .bind(amount.fen())
        .bind(PaymentStatus::Pending.as_str())
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        let _ = inserted;
        let row: PaymentRow = sql::query_as(&format!("{SELECT_PAYMENT} WHERE order_id = $1 AND channel = $2"))
            .bind(order.0)
            .bind(channel)
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)?;
        row.try_into()
    }

    async fn payment_by_trade(&self, out_trade_no: &str) -> Result<Option<PaymentRecord>, StoreError> {
        let row: Option<PaymentRow> = sql::query_as(&format!("{SELECT_PAYMENT} WHERE out_trade_no = $1"))
            .bind(out_trade_no.to_owned())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.map(TryInto::try_into).transpose()
    }

    async fn payments_of_order(&self, order: OrderId) -> Result<Vec<PaymentRecord>, StoreError> {
        let rows: Vec<PaymentRow> = sql::query_as(&format!("{SELECT_PAYMENT} WHERE order_id = $1 ORDER BY id"))
            .bind(order.0)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn settle_payment(
        &self,
        payment_id: PaymentId,
        trade_no: &str,
        reason: &str,
        notify: &[NewNotification],
        now: OffsetDateTime,
    ) -> Result<Settlement, StoreError> {
        let mut tx = self.write_tx().await?;
        let marked = sql::query(
            "UPDATE payments SET status = $1, trade_no = $2, paid_at = $3, updated_at = $3
             WHERE id = $4 AND status IN ($5, $6)",
        )
        .bind(PaymentStatus::Paid.as_str())
        .bind(trade_no.to_owned())
        .bind(now)
        .bind(payment_id.0)
        .bind(PaymentStatus::Pending.as_str())
        .bind(PaymentStatus::Closed.as_str())
        .execute(&mut *tx)
        .await;
        match marked {
            Ok(done) if done.rows_affected() == 1 => {}
            // Already paid (or the trade number belongs to a payment settled before).
            Ok(_) => return Ok(Settlement::AlreadySettled),
            Err(err) => {
                return match db_err(err) {
                    StoreError::Duplicate(app::Unique::PaymentTradeNo) => Ok(Settlement::AlreadySettled),
                    other => Err(other),
                };
            }
        }
        let row: PaymentRow = sql::query_as(&format!("{SELECT_PAYMENT} WHERE id = $1"))
            .bind(payment_id.0)
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
        let moved = sql::query("UPDATE orders SET status = $1, updated_at = $2 WHERE id = $3 AND status = $4")
            .bind(OrderStatus::UnderReview.as_str())
            .bind(now)
            .bind(row.order_id)
            .bind(OrderStatus::PendingPayment.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        if moved.rows_affected() == 1 {
            crate::history::record_event(
                &mut *tx,
                row.order_id,
                OrderStatus::PendingPayment,
                OrderStatus::UnderReview,
                Actor::PaymentGateway,
                Some(reason),
                now,
            )
            .await?;
            crate::notifications::insert_notifications(&mut tx, notify, now).await?;
            tx.commit().await.map_err(db_err)?;
            return Ok(Settlement::Applied);
        }
        let order_status: String = sql::query_scalar("SELECT status FROM orders WHERE id = $1")
            .bind(row.order_id)
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
        let label = OrderStatus::parse(&order_status).map_or_else(|| order_status.clone(), |s| s.label().to_owned());
        let refund_reason = if order_status == OrderStatus::Cancelled.as_str() {
            "订单已取消后到账，原路退回".to_owned()
        } else {
            format!("订单已通过其他方式支付（当前状态：{label}），重复付款原路退回")
        };
        let out_request_no = refund_request_no(&row.out_trade_no);
        sql::query(
            "INSERT INTO refunds (payment_id, out_request_no, amount_fen, reason, status, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(payment_id.0)
        .bind(out_request_no.clone())
        .bind(row.amount_fen)
        .bind(refund_reason.clone())
        .bind(RefundStatus::Pending.as_str())
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        insert_alert(
            &mut tx,
            &FinanceAlert {
                id: FinanceAlertId(0),
                resolution: None,
                kind: "refund_owed".into(),
                order_id: Some(OrderId(row.order_id)),
                out_trade_no: Some(row.out_trade_no.clone()),
                detail: format!("{refund_reason}：{} 元", money(row.amount_fen)?.to_yuan()),
                created_at: now,
            },
        )
        .await?;
        let refund: RefundRow = sql::query_as(&format!("{SELECT_REFUND} WHERE r.payment_id = $1"))
            .bind(payment_id.0)
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(Settlement::RefundOwed(refund.try_into()?))
    }

    async fn close_payment(&self, payment_id: PaymentId, now: OffsetDateTime) -> Result<bool, StoreError> {
        let done = sql::query("UPDATE payments SET status = $1, updated_at = $2 WHERE id = $3 AND status = $4")
            .bind(PaymentStatus::Closed.as_str())
            .bind(now)
            .bind(payment_id.0)
            .bind(PaymentStatus::Pending.as_str())
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn pending_payments_before(&self, before: OffsetDateTime) -> Result<Vec<PaymentRecord>, StoreError> {
        let rows: Vec<PaymentRow> =
            sql::query_as(&format!("{SELECT_PAYMENT} WHERE status = $1 AND created_at < $2 ORDER BY id"))
                .bind(PaymentStatus::Pending.as_str())
                .bind(before)
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn pending_refunds(&self, now: OffsetDateTime) -> Result<Vec<RefundRecord>, StoreError> {
        let rows: Vec<RefundRow> = sql::query_as(&format!(
            "{SELECT_REFUND} WHERE r.status = $1 AND (r.next_attempt_at IS NULL OR r.next_attempt_at <= $2) ORDER BY r.id"
        ))
        .bind(RefundStatus::Pending.as_str())
        .bind(now)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn refund_attempt_failed(
        &self,
        refund_id: RefundId,
        error: &str,
        retry_at: Option<OffsetDateTime>,
    ) -> Result<bool, StoreError> {
        let status = if retry_at.is_some() { RefundStatus::Pending } else { RefundStatus::Failed };
        let done = sql::query(
            "UPDATE refunds SET attempts = attempts + 1, last_error = $1, next_attempt_at = $2, status = $3
             WHERE id = $4 AND status = $5",
        )
        .bind(error.chars().take(500).collect::<String>())
        .bind(retry_at)
        .bind(status.as_str())
        .bind(refund_id.0)
        .bind(RefundStatus::Pending.as_str())
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn refunds_of_order(&self, order: OrderId) -> Result<Vec<RefundRecord>, StoreError> {
        let rows: Vec<RefundRow> = sql::query_as(&format!("{SELECT_REFUND} WHERE p.order_id = $1 ORDER BY r.id"))
            .bind(order.0)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn finish_refund(
        &self,
        refund_id: RefundId,
        resolution: Option<&str>,
        messages: &[NewNotification],
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut tx = self.write_tx().await?;
        // The gateway's success finishes a pending (or meanwhile failed) refund; a settlement
        // recorded by finance only a failed one — never one a retry is sending at that moment.
        let (a, b) = if resolution.is_some() {
            (RefundStatus::Failed, RefundStatus::Failed)
        } else {
            (RefundStatus::Pending, RefundStatus::Failed)
        };
        let done = sql::query(
            "UPDATE refunds SET status = $1, done_at = $2, resolution = $3, next_attempt_at = NULL
             WHERE id = $4 AND (status = $5 OR status = $6)",
        )
        .bind(RefundStatus::Done.as_str())
        .bind(now)
        .bind(resolution.map(str::to_owned))
        .bind(refund_id.0)
        .bind(a.as_str())
        .bind(b.as_str())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        let (payment_id, order_id): (i64, i64) = sql::query_as(
            "SELECT p.id, p.order_id FROM refunds r JOIN payments p ON p.id = r.payment_id WHERE r.id = $1",
        )
        .bind(refund_id.0)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
        sql::query("UPDATE payments SET status = $1, updated_at = $2 WHERE id = $3")
            .bind(PaymentStatus::Refunded.as_str())
            .bind(now)
            .bind(payment_id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        let (status, requested_by): (String, Option<i64>) =
            sql::query_as("SELECT o.status, r.requested_by FROM orders o JOIN refunds r ON r.id = $2 WHERE o.id = $1")
                .bind(order_id)
                .bind(refund_id.0)
                .fetch_one(&mut *tx)
                .await
                .map_err(db_err)?;
        let from = OrderStatus::parse(&status).unwrap_or(OrderStatus::Completed);
        // Only an order the money still belongs to moves (a second payment refunded from an
        // order paid another way leaves the order as it is).
        let refundable = matches!(
            from,
            OrderStatus::Cancelled | OrderStatus::UnderReview | OrderStatus::Rejected | OrderStatus::Processing
        );
        let paid_elsewhere: i64 =
            sql::query_scalar("SELECT COUNT(*) FROM payments WHERE order_id = $1 AND status = $2 AND id <> $3")
                .bind(order_id)
                .bind(PaymentStatus::Paid.as_str())
                .bind(payment_id)
                .fetch_one(&mut *tx)
                .await
                .map_err(db_err)?;
        if refundable && paid_elsewhere == 0 {
            let moved = sql::query("UPDATE orders SET status = $1, updated_at = $2 WHERE id = $3 AND status = $4")
                .bind(OrderStatus::Refunded.as_str())
                .bind(now)
                .bind(order_id)
                .bind(from.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            if moved.rows_affected() == 1 {
                let (actor, reason) = if from == OrderStatus::Cancelled {
                    (Actor::System, "订单取消后到账的款项已原路退回")
                } else {
                    (if requested_by.is_some() { Actor::Finance } else { Actor::System }, "款项已原路退回")
                };
                crate::history::record_event(&mut *tx, order_id, from, OrderStatus::Refunded, actor, Some(reason), now)
                    .await?;
            }
        }
        crate::notifications::insert_notifications(&mut tx, messages, now).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }
}

#[async_trait]
impl RefundDesk for Db {
    async fn retry_refund(&self, refund_id: RefundId) -> Result<bool, StoreError> {
        let done = sql::query(
            "UPDATE refunds SET status = $1, attempts = 0, next_attempt_at = NULL WHERE id = $2 AND status = $3",
        )
        .bind(RefundStatus::Pending.as_str())
        .bind(refund_id.0)
        .bind(RefundStatus::Failed.as_str())
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn failed_refunds(&self) -> Result<Vec<RefundRecord>, StoreError> {
        let rows: Vec<RefundRow> = sql::query_as(&format!("{SELECT_REFUND} WHERE r.status = $1 ORDER BY r.id"))
            .bind(RefundStatus::Failed.as_str())
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn request_refund(
        &self,
        payment_id: PaymentId,
        reason: &str,
        staff: StaffId,
        needs_approval: bool,
        now: OffsetDateTime,
    ) -> Result<RefundRecord, StoreError> {
        let mut tx = self.write_tx().await?;
        let payment: PaymentRow = sql::query_as(&format!("{SELECT_PAYMENT} WHERE id = $1"))
            .bind(payment_id.0)
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
        let status = if needs_approval { RefundStatus::AwaitingApproval } else { RefundStatus::Pending };
        sql::query(
            "INSERT INTO refunds (payment_id, out_request_no, amount_fen, reason, status, created_at, requested_by)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(payment_id.0)
        .bind(refund_request_no(&payment.out_trade_no))
        .bind(payment.amount_fen)
        .bind(reason.to_owned())
        .bind(status.as_str())
        .bind(now)
        .bind(staff)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        let refund: RefundRow = sql::query_as(&format!("{SELECT_REFUND} WHERE r.payment_id = $1"))
            .bind(payment_id.0)
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        refund.try_into()
    }

    async fn approve_refund(&self, refund_id: RefundId, staff: StaffId) -> Result<bool, StoreError> {
        let done = sql::query(
            "UPDATE refunds SET status = $1, approved_by = $2
             WHERE id = $3 AND status = $4 AND (requested_by IS NULL OR requested_by <> $2)",
        )
        .bind(RefundStatus::Pending.as_str())
        .bind(staff)
        .bind(refund_id.0)
        .bind(RefundStatus::AwaitingApproval.as_str())
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn refunds_awaiting_approval(&self) -> Result<Vec<RefundRecord>, StoreError> {
        let rows: Vec<RefundRow> = sql::query_as(&format!("{SELECT_REFUND} WHERE r.status = $1 ORDER BY r.id"))
            .bind(RefundStatus::AwaitingApproval.as_str())
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }
}

#[async_trait]
impl PaymentJournal for Db {
    async fn log_notice(&self, notice: &NoticeLog) -> Result<(), StoreError> {
        sql::query(
            "INSERT INTO payment_notices (channel, received_at, verified, out_trade_no, outcome, summary)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(notice.channel)
        .bind(notice.received_at)
        .bind(notice.verified)
        .bind(notice.out_trade_no.clone())
        .bind(notice.outcome.clone())
        .bind(notice.summary.clone())
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn notices(&self, out_trade_no: Option<&str>, limit: i64) -> Result<Vec<NoticeLog>, StoreError> {
        type Row = (Channel, OffsetDateTime, bool, Option<String>, String, String);
        let rows: Vec<Row> = match out_trade_no {
            Some(no) => sql::query_as(
                "SELECT channel, received_at, verified, out_trade_no, outcome, summary FROM payment_notices
                 WHERE out_trade_no = $1 ORDER BY id DESC LIMIT $2",
            )
            .bind(no.to_owned())
            .bind(limit),
            None => sql::query_as(
                "SELECT channel, received_at, verified, out_trade_no, outcome, summary FROM payment_notices
                 ORDER BY id DESC LIMIT $1",
            )
            .bind(limit),
        }
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(rows
            .into_iter()
            .map(|(channel, at, verified, out_trade_no, outcome, summary)| NoticeLog {
                channel,
                verified,
                out_trade_no,
                outcome,
                summary,
                received_at: at,
            })
            .collect())
    }

    async fn refused_notices_since(&self, since: OffsetDateTime) -> Result<i64, StoreError> {
        sql::query_scalar("SELECT COUNT(*) FROM payment_notices WHERE NOT verified AND received_at >= $1")
            .bind(since)
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)
    }

    async fn add_finance_alert(&self, alert: &FinanceAlert) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        insert_alert(&mut tx, alert).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn finance_alerts(&self, limit: i64) -> Result<Vec<FinanceAlert>, StoreError> {
        type Row = (FinanceAlertId, String, Option<i64>, Option<String>, String, OffsetDateTime, Option<String>);
        // Open ones first, newest first within each.
        let rows: Vec<Row> = sql::query_as(
            "SELECT id, kind, order_id, out_trade_no, detail, created_at, resolution FROM finance_alerts
             ORDER BY CASE WHEN resolved_at IS NULL THEN 0 ELSE 1 END, id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(rows
            .into_iter()
            .map(|(id, kind, order_id, out_trade_no, detail, at, resolution)| FinanceAlert {
                id,
                kind,
                order_id: order_id.map(OrderId),
                out_trade_no,
                detail,
                created_at: at,
                resolution,
            })
            .collect())
    }

    async fn resolve_finance_alert(
        &self,
        id: FinanceAlertId,
        staff: StaffId,
        note: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let done = sql::query(
            "UPDATE finance_alerts SET resolved_at = $1, resolved_by = $2, resolution = $3
             WHERE id = $4 AND resolved_at IS NULL",
        )
        .bind(now)
        .bind(staff)
        .bind(note.to_owned())
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }
}

#[async_trait]
impl BillBook for Db {
    async fn payments_paid_between(
        &self,
        channel: Channel,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<Vec<PaymentRecord>, StoreError> {
        let rows: Vec<PaymentRow> = sql::query_as(&format!(
            "{SELECT_PAYMENT} WHERE channel = $1 AND paid_at >= $2 AND paid_at < $3 ORDER BY id"
        ))
        .bind(channel)
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn money_movements(
        &self,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<Vec<MoneyMovement>, StoreError> {
        sql::row! {
            struct Row {
                at: OffsetDateTime,
                refund: i64,
                order_no: String,
                channel: Channel,
                out_trade_no: String,
                trade_no: Option<String>,
                amount_fen: i64,
            }
        }
        let rows: Vec<Row> = sql::query_as(
            "SELECT p.paid_at AS at, CAST(0 AS BIGINT) AS refund, o.order_no, p.channel, p.out_trade_no, p.trade_no, p.amount_fen
               FROM payments p JOIN orders o ON o.id = p.order_id
              WHERE p.paid_at >= $1 AND p.paid_at < $2
             UNION ALL
             SELECT r.done_at AS at, CAST(1 AS BIGINT) AS refund, o.order_no, p.channel, p.out_trade_no, p.trade_no, r.amount_fen
               FROM refunds r JOIN payments p ON p.id = r.payment_id JOIN orders o ON o.id = p.order_id
              WHERE r.status = $3 AND r.done_at >= $1 AND r.done_at < $2
             ORDER BY at",
        )
        .bind(from)
        .bind(to)
        .bind(RefundStatus::Done.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.into_iter()
            .map(|r| {
                Ok(MoneyMovement {
                    at: r.at,
                    refund: r.refund == 1,
                    order_no: r.order_no,
                    channel: r.channel,
                    out_trade_no: r.out_trade_no,
                    trade_no: r.trade_no,
                    amount: money(r.amount_fen)?,
                })
            })
            .collect()
    }

    async fn claim_bill_check(
        &self,
        channel: Channel,
        day: time::Date,
        now: OffsetDateTime,
        lease: time::Duration,
    ) -> Result<bool, StoreError> {
        let taken = sql::query(
            "INSERT INTO bill_checks (channel, day, claimed_at) VALUES ($1, $2, $3)
             ON CONFLICT (channel, day) DO UPDATE SET claimed_at = excluded.claimed_at
             WHERE bill_checks.checked_at IS NULL AND bill_checks.claimed_at < $4",
        )
        .bind(channel)
        .bind(day.to_string())
        .bind(now)
        .bind(now - lease)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(taken.rows_affected() == 1)
    }

    async fn release_bill_check(&self, channel: Channel, day: time::Date) -> Result<(), StoreError> {
        sql::query("DELETE FROM bill_checks WHERE channel = $1 AND day = $2 AND checked_at IS NULL")
            .bind(channel)
            .bind(day.to_string())
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn record_bill_check(&self, check: &BillCheck) -> Result<(), StoreError> {
        sql::query(
            "INSERT INTO bill_checks (channel, day, claimed_at, checked_at, checked_by, differences)
             VALUES ($1, $2, $3, $3, $4, $5)
             ON CONFLICT (channel, day) DO UPDATE SET checked_at = excluded.checked_at,
                 checked_by = excluded.checked_by, differences = excluded.differences",
        )
        .bind(check.channel)
        .bind(check.day.to_string())
        .bind(check.checked_at)
        .bind(check.checked_by)
        .bind(check.differences)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn bill_checks(&self, limit: i64) -> Result<Vec<BillCheck>, StoreError> {
        type Row = (Channel, String, OffsetDateTime, Option<StaffId>, i64);
        let rows: Vec<Row> = sql::query_as(
            "SELECT channel, day, checked_at, checked_by, differences FROM bill_checks
             WHERE checked_at IS NOT NULL ORDER BY day DESC, channel LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        let format = time::macros::format_description!("[year]-[month]-[day]");
        rows.into_iter()
            .map(|(channel, day, at, checked_by, differences)| {
                Ok(BillCheck {
                    channel,
                    day: time::Date::parse(&day, format)
                        .map_err(|_| StoreError::Other(format!("stored bill check has a bad day: {day}")))?,
                    checked_by,
                    checked_at: at,
                    differences,
                })
            })
            .collect()
    }
}
