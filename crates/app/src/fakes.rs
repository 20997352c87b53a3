//! Small in-memory stand-ins for the ports, so the use cases' rules are tested in milliseconds
//! without a database. Each keeps the contract its trait documents — the store's contract suite
//! holds the real adapters to the same contract on SQLite and PostgreSQL — and nothing more.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use domain::application::{Business, SubjectKind};
use domain::document::DocumentKind;
use domain::payment::{PaymentStatus, RefundStatus, refund_request_no};
use domain::pricing::{Delivery, FeeBreakdown, Fees};
use domain::{
    Actor, ApplicationId, Email, FinanceAlertId, Money, NotificationId, OrderId, OrderStatus, PackageId, PaymentId,
    Phone, PickupPointId, RefundId, SmsCodeId, SmsPurpose, StaffId, UserId,
};
use time::OffsetDateTime;

use crate::clock::{Clock, ManualClock};
use crate::crypto::Keys;
use crate::finance::BillChecks;
use crate::fulfilment::{Fulfilment, FulfilmentPorts};
use crate::gateway::{
    Ack, Channel, Charge, Checkout, CloseOutcome, Decision, Gateway, GatewayError, Method, Notice, NoticeRejected,
    TradeState,
};
use crate::notifications::{Announcer, Tell};
use crate::payment::{Gateways, PaymentPorts, PaymentRules, Payments};
use crate::ports::{
    ApplicationBook, ApplicationRecord, AuditEntry, AuditLog, BillBook, BillCheck, Catalog, CatalogRepo, Dispatch,
    DispatchChange, DocumentRecord, DocumentShelf, FileStore, FinanceAlert, FormTemplate, FulfilmentRecord,
    FulfilmentRepo, InvoiceBook, InvoiceRecord, KeyPinBook, KeyPins, Mail, Mailer, MoneyMovement, NewNotification,
    NewOrder, NewSmsCode, NoticeLog, NotificationRecord, NotificationRepo, OrderBook, OrderEventRecord, OrderRecord,
    PackageRecord, PaymentJournal, PaymentLedger, PaymentRecord, PickupPoint, RefundDesk, RefundRecord, ReviewDecision,
    ReviewRepo, SessionRecord, SessionRepo, Settlement, SmsCodeRecord, SmsCodeRepo, SmsSender, StoredFile,
    TemplateRepo, ThrottleRepo, UserDirectory, UserRecord, UserRepo,
};
use crate::refunds::{RefundPorts, Refunds};
use crate::review::{Review, ReviewPorts};
use crate::sessions::CurrentUser;
use crate::staff::AuditTrail;
use crate::{Policy, StoreError};

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

#[async_trait]
impl OrderBook for Books {
    async fn order(&self, user: UserId, id: OrderId) -> Result<Option<OrderRecord>, StoreError> {
        Ok(lock(&self.state).orders.get(&id).filter(|o| o.order.user_id == user).cloned())
    }

    async fn order_by_id(&self, id: OrderId) -> Result<Option<OrderRecord>, StoreError> {
        Ok(lock(&self.state).orders.get(&id).cloned())
    }

    async fn order_events(&self, id: OrderId) -> Result<Vec<OrderEventRecord>, StoreError> {
        Ok(lock(&self.state).events.iter().filter(|(o, _)| *o == id).map(|(_, e)| e.clone()).collect())
    }
}

#[async_trait]
impl PaymentLedger for Books {
    async fn open_payment(
        &self,
        order: OrderId,
        channel: Channel,
        out_trade_no: &str,
        amount: Money,
        now: OffsetDateTime,
    ) -> Result<PaymentRecord, StoreError> {
        let mut state = lock(&self.state);
        if let Some(open) = state.payments.iter().find(|p| p.order_id == order && p.channel == channel) {
            return Ok(open.clone());
        }
        state.write()?;
        let payment = PaymentRecord {
            id: PaymentId(i64::try_from(state.payments.len()).unwrap_or(0) + 1),
            order_id: order,
            channel,
            out_trade_no: out_trade_no.into(),
            amount,
            status: PaymentStatus::Pending,
            trade_no: None,
            created_at: now,
            paid_at: None,
        };
        state.payments.push(payment.clone());
        Ok(payment)
    }

    async fn payment_by_trade(&self, out_trade_no: &str) -> Result<Option<PaymentRecord>, StoreError> {
        Ok(lock(&self.state).payments.iter().find(|p| p.out_trade_no == out_trade_no).cloned())
    }

    async fn payments_of_order(&self, order: OrderId) -> Result<Vec<PaymentRecord>, StoreError> {
        Ok(lock(&self.state).payments.iter().filter(|p| p.order_id == order).cloned().collect())
    }

