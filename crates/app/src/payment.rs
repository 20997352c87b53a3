//! Paying for an order (SECURITY F1–F7). The order's state changes only on a verified
//! notification or on an active query of the gateway — never because a browser came back from
//! the cashier. Every confirmation goes through one path, `Payments::settle`: the amount is
//! compared in fen, the payment is settled once (unique trade number, conditional updates), and
//! money that arrives for an order that cannot take it any more is refunded exactly once.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::gateway::{
    Ack, Channel, Charge, Checkout, CloseOutcome, Decision, Gateway, GatewayError, Method, TradeState,
};
use domain::payment::{PaymentStatus, RefundStatus};
use domain::{OrderId, OrderStatus};

use crate::clock::Clock;
use crate::notifications::{Announcer, Tell};
use crate::orders::OrderView;
use crate::ports::{
    FinanceAlert, NoticeLog, OrderBook, PaymentJournal, PaymentLedger, PaymentRecord, RefundRecord, Settlement,
};
use crate::sessions::CurrentUser;
use crate::{Error, Policy};

/// Refused notifications within this window …
const FORGERY_WINDOW: time::Duration = time::Duration::minutes(10);
/// … that raise an alert when they reach this many.
const FORGERY_ALERT_AT: i64 = 5;

/// The configured payment channels.
#[derive(Clone, Default)]
pub struct Gateways(BTreeMap<Channel, Arc<dyn Gateway>>);

impl Gateways {
    pub fn new(gateways: impl IntoIterator<Item = Arc<dyn Gateway>>) -> Self {
        Self(gateways.into_iter().map(|g| (g.channel(), g)).collect())
    }

    pub fn channels(&self) -> Vec<Channel> {
        self.0.keys().copied().collect()
    }

    pub(crate) fn get(&self, channel: Channel) -> Result<&Arc<dyn Gateway>, Error> {
        self.0.get(&channel).ok_or_else(|| Error::Conflict {
            code: "payment_channel_unavailable",
            message: format!("暂不支持{}，请选择其他支付方式", channel.label()),
        })
    }
}

/// Paying for orders: checkouts, notifications, settlement, reconciliation and the refunds owed.
/// It holds only the ports it needs, so its rules are tested against in-memory fakes.
#[derive(Clone)]
pub struct Payments {
    ledger: Arc<dyn PaymentLedger>,
    journal: Arc<dyn PaymentJournal>,
    orders: Arc<dyn OrderBook>,
    announcer: Arc<dyn Announcer>,
    pub(crate) gateways: Gateways,
    clock: Arc<dyn Clock>,
    rules: PaymentRules,
}

/// The policy paying follows.
#[derive(Debug, Clone, Copy)]
pub struct PaymentRules {
    /// How long an order may wait for payment (the trade stays payable as long).
    pub unpaid_order_ttl: time::Duration,
    /// How long a payment may stay pending before reconciliation asks the gateway.
    pub reconcile_after: time::Duration,
}

impl From<&Policy> for PaymentRules {
    fn from(policy: &Policy) -> Self {
        Self { unpaid_order_ttl: policy.unpaid_order_ttl, reconcile_after: policy.reconcile_after }
    }
}

/// The ports a [`Payments`] works with.
pub struct PaymentPorts {
    pub ledger: Arc<dyn PaymentLedger>,
    pub journal: Arc<dyn PaymentJournal>,
    pub orders: Arc<dyn OrderBook>,
    pub announcer: Arc<dyn Announcer>,
    pub clock: Arc<dyn Clock>,
}

/// What one reconciliation cycle did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reconciled {
    /// Pending payments found paid at the gateway and applied.
    pub paid: usize,
    /// Pending payments the gateway closed.
    pub closed: usize,
    /// Refunds made.
    pub refunded: usize,
    /// Gateways that could not be asked (tried again next cycle).
    pub errors: usize,
}

fn unavailable(err: &GatewayError) -> Error {
    tracing::warn!(error = %err, "payment gateway call failed");
    Error::Unavailable {
        code: "payment_gateway_unavailable", message: "支付平台暂时无法连接，请稍后再试".into()
    }
}

/// When a refund the gateway did not make is tried again, after each failed attempt: five more
/// tries over about 15 hours, then it is 退款失败 and finance decides.
pub const REFUND_RETRIES: [time::Duration; 5] = [
    time::Duration::minutes(1),
    time::Duration::minutes(10),
    time::Duration::hours(1),
    time::Duration::hours(3),
    time::Duration::hours(12),
];

