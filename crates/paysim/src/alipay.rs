//! The Alipay open platform gateway, simulated: `gateway.do` takes signed page-pay requests
//! (browser) and signed API calls (server), a cashier page lets a person pay or fail, and a paid
//! trade sends signed `trade_status_sync` notifications on Alipay's retry schedule until the
//! merchant answers exactly `success`.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Form, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

use domain::Money;
use payments::alipay_sign::{notify_content, request_content};
use payments::alipay_sim::{Ledger, SimError, TradeStatus};
use payments::keys::{SigningKey, VerifyingKey};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::page::{esc, page};
use crate::{Delivery, Faults, Notifier, form_encode, lock};

const BRAND: &str = "#1677ff";

/// Who the simulated gateway is and whom it serves.
pub struct AlipaySimConfig {
    pub app_id: String,
    pub seller_id: String,
    /// Verifies the merchant's requests.
    pub merchant_key: VerifyingKey,
    /// Signs answers and notifications ("Alipay's" private key).
    pub gateway_key: SigningKey,
    /// Where browsers and phones reach the simulator, e.g. `http://127.0.0.1:8080/sim/alipay`.
    pub public_base: String,
    pub retry_schedule: Vec<Duration>,
}

#[derive(Debug, Clone)]
struct Meta {
    subject: String,
    notify_url: String,
    return_url: Option<String>,
}

/// What the simulated gateway takes as "now" (the wall clock, or a test's clock).
pub type SimClock = Arc<dyn Fn() -> OffsetDateTime + Send + Sync>;

struct Inner {
    config: AlipaySimConfig,
    ledger: Mutex<Ledger>,
    meta: Mutex<HashMap<String, Meta>>,
    notifier: Notifier,
    clock: Mutex<SimClock>,
    /// Download tokens handed out, with the day (`yyyy-MM-dd`) each one serves.
    bills: Mutex<HashMap<String, String>>,
}

/// The simulator; cheap to clone.
#[derive(Clone)]
pub struct AlipaySim(Arc<Inner>);

impl AlipaySim {
    pub fn new(config: AlipaySimConfig) -> Self {
        let notifier = Notifier::new(config.retry_schedule.clone());
        Self(Arc::new(Inner {
            config,
            ledger: Mutex::new(Ledger::default()),
            meta: Mutex::new(HashMap::new()),
            notifier,
            clock: Mutex::new(Arc::new(crate::wall_clock)),
            bills: Mutex::new(HashMap::new()),
        }))
    }

    /// Payments and refunds are timed by `clock` from now on (a test runs the simulator on the
    /// application's clock, so the day's bill holds the day's trades).
    pub fn set_clock(&self, clock: SimClock) {
        *lock(&self.0.clock) = clock;
    }

    fn now(&self) -> OffsetDateTime {
        let clock = lock(&self.0.clock).clone();
        clock()
    }

    /// Routes relative to the simulator's base (`/gateway.do`, `/cashier/...`, `/qr/...`).
    pub fn router(&self) -> Router {
        Router::new()
            .route("/gateway.do", post(gateway))
            .route("/cashier/{out_trade_no}", get(cashier))
            .route("/cashier/{out_trade_no}/pay", post(pay))
            .route("/cashier/{out_trade_no}/fail", post(fail))
            .route("/qr/{out_trade_no}", get(scan))
            .route("/bill/download", get(download_bill))
            .with_state(self.clone())
    }

    pub fn set_faults(&self, faults: Faults) {
        self.0.notifier.set_faults(faults);
    }

    /// The buyer pays (what the cashier's button does); notifications start.
    pub fn pay(&self, out_trade_no: &str) -> Result<String, SimError> {
        let now = self.now();
        let trade_no = lock(&self.0.ledger).pay(out_trade_no, now)?;
        self.spawn_notifications(out_trade_no);
        Ok(trade_no)
    }

