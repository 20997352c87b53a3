//! The order's life (manual §3.2.4–3.3, PRODUCT 6): which states exist, which events move an
//! order between them, and who may cause each event. Anything else is an error, never a silent
//! change; the caller records every accepted transition with its history row in one transaction.

use crate::named_enum;
use serde::{Deserialize, Serialize};

named_enum! {
    /// Where an order stands, as the applicant sees it.
    pub enum OrderStatus {
        PendingPayment => ("pending_payment", "待支付"),
        UnderReview => ("under_review", "审核中"),
        Rejected => ("rejected", "审核不通过"),
        /// Approved, key being produced.
        Processing => ("processing", "待处理"),
        /// Shipped, or ready for pickup (待自提).
        Delivering => ("delivering", "待收货"),
        Completed => ("completed", "已完成"),
        Cancelled => ("cancelled", "已取消"),
        Refunded => ("refunded", "已退款"),
    }
}

impl OrderStatus {
    /// Position on the main path; review and its rework loop share a step.
    pub fn step(self) -> u8 {
        match self {
            Self::PendingPayment => 0,
            Self::UnderReview | Self::Rejected => 1,
            Self::Processing => 2,
            Self::Delivering => 3,
            Self::Completed => 4,
            Self::Cancelled | Self::Refunded => 5,
        }
    }

    /// No event moves the order any more (a cancelled order can still be refunded).
    pub fn is_final(self) -> bool {
        matches!(self, Self::Completed | Self::Refunded)
    }

    /// Still occupies the "one open order per subject and business type" slot.
    pub fn is_open(self) -> bool {
        !matches!(self, Self::Completed | Self::Cancelled | Self::Refunded)
    }
}

named_enum! {
    /// Who caused an event.
    pub enum Actor {
        Applicant => ("applicant", "申请人"),
        Reviewer => ("reviewer", "审核人员"),
        Fulfilment => ("fulfilment", "制证发货人员"),
        Finance => ("finance", "财务人员"),
        /// A verified payment notification or an active query of the gateway.
        PaymentGateway => ("payment_gateway", "支付平台"),
        /// A background job (auto-cancel, auto-complete).
        System => ("system", "系统"),
    }
}

/// Something that happens to an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderEvent {
    Paid,
    Cancel,
    Approve,
    Reject,
    Resubmit,
    Ship,
    ReadyForPickup,
    ConfirmReceipt,
    HandOver,
    AutoComplete,
    Refund,
}

impl OrderEvent {
    pub const ALL: [Self; 11] = [
        Self::Paid,
        Self::Cancel,
        Self::Approve,
        Self::Reject,
        Self::Resubmit,
        Self::Ship,
        Self::ReadyForPickup,
        Self::ConfirmReceipt,
        Self::HandOver,
        Self::AutoComplete,
        Self::Refund,
    ];

    /// Who may cause this event.
    pub fn allowed_actors(self) -> &'static [Actor] {
        use Actor::{Applicant, Finance, Fulfilment, PaymentGateway, Reviewer, System};
        match self {
            Self::Paid => &[PaymentGateway],
            Self::Cancel => &[Applicant, System],
            Self::Approve | Self::Reject => &[Reviewer],
            Self::Resubmit | Self::ConfirmReceipt => &[Applicant],
            Self::Ship | Self::ReadyForPickup | Self::HandOver => &[Fulfilment],
            Self::AutoComplete => &[System],
            Self::Refund => &[Finance, System],
        }
    }
}

/// Why a transition was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("{event:?} is not possible while the order is {from:?}")]
    NotFromHere { from: OrderStatus, event: OrderEvent },
    #[error("{actor:?} may not cause {event:?}")]
    NotYours { actor: Actor, event: OrderEvent },
}

impl TransitionError {
    /// The applicant-facing explanation.
    pub fn message(self) -> String {
        match self {
            Self::NotFromHere { from, .. } => format!("订单当前状态为“{}”，不能进行此操作", from.label()),
            Self::NotYours { .. } => "您无权对该订单进行此操作".into(),
        }
    }
}

