//! Ports: what the use cases need from the outside world, as traits. Adapters live in other
//! crates (`store` for the database and the dev outbox; SMTP and SMS gateways come later).

use async_trait::async_trait;
use domain::application::{Business, ReplacementReason, SubjectKind, UserType};
use domain::invoice::InvoiceFormat;
use domain::pricing::{Delivery, FeeBreakdown};
use domain::pricing::{Fees, KeyType};
use domain::{
    Actor, Address, AddressId, ApplicationId, Email, Money, NotificationId, OrderId, OrderStatus, PackageId, PaymentId,
    Phone, RefundId, SmsPurpose, StaffId, UserId,
};
use time::OffsetDateTime;

use crate::StoreError;

/// An applicant account as stored.
#[derive(Debug, Clone)]
pub struct UserRecord {
    pub id: UserId,
    pub phone: Phone,
    pub password_hash: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub created_at: OffsetDateTime,
}

/// A logged-in session; the token itself is never stored, only its digest.
#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub token_digest: String,
    pub user_id: UserId,
    pub created_at: OffsetDateTime,
    pub last_seen_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// An issued SMS code; only its keyed MAC is stored.
#[derive(Debug, Clone)]
pub struct SmsCodeRecord {
    pub id: i64,
    pub code_mac: String,
    pub expires_at: OffsetDateTime,
    pub wrong_guesses: i64,
}

/// A new SMS code to store.
#[derive(Debug, Clone)]
pub struct NewSmsCode<'a> {
    pub phone: &'a Phone,
    pub purpose: SmsPurpose,
    pub code_mac: String,
    pub client: &'a str,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// An address-book entry as stored, with the region's name frozen at write time so it reads the
/// same even after the division table changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressRecord {
    pub id: AddressId,
    pub recipient: String,
    pub phone: String,
    pub province_code: String,
    pub city_code: String,
    pub district_code: String,
    pub region_name: String,
    pub detail: String,
    pub is_default: bool,
}

impl AddressRecord {
    /// The recipient's phone as every list shows it (`139****5678`).
    pub fn phone_masked(&self) -> String {
        domain::mask::mask_middle(&self.phone, 3, 4)
    }
}

/// A message recorded by the development outbox.
#[derive(Debug, Clone)]
pub struct DevMessage {
    pub id: i64,
    pub channel: String,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub created_at: OffsetDateTime,
}