impl Payments {
    pub fn new(ports: PaymentPorts, gateways: Gateways, rules: PaymentRules) -> Self {
        let PaymentPorts { ledger, journal, orders, announcer, clock } = ports;
        Self { ledger, journal, orders, announcer, gateways, clock, rules }
    }

    /// The user's own order with its history; `NotFound` for anyone else's.
    async fn order(&self, user: &CurrentUser, id: OrderId) -> Result<OrderView, Error> {
        OrderView::of_owner(self.orders.as_ref(), user, id).await
    }

    /// The channels the applicant can choose.
    pub fn payment_channels(&self) -> Vec<Channel> {
        self.gateways.channels()
    }

    /// 去支付: opens (or reopens) the order's trade at the chosen channel and says where the
    /// browser goes.
    pub async fn start_payment(&self, user: &CurrentUser, id: OrderId, method: &Method) -> Result<Checkout, Error> {
        let view = self.order(user, id).await?;
        if view.record.status != OrderStatus::PendingPayment {
            return Err(Error::Conflict {
                code: "order_not_payable",
                message: format!("订单当前状态为“{}”，无需支付", view.record.status.label()),
            });
        }
        if let Method::CpcnBank { bank_id } = method
            && !domain::payment::is_bank(bank_id)
        {
            return Err(Error::field("bank_id", "bank_invalid", "请选择付款银行"));
        }
        let channel = method.channel();
        let gateway = self.gateways.get(channel)?;
        let order = &view.record.order;
        let now = self.clock.now();
        let out_trade_no = format!("{}{}", order.order_no, channel.trade_suffix());
        let payment = self.ledger.open_payment(id, channel, &out_trade_no, order.fees.total, now).await?;
        match payment.status {
            PaymentStatus::Pending => {}
            PaymentStatus::Paid | PaymentStatus::Refunded => {
                return Err(Error::Conflict {
                    code: "order_not_payable",
                    message: "该订单已支付，请刷新订单查看状态".into(),
                });
            }
            PaymentStatus::Closed => {
                return Err(Error::Conflict {
                    code: "payment_closed",
                    message: "该笔交易已关闭，请刷新订单查看状态".into(),
                });
            }
        }
        // The trade stays payable exactly as long as the order waits for payment.
        let left = (view.record.created_at + self.rules.unpaid_order_ttl - now).whole_minutes();
        let charge = Charge {
            out_trade_no,
            total: payment.amount,
            subject: format!("电子签章 {}", order.package_name),
            timeout_minutes: u32::try_from(left.clamp(1, 15 * 24 * 60)).unwrap_or(1),
        };
        gateway.checkout(&charge, method, now).await.map_err(|e| unavailable(&e))
    }

    /// 我已支付，刷新状态 (and the return page): asks the gateway about the order's open trades.
    pub async fn refresh_payment(&self, user: &CurrentUser, id: OrderId) -> Result<OrderView, Error> {
        self.order(user, id).await?;
        for payment in self.ledger.payments_of_order(id).await? {
            if payment.status == PaymentStatus::Pending {
                self.query_and_settle(&payment).await?;
            }
        }
        self.order(user, id).await
    }

    /// The order behind a trade number, if it is the user's (the gateway's return page).
    pub async fn order_of_trade(&self, user: &CurrentUser, out_trade_no: &str) -> Result<OrderId, Error> {
        let payment = self.ledger.payment_by_trade(out_trade_no).await?.ok_or(Error::NotFound)?;
        self.order(user, payment.order_id).await.map(|view| view.record.id)
    }

