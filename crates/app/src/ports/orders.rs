//! Orders and their history.

use crate::StoreError;
use async_trait::async_trait;
use domain::application::{Business, SubjectKind};
use domain::pricing::{Delivery, FeeBreakdown};
use domain::{Actor, ApplicationId, Money, OrderId, OrderStatus, UserId};
use time::OffsetDateTime;

/// An order to create, with every snapshot it shows later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrder {
    pub order_no: String,
    pub user_id: UserId,
    pub application_id: ApplicationId,
    pub idempotency_key: String,
    /// Digest of what was submitted, to tell a retry from a different request with a reused key.
    pub request_hash: String,
    pub subject_kind: SubjectKind,
    pub business: Business,
    pub subject_index: String,
    /// Company name, or the person's name.
    pub subject_name: String,
    pub package_name: String,
    pub delivery: Delivery,
    /// Courier: recipient, phone and address as one line.
    pub ship_to: Option<String>,
    /// Courier to an address typed in 确认订单: added to the address book in the order's own
    /// transaction (at most `MAX_ADDRESSES_PER_USER`, else `StoreError::Limit("addresses")`).
    pub new_address: Option<domain::Address>,
    /// Pickup: the point's name, address, phone and hours as one block.
    pub pickup_point: Option<String>,
    pub invoice: Option<OrderInvoice>,
    pub fees: FeeBreakdown,
    /// Needs the reviewer's attention (e.g. a credit code that fails its checksum).
    pub flagged: bool,
}

/// The invoice request as stored on an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderInvoice {
    pub kind: String,
    pub title: String,
    pub taxpayer_no: Option<String>,
    pub address_phone: Option<String>,
    pub bank_account: Option<String>,
    pub delivery: String,
    pub email: Option<String>,
    pub ship_to: Option<String>,
}

/// An order as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRecord {
    pub id: OrderId,
    pub status: OrderStatus,
    pub created_at: OffsetDateTime,
    pub order: NewOrder,
}

/// What a list of orders shows of each (我的订单): read without the invoice and delivery columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderSummary {
    pub id: OrderId,
    pub order_no: String,
    pub status: OrderStatus,
    pub subject_kind: SubjectKind,
    pub business: Business,
    pub subject_name: String,
    pub package_name: String,
    pub total: Money,
    pub created_at: OffsetDateTime,
}

impl OrderRecord {
    /// What a list shows of this order.
    pub fn summary(&self) -> OrderSummary {
        let o = &self.order;
        OrderSummary {
            id: self.id,
            order_no: o.order_no.clone(),
            status: self.status,
            subject_kind: o.subject_kind,
            business: o.business,
            subject_name: o.subject_name.clone(),
            package_name: o.package_name.clone(),
            total: o.fees.total,
            created_at: self.created_at,
        }
    }
}

/// One row of an order's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderEventRecord {
    pub from: Option<OrderStatus>,
    pub to: OrderStatus,
    pub actor: Actor,
    pub reason: Option<String>,
    pub at: OffsetDateTime,
}

#[async_trait]
pub trait OrderRepo: Send + Sync {
    /// Inserts the order in `PendingPayment` with its first history row, in one transaction.
    /// Fails with `Duplicate("orders.idempotency")` for a reused key and
    /// `Duplicate("orders.open_subject")` when the subject already has an open order of this type.
    async fn create_order(&self, order: &NewOrder, now: OffsetDateTime) -> Result<OrderId, StoreError>;
    async fn order_by_idempotency_key(&self, user: UserId, key: &str) -> Result<Option<OrderRecord>, StoreError>;
    async fn open_order_for_subject(
        &self,
        subject_index: &str,
        business: Business,
    ) -> Result<Option<(UserId, String)>, StoreError>;
    /// The open order made from an application, with its status.
    async fn open_order_for_application(
        &self,
        application: ApplicationId,
    ) -> Result<Option<(OrderId, OrderStatus)>, StoreError>;
    /// Refreshes the subject name shown on an order after the applicant edited a rejected one.
    async fn set_order_subject_name(
        &self,
        id: OrderId,
        subject_name: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// Newest first.
    async fn orders(&self, user: UserId) -> Result<Vec<OrderRecord>, StoreError>;
    /// The same orders, newest first, as a list shows them.
    async fn order_summaries(&self, user: UserId) -> Result<Vec<OrderSummary>, StoreError>;
    /// Moves the order from `from` to `to` only if it is still in `from`, and records the history
    /// row, in one transaction. `false` when the order was no longer in `from`.
    async fn transition_order(
        &self,
        id: OrderId,
        from: OrderStatus,
        to: OrderStatus,
        actor: Actor,
        reason: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// How many orders are in each state.
    async fn order_counts(&self) -> Result<Vec<(OrderStatus, i64)>, StoreError>;
    /// Orders still in `PendingPayment` that were created before `before`.
    async fn unpaid_orders_created_before(&self, before: OffsetDateTime) -> Result<Vec<OrderId>, StoreError>;
    /// Orders meeting every criterion given, newest first, at most `limit`.
    async fn search_orders(&self, search: &OrderSearch, limit: i64) -> Result<Vec<OrderRecord>, StoreError>;
}

/// One order read by id: its owner's view, any order for jobs and notifications, and its history.
#[async_trait]
pub trait OrderBook: Send + Sync {
    async fn order(&self, user: UserId, id: OrderId) -> Result<Option<OrderRecord>, StoreError>;
    /// Any order, whoever owns it (payment notifications and jobs; never for a user's request).
    async fn order_by_id(&self, id: OrderId) -> Result<Option<OrderRecord>, StoreError>;
    /// Oldest first.
    async fn order_events(&self, id: OrderId) -> Result<Vec<OrderEventRecord>, StoreError>;
}

/// What staff look an order up by; every criterion given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderSearch {
    /// Matched exactly against the order number, the account's phone and both trade numbers
    /// (ours and the gateway's), or as part of the subject's name.
    pub text: Option<String>,
    /// Subject indexes the text stands for (a credit code or an ID number, blind-indexed).
    pub subject_indexes: Vec<String>,
    /// Created at or after.
    pub from: Option<OffsetDateTime>,
    /// Created before.
    pub to: Option<OffsetDateTime>,
    pub status: Option<OrderStatus>,
}
