//! 审核 (manual: "业务人员审核您递交的申请材料"): the queue of orders in 审核中, oldest first with
//! their warnings; claiming an order so two reviewers do not collide; the case with every
//! document; 通过 (→ 待处理, pinning the approved documents by SHA-256) or 不通过 with reasons the
//! applicant sees. A reviewer never reviews an order they submitted. Opening an ID image needs
//! a reason and is written to the audit log.

use domain::document::DocumentKind;
use domain::staff::Role;
use domain::{OrderId, OrderStatus};
use time::{Duration, OffsetDateTime};

use std::sync::Arc;

use crate::applications::ApplicationView;
use crate::clock::Clock;
use crate::notifications::{Announcer, Tell};
use crate::orders::OrderView;
use crate::ports::{
    AuditEntry, DocumentRecord, DocumentShelf, OrderBook, OrderRecord, ReviewDecision, ReviewRepo, UserDirectory,
};
use crate::staff::{AuditTrail, CurrentStaff};
use crate::{App, Error};

/// A claim nobody acted on for this long may be taken over.
pub const CLAIM_TIMEOUT: Duration = Duration::minutes(30);

/// One line of the review queue.
#[derive(Debug, Clone)]
pub struct QueueItem {
    pub order: OrderRecord,
    /// Since it entered review.
    pub waiting: Duration,
    pub claimed_by: Option<String>,
    pub warnings: Vec<String>,
}

/// Everything a reviewer looks at for one order.
#[derive(Debug, Clone)]
pub struct ReviewCase {
    pub view: OrderView,
    pub application: ApplicationView,
    /// Who holds the claim (name), if anyone other than the viewer.
    pub claimed_by_other: Option<String>,
    pub mine: bool,
    /// The reviewer submitted this order themselves.
    pub own_order: bool,
    pub pins: Vec<(String, String)>,
    /// What OCR read from the photos, by document kind (ID numbers masked).
    pub readings: std::collections::BTreeMap<String, crate::ports::OcrReading>,
    /// Per field read from a photo: `accepted` (the applicant kept the reading) or `corrected`.
    pub field_sources: std::collections::BTreeMap<String, String>,
}

impl ReviewCase {
    /// How a field came to hold its value, in words, when a photo was read for it.
    pub fn source_of(&self, field: &str) -> Option<&'static str> {
        match self.field_sources.get(field).map(String::as_str) {
            Some("accepted") => Some("照片识别，申请人已核对"),
            Some("corrected") => Some("申请人修改了照片识别结果"),
            _ => None,
        }
    }
}

/// 审核's decisions: claiming an order, and 通过 or 不通过 under the claim. It holds only the
/// ports they need, so the rules are tested against in-memory fakes.
#[derive(Clone)]
pub struct Review {
    claims: Arc<dyn ReviewRepo>,
    orders: Arc<dyn OrderBook>,
    documents: Arc<dyn DocumentShelf>,
    owners: Arc<dyn UserDirectory>,
    announcer: Arc<dyn Announcer>,
    audit: AuditTrail,
    clock: Arc<dyn Clock>,
}

/// The ports a [`Review`] works with.
pub struct ReviewPorts {
    pub claims: Arc<dyn ReviewRepo>,
    pub orders: Arc<dyn OrderBook>,
    pub documents: Arc<dyn DocumentShelf>,
    pub owners: Arc<dyn UserDirectory>,
    pub announcer: Arc<dyn Announcer>,
    pub audit: AuditTrail,
    pub clock: Arc<dyn Clock>,
}

impl Review {
    pub fn new(ports: ReviewPorts) -> Self {
        let ReviewPorts { claims, orders, documents, owners, announcer, audit, clock } = ports;
        Self { claims, orders, documents, owners, announcer, audit, clock }
    }

    /// Whether the staff member submitted the order themselves (by their own mobile number).
    pub(crate) async fn is_own_order(&self, staff: &CurrentStaff, order: &OrderRecord) -> Result<bool, Error> {
        let Some(phone) = &staff.phone else { return Ok(false) };
        let owner = self.owners.user_by_id(order.order.user_id).await?;
        Ok(owner.is_some_and(|u| u.phone.as_str() == phone))
    }

