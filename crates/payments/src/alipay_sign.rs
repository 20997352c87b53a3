//! Alipay's canonical sign strings and their verification (REFERENCE §3.1):
//! - requests: every parameter except `sign`, empty values dropped, keys in ASCII order,
//!   `k=v` joined by `&`, raw (not URL-encoded) values — `sign_type` is included;
//! - async notifications: the form decoded exactly once, `sign` *and* `sign_type` removed, empty
//!   values kept, keys sorted; only `RSA2` is accepted; duplicate keys are refused;
//! - synchronous responses: the signature covers the exact raw text of the `*_response` object.

use std::collections::BTreeMap;

use crate::keys::{SigningKey, VerifyingKey};

/// The string a request's `sign` covers.
pub fn request_content(params: &BTreeMap<String, String>) -> String {
    params
        .iter()
        .filter(|(k, v)| k.as_str() != "sign" && !v.is_empty())
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// Adds `sign` to request parameters (which must already carry `sign_type=RSA2`).
pub fn sign_request(params: &mut BTreeMap<String, String>, key: &SigningKey) -> Result<(), crate::keys::KeyError> {
    let signature = key.sign(request_content(params).as_bytes())?;
    params.insert("sign".into(), signature);
    Ok(())
}

/// Why a notification was refused. None of these may change an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NotifyError {
    #[error("no sign")]
    MissingSign,
    #[error("sign_type is not RSA2")]
    WeakSignType,
    #[error("a parameter appears twice")]
    DuplicateKey,
    #[error("signature does not verify")]
    BadSignature,
}

