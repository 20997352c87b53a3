//! Refunds finance asks for, against in-memory fakes: the second person's approval above the
//! set amount, who may refund what, and the failed refund retried or settled by hand.

use domain::payment::RefundStatus;
use domain::staff::Role;
use domain::{Money, OrderStatus};

use super::*;
use crate::Policy;
use crate::fakes::{self, Desk};

fn staff(id: i64, role: Role) -> CurrentStaff {
    fakes::staff(id, &[role])
}

/// A paid order in review, with refunds above `approval_above_fen` needing a second person.
async fn paid(approval_above_fen: i64) -> Desk {
    let policy = Policy { refund_approval_above: Money::from_fen(approval_above_fen).unwrap(), ..Policy::default() };
    let desk = Desk::new(&policy);
    desk.pay().await;
    assert_eq!(desk.books.status(desk.order), Some(OrderStatus::UnderReview));
    desk
}

#[tokio::test]
async fn a_small_refund_goes_back_at_once_and_is_audited() {
    let desk = paid(50_000).await;
    let refund = desk.refunds.request_refund(&staff(1, Role::Finance), desk.order, "  申请人放弃办理 ").await.unwrap();
    assert_eq!(refund.reason, "申请人放弃办理");
    assert_eq!(desk.alipay.refunds.lock().unwrap().len(), 1);
    assert_eq!(desk.books.refunds()[0].status, RefundStatus::Done);
    assert_eq!(desk.books.status(desk.order), Some(OrderStatus::Refunded));
    assert_eq!(desk.books.audited(), ["refund.request"]);
}

#[tokio::test]
async fn a_large_refund_waits_for_a_second_finance_person() {
    let desk = paid(10_000).await;
    let (first, second) = (staff(1, Role::Finance), staff(2, Role::Finance));
    let refund = desk.refunds.request_refund(&first, desk.order, "协商取消").await.unwrap();
    assert_eq!(refund.status, RefundStatus::AwaitingApproval);
    assert!(desk.alipay.refunds.lock().unwrap().is_empty(), "no money moves before the approval");

    let err = desk.refunds.approve_refund(&first, refund.id).await.unwrap_err();
    assert!(matches!(err, Error::Conflict { code: "second_approver_required", .. }), "{err:?}");
    let err = desk.refunds.approve_refund(&staff(3, Role::Reviewer), refund.id).await.unwrap_err();
    assert!(matches!(err, Error::Forbidden), "{err:?}");
    assert_eq!(desk.books.status(desk.order), Some(OrderStatus::UnderReview));

    desk.refunds.approve_refund(&second, refund.id).await.unwrap();
    assert_eq!(desk.alipay.refunds.lock().unwrap().len(), 1);
    assert_eq!(desk.books.status(desk.order), Some(OrderStatus::Refunded));
    assert_eq!(desk.books.audited(), ["refund.request", "refund.approve"]);
    let err = desk.refunds.approve_refund(&second, refund.id).await.unwrap_err();
    assert!(matches!(err, Error::NotFound), "approved once: {err:?}");
}

#[tokio::test]
async fn only_finance_refunds_and_only_a_paid_order_not_yet_refunded_or_shipped() {
    let unpaid = Desk::new(&Policy::default());
    let finance = staff(1, Role::Finance);
    let err = unpaid.refunds.request_refund(&finance, unpaid.order, "协商取消").await.unwrap_err();
    assert!(matches!(err, Error::Conflict { code: "not_refundable", .. }), "unpaid: {err:?}");

    let desk = paid(50_000).await;
    let err = desk.refunds.request_refund(&staff(2, Role::Reviewer), desk.order, "协商取消").await.unwrap_err();
    assert!(matches!(err, Error::Forbidden), "{err:?}");
    let err = desk.refunds.request_refund(&finance, desk.order, " 退 ").await.unwrap_err();
    assert!(matches!(err, Error::Validation(_)), "a reason of one character: {err:?}");

    desk.books.set_status(desk.order, OrderStatus::Delivering, desk.clock.now());
    let err = desk.refunds.request_refund(&finance, desk.order, "协商取消").await.unwrap_err();
    assert!(matches!(err, Error::Conflict { code: "not_refundable", .. }), "shipped: {err:?}");

    desk.books.set_status(desk.order, OrderStatus::Rejected, desk.clock.now());
    desk.refunds.request_refund(&finance, desk.order, "放弃修改").await.unwrap();
    let err = desk.refunds.request_refund(&finance, desk.order, "放弃修改").await.unwrap_err();
    assert!(matches!(err, Error::Conflict { code: "not_refundable", .. }), "refunded already: {err:?}");
    assert_eq!(desk.alipay.refunds.lock().unwrap().len(), 1, "the money goes back once");
}

/// Requests a refund the gateway keeps refusing and runs the retry schedule out.
async fn failed_refund() -> (Desk, RefundRecord) {
    let desk = paid(50_000).await;
    *desk.alipay.refund_failures.lock().unwrap() = 100;
    let refund = desk.refunds.request_refund(&staff(1, Role::Finance), desk.order, "协商取消").await.unwrap();
    for wait in crate::payment::REFUND_RETRIES {
        desk.clock.advance(wait);
        desk.payments.reconcile_payments().await.unwrap();
    }
    assert_eq!(desk.books.refunds()[0].status, RefundStatus::Failed);
    (desk, refund)
}

#[tokio::test]
async fn a_failed_refund_is_retried_by_hand_when_the_gateway_is_back() {
    let (desk, refund) = failed_refund().await;
    let finance = staff(2, Role::Finance);
    assert!(!desk.refunds.retry_failed_refund(&finance, refund.id).await.unwrap(), "still refused");
    assert_eq!(desk.books.refunds()[0].status, RefundStatus::Pending, "back on the retry schedule");

    let (desk, refund) = failed_refund().await;
    *desk.alipay.refund_failures.lock().unwrap() = 0;
    assert!(desk.refunds.retry_failed_refund(&finance, refund.id).await.unwrap());
    assert_eq!(desk.books.status(desk.order), Some(OrderStatus::Refunded));
    let err = desk.refunds.retry_failed_refund(&finance, refund.id).await.unwrap_err();
    assert!(matches!(err, Error::Conflict { code: "refund_not_failed", .. }), "{err:?}");
    assert_eq!(desk.books.audited(), ["refund.request", "refund.retry"]);
}

#[tokio::test]
async fn a_failed_refund_returned_another_way_is_recorded_with_how() {
    let (desk, refund) = failed_refund().await;
    let finance = staff(2, Role::Finance);
    let err = desk.refunds.settle_failed_refund_offline(&finance, refund.id, "转账").await.unwrap_err();
    assert!(matches!(err, Error::Validation(_)), "too short to say how: {err:?}");
    desk.refunds.settle_failed_refund_offline(&finance, refund.id, "银行转账，凭证号 123456").await.unwrap();
    let done = &desk.books.refunds()[0];
    assert_eq!((done.status, done.resolution.as_deref()), (RefundStatus::Done, Some("银行转账，凭证号 123456")));
    assert_eq!(desk.books.status(desk.order), Some(OrderStatus::Refunded));
    assert!(desk.alipay.refunds.lock().unwrap().is_empty(), "the gateway never made it");
    assert_eq!(desk.books.audited(), ["refund.request", "refund.offline"]);
}
