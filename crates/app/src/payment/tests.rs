//! The rules of paying, against in-memory fakes of the ports: what each notification, query and
//! refund attempt does to the order, the money and finance's alerts.

use domain::payment::{PaymentStatus, RefundStatus};
use domain::{Money, OrderStatus, UserId};

use super::*;
use crate::fakes::{Desk, ScriptedGateway};

const TOTAL: i64 = Desk::TOTAL;

fn world() -> Desk {
    Desk::new(&Policy::default())
}

#[tokio::test]
async fn a_notification_repeated_settles_the_payment_once() {
    let w = world();
    let trade = w.open_trade().await;
    let paid = ScriptedGateway::notice(&trade, "2026120322001", TOTAL, "paid", "ok");
    for _ in 0..3 {
        assert_eq!(w.notify(&paid).await, "success", "every copy is acknowledged");
    }
    assert_eq!(w.books.status(w.order), Some(OrderStatus::UnderReview));
    assert_eq!(w.books.queued(), [format!("order:{}:paid:sms", w.order.0)], "the applicant is told once");
    assert_eq!(w.herald.deliveries(), 1);
    let outcomes: Vec<_> = w.books.notices().into_iter().map(|n| n.outcome).collect();
    assert_eq!(outcomes, ["已到账，订单进入审核", "已到账（重复通知，已处理过）", "已到账（重复通知，已处理过）"]);
    assert!(w.books.alert_kinds().is_empty());
}

#[tokio::test]
async fn a_genuine_notification_for_another_amount_changes_nothing_and_alerts_finance() {
    let w = world();
    let trade = w.open_trade().await;
    let short = ScriptedGateway::notice(&trade, "2026120322001", TOTAL - 1, "paid", "ok");
    assert_eq!(w.notify(&short).await, "success", "acknowledged, so it is not sent again");
    assert_eq!(w.books.status(w.order), Some(OrderStatus::PendingPayment));
    assert_eq!(w.books.payments()[0].status, PaymentStatus::Pending);
    assert_eq!(w.books.alert_kinds(), ["notice_mismatch"]);
}

#[tokio::test]
async fn notifications_for_unknown_trades_or_from_the_other_channel_only_alert() {
    let w = world();
    let trade = w.open_trade().await;
    let unknown = ScriptedGateway::notice("SD000000000000A", "1", TOTAL, "paid", "ok");
    assert_eq!(w.notify(&unknown).await, "success");
    let wrong_channel = ScriptedGateway::notice(&trade, "1", TOTAL, "paid", "ok");
    assert_eq!(w.payments.handle_notice(Channel::Cpcn, &wrong_channel).await.body, "success");
    assert_eq!(w.books.status(w.order), Some(OrderStatus::PendingPayment));
    assert_eq!(w.books.alert_kinds(), ["unknown_trade", "channel_mismatch"]);
}

#[tokio::test]
async fn the_fifth_forged_notification_within_ten_minutes_raises_one_alert() {
    let w = world();
    let trade = w.open_trade().await;
    let forged = ScriptedGateway::notice(&trade, "1", TOTAL, "paid", "forged");
    for _ in 0..4 {
        assert_eq!(w.notify(&forged).await, "fail");
        w.clock.advance(time::Duration::minutes(2));
    }
    assert!(w.books.alert_kinds().is_empty(), "four in eight minutes are not yet an attack");
    w.notify(&forged).await;
    w.notify(&forged).await;
    assert_eq!(w.books.alert_kinds(), ["forged_notices"], "one alert, not one per forgery");
    assert_eq!(w.books.status(w.order), Some(OrderStatus::PendingPayment));
    assert_eq!(w.books.notices().iter().filter(|n| !n.verified).count(), 6, "each one is on the record");
}

#[tokio::test]
async fn a_notification_that_cannot_be_recorded_is_refused_so_the_gateway_sends_it_again() {
    let w = world();
    let trade = w.open_trade().await;
    let paid = ScriptedGateway::notice(&trade, "2026120322001", TOTAL, "paid", "ok");
    w.books.break_writes(true);
    assert_eq!(w.notify(&paid).await, "fail");
    w.books.break_writes(false);
    assert_eq!(w.notify(&paid).await, "success");
    assert_eq!(w.books.status(w.order), Some(OrderStatus::UnderReview));
}

#[tokio::test]
async fn money_for_a_cancelled_order_is_refunded_once_and_the_applicant_told() {
    let w = world();
    let trade = w.open_trade().await;
    w.books.set_status(w.order, OrderStatus::Cancelled, w.clock.now());
    let paid = ScriptedGateway::notice(&trade, "2026120322001", TOTAL, "paid", "ok");
    w.notify(&paid).await;
    w.notify(&paid).await;
    let refunds = w.alipay.refunds.lock().unwrap().clone();
    assert_eq!(refunds, [(trade.clone(), Money::from_fen(TOTAL).unwrap(), format!("{trade}R1"))]);
    assert_eq!(w.books.refunds()[0].status, RefundStatus::Done);
    assert_eq!(w.books.payments()[0].status, PaymentStatus::Refunded);
    assert_eq!(w.books.status(w.order), Some(OrderStatus::Refunded));
    assert_eq!(w.books.queued(), ["refund:1:done:sms"]);
}