/// The string a notification's `sign` covers; `fields` are the already-decoded form pairs.
pub fn notify_content(fields: &[(String, String)]) -> Result<String, NotifyError> {
    let mut sorted = BTreeMap::new();
    for (k, v) in fields {
        if sorted.insert(k.as_str(), v.as_str()).is_some() {
            return Err(NotifyError::DuplicateKey);
        }
    }
    Ok(sorted
        .into_iter()
        .filter(|(k, _)| *k != "sign" && *k != "sign_type")
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&"))
}

/// Verifies an asynchronous notification with Alipay's public key; returns the fields by name.
pub fn verify_notify(
    fields: &[(String, String)],
    alipay: &VerifyingKey,
) -> Result<BTreeMap<String, String>, NotifyError> {
    let content = notify_content(fields)?;
    let get = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    if get("sign_type") != Some("RSA2") {
        return Err(NotifyError::WeakSignType);
    }
    let sign = get("sign").filter(|s| !s.is_empty()).ok_or(NotifyError::MissingSign)?;
    if !alipay.verify(content.as_bytes(), sign) {
        return Err(NotifyError::BadSignature);
    }
    Ok(fields.iter().cloned().collect())
}

/// The exact raw text of `"<method>_response": {...}` in a gateway answer, found by brace
/// matching (never by re-serialising, which would change the bytes that were signed).
pub fn response_text<'a>(body: &'a str, method: &str) -> Option<&'a str> {
    let key = format!("\"{}_response\"", method.replace('.', "_"));
    let after_key = body.find(&key)? + key.len();
    let start = after_key + body[after_key..].find('{')?;
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for (i, c) in body[start..].char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_string => escaped = true,
            '"' => in_string = !in_string,
            '{' if !in_string => depth += 1,
            '}' if !in_string => {
                depth -= 1;
                if depth == 0 {
                    return Some(&body[start..=start + i]);
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect()
    }

    fn signed_notify(key: &SigningKey, list: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut fields = pairs(list);
        fields.push(("sign_type".into(), "RSA2".into()));
        let content = notify_content(&fields).unwrap();
        fields.push(("sign".into(), key.sign(content.as_bytes()).unwrap()));
        fields
    }

    const NOTIFY: [(&str, &str); 6] = [
        ("app_id", "2021000000000001"),
        ("out_trade_no", "SD2026112500000001"),
        ("total_amount", "415.00"),
        ("trade_status", "TRADE_SUCCESS"),
        ("seller_id", "2088000000000001"),
        ("buyer_logon_id", ""),
    ];

    #[test]
    fn request_content_sorts_drops_empty_and_keeps_sign_type() {
        let params: BTreeMap<String, String> = [
            ("method", "alipay.trade.query"),
            ("app_id", "1"),
            ("sign", "x"),
            ("sign_type", "RSA2"),
            ("notify_url", ""),
            ("biz_content", "{\"a\":\"b c\"}"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(
            request_content(&params),
            "app_id=1&biz_content={\"a\":\"b c\"}&method=alipay.trade.query&sign_type=RSA2"
        );
    }

    #[test]
    fn notify_content_drops_sign_and_sign_type_but_keeps_empty_values() {
        let fields = pairs(&[("b", "2"), ("a", ""), ("sign", "s"), ("sign_type", "RSA2")]);
        assert_eq!(notify_content(&fields).unwrap(), "a=&b=2");
    }

    #[test]
    fn a_genuine_notification_verifies() {
        let alipay = SigningKey::generate().unwrap();
        let public = VerifyingKey::from_spki(&alipay.public_pem().unwrap()).unwrap();
        let fields = verify_notify(&signed_notify(&alipay, &NOTIFY), &public).unwrap();
        assert_eq!(fields["total_amount"], "415.00");
    }

    /// SECURITY F1: every forgery fails, whatever was tampered with.
    #[test]
    fn forged_notifications_are_refused() {
        let alipay = SigningKey::generate().unwrap();
        let ours = SigningKey::generate().unwrap();
        let public = VerifyingKey::from_spki(&alipay.public_pem().unwrap()).unwrap();
        let genuine = signed_notify(&alipay, &NOTIFY);
        let set = |fields: &[(String, String)], key: &str, value: &str| -> Vec<(String, String)> {
            fields.iter().map(|(k, v)| (k.clone(), if k == key { value.to_owned() } else { v.clone() })).collect()
        };

        let no_sign: Vec<_> = genuine.iter().filter(|(k, _)| k != "sign").cloned().collect();
        assert_eq!(verify_notify(&no_sign, &public), Err(NotifyError::MissingSign));
        assert_eq!(
            verify_notify(&signed_notify(&ours, &NOTIFY), &public),
            Err(NotifyError::BadSignature),
            "our own key"
        );
        assert_eq!(
            verify_notify(&set(&genuine, "total_amount", "0.01"), &public),
            Err(NotifyError::BadSignature),
            "altered"
        );
        assert_eq!(verify_notify(&set(&genuine, "sign_type", "RSA"), &public), Err(NotifyError::WeakSignType));
        assert_eq!(verify_notify(&set(&genuine, "sign_type", "MD5"), &public), Err(NotifyError::WeakSignType));
        let mut extra = genuine.clone();
        extra.push(("extra".into(), "unsigned".into()));
        assert_eq!(verify_notify(&extra, &public), Err(NotifyError::BadSignature), "an extra unsigned parameter");
        let mut duplicated = genuine.clone();
        duplicated.push(("total_amount".into(), "0.01".into()));
        assert_eq!(verify_notify(&duplicated, &public), Err(NotifyError::DuplicateKey));
        assert_eq!(
            verify_notify(&set(&genuine, "out_trade_no", "SD2026112500000001%20"), &public),
            Err(NotifyError::BadSignature),
            "encoded twice"
        );
        assert_eq!(verify_notify(&[], &public), Err(NotifyError::WeakSignType), "empty body");
    }

    #[test]
    fn the_signed_response_text_is_cut_out_byte_for_byte() {
        let body = r#"{"alipay_trade_query_response":{"code":"10000","msg":"Success","subject":"a \"}\" b","n":{"x":1}},"sign":"abc"}"#;
        assert_eq!(
            response_text(body, "alipay.trade.query"),
            Some(r#"{"code":"10000","msg":"Success","subject":"a \"}\" b","n":{"x":1}}"#)
        );
        assert_eq!(response_text(body, "alipay.trade.close"), None);
        assert_eq!(response_text(r#"{"alipay_trade_query_response":{"code":"#, "alipay.trade.query"), None);
    }
}