#[async_trait]
pub trait UserRepo: Send + Sync {
    /// 注销账户, in one transaction. With `restricted_until` (the account has orders): drafts
    /// never ordered (with their documents), addresses and sessions go (the consents behind the
    /// kept documents stay); the row stays
    /// with `closed_phone` in place of the number, no password, name or email, marked closed and
    /// restricted. Without: the account and everything of it go. Returns the file keys of the
    /// documents whose rows went, for the caller to delete.
    async fn close_user(
        &self,
        id: UserId,
        closed_phone: &str,
        restricted_until: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> Result<Vec<String>, StoreError>;
    /// Fails with `StoreError::Duplicate("users.phone")` when the number is taken.
    async fn create_user(&self, phone: &Phone, password_hash: &str, now: OffsetDateTime) -> Result<UserId, StoreError>;
    /// Uses SMS code `code_id` and creates the account in one transaction: both or neither
    /// (a crash in between never eats the code). `Ok(None)` when the code was used meanwhile;
    /// `Duplicate("users.phone")` (the code left unused) when the number is taken.
    async fn create_user_with_code(
        &self,
        phone: &Phone,
        password_hash: &str,
        code_id: i64,
        now: OffsetDateTime,
    ) -> Result<Option<UserId>, StoreError>;
    async fn user_by_phone(&self, phone: &Phone) -> Result<Option<UserRecord>, StoreError>;
    async fn user_by_id(&self, id: UserId) -> Result<Option<UserRecord>, StoreError>;
    async fn update_profile(
        &self,
        id: UserId,
        name: Option<&str>,
        email: Option<&Email>,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// Sets the hash and ends every session of the user except `keep` (a token digest), in one
    /// transaction.
    async fn set_password(
        &self,
        id: UserId,
        password_hash: &str,
        keep: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
}

#[async_trait]
pub trait SessionRepo: Send + Sync {
    async fn create_session(&self, session: &SessionRecord) -> Result<(), StoreError>;
    /// The session and its user, in one read; `None` when either is gone (a closed account
    /// has no sessions that count).
    async fn session_with_user(&self, digest: &str) -> Result<Option<(SessionRecord, UserRecord)>, StoreError>;
    async fn touch_session(&self, digest: &str, now: OffsetDateTime) -> Result<(), StoreError>;
    async fn delete_session(&self, digest: &str) -> Result<(), StoreError>;
}

#[async_trait]
pub trait SmsCodeRepo: Send + Sync {
    /// Stores a code and retires every earlier unused code for the same phone and purpose.
    async fn insert_sms_code(&self, code: &NewSmsCode<'_>) -> Result<(), StoreError>;
    /// The newest unused, unexpired code for phone + purpose.
    async fn active_sms_code(
        &self,
        phone: &Phone,
        purpose: SmsPurpose,
        now: OffsetDateTime,
    ) -> Result<Option<SmsCodeRecord>, StoreError>;
    /// Counts a wrong guess; at `kill_at` wrong guesses the code is retired. Returns the new count.
    async fn record_wrong_guess(&self, id: i64, kill_at: i64, now: OffsetDateTime) -> Result<i64, StoreError>;
    /// Marks the code used; `false` when it was already used (a concurrent request won).
    async fn consume_sms_code(&self, id: i64, now: OffsetDateTime) -> Result<bool, StoreError>;
    async fn sms_sends_to_phone_since(
        &self,
        phone: &Phone,
        since: OffsetDateTime,
    ) -> Result<Vec<OffsetDateTime>, StoreError>;
    async fn sms_sends_from_client_since(&self, client: &str, since: OffsetDateTime) -> Result<i64, StoreError>;
}

#[async_trait]
pub trait ThrottleRepo: Send + Sync {
    async fn record_failure(&self, key: &str, now: OffsetDateTime) -> Result<(), StoreError>;
    /// Times of failures for `key` since `since`, oldest first.
    async fn failures_since(&self, key: &str, since: OffsetDateTime) -> Result<Vec<OffsetDateTime>, StoreError>;
    async fn clear_failures(&self, key: &str) -> Result<(), StoreError>;
}

#[async_trait]
pub trait AddressRepo: Send + Sync {
    async fn list_addresses(&self, user: UserId) -> Result<Vec<AddressRecord>, StoreError>;
    async fn address(&self, user: UserId, id: AddressId) -> Result<Option<AddressRecord>, StoreError>;
    /// Adds an address; the first address of a user, or one marked default, becomes the only
    /// default. `None` when the user already has `max` addresses.
    async fn create_address(
        &self,
        user: UserId,
        address: &Address,
        max: usize,
        now: OffsetDateTime,
    ) -> Result<Option<AddressId>, StoreError>;
    /// `false` when the address does not exist or is not the user's.
    async fn update_address(
        &self,
        user: UserId,
        id: AddressId,
        address: &Address,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// Deletes; if it was the default, the newest remaining address becomes default.
    async fn delete_address(&self, user: UserId, id: AddressId) -> Result<bool, StoreError>;
    async fn set_default_address(&self, user: UserId, id: AddressId, now: OffsetDateTime) -> Result<bool, StoreError>;
}

#[async_trait]
pub trait DevOutboxRepo: Send + Sync {
    async fn record_message(
        &self,
        channel: &str,
        recipient: &str,
        subject: &str,
        body: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
    async fn recent_messages(&self, limit: i64) -> Result<Vec<DevMessage>, StoreError>;
}

/// A package of the catalog (套餐).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageRecord {
    pub id: PackageId,
    pub code: String,
    pub subject_kind: SubjectKind,
    pub key_type: KeyType,
    pub years: i64,
    pub price: Money,
    pub active: bool,
}

impl PackageRecord {
    /// `主锁 · 2年`.
    pub fn name(&self) -> String {
        format!("{} · {}年", self.key_type.label(), self.years)
    }
}

/// Where a key can be collected (自提点).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PickupPoint {
    pub id: i64,
    pub name: String,
    pub address: String,
    pub phone: String,
    pub hours: String,
}

impl PickupPoint {
    /// The seeded demonstration point, not yet replaced by an admin.
    pub fn is_demo(&self) -> bool {
        self.address.contains(DEMO_ADDRESS_MARKER)
    }
}

/// What marks demonstration data in a pickup point's address.
pub const DEMO_ADDRESS_MARKER: &str = "演示地址";

/// Everything an applicant chooses from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catalog {
    pub packages: Vec<PackageRecord>,
    pub fees: Fees,
    pub pickup_points: Vec<PickupPoint>,
}

#[async_trait]
pub trait CatalogRepo: Send + Sync {
    /// Active packages in display order, the fees and the active pickup points.
    async fn catalog(&self) -> Result<Catalog, StoreError>;
    /// Every package, offered or not, in display order (admin).
    async fn all_packages(&self) -> Result<Vec<PackageRecord>, StoreError>;
    /// A package's price and whether it is offered; `false` for an unknown package.
    async fn set_package(&self, id: PackageId, price: Money, active: bool) -> Result<bool, StoreError>;
    async fn set_fees(&self, fees: &Fees) -> Result<(), StoreError>;
    /// Every pickup point with whether it is offered (admin).
    async fn all_pickup_points(&self) -> Result<Vec<(PickupPoint, bool)>, StoreError>;
    /// Inserts (id 0) or updates a pickup point; returns its id.
    async fn save_pickup_point(&self, point: &PickupPoint, active: bool) -> Result<i64, StoreError>;
}

/// An application as stored; ID numbers only sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationRecord {
    pub id: ApplicationId,
    pub subject_kind: SubjectKind,
    pub business: Business,
    pub replacement_reason: Option<ReplacementReason>,
    pub replaced_serial: Option<String>,
    pub package_id: Option<PackageId>,
    pub company_name: Option<String>,
    pub credit_code: Option<String>,
    pub credit_code_checksum_ok: Option<bool>,
    pub user_type: Option<UserType>,
    pub holder_name: Option<String>,
    pub holder_id_sealed: Option<String>,
    pub agent_name: Option<String>,
    pub agent_id_sealed: Option<String>,
    pub agent_phone: Option<String>,
    pub agent_email: Option<String>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// The first step: what the application is about.
#[derive(Debug, Clone)]
pub struct NewApplication {
    pub subject_kind: SubjectKind,
    pub business: Business,
    pub replacement_reason: Option<ReplacementReason>,
    pub replaced_serial: Option<String>,
}

/// The certificate holder: the company and its legal representative, or the person.
#[derive(Debug, Clone)]
pub struct SubjectFields {
    pub company_name: Option<String>,
    pub credit_code: Option<String>,
    pub credit_code_checksum_ok: Option<bool>,
    pub user_type: UserType,
    pub holder_name: String,
    pub holder_id_sealed: String,
    pub holder_id_index: String,
}

/// The agent (经办人) who handles the application.
#[derive(Debug, Clone)]
pub struct AgentFields {
    pub name: String,
    pub id_sealed: String,
    pub id_index: String,
    pub phone: String,
    pub email: String,
}

/// Applications, always scoped to their owner: another user's id behaves as unknown.
#[async_trait]
pub trait ApplicationRepo: Send + Sync {
    async fn create_application(
        &self,
        user: UserId,
        new: &NewApplication,
        now: OffsetDateTime,
    ) -> Result<ApplicationId, StoreError>;
    /// Newest first.
    async fn applications(&self, user: UserId) -> Result<Vec<ApplicationRecord>, StoreError>;
    async fn application(&self, user: UserId, id: ApplicationId) -> Result<Option<ApplicationRecord>, StoreError>;
    async fn set_application_package(
        &self,
        user: UserId,
        id: ApplicationId,
        package: PackageId,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    async fn set_application_subject(
        &self,
        user: UserId,
        id: ApplicationId,
        subject: &SubjectFields,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    async fn set_application_agent(
        &self,
        user: UserId,
        id: ApplicationId,
        agent: &AgentFields,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    async fn delete_application(&self, user: UserId, id: ApplicationId) -> Result<bool, StoreError>;
    /// Drafts never turned into an order and untouched since `before`: `(owner, id, file keys)`.
    async fn abandoned_drafts(
        &self,
        before: OffsetDateTime,
    ) -> Result<Vec<(UserId, ApplicationId, Vec<String>)>, StoreError>;
}

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
    async fn order(&self, user: UserId, id: OrderId) -> Result<Option<OrderRecord>, StoreError>;
    /// Any order, whoever owns it (payment notifications and jobs; never for a user's request).
    async fn order_by_id(&self, id: OrderId) -> Result<Option<OrderRecord>, StoreError>;
    /// Oldest first.
    async fn order_events(&self, id: OrderId) -> Result<Vec<OrderEventRecord>, StoreError>;
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

/// A stored document of an application; the blob itself is encrypted in the file store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentRecord {
    pub application_id: ApplicationId,
    pub kind: domain::document::DocumentKind,
    /// Server-chosen name of the encrypted blob in the file store.
    pub file_key: String,
    /// The blob's data key, sealed under the master key.
    pub wrapped_key: String,
    pub content_type: String,
    pub size: i64,
    /// SHA-256 of the plaintext, hex (pins what a reviewer approved).
    pub sha256: String,
    pub uploaded_at: OffsetDateTime,
}

/// Documents of applications, scoped to the owner.
#[async_trait]
pub trait DocumentRepo: Send + Sync {
    /// Every file key a row refers to (documents, invoices, blank form templates).
    async fn referenced_file_keys(&self) -> Result<std::collections::HashSet<String>, StoreError>;
    /// Stores or replaces the document of this kind; returns the file key it replaced.
    async fn put_document(&self, user: UserId, doc: &DocumentRecord) -> Result<Option<String>, StoreError>;
    async fn documents(&self, user: UserId, application: ApplicationId) -> Result<Vec<DocumentRecord>, StoreError>;
    async fn document(
        &self,
        user: UserId,
        application: ApplicationId,
        kind: domain::document::DocumentKind,
    ) -> Result<Option<DocumentRecord>, StoreError>;
    /// Returns the removed document's file key.
    async fn delete_document(
        &self,
        user: UserId,
        application: ApplicationId,
        kind: domain::document::DocumentKind,
    ) -> Result<Option<String>, StoreError>;
}

/// Separate consents to processing sensitive personal information; rows are never changed.
#[async_trait]
pub trait ConsentRepo: Send + Sync {
    async fn record_consent(
        &self,
        user: UserId,
        version: &str,
        text_sha256: &str,
        purposes: &str,
        client: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
    async fn has_consent(&self, user: UserId, version: &str) -> Result<bool, StoreError>;
}

/// Blob storage (local directory by default). Keys are generated by us, never taken from users.
#[async_trait]
pub trait FileStore: Send + Sync {
    /// Writes durably (temporary file, fsync, rename) before returning.
    async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), StoreError>;
    async fn get(&self, key: &str) -> Result<Vec<u8>, StoreError>;
    async fn delete(&self, key: &str) -> Result<(), StoreError>;
    /// Everything stored, with when it was last written: blobs under their keys, and the
    /// temporary files a crash mid-write left behind.
    async fn list(&self) -> Result<Vec<StoredFile>, StoreError>;
    /// Removes a temporary file [`FileStore::list`] reported.
    async fn delete_temporary(&self, name: &str) -> Result<(), StoreError>;
}

/// A payment received or a refund made, as the takings report lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoneyMovement {
    pub at: OffsetDateTime,
    /// `false`: received; `true`: refunded.
    pub refund: bool,
    pub order_no: String,
    pub channel: String,
    pub out_trade_no: String,
    pub trade_no: Option<String>,
    pub amount: domain::Money,
}

/// One entry of a file store's listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFile {
    /// The blob's key, or the temporary file's name.
    pub name: String,
    pub modified: OffsetDateTime,
    /// A write that never finished (never a blob).
    pub temporary: bool,
}

/// Everything the use cases need from the database.
#[async_trait]
pub trait Store:
    UserRepo
    + SessionRepo
    + SmsCodeRepo
    + ThrottleRepo
    + AddressRepo
    + DevOutboxRepo
    + CatalogRepo
    + ApplicationRepo
    + OrderRepo
    + DocumentRepo
    + ConsentRepo
    + PaymentRepo
    + StaffRepo
    + ReviewRepo
    + FulfilmentRepo
    + NotificationRepo
    + InvoiceRepo
    + ReadingRepo
    + TemplateRepo
    + CertificateRepo
    + StationRepo
    + SealRepo
{
    async fn ping(&self) -> Result<(), StoreError>;
    /// Takes the cluster-wide lease `name` for `holder` until `now + ttl`, unless another holder
    /// has it and it has not run out. `true` when taken.
    async fn take_lease(
        &self,
        name: &str,
        holder: &str,
        now: OffsetDateTime,
        ttl: time::Duration,
    ) -> Result<bool, StoreError>;
    /// Removes expired sessions, old codes and old throttle records.
    async fn purge_expired(&self, now: OffsetDateTime) -> Result<u64, StoreError>;
}

/// Outbound SMS.
#[async_trait]
pub trait SmsSender: Send + Sync {
    async fn send_sms(&self, to: &Phone, text: &str) -> Result<(), StoreError>;
}

/// An email: plain text, optionally with an HTML alternative.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub to: Email,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
    pub attachments: Vec<Attachment>,
}

/// A file attached to an email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub file_name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// Outbound email.
#[async_trait]
pub trait Mailer: Send + Sync {
    async fn send_mail(&self, mail: &Mail) -> Result<(), StoreError>;
}

/// One trade at one channel for an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentRecord {
    pub id: PaymentId,
    pub order_id: OrderId,
    /// `alipay` or `cpcn`.
    pub channel: String,
    pub out_trade_no: String,
    pub amount: domain::Money,
    pub status: domain::payment::PaymentStatus,
    pub trade_no: Option<String>,
    pub created_at: OffsetDateTime,
    pub paid_at: Option<OffsetDateTime>,
}

/// A refund owed or made for a payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRecord {
    pub id: RefundId,
    pub payment_id: PaymentId,
    pub order_id: OrderId,
    pub channel: String,
    pub out_trade_no: String,
    pub out_request_no: String,
    pub amount: domain::Money,
    pub reason: String,
    pub status: domain::payment::RefundStatus,
    /// Finance staff who asked for it (`None`: the system, for money after a cancel).
    pub requested_by: Option<StaffId>,
    /// Gateway calls that failed so far, and what the last one answered.
    pub attempts: u32,
    pub last_error: Option<String>,
    /// How a failed refund was resolved outside the gateway (finance's note).
    pub resolution: Option<String>,
}

