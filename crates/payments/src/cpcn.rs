//! CFCA / CPCN 中金支付 market payment (online banking, bank chosen by the payer), REFERENCE
//! §3.3: every message is XML, sent as `message` = Base64(XML) and `signature` = hex of a
//! SHA1withRSA signature over the XML text; synchronous answers are `base64,hexsignature`.
//!
//! ASSUMPTIONS — the official specs are not public, so where the public SDKs stop, this module
//! decides, and every such decision is here and only here:
//! - transaction codes: 1311 payment (browser → `InterfaceI`), 1318 payment notification,
//!   1320 payment query, 1333 refund (server → `InterfaceII`);
//! - `Amount` is in fen (the SDKs call `intval()`); `Status` 10 = waiting, 20 = paid,
//!   30 = failed/closed in query answers and notifications; refund `Status` 10 = accepted,
//!   20 = done; a refund repeated with the same `SerialNumber` answers as before and moves no
//!   money; `Head/Code` 2000 = OK, 2001 = no such payment;
//! - the market-payment interface has no "close": cancelling an order queries the payment; if it
//!   is not paid, the order is cancelled locally and a payment that still arrives is refunded;
//! - the bank list below (`BankID`) is a working list until the onboarding's bank-code table.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use domain::Money;
use quick_xml::events::Event;
use time::OffsetDateTime;

use crate::alipay::PostForm;
use crate::gateway::{
    Ack, Channel, Charge, Checkout, CloseOutcome, Decision, Gateway, GatewayError, Method, Notice, NoticeRejected,
    TradeState,
};
use crate::http::{HttpClient, form_decode};
use crate::keys::{KeyError, VerifyingKey};

pub use domain::payment::{BANKS, bank_name, is_bank};

pub const TX_PAY: &str = "1311";
pub const TX_NOTIFY: &str = "1318";
pub const TX_QUERY: &str = "1320";
pub const TX_REFUND: &str = "1333";
pub const STATUS_WAITING: &str = "10";
pub const STATUS_PAID: &str = "20";
pub const STATUS_CLOSED: &str = "30";
pub const CODE_OK: &str = "2000";
pub const CODE_NOT_FOUND: &str = "2001";

/// Signs with SHA1withRSA, hex-encoded (the institution's key, or the simulator's).
pub struct Sha1Signer(openssl::pkey::PKey<openssl::pkey::Private>);

impl Sha1Signer {
    /// From a PKCS#8 PEM private key (converted from the `.pfx` the CPCN onboarding issues).
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, KeyError> {
        let key = openssl::pkey::PKey::private_key_from_pem(pem.as_bytes()).map_err(|_| KeyError::Rejected)?;
        if key.rsa().map_or(true, |rsa| rsa.size() < 256) {
            return Err(KeyError::Rejected);
        }
        Ok(Self(key))
    }

    pub fn sign_hex(&self, message: &[u8]) -> Result<String, KeyError> {
        let mut signer =
            openssl::sign::Signer::new(openssl::hash::MessageDigest::sha1(), &self.0).map_err(|_| KeyError::Signing)?;
        signer.update(message).map_err(|_| KeyError::Signing)?;
        signer.sign_to_vec().map(hex::encode).map_err(|_| KeyError::Signing)
    }
}

/// Whether `signature_hex` is CPCN's (or the institution's) SHA1withRSA signature of `message`.
pub fn verify_hex(key: &VerifyingKey, message: &[u8], signature_hex: &str) -> bool {
    let Ok(signature) = hex::decode(signature_hex.trim()) else { return false };
    key.verify_with(&aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY, message, &signature)
}

