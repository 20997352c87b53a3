//! 制证与发货 (manual: "制作数字证书 USB-Key", "通过快递进行邮寄", "用户将收到自提通知"): the
//! 待处理 list, recording the produced key, shipping by courier (→ 待收货, then 已完成 when the
//! applicant confirms receipt or after `Policy::auto_complete_after`), or readying it at the
//! pickup point with a pickup code (→ 待自提) and handing it over against that code (→ 已完成).

use domain::fulfilment::{KeyDraft, shipment};
use domain::pricing::Delivery;
use domain::staff::Role;
use domain::{Actor, OrderEvent, OrderId, OrderStatus, order_status};
use rand::Rng;

use std::sync::Arc;

use crate::Error;
use crate::clock::Clock;
use crate::crypto::Keys;
use crate::notifications::{Announcer, Tell};
use crate::orders::OrderView;
use crate::ports::{
    AuditEntry, Dispatch, DispatchChange, FulfilmentRecord, FulfilmentRepo, KeyPinBook, NewNotification, OrderBook,
    OrderRecord, UserDirectory,
};
use crate::sessions::CurrentUser;
use crate::staff::{AuditTrail, CurrentStaff};

const PICKUP_CODE: &str = "pickup-code";

/// One line of the fulfilment list.
#[derive(Debug, Clone)]
pub struct FulfilmentItem {
    pub order: OrderRecord,
    pub fulfilment: Option<FulfilmentRecord>,
}

/// What the applicant sees of delivery on their order.
#[derive(Debug, Clone, Default)]
pub struct DeliveryView {
    pub courier: Option<String>,
    pub tracking_no: Option<String>,
    /// Shown to the owner only, while the key waits at the pickup point.
    pub pickup_code: Option<String>,
    pub serial: Option<String>,
    pub valid_to: Option<String>,
}

fn conflict(e: order_status::TransitionError) -> Error {
    Error::Conflict { code: "order_state_conflict", message: e.message() }
}

fn moved() -> Error {
    Error::Conflict { code: "order_state_conflict", message: "订单状态已变化，请刷新后查看".into() }
}

/// 制证与发货 after the key is made: recording it, shipping or readying it for pickup, handing
/// it over, the applicant's receipt and the automatic completion. It holds only the ports it
/// needs, so the rules are tested against in-memory fakes.
#[derive(Clone)]
pub struct Fulfilment {
    dispatch: Arc<dyn FulfilmentRepo>,
    orders: Arc<dyn OrderBook>,
    owners: Arc<dyn UserDirectory>,
    pins: Arc<dyn KeyPinBook>,
    announcer: Arc<dyn Announcer>,
    audit: AuditTrail,
    keys: Arc<Keys>,
    clock: Arc<dyn Clock>,
    /// How long after shipping a courier order completes unless the applicant confirmed earlier.
    auto_complete_after: time::Duration,
}

/// The ports a [`Fulfilment`] works with.
pub struct FulfilmentPorts {
    pub dispatch: Arc<dyn FulfilmentRepo>,
    pub orders: Arc<dyn OrderBook>,
    pub owners: Arc<dyn UserDirectory>,
    pub pins: Arc<dyn KeyPinBook>,
    pub announcer: Arc<dyn Announcer>,
    pub audit: AuditTrail,
    pub keys: Arc<Keys>,
    pub clock: Arc<dyn Clock>,
}

impl Fulfilment {
    pub fn new(ports: FulfilmentPorts, auto_complete_after: time::Duration) -> Self {
        let FulfilmentPorts { dispatch, orders, owners, pins, announcer, audit, keys, clock } = ports;
        Self { dispatch, orders, owners, pins, announcer, audit, keys, clock, auto_complete_after }
    }

    /// The user's own order with its history; `NotFound` for anyone else's.
    async fn order(&self, user: &CurrentUser, id: OrderId) -> Result<OrderView, Error> {
        OrderView::of_owner(self.orders.as_ref(), user, id).await
    }

