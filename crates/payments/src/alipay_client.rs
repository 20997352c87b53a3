//! The production Alipay client: [`Gateway`] over the open platform v2 gateway (or the local
//! simulator, which speaks the same protocol). Requests are signed with our app key; every
//! answer and notification must verify with Alipay's public key before anything is read.

use async_trait::async_trait;
use domain::Money;
use time::OffsetDateTime;

use crate::alipay::{self, AnswerError, Merchant, Trade};
use crate::alipay_notify::{Expected, decide};
use crate::alipay_sign::verify_notify;
use crate::gateway::{
    Ack, Channel, Charge, Checkout, CloseOutcome, Decision, Gateway, GatewayError, Method, Notice, NoticeRejected,
    TradeState, china_timestamp,
};
use crate::http::{HttpClient, form_decode};
use crate::keys::{SigningKey, VerifyingKey};

/// Largest bill zip fetched (a busy merchant's day is a few MiB).
const MAX_BILL_DOWNLOAD: usize = 32 * 1024 * 1024;

pub struct AlipayGateway {
    merchant: Merchant,
    app_key: SigningKey,
    alipay_key: VerifyingKey,
    http: HttpClient,
}

impl AlipayGateway {
    pub fn new(merchant: Merchant, app_key: SigningKey, alipay_key: VerifyingKey, http: HttpClient) -> Self {
        Self { merchant, app_key, alipay_key, http }
    }

    fn trade(charge: &Charge) -> Trade {
        Trade {
            out_trade_no: charge.out_trade_no.clone(),
            total: charge.total,
            subject: charge.subject.clone(),
            timeout_minutes: charge.timeout_minutes,
        }
    }

    async fn call(
        &self,
        method: &str,
        params: std::collections::BTreeMap<String, String>,
    ) -> Result<alipay::Answer, GatewayError> {
        let url = format!("{}?charset=utf-8", self.merchant.gateway);
        let body = self.http.post_form(&url, params.iter().map(|(k, v)| (k.as_str(), v.as_str()))).await?;
        alipay::parse_answer(&body, method, &self.alipay_key).map_err(|e| match e {
            AnswerError::Malformed => GatewayError::Unavailable(format!("{method}: unreadable answer")),
            AnswerError::BadSignature => GatewayError::Unsigned,
        })
    }

    async fn by_order(
        &self,
        method: &str,
        out_trade_no: &str,
        now: OffsetDateTime,
    ) -> Result<alipay::Answer, GatewayError> {
        let params = alipay::by_order(&self.merchant, &self.app_key, method, out_trade_no, &china_timestamp(now))
            .map_err(|_| GatewayError::Signing)?;
        self.call(method, params).await
    }
}

fn refused(answer: &alipay::Answer) -> GatewayError {
    GatewayError::Refused {
        code: answer.sub_code.clone().unwrap_or_else(|| answer.code.clone()),
        message: answer.text("sub_msg").or(answer.text("msg")).unwrap_or_default().to_owned(),
    }
}

#[async_trait]
impl Gateway for AlipayGateway {
    fn channel(&self) -> Channel {
        Channel::Alipay
    }

    async fn checkout(&self, charge: &Charge, method: &Method, now: OffsetDateTime) -> Result<Checkout, GatewayError> {
        let timestamp = china_timestamp(now);
        match method {
            Method::AlipayPage => alipay::page_pay(&self.merchant, &self.app_key, &Self::trade(charge), &timestamp)
                .map(Checkout::Form)
                .map_err(|_| GatewayError::Signing),
            Method::AlipayQr => {
                let params = alipay::precreate(&self.merchant, &self.app_key, &Self::trade(charge), &timestamp)
                    .map_err(|_| GatewayError::Signing)?;
                let answer = self.call("alipay.trade.precreate", params).await?;
                match answer.text("qr_code") {
                    Some(code) if answer.is_success() => Ok(Checkout::Qr { code: code.to_owned() }),
                    _ => Err(refused(&answer)),
                }
            }
            Method::CpcnBank { .. } => {
                Err(GatewayError::Refused { code: "method".into(), message: "not an Alipay method".into() })
            }
        }
    }