/// What applying a confirmed payment did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settlement {
    /// The order moved from 待支付 to 审核中.
    Applied,
    /// This payment was applied before (a duplicate notification, a query after a notify).
    AlreadySettled,
    /// The money arrived but the order could not take it (cancelled, or paid through another
    /// channel): a refund was recorded, to be made.
    RefundOwed(RefundRecord),
}

/// A received notification, for the finance record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeLog {
    pub channel: String,
    pub verified: bool,
    pub out_trade_no: Option<String>,
    pub outcome: String,
    /// The fields as received, without the signature.
    pub summary: String,
    pub received_at: OffsetDateTime,
}

/// Something finance must look at (a signed notification that does not match, a refund owed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinanceAlert {
    /// 0 for one not stored yet.
    pub id: i64,
    pub kind: String,
    pub order_id: Option<OrderId>,
    pub out_trade_no: Option<String>,
    pub detail: String,
    pub created_at: OffsetDateTime,
    /// How finance resolved it, once they have.
    pub resolution: Option<String>,
}

/// Payments, refunds, notifications and finance alerts.
#[async_trait]
pub trait PaymentRepo: Send + Sync {
    /// The order's trade at `channel`, created in `Pending` if there is none yet.
    async fn open_payment(
        &self,
        order: OrderId,
        channel: &str,
        out_trade_no: &str,
        amount: domain::Money,
        now: OffsetDateTime,
    ) -> Result<PaymentRecord, StoreError>;
    async fn payment_by_trade(&self, out_trade_no: &str) -> Result<Option<PaymentRecord>, StoreError>;
    async fn payments_of_order(&self, order: OrderId) -> Result<Vec<PaymentRecord>, StoreError>;
    /// In one transaction: marks the payment paid with the gateway's `trade_no` (only if it is
    /// not paid yet), then moves the order 待支付 → 审核中 with its history row, or, when the
    /// order can no longer take the money, records the one refund it is owed and an alert.
    /// `notify` is enqueued in the same transaction when (and only when) the order moves.
    async fn settle_payment(
        &self,
        payment_id: PaymentId,
        trade_no: &str,
        reason: &str,
        notify: &[NewNotification],
        now: OffsetDateTime,
    ) -> Result<Settlement, StoreError>;
    /// Pending → closed; `false` if it was not pending.
    async fn close_payment(&self, payment_id: PaymentId, now: OffsetDateTime) -> Result<bool, StoreError>;
    /// Payments still pending that were opened before `before`, oldest first.
    async fn pending_payments_before(&self, before: OffsetDateTime) -> Result<Vec<PaymentRecord>, StoreError>;
    /// Pending refunds whose next attempt is due at `now`.
    async fn pending_refunds(&self, now: OffsetDateTime) -> Result<Vec<RefundRecord>, StoreError>;
    /// A gateway call for a pending refund failed: counts it and schedules the next attempt at
    /// `retry_at`, or with `None` ends the refund as failed. `false` if it was not pending.
    async fn refund_attempt_failed(
        &self,
        refund_id: RefundId,
        error: &str,
        retry_at: Option<OffsetDateTime>,
    ) -> Result<bool, StoreError>;
    /// A failed refund goes back to pending, due at once, its attempts counted anew.
    async fn retry_refund(&self, refund_id: RefundId) -> Result<bool, StoreError>;
    /// Refunds that ended as failed, oldest first.
    async fn failed_refunds(&self) -> Result<Vec<RefundRecord>, StoreError>;
    async fn refunds_of_order(&self, order: OrderId) -> Result<Vec<RefundRecord>, StoreError>;
    /// A refund asked for by finance: pending, or awaiting a second person's approval. Fails with
    /// `Duplicate` when the payment already has its refund.
    async fn request_refund(
        &self,
        payment_id: PaymentId,
        reason: &str,
        staff: StaffId,
        needs_approval: bool,
        now: OffsetDateTime,
    ) -> Result<RefundRecord, StoreError>;
    /// Awaiting approval → pending, by someone other than the requester; `false` otherwise.
    async fn approve_refund(&self, refund_id: RefundId, staff: StaffId) -> Result<bool, StoreError>;
    /// Refunds awaiting a second approval.
    async fn refunds_awaiting_approval(&self) -> Result<Vec<RefundRecord>, StoreError>;
    /// Payments of `channel` settled in `[from, to)` (for the daily bill comparison).
    async fn payments_paid_between(
        &self,
        channel: &str,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<Vec<PaymentRecord>, StoreError>;
    /// Money in (payments settled) and out (refunds done) in `[from, to)`, oldest first.
    async fn money_movements(&self, from: OffsetDateTime, to: OffsetDateTime)
    -> Result<Vec<MoneyMovement>, StoreError>;
    /// In one transaction: the refund is done, its payment refunded, and the order (cancelled,
    /// in review, rejected or in production) becomes 已退款 with its history row. `false` if it
    /// was done already. `messages` (telling the applicant) are queued in the same transaction.
    /// A failed refund may be finished too, with `resolution` saying how the money went back.
    async fn finish_refund(
        &self,
        refund_id: RefundId,
        resolution: Option<&str>,
        messages: &[NewNotification],
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    async fn log_notice(&self, notice: &NoticeLog) -> Result<(), StoreError>;
    /// Newest first.
    async fn notices(&self, out_trade_no: Option<&str>, limit: i64) -> Result<Vec<NoticeLog>, StoreError>;
    /// How many notifications failed verification since `since`.
    async fn refused_notices_since(&self, since: OffsetDateTime) -> Result<i64, StoreError>;
    /// Marks an open alert resolved with finance's note; `false` if there is none such.
    async fn resolve_finance_alert(
        &self,
        id: i64,
        staff: StaffId,
        note: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    async fn add_finance_alert(&self, alert: &FinanceAlert) -> Result<(), StoreError>;
    /// Open ones first, newest first within each.
    async fn finance_alerts(&self, limit: i64) -> Result<Vec<FinanceAlert>, StoreError>;
    /// Takes the automatic check of `channel`'s bill for `day`: `true` when nobody has checked
    /// it and no other instance holds it (a claim older than `lease` is taken over).
    async fn claim_bill_check(
        &self,
        channel: &str,
        day: time::Date,
        now: OffsetDateTime,
        lease: time::Duration,
    ) -> Result<bool, StoreError>;
    /// Lets go of a claim whose bill could not be had yet (tried again later).
    async fn release_bill_check(&self, channel: &str, day: time::Date) -> Result<(), StoreError>;
    /// Records a finished check of the day's bill (automatic, or an upload by `staff`).
    async fn record_bill_check(&self, check: &BillCheck) -> Result<(), StoreError>;
    /// The newest finished checks, newest day first.
    async fn bill_checks(&self, limit: i64) -> Result<Vec<BillCheck>, StoreError>;
}

/// One day's bill compared with our records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillCheck {
    pub channel: String,
    pub day: time::Date,
    /// `None` when the bill was fetched from the gateway by itself.
    pub checked_by: Option<StaffId>,
    pub checked_at: OffsetDateTime,
    pub differences: i64,
}

/// A back-office account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffRecord {
    pub id: StaffId,
    pub username: String,
    pub name: String,
    /// Their own mobile number, if they also apply as a user (they may not review their orders).
    pub phone: Option<String>,
    pub password_hash: String,
    pub roles: domain::staff::Roles,
    /// The TOTP secret, sealed; `None` until enrollment starts.
    pub totp_secret: Option<String>,
    pub totp_enabled: bool,
    pub disabled: bool,
    /// Still on the printed initial password.
    pub must_change_password: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewStaff {
    pub username: String,
    pub name: String,
    pub phone: Option<String>,
    pub password_hash: String,
    pub roles: domain::staff::Roles,
}

/// A staff session: `password` until the second factor is given, then `full`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffSessionRecord {
    pub token_digest: String,
    pub staff_id: StaffId,
    pub stage: String,
    pub created_at: OffsetDateTime,
    pub last_seen_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub at: OffsetDateTime,
    pub staff_id: Option<StaffId>,
    /// `order.approve`, `order.reject`, `document.view`, `id_number.reveal`, `staff.login`, …
    pub action: String,
    pub order_id: Option<OrderId>,
    pub detail: String,
}

/// A certificate the CA issued for an order, as the desk keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateRecord {
    pub serial: String,
    pub algorithm: domain::certificate::KeyAlgorithm,
    pub order_id: OrderId,
    pub user_id: UserId,
    /// The subject as people read it (`CN=…, O=…`).
    pub subject: String,
    /// The issuing CA's name as people read it.
    pub issuer: String,
    pub credit_code: Option<String>,
    /// SHA-256 of the DER, upper-case hex.
    pub fingerprint: String,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    pub der: Vec<u8>,
    pub issued_by: Option<StaffId>,
    pub issued_at: OffsetDateTime,
    /// The certificate this one replaces (补办).
    pub replaces_serial: Option<String>,
    pub revocation: Option<Revocation>,
}

