//! Paying for orders through the Alipay and CPCN simulators over real HTTP (SECURITY F1–F7):
//! only a verified notification or an active query moves an order; forged and mismatched
//! notifications change nothing; duplicates apply once; lost notifications are reconciled;
//! cancelling closes the trade first; money that arrives after a cancel is refunded once.
//! Each check runs on SQLite and on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use std::time::Duration as StdDuration;

use app::ports::DevOutboxRepo;
use axum::http::{Method, StatusCode};
use paysim::Faults;
use serde_json::{Value, json};
use store::testing::TestDb;
use support::{Client, TestApp, complete_application, eventually, pickup_order_body, resident_id};
use time::Duration;

type Fields = Vec<(String, String)>;

/// Runs each check on a fresh SQLite and (when configured) a fresh PostgreSQL database.
macro_rules! both {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {$(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(store::testing::TestDb::sqlite().await).await; }
        )+}
        mod postgres {$(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                if let Some(db) = store::testing::TestDb::postgres().await { super::$name(db).await; }
            }
        )+}
    };
}

both!(
    paying_at_the_alipay_cashier_moves_the_order_to_review,
    paying_through_cpcn_online_banking_moves_the_order_to_review,
    forged_notifications_change_nothing,
    signed_notifications_that_do_not_match_alert_finance_and_change_nothing,
    fifty_concurrent_copies_of_a_notification_apply_once,
    notifications_are_retried_until_the_endpoint_recovers,
    reconciliation_finds_every_payment_whose_notification_was_lost,
    corrupted_and_duplicated_deliveries_from_the_simulator_end_right,
    cancelling_closes_the_trade_first_and_a_paid_trade_wins,
    money_that_arrives_after_a_cancel_is_refunded_exactly_once,
);

/// Alipay's schedule, a thousand times faster (hours become seconds).
fn fast() -> Vec<StdDuration> {
    paysim::compressed(&paysim::alipay_retry_schedule(), 1000)
        .into_iter()
        .map(|d| d.min(StdDuration::from_millis(300)))
        .collect()
}

/// A logged-in applicant with one unpaid order; returns the client and the order id.
async fn unpaid_order(app: &TestApp, phone: &str, n: u32) -> (Client, i64) {
    let mut c = app.user(phone).await;
    let application = complete_application(&mut c, "personal", &resident_id(n)).await;
    let reply = c.order(application, &format!("order-key-{n:08}"), pickup_order_body()).await;
    reply.assert_status(StatusCode::CREATED);
    let id = reply.json()["id"].as_i64().unwrap();
    (c, id)
}

async fn start(c: &mut Client, order: i64, method: &str, bank: &str) -> Value {
    let reply = c
        .call(
            Method::POST,
            &format!("/api/v1/orders/{order}/payments"),
            Some(json!({"method": method, "bank_id": bank})),
        )
        .await;
    reply.assert_status(StatusCode::OK);
    reply.json()
}

fn field<'a>(checkout: &'a Value, name: &str) -> &'a str {
    checkout["fields"].as_array().unwrap().iter().find(|f| f[0] == name).map(|f| f[1].as_str().unwrap()).unwrap()
}

async fn status(c: &mut Client, order: i64) -> String {
    c.get(&format!("/api/v1/orders/{order}")).await.json()["status"].as_str().unwrap().to_owned()
}

async fn wait_for(c: &mut Client, order: i64, want: &str) {
    let reached = eventually(async || status(c, order).await, |s| s == want).await;
    assert_eq!(reached, want, "order {order} never reached {want}");
}

/// The simulator's delivery log once it holds `n` entries (an attempt is logged when our answer
/// reaches the simulator, which can be a moment after the order moved).
async fn deliveries(get: impl Fn() -> Vec<paysim::Delivery>, n: usize) -> Vec<paysim::Delivery> {
    eventually(async || get(), |log| log.len() >= n).await
}

/// How many messages in the dev outbox contain `text`, once there are at least `n` (the worker
/// delivers them a moment after the payment's transaction, which is what moved the order).
async fn messages_with(app: &TestApp, text: &str, n: usize) -> usize {
    let count = async || app.db.db.recent_messages(100).await.unwrap().iter().filter(|m| m.body.contains(text)).count();
    eventually(count, |found| *found >= n).await
}

