//! SMS verification codes (SECURITY A2): 6 digits from a CSPRNG, single use, valid 10 minutes,
//! bound to phone + purpose, killed by the 5th wrong guess; at most one send per 60 s and ten per
//! 24 h per number, and a documented cap per client address.

use domain::sms::{
    CODE_TTL_MINUTES, DAILY_SENDS_PER_PHONE, HOURLY_SENDS_PER_IP, MAX_WRONG_GUESSES, RESEND_INTERVAL_SECS,
};
use domain::{FieldErrors, Phone, SmsCode, SmsPurpose};
use rand::Rng;
use time::Duration;

use std::sync::Arc;

use crate::Error;
use crate::clock::Clock;
use crate::crypto::{Keys, constant_time_eq};
use crate::ports::{NewSmsCode, SmsCodeRepo, SmsSender, UserDirectory};

/// What the caller learns after asking for a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeSent {
    /// Seconds until another code may be requested for this number.
    pub resend_after_secs: i64,
}

/// SMS verification codes: issued under the send limits, checked, used once.
#[derive(Clone)]
pub struct SmsCodes {
    codes: Arc<dyn SmsCodeRepo>,
    users: Arc<dyn UserDirectory>,
    sms: Arc<dyn SmsSender>,
    keys: Arc<Keys>,
    clock: Arc<dyn Clock>,
}

impl SmsCodes {
    pub fn new(
        codes: Arc<dyn SmsCodeRepo>,
        users: Arc<dyn UserDirectory>,
        sms: Arc<dyn SmsSender>,
        keys: Arc<Keys>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self { codes, users, sms, keys, clock }
    }

    /// Sends a fresh code for `purpose` to `phone`. `client` is the caller's address, for the
    /// per-address cap.
    pub async fn send(&self, phone: &str, purpose: SmsPurpose, client: &str) -> Result<CodeSent, Error> {
        let mut errors = FieldErrors::new();
        let phone = errors.check("phone", Phone::parse(phone)).ok_or(errors)?;
        let now = self.clock.now();

        let registered = self.users.user_by_phone(&phone).await?.is_some();
        if purpose == SmsPurpose::Register && registered {
            return Err(Error::field("phone", "phone_registered", "该手机号已注册，请直接登录或找回密码"));
        }

        let sent = self.codes.sms_sends_to_phone_since(&phone, now - Duration::hours(24)).await?;
        if let Some(last) = sent.last() {
            let wait = RESEND_INTERVAL_SECS - (now - *last).whole_seconds();
            if wait > 0 {
                return Err(rate_limited("sms_too_frequent", format!("验证码发送过于频繁，请{wait}秒后再试"), wait));
            }
        }
        if i64::try_from(sent.len()).unwrap_or(i64::MAX) >= DAILY_SENDS_PER_PHONE {
            let wait = sent.first().map_or(0, |first| (*first + Duration::hours(24) - now).whole_seconds());
            return Err(rate_limited("sms_daily_limit", "该手机号今日获取验证码次数已达上限，请明天再试".into(), wait));
        }
        if self.codes.sms_sends_from_client_since(client, now - Duration::hours(1)).await? >= HOURLY_SENDS_PER_IP {
            return Err(rate_limited("sms_client_limit", "当前网络获取验证码过于频繁，请稍后再试".into(), 3600));
        }

        let code = SmsCode::from_number(rand::rng().random_range(0..1_000_000));
        self.codes
            .insert_sms_code(&NewSmsCode {
                phone: &phone,
                purpose,
                code_mac: self.code_mac(&phone, purpose, &code),
                client,
                created_at: now,
                expires_at: now + Duration::minutes(CODE_TTL_MINUTES),
            })
            .await?;

        // A reset for an unknown number is recorded and rate limited like any other, but nothing is
        // sent: the answer must not reveal whether the number has an account.
        if purpose == SmsPurpose::Register || registered {
            self.sms.send_sms(&phone, &purpose.message(&code)).await.map_err(|err| {
                tracing::warn!(error = %err, purpose = purpose.as_str(), "sms delivery failed");
                Error::Unavailable { code: "sms_unavailable", message: "短信发送失败，请稍后再试".into() }
            })?;
        }
        tracing::info!(purpose = purpose.as_str(), "sms code issued");
        Ok(CodeSent { resend_after_secs: RESEND_INTERVAL_SECS })
    }

    /// Checks and consumes a code. Any failure is reported on the `code` field.
    pub(crate) async fn consume(&self, phone: &Phone, purpose: SmsPurpose, code: &SmsCode) -> Result<(), Error> {
        let id = self.check(phone, purpose, code).await?;
        if self.codes.consume_sms_code(id, self.clock.now()).await? { Ok(()) } else { Err(invalid_code()) }
    }

    /// The id of the active code `code` for `phone` and `purpose`, not yet used (a wrong guess
    /// is counted; enough of them kill the code). The caller uses it.
    pub(crate) async fn check(
        &self,
        phone: &Phone,
        purpose: SmsPurpose,
        code: &SmsCode,
    ) -> Result<domain::SmsCodeId, Error> {
        let now = self.clock.now();
        let Some(record) = self.codes.active_sms_code(phone, purpose, now).await? else {
            return Err(invalid_code());
        };
        if !constant_time_eq(&record.code_mac, &self.code_mac(phone, purpose, code)) {
            let guesses = self.codes.record_wrong_guess(record.id, MAX_WRONG_GUESSES, now).await?;
            tracing::warn!(wrong_guesses = guesses, purpose = purpose.as_str(), "wrong sms code");
            return Err(invalid_code());
        }
        Ok(record.id)
    }

    fn code_mac(&self, phone: &Phone, purpose: SmsPurpose, code: &SmsCode) -> String {
        self.keys
            .mac_token("sms-code", &[phone.as_str().as_bytes(), purpose.as_str().as_bytes(), code.expose().as_bytes()])
    }
}

pub(crate) fn invalid_code() -> Error {
    Error::field("code", "sms_code_wrong", "验证码错误或已过期，请重新获取")
}

fn rate_limited(code: &'static str, message: String, retry_after_secs: i64) -> Error {
    Error::RateLimited { code, message, retry_after_secs: retry_after_secs.max(1) }
}