    /// Takes the order for review (or keeps it); refused while another reviewer holds it.
    pub async fn claim_review(&self, staff: &CurrentStaff, id: OrderId) -> Result<(), Error> {
        staff.require(&[Role::Reviewer])?;
        let record = self.orders.order_by_id(id).await?.ok_or(Error::NotFound)?;
        if self.is_own_order(staff, &record).await? {
            return Err(own_order());
        }
        let now = self.clock.now();
        if !self.claims.claim_order(id, staff.id, now - CLAIM_TIMEOUT, now).await? {
            return Err(match record.status {
                OrderStatus::UnderReview => {
                    Error::Conflict { code: "claimed_by_other", message: "该订单正由其他审核员处理".into() }
                }
                _ => not_in_review(),
            });
        }
        self.audit.record(Some(staff.id), "order.claim", Some(id), "").await
    }

    /// 通过: the order goes to 待处理 with the current documents pinned.
    pub async fn approve_review(&self, staff: &CurrentStaff, id: OrderId) -> Result<(), Error> {
        self.claim_review(staff, id).await?;
        let record = self.orders.order_by_id(id).await?.ok_or(Error::NotFound)?;
        let documents = self.documents.documents(record.order.user_id, record.order.application_id).await?;
        let pins: Vec<(String, String)> =
            documents.iter().map(|d: &DocumentRecord| (d.kind.as_str().to_owned(), d.sha256.clone())).collect();
        let detail = pins.iter().map(|(k, h)| format!("{k}={}", &h[..12.min(h.len())])).collect::<Vec<_>>().join(" ");
        let sms = format!("您的订单 {} 已审核通过，我们将尽快为您制作证书。", record.order.order_no);
        let tell = Tell {
            key: format!("order:{}:approved:{}", id.0, self.orders.order_events(id).await?.len()),
            sms: &sms,
            subject: "【电子签章】审核通过",
            text: "您递交的申请材料已审核通过，我们将尽快为您制作数字证书 USB-Key。",
        };
        let notify = self.announcer.applicant_messages(&record, &tell).await?;
        self.decide(staff, id, OrderStatus::Processing, "审核通过", &pins, &notify, "order.approve", &detail).await?;
        self.announcer.deliver_now().await;
        Ok(())
    }

    /// 不通过 with the reasons the applicant will see.
    pub async fn reject_review(
        &self,
        staff: &CurrentStaff,
        id: OrderId,
        reasons: &[String],
        note: &str,
    ) -> Result<(), Error> {
        let text = domain::review::rejection_text(reasons, note)?;
        self.claim_review(staff, id).await?;
        let record = self.orders.order_by_id(id).await?.ok_or(Error::NotFound)?;
        let sms = format!("您的订单 {} 审核未通过：{text}。请登录修改后重新提交。", record.order.order_no);
        let body = format!(
            "您递交的申请材料未通过审核，原因：{text}。\n请登录系统，在“我的订单”中点击“修改订单”，按原因修改后重新提交。"
        );
        let tell = Tell {
            key: format!("order:{}:rejected:{}", id.0, self.orders.order_events(id).await?.len()),
            sms: &sms,
            subject: "【电子签章】审核未通过，请修改后重新提交",
            text: &body,
        };
        let notify = self.announcer.applicant_messages(&record, &tell).await?;
        self.decide(staff, id, OrderStatus::Rejected, &text, &[], &notify, "order.reject", &text).await?;
        self.announcer.deliver_now().await;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn decide(
        &self,
        staff: &CurrentStaff,
        id: OrderId,
        to: OrderStatus,
        reason: &str,
        pins: &[(String, String)],
        notify: &[crate::ports::NewNotification],
        action: &str,
        detail: &str,
    ) -> Result<(), Error> {
        domain::order_status::transition(OrderStatus::UnderReview, event_for(to), domain::Actor::Reviewer)
            .map_err(|e| Error::Conflict { code: "order_state_conflict", message: e.message() })?;
        let audit = AuditEntry {
            at: self.clock.now(),
            staff_id: Some(staff.id),
            action: action.into(),
            order_id: Some(id),
            detail: detail.into(),
        };
        let decision = ReviewDecision {
            id,
            from: OrderStatus::UnderReview,
            to,
            staff: staff.id,
            reason: Some(reason),
            pins,
            audit: &audit,
            notify,
        };
        if self.claims.decide_review(&decision).await? { Ok(()) } else { Err(not_in_review()) }
    }
}

impl App {
    pub async fn review_queue(&self, staff: &CurrentStaff) -> Result<Vec<QueueItem>, Error> {
        staff.require(&[Role::Reviewer])?;
        let now = self.clock.now();
        let mut items = Vec::new();
        for (order, claimed_by, claimed_at) in self.store.review_queue().await? {
            let mut warnings = Vec::new();
            if order.order.flagged {
                warnings.push("统一社会信用代码未通过校验".to_owned());
            }
            if order.order.subject_kind == domain::application::SubjectKind::Personal
                && let Some(record) = self.store.application(order.order.user_id, order.order.application_id).await?
                && record.holder_name != record.agent_name
            {
                warnings.push("经办人与持有人不是同一人，请核对授权书".to_owned());
            }
            if let Some(record) = self.store.application(order.order.user_id, order.order.application_id).await? {
                warnings.extend(self.reading_warnings(&record).await?);
            }
            let live_claim = claimed_at.is_some_and(|at| now - at < CLAIM_TIMEOUT);
            let claimed_by = match claimed_by.filter(|_| live_claim) {
                Some(id) => Some(self.staff_name(id).await?),
                None => None,
            };
            let since = self.store.order_events(order.id).await?.last().map_or(order.created_at, |e| e.at);
            items.push(QueueItem { waiting: now - since, claimed_by, warnings, order });
        }
        items.sort_by_key(|i| std::cmp::Reverse(i.waiting));
        Ok(items)
    }