    async fn settle_payment(
        &self,
        payment_id: PaymentId,
        trade_no: &str,
        reason: &str,
        notify: &[NewNotification],
        now: OffsetDateTime,
    ) -> Result<Settlement, StoreError> {
        let mut state = lock(&self.state);
        state.write()?;
        let payment = state
            .payments
            .iter_mut()
            .find(|p| p.id == payment_id)
            .ok_or_else(|| StoreError::Other("no such payment".into()))?;
        if !matches!(payment.status, PaymentStatus::Pending | PaymentStatus::Closed) {
            return Ok(Settlement::AlreadySettled);
        }
        payment.status = PaymentStatus::Paid;
        payment.trade_no = Some(trade_no.into());
        payment.paid_at = Some(now);
        let payment = payment.clone();
        if state.orders.get(&payment.order_id).is_some_and(|o| o.status == OrderStatus::PendingPayment) {
            state.move_order(payment.order_id, OrderStatus::UnderReview, reason, now);
            state.queued.extend_from_slice(notify);
            return Ok(Settlement::Applied);
        }
        let refund = RefundRecord {
            id: RefundId(i64::try_from(state.refunds.len()).unwrap_or(0) + 1),
            payment_id,
            order_id: payment.order_id,
            channel: payment.channel,
            out_trade_no: payment.out_trade_no.clone(),
            out_request_no: refund_request_no(&payment.out_trade_no),
            amount: payment.amount,
            reason: "订单已不能收款，原路退款".into(),
            status: RefundStatus::Pending,
            requested_by: None,
            attempts: 0,
            last_error: None,
            resolution: None,
        };
        state.refunds.push((refund.clone(), now));
        Ok(Settlement::RefundOwed(refund))
    }

    async fn close_payment(&self, payment_id: PaymentId, _now: OffsetDateTime) -> Result<bool, StoreError> {
        let mut state = lock(&self.state);
        state.write()?;
        Ok(match state.payments.iter_mut().find(|p| p.id == payment_id && p.status == PaymentStatus::Pending) {
            Some(payment) => {
                payment.status = PaymentStatus::Closed;
                true
            }
            None => false,
        })
    }

    async fn pending_payments_before(&self, before: OffsetDateTime) -> Result<Vec<PaymentRecord>, StoreError> {
        let state = lock(&self.state);
        Ok(state
            .payments
            .iter()
            .filter(|p| p.status == PaymentStatus::Pending && p.created_at < before)
            .cloned()
            .collect())
    }

    async fn pending_refunds(&self, now: OffsetDateTime) -> Result<Vec<RefundRecord>, StoreError> {
        let state = lock(&self.state);
        let due = state.refunds.iter().filter(|(r, due)| r.status == RefundStatus::Pending && *due <= now);
        Ok(due.map(|(r, _)| r.clone()).collect())
    }

    async fn refund_attempt_failed(
        &self,
        refund_id: RefundId,
        error: &str,
        retry_at: Option<OffsetDateTime>,
    ) -> Result<bool, StoreError> {
        let mut state = lock(&self.state);
        state.write()?;
        let Some((refund, due)) =
            state.refunds.iter_mut().find(|(r, _)| r.id == refund_id && r.status == RefundStatus::Pending)
        else {
            return Ok(false);
        };
        refund.attempts += 1;
        refund.last_error = Some(error.into());
        match retry_at {
            Some(at) => *due = at,
            None => refund.status = RefundStatus::Failed,
        }
        Ok(true)
    }

    async fn refunds_of_order(&self, order: OrderId) -> Result<Vec<RefundRecord>, StoreError> {
        Ok(lock(&self.state).refunds.iter().filter(|(r, _)| r.order_id == order).map(|(r, _)| r.clone()).collect())
    }

    async fn finish_refund(
        &self,
        refund_id: RefundId,
        resolution: Option<&str>,
        messages: &[NewNotification],
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut state = lock(&self.state);
        state.write()?;
        let Some((refund, due)) = state
            .refunds
            .iter_mut()
            .find(|(r, _)| r.id == refund_id && matches!(r.status, RefundStatus::Pending | RefundStatus::Failed))
        else {
            return Ok(false);
        };
        refund.status = RefundStatus::Done;
        refund.resolution = resolution.map(str::to_owned);
        *due = now;
        let (payment_id, order_id) = (refund.payment_id, refund.order_id);
        if let Some(payment) = state.payments.iter_mut().find(|p| p.id == payment_id) {
            payment.status = PaymentStatus::Refunded;
        }
        if state.orders.get(&order_id).is_some_and(|o| o.status != OrderStatus::Refunded) {
            state.move_order(order_id, OrderStatus::Refunded, "退款完成", now);
        }
        state.queued.extend_from_slice(messages);
        Ok(true)
    }
}

#[async_trait]
impl PaymentJournal for Books {
    async fn log_notice(&self, notice: &NoticeLog) -> Result<(), StoreError> {
        let mut state = lock(&self.state);
        state.write()?;
        state.notices.push(notice.clone());
        Ok(())
    }