/// When, why and by whom a certificate was revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Revocation {
    pub at: OffsetDateTime,
    pub reason: domain::certificate::RevocationReason,
    pub by: Option<StaffId>,
}

/// A company certificate's revocation asked for by one staff member, waiting for another's approval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevocationRequest {
    pub serial: String,
    pub reason: domain::certificate::RevocationReason,
    pub note: String,
    pub requested_by: StaffId,
    pub requested_at: OffsetDateTime,
}

/// A certificate just issued for an order, with the produced key's record (so the order can be
/// shipped or handed over) and the audit line, to be written in one transaction.
#[derive(Debug, Clone)]
pub struct IssuedForOrder<'a> {
    pub certificate: &'a CertificateRecord,
    pub key_type: KeyType,
    /// The PINs the station initialised the key with, sealed.
    pub pins: &'a KeyPins,
    pub audit: &'a AuditEntry,
}

/// Certificates issued through the desk.
#[async_trait]
pub trait CertificateRepo: Send + Sync {
    /// Records the certificate, the produced key on the order, a history row and the audit line,
    /// while the order is 待处理 and has no certificate in force; `false` otherwise (nothing is
    /// written).
    async fn record_issued(&self, issued: &IssuedForOrder<'_>) -> Result<bool, StoreError>;
    /// Marks the certificate revoked (with the audit line, and its revocation request settled);
    /// `false` when it is unknown or already revoked.
    async fn record_revoked(
        &self,
        serial: &str,
        revocation: &Revocation,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError>;
    async fn certificate(&self, serial: &str) -> Result<Option<CertificateRecord>, StoreError>;
    /// The order's certificate not revoked, if any.
    async fn certificate_in_force(&self, order: OrderId) -> Result<Option<CertificateRecord>, StoreError>;
    /// Every certificate issued for the order, newest first.
    async fn certificates_of_order(&self, order: OrderId) -> Result<Vec<CertificateRecord>, StoreError>;
    /// The user's certificates, newest first.
    async fn certificates_of_user(&self, user: UserId) -> Result<Vec<CertificateRecord>, StoreError>;
    /// Certificates whose serial starts with, or whose credit code is, `query`, or whose subject
    /// contains it; newest first, at most `limit`.
    async fn search_certificates(&self, query: &str, limit: i64) -> Result<Vec<CertificateRecord>, StoreError>;
    /// Certificates in force ending after `from` and by `until`, soonest first, at most `limit`.
    async fn certificates_expiring(
        &self,
        from: OffsetDateTime,
        until: OffsetDateTime,
        limit: i64,
    ) -> Result<Vec<CertificateRecord>, StoreError>;
    /// Records the request (with the audit line); `false` when one is already waiting.
    async fn request_revocation(&self, request: &RevocationRequest, audit: &AuditEntry) -> Result<bool, StoreError>;
    async fn revocation_request(&self, serial: &str) -> Result<Option<RevocationRequest>, StoreError>;
    /// Every request waiting for approval, oldest first.
    async fn revocation_requests(&self) -> Result<Vec<RevocationRequest>, StoreError>;
}

/// The electronic seal made for a certificate: the signed GB/T 38540 file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealRecord {
    /// The holder certificate's serial.
    pub serial: String,
    pub es_id: String,
    pub der: Vec<u8>,
    pub created_at: OffsetDateTime,
}

/// Electronic seals, one per certificate.
#[async_trait]
pub trait SealRepo: Send + Sync {
    /// Keeps the seal unless the certificate already has one; returns the one kept (a seal made
    /// at the same moment by another request wins or loses as a whole).
    async fn record_seal(&self, seal: &SealRecord) -> Result<SealRecord, StoreError>;
    async fn seal_of_certificate(&self, serial: &str) -> Result<Option<SealRecord>, StoreError>;
    /// Records where the order's seal picture comes from (a later choice replaces it).
    async fn choose_seal_source(
        &self,
        order: OrderId,
        source: domain::seal::SealSource,
        staff: StaffId,
        at: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// The reviewer's choice, if one was made.
    async fn seal_source(&self, order: OrderId) -> Result<Option<domain::seal::SealSource>, StoreError>;
}

/// An API token a fulfilment workstation authenticates with (only its digest is kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StationTokenRecord {
    pub id: i64,
    pub staff_id: StaffId,
    pub name: String,
    pub created_at: OffsetDateTime,
    pub last_used_at: Option<OffsetDateTime>,
    pub revoked_at: Option<OffsetDateTime>,
}

/// The PINs a produced USB-Key was initialised with, sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPins {
    pub order_id: OrderId,
    pub token_serial: String,
    pub user_pin_sealed: String,
    pub so_pin_sealed: String,
    pub stored_at: OffsetDateTime,
}

