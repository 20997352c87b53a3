//! Alipay open platform v2 requests and responses (REFERENCE §3.1), independent of any HTTP
//! client: the auto-submitting page-pay form, signed API calls (`precreate`, `query`, `close`,
//! `refund`), and checked parsing of their answers. Amounts are fen inside and yuan with two
//! decimals only here, at the edge.

use std::collections::BTreeMap;

use domain::Money;
use serde_json::{Map, Value};

use crate::alipay_sign::{request_content, response_text, sign_request};
use crate::keys::{KeyError, SigningKey, VerifyingKey};

/// What identifies us to Alipay.
#[derive(Debug, Clone)]
pub struct Merchant {
    /// `https://openapi.alipay.com/gateway.do`, or the local simulator.
    pub gateway: String,
    pub app_id: String,
    /// Our seller (partner) id, checked on every notification.
    pub seller_id: String,
    pub notify_url: String,
    pub return_url: String,
}

/// One payment attempt for an order.
#[derive(Debug, Clone)]
pub struct Trade {
    /// Our order number: letters, digits, underscore, at most 64.
    pub out_trade_no: String,
    pub total: Money,
    /// Shown to the payer; `/ = &` are removed.
    pub subject: String,
    /// Minutes the trade stays payable (`timeout_express`).
    pub timeout_minutes: u32,
}

pub use app::gateway::PostForm;

/// `biz_content`: a JSON object of string fields in exactly the given order (independent of how
/// `serde_json` orders maps in this build, so the signed bytes are reproducible).
pub fn biz_content(fields: &[(&str, &str)]) -> String {
    let members: Vec<String> = fields.iter().map(|(k, v)| format!("{}:{}", Value::from(*k), Value::from(*v))).collect();
    format!("{{{}}}", members.join(","))
}

