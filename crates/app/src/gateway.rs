//! The payment port: what the application needs from a payment channel, whatever its protocol —
//! start a checkout, ask the state of a trade, close it, refund it, fetch the day's bill, and
//! verify a notification. The `payments` crate implements [`Gateway`] for each channel (Alipay,
//! CPCN) with its production client; the local simulators speak the same protocols, so switching
//! to the real gateways is configuration only. Owned here, so the use cases need no HTTP, TLS or
//! XML crate.

use std::collections::BTreeMap;
use std::fmt;

use async_trait::async_trait;
use domain::Money;
use time::OffsetDateTime;

/// An HTML form the browser posts to the gateway (we render it and submit it with a script-free
/// button; the page itself adds no inline script).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostForm {
    pub action: String,
    pub fields: Vec<(String, String)>,
}

/// A payment channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Channel {
    Alipay,
    Cpcn,
}

impl Channel {
    pub const ALL: [Self; 2] = [Self::Alipay, Self::Cpcn];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Alipay => "alipay",
            Self::Cpcn => "cpcn",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == text)
    }

    /// The name the applicant knows.
    pub fn label(self) -> &'static str {
        match self {
            Self::Alipay => "支付宝",
            Self::Cpcn => "中金支付",
        }
    }

    /// The one letter appended to the order number to name this channel's trade.
    pub fn trade_suffix(self) -> char {
        match self {
            Self::Alipay => 'A',
            Self::Cpcn => 'C',
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the applicant wants to pay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Method {
    /// Alipay's web cashier (`alipay.trade.page.pay`).
    AlipayPage,
    /// A QR code we render (`alipay.trade.precreate`), scanned with the Alipay app.
    AlipayQr,
    /// CPCN market payment through the online banking of the chosen bank.
    CpcnBank { bank_id: String },
}

impl Method {
    /// The method a form or a JSON body names (`alipay_page`, `alipay_qr`, `cpcn_bank` with the
    /// bank); `None` for anything else.
    pub fn parse(name: &str, bank_id: &str) -> Option<Self> {
        match name {
            "alipay_page" => Some(Self::AlipayPage),
            "alipay_qr" => Some(Self::AlipayQr),
            "cpcn_bank" => Some(Self::CpcnBank { bank_id: bank_id.to_owned() }),
            _ => None,
        }
    }

    pub fn channel(&self) -> Channel {
        match self {
            Self::AlipayPage | Self::AlipayQr => Channel::Alipay,
            Self::CpcnBank { .. } => Channel::Cpcn,
        }
    }
}

/// One payment attempt, as the gateway sees it.
#[derive(Debug, Clone)]
pub struct Charge {
    /// Our trade number (`out_trade_no`, CPCN `PaymentNo`): letters and digits only.
    pub out_trade_no: String,
    pub total: Money,
    /// Shown to the payer.
    pub subject: String,
    /// Minutes the trade stays payable.
    pub timeout_minutes: u32,
}

/// Where the applicant's browser goes next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checkout {
    /// A form the browser posts to the gateway.
    Form(PostForm),
    /// A code to show as a QR code.
    Qr { code: String },
}

/// A trade's state as the gateway reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TradeState {
    /// The gateway does not know the trade (an unscanned QR code, a page never opened).
    NotExist,
    Waiting,
    Paid {
        trade_no: String,
        total: Money,
    },
    Closed,
}

/// What closing a trade did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseOutcome {
    Closed,
    /// The buyer paid first: the order is paid after all.
    AlreadyPaid,
    /// Never created at the gateway; it can still be created by a late scan, which the
    /// paid-after-cancel refund covers.
    NotExist,
}

/// A notification whose signature verified; what it means for an order is the gateway's
/// [`Gateway::judge`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub out_trade_no: String,
    /// The business fields, by name.
    pub fields: BTreeMap<String, String>,
}

impl Notice {
    /// The fields without the signature, for the finance record.
    pub fn summary(&self) -> String {
        self.fields
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "sign" | "signature"))
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&")
    }
}

/// What to do with a verified notification (SECURITY F2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Paid in full: apply once per `trade_no`.
    Paid { trade_no: String },
    /// Not paid (yet): nothing changes, the notification is acknowledged.
    NotPaid { status: String },
    /// Signed, but not for this order as we know it: nothing changes, finance is alerted.
    Mismatch(&'static str),
}

/// The body the gateway expects back from a notification endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    pub content_type: &'static str,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    /// The gateway could not be reached or answered garbage; try again later.
    #[error("gateway unavailable: {0}")]
    Unavailable(String),
    /// The gateway's answer did not carry a valid signature.
    #[error("gateway answer not signed by the gateway")]
    Unsigned,
    /// The gateway refused the request for a business reason.
    #[error("gateway refused: {code}")]
    Refused { code: String, message: String },
    #[error("signing failed")]
    Signing,
}

/// Why a notification was refused; none of these may change anything but the security log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("notification refused: {0}")]
pub struct NoticeRejected(pub String);

/// One payment channel's production client.
#[async_trait]
pub trait Gateway: Send + Sync {
    fn channel(&self) -> Channel;

    /// Opens the trade and says where the browser goes.
    async fn checkout(&self, charge: &Charge, method: &Method, now: OffsetDateTime) -> Result<Checkout, GatewayError>;

    async fn query(&self, out_trade_no: &str, now: OffsetDateTime) -> Result<TradeState, GatewayError>;

    async fn close(&self, out_trade_no: &str, now: OffsetDateTime) -> Result<CloseOutcome, GatewayError>;

    /// Refunds `amount`; repeating the same `out_request_no` never refunds twice. Returns whether
    /// money moved this time.
    async fn refund(
        &self,
        out_trade_no: &str,
        amount: Money,
        out_request_no: &str,
        reason: &str,
        now: OffsetDateTime,
    ) -> Result<bool, GatewayError>;

    /// The trade bill of `day` (China time) as the gateway serves it — for Alipay the zip of GBK
    /// text — or `None` when the channel has no bill to fetch or the day's is not out yet.
    async fn trade_bill(&self, day: time::Date, now: OffsetDateTime) -> Result<Option<Vec<u8>>, GatewayError> {
        let _ = (day, now);
        Ok(None)
    }

    /// Verifies a notification body's signature and reads it.
    fn verify_notice(&self, body: &[u8]) -> Result<Notice, NoticeRejected>;

    /// The merchant's checks of a verified notification against the payment we expect.
    fn judge(&self, notice: &Notice, out_trade_no: &str, total: Money) -> Decision;

    /// The answer that tells the gateway to stop retrying.
    fn ack(&self) -> Ack;

    /// The answer that asks the gateway to send the notification again.
    fn nack(&self) -> Ack;
}

/// `yyyy-MM-dd HH:mm:ss` in China time, as both gateways want timestamps.
pub fn china_timestamp(now: OffsetDateTime) -> String {
    let t = now.to_offset(time::macros::offset!(+8));
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}