    /// An asynchronous notification from `channel`: verified, judged, applied once; the answer
    /// tells the gateway whether to send it again.
    pub async fn handle_notice(&self, channel: Channel, body: &[u8]) -> Ack {
        let Ok(gateway) = self.gateways.get(channel) else {
            return Ack { content_type: "text/plain; charset=utf-8", body: "fail".into() };
        };
        let now = self.clock.now();
        let notice = match gateway.verify_notice(body) {
            Ok(notice) => notice,
            Err(rejected) => {
                tracing::warn!(%channel, reason = %rejected, security_event = "forged_payment_notice", "payment notification refused");
                metrics::counter!("sealdesk_forged_payment_notices_total", "channel" => channel.as_str()).increment(1);
                let log = NoticeLog {
                    channel,
                    verified: false,
                    out_trade_no: None,
                    outcome: format!("验签失败：{rejected}"),
                    summary: String::new(),
                    received_at: now,
                };
                if let Err(err) = self.note_forgery(&log).await {
                    tracing::error!(error = %err, "could not record a refused notification");
                }
                return gateway.nack();
            }
        };
        match self.apply_notice(gateway.as_ref(), &notice).await {
            Ok(outcome) => {
                let log = NoticeLog {
                    channel,
                    verified: true,
                    out_trade_no: Some(notice.out_trade_no.clone()),
                    outcome,
                    summary: notice.summary(),
                    received_at: now,
                };
                match self.journal.log_notice(&log).await {
                    Ok(()) => gateway.ack(),
                    Err(err) => {
                        tracing::error!(error = %err, "could not record a notification");
                        gateway.nack()
                    }
                }
            }
            Err(err) => {
                // The gateway sends it again; applying is idempotent.
                tracing::error!(error = %err, %channel, "payment notification not applied; the gateway will retry");
                gateway.nack()
            }
        }
    }

    /// Records a refused notification; the fifth within ten minutes raises one alert (SECURITY F1).
    async fn note_forgery(&self, log: &NoticeLog) -> Result<(), Error> {
        self.journal.log_notice(log).await?;
        let recent = self.journal.refused_notices_since(log.received_at - FORGERY_WINDOW).await?;
        if recent == FORGERY_ALERT_AT {
            let detail = format!("10 分钟内收到 {recent} 条验签失败的付款通知，可能有人在伪造支付结果");
            tracing::error!(security_event = "forged_payment_notices", recent, "payment notification forgeries");
            self.alert("forged_notices", None, None, &detail).await?;
        }
        Ok(())
    }

    async fn apply_notice(&self, gateway: &dyn Gateway, notice: &crate::gateway::Notice) -> Result<String, Error> {
        let Some(payment) = self.ledger.payment_by_trade(&notice.out_trade_no).await? else {
            self.alert("unknown_trade", None, Some(&notice.out_trade_no), "签名有效的付款通知，但商户订单号不存在")
                .await?;
            return Ok("不符：商户订单号不存在".into());
        };
        if payment.channel != gateway.channel() {
            self.alert(
                "channel_mismatch",
                Some(payment.order_id),
                Some(&notice.out_trade_no),
                "付款通知来自另一支付渠道",
            )
            .await?;
            return Ok("不符：来自另一支付渠道".into());
        }
        match gateway.judge(notice, &payment.out_trade_no, payment.amount) {
            Decision::Paid { trade_no } => {
                let settlement = self.settle(&payment, &trade_no, gateway.channel()).await?;
                Ok(match settlement {
                    Settlement::Applied => "已到账，订单进入审核".to_owned(),
                    Settlement::AlreadySettled => "已到账（重复通知，已处理过）".to_owned(),
                    Settlement::RefundOwed(_) => "已到账，但订单已不能收款，原路退款".to_owned(),
                })
            }
            Decision::NotPaid { status } => Ok(format!("未付款（{status}）")),
            Decision::Mismatch(field) => {
                let detail = format!("签名有效的付款通知与订单不符（{field}），未改变订单状态");
                self.alert("notice_mismatch", Some(payment.order_id), Some(&payment.out_trade_no), &detail).await?;
                tracing::warn!(field, out_trade_no = %payment.out_trade_no, "payment notification does not match its order");
                Ok(format!("不符：{field}，未改变订单状态"))
            }
        }
    }

    /// Asks the gateway about one pending trade and applies what it says. Returns whether the
    /// trade turned out paid.
    async fn query_and_settle(&self, payment: &PaymentRecord) -> Result<bool, Error> {
        let channel = payment.channel;
        let gateway = self.gateways.get(channel)?;
        match gateway.query(&payment.out_trade_no, self.clock.now()).await.map_err(|e| unavailable(&e))? {
            TradeState::Paid { trade_no, total } if total == payment.amount => {
                self.settle(payment, &trade_no, channel).await?;
                Ok(true)
            }
            TradeState::Paid { total, .. } => {
                let detail =
                    format!("支付平台查询金额 {} 元与订单金额 {} 元不符", total.to_yuan(), payment.amount.to_yuan());
                self.alert("query_mismatch", Some(payment.order_id), Some(&payment.out_trade_no), &detail).await?;
                Ok(false)
            }
            TradeState::Closed => {
                self.ledger.close_payment(payment.id, self.clock.now()).await?;
                Ok(false)
            }
            TradeState::NotExist | TradeState::Waiting => Ok(false),
        }
    }