    async fn notices(&self, out_trade_no: Option<&str>, limit: i64) -> Result<Vec<NoticeLog>, StoreError> {
        let state = lock(&self.state);
        let matching =
            state.notices.iter().rev().filter(|n| out_trade_no.is_none_or(|no| n.out_trade_no.as_deref() == Some(no)));
        Ok(matching.take(usize::try_from(limit).unwrap_or(0)).cloned().collect())
    }

    async fn refused_notices_since(&self, since: OffsetDateTime) -> Result<i64, StoreError> {
        let state = lock(&self.state);
        let refused = state.notices.iter().filter(|n| !n.verified && n.received_at >= since).count();
        Ok(i64::try_from(refused).unwrap_or(i64::MAX))
    }

    async fn resolve_finance_alert(
        &self,
        id: FinanceAlertId,
        _staff: StaffId,
        note: &str,
        _now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut state = lock(&self.state);
        state.write()?;
        Ok(match state.alerts.iter_mut().find(|a| a.id == id && a.resolution.is_none()) {
            Some(alert) => {
                alert.resolution = Some(note.into());
                true
            }
            None => false,
        })
    }

    async fn add_finance_alert(&self, alert: &FinanceAlert) -> Result<(), StoreError> {
        let mut state = lock(&self.state);
        state.write()?;
        let id = FinanceAlertId(i64::try_from(state.alerts.len()).unwrap_or(0) + 1);
        state.alerts.push(FinanceAlert { id, ..alert.clone() });
        Ok(())
    }

    async fn finance_alerts(&self, limit: i64) -> Result<Vec<FinanceAlert>, StoreError> {
        let state = lock(&self.state);
        Ok(state.alerts.iter().rev().take(usize::try_from(limit).unwrap_or(0)).cloned().collect())
    }
}

#[async_trait]
impl RefundDesk for Books {
    async fn retry_refund(&self, refund_id: RefundId) -> Result<bool, StoreError> {
        let mut state = lock(&self.state);
        state.write()?;
        let Some((refund, due)) =
            state.refunds.iter_mut().find(|(r, _)| r.id == refund_id && r.status == RefundStatus::Failed)
        else {
            return Ok(false);
        };
        refund.status = RefundStatus::Pending;
        refund.attempts = 0;
        *due = OffsetDateTime::UNIX_EPOCH;
        Ok(true)
    }

    async fn failed_refunds(&self) -> Result<Vec<RefundRecord>, StoreError> {
        let state = lock(&self.state);
        Ok(state.refunds.iter().filter(|(r, _)| r.status == RefundStatus::Failed).map(|(r, _)| r.clone()).collect())
    }

    async fn request_refund(
        &self,
        payment_id: PaymentId,
        reason: &str,
        staff: StaffId,
        needs_approval: bool,
        now: OffsetDateTime,
    ) -> Result<RefundRecord, StoreError> {
        let mut state = lock(&self.state);
        state.write()?;
        if state.refunds.iter().any(|(r, _)| r.payment_id == payment_id) {
            return Err(StoreError::Duplicate(crate::Unique::RefundOfPayment));
        }
        let payment = state.payments.iter().find(|p| p.id == payment_id).cloned();
        let payment = payment.ok_or_else(|| StoreError::Other("no such payment".into()))?;
        let refund = RefundRecord {
            id: RefundId(i64::try_from(state.refunds.len()).unwrap_or(0) + 1),
            payment_id,
            order_id: payment.order_id,
            channel: payment.channel,
            out_request_no: refund_request_no(&payment.out_trade_no),
            out_trade_no: payment.out_trade_no,
            amount: payment.amount,
            reason: reason.into(),
            status: if needs_approval { RefundStatus::AwaitingApproval } else { RefundStatus::Pending },
            requested_by: Some(staff),
            attempts: 0,
            last_error: None,
            resolution: None,
        };
        state.refunds.push((refund.clone(), now));
        Ok(refund)
    }

    async fn approve_refund(&self, refund_id: RefundId, staff: StaffId) -> Result<bool, StoreError> {
        let mut state = lock(&self.state);
        state.write()?;
        let awaiting = state.refunds.iter_mut().find(|(r, _)| {
            r.id == refund_id && r.status == RefundStatus::AwaitingApproval && r.requested_by != Some(staff)
        });
        Ok(match awaiting {
            Some((refund, _)) => {
                refund.status = RefundStatus::Pending;
                true
            }
            None => false,
        })
    }

    async fn refunds_awaiting_approval(&self) -> Result<Vec<RefundRecord>, StoreError> {
        let state = lock(&self.state);
        let awaiting = state.refunds.iter().filter(|(r, _)| r.status == RefundStatus::AwaitingApproval);
        Ok(awaiting.map(|(r, _)| r.clone()).collect())
    }
}

#[async_trait]
impl AuditLog for Books {
    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let mut state = lock(&self.state);
        state.write()?;
        state.audit.push(entry.clone());
        Ok(())
    }

    async fn audit_log(&self, order: Option<OrderId>, limit: i64) -> Result<Vec<AuditEntry>, StoreError> {
        let state = lock(&self.state);
        let entries = state.audit.iter().rev().filter(|e| order.is_none_or(|o| e.order_id == Some(o)));
        Ok(entries.take(usize::try_from(limit).unwrap_or(0)).cloned().collect())
    }
}

