//! Producing, shipping and handing over keys.

use super::notifications::NewNotification;
use super::orders::OrderRecord;
use super::staff::AuditEntry;
use crate::StoreError;
use async_trait::async_trait;
use domain::{Actor, OrderId, OrderStatus, StaffId};
use time::OffsetDateTime;

/// What fulfilment recorded about an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FulfilmentRecord {
    pub order_id: OrderId,
    pub key: domain::fulfilment::KeyRecord,
    pub produced_by: Option<StaffId>,
    pub produced_at: OffsetDateTime,
    pub courier: Option<String>,
    pub tracking_no: Option<String>,
    pub shipped_at: Option<OffsetDateTime>,
    /// Sealed.
    pub pickup_code: Option<String>,
    pub ready_at: Option<OffsetDateTime>,
    pub completed_at: Option<OffsetDateTime>,
}

/// What a dispatch step changes beside the order's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DispatchChange {
    Shipped { courier: String, tracking_no: String },
    ReadyForPickup { sealed_code: String },
    Completed,
}

/// One fulfilment step, written whole: state change, history row, fulfilment row, audit entry.
#[derive(Debug, Clone)]
pub struct Dispatch<'a> {
    pub id: OrderId,
    pub from: OrderStatus,
    pub to: OrderStatus,
    pub actor: Actor,
    pub reason: &'a str,
    pub change: DispatchChange,
    pub audit: Option<&'a AuditEntry>,
    /// Messages to the applicant, enqueued in the same transaction.
    pub notify: &'a [NewNotification],
    pub now: OffsetDateTime,
}

#[async_trait]
pub trait FulfilmentRepo: Send + Sync {
    /// Records (or corrects) the produced key while the order is 待处理; `false` otherwise.
    async fn save_key(
        &self,
        id: OrderId,
        key: &domain::fulfilment::KeyRecord,
        staff: StaffId,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    async fn fulfilment(&self, id: OrderId) -> Result<Option<FulfilmentRecord>, StoreError>;
    /// `false` when the order was no longer in `from` (nothing is written).
    async fn dispatch(&self, step: &Dispatch<'_>) -> Result<bool, StoreError>;
    /// Orders in 待处理 and orders waiting at a pickup point, oldest first.
    async fn fulfilment_queue(&self) -> Result<Vec<OrderRecord>, StoreError>;
    /// Couriered orders in 待收货 shipped before `before`.
    async fn shipped_before(&self, before: OffsetDateTime) -> Result<Vec<OrderId>, StoreError>;
}
