//! The CPCN (中金支付) gateway, simulated: `InterfaceI` takes the browser's signed 1311 payment
//! and shows a bank page where a person pays or fails; `InterfaceII` answers 1320 queries and
//! 1333 refunds as `base64,hexsignature`; a paid payment sends signed 1318 notifications until
//! the institution answers code 2000. The message layer and its assumptions are
//! `payments::cpcn`'s.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use domain::Money;
use payments::alipay_sim::{Ledger, SimError, TradeStatus};
use payments::cpcn::{
    self, CODE_NOT_FOUND, CODE_OK, STATUS_CLOSED, STATUS_PAID, STATUS_WAITING, Sha1Signer, TX_NOTIFY, TX_PAY, TX_QUERY,
    TX_REFUND,
};
use payments::keys::VerifyingKey;

use crate::page::{esc, page};
use crate::{Delivery, Faults, Notifier, lock};

const BRAND: &str = "#b8272c";

pub struct CpcnSimConfig {
    pub institution_id: String,
    /// Verifies the institution's messages.
    pub institution_key: VerifyingKey,
    /// Signs answers and notifications ("CPCN's" key).
    pub gateway_signer: Sha1Signer,
    /// Where browsers reach the simulator, e.g. `http://127.0.0.1:8080/sim/cpcn`.
    pub public_base: String,
    pub retry_schedule: Vec<Duration>,
}

#[derive(Debug, Clone)]
struct Meta {
    usage: String,
    notify_url: String,
    page_url: String,
    bank_id: String,
}

struct Inner {
    config: CpcnSimConfig,
    ledger: Mutex<Ledger>,
    meta: Mutex<HashMap<String, Meta>>,
    notifier: Notifier,
}

#[derive(Clone)]
pub struct CpcnSim(Arc<Inner>);

impl CpcnSim {
    pub fn new(config: CpcnSimConfig) -> Self {
        let notifier = Notifier::new(config.retry_schedule.clone());
        Self(Arc::new(Inner {
            config,
            ledger: Mutex::new(Ledger::default()),
            meta: Mutex::new(HashMap::new()),
            notifier,
        }))
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/Gateway/InterfaceI", post(interface_one))
            .route("/Gateway/InterfaceII", post(interface_two))
            .route("/bank/{payment_no}", get(bank))
            .route("/bank/{payment_no}/pay", post(pay))
            .route("/bank/{payment_no}/fail", post(fail))
            .with_state(self.clone())
    }

    pub fn set_faults(&self, faults: Faults) {
        self.0.notifier.set_faults(faults);
    }

    pub fn deliveries(&self) -> Vec<Delivery> {
        self.0.notifier.deliveries()
    }

    pub fn net_received(&self) -> i64 {
        lock(&self.0.ledger).net_received()
    }

    /// The payer pays at the bank; notifications start.
    pub fn pay(&self, payment_no: &str) -> Result<(), SimError> {
        lock(&self.0.ledger).pay(payment_no, crate::wall_clock())?;
        self.spawn_notifications(payment_no);
        Ok(())
    }

