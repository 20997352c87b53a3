//! Small in-memory stand-ins for the ports, so the use cases' rules are tested in milliseconds
//! without a database. Each keeps the contract its trait documents — the store's contract suite
//! holds the real adapters to the same contract on SQLite and PostgreSQL — and nothing more.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use domain::application::{Business, SubjectKind};
use domain::document::DocumentKind;
use domain::pricing::{Delivery, FeeBreakdown, Fees};
use domain::staff::{Role, Roles};
use domain::{Actor, ApplicationId, Money, OrderId, OrderStatus, Phone, SmsPurpose, StaffId, UserId};
use time::OffsetDateTime;

use crate::clock::{Clock, ManualClock};
use crate::crypto::Keys;
use crate::finance::BillChecks;
use crate::fulfilment::{Fulfilment, FulfilmentPorts};
use crate::gateway::{
    Ack, Channel, Charge, Checkout, CloseOutcome, Decision, Gateway, GatewayError, Method, Notice, NoticeRejected,
    TradeState,
};
use crate::invoices::{InvoicePorts, Invoices};
use crate::notifications::{Announcer, Tell};
use crate::payment::{Gateways, PaymentPorts, PaymentRules, Payments};
use crate::ports::{
    AddressRecord, ApplicationRecord, AuditEntry, BillCheck, DocumentRecord, FileStore, FinanceAlert, FormTemplate,
    FulfilmentRecord, InvoiceRecord, KeyPins, Mail, Mailer, NewNotification, NewOrder, NoticeLog, NotificationRecord,
    OrderEventRecord, OrderInvoice, OrderRecord, PackageRecord, PaymentRecord, PickupPoint, RefundRecord,
    SessionRecord, SmsCodeRecord, SmsSender, StoredFile, UserRecord,
};
use crate::refunds::{RefundPorts, Refunds};
use crate::review::{Review, ReviewPorts};
use crate::sessions::CurrentUser;
use crate::staff::AuditTrail;
use crate::staff::CurrentStaff;
use crate::vault::Vault;
use crate::{Policy, StoreError};

mod accounts;
mod addresses;
mod catalog;
mod fulfilment;
mod invoices;
mod notifications;
mod orders;
mod payments;
mod review;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Orders, their trades and refunds, the notifications received and finance's alerts.
#[derive(Default)]
pub struct Books {
    state: Mutex<BooksState>,
}

/// An SMS code as issued, with what the send limits count.
struct IssuedCode {
    phone: String,
    purpose: SmsPurpose,
    record: SmsCodeRecord,
    client: String,
    sent_at: OffsetDateTime,
    used: bool,
}

#[derive(Default)]
struct BooksState {
    orders: BTreeMap<OrderId, OrderRecord>,
    events: Vec<(OrderId, OrderEventRecord)>,
    payments: Vec<PaymentRecord>,
    /// Each refund with the time its next attempt is due (once done: when it was made).
    refunds: Vec<(RefundRecord, OffsetDateTime)>,
    notices: Vec<NoticeLog>,
    alerts: Vec<FinanceAlert>,
    /// Messages queued with a state change.
    queued: Vec<NewNotification>,
    audit: Vec<AuditEntry>,
    /// Applicants' accounts.
    users: Vec<UserRecord>,
    /// Each application's documents.
    documents: Vec<DocumentRecord>,
    /// Who reviews which order, since when.
    claims: BTreeMap<OrderId, (StaffId, OffsetDateTime)>,
    /// Address books: (owner, address).
    addresses: Vec<(UserId, AddressRecord)>,
    /// Sessions by token digest.
    sessions: Vec<SessionRecord>,
    /// SMS codes issued.
    codes: Vec<IssuedCode>,
    /// Throttled failures: (key, at).
    failures: Vec<(String, OffsetDateTime)>,
    /// Bill checks claimed or done: (channel, day) → (claimed at, the finished check).
    bill_checks: BTreeMap<(Channel, time::Date), (OffsetDateTime, Option<BillCheck>)>,
    /// The catalog: packages, fees and pickup points with whether they are offered.
    packages: Vec<PackageRecord>,
    fees: Option<Fees>,
    pickup_points: Vec<(PickupPoint, bool)>,
    /// Uploaded blank forms.
    templates: Vec<FormTemplate>,
    /// Applicants' applications.
    applications: Vec<(UserId, ApplicationRecord)>,
    /// Orders' invoices.
    invoices: Vec<InvoiceRecord>,
    /// The notification queue: each message with when it is next due and until when it is leased.
    notifications: Vec<(NotificationRecord, OffsetDateTime, Option<OffsetDateTime>)>,
    /// The produced key and its delivery, per order.
    fulfilments: BTreeMap<OrderId, FulfilmentRecord>,
    /// The PINs each produced key was initialised with.
    pins: Vec<KeyPins>,
    /// The documents approved per order: (kind, sha256).
    approved: BTreeMap<OrderId, Vec<(String, String)>>,
    /// Every write fails (a database that went away).
    broken: bool,
}