/// Posts a notification to our endpoint as a gateway would (no cookies, no token).
async fn notify(app: &TestApp, channel: &str, fields: &[(String, String)]) -> support::Reply {
    let body = serde_urlencoded::to_string(fields).unwrap().into_bytes();
    app.client()
        .send_raw(
            Method::POST,
            &format!("/pay/notify/{channel}"),
            body,
            &[("content-type", "application/x-www-form-urlencoded")],
        )
        .await
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

async fn timeline_len(c: &mut Client, order: i64) -> usize {
    c.get(&format!("/api/v1/orders/{order}")).await.json()["timeline"].as_array().unwrap().len()
}

async fn paying_at_the_alipay_cashier_moves_the_order_to_review(db: TestDb) {
    let app = TestApp::paying(db, &fast()).await;
    let (mut c, order) = unpaid_order(&app, "13800138001", 1).await;
    let checkout = start(&mut c, order, "alipay_page", "").await;
    assert_eq!(checkout["kind"], "form");
    let action = checkout["action"].as_str().unwrap();
    assert_eq!(action, format!("{}/sim/alipay/gateway.do?charset=utf-8", app.pay().base));
    let biz: Value = serde_json::from_str(field(&checkout, "biz_content")).unwrap();
    assert_eq!(biz["total_amount"], "200.00", "the server's amount, in yuan at the edge");
    let out_trade_no = biz["out_trade_no"].as_str().unwrap().to_owned();

    // A browser coming back with made-up parameters does not pay anything.
    let forged = c.get(&format!("/pay/return/alipay?out_trade_no={out_trade_no}&trade_status=TRADE_SUCCESS")).await;
    assert!(forged.body.contains("支付失败"), "{}", forged.body);
    // The failure page names the order and leads back to it.
    let order_no = out_trade_no.trim_end_matches(char::is_alphabetic);
    assert!(forged.body.contains(&format!("data-testid=\"pay-result-order\">{order_no}<")), "{}", forged.body);
    assert!(forged.body.contains(&format!("href=\"/orders/{order}\">返回订单<")), "{}", forged.body);
    assert_eq!(status(&mut c, order).await, "pending_payment");

    // The browser posts the signed form; the cashier shows the trade; the payer pays.
    let fields: Vec<(String, String)> = checkout["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f[0].as_str().unwrap().into(), f[1].as_str().unwrap().into()))
        .collect();
    let web = browser();
    let cashier = web
        .post(action)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string(&fields).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(cashier.status(), StatusCode::SEE_OTHER);
    let cashier_url = cashier.headers()["location"].to_str().unwrap().to_owned();
    let page = web.get(&cashier_url).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("¥ 200.00") && page.contains("确认付款"), "{page}");
    let paid = web.post(format!("{cashier_url}/pay")).send().await.unwrap();
    let back = paid.headers()["location"].to_str().unwrap().to_owned();
    assert!(back.starts_with(&format!("{}/pay/return/alipay?", app.pay().base)), "{back}");

    wait_for(&mut c, order, "under_review").await;
    let path = back.trim_start_matches(&app.pay().base);
    let result = c.get(path).await;
    assert!(result.body.contains("支付成功"), "{}", result.body);
    let payments = c.get(&format!("/api/v1/orders/{order}/payments")).await.json();
    assert_eq!(payments["payments"][0]["status"], "paid");
    assert_eq!(payments["payments"][0]["amount_fen"], 20_000);
    assert_eq!(messages_with(&app, "已支付成功", 1).await, 1, "one message to the applicant");
    let answers: Vec<_> = deliveries(|| app.pay().alipay.deliveries(), 1).await.into_iter().map(|d| d.answer).collect();
    assert_eq!(answers, vec![Some("success".to_owned())], "acknowledged at the first attempt, exactly `success`");
    // A paid order cannot be paid again.
    let again =
        c.call(Method::POST, &format!("/api/v1/orders/{order}/payments"), Some(json!({"method": "alipay_qr"}))).await;
    assert_eq!((again.status, again.code().as_str()), (StatusCode::CONFLICT, "order_not_payable"));
}

async fn paying_through_cpcn_online_banking_moves_the_order_to_review(db: TestDb) {
    let app = TestApp::paying(db, &fast()).await;
    let (mut c, order) = unpaid_order(&app, "13800138002", 2).await;
    let none =
        c.call(Method::POST, &format!("/api/v1/orders/{order}/payments"), Some(json!({"method": "cpcn_bank"}))).await;
    assert_eq!((none.status, none.fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["bank_id".to_owned()]));
    let checkout = start(&mut c, order, "cpcn_bank", "102").await;
    let action = checkout["action"].as_str().unwrap().to_owned();
    assert!(action.ends_with("/sim/cpcn/Gateway/InterfaceI"));
    let fields: Vec<(String, String)> = checkout["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f[0].as_str().unwrap().into(), f[1].as_str().unwrap().into()))
        .collect();
    let web = browser();
    let bank = web
        .post(&action)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string(&fields).unwrap())
        .send()
        .await
        .unwrap();
    let bank_url = bank.headers()["location"].to_str().unwrap().to_owned();
    let page = web.get(&bank_url).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("中国工商银行") && page.contains("¥ 200.00"), "{page}");
    let paid = web.post(format!("{bank_url}/pay")).send().await.unwrap();
    assert!(paid.headers()["location"].to_str().unwrap().contains("/pay/return/cpcn?PaymentNo="));
    wait_for(&mut c, order, "under_review").await;
    let answer = deliveries(|| app.pay().cpcn.deliveries(), 1).await[0].answer.clone().unwrap();
    assert!(answer.len() > 20 && !answer.contains('<'), "a Base64 XML answer: {answer}");
    assert_eq!(timeline_len(&mut c, order).await, 2);

    // A CPCN notification signed with the wrong key changes nothing.
    let no = format!("{}C", c.get(&format!("/api/v1/orders/{order}")).await.json()["order_no"].as_str().unwrap());
    let mut forged = app.pay().cpcn.notification(&no).unwrap();
    forged[1].1 = forged[1].1.replace('a', "b");
    let reply = notify(&app, "cpcn", &forged).await;
    assert!(!reply.body.is_empty());
    assert_eq!(timeline_len(&mut c, order).await, 2);
}

