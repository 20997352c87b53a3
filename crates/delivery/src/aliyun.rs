//! SMS through Aliyun's SMS API (`dysmsapi`, `SendSms`, API version 2017-05-25) with the RPC
//! signature (version 1.0, HMAC-SHA1): parameters sorted by name, each name and value
//! percent-encoded per RFC 3986, `GET&%2F&` + the encoded query, signed with `secret&`, Base64.
//!
//! Our messages are free text; Aliyun sends only approved templates, so the adapter uses one
//! approved template whose single variable `${content}` carries the text (configure its code).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use app::StoreError;
use app::clock::Clock;
use app::ports::SmsSender;
use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use domain::Phone;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};

#[derive(Debug, Clone)]
pub struct AliyunSettings {
    /// `https://dysmsapi.aliyuncs.com/`
    pub endpoint: String,
    pub access_key_id: String,
    pub access_key_secret: SecretString,
    /// The approved signature shown in 【】.
    pub sign_name: String,
    /// An approved template whose only variable is `${content}`.
    pub template_code: String,
}

pub struct AliyunSms {
    settings: AliyunSettings,
    clock: Arc<dyn Clock>,
    http: reqwest::Client,
}

/// RFC 3986 percent-encoding: everything but `A-Z a-z 0-9 - _ . ~` becomes `%XY`.
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// The canonical query (sorted, encoded) and its signature.
pub fn sign(params: &BTreeMap<String, String>, secret: &str) -> (String, String) {
    let query = params
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let string_to_sign = format!("GET&%2F&{}", percent_encode(&query));
    // HMAC takes keys of any length, so this never fails.
    let signature = Hmac::<sha1::Sha1>::new_from_slice(format!("{secret}&").as_bytes())
        .map(|mut mac| {
            mac.update(string_to_sign.as_bytes());
            STANDARD.encode(mac.finalize().into_bytes())
        })
        .unwrap_or_default();
    (query, signature)
}

impl AliyunSms {
    pub fn new(settings: AliyunSettings, clock: Arc<dyn Clock>) -> Result<Self, StoreError> {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(15))
            .build()
            .map_err(|e| StoreError::Other(format!("sms client: {e}")))?;
        Ok(Self { settings, clock, http })
    }

    /// The parameters of one `SendSms` call.
    pub fn params(&self, to: &str, text: &str, nonce: &str) -> BTreeMap<String, String> {
        let now = self.clock.now().to_offset(time::UtcOffset::UTC);
        let timestamp = format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            now.year(),
            u8::from(now.month()),
            now.day(),
            now.hour(),
            now.minute(),
            now.second()
        );
        let s = &self.settings;
        [
            ("AccessKeyId", s.access_key_id.as_str()),
            ("Action", "SendSms"),
            ("Format", "JSON"),
            ("PhoneNumbers", to),
            ("RegionId", "cn-hangzhou"),
            ("SignName", s.sign_name.as_str()),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureNonce", nonce),
            ("SignatureVersion", "1.0"),
            ("TemplateCode", s.template_code.as_str()),
            ("TemplateParam", &serde_json::json!({ "content": text }).to_string()),
            ("Timestamp", &timestamp),
            ("Version", "2017-05-25"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }
}

#[async_trait]
impl SmsSender for AliyunSms {
    async fn send_sms(&self, to: &Phone, text: &str) -> Result<(), StoreError> {
        let params = self.params(to.as_str(), text, &uuid::Uuid::new_v4().to_string());
        let (query, signature) = sign(&params, self.settings.access_key_secret.expose_secret());
        let url = format!("{}?Signature={}&{query}", self.settings.endpoint, percent_encode(&signature));
        let body = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| StoreError::Other(format!("sms: {}", e.without_url())))?
            .text()
            .await
            .map_err(|e| StoreError::Other(format!("sms answer: {}", e.without_url())))?;
        let answer: serde_json::Value =
            serde_json::from_str(&body).map_err(|_| StoreError::Other("sms answer is not JSON".into()))?;
        match answer.get("Code").and_then(serde_json::Value::as_str) {
            Some("OK") => Ok(()),
            code => Err(StoreError::Other(format!("sms refused: {}", code.unwrap_or("no code")))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A vector computed independently (Python's `urllib.parse.quote(safe="~")` and `hmac`)
    /// from the documented algorithm, for the documentation's example request.
    #[test]
    fn the_signature_matches_an_independent_computation() {
        let params: BTreeMap<String, String> = [
            ("AccessKeyId", "testid"),
            ("Action", "SendSms"),
            ("Format", "XML"),
            ("OutId", "123"),
            ("PhoneNumbers", "15300000001"),
            ("RegionId", "cn-hangzhou"),
            ("SignName", "阿里云短信测试专用"),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureNonce", "45e25e9b-0a6f-4070-8c85-2956eda1b466"),
            ("SignatureVersion", "1.0"),
            ("TemplateCode", "SMS_71390007"),
            ("TemplateParam", r#"{"customer":"test"}"#),
            ("Timestamp", "2017-07-12T02:42:19Z"),
            ("Version", "2017-05-25"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let (query, signature) = sign(&params, "testsecret");
        assert!(query.contains("SignName=%E9%98%BF%E9%87%8C%E4%BA%91"), "{query}");
        assert!(query.contains("TemplateParam=%7B%22customer%22%3A%22test%22%7D"), "{query}");
        assert_eq!(signature, "LxugEBqtL8lacmz/6I2QOoMzw+Y=");
    }

    #[test]
    fn percent_encoding_is_rfc_3986() {
        assert_eq!(percent_encode("a b*c~d+e/"), "a%20b%2Ac~d%2Be%2F");
    }
}