fn common(merchant: &Merchant, method: &str, timestamp: &str, biz: &str) -> BTreeMap<String, String> {
    [
        ("app_id", merchant.app_id.as_str()),
        ("method", method),
        ("format", "JSON"),
        ("charset", "utf-8"),
        ("sign_type", "RSA2"),
        ("timestamp", timestamp),
        ("version", "1.0"),
        ("notify_url", merchant.notify_url.as_str()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .chain([("biz_content".to_owned(), biz.to_owned())])
    .collect()
}

fn clean_subject(subject: &str) -> String {
    subject.chars().filter(|c| !matches!(c, '/' | '=' | '&')).take(256).collect()
}

/// `alipay.trade.page.pay` as a form to post. `timestamp` is `yyyy-MM-dd HH:mm:ss` (China time).
pub fn page_pay(merchant: &Merchant, key: &SigningKey, trade: &Trade, timestamp: &str) -> Result<PostForm, KeyError> {
    let biz = biz_content(&[
        ("out_trade_no", &trade.out_trade_no),
        ("product_code", "FAST_INSTANT_TRADE_PAY"),
        ("subject", &clean_subject(&trade.subject)),
        ("timeout_express", &format!("{}m", trade.timeout_minutes)),
        ("total_amount", &trade.total.to_yuan()),
    ]);
    let mut params = common(merchant, "alipay.trade.page.pay", timestamp, &biz);
    params.insert("return_url".into(), merchant.return_url.clone());
    sign_request(&mut params, key)?;
    Ok(PostForm { action: format!("{}?charset=utf-8", merchant.gateway), fields: params.into_iter().collect() })
}

/// A signed server-to-server call: the form fields to POST to the gateway.
pub fn api_call(
    merchant: &Merchant,
    key: &SigningKey,
    method: &str,
    biz: &str,
    timestamp: &str,
) -> Result<BTreeMap<String, String>, KeyError> {
    let mut params = common(merchant, method, timestamp, biz);
    sign_request(&mut params, key)?;
    Ok(params)
}

/// `alipay.trade.precreate` (QR code to render ourselves).
pub fn precreate(
    merchant: &Merchant,
    key: &SigningKey,
    trade: &Trade,
    timestamp: &str,
) -> Result<BTreeMap<String, String>, KeyError> {
    let biz = biz_content(&[
        ("out_trade_no", &trade.out_trade_no),
        ("subject", &clean_subject(&trade.subject)),
        ("timeout_express", &format!("{}m", trade.timeout_minutes)),
        ("total_amount", &trade.total.to_yuan()),
    ]);
    api_call(merchant, key, "alipay.trade.precreate", &biz, timestamp)
}

/// `alipay.trade.query`, `alipay.trade.close`: by our order number.
pub fn by_order(
    merchant: &Merchant,
    key: &SigningKey,
    method: &str,
    out_trade_no: &str,
    timestamp: &str,
) -> Result<BTreeMap<String, String>, KeyError> {
    api_call(merchant, key, method, &biz_content(&[("out_trade_no", out_trade_no)]), timestamp)
}

/// `alipay.trade.refund`; `out_request_no` makes a retry refund once only.
pub fn refund(
    merchant: &Merchant,
    key: &SigningKey,
    out_trade_no: &str,
    amount: Money,
    out_request_no: &str,
    reason: &str,
    timestamp: &str,
) -> Result<BTreeMap<String, String>, KeyError> {
    let biz = biz_content(&[
        ("out_request_no", out_request_no),
        ("out_trade_no", out_trade_no),
        ("refund_amount", &amount.to_yuan()),
        ("refund_reason", reason),
    ]);
    api_call(merchant, key, "alipay.trade.refund", &biz, timestamp)
}

/// A verified gateway answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// `10000` is success; `40004` a business failure explained by `sub_code`.
    pub code: String,
    pub sub_code: Option<String>,
    pub fields: Map<String, Value>,
}

impl Answer {
    pub fn is_success(&self) -> bool {
        self.code == "10000"
    }

    pub fn text(&self, field: &str) -> Option<&str> {
        self.fields.get(field).and_then(Value::as_str)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AnswerError {
    #[error("the answer has no `*_response` object")]
    Malformed,
    #[error("the answer is not signed by Alipay")]
    BadSignature,
}

/// Parses and verifies an API answer: the signature must cover the raw `*_response` text. Error
/// answers that Alipay leaves unsigned (`40002` and the like) are refused as unsigned too, so
/// nothing unsigned ever reaches a decision.
pub fn parse_answer(body: &str, method: &str, alipay: &VerifyingKey) -> Result<Answer, AnswerError> {
    let text = response_text(body, method).ok_or(AnswerError::Malformed)?;
    let whole: Value = serde_json::from_str(body).map_err(|_| AnswerError::Malformed)?;
    let sign = whole.get("sign").and_then(Value::as_str).ok_or(AnswerError::BadSignature)?;
    if !alipay.verify(text.as_bytes(), sign) {
        return Err(AnswerError::BadSignature);
    }
    let Value::Object(fields) = serde_json::from_str::<Value>(text).map_err(|_| AnswerError::Malformed)? else {
        return Err(AnswerError::Malformed);
    };
    let code = fields.get("code").and_then(Value::as_str).unwrap_or_default().to_owned();
    let sub_code = fields.get("sub_code").and_then(Value::as_str).map(str::to_owned);
    Ok(Answer { code, sub_code, fields })
}

/// What a request's signature covers (for simulators verifying our calls).
pub fn signed_content(params: &BTreeMap<String, String>) -> String {
    request_content(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn merchant() -> Merchant {
        Merchant {
            gateway: "http://127.0.0.1:9/gateway.do".into(),
            app_id: "2021000000000001".into(),
            seller_id: "2088000000000001".into(),
            notify_url: "http://127.0.0.1:8080/pay/alipay/notify".into(),
            return_url: "http://127.0.0.1:8080/pay/alipay/return".into(),
        }
    }

    fn trade() -> Trade {
        Trade {
            out_trade_no: "SD2026112500000001".into(),
            total: Money::from_fen(41_500).unwrap(),
            subject: "电子签章 主锁/1年".into(),
            timeout_minutes: 90,
        }
    }

    #[test]
    fn the_page_pay_form_is_signed_with_our_key_and_carries_yuan() {
        let app_key = SigningKey::generate().unwrap();
        let app_public = VerifyingKey::from_spki(&app_key.public_pem().unwrap()).unwrap();
        let form = page_pay(&merchant(), &app_key, &trade(), "2026-11-25 10:00:00").unwrap();
        assert_eq!(form.action, "http://127.0.0.1:9/gateway.do?charset=utf-8");
        let params: BTreeMap<String, String> = form.fields.into_iter().collect();
        assert_eq!(params["method"], "alipay.trade.page.pay");
        let biz: Value = serde_json::from_str(&params["biz_content"]).unwrap();
        assert_eq!((biz["total_amount"].as_str(), biz["subject"].as_str()), (Some("415.00"), Some("电子签章 主锁1年")));
        assert!(app_public.verify(signed_content(&params).as_bytes(), &params["sign"]), "what the gateway checks");
    }

    #[test]
    fn biz_content_keeps_its_order_and_escapes_values() {
        assert_eq!(
            biz_content(&[("subject", "主锁 \"A\"\n"), ("out_trade_no", "SD1")]),
            r#"{"subject":"主锁 \"A\"\n","out_trade_no":"SD1"}"#
        );
        let parsed: Value = serde_json::from_str(&biz_content(&[("subject", "a\\b")])).unwrap();
        assert_eq!(parsed["subject"], "a\\b");
    }

    #[test]
    fn refunds_carry_their_idempotency_number() {
        let key = SigningKey::generate().unwrap();
        let params = refund(
            &merchant(),
            &key,
            "SD1",
            Money::from_fen(100).unwrap(),
            "SD1-refund-1",
            "订单已取消",
            "2026-11-25 10:00:00",
        )
        .unwrap();
        let biz: Value = serde_json::from_str(&params["biz_content"]).unwrap();
        assert_eq!(
            (biz["refund_amount"].as_str(), biz["out_request_no"].as_str()),
            (Some("1.00"), Some("SD1-refund-1"))
        );
    }

    #[test]
    fn answers_are_trusted_only_when_signed_over_their_raw_text() {
        let alipay = SigningKey::generate().unwrap();
        let public = VerifyingKey::from_spki(&alipay.public_pem().unwrap()).unwrap();
        let inner = r#"{"code":"10000","msg":"Success","out_trade_no":"SD1","trade_status":"TRADE_SUCCESS","total_amount":"415.00"}"#;
        let body =
            format!(r#"{{"alipay_trade_query_response":{inner},"sign":"{}"}}"#, alipay.sign(inner.as_bytes()).unwrap());
        let answer = parse_answer(&body, "alipay.trade.query", &public).unwrap();
        assert!(answer.is_success());
        assert_eq!(answer.text("trade_status"), Some("TRADE_SUCCESS"));

        let tampered = body.replace("415.00", "0.01");
        assert_eq!(parse_answer(&tampered, "alipay.trade.query", &public), Err(AnswerError::BadSignature));
        let unsigned = format!(r#"{{"alipay_trade_query_response":{inner}}}"#);
        assert_eq!(parse_answer(&unsigned, "alipay.trade.query", &public), Err(AnswerError::BadSignature));
        assert_eq!(parse_answer("<html>502</html>", "alipay.trade.query", &public), Err(AnswerError::Malformed));

        let failed =
            r#"{"code":"40004","msg":"Business Failed","sub_code":"ACQ.TRADE_NOT_EXIST","sub_msg":"交易不存在"}"#;
        let body = format!(
            r#"{{"alipay_trade_close_response":{failed},"sign":"{}"}}"#,
            alipay.sign(failed.as_bytes()).unwrap()
        );
        let answer = parse_answer(&body, "alipay.trade.close", &public).unwrap();
        assert_eq!((answer.is_success(), answer.sub_code.as_deref()), (false, Some("ACQ.TRADE_NOT_EXIST")));
    }
}
