//! The address book against an in-memory fake: every problem of a form at once, a foreign
//! address indistinguishable from none, the limit, one default.

use std::sync::Arc;

use domain::{Phone, UserId};
use time::macros::datetime;

use super::*;
use crate::clock::ManualClock;
use crate::fakes::{Books, invalid_fields};

fn book() -> AddressBook {
    let clock = Arc::new(ManualClock::new(datetime!(2026-12-03 10:00 UTC)));
    AddressBook::new(Arc::new(Books::default()), clock)
}

fn user(id: i64) -> CurrentUser {
    CurrentUser {
        id: UserId(id),
        phone: Phone::parse("13912345678").unwrap(),
        name: None,
        email: None,
        session_digest: String::new(),
    }
}

fn draft(detail: &str) -> AddressDraft {
    AddressDraft {
        recipient: "王五".into(),
        phone: "13712345678".into(),
        province_code: "440000".into(),
        city_code: "440300".into(),
        district_code: "440305".into(),
        detail: detail.into(),
        is_default: false,
    }
}

#[tokio::test]
async fn a_form_reports_every_problem_and_a_foreign_address_is_not_found() {
    let b = book();
    let bad = AddressDraft { recipient: String::new(), phone: "123".into(), city_code: "110100".into(), ..draft("") };
    let err = b.add_address(&user(1), &bad).await.unwrap_err();
    let got = invalid_fields(&err);
    for field in ["recipient", "phone", "city_code", "detail"] {
        assert!(got.contains(&field), "{field} missing in {got:?}");
    }
    let mine = b.add_address(&user(1), &draft("科技园南区 1 栋 101")).await.unwrap();
    assert_eq!(mine.region_name, "广东省深圳市南山区");
    let stranger = user(2);
    assert!(matches!(b.address(&stranger, mine.id).await.unwrap_err(), Error::NotFound));
    let err = b.update_address(&stranger, mine.id, &bad).await.unwrap_err();
    assert!(matches!(err, Error::NotFound), "not found before invalid: {err:?}");
    assert!(matches!(b.delete_address(&stranger, mine.id).await.unwrap_err(), Error::NotFound));
    assert!(matches!(b.set_default_address(&stranger, mine.id).await.unwrap_err(), Error::NotFound));
    assert_eq!(b.list_addresses(&user(1)).await.unwrap().len(), 1);
}

#[tokio::test]
async fn the_book_holds_so_many_and_always_one_default() {
    let b = book();
    let me = user(1);
    let first = b.add_address(&me, &draft("科技园 1 号楼")).await.unwrap();
    assert!(first.is_default, "the first address is the default");
    let mut ids = vec![first.id];
    for n in 2..=MAX_ADDRESSES_PER_USER {
        ids.push(b.add_address(&me, &draft(&format!("科技园 {n} 号楼"))).await.unwrap().id);
    }
    let err = b.add_address(&me, &draft("再来一个")).await.unwrap_err();
    assert!(matches!(err, Error::Conflict { code: "address_limit", .. }), "{err:?}");

    b.set_default_address(&me, ids[2]).await.unwrap();
    b.delete_address(&me, ids[2]).await.unwrap();
    let defaults = b.list_addresses(&me).await.unwrap().into_iter().filter(|a| a.is_default).count();
    assert_eq!(defaults, 1, "deleting the default promotes another");
    b.add_address(&me, &draft("空出的位置")).await.unwrap();
}