/// Escapes text for an XML element.
fn esc(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// `<Request version="2.0"><Head>…</Head><Body>…</Body></Request>` (or `Response`), fields in
/// the order given.
pub fn xml(root: &str, head: &[(&str, &str)], body: &[(&str, &str)]) -> String {
    let part = |fields: &[(&str, &str)]| {
        let mut out = String::new();
        for (k, v) in fields {
            let _ = write!(out, "<{k}>{}</{k}>", esc(v));
        }
        out
    };
    let body = if body.is_empty() { String::new() } else { format!("<Body>{}</Body>", part(body)) };
    format!(r#"<?xml version="1.0" encoding="UTF-8"?><{root} version="2.0"><Head>{}</Head>{body}</{root}>"#, part(head))
}

/// The text of every leaf element, by name (`Head` and `Body` names do not collide in these
/// messages). `None` for anything that is not well-formed XML.
pub fn leaves(xml: &str) -> Option<BTreeMap<String, String>> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut out = BTreeMap::new();
    let mut current: Option<(String, String)> = None;
    loop {
        match reader.read_event().ok()? {
            Event::Start(e) => current = Some((String::from_utf8_lossy(e.name().as_ref()).into_owned(), String::new())),
            Event::Text(t) => {
                if let Some((_, text)) = &mut current {
                    text.push_str(&t.decode().ok()?);
                }
            }
            Event::GeneralRef(r) => {
                if let Some((_, text)) = &mut current {
                    let resolved = match r.resolve_char_ref().ok()? {
                        Some(c) => c,
                        None => match r.decode().ok()?.as_ref() {
                            "amp" => '&',
                            "lt" => '<',
                            "gt" => '>',
                            "quot" => '"',
                            "apos" => '\'',
                            _ => return None,
                        },
                    };
                    text.push(resolved);
                }
            }
            Event::End(_) => {
                if let Some((name, text)) = current.take() {
                    out.insert(name, text);
                }
            }
            Event::Eof => return Some(out),
            _ => {}
        }
    }
}

/// A signed message as form fields.
pub fn envelope(xml: &str, signer: &Sha1Signer) -> Result<Vec<(String, String)>, KeyError> {
    Ok(vec![("message".into(), STANDARD.encode(xml)), ("signature".into(), signer.sign_hex(xml.as_bytes())?)])
}

/// Opens `message` + `signature` form fields: the XML, if the signature verifies.
pub fn open_envelope(fields: &[(String, String)], key: &VerifyingKey) -> Result<String, &'static str> {
    let get = |name: &str| {
        let mut values = fields.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str());
        match (values.next(), values.next()) {
            (Some(v), None) => Ok(v),
            (None, _) => Err("missing field"),
            (Some(_), Some(_)) => Err("duplicate field"),
        }
    };
    let xml = STANDARD.decode(get("message")?.trim()).map_err(|_| "message is not base64")?;
    let xml = String::from_utf8(xml).map_err(|_| "message is not UTF-8")?;
    if !verify_hex(key, xml.as_bytes(), get("signature")?) {
        return Err("signature does not verify");
    }
    Ok(xml)
}

/// Opens a synchronous answer `base64Message,hexSignature`.
pub fn open_answer(body: &str, key: &VerifyingKey) -> Result<BTreeMap<String, String>, GatewayError> {
    let (message, signature) =
        body.trim().split_once(',').ok_or(GatewayError::Unavailable("unreadable answer".into()))?;
    let xml = STANDARD.decode(message).map_err(|_| GatewayError::Unavailable("unreadable answer".into()))?;
    if !verify_hex(key, &xml, signature) {
        return Err(GatewayError::Unsigned);
    }
    let xml = String::from_utf8(xml).map_err(|_| GatewayError::Unavailable("answer is not UTF-8".into()))?;
    leaves(&xml).ok_or(GatewayError::Unavailable("answer is not XML".into()))
}

/// A synchronous answer: `base64(xml),hex(signature)`.
pub fn answer(xml: &str, signer: &Sha1Signer) -> Result<String, KeyError> {
    Ok(format!("{},{}", STANDARD.encode(xml), signer.sign_hex(xml.as_bytes())?))
}

/// Who we are at CPCN.
#[derive(Debug, Clone)]
pub struct Institution {
    pub institution_id: String,
    /// Browser-facing endpoint (`…/Gateway/InterfaceI`).
    pub browser_gateway: String,
    /// Server-to-server endpoint (`…/Gateway/InterfaceII`).
    pub api_gateway: String,
    pub notify_url: String,
    pub return_url: String,
}

/// The production CPCN client.
pub struct CpcnGateway {
    institution: Institution,
    signer: Sha1Signer,
    cpcn_key: VerifyingKey,
    http: HttpClient,
}

impl CpcnGateway {
    pub fn new(institution: Institution, signer: Sha1Signer, cpcn_key: VerifyingKey, http: HttpClient) -> Self {
        Self { institution, signer, cpcn_key, http }
    }

