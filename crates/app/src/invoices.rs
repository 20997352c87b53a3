//! E-invoices (REFERENCE §5): the queue of orders to invoice; issuing one as the fully digital
//! invoice comes (number, PDF, and the OFD and XML when finance has them — each checked and
//! encrypted like every upload); emailing it with its files attached; resending on request;
//! voiding it with a red-letter invoice (红冲) once its order is refunded. Applicants download
//! theirs.

use domain::OrderStatus;
use domain::invoice::InvoiceFormat;
use domain::staff::Role;
use sha2::{Digest, Sha256};
use std::io::Cursor;

use std::sync::Arc;

use crate::clock::Clock;
use crate::media::{UploadError, sanitize};
use crate::notifications::{Announcer, Tell};
use crate::orders::OrderView;
use crate::ports::{
    InvoiceBook, InvoiceFile, InvoiceRecord, InvoiceRepo, NotificationRepo, OrderBook, OrderRecord, RedInvoice,
};
use crate::sessions::CurrentUser;
use crate::staff::{AuditTrail, CurrentStaff};
use crate::vault::Vault;
use crate::{Error, StoreError};

/// The files finance uploads for one invoice: the PDF, and the OFD and XML when it has them.
#[derive(Debug, Clone, Default)]
pub struct InvoiceUpload {
    pub pdf: Vec<u8>,
    pub ofd: Option<Vec<u8>>,
    pub xml: Option<Vec<u8>>,
}

/// An OFD is a zip package (GB/T 33190) with `OFD.xml` at its root; it is kept as uploaded.
const MAX_OFD_ENTRIES: usize = 2000;
const MAX_OFD_UNPACKED: u64 = 64 * 1024 * 1024;
/// An invoice's XML is a few kilobytes.
const MAX_XML_BYTES: usize = 1024 * 1024;

/// Whether the bytes are an OFD package: a zip whose directory names `OFD.xml` and whose
/// declared contents stay small (nothing is unpacked here).
fn check_ofd(bytes: &[u8]) -> Result<(), &'static str> {
    if bytes.len() > domain::document::MAX_UPLOAD_BYTES {
        return Err("OFD 文件不能超过10MB");
    }
    let archive =
        zip::ZipArchive::new(Cursor::new(bytes)).map_err(|_| "OFD 文件无法打开，请上传税务平台下载的 OFD 文件")?;
    if archive.len() > MAX_OFD_ENTRIES || archive.decompressed_size().is_none_or(|n| n > u128::from(MAX_OFD_UNPACKED)) {
        return Err("OFD 文件内容过大，请上传税务平台下载的 OFD 文件");
    }
    if archive.index_for_name("OFD.xml").is_none() {
        return Err("这不是 OFD 版式文件（缺少 OFD.xml），请上传税务平台下载的 OFD 文件");
    }
    Ok(())
}

/// Whether the bytes are an XML document fit to hand on: UTF-8, an XML start, and no document
/// type declaration (entities are how XML files attack whoever opens them).
fn check_xml(bytes: &[u8]) -> Result<(), &'static str> {
    if bytes.len() > MAX_XML_BYTES {
        return Err("XML 文件不能超过 1MB");
    }
    let text = std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes))
        .map_err(|_| "XML 文件须为 UTF-8 编码，请上传税务平台下载的 XML 文件")?;
    if !text.trim_start().starts_with('<') {
        return Err("这不是 XML 文件，请上传税务平台下载的 XML 文件");
    }
    let upper = text.to_ascii_uppercase();
    if upper.contains("<!DOCTYPE") || upper.contains("<!ENTITY") {
        return Err("XML 文件不能包含 DOCTYPE 或实体声明");
    }
    Ok(())
}

