//! Invoice request (发票信息) of an order: 普通发票 or 增值税专用发票, its title and taxpayer number,
//! the extra 专票 fields, and how it reaches the applicant (REFERENCE §5).

use crate::credit_code::CreditCode;
use crate::email::Email;
use crate::field::FieldErrors;
use crate::named_enum;

named_enum! {
    pub enum InvoiceKind {
        None => ("none", "不需要发票"),
        Normal => ("normal", "增值税普通发票"),
        Special => ("special", "增值税专用发票"),
    }
}

named_enum! {
    /// How the invoice is delivered (the manual's 邮寄发票, plus e-invoices).
    pub enum InvoiceDelivery {
        Email => ("email", "电子发票，发送到邮箱"),
        WithKey => ("with_key", "纸质发票，随 USB-Key 一起寄出或自提"),
        ToAddress => ("to_address", "纸质发票，另寄到指定地址"),
    }
}

named_enum! {
    /// The files a fully digital e-invoice (全电发票) is issued as: the PDF everyone opens, and
    /// the OFD and XML the tax bureau's platform also hands out.
    pub enum InvoiceFormat {
        Pdf => ("pdf", "PDF"),
        Ofd => ("ofd", "OFD"),
        Xml => ("xml", "XML"),
    }
}

impl InvoiceFormat {
    /// The media type a download and an email attachment carry.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Pdf => "application/pdf",
            Self::Ofd => "application/ofd",
            Self::Xml => "application/xml",
        }
    }

    /// The file name an applicant gets: `发票-<number>.pdf`; `红字发票-<number>.pdf` for the
    /// red-letter invoice that voids one.
    pub fn file_name(self, invoice_no: &str, red: bool) -> String {
        format!("{}-{invoice_no}.{}", if red { "红字发票" } else { "发票" }, self.as_str())
    }
}

/// The invoice part of the confirm-order form, as submitted.
#[derive(Debug, Clone, Default)]
pub struct InvoiceDraft {
    pub kind: String,
    pub title: String,
    pub taxpayer_no: String,
    /// 专票: registered address and phone.
    pub address_phone: String,
    /// 专票: bank and account number.
    pub bank_account: String,
    pub delivery: String,
    pub email: String,
}

/// A validated invoice request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invoice {
    pub kind: InvoiceKind,
    pub title: String,
    pub taxpayer_no: Option<CreditCode>,
    pub address_phone: Option<String>,
    pub bank_account: Option<String>,
    pub delivery: InvoiceDelivery,
    pub email: Option<Email>,
}

fn text(errors: &mut FieldErrors, field: &'static str, value: &str, max: usize, missing: &str) -> Option<String> {
    let value = value.trim();
    if value.is_empty() {
        errors.add(field, "required", missing);
        None
    } else if value.chars().count() > max || value.chars().any(char::is_control) {
        errors.add(field, "too_long_or_invalid", format!("不能超过{max}个字，且不能包含特殊控制字符"));
        None
    } else {
        Some(value.to_owned())
    }
}

impl InvoiceDraft {
    /// `None` when no invoice is wanted. Companies must give their taxpayer number (it is their
    /// credit code); a checksum mismatch there is a warning, not an error.
    pub fn validate(&self, for_company: bool) -> Result<Option<Invoice>, FieldErrors> {
        let mut errors = FieldErrors::new();
        let Some(kind) = InvoiceKind::parse(&self.kind) else {
            errors.add("invoice_kind", "invoice_kind_invalid", "请选择发票类型");
            return Err(errors);
        };
        if kind == InvoiceKind::None {
            return Ok(None);
        }
        if kind == InvoiceKind::Special && !for_company {
            errors.add(
                "invoice_kind",
                "special_invoice_company_only",
                "增值税专用发票只能开给单位，个人请选择普通发票",
            );
        }
        let title = text(&mut errors, "invoice_title", &self.title, 100, "请填写发票抬头");
        let taxpayer_no = if for_company || !self.taxpayer_no.trim().is_empty() {
            errors.check("invoice_taxpayer_no", CreditCode::parse(&self.taxpayer_no))
        } else {
            None
        };
        let (mut address_phone, mut bank_account) = (None, None);
        if kind == InvoiceKind::Special {
            address_phone =
                text(&mut errors, "invoice_address_phone", &self.address_phone, 200, "请填写单位注册地址和电话");
            bank_account = text(&mut errors, "invoice_bank_account", &self.bank_account, 200, "请填写开户银行和账号");
        }
        let delivery = InvoiceDelivery::parse(&self.delivery);
        if delivery.is_none() {
            errors.add("invoice_delivery", "invoice_delivery_invalid", "请选择发票寄送方式");
        }
        let email = if delivery == Some(InvoiceDelivery::Email) {
            errors.check("invoice_email", Email::parse(&self.email))
        } else {
            None
        };
        match (title, delivery) {
            (Some(title), Some(delivery)) if errors.is_empty() => {
                Ok(Some(Invoice { kind, title, taxpayer_no, address_phone, bank_account, delivery, email }))
            }
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft() -> InvoiceDraft {
        InvoiceDraft {
            kind: "normal".into(),
            title: "示例科技有限公司".into(),
            taxpayer_no: "91350100M000100Y43".into(),
            delivery: "email".into(),
            email: "finance@example.com".into(),
            ..InvoiceDraft::default()
        }
    }

    #[test]
    fn a_company_e_invoice() {
        let invoice = draft().validate(true).unwrap().unwrap();
        assert_eq!((invoice.kind, invoice.delivery), (InvoiceKind::Normal, InvoiceDelivery::Email));
        assert!(invoice.taxpayer_no.unwrap().checksum_ok());
        assert_eq!(invoice.address_phone, None, "专票 fields only for 专票");
    }

    #[test]
    fn no_invoice_is_a_choice() {
        let none = InvoiceDraft { kind: "none".into(), ..InvoiceDraft::default() };
        assert_eq!(none.validate(true).unwrap(), None);
    }

    #[test]
    fn special_invoices_need_their_extra_fields_and_a_company() {
        let special = InvoiceDraft { kind: "special".into(), delivery: "with_key".into(), ..draft() };
        let errors = special.validate(true).unwrap_err();
        assert_eq!(
            errors.iter().map(|e| e.field).collect::<Vec<_>>(),
            ["invoice_address_phone", "invoice_bank_account"]
        );
        let person = InvoiceDraft { kind: "special".into(), taxpayer_no: String::new(), ..draft() };
        assert!(person.validate(false).unwrap_err().message_for("invoice_kind").unwrap().contains("只能开给单位"));
    }

    #[test]
    fn companies_give_a_taxpayer_number_people_need_not() {
        let missing = InvoiceDraft { taxpayer_no: String::new(), ..draft() };
        assert!(missing.validate(true).unwrap_err().message_for("invoice_taxpayer_no").is_some());
        let person = InvoiceDraft { title: "李雷".into(), taxpayer_no: String::new(), ..draft() };
        assert!(person.validate(false).unwrap().unwrap().taxpayer_no.is_none());
    }

    #[test]
    fn an_e_invoice_needs_an_email() {
        let bad = InvoiceDraft { email: "nope".into(), ..draft() };
        assert_eq!(bad.validate(true).unwrap_err().message_for("invoice_email"), Some("请输入正确的邮箱地址"));
        let unknown = InvoiceDraft { delivery: "pigeon".into(), ..draft() };
        assert!(unknown.validate(true).is_err());
    }
}
