//! The catalog: packages, fees, pickup points and form templates.

use crate::StoreError;
use async_trait::async_trait;
use domain::application::SubjectKind;
use domain::document::DocumentKind;
use domain::pricing::{Fees, KeyType};
use domain::{Money, PackageId, PickupPointId, StaffId};
use time::OffsetDateTime;

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
    pub id: PickupPointId,
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
    async fn save_pickup_point(&self, point: &PickupPoint, active: bool) -> Result<PickupPointId, StoreError>;
}

/// An admin-uploaded blank form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormTemplate {
    pub kind: DocumentKind,
    pub file_key: String,
    pub size: i64,
    pub sha256: String,
    pub uploaded_at: OffsetDateTime,
}

#[async_trait]
pub trait TemplateRepo: Send + Sync {
    /// Records the kind's template; returns the file key it replaced.
    async fn set_template(&self, template: &FormTemplate, staff: StaffId) -> Result<Option<String>, StoreError>;
    async fn template(&self, kind: DocumentKind) -> Result<Option<FormTemplate>, StoreError>;
    /// Removes the kind's template; returns its file key.
    async fn delete_template(&self, kind: DocumentKind) -> Result<Option<String>, StoreError>;
}