impl BooksState {
    fn write(&self) -> Result<(), StoreError> {
        if self.broken { Err(StoreError::Other("the database went away".into())) } else { Ok(()) }
    }

    fn move_order(&mut self, id: OrderId, to: OrderStatus, reason: &str, now: OffsetDateTime) {
        if let Some(order) = self.orders.get_mut(&id) {
            let from = order.status;
            order.status = to;
            let event = OrderEventRecord {
                from: Some(from),
                to,
                actor: Actor::PaymentGateway,
                reason: Some(reason.into()),
                at: now,
            };
            self.events.push((id, event));
        }
    }
}

impl Books {
    /// An order of `user` waiting for payment of `total_fen`, placed at `at`.
    pub fn add_order(&self, user: UserId, total_fen: i64, at: OffsetDateTime) -> OrderId {
        let mut state = lock(&self.state);
        let id = OrderId(i64::try_from(state.orders.len()).unwrap_or(0) + 1);
        let total = Money::from_fen(total_fen).unwrap_or(Money::ZERO);
        let order = NewOrder {
            order_no: format!("SD2026120300{:04}", id.0),
            user_id: user,
            application_id: ApplicationId(id.0),
            idempotency_key: format!("key-{}", id.0),
            request_hash: String::new(),
            subject_kind: SubjectKind::Enterprise,
            business: Business::New,
            subject_index: String::new(),
            subject_name: "测试科技有限公司".into(),
            package_name: "企业证书".into(),
            delivery: Delivery::Pickup,
            ship_to: None,
            new_address: None,
            pickup_point: None,
            invoice: None,
            fees: FeeBreakdown { package: total, delivery: Money::ZERO, service: Money::ZERO, total },
            flagged: false,
        };
        state.orders.insert(id, OrderRecord { id, status: OrderStatus::PendingPayment, created_at: at, order });
        id
    }

    pub fn status(&self, id: OrderId) -> Option<OrderStatus> {
        lock(&self.state).orders.get(&id).map(|o| o.status)
    }

    /// The order asks for an electronic invoice, mailed to `email`.
    pub fn request_invoice(&self, id: OrderId, email: &str) {
        if let Some(order) = lock(&self.state).orders.get_mut(&id) {
            order.order.invoice = Some(OrderInvoice {
                kind: "normal".into(),
                title: "测试科技有限公司".into(),
                taxpayer_no: Some("91350100M000100Y43".into()),
                address_phone: None,
                bank_account: None,
                delivery: "email".into(),
                email: Some(email.into()),
                ship_to: None,
            });
        }
    }

    /// The messages in the notification queue: (dedupe key, recipient, attachment reference).
    pub fn outbox(&self) -> Vec<(String, String, Option<String>)> {
        let state = lock(&self.state);
        let queued = state.notifications.iter().map(|(n, ..)| n);
        queued.map(|n| (n.dedupe_key.clone(), n.recipient.clone(), n.attachments.clone())).collect()
    }

