//! Invoices against in-memory fakes: issued only where asked for, stored encrypted, mailed with
//! their files to the invoice's address, resent under a new key, voided once after the refund,
//! downloaded by their owner only.

use domain::UserId;
use domain::staff::{Role, Roles};

use super::*;
use crate::Policy;
use crate::fakes::{self, Desk, invalid_fields};
use crate::ports::FileStore as _;

const PDF: &[u8] = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";

fn finance() -> CurrentStaff {
    fakes::staff(4, &[Role::Finance])
}

fn pdf() -> InvoiceUpload {
    InvoiceUpload { pdf: PDF.to_vec(), ofd: None, xml: None }
}

/// A paid order of an applicant with an email address, who asked for the electronic invoice to
/// go to fapiao@example.com.
async fn paid_with_invoice() -> Desk {
    let desk = Desk::new(&Policy::default());
    desk.books.request_invoice(desk.order, "fapiao@example.com");
    *desk.herald.email.lock().unwrap() = Some("owner@example.com".into());
    desk.pay().await;
    desk
}

#[tokio::test]
async fn an_invoice_is_issued_where_asked_for_stored_encrypted_and_mailed_with_its_file() {
    let plain = Desk::new(&Policy::default());
    plain.pay().await;
    let err = plain.invoices.issue_invoice(&finance(), plain.order, "24442000000012345678", pdf()).await.unwrap_err();
    assert!(matches!(err, Error::Conflict { code: "no_invoice_requested", .. }), "{err:?}");

    let desk = paid_with_invoice().await;
    let err = desk.invoices.issue_invoice(&finance(), desk.order, "2444-abc", pdf()).await.unwrap_err();
    assert_eq!(invalid_fields(&err)[0], "invoice_no");
    let gif = InvoiceUpload { pdf: b"GIF89a".to_vec(), ofd: None, xml: None };
    let err = desk.invoices.issue_invoice(&finance(), desk.order, "24442000000012345678", gif).await.unwrap_err();
    assert_eq!(invalid_fields(&err)[0], "file");
    let xml = InvoiceUpload { xml: Some(b"<!DOCTYPE x [<!ENTITY a 'b'>]><x/>".to_vec()), ..pdf() };
    let err = desk.invoices.issue_invoice(&finance(), desk.order, "24442000000012345678", xml).await.unwrap_err();
    assert_eq!(invalid_fields(&err)[0], "xml");
    assert!(desk.blobs.keys().is_empty(), "nothing is stored from a refused upload");

    desk.invoices.issue_invoice(&finance(), desk.order, " 24442000000012345678 ", pdf()).await.unwrap();
    let keys = desk.blobs.keys();
    assert_eq!(keys.len(), 1);
    let stored = desk.blobs.get(&keys[0]).await.unwrap();
    assert!(!stored.windows(8).any(|w| w == b"%PDF-1.7"), "kept encrypted");
    let mail: Vec<_> = desk.books.outbox().into_iter().filter(|(key, ..)| key.ends_with(":email")).collect();
    assert_eq!(mail.len(), 1, "{mail:?}");
    assert_eq!(mail[0].1, "fapiao@example.com", "to the invoice's address");
    assert_eq!(mail[0].2, Some(format!("invoice:{}", desk.order.0)), "with its files attached");
    assert_eq!(desk.books.audited(), ["invoice.issue"]);
    let reviewer = CurrentStaff { roles: Roles::of(&[Role::Reviewer]), ..finance() };
    assert!(matches!(desk.invoices.resend_invoice(&reviewer, desk.order).await.unwrap_err(), Error::Forbidden));
}

#[tokio::test]
async fn a_resend_is_a_new_message_and_is_counted() {
    let desk = paid_with_invoice().await;
    desk.invoices.issue_invoice(&finance(), desk.order, "24442000000012345678", pdf()).await.unwrap();
    desk.invoices.resend_invoice(&finance(), desk.order).await.unwrap();
    let mail: Vec<_> = desk.books.outbox().into_iter().filter(|(key, ..)| key.ends_with(":email")).collect();
    assert_eq!(mail.len(), 2, "{mail:?}");
    assert_ne!(mail[0].0, mail[1].0);
    let me = desk.user.clone();
    assert_eq!(desk.invoices.invoice_of(&me, desk.order).await.unwrap().unwrap().sent_count, 2);
}

#[tokio::test]
async fn a_red_letter_invoice_voids_it_once_after_the_refund() {
    let desk = paid_with_invoice().await;
    let err = desk.invoices.issue_red_invoice(&finance(), desk.order, "24442000000099999999", pdf()).await.unwrap_err();
    assert!(matches!(err, Error::Conflict { code: "no_invoice", .. }), "{err:?}");
    desk.invoices.issue_invoice(&finance(), desk.order, "24442000000012345678", pdf()).await.unwrap();
    let err = desk.invoices.issue_red_invoice(&finance(), desk.order, "24442000000099999999", pdf()).await.unwrap_err();
    assert!(matches!(err, Error::Conflict { code: "not_refunded", .. }), "{err:?}");

    desk.books.set_status(desk.order, domain::OrderStatus::Refunded, desk.clock.now());
    let err = desk.invoices.issue_red_invoice(&finance(), desk.order, "24442000000012345678", pdf()).await.unwrap_err();
    assert_eq!(invalid_fields(&err)[0], "red_invoice_no", "not the invoice's own number");
    desk.invoices.issue_red_invoice(&finance(), desk.order, "24442000000099999999", pdf()).await.unwrap();
    let err = desk.invoices.issue_red_invoice(&finance(), desk.order, "24442000000088888888", pdf()).await.unwrap_err();
    assert!(matches!(err, Error::Conflict { code: "invoice_already_voided", .. }), "{err:?}");
    let err = desk.invoices.issue_invoice(&finance(), desk.order, "24442000000077777777", pdf()).await.unwrap_err();
    assert!(matches!(err, Error::Conflict { code: "invoice_voided", .. }), "a voided invoice stays voided: {err:?}");
    let red_mail =
        desk.books.outbox().into_iter().filter(|(_, _, a)| a.as_deref().is_some_and(|a| a.starts_with("red-")));
    assert_eq!(red_mail.count(), 1);
}

#[tokio::test]
async fn only_the_owner_downloads_and_gets_the_file_back_decrypted() {
    let desk = paid_with_invoice().await;
    desk.invoices.issue_invoice(&finance(), desk.order, "24442000000012345678", pdf()).await.unwrap();
    let me = desk.user.clone();
    let (name, content_type, bytes) =
        desk.invoices.download_invoice(&me, desk.order, false, InvoiceFormat::Pdf).await.unwrap();
    assert_eq!((name.as_str(), content_type), ("发票-24442000000012345678.pdf", "application/pdf"));
    assert_eq!(bytes.len(), PDF.len(), "the sanitized PDF");
    let err = desk.invoices.download_invoice(&me, desk.order, true, InvoiceFormat::Pdf).await.unwrap_err();
    assert!(matches!(err, Error::NotFound), "no red-letter invoice yet: {err:?}");
    let err = desk.invoices.download_invoice(&me, desk.order, false, InvoiceFormat::Ofd).await.unwrap_err();
    assert!(matches!(err, Error::NotFound), "no OFD uploaded: {err:?}");
    let stranger = CurrentUser { id: UserId(99), ..me };
    let err = desk.invoices.download_invoice(&stranger, desk.order, false, InvoiceFormat::Pdf).await.unwrap_err();
    assert!(matches!(err, Error::NotFound), "{err:?}");
}