#[async_trait]
impl UserDirectory for Books {
    async fn user_by_phone(&self, phone: &Phone) -> Result<Option<UserRecord>, StoreError> {
        Ok(lock(&self.state).users.iter().find(|u| u.phone == *phone).cloned())
    }

    async fn user_by_id(&self, id: UserId) -> Result<Option<UserRecord>, StoreError> {
        Ok(lock(&self.state).users.iter().find(|u| u.id == id).cloned())
    }
}

#[async_trait]
impl DocumentShelf for Books {
    async fn documents(&self, user: UserId, application: ApplicationId) -> Result<Vec<DocumentRecord>, StoreError> {
        let state = lock(&self.state);
        let owns = state.orders.values().any(|o| o.order.user_id == user && o.order.application_id == application);
        Ok(state.documents.iter().filter(|d| owns && d.application_id == application).cloned().collect())
    }

    async fn document(
        &self,
        user: UserId,
        application: ApplicationId,
        kind: DocumentKind,
    ) -> Result<Option<DocumentRecord>, StoreError> {
        Ok(self.documents(user, application).await?.into_iter().find(|d| d.kind == kind))
    }
}

#[async_trait]
impl ReviewRepo for Books {
    async fn review_queue(&self) -> Result<Vec<(OrderRecord, Option<StaffId>, Option<OffsetDateTime>)>, StoreError> {
        let state = lock(&self.state);
        let in_review = state.orders.values().filter(|o| o.status == OrderStatus::UnderReview);
        Ok(in_review
            .map(|o| {
                let claim = state.claims.get(&o.id);
                (o.clone(), claim.map(|(by, _)| *by), claim.map(|(_, at)| *at))
            })
            .collect())
    }

    async fn claim_order(
        &self,
        id: OrderId,
        staff: StaffId,
        stale_before: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut state = lock(&self.state);
        state.write()?;
        if state.orders.get(&id).is_none_or(|o| o.status != OrderStatus::UnderReview) {
            return Ok(false);
        }
        if state.claims.get(&id).is_some_and(|(by, at)| *by != staff && *at >= stale_before) {
            return Ok(false);
        }
        state.claims.insert(id, (staff, now));
        Ok(true)
    }

    async fn order_claim(&self, id: OrderId) -> Result<Option<(StaffId, OffsetDateTime)>, StoreError> {
        Ok(lock(&self.state).claims.get(&id).copied())
    }

    async fn decide_review(&self, decision: &ReviewDecision<'_>) -> Result<bool, StoreError> {
        let mut state = lock(&self.state);
        state.write()?;
        let in_state = state.orders.get(&decision.id).is_some_and(|o| o.status == decision.from);
        let holds_claim = state.claims.get(&decision.id).is_some_and(|(by, _)| *by == decision.staff);
        if !(in_state && holds_claim) {
            return Ok(false);
        }
        state.move_order(decision.id, decision.to, decision.reason.unwrap_or(""), decision.audit.at);
        if !decision.pins.is_empty() {
            state.approved.insert(decision.id, decision.pins.to_vec());
        }
        state.claims.remove(&decision.id);
        state.audit.push(decision.audit.clone());
        state.queued.extend_from_slice(decision.notify);
        Ok(true)
    }

    async fn review_pins(&self, id: OrderId) -> Result<Vec<(String, String)>, StoreError> {
        Ok(lock(&self.state).approved.get(&id).cloned().unwrap_or_default())
    }
}

#[async_trait]
impl FulfilmentRepo for Books {
    async fn save_key(
        &self,
        id: OrderId,
        key: &domain::fulfilment::KeyRecord,
        staff: StaffId,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut state = lock(&self.state);
        state.write()?;
        if state.orders.get(&id).is_none_or(|o| o.status != OrderStatus::Processing) {
            return Ok(false);
        }
        let record = FulfilmentRecord {
            order_id: id,
            key: key.clone(),
            produced_by: Some(staff),
            produced_at: now,
            courier: None,
            tracking_no: None,
            shipped_at: None,
            pickup_code: None,
            ready_at: None,
            completed_at: None,
        };
        state.fulfilments.insert(id, record);
        Ok(true)
    }

    async fn fulfilment(&self, id: OrderId) -> Result<Option<FulfilmentRecord>, StoreError> {
        Ok(lock(&self.state).fulfilments.get(&id).cloned())
    }