    /// Changes how the order is delivered (as placed at 确认订单).
    pub fn set_delivery(&self, id: OrderId, delivery: Delivery) {
        if let Some(order) = lock(&self.state).orders.get_mut(&id) {
            order.order.delivery = delivery;
        }
    }

    /// Moves an order as another capability would (the applicant cancelling, a reviewer).
    pub fn set_status(&self, id: OrderId, to: OrderStatus, at: OffsetDateTime) {
        lock(&self.state).move_order(id, to, "set by the test", at);
    }

    pub fn payments(&self) -> Vec<PaymentRecord> {
        lock(&self.state).payments.clone()
    }

    pub fn refunds(&self) -> Vec<RefundRecord> {
        lock(&self.state).refunds.iter().map(|(r, _)| r.clone()).collect()
    }

    pub fn notices(&self) -> Vec<NoticeLog> {
        lock(&self.state).notices.clone()
    }

    /// The kinds of the alerts raised, oldest first.
    pub fn alert_kinds(&self) -> Vec<String> {
        lock(&self.state).alerts.iter().map(|a| a.kind.clone()).collect()
    }

    /// The dedupe keys of the messages queued, in order.
    pub fn queued(&self) -> Vec<String> {
        lock(&self.state).queued.iter().map(|m| m.dedupe_key.clone()).collect()
    }

    /// An applicant's account with mobile number `phone`.
    pub fn add_user(&self, id: UserId, phone: &str, at: OffsetDateTime) {
        let Ok(phone) = Phone::parse(phone) else { unreachable!("a valid number") };
        let user = UserRecord { id, phone, password_hash: String::new(), name: None, email: None, created_at: at };
        lock(&self.state).users.push(user);
    }

    /// Uploads (or replaces) a document of the order's application with content digest `sha256`.
    pub fn add_document(&self, order: OrderId, kind: DocumentKind, sha256: &str, at: OffsetDateTime) {
        let mut state = lock(&self.state);
        let Some(application_id) = state.orders.get(&order).map(|o| o.order.application_id) else { return };
        state.documents.retain(|d| !(d.application_id == application_id && d.kind == kind));
        state.documents.push(DocumentRecord {
            application_id,
            kind,
            file_key: format!("{sha256}.bin"),
            wrapped_key: String::new(),
            content_type: "image/jpeg".into(),
            size: 1,
            sha256: sha256.into(),
            uploaded_at: at,
        });
    }

    /// The documents pinned when the order was approved.
    pub fn pins(&self, order: OrderId) -> Vec<(String, String)> {
        lock(&self.state).approved.get(&order).cloned().unwrap_or_default()
    }

    /// The applicant's current password hash.
    pub fn password_hash(&self, user: UserId) -> Option<String> {
        lock(&self.state).users.iter().find(|u| u.id == user).map(|u| u.password_hash.clone())
    }

    /// How many sessions the applicant has.
    pub fn session_count(&self, user: UserId) -> usize {
        lock(&self.state).sessions.iter().filter(|s| s.user_id == user).count()
    }

    /// Sets the agent's email on the order's application (the account has none).
    pub fn set_agent_email(&self, order: OrderId, email: Option<&str>, at: OffsetDateTime) {
        let mut state = lock(&self.state);
        let Some((user, id)) = state.orders.get(&order).map(|o| (o.order.user_id, o.order.application_id)) else {
            return;
        };
        state.applications.retain(|(_, a)| a.id != id);
        let application = ApplicationRecord {
            id,
            subject_kind: SubjectKind::Enterprise,
            business: Business::New,
            replacement_reason: None,
            replaced_serial: None,
            package_id: None,
            company_name: Some("测试科技有限公司".into()),
            credit_code: None,
            credit_code_checksum_ok: None,
            user_type: None,
            holder_name: None,
            holder_id_sealed: None,
            agent_name: None,
            agent_id_sealed: None,
            agent_phone: None,
            agent_email: email.map(str::to_owned),
            created_at: at,
            updated_at: at,
        };
        state.applications.push((user, application));
    }