/// Production stations: their API tokens and the PINs of the keys they made.
#[async_trait]
pub trait StationRepo: Send + Sync {
    async fn create_station_token(
        &self,
        staff: StaffId,
        name: &str,
        digest: &str,
        now: OffsetDateTime,
    ) -> Result<i64, StoreError>;
    /// The staff member a token not revoked belongs to (noting its use).
    async fn station_token_staff(&self, digest: &str, now: OffsetDateTime) -> Result<Option<StaffId>, StoreError>;
    async fn station_tokens(&self, staff: StaffId) -> Result<Vec<StationTokenRecord>, StoreError>;
    /// `false` when the token is not the staff member's or was already revoked.
    async fn revoke_station_token(&self, staff: StaffId, id: i64, now: OffsetDateTime) -> Result<bool, StoreError>;
    async fn key_pins(&self, order: OrderId) -> Result<Option<KeyPins>, StoreError>;
}

/// Staff accounts, sessions and the audit log.
#[async_trait]
pub trait StaffRepo: Send + Sync {
    /// Fails with `Duplicate("staff.username")`.
    async fn create_staff(&self, staff: &NewStaff, now: OffsetDateTime) -> Result<StaffId, StoreError>;
    async fn staff_by_username(&self, username: &str) -> Result<Option<StaffRecord>, StoreError>;
    async fn staff_by_id(&self, id: StaffId) -> Result<Option<StaffRecord>, StoreError>;
    async fn list_staff(&self) -> Result<Vec<StaffRecord>, StoreError>;
    /// Sets roles and whether the account may log in; disabling ends its sessions. `false` for
    /// an unknown account.
    async fn update_staff(
        &self,
        id: StaffId,
        roles: domain::staff::Roles,
        disabled: bool,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// Sets the password the holder chose (clearing the must-change mark); other sessions end.
    async fn set_staff_password(
        &self,
        id: StaffId,
        password_hash: &str,
        keep_session: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
    async fn set_staff_totp(
        &self,
        id: StaffId,
        sealed_secret: Option<&str>,
        enabled: bool,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// Records that a TOTP time step was used; `false` if it (or a later one) was used before,
    /// so no code is accepted twice.
    async fn use_totp_step(&self, id: StaffId, step: i64) -> Result<bool, StoreError>;
    async fn create_staff_session(&self, session: &StaffSessionRecord) -> Result<(), StoreError>;
    async fn staff_session(&self, digest: &str) -> Result<Option<StaffSessionRecord>, StoreError>;
    async fn touch_staff_session(&self, digest: &str, now: OffsetDateTime) -> Result<(), StoreError>;
    async fn delete_staff_session(&self, digest: &str) -> Result<(), StoreError>;
    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError>;
    /// Newest first, optionally for one order.
    async fn audit_log(&self, order: Option<OrderId>, limit: i64) -> Result<Vec<AuditEntry>, StoreError>;
}

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

/// A message to deliver later, enqueued with the state change it reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNotification {
    /// One delivery per key, however often the event is applied.
    pub dedupe_key: String,
    /// `sms` or `email`.
    pub channel: String,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub html: Option<String>,
    /// What an email carries attached, by reference (the files stay encrypted until sent):
    /// `invoice:<order id>` or `red-invoice:<order id>`.
    pub attachments: Option<String>,
}

/// A queued message, leased to a worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationRecord {
    pub id: NotificationId,
    pub dedupe_key: String,
    pub channel: String,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub html: Option<String>,
    pub attachments: Option<String>,
    pub attempts: i64,
    /// `pending`, `sent` or `failed`.
    pub status: String,
}

#[async_trait]
pub trait NotificationRepo: Send + Sync {
    /// Enqueues outside any other transaction (duplicates by key are ignored).
    async fn enqueue_notifications(&self, messages: &[NewNotification], now: OffsetDateTime) -> Result<(), StoreError>;
    /// Leases up to `limit` due messages until `now + lease`; no two workers get the same one.
    async fn claim_notifications(
        &self,
        now: OffsetDateTime,
        lease: time::Duration,
        limit: i64,
    ) -> Result<Vec<NotificationRecord>, StoreError>;
    async fn notification_sent(&self, id: NotificationId, now: OffsetDateTime) -> Result<(), StoreError>;
    /// Records a failed attempt: retried at `retry_at`, or given up when `None`.
    async fn notification_failed(
        &self,
        id: NotificationId,
        error: &str,
        retry_at: Option<OffsetDateTime>,
    ) -> Result<(), StoreError>;
    /// Newest first (finance, tests).
    async fn notifications(&self, limit: i64) -> Result<Vec<NotificationRecord>, StoreError>;
}

/// An issued e-invoice and, once its order was refunded, the red-letter invoice (红字发票) that
/// voids it; every file is encrypted in the file store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceRecord {
    pub order_id: OrderId,
    pub invoice_no: String,
    pub issued_by: Option<StaffId>,
    pub issued_at: OffsetDateTime,
    pub sent_count: i64,
    pub red: Option<RedInvoice>,
    /// The invoice's files (the PDF always) and the red-letter invoice's.
    pub files: Vec<InvoiceFile>,
}

