//! SMS verification codes: what they are for and what a valid one looks like.

use crate::{named_enum, rejection};

/// Minutes a code stays valid (ASVS 6.6.3: at most 10).
pub const CODE_TTL_MINUTES: i64 = 10;
/// Wrong guesses a code survives; the next wrong guess kills it.
pub const MAX_WRONG_GUESSES: i64 = 5;
/// Seconds between two sends to one number.
pub const RESEND_INTERVAL_SECS: i64 = 60;
/// Sends to one number in any 24 hours.
pub const DAILY_SENDS_PER_PHONE: i64 = 10;
/// Sends requested from one client address in any hour (documented cap, SECURITY A2).
pub const HOURLY_SENDS_PER_IP: i64 = 20;

named_enum! {
    /// What a code may be used for. A code is bound to one purpose and one phone number.
    pub enum SmsPurpose {
        Register => ("register", "注册账号"),
        ResetPassword => ("reset_password", "重置密码"),
        CloseAccount => ("close_account", "注销账号"),
    }
}

impl SmsPurpose {
    /// The text of the message, in Chinese (the SMS gateway puts the one configured signature
    /// 【…】 in front of every message; no text carries its own).
    pub fn message(self, code: &SmsCode) -> String {
        format!("您正在{}，验证码 {}，{CODE_TTL_MINUTES}分钟内有效。如非本人操作，请忽略本短信。", self.label(), code.0)
    }
}

rejection! {
    pub enum SmsCodeError {
        Empty => ("sms_code_required", "请输入短信验证码"),
        Malformed => ("sms_code_invalid", "验证码为6位数字"),
    }
}

/// Six ASCII digits.
#[derive(Clone, PartialEq, Eq)]
pub struct SmsCode(String);

impl SmsCode {
    pub fn parse(input: &str) -> Result<Self, SmsCodeError> {
        let value = input.trim();
        if value.is_empty() {
            return Err(SmsCodeError::Empty);
        }
        if value.len() == 6 && value.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(value.to_owned()))
        } else {
            Err(SmsCodeError::Malformed)
        }
    }

    /// Builds a code from a uniformly drawn number below one million (the caller draws it from a
    /// CSPRNG).
    pub fn from_number(n: u32) -> Self {
        Self(format!("{:06}", n % 1_000_000))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SmsCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SmsCode(******)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn every_drawn_code_parses_back(n in 0u32..1_000_000) {
            let code = SmsCode::from_number(n);
            let parsed = SmsCode::parse(code.expose()).unwrap();
            prop_assert_eq!(parsed.expose(), code.expose());
        }

        #[test]
        fn only_six_digits_parse(input in "\\PC{0,10}") {
            let trimmed = input.trim();
            let valid = trimmed.len() == 6 && trimmed.bytes().all(|b| b.is_ascii_digit());
            prop_assert_eq!(SmsCode::parse(&input).is_ok(), valid);
        }
    }

    #[test]
    fn codes_are_six_digits_with_leading_zeros() {
        assert_eq!(SmsCode::from_number(42).expose(), "000042");
        assert!(SmsCode::parse("12345").is_err());
        assert!(SmsCode::parse("12345a").is_err());
        assert_eq!(SmsCode::parse(" 012345 ").unwrap().expose(), "012345");
    }

    #[test]
    fn message_carries_code_and_expiry() {
        let text = SmsPurpose::Register.message(&SmsCode::from_number(123_456));
        assert!(text.contains("123456") && text.contains("10分钟"));
    }
}