    /// Sets the email on the applicant's account.
    pub fn set_account_email(&self, user: UserId, email: Option<&str>) {
        if let Some(account) = lock(&self.state).users.iter_mut().find(|u| u.id == user) {
            account.email = email.map(str::to_owned);
        }
    }

    /// Records an issued invoice.
    pub fn add_invoice(&self, invoice: InvoiceRecord) {
        lock(&self.state).invoices.push(invoice);
    }

    /// The finished bill checks: (day, who, differences).
    pub fn finished_bill_checks(&self) -> Vec<(time::Date, Option<StaffId>, i64)> {
        let state = lock(&self.state);
        state
            .bill_checks
            .values()
            .filter_map(|(_, c)| c.as_ref())
            .map(|c| (c.day, c.checked_by, c.differences))
            .collect()
    }

    /// Adds a package to the catalog.
    pub fn add_package(&self, package: PackageRecord) {
        lock(&self.state).packages.push(package);
    }

    /// The audit log's details, oldest first.
    pub fn audit_details(&self) -> Vec<String> {
        lock(&self.state).audit.iter().map(|e| e.detail.clone()).collect()
    }

    /// The queue: (dedupe key, status, attempts), oldest first.
    pub fn notification_states(&self) -> Vec<(String, String, i64)> {
        let state = lock(&self.state);
        state.notifications.iter().map(|(n, ..)| (n.dedupe_key.clone(), n.status.clone(), n.attempts)).collect()
    }

    /// Records the PINs a station initialised the order's key with.
    pub fn add_key_pins(&self, pins: KeyPins) {
        lock(&self.state).pins.push(pins);
    }

    /// The order's produced key and delivery.
    pub fn fulfilment_of(&self, order: OrderId) -> Option<FulfilmentRecord> {
        lock(&self.state).fulfilments.get(&order).cloned()
    }

    /// The bodies of the messages queued, in order.
    pub fn queued_bodies(&self) -> Vec<String> {
        lock(&self.state).queued.iter().map(|m| m.body.clone()).collect()
    }

    /// Who holds the order's review claim.
    pub fn claim(&self, order: OrderId) -> Option<StaffId> {
        lock(&self.state).claims.get(&order).map(|(by, _)| *by)
    }

    /// The actions written to the audit log, oldest first.
    pub fn audited(&self) -> Vec<String> {
        lock(&self.state).audit.iter().map(|e| e.action.clone()).collect()
    }

    /// From now on every write fails, or works again.
    pub fn break_writes(&self, broken: bool) {
        lock(&self.state).broken = broken;
    }
}

/// Blobs in memory.
#[derive(Default)]
pub struct Blobs(Mutex<BTreeMap<String, Vec<u8>>>);

impl Blobs {
    /// The keys of the blobs kept.
    pub fn keys(&self) -> Vec<String> {
        lock(&self.0).keys().cloned().collect()
    }
}

#[async_trait]
impl FileStore for Blobs {
    async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), StoreError> {
        lock(&self.0).insert(key.into(), bytes);
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        lock(&self.0).get(key).cloned().ok_or_else(|| StoreError::Other(format!("no blob {key}")))
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        lock(&self.0).remove(key);
        Ok(())
    }

    async fn list(&self) -> Result<Vec<StoredFile>, StoreError> {
        Ok(Vec::new())
    }

    async fn delete_temporary(&self, _name: &str) -> Result<(), StoreError> {
        Err(StoreError::Other("no temporary files in memory".into()))
    }
}

/// The SMS gateway and the mail relay: records what was sent; the next `failures` sends fail.
#[derive(Default)]
pub struct Relay {
    pub failures: Mutex<u32>,
    pub sms: Mutex<Vec<(String, String)>>,
    pub mail: Mutex<Vec<Mail>>,
}

impl Relay {
    fn fails(&self) -> bool {
        let mut failures = lock(&self.failures);
        let fail = *failures > 0;
        *failures = failures.saturating_sub(1);
        fail
    }
}