    /// The key's user PIN, once a station recorded it.
    async fn user_pin(&self, id: OrderId) -> Result<Option<String>, Error> {
        match self.pins.key_pins(id).await? {
            Some(pins) => Ok(Some(self.keys.open(crate::station::USER_PIN, &pins.user_pin_sealed)?)),
            None => Ok(None),
        }
    }

    pub async fn fulfilment_queue(&self, staff: &CurrentStaff) -> Result<Vec<FulfilmentItem>, Error> {
        staff.require(&[Role::Fulfilment])?;
        let mut items = Vec::new();
        for order in self.dispatch.fulfilment_queue().await? {
            let fulfilment = self.dispatch.fulfilment(order.id).await?;
            items.push(FulfilmentItem { order, fulfilment });
        }
        Ok(items)
    }

    pub async fn fulfilment_of(&self, staff: &CurrentStaff, id: OrderId) -> Result<Option<FulfilmentRecord>, Error> {
        staff.require(&[Role::Fulfilment, Role::Reviewer])?;
        Ok(self.dispatch.fulfilment(id).await?)
    }

    /// Records the produced key (key type, certificate serial, validity).
    pub async fn record_key(&self, staff: &CurrentStaff, id: OrderId, draft: &KeyDraft) -> Result<(), Error> {
        staff.require(&[Role::Fulfilment])?;
        let key = draft.validate()?;
        self.orders.order_by_id(id).await?.ok_or(Error::NotFound)?;
        if !self.dispatch.save_key(id, &key, staff.id, self.clock.now()).await? {
            return Err(Error::Conflict {
                code: "order_state_conflict",
                message: "只有待处理的订单可以登记制证信息".into(),
            });
        }
        let detail = format!("{} {} {}–{}", key.key_type.label(), key.serial, key.valid_from, key.valid_to);
        self.audit.record(Some(staff.id), "order.key_recorded", Some(id), &detail).await
    }

    async fn ready_order(&self, id: OrderId, delivery: Delivery) -> Result<OrderRecord, Error> {
        let order = self.orders.order_by_id(id).await?.ok_or(Error::NotFound)?;
        if order.order.delivery != delivery {
            return Err(Error::Conflict {
                code: "delivery_mismatch",
                message: format!("该订单的配送方式是{}", order.order.delivery.label()),
            });
        }
        if self.dispatch.fulfilment(id).await?.is_none() {
            return Err(Error::Conflict {
                code: "key_not_recorded",
                message: "请先登记制证信息（介质、证书序列号、有效期）".into(),
            });
        }
        Ok(order)
    }

    /// 快递: courier and tracking number → 待收货.
    pub async fn ship(&self, staff: &CurrentStaff, id: OrderId, courier: &str, tracking_no: &str) -> Result<(), Error> {
        staff.require(&[Role::Fulfilment])?;
        let (courier, tracking_no) = shipment(courier, tracking_no)?;
        let order = self.ready_order(id, Delivery::Courier).await?;
        let to = order_status::transition(order.status, OrderEvent::Ship, Actor::Fulfilment).map_err(conflict)?;
        let reason = format!("已发货：{courier} {tracking_no}");
        let audit = self.audit_entry(staff, "order.ship", id, &reason);
        let sms = format!("您的订单 {} {reason}，请注意查收。", order.order.order_no);
        let text =
            format!("您的数字证书 USB-Key 已寄出：{courier}，快递单号 {tracking_no}。收到后请在“我的订单”中确认收货。");
        let tell = Tell {
            key: format!("order:{}:shipped", id.0),
            sms: &sms,
            subject: "【电子签章】USB-Key 已发货",
            text: &text,
        };
        let notify = self.announcer.applicant_messages(&order, &tell).await?;
        let change = DispatchChange::Shipped { courier, tracking_no };
        self.step(id, order.status, to, Actor::Fulfilment, &reason, change, Some(&audit), &notify).await?;
        self.announcer.deliver_now().await;
        Ok(())
    }

