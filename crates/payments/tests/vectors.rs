//! Signing checked against fixed vectors made by OpenSSL (see `vectors/README.md`): a known key,
//! known parameters, known signatures. RSA PKCS#1 v1.5 is deterministic, so any change in the
//! signing string or the signature scheme fails here.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use domain::Money;
use payments::alipay::{Merchant, Trade, page_pay, signed_content};
use payments::alipay_sign::verify_notify;
use payments::cpcn::{Sha1Signer, TX_NOTIFY, verify_hex, xml};
use payments::keys::{SigningKey, VerifyingKey};

const KEY: &str = include_str!("vectors/test-key.pem");
const PUBLIC: &str = include_str!("vectors/test-key.pub.pem");

#[test]
fn the_page_pay_request_signs_to_the_known_signature() {
    let merchant = Merchant {
        gateway: "https://openapi.alipay.com/gateway.do".into(),
        app_id: "2021000000000001".into(),
        seller_id: "2088000000000001".into(),
        notify_url: "http://127.0.0.1:8080/pay/notify/alipay".into(),
        return_url: "http://127.0.0.1:8080/pay/return/alipay".into(),
    };
    let trade = Trade {
        out_trade_no: "SD2026112500000001".into(),
        total: Money::from_fen(41_500).unwrap(),
        subject: "电子签章 主锁/1年".into(),
        timeout_minutes: 90,
    };
    let form = page_pay(&merchant, &SigningKey::from_pkcs8(KEY).unwrap(), &trade, "2026-11-25 10:00:00").unwrap();
    let params: BTreeMap<String, String> = form.fields.into_iter().collect();
    assert_eq!(signed_content(&params), include_str!("vectors/page-pay.content"));
    assert_eq!(params["sign"], include_str!("vectors/page-pay.sig"));
}

#[test]
fn the_known_notification_verifies_with_alipays_public_key() {
    let content = include_str!("vectors/notify.content");
    let mut fields: Vec<(String, String)> =
        content.split('&').map(|kv| kv.split_once('=').unwrap()).map(|(k, v)| (k.into(), v.into())).collect();
    // Alipay sends the signature fields among the others, in any order.
    fields.insert(3, ("sign_type".into(), "RSA2".into()));
    fields.push(("sign".into(), include_str!("vectors/notify.sig").into()));
    let public = VerifyingKey::from_spki(PUBLIC).unwrap();
    let verified = verify_notify(&fields, &public).unwrap();
    assert_eq!(verified["total_amount"], "415.00");
    fields.iter_mut().filter(|(k, _)| k == "total_amount").for_each(|(_, v)| *v = "415.01".into());
    assert!(verify_notify(&fields, &public).is_err());
}

#[test]
fn the_cpcn_message_signs_to_the_known_sha1_signature() {
    let message = xml(
        "Request",
        &[("TxCode", TX_NOTIFY)],
        &[("InstitutionID", "001234"), ("PaymentNo", "SD2026112500000001C"), ("Amount", "41500"), ("Status", "20")],
    );
    assert_eq!(message, include_str!("vectors/cpcn-notify.xml"));
    let signature = Sha1Signer::from_pkcs8_pem(KEY).unwrap().sign_hex(message.as_bytes()).unwrap();
    assert_eq!(signature, include_str!("vectors/cpcn-notify.sig"));
    let public = VerifyingKey::from_spki(PUBLIC).unwrap();
    assert!(verify_hex(&public, message.as_bytes(), &signature));
    assert!(!verify_hex(&public, message.replace("41500", "41501").as_bytes(), &signature));
}