    /// The one place a confirmed payment is applied.
    async fn settle(&self, payment: &PaymentRecord, trade_no: &str, channel: Channel) -> Result<Settlement, Error> {
        let reason = format!("{}支付成功，交易号 {trade_no}", channel.label());
        let order = self.orders.order_by_id(payment.order_id).await?.ok_or(Error::NotFound)?;
        let yuan = payment.amount.to_yuan();
        let sms = format!("您的订单 {} 已支付成功（{yuan} 元），我们将尽快审核您的材料。", order.order.order_no);
        let text = format!(
            "我们已收到您的付款 {yuan} 元（{}），订单进入审核，业务人员会尽快审核您递交的材料。",
            channel.label()
        );
        let tell = Tell {
            key: format!("order:{}:paid", payment.order_id.0),
            sms: &sms,
            subject: "【电子签章】支付成功，订单进入审核",
            text: &text,
        };
        let notify = self.announcer.applicant_messages(&order, &tell).await?;
        let settlement = self.ledger.settle_payment(payment.id, trade_no, &reason, &notify, self.clock.now()).await?;
        match &settlement {
            Settlement::Applied => {
                tracing::info!(order = %payment.order_id, %channel, "order paid");
                metrics::counter!("sealdesk_payments_total", "channel" => channel.as_str()).increment(1);
                self.announcer.deliver_now().await;
            }
            Settlement::AlreadySettled => {}
            Settlement::RefundOwed(refund) => {
                tracing::warn!(order = %payment.order_id, "payment arrived for an order that cannot take it; refunding");
                // A failed refund call stays pending and the reconciliation job retries it.
                if let Err(err) = self.make_refund(refund).await {
                    tracing::warn!(error = %err, "refund deferred to the next reconciliation cycle");
                }
            }
        }
        Ok(settlement)
    }

    /// Asks the gateway to refund; on success the refund is done and the applicant told, in one
    /// transaction. A refused or failed call is retried on [`REFUND_RETRIES`]; after the last
    /// the refund ends as 退款失败 with a finance alert, for finance to retry or settle offline.
    pub(crate) async fn make_refund(&self, refund: &RefundRecord) -> Result<(), Error> {
        if refund.status != RefundStatus::Pending {
            return Ok(());
        }
        let channel = refund.channel;
        let gateway = self.gateways.get(channel)?;
        let now = self.clock.now();
        if let Err(err) =
            gateway.refund(&refund.out_trade_no, refund.amount, &refund.out_request_no, &refund.reason, now).await
        {
            let retry_at = REFUND_RETRIES.get(refund.attempts as usize).map(|wait| now + *wait);
            if self.ledger.refund_attempt_failed(refund.id, &err.to_string(), retry_at).await? && retry_at.is_none() {
                tracing::error!(order = %refund.order_id, error = %err, "refund failed after every retry");
                let detail = format!(
                    "退款 {} 元经 {} 次尝试仍未成功（{}），请重试或线下退款后登记",
                    refund.amount.to_yuan(),
                    refund.attempts + 1,
                    err
                );
                self.alert("refund_failed", Some(refund.order_id), Some(&refund.out_trade_no), &detail).await?;
            }
            return Err(unavailable(&err));
        }
        self.settle_refund(refund, None).await
    }

    /// Records a refund as done (by the gateway, or with `resolution` by other means) and tells
    /// the applicant — staff refunds, automatic ones (money that came for a cancelled order, a
    /// second channel paid) and retried ones alike — once, in the same transaction.
    pub(crate) async fn settle_refund(&self, refund: &RefundRecord, resolution: Option<&str>) -> Result<(), Error> {
        let messages = match self.orders.order_by_id(refund.order_id).await? {
            Some(order) => {
                let how = if resolution.is_some() { "已通过其他方式退回" } else { "将原路退回" };
                let sms =
                    format!("您的订单 {} 已退款 {} 元，款项{how}。", order.order.order_no, refund.amount.to_yuan());
                let text = format!(
                    "您的订单 {} 已退款 {} 元，款项{how}。原因：{}",
                    order.order.order_no,
                    refund.amount.to_yuan(),
                    refund.reason
                );
                let tell = crate::notifications::Tell {
                    key: format!("refund:{}:done", refund.id),
                    sms: &sms,
                    subject: "【电子签章】退款通知",
                    text: &text,
                };
                self.announcer.applicant_messages(&order, &tell).await?
            }
            None => Vec::new(),
        };
        if self.ledger.finish_refund(refund.id, resolution, &messages, self.clock.now()).await? {
            tracing::info!(order = %refund.order_id, "refund made");
            self.announcer.deliver_now().await;
        }
        Ok(())
    }