    /// 自提: the key waits at the pickup point; a pickup code goes to the applicant.
    pub async fn ready_for_pickup(&self, staff: &CurrentStaff, id: OrderId) -> Result<(), Error> {
        staff.require(&[Role::Fulfilment])?;
        let order = self.ready_order(id, Delivery::Pickup).await?;
        let to =
            order_status::transition(order.status, OrderEvent::ReadyForPickup, Actor::Fulfilment).map_err(conflict)?;
        let code = format!("{:06}", rand::rng().random_range(0..1_000_000));
        let sealed_code = self.keys.seal(PICKUP_CODE, &code)?;
        let audit = self.audit_entry(staff, "order.ready_for_pickup", id, "");
        let reason = "证书已制作完成，请凭取件码到自提点领取";
        // The snapshot taken at 确认订单: name, address, phone, opening hours, one per line.
        let lines: Vec<&str> = order.order.pickup_point.as_deref().map(|p| p.lines().collect()).unwrap_or_default();
        let line = |n: usize| lines.get(n).copied().filter(|l| !l.trim().is_empty());
        let point = line(0).unwrap_or("自提点");
        let place = line(1).map_or_else(|| point.to_owned(), |address| format!("{point}（{address}）"));
        let hours = line(3).map(|h| format!("，开放时间 {h}")).unwrap_or_default();
        let phone = line(2).map(|p| format!("，电话 {p}")).unwrap_or_default();
        let sms =
            format!("您的订单 {} 已可领取，取件码 {code}，请到{place}凭取件码领取{hours}。", order.order.order_no);
        let text =
            format!("您的数字证书 USB-Key 已制作完成，请携带身份证件到{place}领取，取件码 {code}{hours}{phone}。");
        let tell = Tell {
            key: format!("order:{}:ready", id.0),
            sms: &sms,
            subject: "【电子签章】USB-Key 可以领取了",
            text: &text,
        };
        let notify = self.announcer.applicant_messages(&order, &tell).await?;
        let change = DispatchChange::ReadyForPickup { sealed_code };
        self.step(id, order.status, to, Actor::Fulfilment, reason, change, Some(&audit), &notify).await?;
        self.announcer.deliver_now().await;
        Ok(())
    }

    /// 交付: staff enter the applicant's pickup code → 已完成.
    pub async fn hand_over(&self, staff: &CurrentStaff, id: OrderId, code: &str) -> Result<(), Error> {
        staff.require(&[Role::Fulfilment])?;
        let order = self.ready_order(id, Delivery::Pickup).await?;
        let sealed = self.dispatch.fulfilment(id).await?.and_then(|f| f.pickup_code).ok_or_else(moved)?;
        let expected = self.keys.open(PICKUP_CODE, &sealed)?;
        if !crate::crypto::constant_time_eq(code.trim(), &expected) {
            self.audit.record(Some(staff.id), "order.handover_refused", Some(id), "取件码不正确").await?;
            return Err(Error::field("code", "pickup_code_invalid", "取件码不正确，请核对申请人的短信或核验身份证件"));
        }
        let to = order_status::transition(order.status, OrderEvent::HandOver, Actor::Fulfilment).map_err(conflict)?;
        let audit = self.audit_entry(staff, "order.hand_over", id, "凭取件码交付");
        let notify = self.pin_message(&order).await?;
        self.step(
            id,
            order.status,
            to,
            Actor::Fulfilment,
            "已在自提点领取",
            DispatchChange::Completed,
            Some(&audit),
            &notify,
        )
        .await?;
        self.announcer.deliver_now().await;
        Ok(())
    }

