//! 管理: packages and prices, delivery and service fees, pickup points — edited by admins, each
//! change written to the audit log — and the dashboard (orders by state, review waiting times,
//! today's payments). Orders keep the prices they were placed at: they store snapshots.

use domain::pricing::Fees;
use domain::staff::Role;
use domain::{FieldErrors, Money, OrderStatus, PackageId};
use time::Duration;

use std::sync::Arc;

use crate::clock::Clock;
use crate::ports::{CatalogRepo, FileStore, PackageRecord, PickupPoint, TemplateRepo};
use crate::staff::{AuditTrail, CurrentStaff};
use crate::{App, Error};

/// What the admin dashboard shows.
#[derive(Debug, Clone)]
pub struct Dashboard {
    pub counts: Vec<(OrderStatus, i64)>,
    pub in_review: usize,
    /// How long the oldest order in review has waited.
    pub oldest_review: Option<Duration>,
    /// Today's money (China time): received, refunded, net.
    pub today: crate::finance::Takings,
}

/// The catalog as admins edit it.
#[derive(Debug, Clone)]
pub struct CatalogAdmin {
    pub packages: Vec<PackageRecord>,
    pub fees: Fees,
    pub pickup_points: Vec<(PickupPoint, bool)>,
}

fn yuan(field: &'static str, text: &str, errors: &mut FieldErrors) -> Option<Money> {
    let parsed = Money::parse_yuan(text.trim()).ok();
    if parsed.is_none() {
        errors.add(field, "amount_invalid", "请填写正确的金额（元，最多两位小数）");
    }
    parsed
}

impl App {
    pub async fn dashboard(&self, staff: &CurrentStaff) -> Result<Dashboard, Error> {
        staff.require(&[Role::Admin])?;
        // Every state, in the order of the journey, zero included.
        let stored = self.store.order_counts().await?;
        let counts: Vec<(OrderStatus, i64)> =
            OrderStatus::ALL.iter().map(|s| (*s, stored.iter().find(|(t, _)| t == s).map_or(0, |(_, n)| *n))).collect();
        let queue = self.store.review_queue().await?;
        let now = self.clock.now();
        let mut oldest = None;
        for (order, _, _) in &queue {
            let since = self.store.order_events(order.id).await?.last().map_or(order.created_at, |e| e.at);
            oldest = oldest.max(Some(now - since));
        }
        let day = now.to_offset(crate::applications::CST).date();
        let today = self.takings_between(day, day).await?;
        Ok(Dashboard { counts, in_review: queue.len(), oldest_review: oldest, today })
    }
}

/// The catalog as admins keep it: packages and prices, fees, pickup points and the blank forms.
/// It holds only the ports it needs, so its rules are tested against in-memory fakes.
#[derive(Clone)]
pub struct Catalogue {
    repo: Arc<dyn CatalogRepo>,
    templates: Arc<dyn TemplateRepo>,
    files: Arc<dyn FileStore>,
    audit: AuditTrail,
    clock: Arc<dyn Clock>,
}

impl Catalogue {
    pub fn new(
        repo: Arc<dyn CatalogRepo>,
        templates: Arc<dyn TemplateRepo>,
        files: Arc<dyn FileStore>,
        audit: AuditTrail,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self { repo, templates, files, audit, clock }
    }

    pub async fn catalog_admin(&self, staff: &CurrentStaff) -> Result<CatalogAdmin, Error> {
        staff.require(&[Role::Admin])?;
        Ok(CatalogAdmin {
            packages: self.repo.all_packages().await?,
            fees: self.repo.catalog().await?.fees,
            pickup_points: self.repo.all_pickup_points().await?,
        })
    }

    /// A package's price (yuan text) and whether it is offered.
    pub async fn set_package(&self, staff: &CurrentStaff, id: i64, price: &str, active: bool) -> Result<(), Error> {
        staff.require(&[Role::Admin])?;
        let mut errors = FieldErrors::new();
        let price = yuan("price", price, &mut errors).filter(|p| *p > Money::ZERO);
        let Some(price) = price.filter(|_| errors.is_empty()) else {
            return Err(Error::field("price", "amount_invalid", "请填写大于 0 的价格（元，最多两位小数）"));
        };
        let before = self.repo.all_packages().await?.into_iter().find(|p| p.id == PackageId(id));
        if !self.repo.set_package(PackageId(id), price, active).await? {
            return Err(Error::NotFound);
        }
        let state = if active { "上架" } else { "下架" };
        // Readable in the audit log: the package's name and its price before and after.
        let detail = match before {
            Some(p) => format!("{}：{} 元 → {} 元，{state}", p.name(), p.price.to_yuan(), price.to_yuan()),
            None => format!("套餐 {id}：{} 元，{state}", price.to_yuan()),
        };
        self.audit.record(Some(staff.id), "catalog.package", None, &detail).await
    }