    async fn query(&self, out_trade_no: &str, now: OffsetDateTime) -> Result<TradeState, GatewayError> {
        let answer = self.by_order("alipay.trade.query", out_trade_no, now).await?;
        if !answer.is_success() {
            return match answer.sub_code.as_deref() {
                Some("ACQ.TRADE_NOT_EXIST") => Ok(TradeState::NotExist),
                _ => Err(refused(&answer)),
            };
        }
        match answer.text("trade_status").unwrap_or_default() {
            "TRADE_SUCCESS" | "TRADE_FINISHED" => {
                let total = Money::parse_yuan(answer.text("total_amount").unwrap_or_default())
                    .map_err(|_| GatewayError::Unavailable("query: unreadable total_amount".into()))?;
                let trade_no = answer.text("trade_no").unwrap_or_default().to_owned();
                if trade_no.is_empty() {
                    return Err(GatewayError::Unavailable("query: paid without trade_no".into()));
                }
                Ok(TradeState::Paid { trade_no, total })
            }
            "TRADE_CLOSED" => Ok(TradeState::Closed),
            _ => Ok(TradeState::Waiting),
        }
    }

    async fn close(&self, out_trade_no: &str, now: OffsetDateTime) -> Result<CloseOutcome, GatewayError> {
        let answer = self.by_order("alipay.trade.close", out_trade_no, now).await?;
        if answer.is_success() {
            return Ok(CloseOutcome::Closed);
        }
        match answer.sub_code.as_deref() {
            Some("ACQ.TRADE_HAS_SUCCESS") => Ok(CloseOutcome::AlreadyPaid),
            Some("ACQ.TRADE_NOT_EXIST") => Ok(CloseOutcome::NotExist),
            // Closed already (timed out at the gateway).
            Some("ACQ.TRADE_STATUS_ERROR") => Ok(CloseOutcome::Closed),
            _ => Err(refused(&answer)),
        }
    }

    async fn refund(
        &self,
        out_trade_no: &str,
        amount: Money,
        out_request_no: &str,
        reason: &str,
        now: OffsetDateTime,
    ) -> Result<bool, GatewayError> {
        let params = alipay::refund(
            &self.merchant,
            &self.app_key,
            out_trade_no,
            amount,
            out_request_no,
            reason,
            &china_timestamp(now),
        )
        .map_err(|_| GatewayError::Signing)?;
        let answer = self.call("alipay.trade.refund", params).await?;
        if answer.is_success() { Ok(answer.text("fund_change") == Some("Y")) } else { Err(refused(&answer)) }
    }

    async fn trade_bill(&self, day: time::Date, now: OffsetDateTime) -> Result<Option<Vec<u8>>, GatewayError> {
        const METHOD: &str = "alipay.data.dataservice.bill.downloadurl.query";
        let date = format!("{:04}-{:02}-{:02}", day.year(), u8::from(day.month()), day.day());
        let biz = alipay::biz_content(&[("bill_type", "trade"), ("bill_date", &date)]);
        let params = alipay::api_call(&self.merchant, &self.app_key, METHOD, &biz, &china_timestamp(now))
            .map_err(|_| GatewayError::Signing)?;
        let answer = self.call(METHOD, params).await?;
        if !answer.is_success() {
            // Not generated yet (bills come out the next morning), or a day without a bill.
            return match answer.sub_code.as_deref() {
                Some("isp.bill_not_exist") => Ok(None),
                _ => Err(refused(&answer)),
            };
        }
        let url = answer
            .text("bill_download_url")
            .ok_or_else(|| GatewayError::Unavailable(format!("{METHOD}: no bill_download_url")))?;
        self.http.get_bytes(url, MAX_BILL_DOWNLOAD).await.map(Some)
    }

    fn verify_notice(&self, body: &[u8]) -> Result<Notice, NoticeRejected> {
        let fields = verify_notify(&form_decode(body), &self.alipay_key).map_err(|e| NoticeRejected(e.to_string()))?;
        let out_trade_no = fields.get("out_trade_no").cloned().unwrap_or_default();
        Ok(Notice { out_trade_no, fields })
    }

    fn judge(&self, notice: &Notice, out_trade_no: &str, total: Money) -> Decision {
        decide(
            &notice.fields,
            &Expected { out_trade_no, total, app_id: &self.merchant.app_id, seller_id: &self.merchant.seller_id },
        )
    }

    fn ack(&self) -> Ack {
        Ack { content_type: "text/plain; charset=utf-8", body: "success".into() }
    }

    fn nack(&self) -> Ack {
        Ack { content_type: "text/plain; charset=utf-8", body: "fail".into() }
    }
}
