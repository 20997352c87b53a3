//! Mainland mobile numbers (REFERENCE §4.5): 11 digits starting 13–19, `+86`/`86` accepted.

use crate::{mask::mask_middle, rejection};
use serde::Serialize;

rejection! {
    pub enum PhoneError {
        Empty => ("phone_required", "请输入手机号"),
        Invalid => ("phone_invalid", "请输入正确的11位手机号"),
    }
}

/// A normalised mainland mobile number: exactly 11 ASCII digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Phone(String);

impl Phone {
    /// Accepts spaces and dashes as separators and an optional `+86` / `86` prefix. Carrier ranges
    /// change, so only the stable shape is checked; possession is proven by an SMS code.
    pub fn parse(input: &str) -> Result<Self, PhoneError> {
        let compact: String = input.chars().filter(|c| !matches!(c, ' ' | '-' | '\u{3000}')).collect();
        if compact.is_empty() {
            return Err(PhoneError::Empty);
        }
        let digits = compact
            .strip_prefix("+86")
            .or_else(|| compact.strip_prefix("0086"))
            .or_else(|| if compact.len() == 13 { compact.strip_prefix("86") } else { None })
            .unwrap_or(&compact);
        let bytes = digits.as_bytes();
        let valid = bytes.len() == 11
            && bytes[0] == b'1'
            && (b'3'..=b'9').contains(&bytes[1])
            && bytes.iter().all(u8::is_ascii_digit);
        if valid { Ok(Self(digits.to_owned())) } else { Err(PhoneError::Invalid) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `138****5678`.
    pub fn masked(&self) -> String {
        mask_middle(&self.0, 3, 4)
    }
}

impl std::fmt::Display for Phone {
    /// Always masked, so a phone number formatted into a log line or a page never leaks.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_common_spellings() {
        for input in ["13812345678", "+86 138 1234 5678", "86-138-1234-5678", "008613812345678"] {
            assert_eq!(Phone::parse(input).unwrap().as_str(), "13812345678", "{input}");
        }
    }

    #[test]
    fn rejects_wrong_shapes() {
        for input in
            ["1381234567", "138123456789", "12812345678", "23812345678", "1381234567a", "１３８１２３４５６７８"]
        {
            assert_eq!(Phone::parse(input), Err(PhoneError::Invalid), "{input}");
        }
        assert_eq!(Phone::parse("  "), Err(PhoneError::Empty));
    }

    #[test]
    fn display_is_masked() {
        assert_eq!(Phone::parse("13812345678").unwrap().to_string(), "138****5678");
    }

    proptest! {
        #[test]
        fn every_valid_number_parses(second in 3u8..=9, rest in "[0-9]{9}") {
            let number = format!("1{second}{rest}");
            let parsed = Phone::parse(&number).unwrap();
            prop_assert_eq!(parsed.as_str(), number.as_str());
        }

        #[test]
        fn never_panics(input in "\\PC{0,20}") {
            let _ = Phone::parse(&input);
        }

        #[test]
        fn a_changed_digit_count_is_rejected(rest in "[0-9]{0,8}|[0-9]{10,14}") {
            let number = format!("13{rest}");
            prop_assert!(Phone::parse(&number).is_err());
        }
    }
}
