//! The catalog and the blank forms.

use super::{Books, lock};
use crate::StoreError;
use crate::ports::{Catalog, CatalogRepo, FormTemplate, PackageRecord, PickupPoint, TemplateRepo};
use async_trait::async_trait;
use domain::document::DocumentKind;
use domain::pricing::Fees;
use domain::{Money, PackageId, PickupPointId, StaffId};

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