    fn status_code(status: TradeStatus) -> &'static str {
        match status {
            TradeStatus::WaitBuyerPay => STATUS_WAITING,
            TradeStatus::TradeSuccess => STATUS_PAID,
            TradeStatus::TradeClosed => STATUS_CLOSED,
        }
    }

    /// The signed 1318 notification of a payment, as form fields.
    pub fn notification(&self, payment_no: &str) -> Option<Vec<(String, String)>> {
        let (status, total, _) = lock(&self.0.ledger).query(payment_no).ok()?;
        let fen = total.fen().to_string();
        let xml = cpcn::xml(
            "Request",
            &[("TxCode", TX_NOTIFY)],
            &[
                ("InstitutionID", &self.0.config.institution_id),
                ("PaymentNo", payment_no),
                ("Amount", &fen),
                ("Status", Self::status_code(status)),
                ("BankNotificationTime", &crate::gateway_time()),
            ],
        );
        cpcn::envelope(&xml, &self.0.config.gateway_signer).ok()
    }

    fn spawn_notifications(&self, payment_no: &str) {
        let Some(url) = lock(&self.0.meta).get(payment_no).map(|m| m.notify_url.clone()) else { return };
        let (sim, no) = (self.clone(), payment_no.to_owned());
        self.0.notifier.spawn(
            payment_no.to_owned(),
            url,
            move || sim.notification(&no),
            |fields| {
                for (k, v) in fields.iter_mut() {
                    if k == "message" {
                        let xml = STANDARD.decode(v.as_bytes()).unwrap_or_default();
                        let xml = String::from_utf8_lossy(&xml).replace("<Amount>", "<Amount>1");
                        *v = STANDARD.encode(xml);
                    }
                }
            },
            |answer| {
                STANDARD
                    .decode(answer.trim())
                    .ok()
                    .and_then(|xml| cpcn::leaves(&String::from_utf8_lossy(&xml)))
                    .is_some_and(|f| f.get("Code").map(String::as_str) == Some(CODE_OK))
            },
        );
    }

    fn open(&self, fields: &[(String, String)]) -> Option<BTreeMap<String, String>> {
        let xml = cpcn::open_envelope(fields, &self.0.config.institution_key).ok()?;
        let leaves = cpcn::leaves(&xml)?;
        (leaves.get("InstitutionID") == Some(&self.0.config.institution_id)).then_some(leaves)
    }

    fn answer(&self, code: &str, message: &str, body: &[(&str, &str)]) -> Response {
        let xml = cpcn::xml("Response", &[("Code", code), ("Message", message)], body);
        match cpcn::answer(&xml, &self.0.config.gateway_signer) {
            Ok(text) => text.into_response(),
            Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        }
    }
}

fn fen(text: Option<&String>) -> Option<Money> {
    text?.parse::<i64>().ok().and_then(|f| Money::from_fen(f).ok()).filter(|m| *m > Money::ZERO)
}

fn error_page(message: &str) -> Response {
    (StatusCode::BAD_REQUEST, Html(page("中金支付（模拟）", BRAND, &format!("<p>{}</p>", esc(message)))))
        .into_response()
}

async fn interface_one(State(sim): State<CpcnSim>, Form(fields): Form<Vec<(String, String)>>) -> Response {
    let Some(m) = sim.open(&fields) else { return error_page("报文签名验证失败") };
    if m.get("TxCode").map(String::as_str) != Some(TX_PAY) {
        return error_page("不支持的交易类型");
    }
    let (Some(no), Some(total)) = (m.get("PaymentNo"), fen(m.get("Amount"))) else {
        return error_page("报文字段不完整");
    };
    let bank_id = m.get("BankID").cloned().unwrap_or_default();
    if !cpcn::is_bank(&bank_id) {
        return error_page("不支持的银行");
    }
    if let Err(e) = lock(&sim.0.ledger).open_page_pay(no, total) {
        return error_page(e.sub_code());
    }
    lock(&sim.0.meta).insert(
        no.clone(),
        Meta {
            usage: m.get("Usage").cloned().unwrap_or_default(),
            notify_url: m.get("NotificationURL").cloned().unwrap_or_default(),
            page_url: m.get("PageURL").cloned().unwrap_or_default(),
            bank_id,
        },
    );
    Redirect::to(&format!("{}/bank/{no}", sim.0.config.public_base)).into_response()
}

