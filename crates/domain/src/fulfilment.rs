//! 制证与发货: what fulfilment staff record about the produced key, and how it leaves — by
//! courier with a tracking number, or at a pickup point against a pickup code.

use time::Date;
use time::macros::format_description;

use crate::FieldErrors;
use crate::pricing::KeyType;

/// Couriers offered in the shipping form.
pub const COURIERS: [&str; 7] = ["顺丰速运", "中国邮政EMS", "京东物流", "圆通速递", "中通快递", "申通快递", "韵达快递"];

/// The produced key, as typed by staff.
#[derive(Debug, Clone, Default)]
pub struct KeyDraft {
    pub key_type: String,
    pub serial: String,
    pub valid_from: String,
    pub valid_to: String,
}

/// The produced key, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    pub key_type: KeyType,
    /// Certificate serial number: hex or letters and digits, as the CA prints it.
    pub serial: String,
    pub valid_from: Date,
    pub valid_to: Date,
}

fn date(text: &str) -> Option<Date> {
    Date::parse(text.trim(), format_description!("[year]-[month]-[day]")).ok()
}

impl KeyDraft {
    pub fn validate(&self) -> Result<KeyRecord, FieldErrors> {
        let mut errors = FieldErrors::new();
        let key_type = KeyType::parse(&self.key_type);
        if key_type.is_none() {
            errors.add("key_type", "key_type_invalid", "请选择介质类型（主锁或副锁）");
        }
        let serial: String =
            self.serial.trim().to_ascii_uppercase().chars().filter(|c| *c != ' ' && *c != ':').collect();
        if serial.len() < 6 || serial.len() > 64 || !serial.chars().all(|c| c.is_ascii_alphanumeric()) {
            errors.add("serial", "serial_invalid", "请填写证书序列号（6–64 位字母或数字）");
        }
        let (from, to) = (date(&self.valid_from), date(&self.valid_to));
        if from.is_none() {
            errors.add("valid_from", "date_invalid", "请填写证书生效日期（YYYY-MM-DD）");
        }
        if to.is_none() {
            errors.add("valid_to", "date_invalid", "请填写证书到期日期（YYYY-MM-DD）");
        }
        if let (Some(f), Some(t)) = (from, to)
            && t <= f
        {
            errors.add("valid_to", "date_order", "到期日期应晚于生效日期");
        }
        match (key_type, from, to) {
            (Some(key_type), Some(valid_from), Some(valid_to)) if errors.is_empty() => {
                Ok(KeyRecord { key_type, serial, valid_from, valid_to })
            }
            _ => Err(errors),
        }
    }
}

/// A courier and a tracking number, checked.
pub fn shipment(courier: &str, tracking_no: &str) -> Result<(String, String), FieldErrors> {
    let mut errors = FieldErrors::new();
    let courier = courier.trim();
    if !COURIERS.contains(&courier) {
        errors.add("courier", "courier_invalid", "请选择快递公司");
    }
    let tracking: String = tracking_no.trim().to_ascii_uppercase().chars().filter(|c| !c.is_whitespace()).collect();
    if !(6..=30).contains(&tracking.len()) || !tracking.chars().all(|c| c.is_ascii_alphanumeric()) {
        errors.add("tracking_no", "tracking_invalid", "请填写正确的快递单号（6–30 位字母或数字）");
    }
    if errors.is_empty() { Ok((courier.to_owned(), tracking)) } else { Err(errors) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_record_needs_a_type_a_serial_and_dates_in_order() {
        let draft = KeyDraft {
            key_type: "main".into(),
            serial: " 4a:3f 00 1b 9c ".into(),
            valid_from: "2026-11-26".into(),
            valid_to: "2027-11-25".into(),
        };
        let key = draft.validate().unwrap();
        assert_eq!((key.key_type, key.serial.as_str()), (KeyType::Main, "4A3F001B9C"));
        let backwards = KeyDraft { valid_to: "2026-11-26".into(), ..draft.clone() };
        assert_eq!(backwards.validate().unwrap_err().iter().next().unwrap().code, "date_order");
        let empty = KeyDraft::default().validate().unwrap_err();
        let fields: Vec<&str> = empty.iter().map(|e| e.field).collect();
        assert_eq!(fields, ["key_type", "serial", "valid_from", "valid_to"]);
    }

    #[test]
    fn shipments_name_a_known_courier_and_a_plausible_number() {
        assert_eq!(shipment("顺丰速运", " sf 1234 5678 901 ").unwrap(), ("顺丰速运".into(), "SF12345678901".into()));
        assert!(shipment("路边小哥", "SF12345678901").is_err());
        assert!(shipment("顺丰速运", "12-34").is_err());
    }
}
