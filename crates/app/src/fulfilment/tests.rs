//! Delivering a produced key, against in-memory fakes: nothing leaves before its key is
//! recorded, the user PIN only once the key is in the applicant's hands, the pickup code checked
//! and seen by its owner only, couriered orders completed by the applicant or after the period.

use domain::UserId;
use domain::pricing::Delivery;
use domain::staff::{Role, Roles};

use super::*;
use crate::Policy;
use crate::fakes::{self, Desk};
use crate::ports::KeyPins;

fn staff() -> CurrentStaff {
    fakes::staff(5, &[Role::Fulfilment])
}

fn key() -> KeyDraft {
    KeyDraft {
        key_type: "main".into(),
        serial: "5A3C0001".into(),
        valid_from: "2026-12-03".into(),
        valid_to: "2027-12-02".into(),
    }
}

/// A paid, approved order delivered by `delivery`, whose key a station made with user PIN 246810.
async fn approved(delivery: Delivery) -> Desk {
    let desk = Desk::new(&Policy::default());
    desk.books.set_delivery(desk.order, delivery);
    desk.pay().await;
    desk.books.set_status(desk.order, OrderStatus::Processing, desk.clock.now());
    desk.books.add_key_pins(KeyPins {
        order_id: desk.order,
        token_serial: "token-1".into(),
        user_pin_sealed: desk.keys.seal(crate::station::USER_PIN, "246810").unwrap(),
        so_pin_sealed: String::new(),
        stored_at: desk.clock.now(),
    });
    desk
}

fn pin_sent(desk: &Desk) -> bool {
    desk.books.queued_bodies().iter().any(|body| body.contains("246810"))
}

#[tokio::test]
async fn nothing_ships_before_its_key_is_recorded_and_only_by_its_delivery() {
    let desk = approved(Delivery::Courier).await;
    let err = desk.fulfilment.ship(&staff(), desk.order, "顺丰速运", "SF1234567890").await.unwrap_err();
    assert!(matches!(err, Error::Conflict { code: "key_not_recorded", .. }), "{err:?}");
    desk.fulfilment.record_key(&staff(), desk.order, &key()).await.unwrap();
    let err = desk.fulfilment.ready_for_pickup(&staff(), desk.order).await.unwrap_err();
    assert!(matches!(err, Error::Conflict { code: "delivery_mismatch", .. }), "{err:?}");
    let reviewer = CurrentStaff { roles: Roles::of(&[Role::Reviewer]), ..staff() };
    let err = desk.fulfilment.ship(&reviewer, desk.order, "顺丰速运", "SF1234567890").await.unwrap_err();
    assert!(matches!(err, Error::Forbidden), "{err:?}");
    assert_eq!(desk.books.status(desk.order), Some(OrderStatus::Processing));
    assert_eq!(desk.books.audited(), ["order.key_recorded"]);
}

#[tokio::test]
async fn a_shipped_key_gets_its_pin_only_when_the_applicant_confirms_receipt() {
    let desk = approved(Delivery::Courier).await;
    desk.fulfilment.record_key(&staff(), desk.order, &key()).await.unwrap();
    desk.fulfilment.ship(&staff(), desk.order, "顺丰速运", "SF1234567890").await.unwrap();
    assert_eq!(desk.books.status(desk.order), Some(OrderStatus::Delivering));
    assert_eq!(desk.books.fulfilment_of(desk.order).unwrap().tracking_no.as_deref(), Some("SF1234567890"));
    assert!(!pin_sent(&desk), "a key lost on the way is useless to a finder");
    let err = desk.fulfilment.ship(&staff(), desk.order, "顺丰速运", "SF1234567890").await.unwrap_err();
    assert!(matches!(err, Error::Conflict { .. }), "shipped once: {err:?}");

    let stranger = CurrentUser { id: UserId(99), ..desk.user.clone() };
    let err = desk.fulfilment.confirm_receipt(&stranger, desk.order).await.unwrap_err();
    assert!(matches!(err, Error::NotFound), "{err:?}");
    let view = desk.fulfilment.confirm_receipt(&desk.user, desk.order).await.unwrap();
    assert_eq!(view.record.status, OrderStatus::Completed);
    assert!(pin_sent(&desk));
}

