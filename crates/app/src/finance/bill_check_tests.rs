//! The daily bill check against in-memory fakes: asked for once a day after the bill is out,
//! each difference an alert, a bill that cannot be read left to finance.

use domain::staff::{Role, Roles};

use super::*;
use crate::Policy;
use crate::fakes::{self, Desk};

/// A bill as Alipay's detail CSV lists it, one trade per `(out_trade_no, yuan)`.
fn bill(trades: &[(&str, &str)]) -> Vec<u8> {
    let header = "#支付宝业务明细查询\n支付宝交易号,商户订单号,业务类型,商品名称,订单金额（元）\n";
    let lines =
        trades.iter().enumerate().map(|(n, (no, yuan))| format!("2026120222001{n},{no},交易,电子签章,{yuan}\n"));
    std::iter::once(header.to_owned()).chain(lines).collect::<String>().into_bytes()
}

/// An order paid on 2 December at 11:00 China time, and the clock at 09:00 the next morning.
async fn paid_yesterday() -> (Desk, String) {
    let desk = Desk::new(&Policy::default());
    desk.clock.advance(time::Duration::hours(-7) - time::Duration::days(1));
    desk.pay().await;
    let trade = desk.books.payments()[0].out_trade_no.clone();
    desk.clock.advance(time::Duration::hours(22));
    (desk, trade)
}

#[tokio::test]
async fn yesterdays_bill_is_checked_once_after_ten_oclock() {
    let (desk, trade) = paid_yesterday().await;
    *desk.alipay.bill.lock().unwrap() = Some(bill(&[(&trade, "300.00")]));
    assert!(desk.bill_checks.fetch_daily_bills().await.unwrap().is_none(), "09:00: not out yet");
    assert!(desk.books.finished_bill_checks().is_empty());

    desk.clock.advance(time::Duration::hours(1));
    let diff = desk.bill_checks.fetch_daily_bills().await.unwrap().expect("checked at 10:00");
    assert!(diff.is_clean(), "{diff:?}");
    let day = time::macros::date!(2026 - 12 - 02);
    assert_eq!(desk.books.finished_bill_checks(), [(day, None, 0)]);
    assert!(desk.bill_checks.fetch_daily_bills().await.unwrap().is_none(), "once per day");
    assert!(desk.books.alert_kinds().is_empty());
}

#[tokio::test]
async fn every_difference_is_an_alert() {
    let (desk, trade) = paid_yesterday().await;
    desk.clock.advance(time::Duration::hours(1));
    *desk.alipay.bill.lock().unwrap() = Some(bill(&[(&trade, "299.00"), ("SD2026120299999999A", "300.00")]));
    let diff = desk.bill_checks.fetch_daily_bills().await.unwrap().unwrap();
    assert_eq!(diff.differences(), 2, "{diff:?}");
    assert_eq!(desk.books.alert_kinds(), ["bill_mismatch", "bill_mismatch"]);
    assert_eq!(desk.books.finished_bill_checks()[0].2, 2);
}

#[tokio::test]
async fn a_bill_not_out_yet_is_asked_for_again_and_an_unreadable_one_is_left_to_finance() {
    let (desk, trade) = paid_yesterday().await;
    desk.clock.advance(time::Duration::hours(1));
    assert!(desk.bill_checks.fetch_daily_bills().await.unwrap().is_none(), "the gateway has none yet");
    assert!(desk.books.finished_bill_checks().is_empty(), "and the day is let go");
    *desk.alipay.bill.lock().unwrap() = Some(b"\x00\x01 not a bill".to_vec());
    desk.clock.advance(time::Duration::hours(1));
    assert!(desk.bill_checks.fetch_daily_bills().await.unwrap().is_none());
    assert_eq!(desk.books.alert_kinds(), ["bill_unreadable"]);
    assert_eq!(desk.books.finished_bill_checks()[0].2, 1, "counted as one difference");

    *desk.alipay.bill.lock().unwrap() = Some(bill(&[(&trade, "300.00")]));
    assert!(desk.bill_checks.fetch_daily_bills().await.unwrap().is_none(), "not fetched again by itself");
    let finance = fakes::staff(4, &[Role::Finance]);
    let day = time::macros::date!(2026 - 12 - 02);
    let err = desk.bill_checks.compare_alipay_bill_file(&finance, day, &[]).await.unwrap_err();
    assert!(matches!(err, Error::Validation(_)), "{err:?}");
    let uploaded = bill(&[(&trade, "300.00")]);
    assert!(desk.bill_checks.compare_alipay_bill_file(&finance, day, &uploaded).await.unwrap().is_clean());
    assert_eq!(desk.books.finished_bill_checks(), [(day, Some(finance.id), 0)], "finance's upload settles it");
    let reviewer = CurrentStaff { roles: Roles::of(&[Role::Reviewer]), ..finance };
    let err = desk.bill_checks.compare_alipay_bill_file(&reviewer, day, &uploaded).await.unwrap_err();
    assert!(matches!(err, Error::Forbidden), "{err:?}");
}
