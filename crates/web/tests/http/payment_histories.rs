//! SECURITY F4/F5 as a property: random interleavings of opening a trade, scanning, paying,
//! notifications (delivered late, twice, or as TRADE_CLOSED), the return page's query, the
//! applicant's cancel, the unpaid-order timeout and the reconciliation job. Over 1,000 histories:
//! the order never moves backwards, only a gateway-confirmed payment marks it paid, and once
//! everything has been delivered, money kept at the gateway ⇔ order paid, money that arrived for
//! a cancelled order is refunded exactly once, and every genuine notification is acknowledged.
//!
//! The gateway here is a test double over the simulators' trade ledger (the same query, close
//! and refund semantics as `paysim`), without HTTP or RSA so a thousand histories run in seconds;
//! the HTTP and signature paths are covered by `payments.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use app::App;
use app::clock::ManualClock;
use app::crypto::Keys;
use app::payment::Gateways;
use app::ports::{ApplicationRepo, NewApplication, NewOrder, OrderBook, OrderRepo, PaymentLedger, UserRepo};
use app::sessions::CurrentUser;
use async_trait::async_trait;
use domain::application::{Business, SubjectKind};
use domain::payment::RefundStatus;
use domain::pricing::{Delivery, FeeBreakdown};
use domain::{Money, OrderId, OrderStatus, Phone};
use payments::alipay::PostForm;
use payments::alipay_sim::{Ledger, TradeStatus};
use payments::gateway::{
    Ack, Channel, Charge, Checkout, CloseOutcome, Decision, Gateway, GatewayError, Method, Notice, NoticeRejected,
    TradeState,
};
use proptest::prelude::*;
use store::testing::TestDb;
use time::macros::datetime;

/// The ledger behind the `Gateway` port. A notification body is `out_trade_no|status`.
#[derive(Default)]
struct LedgerGateway {
    ledger: Mutex<Ledger>,
}

fn lock(g: &LedgerGateway) -> std::sync::MutexGuard<'_, Ledger> {
    g.ledger.lock().unwrap()
}

#[async_trait]
impl Gateway for LedgerGateway {
    fn channel(&self) -> Channel {
        Channel::Alipay
    }

    async fn checkout(
        &self,
        charge: &Charge,
        method: &Method,
        _: time::OffsetDateTime,
    ) -> Result<Checkout, GatewayError> {
        let refused = |e: payments::alipay_sim::SimError| GatewayError::Refused {
            code: e.sub_code().into(),
            message: String::new(),
        };
        if *method == Method::AlipayQr {
            lock(self).precreate(&charge.out_trade_no, charge.total).map_err(refused)?;
            Ok(Checkout::Qr { code: charge.out_trade_no.clone() })
        } else {
            lock(self).open_page_pay(&charge.out_trade_no, charge.total).map_err(refused)?;
            Ok(Checkout::Form(PostForm { action: "ledger".into(), fields: Vec::new() }))
        }
    }

    async fn query(&self, no: &str, _: time::OffsetDateTime) -> Result<TradeState, GatewayError> {
        Ok(match lock(self).query(no) {
            Err(_) => TradeState::NotExist,
            Ok((TradeStatus::WaitBuyerPay, _, _)) => TradeState::Waiting,
            Ok((TradeStatus::TradeSuccess, total, trade_no)) => TradeState::Paid { trade_no, total },
            Ok((TradeStatus::TradeClosed, _, _)) => TradeState::Closed,
        })
    }

    async fn close(&self, no: &str, _: time::OffsetDateTime) -> Result<CloseOutcome, GatewayError> {
        use payments::alipay_sim::SimError;
        Ok(match lock(self).close(no) {
            Ok(()) => CloseOutcome::Closed,
            Err(SimError::TradeHasSuccess) => CloseOutcome::AlreadyPaid,
            Err(_) => CloseOutcome::NotExist,
        })
    }

    async fn refund(
        &self,
        no: &str,
        amount: Money,
        request: &str,
        _: &str,
        now: time::OffsetDateTime,
    ) -> Result<bool, GatewayError> {
        lock(self)
            .refund(no, amount, request, now)
            .map(|r| r.fund_change)
            .map_err(|e| GatewayError::Refused { code: e.sub_code().into(), message: String::new() })
    }

    fn verify_notice(&self, body: &[u8]) -> Result<Notice, NoticeRejected> {
        let text = String::from_utf8(body.to_vec()).map_err(|_| NoticeRejected("utf-8".into()))?;
        let (no, status) = text.split_once('|').ok_or_else(|| NoticeRejected("shape".into()))?;
        let fields = [("out_trade_no", no), ("trade_status", status)].map(|(k, v)| (k.to_owned(), v.to_owned())).into();
        Ok(Notice { out_trade_no: no.to_owned(), fields })
    }

