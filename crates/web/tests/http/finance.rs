//! 财务 over HTTP: e-invoices issued, emailed, resent and downloaded by their owner only; refunds
//! of paid orders through the gateway, with a second person's approval above the set amount.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use std::time::Duration as StdDuration;

use app::ports::{DevOutboxRepo, PaymentLedger};
use axum::http::{Method, StatusCode};
use serde_json::json;
use support::{Client, TestApp, complete_application, resident_id};

const PDF: &[u8] = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";

/// A paid (审核中) order that asked for an e-invoice by email.
async fn paid_order_with_invoice(app: &TestApp, phone: &str, n: u32) -> (Client, i64) {
    let mut c = app.user(phone).await;
    let application = complete_application(&mut c, "personal", &resident_id(n)).await;
    let body = json!({
        "delivery": "pickup", "pickup_point_id": 1,
        "invoice_kind": "normal", "invoice_title": "李雷", "invoice_delivery": "email", "invoice_email": "lilei@example.com"
    });
    let reply = c.order(application, &format!("finance-order-{n:04}"), body).await;
    reply.assert_status(StatusCode::CREATED);
    let id = reply.json()["id"].as_i64().unwrap();
    app.mark_paid(id).await;
    (c, id)
}

/// A multipart form post with the CSRF token as the first field; `parts` are (name, file name
/// or "" for a text field, bytes).
async fn post_multipart(c: &mut Client, path: &str, parts: &[(&str, &str, &[u8])]) -> support::Reply {
    let token = c.csrf().await;
    let boundary = "finance-test-boundary";
    let mut body =
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n{token}\r\n").into_bytes();
    for (name, file, bytes) in parts {
        let disposition = if file.is_empty() {
            format!("form-data; name=\"{name}\"")
        } else {
            format!("form-data; name=\"{name}\"; filename=\"{file}\"\r\nContent-Type: application/octet-stream")
        };
        body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n").as_bytes());
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    let content_type = format!("multipart/form-data; boundary={boundary}");
    c.send_raw(Method::POST, path, body, &[("content-type", &content_type)]).await
}

async fn post_invoice(c: &mut Client, order: i64, number: &str, file: &[u8]) -> support::Reply {
    let path = format!("/admin/finance/orders/{order}/invoice");
    post_multipart(c, &path, &[("invoice_no", "", number.as_bytes()), ("file", "invoice.pdf", file)]).await
}

#[tokio::test]
async fn an_e_invoice_is_issued_emailed_resent_and_downloaded_by_its_owner_only() {
    let app = TestApp::new().await;
    let (mut applicant, order) = paid_order_with_invoice(&app, "13800138120", 120).await;
    let mut finance = app.staff("cai.wu", "finance", None).await;
    let desk = finance.get("/admin/finance").await;
    assert!(desk.body.contains("待开票（1）") && desk.body.contains(&format!("/admin/finance/orders/{order}")));
    assert!(applicant.get(&format!("/orders/{order}")).await.body.contains("待开具"));

    let bad_number = post_invoice(&mut finance, order, "12AB", PDF).await;
    assert!(bad_number.body.contains("发票号码"), "{}", bad_number.body);
    let not_pdf = post_invoice(&mut finance, order, "12345678", &support::png(8, 8)).await;
    assert!(not_pdf.body.contains("PDF"), "{}", not_pdf.body);
    let issued = post_invoice(&mut finance, order, "044001900111", PDF).await;
    assert_eq!(
        issued.header("location"),
        Some(format!("/admin/finance/orders/{order}?notice=invoice_issued").as_str())
    );
    assert!(finance.get("/admin/finance").await.body.contains("待开票（0）"));

    let page = applicant.get(&format!("/orders/{order}")).await;
    assert!(page.body.contains("发票号码 044001900111"));
    let pdf = applicant.get(&format!("/orders/{order}/invoice")).await;
    pdf.assert_status(StatusCode::OK);
    assert_eq!(pdf.header("content-type"), Some("application/pdf"));
    assert!(pdf.bytes.starts_with(b"%PDF"));
    let mut stranger = app.user("13800138121").await;
    assert_eq!(stranger.get(&format!("/orders/{order}/invoice")).await.status, StatusCode::NOT_FOUND);

    finance.submit(&format!("/admin/finance/orders/{order}/invoice/resend"), &[]).await;
    let mails: Vec<_> = app
        .db
        .db
        .recent_messages(50)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.channel == "email" && m.subject.contains("电子发票已开具"))
        .collect();
    assert_eq!(mails.len(), 2, "issued, then resent");
    assert!(mails.iter().all(|m| m.recipient == "lilei@example.com" && m.body.contains("044001900111")));
}

