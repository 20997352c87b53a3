//! Personal names as typed into forms (recipient, profile name).

use crate::rejection;
use serde::Serialize;

rejection! {
    pub enum PersonNameError {
        Empty => ("name_required", "请输入姓名"),
        TooLong => ("name_too_long", "姓名不能超过30个字符"),
        InvalidCharacters => ("name_invalid", "姓名包含不允许的字符"),
    }
}

/// A trimmed name of 1–30 characters: letters (any script), `·`/`•` used in minority and
/// foreign names, spaces, dots and hyphens. No digits, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct PersonName(String);

impl PersonName {
    pub fn parse(input: &str) -> Result<Self, PersonNameError> {
        let value = input.trim();
        if value.is_empty() {
            return Err(PersonNameError::Empty);
        }
        if value.chars().count() > 30 {
            return Err(PersonNameError::TooLong);
        }
        if !value.chars().all(|c| c.is_alphabetic() || matches!(c, '·' | '•' | ' ' | '.' | '-')) {
            return Err(PersonNameError::InvalidCharacters);
        }
        Ok(Self(value.to_owned()))
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
    fn accepts_chinese_minority_and_latin_names() {
        for name in ["张三", "阿卜杜拉·买买提", "Li Lei", "Anne-Marie"] {
            assert_eq!(PersonName::parse(name).unwrap().as_str(), name);
        }
    }

    #[test]
    fn rejects_empty_long_and_odd_names() {
        assert_eq!(PersonName::parse("  ").unwrap_err(), PersonNameError::Empty);
        assert_eq!(PersonName::parse(&"张".repeat(31)).unwrap_err(), PersonNameError::TooLong);
        for bad in ["张三1", "a<b>", "x\r\ny", "王\u{202e}五"] {
            assert_eq!(PersonName::parse(bad).unwrap_err(), PersonNameError::InvalidCharacters, "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn never_panics_and_never_keeps_control_chars(input in "\\PC{0,40}|[\\x00-\\x1f]{1,3}") {
            if let Ok(name) = PersonName::parse(&input) {
                prop_assert!(!name.as_str().chars().any(char::is_control));
            }
        }
    }
}