    pub(crate) async fn alert(
        &self,
        kind: &str,
        order: Option<OrderId>,
        out_trade_no: Option<&str>,
        detail: &str,
    ) -> Result<(), Error> {
        metrics::counter!("sealdesk_finance_alerts_total", "kind" => kind.to_owned()).increment(1);
        let alert = FinanceAlert {
            id: domain::FinanceAlertId(0),
            resolution: None,
            kind: kind.into(),
            order_id: order,
            out_trade_no: out_trade_no.map(str::to_owned),
            detail: detail.into(),
            created_at: self.clock.now(),
        };
        Ok(self.journal.add_finance_alert(&alert).await?)
    }

    /// Before an order is cancelled: closes its open trades. `Ok(true)` when a trade turned out
    /// paid (the order is paid after all and must not be cancelled).
    pub(crate) async fn close_trades(&self, id: OrderId) -> Result<bool, Error> {
        for payment in self.ledger.payments_of_order(id).await? {
            if payment.status != PaymentStatus::Pending {
                continue;
            }
            let channel = payment.channel;
            let gateway = self.gateways.get(channel)?;
            match gateway.close(&payment.out_trade_no, self.clock.now()).await.map_err(|e| unavailable(&e))? {
                CloseOutcome::Closed | CloseOutcome::NotExist => {
                    self.ledger.close_payment(payment.id, self.clock.now()).await?;
                }
                CloseOutcome::AlreadyPaid => {
                    if self.query_and_settle(&payment).await? {
                        return Ok(true);
                    }
                }
            }
        }
        Ok(false)
    }

    /// The reconciliation job: asks the gateway about payments pending longer than
    /// `Policy::reconcile_after` (a lost notification ends in the right state within one
    /// cycle), and retries refunds that are owed.
    pub async fn reconcile_payments(&self) -> Result<Reconciled, Error> {
        let mut report = Reconciled::default();
        let before = self.clock.now() - self.rules.reconcile_after;
        for payment in self.ledger.pending_payments_before(before).await? {
            match self.query_and_settle(&payment).await {
                Ok(true) => report.paid += 1,
                Ok(false) => {
                    if self
                        .ledger
                        .payment_by_trade(&payment.out_trade_no)
                        .await?
                        .is_some_and(|p| p.status == PaymentStatus::Closed)
                    {
                        report.closed += 1;
                    }
                }
                Err(Error::Unavailable { .. } | Error::Conflict { .. }) => report.errors += 1,
                Err(err) => return Err(err),
            }
        }
        for refund in self.ledger.pending_refunds(self.clock.now()).await? {
            match self.make_refund(&refund).await {
                Ok(()) => report.refunded += 1,
                Err(Error::Unavailable { .. } | Error::Conflict { .. }) => report.errors += 1,
                Err(err) => return Err(err),
            }
        }
        if report != Reconciled::default() {
            tracing::info!(?report, "payments reconciled");
        }
        Ok(report)
    }

    /// Payments and refunds of an order (owner only).
    pub async fn order_payments(
        &self,
        user: &CurrentUser,
        id: OrderId,
    ) -> Result<(Vec<PaymentRecord>, Vec<RefundRecord>), Error> {
        self.order(user, id).await?;
        Ok((self.ledger.payments_of_order(id).await?, self.ledger.refunds_of_order(id).await?))
    }

    /// Finance alerts, newest first.
    pub async fn finance_alerts(&self, limit: i64) -> Result<Vec<FinanceAlert>, Error> {
        Ok(self.journal.finance_alerts(limit).await?)
    }

    /// Recorded notifications, newest first.
    pub async fn payment_notices(&self, out_trade_no: Option<&str>, limit: i64) -> Result<Vec<NoticeLog>, Error> {
        Ok(self.journal.notices(out_trade_no, limit).await?)
    }
}

#[cfg(test)]
mod tests;