#[async_trait]
impl SmsSender for Relay {
    async fn send_sms(&self, to: &Phone, text: &str) -> Result<(), StoreError> {
        if self.fails() {
            return Err(StoreError::Other("gateway timeout".into()));
        }
        lock(&self.sms).push((to.as_str().to_owned(), text.to_owned()));
        Ok(())
    }
}

#[async_trait]
impl Mailer for Relay {
    async fn send_mail(&self, mail: &Mail) -> Result<(), StoreError> {
        if self.fails() {
            return Err(StoreError::Other("relay refused".into()));
        }
        lock(&self.mail).push(mail.clone());
        Ok(())
    }
}

/// Composes one SMS per event (and an email when the applicant has an address) and counts the
/// deliveries asked for.
#[derive(Default)]
pub struct Herald {
    deliveries: Mutex<usize>,
    /// The applicant's email address, if they gave one.
    pub email: Mutex<Option<String>>,
}

impl Herald {
    pub fn deliveries(&self) -> usize {
        *lock(&self.deliveries)
    }
}

#[async_trait]
impl Announcer for Herald {
    async fn applicant_messages(
        &self,
        _order: &OrderRecord,
        tell: &Tell<'_>,
    ) -> Result<Vec<NewNotification>, crate::Error> {
        let sms = NewNotification {
            dedupe_key: format!("{}:sms", tell.key),
            channel: "sms".into(),
            recipient: "13800138000".into(),
            subject: String::new(),
            body: tell.sms.to_owned(),
            html: None,
            attachments: None,
        };
        let email = lock(&self.email).clone().map(|to| NewNotification {
            dedupe_key: format!("{}:email", tell.key),
            channel: "email".into(),
            recipient: to,
            subject: tell.subject.to_owned(),
            body: tell.text.to_owned(),
            html: None,
            attachments: None,
        });
        Ok(std::iter::once(sms).chain(email).collect())
    }

    async fn deliver_now(&self) {
        *lock(&self.deliveries) += 1;
    }
}

/// A payment channel that answers what the test sets. A notification is the form
/// `out_trade_no=…&trade_no=…&total_fen=…&status=…&sign=…`, genuine when signed `ok`.
pub struct ScriptedGateway {
    channel: Channel,
    /// What a query answers.
    pub query: Mutex<TradeState>,
    /// What closing a trade answers.
    pub close: Mutex<CloseOutcome>,
    /// How many of the next refund calls fail.
    pub refund_failures: Mutex<u32>,
    /// The refund calls made: (out_trade_no, amount, out_request_no).
    pub refunds: Mutex<Vec<(String, Money, String)>>,
    /// The checkouts opened.
    pub charges: Mutex<Vec<Charge>>,
    /// The day's bill as the gateway serves it: `None` while it is not out yet.
    pub bill: Mutex<Option<Vec<u8>>>,
}

impl ScriptedGateway {
    pub fn new(channel: Channel) -> Self {
        Self {
            channel,
            query: Mutex::new(TradeState::Waiting),
            close: Mutex::new(CloseOutcome::Closed),
            refund_failures: Mutex::new(0),
            refunds: Mutex::new(Vec::new()),
            charges: Mutex::new(Vec::new()),
            bill: Mutex::new(None),
        }
    }

    /// A notification as the channel would send it.
    pub fn notice(out_trade_no: &str, trade_no: &str, total_fen: i64, status: &str, sign: &str) -> Vec<u8> {
        format!("out_trade_no={out_trade_no}&trade_no={trade_no}&total_fen={total_fen}&status={status}&sign={sign}")
            .into_bytes()
    }
}

#[async_trait]
impl Gateway for ScriptedGateway {
    fn channel(&self) -> Channel {
        self.channel
    }