    async fn call(&self, xml: &str) -> Result<BTreeMap<String, String>, GatewayError> {
        let fields = envelope(xml, &self.signer).map_err(|_| GatewayError::Signing)?;
        let body = self
            .http
            .post_form(&self.institution.api_gateway, fields.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .await?;
        open_answer(&body, &self.cpcn_key)
    }

    fn head(&self, tx: &'static str) -> [(&'static str, String); 2] {
        [("InstitutionID", self.institution.institution_id.clone()), ("TxCode", tx.to_owned())]
    }
}

fn amount_fen(text: &str) -> Option<Money> {
    text.parse::<i64>().ok().and_then(|fen| Money::from_fen(fen).ok())
}

fn refused(fields: &BTreeMap<String, String>) -> GatewayError {
    GatewayError::Refused {
        code: fields.get("Code").cloned().unwrap_or_default(),
        message: fields.get("Message").cloned().unwrap_or_default(),
    }
}

#[async_trait]
impl Gateway for CpcnGateway {
    fn channel(&self) -> Channel {
        Channel::Cpcn
    }

    async fn checkout(&self, charge: &Charge, method: &Method, _now: OffsetDateTime) -> Result<Checkout, GatewayError> {
        let Method::CpcnBank { bank_id } = method else {
            return Err(GatewayError::Refused { code: "method".into(), message: "not a CPCN method".into() });
        };
        let head = self.head(TX_PAY);
        let fen = charge.total.fen().to_string();
        let xml = xml(
            "Request",
            &head.iter().map(|(k, v)| (*k, v.as_str())).collect::<Vec<_>>(),
            &[
                ("OrderNo", charge.out_trade_no.as_str()),
                ("PaymentNo", charge.out_trade_no.as_str()),
                ("Amount", fen.as_str()),
                ("Fee", "0"),
                ("Usage", charge.subject.as_str()),
                ("NotificationURL", self.institution.notify_url.as_str()),
                ("PageURL", self.institution.return_url.as_str()),
                ("BankID", bank_id.as_str()),
                ("AccountType", "11"),
            ],
        );
        let fields = envelope(&xml, &self.signer).map_err(|_| GatewayError::Signing)?;
        Ok(Checkout::Form(PostForm { action: self.institution.browser_gateway.clone(), fields }))
    }

    async fn query(&self, out_trade_no: &str, _now: OffsetDateTime) -> Result<TradeState, GatewayError> {
        let head = self.head(TX_QUERY);
        let xml = xml(
            "Request",
            &head.iter().map(|(k, v)| (*k, v.as_str())).collect::<Vec<_>>(),
            &[("InstitutionID", self.institution.institution_id.as_str()), ("PaymentNo", out_trade_no)],
        );
        let answer = self.call(&xml).await?;
        match answer.get("Code").map(String::as_str) {
            Some(CODE_OK) => {}
            Some(CODE_NOT_FOUND) => return Ok(TradeState::NotExist),
            _ => return Err(refused(&answer)),
        }
        match answer.get("Status").map(String::as_str) {
            Some(STATUS_PAID) => {
                let total = answer
                    .get("Amount")
                    .and_then(|a| amount_fen(a))
                    .ok_or_else(|| GatewayError::Unavailable("query: unreadable Amount".into()))?;
                // CPCN has no separate trade number; its payment number is ours.
                Ok(TradeState::Paid { trade_no: out_trade_no.to_owned(), total })
            }
            Some(STATUS_CLOSED) => Ok(TradeState::Closed),
            _ => Ok(TradeState::Waiting),
        }
    }

    async fn close(&self, out_trade_no: &str, now: OffsetDateTime) -> Result<CloseOutcome, GatewayError> {
        // No close in market payment (see the assumptions above).
        match self.query(out_trade_no, now).await? {
            TradeState::Paid { .. } => Ok(CloseOutcome::AlreadyPaid),
            TradeState::Closed => Ok(CloseOutcome::Closed),
            TradeState::NotExist | TradeState::Waiting => Ok(CloseOutcome::NotExist),
        }
    }