    /// The case for one order (any state, for reviewers and fulfilment).
    pub async fn review_case(&self, staff: &CurrentStaff, id: OrderId) -> Result<ReviewCase, Error> {
        staff.require(&[Role::Reviewer, Role::Fulfilment])?;
        let record = self.store.order_by_id(id).await?.ok_or(Error::NotFound)?;
        let events = self.store.order_events(id).await?;
        let owner = record.order.user_id;
        let application = self.store.application(owner, record.order.application_id).await?.ok_or(Error::NotFound)?;
        let catalog = self.store.catalog().await?;
        let documents = self.store.documents(owner, record.order.application_id).await?;
        let reading_warnings = self.reading_warnings(&application).await?;
        let mut application = self.view(application, &catalog, documents)?;
        application.warnings.extend(reading_warnings);
        let own_order = self.review.is_own_order(staff, &record).await?;
        let claim = self.store.order_claim(id).await?.filter(|(_, at)| self.clock.now() - *at < CLAIM_TIMEOUT);
        let mine = claim.is_some_and(|(by, _)| by == staff.id);
        let claimed_by_other = match claim.filter(|(by, _)| *by != staff.id) {
            Some((by, _)) => Some(self.staff_name(by).await?),
            None => None,
        };
        let pins = self.store.review_pins(id).await?;
        let readings = self
            .readings_of(record.order.application_id)
            .await?
            .into_iter()
            .map(|(k, r)| (k, crate::recognition::masked(r)))
            .collect();
        let field_sources = self.store.field_sources(record.order.application_id).await?.into_iter().collect();
        Ok(ReviewCase {
            view: OrderView { record, events },
            application,
            claimed_by_other,
            mine,
            own_order,
            pins,
            readings,
            field_sources,
        })
    }

