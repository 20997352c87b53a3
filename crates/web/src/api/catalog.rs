//! The catalog applicants choose from: packages, fees, pickup points.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::error::{ApiError, ErrorBody};

#[derive(Debug, Serialize, ToSchema)]
pub struct PackageItem {
    pub id: i64,
    /// `enterprise` or `personal`.
    pub subject_kind: String,
    /// `main` (主锁) or `secondary` (副锁).
    pub key_type: String,
    /// e.g. `主锁 · 2年`.
    pub name: String,
    pub years: i64,
    /// Integer fen.
    pub price_fen: i64,
}

/// Amounts in integer fen; the unit is in every name on purpose.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeesItem {
    pub courier_fen: i64,
    pub pickup_fen: i64,
    pub service_fen: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PickupPointItem {
    pub id: i64,
    pub name: String,
    pub address: String,
    pub phone: String,
    pub hours: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CatalogResponse {
    pub packages: Vec<PackageItem>,
    pub fees: FeesItem,
    pub pickup_points: Vec<PickupPointItem>,
}

/// Packages (套餐) with prices in fen, delivery and service fees, pickup points.
#[utoipa::path(get, path = "/api/v1/catalog", tag = "applications",
    responses((status = 200, body = CatalogResponse), (status = 500, body = ErrorBody)))]
pub async fn get_catalog(State(state): State<AppState>) -> Result<Json<CatalogResponse>, ApiError> {
    let c = state.app.catalog().await?;
    Ok(Json(CatalogResponse {
        packages: c
            .packages
            .iter()
            .map(|p| PackageItem {
                id: p.id.0,
                subject_kind: p.subject_kind.as_str().into(),
                key_type: p.key_type.as_str().into(),
                name: p.name(),
                years: p.years,
                price_fen: p.price.fen(),
            })
            .collect(),
        fees: FeesItem {
            courier_fen: c.fees.courier.fen(),
            pickup_fen: c.fees.pickup.fen(),
            service_fen: c.fees.service.fen(),
        },
        pickup_points: c
            .pickup_points
            .into_iter()
            .map(|p| PickupPointItem { id: p.id.0, name: p.name, address: p.address, phone: p.phone, hours: p.hours })
            .collect(),
    }))
}