/// Checks each uploaded file for what it claims to be; the PDF goes through the PDF check every
/// upload passes. Returns the bytes to store per format.
fn checked(upload: InvoiceUpload) -> Result<Vec<(InvoiceFormat, Vec<u8>)>, Error> {
    let pdf = sanitize(&upload.pdf, true).map_err(|e| match e {
        UploadError::Empty => Error::field("file", e.code(), "请上传电子发票 PDF 文件"),
        _ => Error::field("file", e.code(), &format!("电子发票 PDF：{e}")),
    })?;
    if pdf.content_type != "application/pdf" {
        return Err(Error::field("file", "invoice_not_pdf", "请上传电子发票 PDF 文件"));
    }
    let mut files = vec![(InvoiceFormat::Pdf, pdf.bytes)];
    if let Some(ofd) = upload.ofd.filter(|b| !b.is_empty()) {
        check_ofd(&ofd).map_err(|m| Error::field("ofd", "invoice_ofd_invalid", m))?;
        files.push((InvoiceFormat::Ofd, ofd));
    }
    if let Some(xml) = upload.xml.filter(|b| !b.is_empty()) {
        check_xml(&xml).map_err(|m| Error::field("xml", "invoice_xml_invalid", m))?;
        files.push((InvoiceFormat::Xml, xml));
    }
    Ok(files)
}

/// An invoice number as the tax platform prints it: 8–20 digits (20 for fully digital ones).
fn invoice_number(number: &str, field: &'static str) -> Result<String, Error> {
    let number = number.trim();
    if !(8..=20).contains(&number.len()) || !number.chars().all(|c| c.is_ascii_digit()) {
        return Err(Error::field(field, "invoice_no_invalid", "请填写 8–20 位数字的发票号码"));
    }
    Ok(number.to_owned())
}

/// Which invoice of an order an email attaches: the invoice or its red-letter invoice.
fn attachment_ref(order: &OrderRecord, red: bool) -> String {
    format!("{}:{}", if red { "red-invoice" } else { "invoice" }, order.id.0)
}

/// 发票 by finance: issued with its files, mailed, resent, voided by a red-letter invoice; the
/// applicant downloads theirs. It holds only the ports it needs, so its rules are tested
/// against in-memory fakes.
#[derive(Clone)]
pub struct Invoices {
    repo: Arc<dyn InvoiceRepo>,
    book: Arc<dyn InvoiceBook>,
    orders: Arc<dyn OrderBook>,
    queue: Arc<dyn NotificationRepo>,
    announcer: Arc<dyn Announcer>,
    vault: Vault,
    audit: AuditTrail,
    clock: Arc<dyn Clock>,
}

/// The ports an [`Invoices`] works with.
pub struct InvoicePorts {
    pub repo: Arc<dyn InvoiceRepo>,
    pub book: Arc<dyn InvoiceBook>,
    pub orders: Arc<dyn OrderBook>,
    pub queue: Arc<dyn NotificationRepo>,
    pub announcer: Arc<dyn Announcer>,
    pub vault: Vault,
    pub audit: AuditTrail,
    pub clock: Arc<dyn Clock>,
}

impl Invoices {
    pub fn new(ports: InvoicePorts) -> Self {
        let InvoicePorts { repo, book, orders, queue, announcer, vault, audit, clock } = ports;
        Self { repo, book, orders, queue, announcer, vault, audit, clock }
    }

    /// The user's own order with its history; `NotFound` for anyone else's.
    async fn order(&self, user: &CurrentUser, id: domain::OrderId) -> Result<OrderView, Error> {
        OrderView::of_owner(self.orders.as_ref(), user, id).await
    }

    /// Checks, encrypts and stores the files; returns what the store records of them.
    async fn store_invoice_files(&self, upload: InvoiceUpload, red: bool) -> Result<Vec<InvoiceFile>, Error> {
        let files = tokio::task::spawn_blocking(move || checked(upload))
            .await
            .map_err(|e| StoreError::Other(format!("invoice check task failed: {e}")))??;
        let mut stored = Vec::with_capacity(files.len());
        for (format, bytes) in files {
            let (file_key, wrapped_key) = self.vault.put(&bytes).await?;
            stored.push(InvoiceFile {
                red,
                format,
                file_key,
                wrapped_key,
                sha256: hex::encode(Sha256::digest(&bytes)),
                size: i64::try_from(bytes.len()).unwrap_or(i64::MAX),
            });
        }
        Ok(stored)
    }