    async fn checkout(
        &self,
        charge: &Charge,
        _method: &Method,
        _now: OffsetDateTime,
    ) -> Result<Checkout, GatewayError> {
        lock(&self.charges).push(charge.clone());
        Ok(Checkout::Qr { code: format!("https://qr.example/{}", charge.out_trade_no) })
    }

    async fn query(&self, _out_trade_no: &str, _now: OffsetDateTime) -> Result<TradeState, GatewayError> {
        Ok(lock(&self.query).clone())
    }

    async fn close(&self, _out_trade_no: &str, _now: OffsetDateTime) -> Result<CloseOutcome, GatewayError> {
        Ok(*lock(&self.close))
    }

    async fn refund(
        &self,
        out_trade_no: &str,
        amount: Money,
        out_request_no: &str,
        _reason: &str,
        _now: OffsetDateTime,
    ) -> Result<bool, GatewayError> {
        let mut failures = lock(&self.refund_failures);
        if *failures > 0 {
            *failures -= 1;
            return Err(GatewayError::Unavailable("connection reset".into()));
        }
        lock(&self.refunds).push((out_trade_no.into(), amount, out_request_no.into()));
        Ok(true)
    }

    async fn trade_bill(&self, _day: time::Date, _now: OffsetDateTime) -> Result<Option<Vec<u8>>, GatewayError> {
        Ok(lock(&self.bill).clone())
    }

    fn verify_notice(&self, body: &[u8]) -> Result<Notice, NoticeRejected> {
        let text = std::str::from_utf8(body).map_err(|_| NoticeRejected("not UTF-8".into()))?;
        let fields: BTreeMap<String, String> = text
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        if fields.get("sign").map(String::as_str) != Some("ok") {
            return Err(NoticeRejected("bad signature".into()));
        }
        let out_trade_no = fields.get("out_trade_no").cloned().ok_or_else(|| NoticeRejected("no trade".into()))?;
        Ok(Notice { out_trade_no, fields })
    }

    fn judge(&self, notice: &Notice, out_trade_no: &str, total: Money) -> Decision {
        let field = |name: &str| notice.fields.get(name).map_or("", String::as_str);
        if field("out_trade_no") != out_trade_no {
            return Decision::Mismatch("out_trade_no");
        }
        if field("total_fen") != total.fen().to_string() {
            return Decision::Mismatch("total_amount");
        }
        match field("status") {
            "paid" => Decision::Paid { trade_no: field("trade_no").to_owned() },
            other => Decision::NotPaid { status: other.to_owned() },
        }
    }

    fn ack(&self) -> Ack {
        Ack { content_type: "text/plain; charset=utf-8", body: "success".into() }
    }

    fn nack(&self) -> Ack {
        Ack { content_type: "text/plain; charset=utf-8", body: "fail".into() }
    }
}

/// The fields a validation error names, in order (a test failure for any other error).
pub fn invalid_fields(err: &crate::Error) -> Vec<&'static str> {
    match err {
        crate::Error::Validation(errors) => errors.iter().map(|e| e.field).collect(),
        other => panic!("not a validation error: {other:?}"),
    }
}

/// A staff member holding `roles`.
pub fn staff(id: i64, roles: &[Role]) -> CurrentStaff {
    CurrentStaff {
        id: StaffId(id),
        username: format!("staff{id}"),
        name: format!("员工{id}"),
        phone: None,
        roles: Roles::of(roles),
        session_digest: String::new(),
        must_change_password: false,
    }
}

/// An applicant with one order of [`Desk::TOTAL`] fen waiting for payment, the services that pay,
/// refund, review and deliver it, and the fakes behind them, on a clock that moves when told.
pub struct Desk {
    pub books: Arc<Books>,
    pub herald: Arc<Herald>,
    pub alipay: Arc<ScriptedGateway>,
    pub clock: Arc<ManualClock>,
    pub payments: Payments,
    pub refunds: Refunds,
    pub bill_checks: BillChecks,
    pub invoices: Invoices,
    pub blobs: Arc<Blobs>,
    pub review: Review,
    pub fulfilment: Fulfilment,
    pub keys: Arc<Keys>,
    pub user: CurrentUser,
    pub order: OrderId,
}