#[tokio::test]
async fn a_couriered_order_completes_by_itself_after_the_period() {
    let desk = approved(Delivery::Courier).await;
    desk.fulfilment.record_key(&staff(), desk.order, &key()).await.unwrap();
    desk.fulfilment.ship(&staff(), desk.order, "顺丰速运", "SF1234567890").await.unwrap();
    desk.clock.advance(Policy::default().auto_complete_after - time::Duration::hours(1));
    assert_eq!(desk.fulfilment.auto_complete_orders().await.unwrap(), 0, "not yet");
    desk.clock.advance(time::Duration::hours(2));
    assert_eq!(desk.fulfilment.auto_complete_orders().await.unwrap(), 1);
    assert_eq!(desk.books.status(desk.order), Some(OrderStatus::Completed));
    assert!(pin_sent(&desk));
    assert_eq!(desk.fulfilment.auto_complete_orders().await.unwrap(), 0, "once");
}

#[tokio::test]
async fn a_pickup_is_handed_over_against_the_code_only_its_owner_sees() {
    let desk = approved(Delivery::Pickup).await;
    desk.fulfilment.record_key(&staff(), desk.order, &key()).await.unwrap();
    desk.fulfilment.ready_for_pickup(&staff(), desk.order).await.unwrap();
    assert_eq!(desk.books.status(desk.order), Some(OrderStatus::Delivering));
    let code = desk.fulfilment.delivery_view(&desk.user, desk.order).await.unwrap().pickup_code.unwrap();
    assert_eq!(code.len(), 6);
    assert!(desk.books.queued_bodies().iter().any(|b| b.contains(&code)), "the code goes to the applicant");
    let sealed = desk.books.fulfilment_of(desk.order).unwrap().pickup_code.unwrap();
    assert!(!sealed.contains(&code), "stored sealed");
    let stranger = CurrentUser { id: UserId(99), ..desk.user.clone() };
    assert!(desk.fulfilment.delivery_view(&stranger, desk.order).await.is_err());

    let wrong = if code == "000000" { "111111" } else { "000000" };
    let err = desk.fulfilment.hand_over(&staff(), desk.order, wrong).await.unwrap_err();
    assert!(matches!(err, Error::Validation(_)), "{err:?}");
    assert_eq!(desk.books.status(desk.order), Some(OrderStatus::Delivering));
    assert!(!pin_sent(&desk));
    desk.fulfilment.hand_over(&staff(), desk.order, &format!(" {code} ")).await.unwrap();
    assert_eq!(desk.books.status(desk.order), Some(OrderStatus::Completed));
    assert!(pin_sent(&desk));
    assert_eq!(
        desk.books.audited(),
        ["order.key_recorded", "order.ready_for_pickup", "order.handover_refused", "order.hand_over"]
    );
    assert_eq!(desk.fulfilment.delivery_view(&desk.user, desk.order).await.unwrap().pickup_code, None, "used up");
}

#[tokio::test]
async fn a_key_is_recorded_only_for_an_order_being_produced_and_only_when_valid() {
    let desk = Desk::new(&Policy::default());
    let err = desk.fulfilment.record_key(&staff(), desk.order, &key()).await.unwrap_err();
    assert!(matches!(err, Error::Conflict { code: "order_state_conflict", .. }), "unpaid: {err:?}");
    let desk = approved(Delivery::Courier).await;
    let backwards = KeyDraft { valid_to: "2026-01-01".into(), ..key() };
    let err = desk.fulfilment.record_key(&staff(), desk.order, &backwards).await.unwrap_err();
    assert!(matches!(err, Error::Validation(_)), "{err:?}");
    assert!(desk.books.fulfilment_of(desk.order).is_none());
}
