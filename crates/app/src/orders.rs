//! Orders: confirming an application (delivery, invoice, fees computed here) creates an order in
//! 待支付; the applicant lists, reads and cancels their orders; a job cancels orders left unpaid.
//! Every state change goes through the domain's transition table and is stored with its history
//! row in one transaction.

use domain::address::MAX_ADDRESSES_PER_USER;
use domain::application::SubjectKind;
use domain::invoice::{InvoiceDelivery, InvoiceDraft};
use domain::mask::mask_middle;
use domain::pricing::{Delivery, FeeBreakdown};
use domain::{
    Actor, Address, AddressDraft, AddressId, ApplicationId, FieldErrors, OrderEvent, OrderId, OrderStatus, order_status,
};
use rand::Rng;
use sha2::{Digest, Sha256};

use crate::ports::{AddressRecord, Catalog, NewOrder, OrderEventRecord, OrderInvoice, OrderRecord, OrderSummary};
use crate::sessions::CurrentUser;
use crate::{App, Error, Refusal, StoreError, Unique};

/// The confirm-order form (确认订单).
#[derive(Debug, Clone, Default)]
pub struct ConfirmForm {
    /// `courier` or `pickup`.
    pub delivery: String,
    pub address_id: Option<i64>,
    /// Courier to an address typed here instead of `address_id`: saved to the address book with
    /// the order, in one transaction (nothing is saved when the order is refused).
    pub new_address: Option<AddressDraft>,
    pub pickup_point_id: Option<domain::PickupPointId>,
    pub invoice: InvoiceDraft,
    /// For a paper invoice posted to another address.
    pub invoice_address_id: Option<i64>,
}

/// An order with its history, as its owner sees it.
#[derive(Debug, Clone)]
pub struct OrderView {
    pub record: OrderRecord,
    pub events: Vec<OrderEventRecord>,
}

impl OrderView {
    /// `user`'s own order with its history; `NotFound` for anyone else's (the one lookup every
    /// capability makes before acting on an applicant's order).
    pub(crate) async fn of_owner(
        orders: &dyn crate::ports::OrderBook,
        user: &CurrentUser,
        id: OrderId,
    ) -> Result<Self, Error> {
        let record = orders.order(user.id, id).await?.ok_or(Error::NotFound)?;
        let events = orders.order_events(id).await?;
        Ok(Self { record, events })
    }

    /// The courier address with the phone masked, line by line.
    pub fn ship_to_masked(&self) -> Option<String> {
        self.record.order.ship_to.as_deref().map(mask_snapshot)
    }
}

/// Snapshots store `name\nphone\naddress`; shown with the phone masked.
fn mask_snapshot(snapshot: &str) -> String {
    let mut lines = snapshot.lines();
    let (name, phone, rest) =
        (lines.next().unwrap_or(""), lines.next().unwrap_or(""), lines.collect::<Vec<_>>().join(" "));
    format!("{name} {} {rest}", mask_middle(phone, 3, 4))
}

/// How the key and the invoice reach the applicant, resolved to snapshots.
struct Handover {
    delivery: Delivery,
    ship_to: Option<String>,
    new_address: Option<Address>,
    pickup_point: Option<String>,
    invoice: Option<OrderInvoice>,
}

/// What an order keeps of its address: `name\nphone\nregion and street`.
fn snapshot(recipient: &str, phone: &str, region: &str, detail: &str) -> String {
    format!("{recipient}\n{phone}\n{region}{detail}")
}

fn address_snapshot(a: &AddressRecord) -> String {
    snapshot(&a.recipient, &a.phone, &a.region_name, &a.detail)
}

fn new_address_snapshot(a: &Address) -> String {
    snapshot(a.recipient.as_str(), a.phone.as_str(), &a.region.full_name(), &a.detail)
}

