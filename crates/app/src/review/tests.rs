//! Reviewers' claims and decisions, against in-memory fakes: one reviewer per order at a time,
//! a stale claim taken over, never one's own order, and what 通过 and 不通过 write.

use domain::document::DocumentKind;
use domain::staff::{Role, Roles};

use super::*;
use crate::Policy;
use crate::fakes::{self, Desk};

fn reviewer(id: i64, phone: Option<&str>) -> CurrentStaff {
    CurrentStaff { phone: phone.map(str::to_owned), ..fakes::staff(id, &[Role::Reviewer]) }
}

/// A paid order in 审核中 with its license and the holder's ID card uploaded.
async fn in_review() -> Desk {
    let desk = Desk::new(&Policy::default());
    desk.pay().await;
    desk.books.add_document(desk.order, DocumentKind::License, "aa11", desk.clock.now());
    desk.books.add_document(desk.order, DocumentKind::HolderIdFront, "bb22", desk.clock.now());
    desk
}

#[tokio::test]
async fn one_reviewer_at_a_time_until_the_claim_goes_stale() {
    let desk = in_review().await;
    let (a, b) = (reviewer(1, None), reviewer(2, None));
    desk.review.claim_review(&a, desk.order).await.unwrap();
    desk.review.claim_review(&a, desk.order).await.unwrap();
    let err = desk.review.claim_review(&b, desk.order).await.unwrap_err();
    assert!(matches!(err, Error::Conflict { code: "claimed_by_other", .. }), "{err:?}");
    let err = desk.review.approve_review(&b, desk.order).await.unwrap_err();
    assert!(matches!(err, Error::Conflict { code: "claimed_by_other", .. }), "{err:?}");
    assert_eq!(desk.books.status(desk.order), Some(OrderStatus::UnderReview));

    desk.clock.advance(CLAIM_TIMEOUT + time::Duration::seconds(1));
    desk.review.claim_review(&b, desk.order).await.unwrap();
    assert_eq!(desk.books.claim(desk.order), Some(b.id), "a claim nobody acted on is taken over");
    let err = desk.review.approve_review(&a, desk.order).await.unwrap_err();
    assert!(matches!(err, Error::Conflict { code: "claimed_by_other", .. }), "{err:?}");
}

#[tokio::test]
async fn nobody_reviews_their_own_order_and_only_reviewers_review() {
    let desk = in_review().await;
    let own = reviewer(1, Some(desk.user.phone.as_str()));
    let err = desk.review.claim_review(&own, desk.order).await.unwrap_err();
    assert!(matches!(err, Error::Conflict { code: "own_order", .. }), "{err:?}");
    let err = desk.review.approve_review(&own, desk.order).await.unwrap_err();
    assert!(matches!(err, Error::Conflict { code: "own_order", .. }), "{err:?}");

    let finance = CurrentStaff { roles: Roles::of(&[Role::Finance]), ..reviewer(2, None) };
    let err = desk.review.claim_review(&finance, desk.order).await.unwrap_err();
    assert!(matches!(err, Error::Forbidden), "{err:?}");
    assert_eq!(desk.books.claim(desk.order), None);
}

#[tokio::test]
async fn approval_pins_the_documents_the_reviewer_saw_and_tells_the_applicant_once() {
    let desk = in_review().await;
    let a = reviewer(1, None);
    desk.review.approve_review(&a, desk.order).await.unwrap();
    assert_eq!(desk.books.status(desk.order), Some(OrderStatus::Processing));
    let pins = desk.books.pins(desk.order);
    assert_eq!(pins, [("license".to_owned(), "aa11".to_owned()), ("holder_id_front".to_owned(), "bb22".to_owned())]);
    assert_eq!(desk.books.claim(desk.order), None, "the claim is released");
    assert_eq!(desk.books.audited(), ["order.claim", "order.approve"]);
    let approved: Vec<_> = desk.books.queued().into_iter().filter(|k| k.contains("approved")).collect();
    assert_eq!(approved.len(), 1);

    let err = desk.review.approve_review(&a, desk.order).await.unwrap_err();
    assert!(matches!(err, Error::Conflict { code: "not_in_review", .. }), "decided once: {err:?}");
    let err = desk.review.reject_review(&a, desk.order, &[], "照片模糊").await.unwrap_err();
    assert!(matches!(err, Error::Conflict { code: "not_in_review", .. }), "{err:?}");
}

#[tokio::test]
async fn a_rejection_needs_a_reason_and_each_one_tells_the_applicant() {
    let desk = in_review().await;
    let a = reviewer(1, None);
    let err = desk.review.reject_review(&a, desk.order, &[], "  ").await.unwrap_err();
    assert!(matches!(err, Error::Validation(_)), "{err:?}");
    let err = desk.review.reject_review(&a, desk.order, &["随便写的".into()], "").await.unwrap_err();
    assert!(matches!(err, Error::Validation(_)), "a reason not on the list: {err:?}");
    assert_eq!(desk.books.claim(desk.order), None, "an invalid decision claims nothing");

    desk.review.reject_review(&a, desk.order, &[], "营业执照照片模糊").await.unwrap();
    assert_eq!(desk.books.status(desk.order), Some(OrderStatus::Rejected));
    assert!(desk.books.pins(desk.order).is_empty(), "nothing approved, nothing pinned");

    // The applicant fixes the photo and resubmits; the second rejection is a new message.
    desk.books.set_status(desk.order, OrderStatus::UnderReview, desk.clock.now());
    desk.review.reject_review(&a, desk.order, &[], "仍然模糊").await.unwrap();
    let rejected: Vec<_> = desk.books.queued().into_iter().filter(|k| k.contains("rejected")).collect();
    assert_eq!(rejected.len(), 2, "{rejected:?}");
    assert_ne!(rejected[0], rejected[1]);
}

#[tokio::test]
async fn an_unpaid_order_cannot_be_claimed() {
    let desk = Desk::new(&Policy::default());
    let err = desk.review.claim_review(&reviewer(1, None), desk.order).await.unwrap_err();
    assert!(matches!(err, Error::Conflict { code: "not_in_review", .. }), "{err:?}");
}