    pub async fn set_fees(
        &self,
        staff: &CurrentStaff,
        courier: &str,
        pickup: &str,
        service: &str,
    ) -> Result<(), Error> {
        staff.require(&[Role::Admin])?;
        let mut errors = FieldErrors::new();
        let fees = (
            yuan("courier", courier, &mut errors),
            yuan("pickup", pickup, &mut errors),
            yuan("service", service, &mut errors),
        );
        let (Some(courier), Some(pickup), Some(service)) = fees else { return Err(errors.into()) };
        self.repo.set_fees(&Fees { courier, pickup, service }).await?;
        let detail =
            format!("快递 {} 元，自提 {} 元，服务费 {} 元", courier.to_yuan(), pickup.to_yuan(), service.to_yuan());
        self.audit.record(Some(staff.id), "catalog.fees", None, &detail).await
    }

    /// Adds (`id` 0) or edits a pickup point.
    pub async fn save_pickup_point(
        &self,
        staff: &CurrentStaff,
        point: &PickupPoint,
        active: bool,
    ) -> Result<domain::PickupPointId, Error> {
        staff.require(&[Role::Admin])?;
        let mut errors = FieldErrors::new();
        let clean = |s: &str| s.trim().to_owned();
        let point = PickupPoint {
            id: point.id,
            name: clean(&point.name),
            address: clean(&point.address),
            phone: clean(&point.phone),
            hours: clean(&point.hours),
        };
        if point.name.is_empty() || point.name.chars().count() > 40 {
            errors.add("name", "name_invalid", "请填写自提点名称（不超过 40 个字）");
        }
        if point.address.chars().count() < 5 || point.address.chars().count() > 100 {
            errors.add("address", "address_invalid", "请填写完整的自提点地址");
        }
        let phone_ok =
            (7..=20).contains(&point.phone.len()) && point.phone.chars().all(|c| c.is_ascii_digit() || c == '-');
        if !phone_ok {
            errors.add("phone", "phone_invalid", "请填写自提点联系电话（如 0591-88888888）");
        }
        if point.hours.is_empty() || point.hours.chars().count() > 60 {
            errors.add("hours", "hours_invalid", "请填写营业时间");
        }
        if !errors.is_empty() {
            return Err(errors.into());
        }
        let id = self.repo.save_pickup_point(&point, active).await?;
        self.audit
            .record(Some(staff.id), "catalog.pickup_point", None, &format!("{}：{}", point.name, point.address))
            .await?;
        Ok(id)
    }

    /// Replaces a blank form (申请表, 授权书, 服务协议) with an uploaded PDF.
    pub async fn upload_form_template(&self, staff: &CurrentStaff, kind: &str, pdf: Vec<u8>) -> Result<(), Error> {
        use sha2::{Digest, Sha256};
        staff.require(&[Role::Admin])?;
        let kind = domain::document::DocumentKind::parse(kind).filter(|k| k.accepts_pdf()).ok_or(Error::NotFound)?;
        let clean = tokio::task::spawn_blocking(move || crate::media::sanitize(&pdf, true))
            .await
            .map_err(|e| crate::StoreError::Other(format!("sanitising task failed: {e}")))?
            .map_err(|e| Error::field("file", e.code(), "请上传 PDF 格式的模板"))?;
        if clean.content_type != "application/pdf" {
            return Err(Error::field("file", "template_not_pdf", "请上传 PDF 格式的模板"));
        }
        let template = crate::ports::FormTemplate {
            kind,
            file_key: format!("template{}.bin", uuid::Uuid::new_v4().simple()),
            size: i64::try_from(clean.bytes.len()).unwrap_or(i64::MAX),
            sha256: hex::encode(Sha256::digest(&clean.bytes)),
            uploaded_at: self.clock.now(),
        };
        self.files.put(&template.file_key, clean.bytes).await?;
        if let Some(old) = self.templates.set_template(&template, staff.id).await? {
            let _ = self.files.delete(&old).await;
        }
        self.audit.record(Some(staff.id), "catalog.template", None, &format!("{}：上传新模板", kind.label())).await
    }

    /// Goes back to the built-in printable form.
    pub async fn remove_form_template(&self, staff: &CurrentStaff, kind: &str) -> Result<(), Error> {
        staff.require(&[Role::Admin])?;
        let kind = domain::document::DocumentKind::parse(kind).ok_or(Error::NotFound)?;
        if let Some(old) = self.templates.delete_template(kind).await? {
            let _ = self.files.delete(&old).await;
        }
        self.audit.record(Some(staff.id), "catalog.template", None, &format!("{}：恢复内置模板", kind.label())).await
    }

    /// The uploaded blank form of `kind`, if any (public).
    pub async fn form_template(&self, kind: &str) -> Result<Option<Vec<u8>>, Error> {
        let Some(kind) = domain::document::DocumentKind::parse(kind) else { return Ok(None) };
        match self.templates.template(kind).await? {
            Some(t) => Ok(Some(self.files.get(&t.file_key).await?)),
            None => Ok(None),
        }
    }

    /// Which kinds have an uploaded template (admin page).
    pub async fn form_templates(
        &self,
        staff: &CurrentStaff,
    ) -> Result<Vec<(domain::document::DocumentKind, Option<crate::ports::FormTemplate>)>, Error> {
        staff.require(&[Role::Admin])?;
        let mut out = Vec::new();
        for kind in domain::document::DocumentKind::ALL.iter().copied().filter(|k| k.accepts_pdf()) {
            out.push((kind, self.templates.template(kind).await?));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests;