    async fn dispatch(&self, step: &Dispatch<'_>) -> Result<bool, StoreError> {
        let mut state = lock(&self.state);
        state.write()?;
        if state.orders.get(&step.id).is_none_or(|o| o.status != step.from) || !state.fulfilments.contains_key(&step.id)
        {
            return Ok(false);
        }
        state.move_order(step.id, step.to, step.reason, step.now);
        if let Some(record) = state.fulfilments.get_mut(&step.id) {
            match &step.change {
                DispatchChange::Shipped { courier, tracking_no } => {
                    record.courier = Some(courier.clone());
                    record.tracking_no = Some(tracking_no.clone());
                    record.shipped_at = Some(step.now);
                }
                DispatchChange::ReadyForPickup { sealed_code } => {
                    record.pickup_code = Some(sealed_code.clone());
                    record.ready_at = Some(step.now);
                }
                DispatchChange::Completed => record.completed_at = Some(step.now),
            }
        }
        if let Some(audit) = step.audit {
            state.audit.push(audit.clone());
        }
        state.queued.extend_from_slice(step.notify);
        Ok(true)
    }

    async fn fulfilment_queue(&self) -> Result<Vec<OrderRecord>, StoreError> {
        let state = lock(&self.state);
        let waiting = state.orders.values().filter(|o| {
            o.status == OrderStatus::Processing
                || (o.status == OrderStatus::Delivering && o.order.delivery == Delivery::Pickup)
        });
        Ok(waiting.cloned().collect())
    }

    async fn shipped_before(&self, before: OffsetDateTime) -> Result<Vec<OrderId>, StoreError> {
        let state = lock(&self.state);
        let shipped = state.fulfilments.values().filter(|f| {
            f.shipped_at.is_some_and(|at| at < before)
                && state.orders.get(&f.order_id).is_some_and(|o| o.status == OrderStatus::Delivering)
        });
        Ok(shipped.map(|f| f.order_id).collect())
    }
}

