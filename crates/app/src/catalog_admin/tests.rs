//! The catalog as admins keep it, against in-memory fakes: prices and fees checked as money,
//! pickup points checked before they are offered, blank forms replaced and removed, every
//! change audited and only by an admin.

use std::sync::Arc;

use domain::PickupPointId;
use domain::application::SubjectKind;
use domain::document::DocumentKind;
use domain::pricing::KeyType;
use domain::staff::{Role, Roles};
use time::macros::datetime;

use super::*;
use crate::clock::ManualClock;
use crate::fakes::{self, Blobs, Books, invalid_fields};

struct Shop {
    books: Arc<Books>,
    blobs: Arc<Blobs>,
    catalogue: Catalogue,
}

fn shop() -> Shop {
    let clock = Arc::new(ManualClock::new(datetime!(2026-12-03 10:00 UTC)));
    let books = Arc::new(Books::default());
    books.add_package(PackageRecord {
        id: PackageId(1),
        code: "ent-main-1y".into(),
        subject_kind: SubjectKind::Enterprise,
        key_type: KeyType::Main,
        years: 1,
        price: Money::from_fen(40_000).unwrap(),
        active: true,
    });
    let blobs = Arc::new(Blobs::default());
    let audit = AuditTrail::new(books.clone(), clock.clone());
    let catalogue = Catalogue::new(books.clone(), books.clone(), blobs.clone(), audit, clock);
    Shop { books, blobs, catalogue }
}

fn admin() -> CurrentStaff {
    fakes::staff(1, &[Role::Admin])
}

#[tokio::test]
async fn a_price_is_positive_yuan_and_each_change_is_audited_with_before_and_after() {
    let s = shop();
    for bad in ["0", "-5", "abc", "1.234", ""] {
        let err = s.catalogue.set_package(&admin(), 1, bad, true).await.unwrap_err();
        assert_eq!(invalid_fields(&err), ["price"], "{bad:?}");
    }
    s.catalogue.set_package(&admin(), 1, " 399.5 ", false).await.unwrap();
    let package = &s.catalogue.catalog_admin(&admin()).await.unwrap().packages[0];
    assert_eq!((package.price.fen(), package.active), (39_950, false));
    assert!(s.books.audit_details()[0].contains("400.00 元 → 399.50 元，下架"), "{:?}", s.books.audit_details());
    assert!(matches!(s.catalogue.set_package(&admin(), 9, "1", true).await.unwrap_err(), Error::NotFound));
    let finance = CurrentStaff { roles: Roles::of(&[Role::Finance]), ..admin() };
    assert!(matches!(s.catalogue.set_package(&finance, 1, "1", true).await.unwrap_err(), Error::Forbidden));
    assert_eq!(s.books.audited(), ["catalog.package"]);
}

#[tokio::test]
async fn fees_are_checked_together_and_may_be_zero() {
    let s = shop();
    let err = s.catalogue.set_fees(&admin(), "x", "1.001", "元").await.unwrap_err();
    assert_eq!(invalid_fields(&err), ["courier", "pickup", "service"], "every problem at once");
    s.catalogue.set_fees(&admin(), "15", "0", "0.00").await.unwrap();
    let fees = s.catalogue.catalog_admin(&admin()).await.unwrap().fees;
    assert_eq!((fees.courier.fen(), fees.pickup.fen(), fees.service.fen()), (1500, 0, 0));
}

#[tokio::test]
async fn a_pickup_point_is_checked_before_it_is_offered_and_edited_in_place() {
    let s = shop();
    let blank = PickupPoint {
        id: PickupPointId(0),
        name: " ".into(),
        address: "福州".into(),
        phone: "call me".into(),
        hours: String::new(),
    };
    let err = s.catalogue.save_pickup_point(&admin(), &blank, true).await.unwrap_err();
    assert_eq!(invalid_fields(&err), ["name", "address", "phone", "hours"]);
    let hall = PickupPoint {
        id: PickupPointId(0),
        name: " 鼓楼服务大厅 ".into(),
        address: "福建省福州市鼓楼区五四路 100 号".into(),
        phone: "0591-88888888".into(),
        hours: "工作日 9:00–17:00".into(),
    };
    let id = s.catalogue.save_pickup_point(&admin(), &hall, true).await.unwrap();
    let moved = PickupPoint { id, address: "福建省福州市鼓楼区五四路 200 号".into(), ..hall };
    assert_eq!(s.catalogue.save_pickup_point(&admin(), &moved, false).await.unwrap(), id);
    let points = s.catalogue.catalog_admin(&admin()).await.unwrap().pickup_points;
    assert_eq!(points.len(), 1, "edited, not added");
    assert_eq!((points[0].0.name.as_str(), points[0].1), ("鼓楼服务大厅", false), "trimmed, withdrawn");
}

#[tokio::test]
async fn a_blank_form_is_replaced_by_a_clean_pdf_and_removed_again() {
    let s = shop();
    let pdf = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n".to_vec();
    let err = s.catalogue.upload_form_template(&admin(), "license", pdf.clone()).await.unwrap_err();
    assert!(matches!(err, Error::NotFound), "a license is no blank form: {err:?}");
    let err = s.catalogue.upload_form_template(&admin(), "application_form", b"GIF89a".to_vec()).await.unwrap_err();
    assert_eq!(invalid_fields(&err), ["file"]);

    s.catalogue.upload_form_template(&admin(), "application_form", pdf.clone()).await.unwrap();
    let first = s.blobs.keys();
    s.catalogue.upload_form_template(&admin(), "application_form", pdf.clone()).await.unwrap();
    assert_eq!(s.blobs.keys().len(), 1, "the replaced file is deleted");
    assert_ne!(s.blobs.keys(), first);
    assert_eq!(s.catalogue.form_template("application_form").await.unwrap().as_deref(), Some(&pdf[..]));
    let listed = s.catalogue.form_templates(&admin()).await.unwrap();
    assert!(listed.iter().any(|(kind, t)| *kind == DocumentKind::ApplicationForm && t.is_some()));

    s.catalogue.remove_form_template(&admin(), "application_form").await.unwrap();
    assert!(s.blobs.keys().is_empty());
    assert_eq!(s.catalogue.form_template("application_form").await.unwrap(), None, "back to the built-in one");
    assert_eq!(s.catalogue.form_template("no-such-kind").await.unwrap(), None);
    assert!(matches!(s.catalogue.remove_form_template(&admin(), "no-such-kind").await.unwrap_err(), Error::NotFound));
}