impl InvoiceRecord {
    /// One file: of the invoice or of its red-letter invoice.
    pub fn file(&self, red: bool, format: InvoiceFormat) -> Option<&InvoiceFile> {
        self.files.iter().find(|f| f.red == red && f.format == format)
    }

    /// The formats of the invoice (`red == false`) or of its red-letter invoice, PDF first.
    pub fn formats(&self, red: bool) -> Vec<InvoiceFormat> {
        InvoiceFormat::ALL.iter().copied().filter(|f| self.file(red, *f).is_some()).collect()
    }
}

/// The red-letter invoice recorded against an invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedInvoice {
    pub invoice_no: String,
    pub issued_by: Option<StaffId>,
    pub issued_at: OffsetDateTime,
}

/// One file of an invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceFile {
    /// Of the red-letter invoice.
    pub red: bool,
    pub format: InvoiceFormat,
    pub file_key: String,
    pub wrapped_key: String,
    pub sha256: String,
    pub size: i64,
}

#[async_trait]
pub trait InvoiceRepo: Send + Sync {
    /// Records (or replaces, with its files) the order's invoice; a voided one stays as it is
    /// (`false`).
    async fn save_invoice(&self, invoice: &InvoiceRecord) -> Result<bool, StoreError>;
    /// Records the red-letter invoice and its files against the order's invoice, once: `false`
    /// when there is no invoice or it is already voided.
    async fn save_red_invoice(
        &self,
        order: OrderId,
        red: &RedInvoice,
        files: &[InvoiceFile],
    ) -> Result<bool, StoreError>;
    async fn invoice(&self, order: OrderId) -> Result<Option<InvoiceRecord>, StoreError>;
    /// Counts one more sending; returns the new count.
    async fn invoice_sent(&self, order: OrderId) -> Result<i64, StoreError>;
    /// Paid orders that asked for an invoice and have none yet, oldest first.
    async fn invoice_queue(&self) -> Result<Vec<OrderRecord>, StoreError>;
    /// Refunded orders whose invoice is not yet voided by a red-letter invoice, oldest first.
    async fn red_invoice_queue(&self) -> Result<Vec<OrderRecord>, StoreError>;
}