    fn judge(&self, notice: &Notice, _: &str, total: Money) -> Decision {
        // What the gateway says about the trade now, as a real notification carries it.
        match lock(self).query(&notice.out_trade_no) {
            Ok((_, amount, trade_no)) if notice.fields["trade_status"] == "TRADE_SUCCESS" && amount == total => {
                Decision::Paid { trade_no }
            }
            _ => Decision::NotPaid { status: notice.fields["trade_status"].clone() },
        }
    }

    fn ack(&self) -> Ack {
        Ack { content_type: "text/plain", body: "success".into() }
    }

    fn nack(&self) -> Ack {
        Ack { content_type: "text/plain", body: "fail".into() }
    }
}

#[derive(Debug, Clone, Copy)]
enum Op {
    OpenPage,
    OpenQr,
    Scan,
    Pay,
    /// The oldest queued notification arrives.
    Deliver,
    /// The oldest queued notification arrives and stays queued (a retry will follow).
    DeliverTwice,
    /// A TRADE_CLOSED notification arrives.
    ClosedNotice,
    /// The browser comes back (the return page queries the gateway).
    Return,
    Cancel,
    /// 25 hours pass and the unpaid-order job runs.
    Timeout,
    /// The reconciliation job runs after its delay.
    Reconcile,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => Just(Op::OpenPage),
        1 => Just(Op::OpenQr),
        1 => Just(Op::Scan),
        2 => Just(Op::Pay),
        2 => Just(Op::Deliver),
        1 => Just(Op::DeliverTwice),
        1 => Just(Op::ClosedNotice),
        1 => Just(Op::Return),
        2 => Just(Op::Cancel),
        1 => Just(Op::Timeout),
        1 => Just(Op::Reconcile),
    ]
}

struct World {
    app: App,
    db: TestDb,
    gateway: Arc<LedgerGateway>,
    clock: Arc<ManualClock>,
    user: CurrentUser,
    application: domain::ApplicationId,
    _files: tempfile::TempDir,
}

async fn world() -> World {
    let db = TestDb::sqlite().await;
    let clock = Arc::new(ManualClock::new(datetime!(2026-11-25 02:00 UTC)));
    let outbox = Arc::new(store::DevOutbox::new(db.db.clone(), clock.clone()));
    let files = tempfile::tempdir().unwrap();
    let gateway = Arc::new(LedgerGateway::default());
    let app = App::new(
        Arc::new(db.db.clone()),
        Arc::new(store::LocalFileStore::new(files.path()).unwrap()),
        outbox.clone(),
        outbox,
        clock.clone(),
        Keys::new(vec![7; 32]).unwrap(),
        app::Policy::default(),
    )
    .with_gateways(Gateways::new([gateway.clone() as Arc<dyn Gateway>]));
    let phone = Phone::parse("13800138000").unwrap();
    let id = db.db.create_user(&phone, "not-a-hash", clock.now_for_tests()).await.unwrap();
    let new = NewApplication {
        subject_kind: SubjectKind::Enterprise,
        business: Business::New,
        replacement_reason: None,
        replaced_serial: None,
    };
    let application = db.db.create_application(id, &new, clock.now_for_tests()).await.unwrap();
    let user = CurrentUser { id, phone, name: None, email: None, session_digest: String::new() };
    World { app, db, gateway, clock, user, application, _files: files }
}

async fn new_order(w: &World, n: u64) -> OrderId {
    let fen = |n| Money::from_fen(n).unwrap();
    let order = NewOrder {
        order_no: format!("SD{n:016}"),
        user_id: w.user.id,
        application_id: w.application,
        idempotency_key: format!("history-{n}"),
        request_hash: "hash".into(),
        subject_kind: SubjectKind::Enterprise,
        business: Business::New,
        subject_index: format!("subject-{n}"),
        subject_name: "示例科技有限公司".into(),
        package_name: "主锁 · 1年".into(),
        delivery: Delivery::Pickup,
        ship_to: None,
        new_address: None,
        pickup_point: Some("自提点".into()),
        invoice: None,
        fees: FeeBreakdown { package: fen(40_000), delivery: fen(0), service: fen(0), total: fen(40_000) },
        flagged: false,
    };
    w.db.db.create_order(&order, w.clock.now_for_tests()).await.unwrap()
}

async fn status(w: &World, id: OrderId) -> OrderStatus {
    w.db.db.order_by_id(id).await.unwrap().unwrap().status
}