/// The field of a new address's error, as the confirm form names it.
fn new_address_field(field: &'static str) -> &'static str {
    match field {
        "recipient" => "new_address.recipient",
        "phone" => "new_address.phone",
        "province_code" => "new_address.province_code",
        "city_code" => "new_address.city_code",
        "district_code" => "new_address.district_code",
        "detail" => "new_address.detail",
        other => other,
    }
}

fn address_book_full() -> Error {
    Error::Conflict {
        code: "address_limit",
        message: format!("最多可保存{MAX_ADDRESSES_PER_USER}个收货地址，请先删除不用的地址"),
    }
}

impl App {
    /// Turns a complete application into an order in 待支付. Retrying with the same
    /// `idempotency_key` returns the same order; reusing the key for a different request is a
    /// conflict.
    pub async fn confirm_order(
        &self,
        user: &CurrentUser,
        application: ApplicationId,
        form: &ConfirmForm,
        idempotency_key: &str,
    ) -> Result<OrderView, Error> {
        // Ownership first: someone else's application is "not found", whatever else is wrong.
        let (draft, catalog) = self.application_and_catalog(user, application).await?;
        let key = idempotency_key.trim();
        if !(8..=64).contains(&key.len()) || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            return Err(Error::field("idempotency_key", "idempotency_key_invalid", "请求标识无效，请刷新页面后重试"));
        }
        let request_hash = request_hash(application, form);
        if let Some(existing) = self.store.order_by_idempotency_key(user.id, key).await? {
            return self.replay(user, existing, &request_hash).await;
        }
        match self.place_order(user, draft, &catalog, form, key, &request_hash).await {
            // A twin request with the same key may have created the order while this one was
            // checking (it then meets that order as "already submitted" or "open order exists"):
            // the answer is the twin's, as if this request had waited for it.
            Err(err @ Error::Conflict { .. }) => match self.store.order_by_idempotency_key(user.id, key).await? {
                Some(existing) => self.replay(user, existing, &request_hash).await,
                None => Err(err),
            },
            placed => placed,
        }
    }

    async fn place_order(
        &self,
        user: &CurrentUser,
        draft: crate::applications::ApplicationView,
        catalog: &Catalog,
        form: &ConfirmForm,
        key: &str,
        request_hash: &str,
    ) -> Result<OrderView, Error> {
        let application = draft.record.id;
        let missing = draft.missing_steps();
        if !missing.is_empty() {
            return Err(Error::Conflict {
                code: "application_incomplete",
                message: "申请信息尚未填写完整，请先完成套餐、主体、经办人信息并上传全部材料".into(),
            });
        }
        if self.store.open_order_for_application(application).await?.is_some() {
            return Err(submitted());
        }
        let record = &draft.record;
        let package = draft
            .package
            .clone()
            .filter(|p| catalog.packages.iter().any(|c| c.id == p.id))
            .ok_or_else(|| Error::field("package_id", "package_unavailable", "所选套餐已下架，请重新选择套餐"))?;

        let handover = self.handover(user, form, record.subject_kind == SubjectKind::Enterprise, catalog).await?;
        let delivery = handover.delivery;
        let fees = FeeBreakdown::compute(package.price, delivery, &catalog.fees)
            .map_err(|_| Error::Conflict {
                code: "amount_out_of_range", message: "订单金额超出允许范围".into()
            })?;
        let subject_plain = match record.subject_kind {
            SubjectKind::Enterprise => record.credit_code.clone().unwrap_or_default(),
            SubjectKind::Personal => self
                .keys
                .open(crate::applications::HOLDER_ID, record.holder_id_sealed.as_deref().unwrap_or_default())?,
        };
        let subject_index =
            self.keys.blind_index("order-subject", &format!("{}:{subject_plain}", record.subject_kind.as_str()));
        if let Some((owner, order_no)) = self.store.open_order_for_subject(&subject_index, record.business).await? {
            return Err(open_order_exists(owner == user.id, &order_no, record.business.label()));
        }
        let now = self.clock.now();
        let mut order = NewOrder {
            order_no: order_number(now),
            user_id: user.id,
            application_id: application,
            idempotency_key: key.to_owned(),
            request_hash: request_hash.to_owned(),
            subject_kind: record.subject_kind,
            business: record.business,
            subject_index,
            subject_name: record.company_name.clone().or_else(|| record.holder_name.clone()).unwrap_or_default(),
            package_name: package.name(),
            delivery,
            ship_to: handover.ship_to,
            new_address: handover.new_address,
            pickup_point: handover.pickup_point,
            invoice: handover.invoice,
            fees,
            flagged: record.credit_code_checksum_ok == Some(false),
        };
        let mut created = self.store.create_order(&order, now).await;
        if matches!(created, Err(StoreError::Duplicate(Unique::OrderNumber))) {
            // One in a hundred million per day; a second draw settles it.
            order.order_no = order_number(now);
            created = self.store.create_order(&order, now).await;
        }
        match created {
            Ok(id) => {
                tracing::info!(order = %id, "order created");
                self.order(user, id).await
            }
            Err(StoreError::Duplicate(Unique::OrderIdempotencyKey)) => {
                let existing = self.store.order_by_idempotency_key(user.id, key).await?.ok_or(Error::NotFound)?;
                self.replay(user, existing, request_hash).await
            }
            Err(StoreError::Duplicate(Unique::OrderOpenSubject)) => {
                Err(open_order_exists(false, "", record.business.label()))
            }
            Err(StoreError::Refused(Refusal::AddressBookFull)) => Err(address_book_full()),
            Err(err) => Err(err.into()),
        }
    }

    /// Delivery and invoice of the confirm form, checked together so every problem is reported
    /// at once.
    async fn handover(
        &self,
        user: &CurrentUser,
        form: &ConfirmForm,
        is_company: bool,
        catalog: &Catalog,
    ) -> Result<Handover, Error> {
        let mut errors = FieldErrors::new();
        let delivery = Delivery::parse(&form.delivery);
        let (mut ship_to, mut new_address, mut pickup_point) = (None, None, None);
        match delivery {
            Some(Delivery::Courier) => match &form.new_address {
                Some(draft) => match draft.validate() {
                    // A full address book is found by the store, in the order's transaction.
                    Ok(address) => {
                        ship_to = Some(new_address_snapshot(&address));
                        new_address = Some(address);
                    }
                    Err(address_errors) => {
                        for e in address_errors.iter() {
                            errors.add(new_address_field(e.field), e.code, e.message.clone());
                        }
                    }
                },
                None => match self.owned_address(user, form.address_id).await? {
                    Some(address) => ship_to = Some(address_snapshot(&address)),
                    None => errors.add("address_id", "address_required", "请选择收货地址"),
                },
            },
            Some(Delivery::Pickup) => match catalog.pickup_points.iter().find(|p| Some(p.id) == form.pickup_point_id) {
                Some(p) => pickup_point = Some(format!("{}\n{}\n{}\n{}", p.name, p.address, p.phone, p.hours)),
                None => errors.add("pickup_point_id", "pickup_point_required", "请选择自提点"),
            },
            None => errors.add("delivery", "delivery_invalid", "请选择配送方式（快递或自提）"),
        }
        let invoice = match form.invoice.validate(is_company) {
            Ok(invoice) => invoice,
            Err(invoice_errors) => {
                for e in invoice_errors.iter() {
                    errors.add(e.field, e.code, e.message.clone());
                }
                None
            }
        };
        let mut invoice_ship_to = None;
        if invoice.as_ref().is_some_and(|i| i.delivery == InvoiceDelivery::ToAddress) {
            match self.owned_address(user, form.invoice_address_id).await? {
                Some(address) => invoice_ship_to = Some(address_snapshot(&address)),
                None => errors.add("invoice_address_id", "invoice_address_required", "请选择发票邮寄地址"),
            }
        }
        let Some(delivery) = delivery.filter(|_| errors.is_empty()) else { return Err(errors.into()) };
        Ok(Handover {
            delivery,
            ship_to,
            new_address,
            pickup_point,
            invoice: invoice.map(|i| OrderInvoice {
                kind: i.kind.as_str().into(),
                title: i.title,
                taxpayer_no: i.taxpayer_no.map(|c| c.as_str().to_owned()),
                address_phone: i.address_phone,
                bank_account: i.bank_account,
                delivery: i.delivery.as_str().into(),
                email: i.email.map(|e| e.as_str().to_owned()),
                ship_to: invoice_ship_to,
            }),
        })
    }

    async fn replay(&self, user: &CurrentUser, existing: OrderRecord, request_hash: &str) -> Result<OrderView, Error> {
        if existing.order.request_hash != request_hash {
            return Err(Error::Conflict {
                code: "idempotency_key_reused",
                message: "该请求标识已用于另一份订单，请刷新页面后重新提交".into(),
            });
        }
        self.order(user, existing.id).await
    }

    async fn owned_address(&self, user: &CurrentUser, id: Option<i64>) -> Result<Option<AddressRecord>, Error> {
        match id {
            Some(id) => Ok(self.store.address(user.id, AddressId(id)).await?),
            None => Ok(None),
        }
    }

    /// 我的订单, newest first.
    pub async fn order_summaries(&self, user: &CurrentUser) -> Result<Vec<OrderSummary>, Error> {
        Ok(self.store.order_summaries(user.id).await?)
    }

    pub async fn order(&self, user: &CurrentUser, id: OrderId) -> Result<OrderView, Error> {
        OrderView::of_owner(self.store.as_ref(), user, id).await
    }

    /// 取消: only an unpaid order. Its open trades are closed at the gateway first; one that
    /// was paid meanwhile makes the order paid instead.
    pub async fn cancel_order(&self, user: &CurrentUser, id: OrderId) -> Result<OrderView, Error> {
        let current = self.order(user, id).await?;
        order_status::transition(current.record.status, OrderEvent::Cancel, Actor::Applicant)
            .map_err(|e| Error::Conflict { code: "order_state_conflict", message: e.message() })?;
        if self.payments.close_trades(id).await? {
            return Err(Error::Conflict {
                code: "order_paid",
                message: "该订单已支付成功，不能取消；如需退款请联系客服".into(),
            });
        }
        self.apply(id, current.record.status, OrderEvent::Cancel, Actor::Applicant, None).await?;
        self.order(user, id).await
    }

    /// Cancels orders still unpaid after `Policy::unpaid_order_ttl`; returns how many.
    pub async fn cancel_unpaid_orders(&self) -> Result<usize, Error> {
        let before = self.clock.now() - self.policy.unpaid_order_ttl;
        let mut cancelled = 0;
        for id in self.store.unpaid_orders_created_before(before).await? {
            let reason = "超时未支付，系统已自动取消";
            match self.payments.close_trades(id).await {
                Ok(false) => {}
                // Paid after all.
                Ok(true) => continue,
                Err(err) => {
                    tracing::warn!(order = %id, error = %err, "auto-cancel postponed: trades could not be closed");
                    continue;
                }
            }
            match self.apply(id, OrderStatus::PendingPayment, OrderEvent::Cancel, Actor::System, Some(reason)).await {
                Ok(()) => cancelled += 1,
                // Paid or cancelled in the meantime: nothing to do.
                Err(Error::Conflict { .. }) => {}
                Err(err) => return Err(err),
            }
        }
        if cancelled > 0 {
            tracing::info!(cancelled, "unpaid orders cancelled");
        }
        Ok(cancelled)
    }

    /// One transition: checked against the table, then a conditional update with its history row.
    async fn apply(
        &self,
        id: OrderId,
        from: OrderStatus,
        event: OrderEvent,
        actor: Actor,
        reason: Option<&str>,
    ) -> Result<(), Error> {
        let to = order_status::transition(from, event, actor)
            .map_err(|e| Error::Conflict { code: "order_state_conflict", message: e.message() })?;
        if self.store.transition_order(id, from, to, actor, reason, self.clock.now()).await? {
            Ok(())
        } else {
            Err(Error::Conflict {
                code: "order_state_conflict", message: "订单状态已变化，请刷新后查看".into()
            })
        }
    }

    /// Applications behind an open order are frozen, except while the order is rejected
    /// (修改订单): then the applicant corrects what the reviewer flagged.
    pub(crate) async fn ensure_editable(&self, application: ApplicationId) -> Result<(), Error> {
        match self.store.open_order_for_application(application).await? {
            Some((_, OrderStatus::Rejected)) | None => Ok(()),
            Some(_) => Err(submitted()),
        }
    }

    /// The open order made from one of the user's applications, with its status (修改订单 edits
    /// the application behind a rejected one).
    pub async fn open_order_of(
        &self,
        user: &CurrentUser,
        application: ApplicationId,
    ) -> Result<Option<(OrderId, OrderStatus)>, Error> {
        self.application(user, application).await?;
        Ok(self.store.open_order_for_application(application).await?)
    }

    /// 重新提交: a corrected, rejected order goes back to review.
    pub async fn resubmit_order(&self, user: &CurrentUser, id: OrderId) -> Result<OrderView, Error> {
        let current = self.order(user, id).await?;
        let draft = self.application(user, current.record.order.application_id).await?;
        if !draft.missing_steps().is_empty() {
            return Err(Error::Conflict {
                code: "application_incomplete",
                message: "申请信息尚未填写完整，请补全后再重新提交".into(),
            });
        }
        let reason = "申请人已修改并重新提交";
        self.apply(id, current.record.status, OrderEvent::Resubmit, Actor::Applicant, Some(reason)).await?;
        let record = &draft.record;
        if let Some(name) = record.company_name.clone().or_else(|| record.holder_name.clone()) {
            self.store.set_order_subject_name(id, &name, self.clock.now()).await?;
        }
        self.order(user, id).await
    }
}