impl Desk {
    pub const TOTAL: i64 = 30_000;

    pub fn new(policy: &Policy) -> Self {
        let clock = Arc::new(ManualClock::new(time::macros::datetime!(2026-12-03 10:00 UTC)));
        let books = Arc::new(Books::default());
        let herald = Arc::new(Herald::default());
        let alipay = Arc::new(ScriptedGateway::new(Channel::Alipay));
        let cpcn = Arc::new(ScriptedGateway::new(Channel::Cpcn));
        let user = CurrentUser {
            id: UserId(7),
            phone: Phone::parse("13800138000").unwrap_or_else(|_| unreachable!("a valid number")),
            name: None,
            email: None,
            session_digest: String::new(),
        };
        books.add_user(user.id, user.phone.as_str(), clock.now());
        let order = books.add_order(user.id, Self::TOTAL, clock.now());
        let audit = AuditTrail::new(books.clone(), clock.clone());
        let payments = Payments::new(
            PaymentPorts {
                ledger: books.clone(),
                journal: books.clone(),
                orders: books.clone(),
                announcer: herald.clone(),
                clock: clock.clone(),
            },
            Gateways::new([alipay.clone() as Arc<dyn Gateway>, cpcn]),
            PaymentRules::from(policy),
        );
        let refunds = Refunds::new(
            RefundPorts {
                desk: books.clone(),
                ledger: books.clone(),
                orders: books.clone(),
                audit: audit.clone(),
                payments: payments.clone(),
                clock: clock.clone(),
            },
            policy.refund_approval_above,
        );
        let review = Review::new(ReviewPorts {
            claims: books.clone(),
            orders: books.clone(),
            documents: books.clone(),
            owners: books.clone(),
            announcer: herald.clone(),
            audit,
            clock: clock.clone(),
        });
        let keys = Arc::new(Keys::new(vec![7; 32]).unwrap_or_else(|_| unreachable!("32 bytes make a key")));
        let fulfilment = Fulfilment::new(
            FulfilmentPorts {
                dispatch: books.clone(),
                orders: books.clone(),
                owners: books.clone(),
                pins: books.clone(),
                announcer: herald.clone(),
                audit: AuditTrail::new(books.clone(), clock.clone()),
                keys: keys.clone(),
                clock: clock.clone(),
            },
            policy.auto_complete_after,
        );
        let bill_checks = BillChecks::new(books.clone(), payments.clone(), clock.clone());
        let blobs = Arc::new(Blobs::default());
        let invoices = Invoices::new(InvoicePorts {
            repo: books.clone(),
            book: books.clone(),
            orders: books.clone(),
            queue: books.clone(),
            announcer: herald.clone(),
            vault: Vault::new(blobs.clone(), keys.clone()),
            audit: AuditTrail::new(books.clone(), clock.clone()),
            clock: clock.clone(),
        });
        Self {
            books,
            herald,
            alipay,
            clock,
            payments,
            refunds,
            bill_checks,
            invoices,
            blobs,
            review,
            fulfilment,
            keys,
            user,
            order,
        }
    }

    /// Opens the order's Alipay trade as 去支付 does; returns its trade number.
    pub async fn open_trade(&self) -> String {
        if let Err(err) = self.payments.start_payment(&self.user, self.order, &Method::AlipayQr).await {
            unreachable!("the checkout opens: {err:?}");
        }
        self.books.payments().last().map(|p| p.out_trade_no.clone()).unwrap_or_default()
    }

    /// A notification from Alipay; returns the answer's body.
    pub async fn notify(&self, body: &[u8]) -> String {
        self.payments.handle_notice(Channel::Alipay, body).await.body
    }

    /// Pays the order in full through Alipay.
    pub async fn pay(&self) {
        let trade = self.open_trade().await;
        self.notify(&ScriptedGateway::notice(&trade, "2026120322001", Self::TOTAL, "paid", "ok")).await;
    }
}
