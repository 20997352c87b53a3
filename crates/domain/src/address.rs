//! Delivery addresses in the address book (收货地址): what a valid one holds.

use crate::division::{Divisions, Region};
use crate::field::FieldErrors;
use crate::person::PersonName;
use crate::phone::Phone;
use serde::Serialize;

/// Most addresses a user keeps (a bound on storage per account).
pub const MAX_ADDRESSES_PER_USER: usize = 20;

/// The form as submitted: raw strings, nothing trusted yet.
#[derive(Debug, Clone, Default)]
pub struct AddressDraft {
    pub recipient: String,
    pub phone: String,
    pub province_code: String,
    pub city_code: String,
    pub district_code: String,
    pub detail: String,
    pub is_default: bool,
}

/// A validated address, ready to store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Address {
    pub recipient: PersonName,
    pub phone: Phone,
    pub region: Region,
    pub detail: String,
    pub is_default: bool,
}

impl AddressDraft {
    /// Validates every field and reports all problems at once, each beside its field.
    pub fn validate(&self) -> Result<Address, FieldErrors> {
        let mut errors = FieldErrors::new();
        let recipient = errors.check("recipient", PersonName::parse(&self.recipient));
        let phone = errors.check("phone", Phone::parse(&self.phone));
        let region = match Divisions::get().resolve(&self.province_code, &self.city_code, &self.district_code) {
            Ok(region) => Some(region),
            Err(err) => {
                errors.add(err.field(), crate::field::Rejection::code(&err), err.to_string());
                None
            }
        };
        let detail = self.detail.trim();
        let detail_len = detail.chars().count();
        if detail_len < 4 {
            errors.add("detail", "detail_too_short", "请填写详细地址（街道、门牌号等），至少4个字");
        } else if detail_len > 120 {
            errors.add("detail", "detail_too_long", "详细地址不能超过120个字");
        } else if detail.chars().any(char::is_control) {
            errors.add("detail", "detail_invalid", "详细地址包含不允许的字符");
        }
        match (recipient, phone, region) {
            (Some(recipient), Some(phone), Some(region)) if errors.is_empty() => {
                Ok(Address { recipient, phone, region, detail: detail.to_owned(), is_default: self.is_default })
            }
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft() -> AddressDraft {
        AddressDraft {
            recipient: "李四".into(),
            phone: "13912345678".into(),
            province_code: "440000".into(),
            city_code: "440300".into(),
            district_code: "440305".into(),
            detail: "科技园南区1栋101室".into(),
            is_default: false,
        }
    }

    #[test]
    fn a_complete_draft_validates() {
        let address = draft().validate().unwrap();
        assert_eq!(address.region.full_name(), "广东省深圳市南山区");
        assert_eq!(address.phone.masked(), "139****5678");
    }

    #[test]
    fn every_bad_field_is_reported_beside_itself() {
        let bad = AddressDraft {
            recipient: String::new(),
            phone: "123".into(),
            district_code: "110101".into(),
            detail: "1号".into(),
            ..draft()
        };
        let errors = bad.validate().unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field).collect();
        assert_eq!(fields, ["recipient", "phone", "district_code", "detail"]);
        assert_eq!(errors.message_for("phone"), Some("请输入正确的11位手机号"));
    }

    #[test]
    fn control_characters_in_detail_are_refused() {
        let bad = AddressDraft { detail: "科技园\r\n1栋101".into(), ..draft() };
        assert_eq!(bad.validate().unwrap_err().message_for("detail"), Some("详细地址包含不允许的字符"));
    }
}