/// `SD` + the date in China + 8 random digits, e.g. `SD2026112503141592`.
fn order_number(now: time::OffsetDateTime) -> String {
    let date = now.to_offset(crate::applications::CST).date();
    format!(
        "SD{:04}{:02}{:02}{:08}",
        date.year(),
        u8::from(date.month()),
        date.day(),
        rand::rng().random_range(0..100_000_000)
    )
}

fn submitted() -> Error {
    Error::Conflict {
        code: "application_submitted",
        message: "该申请已提交为订单，不能再修改；如需修改，请先取消订单".into(),
    }
}

fn open_order_exists(own: bool, order_no: &str, business: &str) -> Error {
    let message = if own {
        format!("该主体已有进行中的{business}订单（订单号 {order_no}），请先完成或取消该订单")
    } else {
        format!("该主体已有进行中的{business}订单，不能重复申请；如有疑问请联系客服")
    };
    Error::Conflict { code: "open_order_exists", message }
}

/// A digest of everything that shapes the order, to recognise a retry.
fn request_hash(application: ApplicationId, f: &ConfirmForm) -> String {
    let i = &f.invoice;
    let parts = [
        application.0.to_string(),
        f.delivery.clone(),
        format!("{:?}", f.address_id),
        f.new_address.as_ref().map_or_else(String::new, |a| {
            [&a.recipient, &a.phone, &a.province_code, &a.city_code, &a.district_code, &a.detail]
                .map(|v| v.trim())
                .join("\u{1f}")
        }),
        format!("{:?}", f.pickup_point_id),
        i.kind.clone(),
        i.title.clone(),
        i.taxpayer_no.clone(),
        i.address_phone.clone(),
        i.bank_account.clone(),
        i.delivery.clone(),
        i.email.clone(),
        format!("{:?}", f.invoice_address_id),
    ];
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    hex::encode(hasher.finalize())
}