/// Runs one history; returns a description of the first broken invariant.
async fn run(w: &World, n: u64, ops: &[Op]) -> Result<(), String> {
    let id = new_order(w, n).await;
    let no = format!("SD{n:016}A");
    let mut queue: VecDeque<Vec<u8>> = VecDeque::new();
    let mut seen = vec![OrderStatus::PendingPayment];
    let deliver = |body: Vec<u8>| async move {
        let ack = w.app.payments().handle_notice(Channel::Alipay, &body).await;
        if ack.body == "success" {
            Ok(())
        } else {
            Err(format!("a genuine notification was not acknowledged: {}", ack.body))
        }
    };
    for op in ops {
        match op {
            Op::OpenPage => drop(w.app.payments().start_payment(&w.user, id, &Method::AlipayPage).await),
            Op::OpenQr => drop(w.app.payments().start_payment(&w.user, id, &Method::AlipayQr).await),
            Op::Scan => drop(lock(&w.gateway).scan(&no)),
            Op::Pay => {
                if lock(&w.gateway).pay(&no, w.clock.now_for_tests()).is_ok() {
                    queue.push_back(format!("{no}|TRADE_SUCCESS").into_bytes());
                }
            }
            Op::Deliver => {
                if let Some(body) = queue.pop_front() {
                    deliver(body).await?;
                }
            }
            Op::DeliverTwice => {
                if let Some(body) = queue.front().cloned() {
                    deliver(body).await?;
                }
            }
            Op::ClosedNotice => deliver(format!("{no}|TRADE_CLOSED").into_bytes()).await?,
            Op::Return => drop(w.app.payments().refresh_payment(&w.user, id).await),
            Op::Cancel => drop(w.app.cancel_order(&w.user, id).await),
            Op::Timeout => {
                w.clock.advance(time::Duration::hours(25));
                w.app.cancel_unpaid_orders().await.map_err(|e| e.to_string())?;
            }
            Op::Reconcile => {
                w.clock.advance(time::Duration::minutes(10));
                w.app.payments().reconcile_payments().await.map_err(|e| e.to_string())?;
            }
        }
        let now = status(w, id).await;
        let last = *seen.last().unwrap();
        if now != last {
            let allowed = matches!(
                (last, now),
                (OrderStatus::PendingPayment, OrderStatus::UnderReview | OrderStatus::Cancelled)
                    | (OrderStatus::Cancelled, OrderStatus::Refunded)
            );
            if !allowed {
                return Err(format!("moved {last:?} → {now:?} after {op:?}"));
            }
            seen.push(now);
        }
        if now == OrderStatus::UnderReview && lock(&w.gateway).query(&no).map(|t| t.0) != Ok(TradeStatus::TradeSuccess)
        {
            return Err(format!("paid without a paid trade after {op:?}"));
        }
    }
    // Everything still in flight arrives, and the jobs run.
    while let Some(body) = queue.pop_front() {
        deliver(body).await?;
    }
    for _ in 0..2 {
        w.clock.advance(time::Duration::minutes(10));
        w.app.payments().reconcile_payments().await.map_err(|e| e.to_string())?;
    }
    let end = status(w, id).await;
    let trade = lock(&w.gateway).query(&no).ok();
    let refunds = w.db.db.refunds_of_order(id).await.unwrap();
    // A full refund closes the trade, so only a trade still in TRADE_SUCCESS keeps money.
    let kept = matches!(&trade, Some((TradeStatus::TradeSuccess, _, _)));
    let refunded = refunds.iter().filter(|r| r.status == RefundStatus::Done).count();
    let consistent = match (kept, end) {
        (true, OrderStatus::UnderReview) | (false, OrderStatus::PendingPayment | OrderStatus::Cancelled) => {
            refunds.is_empty()
        }
        (false, OrderStatus::Refunded) => refunded == 1 && refunds.len() == 1,
        _ => false,
    };
    if consistent {
        Ok(())
    } else {
        Err(format!("money kept: {kept}, order {end:?}, refunds {refunds:?}, trade {trade:?}"))
    }
}

trait NowForTests {
    fn now_for_tests(&self) -> time::OffsetDateTime;
}

impl NowForTests for ManualClock {
    fn now_for_tests(&self) -> time::OffsetDateTime {
        app::clock::Clock::now(self)
    }
}

#[test]
fn a_thousand_random_histories_keep_the_payment_invariants() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let world = runtime.block_on(world());
    let counter = std::cell::Cell::new(0u64);
    proptest!(ProptestConfig::with_cases(1000), |(ops in proptest::collection::vec(op(), 1..14))| {
        counter.set(counter.get() + 1);
        let result = runtime.block_on(run(&world, counter.get(), &ops));
        prop_assert!(result.is_ok(), "{ops:?}: {}", result.unwrap_err());
    });
    assert!(counter.get() >= 1000);
}