#[async_trait]
impl BillBook for Books {
    async fn payments_paid_between(
        &self,
        channel: Channel,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<Vec<PaymentRecord>, StoreError> {
        let state = lock(&self.state);
        let paid =
            state.payments.iter().filter(|p| p.channel == channel && p.paid_at.is_some_and(|at| from <= at && at < to));
        Ok(paid.cloned().collect())
    }

    async fn money_movements(
        &self,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<Vec<MoneyMovement>, StoreError> {
        let state = lock(&self.state);
        let order_no = |id: OrderId| state.orders.get(&id).map(|o| o.order.order_no.clone()).unwrap_or_default();
        let mut moves: Vec<MoneyMovement> = state
            .payments
            .iter()
            .filter_map(|p| p.paid_at.filter(|at| from <= *at && *at < to).map(|at| (p, at)))
            .map(|(p, at)| MoneyMovement {
                at,
                refund: false,
                order_no: order_no(p.order_id),
                channel: p.channel,
                out_trade_no: p.out_trade_no.clone(),
                trade_no: p.trade_no.clone(),
                amount: p.amount,
            })
            .collect();
        let done = state.refunds.iter().filter(|(r, at)| r.status == RefundStatus::Done && from <= *at && *at < to);
        moves.extend(done.map(|(r, at)| MoneyMovement {
            at: *at,
            refund: true,
            order_no: order_no(r.order_id),
            channel: r.channel,
            out_trade_no: r.out_trade_no.clone(),
            trade_no: None,
            amount: r.amount,
        }));
        moves.sort_by_key(|m| m.at);
        Ok(moves)
    }

    async fn claim_bill_check(
        &self,
        channel: Channel,
        day: time::Date,
        now: OffsetDateTime,
        lease: time::Duration,
    ) -> Result<bool, StoreError> {
        let mut state = lock(&self.state);
        state.write()?;
        match state.bill_checks.get(&(channel, day)) {
            Some((_, Some(_))) => Ok(false),
            Some((claimed, None)) if now - *claimed < lease => Ok(false),
            _ => {
                state.bill_checks.insert((channel, day), (now, None));
                Ok(true)
            }
        }
    }

    async fn release_bill_check(&self, channel: Channel, day: time::Date) -> Result<(), StoreError> {
        let mut state = lock(&self.state);
        if matches!(state.bill_checks.get(&(channel, day)), Some((_, None))) {
            state.bill_checks.remove(&(channel, day));
        }
        Ok(())
    }

    async fn record_bill_check(&self, check: &BillCheck) -> Result<(), StoreError> {
        let mut state = lock(&self.state);
        state.write()?;
        state.bill_checks.insert((check.channel, check.day), (check.checked_at, Some(check.clone())));
        Ok(())
    }

    async fn bill_checks(&self, limit: i64) -> Result<Vec<BillCheck>, StoreError> {
        let state = lock(&self.state);
        let mut checks: Vec<BillCheck> = state.bill_checks.values().filter_map(|(_, c)| c.clone()).collect();
        checks.sort_by_key(|c| std::cmp::Reverse(c.day));
        checks.truncate(usize::try_from(limit).unwrap_or(0));
        Ok(checks)
    }
}

#[async_trait]
impl CatalogRepo for Books {
    async fn catalog(&self) -> Result<Catalog, StoreError> {
        let state = lock(&self.state);
        Ok(Catalog {
            packages: state.packages.iter().filter(|p| p.active).cloned().collect(),
            fees: state.fees.unwrap_or(Fees { courier: Money::ZERO, pickup: Money::ZERO, service: Money::ZERO }),
            pickup_points: state.pickup_points.iter().filter(|(_, on)| *on).map(|(p, _)| p.clone()).collect(),
        })
    }

    async fn all_packages(&self) -> Result<Vec<PackageRecord>, StoreError> {
        Ok(lock(&self.state).packages.clone())
    }

    async fn set_package(&self, id: PackageId, price: Money, active: bool) -> Result<bool, StoreError> {
        let mut state = lock(&self.state);
        state.write()?;
        Ok(match state.packages.iter_mut().find(|p| p.id == id) {
            Some(package) => {
                package.price = price;
                package.active = active;
                true
            }
            None => false,
        })
    }

    async fn set_fees(&self, fees: &Fees) -> Result<(), StoreError> {
        let mut state = lock(&self.state);
        state.write()?;
        state.fees = Some(*fees);
        Ok(())
    }

    async fn all_pickup_points(&self) -> Result<Vec<(PickupPoint, bool)>, StoreError> {
        Ok(lock(&self.state).pickup_points.clone())
    }

    async fn save_pickup_point(&self, point: &PickupPoint, active: bool) -> Result<PickupPointId, StoreError> {
        let mut state = lock(&self.state);
        state.write()?;
        if point.id.0 == 0 {
            let id = PickupPointId(i64::try_from(state.pickup_points.len()).unwrap_or(0) + 1);
            state.pickup_points.push((PickupPoint { id, ..point.clone() }, active));
            return Ok(id);
        }
        if let Some(entry) = state.pickup_points.iter_mut().find(|(p, _)| p.id == point.id) {
            *entry = (point.clone(), active);
        }
        Ok(point.id)
    }
}

#[async_trait]
impl TemplateRepo for Books {
    async fn set_template(&self, template: &FormTemplate, _staff: StaffId) -> Result<Option<String>, StoreError> {
        let mut state = lock(&self.state);
        state.write()?;
        let old = state.templates.iter().position(|t| t.kind == template.kind).map(|i| state.templates.remove(i));
        state.templates.push(template.clone());
        Ok(old.map(|t| t.file_key))
    }

    async fn template(&self, kind: DocumentKind) -> Result<Option<FormTemplate>, StoreError> {
        Ok(lock(&self.state).templates.iter().find(|t| t.kind == kind).cloned())
    }

    async fn delete_template(&self, kind: DocumentKind) -> Result<Option<String>, StoreError> {
        let mut state = lock(&self.state);
        state.write()?;
        let old = state.templates.iter().position(|t| t.kind == kind).map(|i| state.templates.remove(i));
        Ok(old.map(|t| t.file_key))
    }
}

#[async_trait]
impl UserRepo for Books {
    async fn close_user(
        &self,
        id: UserId,
        _closed_phone: &str,
        _restricted_until: Option<OffsetDateTime>,
        _now: OffsetDateTime,
    ) -> Result<Vec<String>, StoreError> {
        let mut state = lock(&self.state);
        state.write()?;
        state.users.retain(|u| u.id != id);
        state.sessions.retain(|s| s.user_id != id);
        Ok(Vec::new())
    }

    async fn create_user(&self, phone: &Phone, password_hash: &str, now: OffsetDateTime) -> Result<UserId, StoreError> {
        let mut state = lock(&self.state);
        state.write()?;
        if state.users.iter().any(|u| u.phone == *phone) {
            return Err(StoreError::Duplicate(crate::Unique::UserPhone));
        }
        let id = UserId(state.users.iter().map(|u| u.id.0).max().unwrap_or(0) + 1);
        let user = UserRecord {
            id,
            phone: phone.clone(),
            password_hash: password_hash.into(),
            name: None,
            email: None,
            created_at: now,
        };
        state.users.push(user);
        Ok(id)
    }

    async fn create_user_with_code(
        &self,
        phone: &Phone,
        password_hash: &str,
        code_id: SmsCodeId,
        now: OffsetDateTime,
    ) -> Result<Option<UserId>, StoreError> {
        {
            let state = lock(&self.state);
            if state.users.iter().any(|u| u.phone == *phone) {
                return Err(StoreError::Duplicate(crate::Unique::UserPhone));
            }
            if !state.codes.iter().any(|c| c.record.id == code_id && !c.used) {
                return Ok(None);
            }
        }
        let id = self.create_user(phone, password_hash, now).await?;
        if let Some(code) = lock(&self.state).codes.iter_mut().find(|c| c.record.id == code_id) {
            code.used = true;
        }
        Ok(Some(id))
    }

    async fn update_profile(
        &self,
        id: UserId,
        name: Option<&str>,
        email: Option<&Email>,
        _now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut state = lock(&self.state);
        state.write()?;
        if let Some(user) = state.users.iter_mut().find(|u| u.id == id) {
            user.name = name.map(str::to_owned);
            user.email = email.map(|e| e.as_str().to_owned());
        }
        Ok(())
    }

    async fn set_password(
        &self,
        id: UserId,
        password_hash: &str,
        keep: Option<&str>,
        _now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut state = lock(&self.state);
        state.write()?;
        if let Some(user) = state.users.iter_mut().find(|u| u.id == id) {
            user.password_hash = password_hash.into();
        }
        state.sessions.retain(|s| s.user_id != id || Some(s.token_digest.as_str()) == keep);
        Ok(())
    }
}

#[async_trait]
impl SessionRepo for Books {
    async fn create_session(&self, session: &SessionRecord) -> Result<(), StoreError> {
        let mut state = lock(&self.state);
        state.write()?;
        state.sessions.push(session.clone());
        Ok(())
    }

    async fn session_with_user(&self, digest: &str) -> Result<Option<(SessionRecord, UserRecord)>, StoreError> {
        let state = lock(&self.state);
        let Some(session) = state.sessions.iter().find(|s| s.token_digest == digest) else { return Ok(None) };
        Ok(state.users.iter().find(|u| u.id == session.user_id).map(|u| (session.clone(), u.clone())))
    }

    async fn touch_session(&self, digest: &str, now: OffsetDateTime) -> Result<(), StoreError> {
        if let Some(session) = lock(&self.state).sessions.iter_mut().find(|s| s.token_digest == digest) {
            session.last_seen_at = now;
        }
        Ok(())
    }

    async fn delete_session(&self, digest: &str) -> Result<(), StoreError> {
        lock(&self.state).sessions.retain(|s| s.token_digest != digest);
        Ok(())
    }
}

#[async_trait]
impl SmsCodeRepo for Books {
    async fn insert_sms_code(&self, code: &NewSmsCode<'_>) -> Result<(), StoreError> {
        let mut state = lock(&self.state);
        state.write()?;
        let phone = code.phone.as_str().to_owned();
        for earlier in state.codes.iter_mut().filter(|c| c.phone == phone && c.purpose == code.purpose) {
            earlier.used = true;
        }
        let id = i64::try_from(state.codes.len()).unwrap_or(0) + 1;
        let record = SmsCodeRecord {
            id: SmsCodeId(id),
            code_mac: code.code_mac.clone(),
            expires_at: code.expires_at,
            wrong_guesses: 0,
        };
        state.codes.push(IssuedCode {
            phone,
            purpose: code.purpose,
            record,
            client: code.client.to_owned(),
            sent_at: code.created_at,
            used: false,
        });
        Ok(())
    }

    async fn active_sms_code(
        &self,
        phone: &Phone,
        purpose: SmsPurpose,
        now: OffsetDateTime,
    ) -> Result<Option<SmsCodeRecord>, StoreError> {
        let state = lock(&self.state);
        let active = state.codes.iter().rev().find(|c| c.phone == phone.as_str() && c.purpose == purpose && !c.used);
        Ok(active.map(|c| c.record.clone()).filter(|r| r.expires_at > now))
    }

    async fn record_wrong_guess(&self, id: SmsCodeId, kill_at: i64, _now: OffsetDateTime) -> Result<i64, StoreError> {
        let mut state = lock(&self.state);
        state.write()?;
        let Some(code) = state.codes.iter_mut().find(|c| c.record.id == id) else { return Ok(0) };
        code.record.wrong_guesses += 1;
        if code.record.wrong_guesses >= kill_at {
            code.used = true;
        }
        Ok(code.record.wrong_guesses)
    }

    async fn consume_sms_code(&self, id: SmsCodeId, _now: OffsetDateTime) -> Result<bool, StoreError> {
        let mut state = lock(&self.state);
        state.write()?;
        let Some(code) = state.codes.iter_mut().find(|c| c.record.id == id && !c.used) else { return Ok(false) };
        code.used = true;
        Ok(true)
    }

    async fn sms_sends_to_phone_since(
        &self,
        phone: &Phone,
        since: OffsetDateTime,
    ) -> Result<Vec<OffsetDateTime>, StoreError> {
        let state = lock(&self.state);
        Ok(state.codes.iter().filter(|c| c.phone == phone.as_str() && c.sent_at >= since).map(|c| c.sent_at).collect())
    }

    async fn sms_sends_from_client_since(&self, client: &str, since: OffsetDateTime) -> Result<i64, StoreError> {
        let state = lock(&self.state);
        let sends = state.codes.iter().filter(|c| c.client == client && c.sent_at >= since).count();
        Ok(i64::try_from(sends).unwrap_or(i64::MAX))
    }
}

#[async_trait]
impl ThrottleRepo for Books {
    async fn record_failure(&self, key: &str, now: OffsetDateTime) -> Result<(), StoreError> {
        let mut state = lock(&self.state);
        state.write()?;
        state.failures.push((key.to_owned(), now));
        Ok(())
    }

    async fn failures_since(&self, key: &str, since: OffsetDateTime) -> Result<Vec<OffsetDateTime>, StoreError> {
        let state = lock(&self.state);
        Ok(state.failures.iter().filter(|(k, at)| k == key && *at >= since).map(|(_, at)| *at).collect())
    }

    async fn clear_failures(&self, key: &str) -> Result<(), StoreError> {
        lock(&self.state).failures.retain(|(k, _)| k != key);
        Ok(())
    }
}

#[async_trait]
impl ApplicationBook for Books {
    async fn applications(&self, user: UserId) -> Result<Vec<ApplicationRecord>, StoreError> {
        let state = lock(&self.state);
        Ok(state.applications.iter().filter(|(owner, _)| *owner == user).map(|(_, a)| a.clone()).collect())
    }

    async fn application(&self, user: UserId, id: ApplicationId) -> Result<Option<ApplicationRecord>, StoreError> {
        Ok(self.applications(user).await?.into_iter().find(|a| a.id == id))
    }
}

#[async_trait]
impl InvoiceBook for Books {
    async fn invoice(&self, order: OrderId) -> Result<Option<InvoiceRecord>, StoreError> {
        Ok(lock(&self.state).invoices.iter().find(|i| i.order_id == order).cloned())
    }
}

#[async_trait]
impl NotificationRepo for Books {
    async fn enqueue_notifications(&self, messages: &[NewNotification], now: OffsetDateTime) -> Result<(), StoreError> {
        let mut state = lock(&self.state);
        state.write()?;
        for message in messages {
            if state.notifications.iter().any(|(n, ..)| n.dedupe_key == message.dedupe_key) {
                continue;
            }
            let id = NotificationId(i64::try_from(state.notifications.len()).unwrap_or(0) + 1);
            let record = NotificationRecord {
                id,
                dedupe_key: message.dedupe_key.clone(),
                channel: message.channel.clone(),
                recipient: message.recipient.clone(),
                subject: message.subject.clone(),
                body: message.body.clone(),
                html: message.html.clone(),
                attachments: message.attachments.clone(),
                attempts: 0,
                status: "pending".into(),
            };
            state.notifications.push((record, now, None));
        }
        Ok(())
    }

    async fn claim_notifications(
        &self,
        now: OffsetDateTime,
        lease: time::Duration,
        limit: i64,
    ) -> Result<Vec<NotificationRecord>, StoreError> {
        let mut state = lock(&self.state);
        state.write()?;
        let mut claimed = Vec::new();
        for (record, due, leased) in &mut state.notifications {
            if claimed.len() >= usize::try_from(limit).unwrap_or(0) {
                break;
            }
            if record.status == "pending" && *due <= now && leased.is_none_or(|until| until <= now) {
                record.attempts += 1;
                *leased = Some(now + lease);
                claimed.push(record.clone());
            }
        }
        Ok(claimed)
    }

    async fn notification_sent(&self, id: NotificationId, _now: OffsetDateTime) -> Result<(), StoreError> {
        let mut state = lock(&self.state);
        state.write()?;
        if let Some((record, _, leased)) = state.notifications.iter_mut().find(|(n, ..)| n.id == id) {
            record.status = "sent".into();
            *leased = None;
        }
        Ok(())
    }

    async fn notification_failed(
        &self,
        id: NotificationId,
        _error: &str,
        retry_at: Option<OffsetDateTime>,
    ) -> Result<(), StoreError> {
        let mut state = lock(&self.state);
        state.write()?;
        if let Some((record, due, leased)) = state.notifications.iter_mut().find(|(n, ..)| n.id == id) {
            *leased = None;
            match retry_at {
                Some(at) => *due = at,
                None => record.status = "failed".into(),
            }
        }
        Ok(())
    }

    async fn notifications(&self, limit: i64) -> Result<Vec<NotificationRecord>, StoreError> {
        let state = lock(&self.state);
        let newest = state.notifications.iter().rev().map(|(n, ..)| n.clone());
        Ok(newest.take(usize::try_from(limit).unwrap_or(0)).collect())
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

#[async_trait]
impl KeyPinBook for Books {
    async fn key_pins(&self, order: OrderId) -> Result<Option<KeyPins>, StoreError> {
        Ok(lock(&self.state).pins.iter().rev().find(|p| p.order_id == order).cloned())
    }
}

/// Composes one SMS per event and counts the deliveries asked for.
#[derive(Default)]
pub struct Herald {
    deliveries: Mutex<usize>,
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
        Ok(vec![NewNotification {
            dedupe_key: format!("{}:sms", tell.key),
            channel: "sms".into(),
            recipient: "13800138000".into(),
            subject: String::new(),
            body: tell.sms.to_owned(),
            html: None,
            attachments: None,
        }])
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
        Self { books, herald, alipay, clock, payments, refunds, bill_checks, review, fulfilment, keys, user, order }
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