    /// The merchant refunds the whole trade in Alipay's own console, outside sealdesk (after
    /// which Alipay refuses any further refund of it).
    pub fn refund_in_console(&self, out_trade_no: &str) -> Result<(), SimError> {
        let now = self.now();
        let mut ledger = lock(&self.0.ledger);
        let (_, total, _) = ledger.query(out_trade_no)?;
        ledger.refund(out_trade_no, total, &format!("{out_trade_no}-console"), now).map(|_| ())
    }

    /// The buyer scans a QR code.
    pub fn scan(&self, out_trade_no: &str) -> Result<(), SimError> {
        lock(&self.0.ledger).scan(out_trade_no)
    }

    /// Every delivery attempt so far.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.0.notifier.deliveries()
    }

    /// Paid minus refunded, over all trades.
    pub fn net_received(&self) -> i64 {
        lock(&self.0.ledger).net_received()
    }

    /// Status of a trade as `alipay.trade.query` would report it.
    pub fn status(&self, out_trade_no: &str) -> Option<&'static str> {
        lock(&self.0.ledger).query(out_trade_no).ok().map(|(s, _, _)| s.as_str())
    }

    /// The signed notification of a paid trade, as form pairs (tests mutate it to forge).
    pub fn notification(&self, out_trade_no: &str) -> Option<Vec<(String, String)>> {
        let (status, total, trade_no) = lock(&self.0.ledger).query(out_trade_no).ok()?;
        let subject = lock(&self.0.meta).get(out_trade_no).map(|m| m.subject.clone()).unwrap_or_default();
        let now = crate::gateway_time();
        let c = &self.0.config;
        let fields: Vec<(String, String)> = [
            ("notify_time", now.as_str()),
            ("notify_type", "trade_status_sync"),
            ("notify_id", &format!("{:032x}", rand::random::<u128>())),
            ("app_id", &c.app_id),
            ("charset", "utf-8"),
            ("version", "1.0"),
            ("trade_no", &trade_no),
            ("out_trade_no", out_trade_no),
            ("seller_id", &c.seller_id),
            ("buyer_id", "2088102177846880"),
            ("trade_status", status.as_str()),
            ("total_amount", &total.to_yuan()),
            ("receipt_amount", &total.to_yuan()),
            ("buyer_pay_amount", &total.to_yuan()),
            ("subject", &subject),
            ("gmt_create", &now),
            ("gmt_payment", &now),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        Some(self.sign_fields(fields))
    }

    /// Appends `sign_type` and `sign` (over everything but those two) to `fields`.
    pub fn sign_fields(&self, mut fields: Vec<(String, String)>) -> Vec<(String, String)> {
        let content = notify_content(&fields).unwrap_or_default();
        let sign = self.0.config.gateway_key.sign(content.as_bytes()).unwrap_or_default();
        fields.push(("sign_type".into(), "RSA2".into()));
        fields.push(("sign".into(), sign));
        fields
    }

    fn spawn_notifications(&self, out_trade_no: &str) {
        let Some(notify_url) = lock(&self.0.meta).get(out_trade_no).map(|m| m.notify_url.clone()) else { return };
        let (sim, no) = (self.clone(), out_trade_no.to_owned());
        self.0.notifier.spawn(
            out_trade_no.to_owned(),
            notify_url,
            move || sim.notification(&no),
            |fields| {
                for (k, v) in fields.iter_mut() {
                    if k == "total_amount" {
                        *v = "0.01".into();
                    }
                }
            },
            |answer| answer == "success",
        );
    }

    /// `{"<method>_response": {...}, "sign": "..."}` signed over the inner text.
    fn answer(&self, method: &str, inner: &Value) -> Response {
        let text = inner.to_string();
        let sign = self.0.config.gateway_key.sign(text.as_bytes()).unwrap_or_default();
        let key = format!("{}_response", method.replace('.', "_"));
        let body = format!(r#"{{"{key}":{text},"sign":"{sign}"}}"#);
        ([(header::CONTENT_TYPE, "application/json;charset=utf-8")], body).into_response()
    }
}

fn business_error(error: SimError) -> Value {
    json!({ "code": "40004", "msg": "Business Failed", "sub_code": error.sub_code(), "sub_msg": error.sub_code() })
}

async fn gateway(State(sim): State<AlipaySim>, Form(pairs): Form<Vec<(String, String)>>) -> Response {
    let params: BTreeMap<String, String> = pairs.into_iter().collect();
    let method = params.get("method").cloned().unwrap_or_default();
    let c = &sim.0.config;
    let signed = params.get("sign_type").map(String::as_str) == Some("RSA2")
        && params.get("app_id") == Some(&c.app_id)
        && params.get("sign").is_some_and(|s| c.merchant_key.verify(request_content(&params).as_bytes(), s));
    if !signed {
        // The real gateway answers invalid signatures unsigned; clients must refuse that.
        let key = format!("{}_response", method.replace('.', "_"));
        let body = json!({ key: { "code": "40002", "msg": "Invalid Arguments", "sub_code": "isv.invalid-signature" } });
        return if method == "alipay.trade.page.pay" {
            (
                StatusCode::BAD_REQUEST,
                Html(page("支付宝（模拟）", BRAND, "<p>签名验证失败（isv.invalid-signature）</p>")),
            )
                .into_response()
        } else {
            Json(body).into_response()
        };
    }
    let biz: Value = params.get("biz_content").and_then(|b| serde_json::from_str(b).ok()).unwrap_or(Value::Null);
    let text = |k: &str| biz.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
    let out_trade_no = text("out_trade_no");
    let amount = |k: &str| Money::parse_yuan(&text(k)).ok().filter(|m| *m > Money::ZERO);
    let remember = |return_url: Option<String>| {
        lock(&sim.0.meta).insert(
            out_trade_no.clone(),
            Meta {
                subject: text("subject"),
                notify_url: params.get("notify_url").cloned().unwrap_or_default(),
                return_url,
            },
        );
    };
    match method.as_str() {
        "alipay.trade.page.pay" => {
            let Some(total) = amount("total_amount") else {
                return (StatusCode::BAD_REQUEST, Html(page("支付宝（模拟）", BRAND, "<p>金额无效</p>")))
                    .into_response();
            };
            if let Err(e) = lock(&sim.0.ledger).open_page_pay(&out_trade_no, total) {
                return (StatusCode::BAD_REQUEST, Html(page("支付宝（模拟）", BRAND, &esc(e.sub_code()))))
                    .into_response();
            }
            remember(params.get("return_url").cloned());
            Redirect::to(&format!("{}/cashier/{}", c.public_base, out_trade_no)).into_response()
        }
        "alipay.trade.precreate" => {
            let Some(total) = amount("total_amount") else {
                return sim.answer(&method, &business_error(SimError::AmountMismatch));
            };
            match lock(&sim.0.ledger).precreate(&out_trade_no, total) {
                Ok(()) => {}
                Err(e) => return sim.answer(&method, &business_error(e)),
            }
            remember(None);
            let qr = format!("{}/qr/{}", c.public_base, out_trade_no);
            sim.answer(
                &method,
                &json!({ "code": "10000", "msg": "Success", "out_trade_no": out_trade_no, "qr_code": qr }),
            )
        }
        "alipay.data.dataservice.bill.downloadurl.query" => {
            bill_url(&sim, &method, &text("bill_type"), &text("bill_date"))
        }
        _ => api_method(&sim, &method, &out_trade_no, &biz),
    }
}

/// `alipay.data.dataservice.bill.downloadurl.query`: a short-lived URL for a past day's trade
/// bill; today's and future days' bills do not exist yet.
fn bill_url(sim: &AlipaySim, method: &str, bill_type: &str, day: &str) -> Response {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let today = sim.now().to_offset(time::macros::offset!(+8)).date();
    let not_yet =
        json!({ "code": "40004", "msg": "Business Failed", "sub_code": "isp.bill_not_exist", "sub_msg": "账单不存在" });
    match time::Date::parse(day, format) {
        Ok(date) if bill_type == "trade" && date < today => {
            let token = format!("{:032x}", rand::random::<u128>());
            lock(&sim.0.bills).insert(token.clone(), day.to_owned());
            let url = format!("{}/bill/download?token={token}", sim.0.config.public_base);
            sim.answer(method, &json!({ "code": "10000", "msg": "Success", "bill_download_url": url }))
        }
        Ok(_) => sim.answer(method, &not_yet),
        Err(_) => sim.answer(
            method,
            &json!({ "code": "40004", "msg": "Business Failed", "sub_code": "isv.invalid-bill-date", "sub_msg": "账单日期格式不正确" }),
        ),
    }
}

#[derive(serde::Deserialize)]
struct BillQuery {
    token: String,
}

/// The zip behind a download URL (each URL serves once, as Alipay's expire within seconds).
async fn download_bill(
    State(sim): State<AlipaySim>,
    axum::extract::Query(q): axum::extract::Query<BillQuery>,
) -> Response {
    let Some(day) = lock(&sim.0.bills).remove(&q.token) else {
        return (StatusCode::NOT_FOUND, "bill link expired").into_response();
    };
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let Ok(date) = time::Date::parse(&day, format) else { return StatusCode::NOT_FOUND.into_response() };
    let from = date.midnight().assume_offset(time::macros::offset!(+8));
    let lines = lock(&sim.0.ledger).bill(from, from + time::Duration::days(1));
    let meta = lock(&sim.0.meta).clone();
    let subject = |no: &str| meta.get(no).map(|m| m.subject.clone()).unwrap_or_default();
    let detail = crate::bill::detail(&sim.0.config.seller_id, &day, &lines, subject);
    ([(header::CONTENT_TYPE, "application/oct-stream")], crate::bill::zipped(&sim.0.config.seller_id, &day, &detail))
        .into_response()
}

/// The server-to-server calls: query, close, refund.
fn api_method(sim: &AlipaySim, method: &str, out_trade_no: &str, biz: &Value) -> Response {
    let text = |k: &str| biz.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
    match method {
        "alipay.trade.query" => {
            let result = lock(&sim.0.ledger).query(out_trade_no);
            let inner = match result {
                Ok((status, total, trade_no)) => json!({
                    "code": "10000", "msg": "Success", "out_trade_no": out_trade_no, "trade_no": trade_no,
                    "trade_status": status.as_str(), "total_amount": total.to_yuan(),
                }),
                Err(e) => business_error(e),
            };
            sim.answer(method, &inner)
        }
        "alipay.trade.close" => {
            let result = lock(&sim.0.ledger).close(out_trade_no);
            let inner = match result {
                Ok(()) => json!({ "code": "10000", "msg": "Success", "out_trade_no": out_trade_no }),
                Err(e) => business_error(e),
            };
            sim.answer(method, &inner)
        }
        "alipay.trade.refund" => {
            let Some(refund) = Money::parse_yuan(&text("refund_amount")).ok().filter(|m| *m > Money::ZERO) else {
                return sim.answer(method, &business_error(SimError::AmountMismatch));
            };
            let now = sim.now();
            let result = lock(&sim.0.ledger).refund(out_trade_no, refund, &text("out_request_no"), now);
            let inner = match result {
                Ok(r) => json!({
                    "code": "10000", "msg": "Success", "out_trade_no": out_trade_no,
                    "fund_change": if r.fund_change { "Y" } else { "N" },
                    "refund_fee": r.refunded_total.to_yuan(),
                }),
                Err(e) => business_error(e),
            };
            sim.answer(method, &inner)
        }
        _ => {
            sim.answer(method, &json!({ "code": "40004", "msg": "Business Failed", "sub_code": "isv.invalid-method" }))
        }
    }
}

fn cashier_page(sim: &AlipaySim, out_trade_no: &str, note: &str) -> Response {
    let Ok((status, total, _)) = lock(&sim.0.ledger).query(out_trade_no) else {
        return (
            StatusCode::NOT_FOUND,
            Html(page("支付宝收银台（模拟）", BRAND, "<p>交易不存在（ACQ.TRADE_NOT_EXIST）</p>")),
        )
            .into_response();
    };
    let subject = lock(&sim.0.meta).get(out_trade_no).map(|m| m.subject.clone()).unwrap_or_default();
    let actions = if status == TradeStatus::WaitBuyerPay {
        format!(
            r#"<form method="post" action="{base}/cashier/{no}/pay" style="display:inline"><button class="primary" type="submit">确认付款</button></form><form method="post" action="{base}/cashier/{no}/fail" style="display:inline"><button type="submit">付款失败</button></form>"#,
            base = esc(&sim.0.config.public_base),
            no = esc(out_trade_no)
        )
    } else {
        format!("<p>交易状态：{}</p>", status.as_str())
    };
    let body = format!(
        r#"{note}<div class="amount">¥ {amount}</div><dl><dt>商品</dt><dd>{subject}</dd><dt>商户订单号</dt><dd>{no}</dd></dl>{actions}"#,
        amount = total.to_yuan(),
        subject = esc(&subject),
        no = esc(out_trade_no),
    );
    Html(page("支付宝收银台（模拟）", BRAND, &body)).into_response()
}

async fn cashier(State(sim): State<AlipaySim>, Path(out_trade_no): Path<String>) -> Response {
    cashier_page(&sim, &out_trade_no, "")
}

async fn scan(State(sim): State<AlipaySim>, Path(out_trade_no): Path<String>) -> Response {
    if sim.scan(&out_trade_no).is_err() {
        return (StatusCode::NOT_FOUND, Html(page("支付宝（模拟）", BRAND, "<p>二维码无效或已过期</p>")))
            .into_response();
    }
    cashier_page(&sim, &out_trade_no, "<p>已扫码（模拟手机支付宝扫一扫）。</p>")
}

async fn pay(State(sim): State<AlipaySim>, Path(out_trade_no): Path<String>) -> Response {
    let trade_no = match sim.pay(&out_trade_no) {
        Ok(trade_no) => trade_no,
        Err(e) => return cashier_page(&sim, &out_trade_no, &format!("<p>付款未完成：{}</p>", esc(e.sub_code()))),
    };
    let return_url = lock(&sim.0.meta).get(&out_trade_no).and_then(|m| m.return_url.clone());
    let Some(return_url) = return_url else {
        return Html(page("支付宝（模拟）", BRAND, "<p>付款成功，请回到商户页面查看订单。</p>")).into_response();
    };
    let total = lock(&sim.0.ledger).query(&out_trade_no).map(|(_, t, _)| t.to_yuan()).unwrap_or_default();
    let c = &sim.0.config;
    let fields: Vec<(String, String)> = [
        ("charset", "utf-8"),
        ("out_trade_no", out_trade_no.as_str()),
        ("method", "alipay.trade.page.pay.return"),
        ("total_amount", &total),
        ("trade_no", &trade_no),
        ("auth_app_id", &c.app_id),
        ("version", "1.0"),
        ("app_id", &c.app_id),
        ("seller_id", &c.seller_id),
        ("timestamp", &crate::gateway_time()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let query = form_encode(&sim.sign_fields(fields));
    let separator = if return_url.contains('?') { '&' } else { '?' };
    Redirect::to(&format!("{return_url}{separator}{query}")).into_response()
}

async fn fail(State(sim): State<AlipaySim>, Path(out_trade_no): Path<String>) -> Response {
    let back = lock(&sim.0.meta)
        .get(&out_trade_no)
        .and_then(|m| m.return_url.clone())
        .map(|url| {
            let separator = if url.contains('?') { '&' } else { '?' };
            format!(r#"<p><a href="{}{separator}out_trade_no={}">返回商户</a></p>"#, esc(&url), esc(&out_trade_no))
        })
        .unwrap_or_default();
    Html(page(
        "支付宝收银台（模拟）",
        BRAND,
        &format!("<p>付款失败（模拟），未扣款。您可以回到商户页面重新支付。</p>{back}"),
    ))
    .into_response()
}