fn fast() -> Vec<StdDuration> {
    vec![StdDuration::from_millis(10); 8]
}

/// Pays an order through the Alipay simulator (QR, scan, pay) and waits for 审核中.
async fn paid_through_alipay(app: &TestApp, phone: &str, n: u32) -> (Client, i64, String) {
    paid_through_alipay_with(app, phone, n, support::pickup_order_body()).await
}

/// The same, with the confirm-order body given.
async fn paid_through_alipay_with(
    app: &TestApp,
    phone: &str,
    n: u32,
    body: serde_json::Value,
) -> (Client, i64, String) {
    let mut c = app.user(phone).await;
    let application = complete_application(&mut c, "personal", &resident_id(n)).await;
    let order = c.order(application, &format!("refund-order-{n:04}"), body).await.json()["id"].as_i64().unwrap();
    c.call(Method::POST, &format!("/api/v1/orders/{order}/payments"), Some(json!({"method": "alipay_qr"}))).await;
    let no = format!("{}A", c.get(&format!("/api/v1/orders/{order}")).await.json()["order_no"].as_str().unwrap());
    app.pay().alipay.scan(&no).unwrap();
    app.pay().alipay.pay(&no).unwrap();
    let paid = support::eventually(
        async || c.get(&format!("/api/v1/orders/{order}")).await.json()["status"] == "under_review",
        |paid| *paid,
    )
    .await;
    assert!(paid, "never paid");
    (c, order, no)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_goes_back_through_the_gateway_and_large_ones_need_a_second_person() {
    let policy =
        app::Policy { refund_approval_above: domain::Money::from_fen(10_000).unwrap(), ..app::Policy::default() };
    let app = TestApp::paying_with(store::testing::TestDb::sqlite().await, &fast(), policy).await;
    let (mut applicant, order, no) = paid_through_alipay(&app, "13800138122", 122).await;
    let mut first = app.staff("cai.yi", "finance", None).await;
    let mut second = app.staff("cai.er", "finance", None).await;

    let case = first.get(&format!("/admin/finance/orders/{order}")).await;
    assert!(case.body.contains(&no) && case.body.contains("验签通过"), "payments and notifications shown");
    // In words, not codes: the channel's name and what the notification did.
    assert!(case.body.contains("<td>支付宝</td>") && case.body.contains("已到账，订单进入审核"), "{}", case.body);
    assert!(!case.body.contains("paid: Applied") && !case.body.contains("<td>alipay</td>"));
    let no_reason = first.submit(&format!("/admin/finance/orders/{order}/refund"), &[("reason", "")]).await;
    assert!(no_reason.body.contains("请填写退款原因"));
    let asked = first.submit(&format!("/admin/finance/orders/{order}/refund"), &[("reason", "申请人放弃办理")]).await;
    assert_eq!(
        asked.header("location"),
        Some(format!("/admin/finance/orders/{order}?notice=refund_awaiting").as_str())
    );
    assert_eq!(app.pay().alipay.net_received(), 20_000, "no money moved yet");

    let desk = first.get("/admin/finance").await;
    let refund_id: i64 =
        desk.body.split("/admin/finance/refunds/").nth(1).unwrap().split('/').next().unwrap().parse().unwrap();
    let own = first.submit(&format!("/admin/finance/refunds/{refund_id}/approve"), &[]).await;
    assert!(own.body.contains("另一位财务人员复核"), "{}", own.body);
    let approved = second.submit(&format!("/admin/finance/refunds/{refund_id}/approve"), &[]).await;
    assert_eq!(approved.header("location"), Some("/admin/finance?notice=refunded"));
    assert!(
        second.get("/admin/finance?notice=refunded").await.body.contains("class=\"notice\" role=\"status\">退款已提交")
    );
    assert_eq!(app.pay().alipay.net_received(), 0, "the money went back");
    assert_eq!(applicant.get(&format!("/api/v1/orders/{order}")).await.json()["status"], "refunded");
    let page = applicant.get(&format!("/orders/{order}")).await.body;
    assert!(
        page.contains("<p class=\"notice\" data-testid=\"refund\">退款 ¥200.00"),
        "a done refund is good news, not an alert"
    );
    let again = first.submit(&format!("/admin/finance/orders/{order}/refund"), &[("reason", "再退一次")]).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "one refund per payment");
    let sms = app.db.db.recent_messages(50).await.unwrap();
    assert!(sms.iter().any(|m| m.recipient == "13800138122" && m.body.contains("已退款 200.00 元")));

    // 今日收款 counts the refund: received, refunded and net (here nothing is left).
    let desk = first.get("/admin/finance").await.body;
    let shown =
        |id: &str| desk.split(&format!("data-testid=\"{id}\">")).nth(1).unwrap().split('<').next().unwrap().to_owned();
    assert_eq!(
        (shown("today-received"), shown("today-refunded"), shown("today-net")),
        ("¥200.00（1 笔）".to_owned(), "¥200.00（1 笔）".to_owned(), "¥0.00".to_owned())
    );
    // A date range, and the same as CSV an accountant can reconcile.
    let day = app.clock_now().to_offset(time::macros::offset!(+8)).date();
    let report = first.get(&format!("/admin/finance/takings?from={day}&to={day}")).await;
    assert!(report.body.contains("data-testid=\"takings-net\">¥0.00<") && report.body.contains(&no), "{}", report.body);
    let csv = first.get(&format!("/admin/finance/takings.csv?from={day}&to={day}")).await;
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
    let rows: Vec<&str> = csv.body.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(rows.len(), 1 + 2 + 3, "{rows:?}");
    assert!(rows[1].contains(",收款,") && rows[1].ends_with(",200.00") && rows[1].contains(&no), "{}", rows[1]);
    assert!(rows[2].contains(",退款,") && rows[2].ends_with(",-200.00"), "{}", rows[2]);
    assert!(rows[5].contains("净收款") && rows[5].ends_with(",0.00"));
    let backwards = first.get(&format!("/admin/finance/takings?from={day}&to=2020-01-01")).await;
    assert!(backwards.body.contains("结束日期不能早于开始日期"), "{}", backwards.body);
}