async fn interface_two(State(sim): State<CpcnSim>, Form(fields): Form<Vec<(String, String)>>) -> Response {
    let Some(m) = sim.open(&fields) else { return sim.answer("2003", "签名验证失败", &[]) };
    let no = m.get("PaymentNo").cloned().unwrap_or_default();
    match m.get("TxCode").map(String::as_str) {
        Some(TX_QUERY) => {
            let result = lock(&sim.0.ledger).query(&no);
            match result {
                Ok((status, total, _)) => {
                    let fen = total.fen().to_string();
                    let body = [
                        ("InstitutionID", sim.0.config.institution_id.as_str()),
                        ("PaymentNo", no.as_str()),
                        ("Amount", fen.as_str()),
                        ("Status", CpcnSim::status_code(status)),
                    ];
                    sim.answer(CODE_OK, "OK.", &body)
                }
                Err(_) => sim.answer(CODE_NOT_FOUND, "支付记录不存在", &[]),
            }
        }
        Some(TX_REFUND) => {
            let Some(amount) = fen(m.get("Amount")) else { return sim.answer("2004", "金额无效", &[]) };
            let serial = m.get("SerialNumber").cloned().unwrap_or_default();
            let result = lock(&sim.0.ledger).refund(&no, amount, &serial, crate::wall_clock());
            match result {
                Ok(r) => sim.answer(
                    CODE_OK,
                    "OK.",
                    &[
                        ("SerialNumber", serial.as_str()),
                        ("Status", "20"),
                        ("FundChange", if r.fund_change { "Y" } else { "N" }),
                    ],
                ),
                Err(SimError::TradeNotExist) => sim.answer(CODE_NOT_FOUND, "支付记录不存在", &[]),
                Err(e) => sim.answer("2005", e.sub_code(), &[]),
            }
        }
        _ => sim.answer("2006", "不支持的交易类型", &[]),
    }
}

fn bank_page(sim: &CpcnSim, no: &str, note: &str) -> Response {
    let Ok((status, total, _)) = lock(&sim.0.ledger).query(no) else { return error_page("支付记录不存在") };
    let Some(meta) = lock(&sim.0.meta).get(no).cloned() else { return error_page("支付记录不存在") };
    let bank = cpcn::bank_name(&meta.bank_id).unwrap_or("网上银行");
    let actions = if status == TradeStatus::WaitBuyerPay {
        format!(
            r#"<form method="post" action="{base}/bank/{no}/pay" style="display:inline"><button class="primary" type="submit">确认付款</button></form><form method="post" action="{base}/bank/{no}/fail" style="display:inline"><button type="submit">付款失败</button></form>"#,
            base = esc(&sim.0.config.public_base),
            no = esc(no)
        )
    } else {
        format!("<p>支付状态：{}</p>", CpcnSim::status_code(status))
    };
    let body = format!(
        r#"{note}<p>{bank} 个人网上银行</p><div class="amount">¥ {amount}</div><dl><dt>用途</dt><dd>{usage}</dd><dt>支付流水号</dt><dd>{no}</dd></dl>{actions}"#,
        bank = esc(bank),
        amount = total.to_yuan(),
        usage = esc(&meta.usage),
        no = esc(no),
    );
    Html(page("中金支付 · 网银支付（模拟）", BRAND, &body)).into_response()
}

async fn bank(State(sim): State<CpcnSim>, Path(no): Path<String>) -> Response {
    bank_page(&sim, &no, "")
}

async fn pay(State(sim): State<CpcnSim>, Path(no): Path<String>) -> Response {
    if let Err(e) = sim.pay(&no) {
        return bank_page(&sim, &no, &format!("<p>付款未完成：{}</p>", esc(e.sub_code())));
    }
    let page_url = lock(&sim.0.meta).get(&no).map(|m| m.page_url.clone()).unwrap_or_default();
    let separator = if page_url.contains('?') { '&' } else { '?' };
    Redirect::to(&format!("{page_url}{separator}PaymentNo={no}")).into_response()
}

async fn fail(State(sim): State<CpcnSim>, Path(no): Path<String>) -> Response {
    let back = lock(&sim.0.meta)
        .get(&no)
        .map(|m| format!(r#"<p><a href="{}?PaymentNo={}">返回商户</a></p>"#, esc(&m.page_url), esc(&no)))
        .unwrap_or_default();
    Html(page("中金支付（模拟）", BRAND, &format!("<p>付款失败（模拟），未扣款。</p>{back}"))).into_response()
}