    /// The SMS that hands the applicant their key's user PIN — sent only once the key is in their
    /// hands (receipt confirmed or handed over), so a key lost on the way is useless to a finder.
    async fn pin_message(&self, order: &OrderRecord) -> Result<Vec<NewNotification>, Error> {
        let Some(pin) = self.user_pin(order.id).await? else { return Ok(Vec::new()) };
        let Some(user) = self.owners.user_by_id(order.order.user_id).await? else { return Ok(Vec::new()) };
        Ok(vec![NewNotification {
            dedupe_key: format!("order:{}:user-pin:sms", order.id.0),
            channel: "sms".into(),
            recipient: user.phone.as_str().to_owned(),
            subject: String::new(),
            body: format!(
                "您的订单 {} 的 USB-Key 用户 PIN 为 {pin}。请首次使用时修改 PIN，切勿告诉他人。",
                order.order.order_no
            ),
            html: None,
            attachments: None,
        }])
    }

    /// 确认收货 by the applicant (courier orders).
    pub async fn confirm_receipt(&self, user: &CurrentUser, id: OrderId) -> Result<OrderView, Error> {
        let view = self.order(user, id).await?;
        if view.record.order.delivery != Delivery::Courier {
            return Err(Error::Conflict {
                code: "delivery_mismatch",
                message: "自提订单由工作人员在交付时确认".into(),
            });
        }
        let to = order_status::transition(view.record.status, OrderEvent::ConfirmReceipt, Actor::Applicant)
            .map_err(conflict)?;
        let notify = self.pin_message(&view.record).await?;
        self.step(
            id,
            view.record.status,
            to,
            Actor::Applicant,
            "申请人已确认收货",
            DispatchChange::Completed,
            None,
            &notify,
        )
        .await?;
        self.announcer.deliver_now().await;
        self.order(user, id).await
    }

    /// Completes couriered orders shipped more than `Policy::auto_complete_after` ago.
    pub async fn auto_complete_orders(&self) -> Result<usize, Error> {
        let before = self.clock.now() - self.auto_complete_after;
        let mut done = 0;
        for id in self.dispatch.shipped_before(before).await? {
            let reason = "发货后超过确认期限，系统自动确认收货";
            let Some(order) = self.orders.order_by_id(id).await? else { continue };
            let notify = self.pin_message(&order).await?;
            match self
                .step(
                    id,
                    OrderStatus::Delivering,
                    OrderStatus::Completed,
                    Actor::System,
                    reason,
                    DispatchChange::Completed,
                    None,
                    &notify,
                )
                .await
            {
                Ok(()) => done += 1,
                Err(Error::Conflict { .. }) => {}
                Err(err) => return Err(err),
            }
        }
        Ok(done)
    }

    /// What the owner sees about delivery.
    pub async fn delivery_view(&self, user: &CurrentUser, id: OrderId) -> Result<DeliveryView, Error> {
        let view = self.order(user, id).await?;
        let Some(f) = self.dispatch.fulfilment(id).await? else { return Ok(DeliveryView::default()) };
        let pickup_code = match (&f.pickup_code, view.record.status) {
            (Some(sealed), OrderStatus::Delivering) => Some(self.keys.open(PICKUP_CODE, sealed)?),
            _ => None,
        };
        Ok(DeliveryView {
            courier: f.courier,
            tracking_no: f.tracking_no,
            pickup_code,
            serial: Some(f.key.serial),
            valid_to: Some(f.key.valid_to.to_string()),
        })
    }

    fn audit_entry(&self, staff: &CurrentStaff, action: &str, id: OrderId, detail: &str) -> AuditEntry {
        AuditEntry {
            at: self.clock.now(),
            staff_id: Some(staff.id),
            action: action.into(),
            order_id: Some(id),
            detail: detail.into(),
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn step(
        &self,
        id: OrderId,
        from: OrderStatus,
        to: OrderStatus,
        actor: Actor,
        reason: &str,
        change: DispatchChange,
        audit: Option<&AuditEntry>,
        notify: &[NewNotification],
    ) -> Result<(), Error> {
        let step = Dispatch { id, from, to, actor, reason, change, audit, notify, now: self.clock.now() };
        if self.dispatch.dispatch(&step).await? { Ok(()) } else { Err(moved()) }
    }
}

#[cfg(test)]
mod tests;