    /// Where what OCR read on the photos disagrees with what the applicant typed, and what the
    /// readings themselves flagged (expired card, sex or birth date against the number).
    async fn reading_warnings(&self, record: &crate::ports::ApplicationRecord) -> Result<Vec<String>, Error> {
        let readings = self.readings_of(record.id).await?;
        let read = |kind: &str, field: &str| readings.get(kind).and_then(|r| r.fields.get(field)).cloned();
        let typed_id = |sealed: &Option<String>, purpose: &str| -> Result<Option<String>, Error> {
            Ok(sealed.as_deref().map(|s| self.keys.open(purpose, s)).transpose()?)
        };
        let mut warnings = Vec::new();
        let mut differ = |reading: Option<String>, typed: Option<String>, what: &str| {
            if let (Some(r), Some(t)) = (reading, typed)
                && r.chars().filter(|c| !c.is_whitespace()).ne(t.chars().filter(|c| !c.is_whitespace()))
            {
                warnings.push(format!("{what}与填写的不一致（识别为 {}）", domain::mask::mask_middle(&r, 3, 4)));
            }
        };
        differ(read("license", "company_name"), record.company_name.clone(), "营业执照上的名称");
        differ(read("license", "credit_code"), record.credit_code.clone(), "营业执照上的统一社会信用代码");
        differ(read("holder_id_front", "name"), record.holder_name.clone(), "持有人身份证上的姓名");
        differ(read("agent_id_front", "name"), record.agent_name.clone(), "经办人身份证上的姓名");
        differ(
            read("holder_id_front", "id_number"),
            typed_id(&record.holder_id_sealed, crate::applications::HOLDER_ID)?,
            "持有人身份证号码",
        );
        differ(
            read("agent_id_front", "id_number"),
            typed_id(&record.agent_id_sealed, crate::applications::AGENT_ID)?,
            "经办人身份证号码",
        );
        for (kind, reading) in &readings {
            let label = domain::document::DocumentKind::parse(kind).map_or(kind.as_str(), |k| k.label());
            warnings.extend(reading.warnings.iter().map(|w| format!("{label}：{w}")));
        }
        Ok(warnings)
    }

    /// A document of an order, for staff. Identity images need a stated reason; every view is
    /// written to the audit log.
    pub async fn staff_document(
        &self,
        staff: &CurrentStaff,
        id: OrderId,
        kind: &str,
        reason: &str,
    ) -> Result<(DocumentRecord, Vec<u8>), Error> {
        staff.require(&[Role::Reviewer])?;
        let kind = DocumentKind::parse(kind).ok_or(Error::NotFound)?;
        let reason = reason.trim();
        if kind.is_identity() && reason.chars().count() < 2 {
            return Err(Error::field("reason", "reason_required", "查看身份证件照片前，请填写查看原因"));
        }
        let record = self.store.order_by_id(id).await?.ok_or(Error::NotFound)?;
        let document = self
            .store
            .document(record.order.user_id, record.order.application_id, kind)
            .await?
            .ok_or(Error::NotFound)?;
        self.audit(Some(staff.id), "document.view", Some(id), &format!("{}：{reason}", kind.label())).await?;
        let plain = self.read_sealed(&document.file_key, &document.wrapped_key).await?;
        Ok((document, plain))
    }

    /// The full ID numbers of an order (holder, agent), for a stated reason; written to the
    /// audit log. Everywhere else they are shown masked.
    pub async fn reveal_id_numbers(
        &self,
        staff: &CurrentStaff,
        id: OrderId,
        reason: &str,
    ) -> Result<(Option<String>, Option<String>), Error> {
        staff.require(&[Role::Reviewer])?;
        let reason = reason.trim();
        if reason.chars().count() < 2 {
            return Err(Error::field("reason", "reason_required", "查看完整证件号码前，请填写查看原因"));
        }
        let order = self.store.order_by_id(id).await?.ok_or(Error::NotFound)?;
        let record =
            self.store.application(order.order.user_id, order.order.application_id).await?.ok_or(Error::NotFound)?;
        let open =
            |sealed: &Option<String>, purpose: &str| sealed.as_deref().map(|s| self.keys.open(purpose, s)).transpose();
        let holder = open(&record.holder_id_sealed, crate::applications::HOLDER_ID)?;
        let agent = open(&record.agent_id_sealed, crate::applications::AGENT_ID)?;
        self.audit(Some(staff.id), "id_number.reveal", Some(id), reason).await?;
        Ok((holder, agent))
    }

    /// When the order entered its current state (for ages shown to staff).
    pub fn since(view: &OrderView) -> OffsetDateTime {
        view.events.last().map_or(view.record.created_at, |e| e.at)
    }
}

fn event_for(to: OrderStatus) -> domain::OrderEvent {
    if to == OrderStatus::Processing { domain::OrderEvent::Approve } else { domain::OrderEvent::Reject }
}

fn own_order() -> Error {
    Error::Conflict { code: "own_order", message: "不能审核本人提交的订单".into() }
}

fn not_in_review() -> Error {
    Error::Conflict { code: "not_in_review", message: "该订单已不在审核中，请刷新后查看".into() }
}

#[cfg(test)]
mod tests;
