//! Email addresses as people type them into a form: a pragmatic shape check, not RFC 5322.

use crate::rejection;
use serde::Serialize;

rejection! {
    pub enum EmailError {
        Invalid => ("email_invalid", "请输入正确的邮箱地址"),
        TooLong => ("email_too_long", "邮箱地址不能超过254个字符"),
    }
}

/// A trimmed, lower-cased-domain email address with one `@`, a dotted domain and no whitespace
/// or control characters (so it can never inject a mail header).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub fn parse(input: &str) -> Result<Self, EmailError> {
        let value = input.trim();
        if value.len() > 254 {
            return Err(EmailError::TooLong);
        }
        let (local, domain) = value.split_once('@').ok_or(EmailError::Invalid)?;
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && local.chars().all(|c| c.is_ascii_graphic() && !"@<>()[]\\,;:\"".contains(c));
        let domain_ok = domain.contains('.')
            && !domain.starts_with(['.', '-'])
            && !domain.ends_with(['.', '-'])
            && !domain.contains("..")
            && domain.chars().all(|c| c.is_alphanumeric() || c == '.' || c == '-');
        if local_ok && domain_ok {
            Ok(Self(format!("{local}@{}", domain.to_lowercase())))
        } else {
            Err(EmailError::Invalid)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_ordinary_addresses() {
        assert_eq!(Email::parse(" Li.Si+seal@Example.COM ").unwrap().as_str(), "Li.Si+seal@example.com");
        assert!(Email::parse("wang@公司.中国").is_ok());
    }

    #[test]
    fn rejects_broken_or_injecting_addresses() {
        for bad in ["", "a", "a@b", "@b.cn", "a@.cn", "a@b..cn", "a b@c.cn", "a@b.cn\r\nBcc: x@y.cn", "a@@b.cn"] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn never_accepts_control_characters(local in "[a-z]{1,8}", ctl in "[\\x00-\\x1f]") {
            let input = format!("{local}{ctl}@example.com");
            prop_assert!(Email::parse(&input).is_err());
        }
    }
}