    /// 开票: the invoice number and its files; the applicant is emailed them.
    pub async fn issue_invoice(
        &self,
        staff: &CurrentStaff,
        id: domain::OrderId,
        invoice_no: &str,
        upload: InvoiceUpload,
    ) -> Result<(), Error> {
        staff.require(&[Role::Finance])?;
        let order = self.orders.order_by_id(id).await?.ok_or(Error::NotFound)?;
        if order.order.invoice.is_none() {
            return Err(Error::Conflict { code: "no_invoice_requested", message: "该订单未申请发票".into() });
        }
        let invoice_no = invoice_number(invoice_no, "invoice_no")?;
        let files = self.store_invoice_files(upload, false).await?;
        let record = InvoiceRecord {
            order_id: id,
            invoice_no: invoice_no.clone(),
            issued_by: Some(staff.id),
            issued_at: self.clock.now(),
            sent_count: 0,
            red: None,
            files,
        };
        if !self.repo.save_invoice(&record).await? {
            return Err(Error::Conflict {
                code: "invoice_voided", message: "该订单的发票已红冲，不能再更换".into()
            });
        }
        self.audit.record(Some(staff.id), "invoice.issue", Some(id), &invoice_no).await?;
        self.send_invoice(&order).await
    }

    /// 红冲: the refunded order's invoice is voided by the red-letter invoice finance issued on
    /// the tax platform (its number and files); the applicant is emailed it.
    pub async fn issue_red_invoice(
        &self,
        staff: &CurrentStaff,
        id: domain::OrderId,
        red_no: &str,
        upload: InvoiceUpload,
    ) -> Result<(), Error> {
        staff.require(&[Role::Finance])?;
        let order = self.orders.order_by_id(id).await?.ok_or(Error::NotFound)?;
        let invoice = self
            .book
            .invoice(id)
            .await?
            .ok_or(Error::Conflict {
                code: "no_invoice", message: "该订单尚未开具发票，无需红冲".into()
            })?;
        if order.status != OrderStatus::Refunded {
            return Err(Error::Conflict {
                code: "not_refunded", message: "订单退款完成后才能红冲发票".into()
            });
        }
        let red_no = invoice_number(red_no, "red_invoice_no")?;
        if red_no == invoice.invoice_no {
            return Err(Error::field("red_invoice_no", "red_invoice_no_same", "红字发票号码不能与原发票号码相同"));
        }
        let files = self.store_invoice_files(upload, true).await?;
        let red = RedInvoice { invoice_no: red_no.clone(), issued_by: Some(staff.id), issued_at: self.clock.now() };
        if !self.repo.save_red_invoice(id, &red, &files).await? {
            return Err(Error::Conflict {
                code: "invoice_already_voided", message: "该发票已红冲，请刷新页面".into()
            });
        }
        self.audit
            .record(
                Some(staff.id),
                "invoice.red",
                Some(id),
                &format!("原发票 {}，红字发票 {red_no}", invoice.invoice_no),
            )
            .await?;
        let sms = format!(
            "您的订单 {} 已退款，原电子发票（号码 {}）已作废并开具红字发票（号码 {red_no}），可登录“我的订单”下载，留有邮箱的已随邮件发送。",
            order.order.order_no, invoice.invoice_no
        );
        let text = format!(
            "您的订单已退款，原电子发票（号码 {}）已红冲作废。\n红字发票号码 {red_no}，文件见附件；也可登录系统，在“我的订单”中打开该订单下载。",
            invoice.invoice_no
        );
        let tell = Tell {
            key: format!("order:{}:red-invoice", order.id.0),
            sms: &sms,
            subject: "【电子签章】发票已红冲",
            text: &text,
        };
        self.enqueue_invoice_mail(&order, &tell, true).await
    }

    /// Sends the invoice email again (resend on request).
    pub async fn resend_invoice(&self, staff: &CurrentStaff, id: domain::OrderId) -> Result<(), Error> {
        staff.require(&[Role::Finance])?;
        let order = self.orders.order_by_id(id).await?.ok_or(Error::NotFound)?;
        self.book.invoice(id).await?.ok_or(Error::NotFound)?;
        self.audit.record(Some(staff.id), "invoice.resend", Some(id), "").await?;
        self.send_invoice(&order).await
    }