    async fn refund(
        &self,
        out_trade_no: &str,
        amount: Money,
        out_request_no: &str,
        reason: &str,
        _now: OffsetDateTime,
    ) -> Result<bool, GatewayError> {
        let head = self.head(TX_REFUND);
        let fen = amount.fen().to_string();
        let xml = xml(
            "Request",
            &head.iter().map(|(k, v)| (*k, v.as_str())).collect::<Vec<_>>(),
            &[
                ("InstitutionID", self.institution.institution_id.as_str()),
                ("SerialNumber", out_request_no),
                ("PaymentNo", out_trade_no),
                ("Amount", fen.as_str()),
                ("Remark", reason),
            ],
        );
        let answer = self.call(&xml).await?;
        if answer.get("Code").map(String::as_str) != Some(CODE_OK) {
            return Err(refused(&answer));
        }
        Ok(answer.get("FundChange").map(String::as_str) != Some("N"))
    }

    fn verify_notice(&self, body: &[u8]) -> Result<Notice, NoticeRejected> {
        let xml = open_envelope(&form_decode(body), &self.cpcn_key).map_err(|e| NoticeRejected(e.into()))?;
        let fields = leaves(&xml).ok_or_else(|| NoticeRejected("message is not XML".into()))?;
        if fields.get("TxCode").map(String::as_str) != Some(TX_NOTIFY) {
            return Err(NoticeRejected("not a payment notification".into()));
        }
        Ok(Notice { out_trade_no: fields.get("PaymentNo").cloned().unwrap_or_default(), fields })
    }

    fn judge(&self, notice: &Notice, out_trade_no: &str, total: Money) -> Decision {
        let get = |k: &str| notice.fields.get(k).map(String::as_str).unwrap_or_default();
        if get("PaymentNo") != out_trade_no {
            return Decision::Mismatch("PaymentNo");
        }
        if get("InstitutionID") != self.institution.institution_id {
            return Decision::Mismatch("InstitutionID");
        }
        if amount_fen(get("Amount")) != Some(total) {
            return Decision::Mismatch("Amount");
        }
        match get("Status") {
            STATUS_PAID => Decision::Paid { trade_no: out_trade_no.to_owned() },
            status => Decision::NotPaid { status: status.to_owned() },
        }
    }

    fn ack(&self) -> Ack {
        let xml = xml("Response", &[("Code", CODE_OK), ("Message", "OK.")], &[]);
        Ack { content_type: "text/plain; charset=utf-8", body: STANDARD.encode(xml) }
    }

    fn nack(&self) -> Ack {
        let xml = xml("Response", &[("Code", "2002"), ("Message", "RETRY")], &[]);
        Ack { content_type: "text/plain; charset=utf-8", body: STANDARD.encode(xml) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SigningKey;

    fn pair() -> (Sha1Signer, VerifyingKey) {
        let key = SigningKey::generate().unwrap();
        (
            Sha1Signer::from_pkcs8_pem(&key.to_pem().unwrap()).unwrap(),
            VerifyingKey::from_spki(&key.public_pem().unwrap()).unwrap(),
        )
    }

    #[test]
    fn envelopes_verify_only_untouched_and_with_the_right_key() {
        let (signer, public) = pair();
        let (_, other) = pair();
        let xml =
            xml("Request", &[("TxCode", TX_NOTIFY)], &[("PaymentNo", "SD1C"), ("Amount", "41500"), ("Status", "20")]);
        let fields = envelope(&xml, &signer).unwrap();
        assert_eq!(open_envelope(&fields, &public).as_deref(), Ok(xml.as_str()));
        assert!(open_envelope(&fields, &other).is_err(), "another key");
        let tampered: Vec<_> = fields
            .iter()
            .map(|(k, v)| {
                let v = if k == "message" { STANDARD.encode(xml.replace("41500", "1")) } else { v.clone() };
                (k.clone(), v)
            })
            .collect();
        assert_eq!(open_envelope(&tampered, &public), Err("signature does not verify"));
        let mut doubled = fields.clone();
        doubled.push(fields[0].clone());
        assert_eq!(open_envelope(&doubled, &public), Err("duplicate field"));
        let leaves = leaves(&xml).unwrap();
        assert_eq!((leaves["PaymentNo"].as_str(), leaves["Amount"].as_str()), ("SD1C", "41500"));
    }

    #[test]
    fn text_is_escaped_and_read_back() {
        let xml = xml("Request", &[("TxCode", "1311")], &[("Usage", "电子签章 <主锁> & 副锁")]);
        assert!(xml.contains("&lt;主锁&gt; &amp;"));
        assert_eq!(leaves(&xml).unwrap()["Usage"], "电子签章 <主锁> & 副锁");
        assert_eq!(leaves("<a><b>1</a>"), None);
    }
}
