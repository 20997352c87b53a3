//! `CatalogRepo` over `packages`, `fees` and `pickup_points`.

use app::StoreError;
use app::ports::{Catalog, CatalogRepo, PackageRecord, PickupPoint};
use async_trait::async_trait;
use domain::application::SubjectKind;
use domain::pricing::{Fees, KeyType};
use domain::{Money, PackageId};

use crate::{Db, db_err};

#[derive(sqlx::FromRow)]
struct PackageRow {
    id: i64,
    code: String,
    subject_kind: String,
    key_type: String,
    years: i64,
    price_fen: i64,
    active: i64,
}

#[derive(sqlx::FromRow)]
struct FeesRow {
    courier_fen: i64,
    pickup_fen: i64,
    service_fen: i64,
}

#[derive(sqlx::FromRow)]
struct PickupRow {
    id: i64,
    name: String,
    address: String,
    phone: String,
    hours: String,
}

fn money(fen: i64) -> Result<Money, StoreError> {
    Money::from_fen(fen).map_err(|_| StoreError::Other(format!("stored amount out of range: {fen}")))
}

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Other(format!("stored {what} is unknown: {value}"))
}

#[async_trait]
impl CatalogRepo for Db {
    async fn catalog(&self) -> Result<Catalog, StoreError> {
        let rows = sqlx::query_as::<_, PackageRow>(
            "SELECT id, code, subject_kind, key_type, years, price_fen, active FROM packages WHERE active = 1 ORDER BY sort_order, id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        let mut packages = Vec::with_capacity(rows.len());
        for r in rows {
            packages.push(PackageRecord {
                id: PackageId(r.id),
                subject_kind: SubjectKind::parse(&r.subject_kind)
                    .ok_or_else(|| corrupt("subject kind", &r.subject_kind))?,
                key_type: KeyType::parse(&r.key_type).ok_or_else(|| corrupt("key type", &r.key_type))?,
                code: r.code,
                years: r.years,
                price: money(r.price_fen)?,
                active: r.active != 0,
            });
        }
        let fees = sqlx::query_as::<_, FeesRow>("SELECT courier_fen, pickup_fen, service_fen FROM fees WHERE id = 1")
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)?;
        let pickup_points = sqlx::query_as::<_, PickupRow>(
            "SELECT id, name, address, phone, hours FROM pickup_points WHERE active = 1 ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?
        .into_iter()
        .map(|r| PickupPoint { id: r.id, name: r.name, address: r.address, phone: r.phone, hours: r.hours })
        .collect();
        Ok(Catalog {
            packages,
            fees: Fees {
                courier: money(fees.courier_fen)?,
                pickup: money(fees.pickup_fen)?,
                service: money(fees.service_fen)?,
            },
            pickup_points,
        })
    }
}