    async fn send_invoice(&self, order: &OrderRecord) -> Result<(), Error> {
        let count = self.repo.invoice_sent(order.id).await?;
        let invoice = self.book.invoice(order.id).await?.ok_or(Error::NotFound)?;
        let formats: Vec<&str> = invoice.formats(false).iter().map(|f| f.label()).collect();
        let sms = format!(
            "您的订单 {} 的电子发票已开具（发票号码 {}），可登录“我的订单”下载，留有邮箱的已随邮件发送。",
            order.order.order_no, invoice.invoice_no
        );
        let text = format!(
            "您的电子发票已开具，发票号码 {}，文件（{}）见附件。\n也可登录系统，在“我的订单”中打开该订单下载。",
            invoice.invoice_no,
            formats.join("、")
        );
        let tell = Tell {
            key: format!("order:{}:invoice:{count}", order.id.0),
            sms: &sms,
            subject: "【电子签章】电子发票已开具",
            text: &text,
        };
        self.enqueue_invoice_mail(order, &tell, false).await
    }

    /// The SMS and the email with the invoice's files attached, to the address given for the
    /// invoice when there is one.
    async fn enqueue_invoice_mail(&self, order: &OrderRecord, tell: &Tell<'_>, red: bool) -> Result<(), Error> {
        let mut messages = self.announcer.applicant_messages(order, tell).await?;
        for m in messages.iter_mut().filter(|m| m.channel == "email") {
            if let Some(email) = order.order.invoice.as_ref().and_then(|i| i.email.clone()) {
                m.recipient = email;
            }
            m.attachments = Some(attachment_ref(order, red));
        }
        self.queue.enqueue_notifications(&messages, self.clock.now()).await?;
        self.announcer.deliver_now().await;
        Ok(())
    }

    /// One file of the user's invoice (or of its red-letter invoice): (file name, media type,
    /// bytes).
    pub async fn download_invoice(
        &self,
        user: &CurrentUser,
        id: domain::OrderId,
        red: bool,
        format: InvoiceFormat,
    ) -> Result<(String, &'static str, Vec<u8>), Error> {
        let invoice = self.invoice_of(user, id).await?.ok_or(Error::NotFound)?;
        let number = if red {
            invoice.red.as_ref().ok_or(Error::NotFound)?.invoice_no.clone()
        } else {
            invoice.invoice_no.clone()
        };
        let file = invoice.file(red, format).ok_or(Error::NotFound)?;
        let bytes = self.vault.get(&file.file_key, &file.wrapped_key).await?;
        Ok((format.file_name(&number, red), format.content_type(), bytes))
    }

    /// The user's order's invoice, if issued (with its red-letter invoice when voided).
    pub async fn invoice_of(&self, user: &CurrentUser, id: domain::OrderId) -> Result<Option<InvoiceRecord>, Error> {
        self.order(user, id).await?;
        Ok(self.book.invoice(id).await?)
    }
}

#[cfg(test)]
mod service_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, body) in entries {
            out.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
            out.write_all(body).unwrap();
        }
        out.finish().unwrap().into_inner()
    }

    #[test]
    fn an_ofd_is_a_package_with_its_entry_file() {
        assert!(check_ofd(&zip_of(&[("OFD.xml", b"<ofd:OFD/>"), ("Doc_0/Document.xml", b"<x/>")])).is_ok());
        assert!(check_ofd(&zip_of(&[("other.xml", b"<x/>")])).unwrap_err().contains("缺少 OFD.xml"));
        assert!(check_ofd(b"%PDF-1.7").is_err(), "not a zip");
    }

    #[test]
    fn an_invoice_xml_is_utf8_xml_without_entities() {
        assert!(check_xml("\u{feff}<?xml version=\"1.0\"?><EInvoice/>".as_bytes()).is_ok());
        assert!(check_xml(b"<!DOCTYPE x [<!ENTITY a \"a\">]><x>&a;</x>").is_err(), "no entities");
        assert!(check_xml(b"plain text").is_err());
        assert!(check_xml(&[0xC4, 0xE3, b'<']).is_err(), "GBK is not UTF-8");
    }

    #[test]
    fn invoice_numbers_are_the_platforms_digits() {
        assert_eq!(invoice_number(" 24442000000012345678 ", "n").unwrap(), "24442000000012345678");
        assert!(invoice_number("1234567", "n").is_err() && invoice_number("1234567A", "n").is_err());
    }
}