/// A trade opened at the simulator, its order number, and a signed TRADE_SUCCESS notification.
async fn opened_trade(app: &TestApp, phone: &str, n: u32) -> (Client, i64, String) {
    let (mut c, order) = unpaid_order(app, phone, n).await;
    let checkout = start(&mut c, order, "alipay_qr", "").await;
    assert_eq!(checkout["kind"], "qr");
    assert!(
        checkout["qr_svg"].as_str().unwrap().starts_with("<?xml")
            || checkout["qr_svg"].as_str().unwrap().contains("<svg")
    );
    let no = format!("{}A", c.get(&format!("/api/v1/orders/{order}")).await.json()["order_no"].as_str().unwrap());
    (c, order, no)
}

fn notice_fields(no: &str, amount: &str, status: &str, app_id: &str, seller: &str) -> Vec<(String, String)> {
    [
        ("notify_time", "2026-11-25 10:00:00"),
        ("notify_type", "trade_status_sync"),
        ("notify_id", "ac05099524730693a8b330c5ecf72da9786"),
        ("app_id", app_id),
        ("charset", "utf-8"),
        ("version", "1.0"),
        ("trade_no", "2026112522001400000000000001"),
        ("out_trade_no", no),
        ("seller_id", seller),
        ("trade_status", status),
        ("total_amount", amount),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

async fn forged_notifications_change_nothing(db: TestDb) {
    let app = TestApp::paying(db, &fast()).await;
    let (mut c, order, no) = opened_trade(&app, "13800138003", 3).await;
    let genuine = notice_fields(&no, "200.00", "TRADE_SUCCESS", paysim::SIM_APP_ID, paysim::SIM_SELLER_ID);
    let signed = app.pay().alipay.sign_fields(genuine.clone());
    let with = |f: &dyn Fn(&mut Fields)| {
        let mut v = signed.clone();
        f(&mut v);
        v
    };
    let set = |v: &mut Vec<(String, String)>, k: &str, val: &str| {
        v.iter_mut().filter(|(n, _)| n == k).for_each(|(_, x)| *x = val.into());
    };
    // Signed with our own app key instead of Alipay's.
    let ours = {
        let key = support::sim_keys().alipay_app;
        let content = payments::alipay_sign::notify_content(&genuine).unwrap();
        let mut v = genuine.clone();
        v.push(("sign_type".into(), "RSA2".into()));
        v.push(("sign".into(), key.sign(content.as_bytes()).unwrap()));
        v
    };
    let forgeries: Vec<(&str, Vec<(String, String)>)> = vec![
        ("missing sign", with(&|v| v.retain(|(k, _)| k != "sign"))),
        ("app key", ours),
        ("altered amount", with(&|v| set(v, "total_amount", "0.01"))),
        ("altered status", with(&|v| set(v, "trade_status", "TRADE_FINISHED"))),
        ("RSA downgrade", with(&|v| set(v, "sign_type", "RSA"))),
        ("MD5 downgrade", with(&|v| set(v, "sign_type", "MD5"))),
        ("extra unsigned parameter", with(&|v| v.push(("refund_fee".into(), "0.00".into())))),
        ("duplicate key", with(&|v| v.push(("total_amount".into(), "200.00".into())))),
        ("empty", Vec::new()),
    ];
    for (what, fields) in forgeries {
        let reply = notify(&app, "alipay", &fields).await;
        assert_eq!(reply.status, StatusCode::OK, "{what}");
        assert_ne!(reply.body, "success", "{what} must not be acknowledged");
    }
    // Double URL-encoding: the encoded value is not what was signed.
    let body = serde_urlencoded::to_string(&signed).unwrap().replace("%3A", "%253A");
    let reply = app
        .client()
        .send_raw(
            Method::POST,
            "/pay/notify/alipay",
            body.into_bytes(),
            &[("content-type", "application/x-www-form-urlencoded")],
        )
        .await;
    assert_ne!(reply.body, "success", "double-encoded");
    assert_eq!(status(&mut c, order).await, "pending_payment");
    assert_eq!(timeline_len(&mut c, order).await, 1);
    let notices = app.app.payments().payment_notices(None, 50).await.unwrap();
    assert_eq!(notices.iter().filter(|n| !n.verified).count(), 10, "every refused notification is kept");
    let alerts = app.app.payments().finance_alerts(50).await.unwrap();
    assert_eq!(alerts.iter().filter(|a| a.kind == "forged_notices").count(), 1, "one alert at the fifth forgery");
    // The genuine one, finally, is applied and acknowledged.
    let reply = notify(&app, "alipay", &signed).await;
    assert_eq!((reply.body.as_str(), reply.header("content-type")), ("success", Some("text/plain; charset=utf-8")));
    assert!(reply.set_cookies().is_empty(), "no cookies for the gateway");
    assert_eq!(status(&mut c, order).await, "under_review");
}

async fn signed_notifications_that_do_not_match_alert_finance_and_change_nothing(db: TestDb) {
    let app = TestApp::paying(db, &fast()).await;
    let (mut c, order, no) = opened_trade(&app, "13800138004", 4).await;
    let (app_id, seller) = (paysim::SIM_APP_ID, paysim::SIM_SELLER_ID);
    let cases = [
        notice_fields(&no, "0.01", "TRADE_SUCCESS", app_id, seller),
        notice_fields(&no, "200.01", "TRADE_SUCCESS", app_id, seller),
        notice_fields(&no, "199.99", "TRADE_SUCCESS", app_id, seller),
        notice_fields(&no, "0.001", "TRADE_SUCCESS", app_id, seller),
        notice_fields(&no, "200.00", "TRADE_SUCCESS", app_id, "2088999999999999"),
        notice_fields(&no, "200.00", "TRADE_SUCCESS", "2021999999999999", seller),
        notice_fields("SD2026112599999999A", "200.00", "TRADE_SUCCESS", app_id, seller),
    ];
    for fields in &cases {
        let reply = notify(&app, "alipay", &app.pay().alipay.sign_fields(fields.clone())).await;
        assert_eq!(reply.body, "success", "recorded and acknowledged, so the gateway stops");
    }
    for state in ["WAIT_BUYER_PAY", "TRADE_CLOSED"] {
        let reply =
            notify(&app, "alipay", &app.pay().alipay.sign_fields(notice_fields(&no, "200.00", state, app_id, seller)))
                .await;
        assert_eq!(reply.body, "success");
    }
    assert_eq!(status(&mut c, order).await, "pending_payment");
    assert_eq!(timeline_len(&mut c, order).await, 1);
    let alerts = app.app.payments().finance_alerts(50).await.unwrap();
    assert_eq!(alerts.len(), 7, "{alerts:#?}");
    assert!(alerts.iter().any(|a| a.detail.contains("total_amount")));
    assert!(alerts.iter().any(|a| a.kind == "unknown_trade"));
    let sms = app.db.db.recent_messages(50).await.unwrap();
    assert_eq!(sms.iter().filter(|m| m.body.contains("已支付成功")).count(), 0, "no message for unpaid orders");
}

async fn fifty_concurrent_copies_of_a_notification_apply_once(db: TestDb) {
    let app = TestApp::paying(db, &fast()).await;
    app.pay().alipay.set_faults(Faults { drop: true, ..Faults::default() });
    let (mut c, order, no) = opened_trade(&app, "13800138005", 5).await;
    app.pay().alipay.scan(&no).unwrap();
    app.pay().alipay.pay(&no).unwrap();
    let fields = app.pay().alipay.notification(&no).unwrap();
    let body = serde_urlencoded::to_string(&fields).unwrap();
    // Split across two instances of the service, as behind a load balancer.
    let routers = [app.router.clone(), app.second_instance()];
    let sends: Vec<_> = (0..50)
        .map(|i| {
            let (router, body) = (routers[i % 2].clone(), body.clone());
            tokio::spawn(async move {
                use tower::ServiceExt;
                let request = axum::http::Request::post("/pay/notify/alipay")
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(axum::body::Body::from(body))
                    .unwrap();
                let response = router.oneshot(request).await.unwrap();
                let bytes = http_body_util::BodyExt::collect(response.into_body()).await.unwrap().to_bytes();
                String::from_utf8(bytes.to_vec()).unwrap()
            })
        })
        .collect();
    for send in sends {
        assert_eq!(send.await.unwrap(), "success");
    }
    assert_eq!(status(&mut c, order).await, "under_review");
    assert_eq!(timeline_len(&mut c, order).await, 2, "exactly one state change");
    let payments = c.get(&format!("/api/v1/orders/{order}/payments")).await.json();
    assert_eq!(payments["payments"].as_array().unwrap().len(), 1);
    assert_eq!(payments["refunds"], json!([]));
    let sms = app.db.db.recent_messages(100).await.unwrap();
    assert_eq!(sms.iter().filter(|m| m.body.contains("已支付成功")).count(), 1);
}

async fn notifications_are_retried_until_the_endpoint_recovers(db: TestDb) {
    let gaps = vec![StdDuration::from_millis(0); 1]
        .into_iter()
        .chain(vec![StdDuration::from_millis(250); 7])
        .collect::<Vec<_>>();
    let app = TestApp::paying(db, &gaps).await;
    let (mut c, order, no) = opened_trade(&app, "13800138006", 6).await;
    // Our side fails (the payments table is unreachable) for the first three attempts.
    app.db.db.execute_raw("ALTER TABLE payments RENAME TO payments_away").await.unwrap();
    app.pay().alipay.scan(&no).unwrap();
    app.pay().alipay.pay(&no).unwrap();
    eventually(async || app.pay().alipay.deliveries(), |log| log.len() >= 3).await;
    app.db.db.execute_raw("ALTER TABLE payments_away RENAME TO payments").await.unwrap();
    wait_for(&mut c, order, "under_review").await;
    // The simulator logs an attempt once our answer reaches it.
    let deliveries = eventually(
        async || app.pay().alipay.deliveries(),
        |log| log.iter().any(|d| d.answer.as_deref() == Some("success")),
    )
    .await;
    assert!(deliveries.len() >= 4, "{deliveries:?}");
    assert!(deliveries[..3].iter().all(|d| d.answer.as_deref() == Some("fail")), "{deliveries:?}");
    assert_eq!(deliveries.last().unwrap().answer.as_deref(), Some("success"));
    assert_eq!(timeline_len(&mut c, order).await, 2, "applied once");
}

async fn reconciliation_finds_every_payment_whose_notification_was_lost(db: TestDb) {
    let app = TestApp::paying(db, &fast()).await;
    app.pay().alipay.set_faults(Faults { drop: true, ..Faults::default() });
    let mut orders = Vec::new();
    for n in 0..12u32 {
        let (c, order, no) = opened_trade(&app, &format!("1380013{:04}", 100 + n), 100 + n).await;
        app.pay().alipay.scan(&no).unwrap();
        app.pay().alipay.pay(&no).unwrap();
        orders.push((c, order, no));
    }
    // Three orders whose amount was changed in our database after the trade was opened.
    for (_, _, no) in &orders[..3] {
        app.db
            .db
            .execute_raw(&format!("UPDATE payments SET amount_fen = amount_fen - 1 WHERE out_trade_no = '{no}'"))
            .await
            .unwrap();
    }
    let early = app.app.payments().reconcile_payments().await.unwrap();
    assert_eq!(early.paid, 0, "nothing is queried before it is overdue");
    app.advance(Duration::minutes(6));
    let report = app.app.payments().reconcile_payments().await.unwrap();
    assert_eq!((report.paid, report.errors), (9, 0));
    for (i, (c, order, _)) in orders.iter_mut().enumerate() {
        let want = if i < 3 { "pending_payment" } else { "under_review" };
        assert_eq!(status(c, *order).await, want);
    }
    let alerts = app.app.payments().finance_alerts(50).await.unwrap();
    assert_eq!(alerts.iter().filter(|a| a.kind == "query_mismatch").count(), 3, "every tampered order is reported");
    let again = app.app.payments().reconcile_payments().await.unwrap();
    assert_eq!(again.paid, 0, "a second cycle changes nothing");
}

async fn cancelling_closes_the_trade_first_and_a_paid_trade_wins(db: TestDb) {
    let app = TestApp::paying(db, &fast()).await;
    app.pay().alipay.set_faults(Faults { drop: true, ..Faults::default() });
    let (mut c, order, no) = opened_trade(&app, "13800138007", 7).await;
    app.pay().alipay.scan(&no).unwrap();
    app.pay().alipay.pay(&no).unwrap();
    let cancel = c.call(Method::POST, &format!("/api/v1/orders/{order}/cancel"), None).await;
    assert_eq!((cancel.status, cancel.code().as_str()), (StatusCode::CONFLICT, "order_paid"));
    assert_eq!(status(&mut c, order).await, "under_review");

    // An unpaid trade is closed at the gateway, then the order is cancelled.
    let (mut c2, order2) = unpaid_order(&app, "13800138008", 8).await;
    let checkout = start(&mut c2, order2, "alipay_page", "").await;
    let fields: Vec<(String, String)> = checkout["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f[0].as_str().unwrap().into(), f[1].as_str().unwrap().into()))
        .collect();
    browser()
        .post(checkout["action"].as_str().unwrap())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string(&fields).unwrap())
        .send()
        .await
        .unwrap();
    c2.call(Method::POST, &format!("/api/v1/orders/{order2}/cancel"), None).await.assert_status(StatusCode::OK);
    let no2 = format!("{}A", c2.get(&format!("/api/v1/orders/{order2}")).await.json()["order_no"].as_str().unwrap());
    assert_eq!(app.pay().alipay.status(&no2), Some("TRADE_CLOSED"));
    assert!(app.pay().alipay.pay(&no2).is_err(), "a closed trade cannot be paid");
}

async fn money_that_arrives_after_a_cancel_is_refunded_exactly_once(db: TestDb) {
    let app = TestApp::paying(db, &fast()).await;
    let (mut c, order, no) = opened_trade(&app, "13800138009", 9).await;
    // Nobody scanned yet: the gateway does not know the trade, so the cancel goes through.
    c.call(Method::POST, &format!("/api/v1/orders/{order}/cancel"), None).await.assert_status(StatusCode::OK);
    // Then the payer scans the old QR code and pays.
    app.pay().alipay.scan(&no).unwrap();
    app.pay().alipay.pay(&no).unwrap();
    wait_for(&mut c, order, "refunded").await;
    let fields = app.pay().alipay.notification(&no).unwrap();
    for _ in 0..3 {
        assert_eq!(notify(&app, "alipay", &fields).await.body, "success");
    }
    app.advance(Duration::minutes(10));
    app.app.payments().reconcile_payments().await.unwrap();
    let payments = c.get(&format!("/api/v1/orders/{order}/payments")).await.json();
    assert_eq!(payments["refunds"].as_array().unwrap().len(), 1, "{payments}");
    assert_eq!(payments["refunds"][0]["status"], "done");
    assert_eq!(app.pay().alipay.net_received(), 0, "the money went back");
    let alerts = app.app.payments().finance_alerts(10).await.unwrap();
    assert_eq!(alerts.iter().filter(|a| a.kind == "refund_owed").count(), 1, "staff are told once");
    let timeline = c.get(&format!("/api/v1/orders/{order}")).await.json()["timeline"].clone();
    let labels: Vec<_> = timeline.as_array().unwrap().iter().map(|e| e["label"].as_str().unwrap().to_owned()).collect();
    assert_eq!(labels, ["待支付", "已取消", "已退款"]);
    // The applicant is told, once, however often the notification came.
    let told: Vec<_> = app
        .db
        .db
        .recent_messages(100)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.recipient == "13800138009" && m.body.contains("已退款"))
        .collect();
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(told[0].body.starts_with("【电子签章】") && told[0].body.matches('【').count() == 1, "{}", told[0].body);
    assert!(told[0].body.contains(no.trim_end_matches(char::is_alphabetic)), "names the order: {}", told[0].body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pay_pages_offer_every_method_and_hand_over_the_signed_form() {
    let app = TestApp::paying(store::testing::TestDb::sqlite().await, &fast()).await;
    let (mut c, order) = unpaid_order(&app, "13800138010", 10).await;
    let page = c.get(&format!("/orders/{order}")).await;
    assert!(page.body.contains(&format!("href=\"/orders/{order}/pay\"")), "去支付 is offered");
    let choose = c.get(&format!("/orders/{order}/pay")).await;
    for text in ["支付宝 · 网页支付", "支付宝 · 扫码支付", "中金支付 · 网上银行", "中国工商银行", "¥200.00"]
    {
        assert!(choose.body.contains(text), "{text}");
    }
    // 去支付 opens the payment in a new page; this one asks how it went, and neither answer
    // marks anything paid by itself: 支付成功 asks the gateway, 支付失败 lists unpaid orders.
    assert!(choose.body.contains("target=\"_blank\" data-pay-form=\"after-pay\""), "{}", choose.body);
    let dialog = choose.body.split("<dialog id=\"after-pay\"").nth(1).unwrap().split("</dialog>").next().unwrap();
    assert!(dialog.contains(&format!("action=\"/orders/{order}/pay/refresh\"")) && dialog.contains(">支付成功<"));
    assert!(dialog.contains("href=\"/orders?status=pending_payment\"") && dialog.contains(">支付失败<"));
    let no_bank = c.submit(&format!("/orders/{order}/pay"), &[("method", "cpcn_bank"), ("bank_id", "")]).await;
    assert_eq!(no_bank.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(no_bank.body.contains("请选择付款银行"));
    let nothing = c.submit(&format!("/orders/{order}/pay"), &[("method", "bitcoin")]).await;
    assert!(nothing.body.contains("请选择支付方式"));

    let redirect = c.submit(&format!("/orders/{order}/pay"), &[("method", "alipay_page")]).await;
    redirect.assert_status(StatusCode::OK);
    let base = &app.pay().base;
    assert!(redirect.body.contains(&format!("action=\"{base}/sim/alipay/gateway.do?charset=utf-8\"")));
    assert!(redirect.body.contains("data-autosubmit") && redirect.body.contains("name=\"sign\""));
    let csp = redirect.header("content-security-policy").unwrap();
    assert!(csp.contains(&format!("form-action 'self' {base};")), "{csp}");
    assert!(!c.get("/").await.header("content-security-policy").unwrap().contains(base.as_str()), "only that page");

    let qr = c.submit(&format!("/orders/{order}/pay"), &[("method", "alipay_qr")]).await;
    assert!(
        qr.body.contains("<svg") && qr.body.contains(">支付成功<") && qr.body.contains(">支付失败<"),
        "{}",
        qr.body
    );
    let not_yet = c.submit(&format!("/orders/{order}/pay/refresh"), &[]).await;
    assert_eq!(not_yet.header("location"), Some(format!("/orders/{order}?notice=payment_not_received").as_str()));

    let no = format!("{}A", c.get(&format!("/api/v1/orders/{order}")).await.json()["order_no"].as_str().unwrap());
    app.pay().alipay.set_faults(Faults { drop: true, ..Faults::default() });
    app.pay().alipay.scan(&no).unwrap();
    app.pay().alipay.pay(&no).unwrap();
    let refreshed = c.submit(&format!("/orders/{order}/pay/refresh"), &[]).await;
    assert_eq!(refreshed.header("location"), Some(format!("/orders/{order}?notice=payment_received").as_str()));
    let detail = c.get(&format!("/orders/{order}?notice=payment_received")).await;
    for text in ["支付成功，订单已进入审核", "支付记录", "支付宝", &no, "已支付", "审核中"] {
        assert!(detail.body.contains(text), "{text}");
    }
    let gone = c.get(&format!("/orders/{order}/pay")).await;
    assert_eq!(gone.header("location"), Some(format!("/orders/{order}").as_str()), "a paid order is not paid again");
}

async fn corrupted_and_duplicated_deliveries_from_the_simulator_end_right(db: TestDb) {
    let gaps = vec![StdDuration::from_millis(20); 8];
    let app = TestApp::paying(db, &gaps).await;
    // Every attempt is spoiled after signing: all eight are refused, nothing changes.
    app.pay().alipay.set_faults(Faults { corrupt: true, ..Faults::default() });
    let (mut c, order, no) = opened_trade(&app, "13800138011", 11).await;
    app.pay().alipay.scan(&no).unwrap();
    app.pay().alipay.pay(&no).unwrap();
    let deliveries = eventually(async || app.pay().alipay.deliveries(), |log| log.len() == 8).await;
    assert_eq!(deliveries.len(), 8, "the whole schedule was used: {deliveries:?}");
    assert!(deliveries.iter().all(|d| d.answer.as_deref() == Some("fail")));
    assert_eq!(status(&mut c, order).await, "pending_payment");
    // The reconciliation job's query finds the payment.
    app.advance(Duration::minutes(6));
    assert_eq!(app.app.payments().reconcile_payments().await.unwrap().paid, 1);
    assert_eq!(status(&mut c, order).await, "under_review");

    // Five copies of each attempt race each other: applied once, all acknowledged.
    app.pay().alipay.set_faults(Faults { duplicate: 5, ..Faults::default() });
    let (mut c2, order2, no2) = opened_trade(&app, "13800138012", 12).await;
    app.pay().alipay.scan(&no2).unwrap();
    app.pay().alipay.pay(&no2).unwrap();
    wait_for(&mut c2, order2, "under_review").await;
    let copies_of =
        async || -> Vec<_> { app.pay().alipay.deliveries().into_iter().filter(|d| d.out_trade_no == no2).collect() };
    let copies = eventually(copies_of, |copies| copies.len() == 5).await;
    assert_eq!(copies.len(), 5, "{copies:?}");
    assert!(copies.iter().all(|d| d.answer.as_deref() == Some("success")));
    assert_eq!(timeline_len(&mut c2, order2).await, 2);
}
