//! Reviewing an order's materials.

use super::notifications::NewNotification;
use super::orders::OrderRecord;
use super::staff::AuditEntry;
use crate::StoreError;
use async_trait::async_trait;
use domain::{OrderId, OrderStatus, StaffId};
use time::OffsetDateTime;

/// A reviewer's decision, written whole or not at all.
#[derive(Debug, Clone)]
pub struct ReviewDecision<'a> {
    pub id: OrderId,
    pub from: OrderStatus,
    pub to: OrderStatus,
    /// Must hold the claim.
    pub staff: StaffId,
    /// Shown to the applicant on the order's timeline.
    pub reason: Option<&'a str>,
    /// (kind, sha256) of the approved documents; replaces earlier pins.
    pub pins: &'a [(String, String)],
    pub audit: &'a AuditEntry,
    /// Messages to the applicant, enqueued in the same transaction.
    pub notify: &'a [NewNotification],
}

/// Review state of orders.
#[async_trait]
pub trait ReviewRepo: Send + Sync {
    /// Orders in 审核中, oldest first, with who has claimed them (and since when).
    async fn review_queue(&self) -> Result<Vec<(OrderRecord, Option<StaffId>, Option<OffsetDateTime>)>, StoreError>;
    /// Claims an order in 审核中 for `staff`, unless someone else claimed it after `stale_before`.
    /// `false` when it is not in review or is someone else's.
    async fn claim_order(
        &self,
        id: OrderId,
        staff: StaffId,
        stale_before: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// Who has claimed the order, if anyone.
    async fn order_claim(&self, id: OrderId) -> Result<Option<(StaffId, OffsetDateTime)>, StoreError>;
    /// In one transaction: moves the order from `from` to `to` if `staff` holds the claim, records
    /// the history row (actor: reviewer), pins the approved documents, releases the claim and
    /// appends the audit entry. `false` when the order moved or the claim is not theirs.
    async fn decide_review(&self, decision: &ReviewDecision<'_>) -> Result<bool, StoreError>;
    /// The document versions approved for an order: (kind, sha256).
    async fn review_pins(&self, id: OrderId) -> Result<Vec<(String, String)>, StoreError>;
}