/// A trade bill line for a payment, in Alipay's column layout.
fn bill_line(trade_no: &str, out_trade_no: &str, yuan: &str) -> String {
    format!(
        "{trade_no}\t,{out_trade_no}\t,交易\t,电子签章\t,2026-11-25 10:00:00\t,2026-11-25 10:00:30\t,\t,\t,\t,\t,\t,{yuan}\t,{yuan}\t,"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daily_alipay_bill_matches_our_payments_and_differences_are_alerted() {
    let app = TestApp::paying(store::testing::TestDb::sqlite().await, &fast()).await;
    let (_, _, first) = paid_through_alipay(&app, "13800138140", 140).await;
    let (_, _, second) = paid_through_alipay(&app, "13800138141", 141).await;
    let header = "#支付宝业务明细查询\n支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户,订单金额（元）,商家实收（元）,备注\n";
    let staff = app::staff::CurrentStaff {
        id: domain::StaffId(0),
        username: "cai".into(),
        name: "财务".into(),
        phone: None,
        roles: domain::staff::Roles::of(&[domain::staff::Role::Finance]),
        session_digest: String::new(),
        must_change_password: false,
    };
    let day = time::macros::date!(2026 - 11 - 25);
    let clean = format!(
        "{header}{}\n{}\n#交易合计：2笔\n",
        bill_line("T1", &first, "200.00"),
        bill_line("T2", &second, "200.00")
    );
    let report = app.app.bill_checks().compare_alipay_bill(&staff, day, &clean).await.unwrap();
    assert!(report.is_clean(), "{report:?}");

    let tampered = format!(
        "{header}{}\n{}\n",
        bill_line("T1", &first, "199.00"),
        bill_line("T9", "SD2026112599999999A", "200.00")
    );
    let report = app.app.bill_checks().compare_alipay_bill(&staff, day, &tampered).await.unwrap();
    assert_eq!(
        (report.amount_mismatch.len(), report.missing_here.len(), report.missing_there.len()),
        (1, 1, 1),
        "{report:?}"
    );
    let alerts = app.app.payments().finance_alerts(20).await.unwrap();
    assert_eq!(alerts.iter().filter(|a| a.kind == "bill_mismatch").count(), 3);
    assert!(app.app.bill_checks().compare_alipay_bill(&staff, day, "not a bill").await.is_err());
}

/// A refund the gateway refuses (the trade was already refunded in Alipay's own console) is
/// retried on the schedule, then ends as 退款失败 with a finance alert; finance records how the
/// money went back, the order is 已退款 and the applicant is told. Nothing is retried forever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_the_gateway_refuses_ends_failed_and_finance_settles_it() {
    let app = TestApp::paying_with(store::testing::TestDb::sqlite().await, &fast(), app::Policy::default()).await;
    let (_, order, no) = paid_through_alipay(&app, "13800138125", 125).await;
    app.pay().alipay.refund_in_console(&no).unwrap();
    let mut finance = app.staff("cai.san", "finance", None).await;
    let asked = finance.submit(&format!("/admin/finance/orders/{order}/refund"), &[("reason", "申请人放弃办理")]).await;
    assert!(asked.header("location").is_some(), "{}", asked.body);
    let refunds = || async { app.app.finance_desk(&support::finance_staff()).await.unwrap().refunds_failed };
    // Retried when due, never sooner, then given up on.
    let mut cycles = 0;
    for wait in app::payment::REFUND_RETRIES {
        assert!(app.app.payments().reconcile_payments().await.unwrap().refunded == 0);
        app.advance(wait + time::Duration::seconds(1));
        app.app.payments().reconcile_payments().await.unwrap();
        cycles += 1;
    }
    assert_eq!(cycles, 5);
    assert_eq!(
        app.app.payments().reconcile_payments().await.unwrap().errors,
        0,
        "a failed refund is not retried by itself"
    );
    let failed = refunds().await;
    assert_eq!((failed.len(), failed[0].attempts), (1, 6), "{failed:?}");
    let alerts = app.app.payments().finance_alerts(10).await.unwrap();
    assert_eq!(alerts.iter().filter(|a| a.kind == "refund_failed").count(), 1, "told once: {alerts:?}");
    // Sixteen hours on, everyone signs in again.
    let mut finance = app.staff("cai.si", "finance", None).await;
    let mut applicant = app.client();
    applicant.login("13800138125", support::PASSWORD).await.assert_status(StatusCode::OK);
    assert_eq!(applicant.get(&format!("/api/v1/orders/{order}")).await.json()["status"], "under_review");

    let desk = finance.get("/admin/finance").await;
    assert!(desk.body.contains("退款失败（1）") && desk.body.contains("ACQ."), "{}", desk.body);
    let refund = failed[0].id;
    // Retrying still fails at the gateway: it says so and the refund stays for finance.
    let retried = finance.submit(&format!("/admin/finance/refunds/{refund}/retry"), &[]).await;
    assert_eq!(retried.header("location"), Some("/admin/finance?notice=refund_retrying"));
    assert!(finance.get("/admin/finance?notice=refund_retrying").await.body.contains("已按计划继续重试"));
    for wait in app::payment::REFUND_RETRIES {
        app.advance(wait + time::Duration::seconds(1));
        app.app.payments().reconcile_payments().await.unwrap();
    }
    let mut finance = app.staff("cai.wu2", "finance", None).await;
    applicant.login("13800138125", support::PASSWORD).await.assert_status(StatusCode::OK);
    let short = finance.submit(&format!("/admin/finance/refunds/{refund}/offline"), &[("note", "转账")]).await;
    assert!(short.body.contains("请写明线下退款的方式与凭证号"), "{}", short.body);
    let settled = finance
        .submit(&format!("/admin/finance/refunds/{refund}/offline"), &[("note", "银行转账，凭证号 2026120100017")])
        .await;
    assert_eq!(settled.header("location"), Some("/admin/finance?notice=refund_settled"));
    assert_eq!(applicant.get(&format!("/api/v1/orders/{order}")).await.json()["status"], "refunded");
    assert!(refunds().await.is_empty());
    let told = app.db.db.recent_messages(50).await.unwrap();
    assert!(told.iter().any(|m| m.recipient == "13800138125" && m.body.contains("已通过其他方式退回")), "{told:?}");
    let log = app.app.audit_log(&support::admin_staff(), Some(domain::OrderId(order)), 10).await.unwrap();
    assert!(log.iter().any(|e| e.action == "refund.offline" && e.detail.contains("2026120100017")), "{log:?}");
    assert!(log.iter().any(|e| e.action == "refund.retry"));
}

/// 支付宝对账 through the finance desk: the zip of GBK text Alipay serves, uploaded as it came.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finance_uploads_the_zip_alipay_serves_and_sees_the_differences() {
    use std::io::Write;
    let app = TestApp::paying(store::testing::TestDb::sqlite().await, &fast()).await;
    let (_, _, paid) = paid_through_alipay(&app, "13800138142", 142).await;
    let mut finance = app.staff("cai.liu", "finance", None).await;
    assert!(finance.get("/admin/finance").await.body.contains("action=\"/admin/finance/bill\""), "the desk offers it");
    let header = "#支付宝业务明细查询\n支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户,订单金额（元）,商家实收（元）,备注\n";
    let detail =
        format!("{header}{}\n{}\n", bill_line("T1", &paid, "199.00"), bill_line("T9", "SD2026112599999999A", "200.00"));
    let (gbk, _, _) = encoding_rs::GBK.encode(&detail);
    let mut zipped = Vec::new();
    {
        let mut writer = zip::ZipWriter::new(std::io::Cursor::new(&mut zipped));
        writer.start_file("20881234_20261125_业务明细.csv", zip::write::SimpleFileOptions::default()).unwrap();
        writer.write_all(&gbk).unwrap();
        writer.finish().unwrap();
    }
    let day = app.clock_now().to_offset(time::macros::offset!(+8)).date().to_string();
    let token = finance.csrf().await;
    let boundary = "bill-upload-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n{token}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"day\"\r\n\r\n{day}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"bill.zip\"\r\nContent-Type: application/zip\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&zipped);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let content_type = format!("multipart/form-data; boundary={boundary}");
    let result = finance.send_raw(Method::POST, "/admin/finance/bill", body, &[("content-type", &content_type)]).await;
    result.assert_status(StatusCode::OK);
    assert!(
        result.body.contains("金额不一致（1）") && result.body.contains("¥199.00") && result.body.contains("¥200.00"),
        "{}",
        result.body
    );
    assert!(result.body.contains("SD2026112599999999A"), "paid at Alipay, unknown here");
    let alerts = app.app.payments().finance_alerts(20).await.unwrap();
    assert!(alerts.iter().filter(|a| a.kind == "bill_mismatch").count() >= 2, "{alerts:?}");
    // Each difference is marked resolved with a note, audited; it then sits below the open ones.
    let first = alerts.iter().find(|a| a.kind == "bill_mismatch").unwrap().id;
    let short = finance.submit(&format!("/admin/finance/alerts/{first}/resolve"), &[("note", "好")]).await;
    assert!(short.body.contains("请写明处理结果"), "{}", short.body);
    let done =
        finance.submit(&format!("/admin/finance/alerts/{first}/resolve"), &[("note", "已核实为支付宝延迟入账")]).await;
    assert_eq!(done.header("location"), Some("/admin/finance?notice=alert_resolved"));
    let again = finance.submit(&format!("/admin/finance/alerts/{first}/resolve"), &[("note", "再处理一次")]).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "once");
    let desk = finance.get("/admin/finance?notice=alert_resolved").await.body;
    assert!(desk.contains("已标记为已处理") && desk.contains("已核实为支付宝延迟入账"), "{desk}");
    let listed = app.app.payments().finance_alerts(20).await.unwrap();
    assert_eq!(listed.last().map(|a| a.id), Some(first), "resolved ones come after the open ones");
    let log = app.app.audit_log(&support::admin_staff(), None, 20).await.unwrap();
    assert!(log.iter().any(|e| e.action == "alert.resolve" && e.detail.contains("延迟入账")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finance_finds_an_order_again_and_the_audit_links_to_a_page_the_reader_may_open() {
    let app = TestApp::paying(store::testing::TestDb::sqlite().await, &fast()).await;
    let (_, order, out_trade_no) = paid_through_alipay(&app, "13800138150", 150).await;
    let mut other = app.user("13800138151").await;
    let application = complete_application(&mut other, "enterprise", "91350100M000100Y43").await;
    let company =
        other.order(application, "search-order-2", support::pickup_order_body()).await.json()["id"].as_i64().unwrap();
    let order_no = out_trade_no.trim_end_matches('A').to_owned();
    let mut finance = app.staff("cai.cha", "finance,admin", None).await;

    let first_page = finance.get("/admin/finance/orders").await;
    assert!(first_page.body.contains("data-testid=\"order-search\"") && !first_page.body.contains("search-results"));
    let hits = |body: &str| -> Vec<i64> {
        body.split("<a href=\"/admin/finance/orders/")
            .skip(1)
            .map(|rest| rest.split('"').next().unwrap().parse().unwrap())
            .collect()
    };
    let search = |q: &str| format!("/admin/finance/orders?go=1&q={}", urlencoding(q));
    for (q, expected) in [
        (order_no.as_str(), vec![order]),
        ("13800138150", vec![order]),
        (out_trade_no.as_str(), vec![order]),
        ("91350100m000100y43", vec![company]),
        (&resident_id(150), vec![order]),
        ("示例科技", vec![company]),
        (" 138 0013 8151 ", vec![company]),
    ] {
        let page = finance.get(&search(q)).await;
        assert_eq!(hits(&page.body), expected, "searching {q}: {}", page.body);
    }
    let none = finance.get(&search("没有这家公司")).await;
    assert!(none.body.contains("没有符合条件的订单"));
    let pending = finance.get("/admin/finance/orders?go=1&q=&status=pending_payment").await;
    assert_eq!(hits(&pending.body), vec![company], "by state");
    let day = app.clock_now().to_offset(time::macros::offset!(+8)).date();
    let today = finance.get(&format!("/admin/finance/orders?go=1&from={day}&to={day}")).await;
    assert_eq!(hits(&today.body), vec![company, order], "placed today, newest first");
    let tomorrow = day.next_day().unwrap();
    assert!(hits(&finance.get(&format!("/admin/finance/orders?go=1&from={tomorrow}")).await.body).is_empty());
    let bad = finance.get("/admin/finance/orders?go=1&from=2026-13-01").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("请按 2026-12-01 的格式填写日期") && bad.body.contains("value=\"2026-13-01\""));
    let reviewer = app.staff("shen.cha", "reviewer", None).await.get(&search("13800138150")).await;
    assert_eq!(reviewer.status, StatusCode::FORBIDDEN, "finance's search is finance's");

    // The audit log (admin + finance here) links an order to the page this reader may open.
    finance.submit(&format!("/admin/finance/orders/{order}/refund"), &[("reason", "申请人放弃办理")]).await;
    let audit = finance.get("/admin/audit").await.body;
    let link = format!("<a href=\"/admin/finance/orders/{order}\">{order_no}</a>");
    assert!(audit.contains(&link), "{audit}");
    assert!(!audit.contains(&format!("/admin/orders/{order}\"")), "not the reviewer's page, which it may not open");
    assert_eq!(finance.get(&format!("/admin/finance/orders/{order}")).await.status, StatusCode::OK);
    let admin_only = app.staff("guan.li", "admin", None).await.get("/admin/audit").await.body;
    assert!(admin_only.contains(&order_no) && !admin_only.contains(&link), "an admin alone sees the number");
}

fn urlencoding(text: &str) -> String {
    text.bytes()
        .map(|b| if b.is_ascii_alphanumeric() { char::from(b).to_string() } else { format!("%{b:02X}") })
        .collect()
}

/// An OFD package as the tax platform hands it out (a zip with `OFD.xml` at its root).
fn ofd(entries: &[&str]) -> Vec<u8> {
    use std::io::Write as _;
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for name in entries {
        out.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
        out.write_all(b"<?xml version=\"1.0\"?><ofd:OFD xmlns:ofd=\"http://www.ofdspec.org/2016\"/>").unwrap();
    }
    out.finish().unwrap().into_inner()
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    use std::fmt::Write as _;
    sha2::Sha256::digest(bytes).iter().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_invoice_files_are_attached_and_a_refund_voids_the_invoice_with_a_red_letter_one() {
    let app = TestApp::paying(store::testing::TestDb::sqlite().await, &fast()).await;
    let invoice_body = json!({
        "delivery": "pickup", "pickup_point_id": 1,
        "invoice_kind": "normal", "invoice_title": "李雷", "invoice_delivery": "email", "invoice_email": "lilei@example.com"
    });
    let (mut applicant, order, _) = paid_through_alipay_with(&app, "13800138160", 160, invoice_body).await;
    let mut finance = app.staff("cai.hong", "finance", None).await;
    let path = format!("/admin/finance/orders/{order}/invoice");
    let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><EInvoice><InvoiceNumber>24442000000012345678</InvoiceNumber></EInvoice>";
    let number = ("invoice_no", "", "24442000000012345678".as_bytes());
    let pdf = ("file", "invoice.pdf", PDF);

    // What is not the file it claims to be is refused, with the reason.
    let entity = post_multipart(
        &mut finance,
        &path,
        &[number, pdf, ("xml", "a.xml", b"<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>")],
    )
    .await;
    assert!(entity.body.contains("XML 文件不能包含 DOCTYPE"), "{}", entity.body);
    let not_ofd =
        post_multipart(&mut finance, &path, &[number, pdf, ("ofd", "a.ofd", &ofd(&["Doc_0/Document.xml"]))]).await;
    assert!(not_ofd.body.contains("缺少 OFD.xml"), "{}", not_ofd.body);
    let too_early = post_multipart(
        &mut finance,
        &format!("/admin/finance/orders/{order}/red-invoice"),
        &[("red_invoice_no", "", b"24442000000099999999"), pdf],
    )
    .await;
    assert!(too_early.body.contains("尚未开具发票"), "{}", too_early.body);

    let package = ofd(&["OFD.xml", "Doc_0/Document.xml"]);
    let issued = post_multipart(
        &mut finance,
        &path,
        &[number, pdf, ("ofd", "a.ofd", &package), ("xml", "a.xml", xml.as_bytes())],
    )
    .await;
    assert_eq!(
        issued.header("location"),
        Some(format!("/admin/finance/orders/{order}?notice=invoice_issued").as_str())
    );
    let mail = app
        .db
        .db
        .recent_messages(50)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.subject.contains("电子发票已开具"))
        .unwrap();
    assert_eq!(mail.recipient, "lilei@example.com");
    for (name, bytes) in [
        ("发票-24442000000012345678.pdf", PDF),
        ("发票-24442000000012345678.ofd", &package[..]),
        ("发票-24442000000012345678.xml", xml.as_bytes()),
    ] {
        assert!(
            mail.body.contains(&format!("附件：{name}")) && mail.body.contains(&sha256_hex(bytes)),
            "{name} attached: {}",
            mail.body
        );
    }
    let page = applicant.get(&format!("/orders/{order}")).await.body;
    assert!(page.contains("/invoice/ofd\">OFD</a>") && page.contains("/invoice/xml\">XML</a>"), "{page}");
    let got = applicant.get(&format!("/orders/{order}/invoice/ofd")).await;
    assert_eq!((got.header("content-type"), got.bytes.as_slice()), (Some("application/ofd"), &package[..]));
    assert!(
        got.header("content-disposition")
            .unwrap()
            .contains("filename*=UTF-8''%E5%8F%91%E7%A5%A8-24442000000012345678.ofd")
    );
    let before = post_multipart(
        &mut finance,
        &format!("/admin/finance/orders/{order}/red-invoice"),
        &[("red_invoice_no", "", b"24442000000099999999"), pdf],
    )
    .await;
    assert!(before.body.contains("订单退款完成后才能红冲发票"), "{}", before.body);

    refund_and_void(&app, &mut finance, &mut applicant, order).await;
}

/// The refund of an invoiced order: finance is told to void the invoice and records the
/// red-letter invoice; the applicant sees both and is sent the red-letter one.
async fn refund_and_void(app: &TestApp, finance: &mut Client, applicant: &mut Client, order: i64) {
    let path = format!("/admin/finance/orders/{order}/invoice");
    let pdf = ("file", "invoice.pdf", PDF);
    // The refund: finance is told to void the invoice, and records the red-letter invoice.
    finance.submit(&format!("/admin/finance/orders/{order}/refund"), &[("reason", "申请人放弃办理")]).await;
    assert_eq!(applicant.get(&format!("/api/v1/orders/{order}")).await.json()["status"], "refunded");
    let desk = finance.get("/admin/finance").await.body;
    assert!(desk.contains("待红冲的发票（1）") && desk.contains(&format!("/admin/finance/orders/{order}")), "{desk}");
    let case = finance.get(&format!("/admin/finance/orders/{order}")).await.body;
    assert!(case.contains("data-testid=\"red-invoice-due\"") && case.contains("red-invoice-form"), "{case}");
    let red_path = format!("/admin/finance/orders/{order}/red-invoice");
    let same = post_multipart(finance, &red_path, &[("red_invoice_no", "", b"24442000000012345678"), pdf]).await;
    assert!(same.body.contains("不能与原发票号码相同"));
    let red_pdf: &[u8] = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%red\n%%EOF\n";
    let voided = post_multipart(
        finance,
        &red_path,
        &[("red_invoice_no", "", b"24442000000099999999"), ("file", "red.pdf", red_pdf)],
    )
    .await;
    assert_eq!(
        voided.header("location"),
        Some(format!("/admin/finance/orders/{order}?notice=invoice_voided").as_str())
    );
    let again = post_multipart(finance, &red_path, &[("red_invoice_no", "", b"24442000000088888888"), pdf]).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "voided once");
    let reissue = post_multipart(finance, &path, &[("invoice_no", "", b"24442000000077777777"), pdf]).await;
    assert!(reissue.body.contains("已红冲，不能再更换"), "{}", reissue.body);
    assert!(finance.get("/admin/finance").await.body.contains("待红冲的发票（0）"));
    let case = finance.get(&format!("/admin/finance/orders/{order}")).await.body;
    assert!(case.contains("已红冲") && case.contains("红字发票号码 <strong>24442000000099999999</strong>"), "{case}");

    // The applicant sees both and gets the red-letter invoice by email.
    let page = applicant.get(&format!("/orders/{order}")).await.body;
    assert!(
        page.contains("发票号码 24442000000012345678（已红冲作废）")
            && page.contains("红字发票号码 24442000000099999999"),
        "{page}"
    );
    let red = applicant.get(&format!("/orders/{order}/invoice/red-pdf")).await;
    assert_eq!(red.bytes.as_slice(), red_pdf);
    assert_eq!(applicant.get(&format!("/orders/{order}/invoice/red-ofd")).await.status, StatusCode::NOT_FOUND);
    let messages = app.db.db.recent_messages(80).await.unwrap();
    let red_mail = messages.iter().find(|m| m.channel == "email" && m.subject.contains("发票已红冲")).unwrap();
    assert!(
        red_mail.body.contains("附件：红字发票-24442000000099999999.pdf")
            && red_mail.body.contains(&sha256_hex(red_pdf))
    );
    assert!(messages.iter().any(|m| m.channel == "sms" && m.body.contains("已作废并开具红字发票")));
    let mut stranger = app.user("13800138161").await;
    assert_eq!(stranger.get(&format!("/orders/{order}/invoice/red-pdf")).await.status, StatusCode::NOT_FOUND);
    let audit = app.staff("guan.hong", "admin", None).await.get("/admin/audit").await.body;
    assert!(audit.contains("红冲发票") && audit.contains("原发票 24442000000012345678，红字发票 24442000000099999999"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_morning_yesterdays_alipay_bill_is_fetched_and_checked_once() {
    let app = TestApp::paying(store::testing::TestDb::sqlite().await, &fast()).await;
    let mut finance = app.staff("cai.zao", "finance", None).await;
    // 2026-11-25, 10:00 China time: the bill of the 24th (no trades) is out.
    let empty = app.app.bill_checks().fetch_daily_bills().await.unwrap().expect("the 24th's bill");
    assert!(empty.is_clean());
    assert!(app.app.bill_checks().fetch_daily_bills().await.unwrap().is_none(), "once per day");
    let alipay = app.pay().gateways.iter().find(|g| g.channel() == payments::Channel::Alipay).unwrap();
    let today = app.clock_now().to_offset(time::macros::offset!(+8)).date();
    assert_eq!(
        alipay.trade_bill(today, app.clock_now()).await,
        Ok(None),
        "today's bill is not out (isp.bill_not_exist)"
    );
    let bill = alipay.trade_bill(today.previous_day().unwrap(), app.clock_now()).await.unwrap().unwrap();
    assert!(bill.starts_with(b"PK\x03\x04"), "the zip, fetched from the signed answer's URL");

    let (_, kept, _) = paid_through_alipay(&app, "13800138170", 170).await;
    let (_, refunded, _) = paid_through_alipay(&app, "13800138171", 171).await;
    finance.submit(&format!("/admin/finance/orders/{refunded}/refund"), &[("reason", "申请人放弃办理")]).await;
    assert_eq!(app.pay().alipay.net_received(), 20_000);

    app.advance(time::Duration::hours(23));
    assert!(app.app.bill_checks().fetch_daily_bills().await.unwrap().is_none(), "09:00: the bill is not out yet");
    app.advance(time::Duration::hours(1));
    let day = app.app.bill_checks().fetch_daily_bills().await.unwrap().expect("the 25th's bill");
    assert!(day.is_clean(), "a payment, and a payment refunded the same day, as we recorded them: {day:?}");
    // (A day later the first staff session has long expired.)
    let desk = app.staff("cai.zao.2", "finance", None).await.get("/admin/finance").await.body;
    let checks = desk.split("data-testid=\"bill-checks\">").nth(1).unwrap().split("</ul>").next().unwrap();
    assert!(checks.contains("2026-11-25 支付宝：自动核对，<span class=\"tag tag-done\">一致</span>"), "{checks}");

    // The 26th: the kept order refunded in Alipay's own console, which sealdesk never saw.
    let out_trade_no = app.db.db.payments_of_order(domain::OrderId(kept)).await.unwrap().remove(0).out_trade_no;
    app.pay().alipay.refund_in_console(&out_trade_no).unwrap();
    app.advance(time::Duration::days(1));
    let day = app.app.bill_checks().fetch_daily_bills().await.unwrap().expect("the 26th's bill");
    assert_eq!(day.refunds_missing_here, std::slice::from_ref(&out_trade_no), "{day:?}");
    let desk = app.staff("cai.zao.3", "finance", None).await.get("/admin/finance").await.body;
    assert!(desk.contains("2026-11-26 支付宝：自动核对，<strong>1 处差异</strong>"), "{desk}");
    assert!(desk.contains(&format!("{out_trade_no} 支付宝有退款，本系统没有记录")), "{desk}");
}