/// The state after `event` caused by `actor`, or why not.
pub fn transition(from: OrderStatus, event: OrderEvent, actor: Actor) -> Result<OrderStatus, TransitionError> {
    use OrderEvent as E;
    use OrderStatus as S;
    if !event.allowed_actors().contains(&actor) {
        return Err(TransitionError::NotYours { actor, event });
    }
    // One arm per edge of the diagram reads better than merged arms.
    #[allow(clippy::match_same_arms)]
    let to = match (from, event) {
        (S::PendingPayment, E::Paid) => S::UnderReview,
        (S::PendingPayment, E::Cancel) => S::Cancelled,
        (S::UnderReview, E::Approve) => S::Processing,
        (S::UnderReview, E::Reject) => S::Rejected,
        (S::Rejected, E::Resubmit) => S::UnderReview,
        (S::Processing, E::Ship | E::ReadyForPickup) => S::Delivering,
        (S::Delivering, E::ConfirmReceipt | E::HandOver | E::AutoComplete) => S::Completed,
        // Paid money goes back: after a rejection the applicant gives up, before production
        // starts, or a payment that arrived for an order already cancelled.
        (S::UnderReview | S::Rejected | S::Processing | S::Cancelled, E::Refund) => S::Refunded,
        _ => return Err(TransitionError::NotFromHere { from, event }),
    };
    Ok(to)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn any_actor_for(event: OrderEvent) -> Actor {
        event.allowed_actors()[0]
    }

    #[test]
    fn the_happy_paths() {
        let mut s = OrderStatus::PendingPayment;
        for (event, actor) in [
            (OrderEvent::Paid, Actor::PaymentGateway),
            (OrderEvent::Reject, Actor::Reviewer),
            (OrderEvent::Resubmit, Actor::Applicant),
            (OrderEvent::Approve, Actor::Reviewer),
            (OrderEvent::ReadyForPickup, Actor::Fulfilment),
            (OrderEvent::HandOver, Actor::Fulfilment),
        ] {
            s = transition(s, event, actor).unwrap();
        }
        assert_eq!(s, OrderStatus::Completed);
    }

    #[test]
    fn skipping_steps_is_refused() {
        let err = transition(OrderStatus::PendingPayment, OrderEvent::Approve, Actor::Reviewer).unwrap_err();
        assert_eq!(err, TransitionError::NotFromHere { from: OrderStatus::PendingPayment, event: OrderEvent::Approve });
        assert_eq!(err.message(), "订单当前状态为“待支付”，不能进行此操作");
        assert!(transition(OrderStatus::UnderReview, OrderEvent::Ship, Actor::Fulfilment).is_err());
        assert!(transition(OrderStatus::Completed, OrderEvent::Refund, Actor::Finance).is_err());
        assert!(
            transition(OrderStatus::UnderReview, OrderEvent::Cancel, Actor::Applicant).is_err(),
            "a paid order is refunded, not cancelled"
        );
    }

    #[test]
    fn only_the_right_actor_may_cause_an_event() {
        assert_eq!(
            transition(OrderStatus::PendingPayment, OrderEvent::Paid, Actor::Applicant).unwrap_err(),
            TransitionError::NotYours { actor: Actor::Applicant, event: OrderEvent::Paid },
            "the return page alone never marks an order paid"
        );
        assert!(transition(OrderStatus::UnderReview, OrderEvent::Approve, Actor::Applicant).is_err());
        assert!(transition(OrderStatus::UnderReview, OrderEvent::Approve, Actor::Fulfilment).is_err());
    }

    #[test]
    fn names_round_trip() {
        for s in OrderStatus::ALL {
            assert_eq!(OrderStatus::parse(s.as_str()), Some(*s));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(10_000))]
        /// Over random event sequences the order never skips a step, never moves backwards except
        /// through the review/rework loop, and stays put after a final state.
        #[test]
        fn state_only_moves_forward_one_step(events in proptest::collection::vec((0usize..11, 0usize..6), 0..40)) {
            let actors = [Actor::Applicant, Actor::Reviewer, Actor::Fulfilment, Actor::Finance, Actor::PaymentGateway, Actor::System];
            let mut state = OrderStatus::PendingPayment;
            for (e, a) in events {
                let event = OrderEvent::ALL[e];
                let actor = if a == 0 { any_actor_for(event) } else { actors[a] };
                if let Ok(next) = transition(state, event, actor) {
                    prop_assert!(!state.is_final(), "{:?} left final state {:?}", event, state);
                    let rework = matches!((state, next), (OrderStatus::UnderReview, OrderStatus::Rejected) | (OrderStatus::Rejected, OrderStatus::UnderReview));
                    let to_end = matches!(next, OrderStatus::Cancelled | OrderStatus::Refunded);
                    prop_assert!(rework || to_end || next.step() == state.step() + 1, "{:?} -> {:?}", state, next);
                    prop_assert!(event.allowed_actors().contains(&actor));
                    state = next;
                }
            }
        }
    }
}