/// What OCR read from one document photo.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OcrReading {
    /// `license`, `id-front` or `id-back`.
    pub kind: String,
    pub fields: std::collections::BTreeMap<String, String>,
    pub warnings: Vec<String>,
    pub repairs: Vec<String>,
    /// Values read with low confidence or failing plausibility: shown to the applicant to check
    /// ("识别结果：…，请核对"), never prefilled. Absent in readings stored before they existed.
    #[serde(default)]
    pub suggestions: std::collections::BTreeMap<String, String>,
}

/// The OCR engine (blocking; the app runs it off the async threads, a bounded number at a time).
pub trait OcrReader: Send + Sync {
    /// Reads a photo expected to be `kind` (`license`, `id-front`, `id-back`).
    fn read(&self, image: &[u8], kind: &str) -> Result<OcrReading, String>;
}

/// OCR readings kept with the documents.
#[async_trait]
pub trait ReadingRepo: Send + Sync {
    /// Stores the sealed reading of an application's document; with `None` removes it and any
    /// job still to read it (the document is gone).
    async fn set_reading(
        &self,
        application: ApplicationId,
        kind: &str,
        sealed: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// The sealed readings of an application, by document kind.
    async fn readings(&self, application: ApplicationId) -> Result<Vec<(String, String)>, StoreError>;
    /// Queues the reading of a newly uploaded photo (its old reading is removed at once, and a
    /// reading of the photo it replaced, still under way, will be dropped).
    async fn enqueue_reading(
        &self,
        user: UserId,
        application: ApplicationId,
        kind: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// Leases up to `limit` due jobs (queued, or running past their lease) until `now + lease`.
    /// A job leased `max_attempts` times whose lease ran out is failed (`ocr_timeout`) instead.
    async fn claim_readings(
        &self,
        now: OffsetDateTime,
        lease: time::Duration,
        max_attempts: i64,
        limit: i64,
    ) -> Result<Vec<ReadingJob>, StoreError>;
    /// Ends a leased job: `Ok(sealed reading)` stores the reading, `Err(code)` records why the
    /// photo could not be read. `false` (nothing stored) when the photo was replaced meanwhile.
    async fn finish_reading(
        &self,
        job: &ReadingJob,
        outcome: Result<&str, &str>,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// Where the reading of each document of an application stands.
    async fn reading_states(&self, application: ApplicationId) -> Result<Vec<ReadingState>, StoreError>;
    /// Records, per field, whether the saved value kept what OCR read (`accepted`) or changed it
    /// (`corrected`); returns the fields whose outcome is new or changed.
    async fn set_field_sources(
        &self,
        application: ApplicationId,
        outcomes: &[(&'static str, &'static str)],
        now: OffsetDateTime,
    ) -> Result<Vec<&'static str>, StoreError>;
    /// (field, outcome) of an application's fields read from photos.
    async fn field_sources(&self, application: ApplicationId) -> Result<Vec<(String, String)>, StoreError>;
}

/// A photo to read in the background, as leased to a worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadingJob {
    pub user: UserId,
    pub application: ApplicationId,
    pub kind: String,
    /// Which upload of the document this is.
    pub version: i64,
    pub attempts: i64,
}

/// Where the reading of one document stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadingState {
    pub kind: String,
    /// `queued`, `running`, `done` or `failed`.
    pub status: String,
    /// Why it failed: `ocr_failed`, `ocr_timeout`.
    pub error: Option<String>,
}

/// An admin-uploaded blank form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormTemplate {
    pub kind: String,
    pub file_key: String,
    pub size: i64,
    pub sha256: String,
    pub uploaded_at: OffsetDateTime,
}

#[async_trait]
pub trait TemplateRepo: Send + Sync {
    /// Records the kind's template; returns the file key it replaced.
    async fn set_template(&self, template: &FormTemplate, staff: StaffId) -> Result<Option<String>, StoreError>;
    async fn template(&self, kind: &str) -> Result<Option<FormTemplate>, StoreError>;
    /// Removes the kind's template; returns its file key.
    async fn delete_template(&self, kind: &str) -> Result<Option<String>, StoreError>;
}