#[tokio::test]
async fn a_refund_the_gateway_keeps_refusing_is_retried_on_schedule_then_left_to_finance() {
    let w = world();
    let trade = w.open_trade().await;
    w.books.set_status(w.order, OrderStatus::Cancelled, w.clock.now());
    *w.alipay.refund_failures.lock().unwrap() = 100;
    w.notify(&ScriptedGateway::notice(&trade, "2026120322001", TOTAL, "paid", "ok")).await;
    assert_eq!(w.books.refunds()[0].attempts, 1, "the first attempt is made at once");
    for (attempt, wait) in REFUND_RETRIES.iter().enumerate() {
        let early = w.payments.reconcile_payments().await.unwrap();
        assert_eq!(early.errors, 0, "attempt {} is not due yet", attempt + 2);
        w.clock.advance(*wait);
        let due = w.payments.reconcile_payments().await.unwrap();
        assert_eq!(due.errors, 1, "attempt {} is made when due", attempt + 2);
    }
    let refund = &w.books.refunds()[0];
    assert_eq!((refund.status, refund.attempts), (RefundStatus::Failed, 6));
    assert_eq!(w.books.alert_kinds(), ["refund_failed"]);
    w.clock.advance(time::Duration::days(2));
    assert_eq!(w.payments.reconcile_payments().await.unwrap(), Reconciled::default(), "finance decides now");
    assert!(w.alipay.refunds.lock().unwrap().is_empty());
}

#[tokio::test]
async fn reconciliation_applies_a_lost_notification_but_not_a_query_for_another_amount() {
    let w = world();
    w.open_trade().await;
    *w.alipay.query.lock().unwrap() =
        TradeState::Paid { trade_no: "1".into(), total: Money::from_fen(TOTAL + 100).unwrap() };
    assert_eq!(w.payments.reconcile_payments().await.unwrap(), Reconciled::default(), "too early to ask");
    w.clock.advance(time::Duration::minutes(6));
    assert_eq!(w.payments.reconcile_payments().await.unwrap().paid, 0);
    assert_eq!(w.books.alert_kinds(), ["query_mismatch"]);
    assert_eq!(w.books.status(w.order), Some(OrderStatus::PendingPayment));

    *w.alipay.query.lock().unwrap() = TradeState::Paid { trade_no: "1".into(), total: Money::from_fen(TOTAL).unwrap() };
    assert_eq!(w.payments.reconcile_payments().await.unwrap().paid, 1);
    assert_eq!(w.books.status(w.order), Some(OrderStatus::UnderReview));
    assert_eq!(w.payments.reconcile_payments().await.unwrap(), Reconciled::default(), "nothing left pending");
}

#[tokio::test]
async fn closing_a_trade_that_was_paid_meanwhile_settles_it_instead() {
    let w = world();
    w.open_trade().await;
    *w.alipay.close.lock().unwrap() = CloseOutcome::AlreadyPaid;
    *w.alipay.query.lock().unwrap() = TradeState::Paid { trade_no: "1".into(), total: Money::from_fen(TOTAL).unwrap() };
    assert!(w.payments.close_trades(w.order).await.unwrap(), "the order is paid and must not be cancelled");
    assert_eq!(w.books.status(w.order), Some(OrderStatus::UnderReview));

    let other = world();
    other.open_trade().await;
    assert!(!other.payments.close_trades(other.order).await.unwrap());
    assert_eq!(other.books.payments()[0].status, PaymentStatus::Closed);
}

#[tokio::test]
async fn only_an_unpaid_order_of_ones_own_opens_a_checkout_valid_as_long_as_the_order() {
    let w = world();
    w.clock.advance(time::Duration::hours(23));
    w.payments.start_payment(&w.user, w.order, &Method::AlipayQr).await.unwrap();
    assert_eq!(w.alipay.charges.lock().unwrap()[0].timeout_minutes, 60, "the hour the order has left");

    let stranger = CurrentUser { id: UserId(8), ..w.user.clone() };
    let err = w.payments.start_payment(&stranger, w.order, &Method::AlipayQr).await.unwrap_err();
    assert!(matches!(err, Error::NotFound), "{err:?}");

    let bank = Method::CpcnBank { bank_id: "NOPE".into() };
    let err = w.payments.start_payment(&w.user, w.order, &bank).await.unwrap_err();
    assert!(matches!(err, Error::Validation(_)), "{err:?}");

    w.books.set_status(w.order, OrderStatus::Cancelled, w.clock.now());
    let err = w.payments.start_payment(&w.user, w.order, &Method::AlipayQr).await.unwrap_err();
    assert!(matches!(err, Error::Conflict { code: "order_not_payable", .. }), "{err:?}");
}
