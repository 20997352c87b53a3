//! `CatalogRepo` over `packages`, `fees` and `pickup_points`.

use app::StoreError;
use app::ports::{Catalog, CatalogRepo, PackageRecord, PickupPoint};
use async_trait::async_trait;
use domain::application::SubjectKind;
use domain::pricing::{Fees, KeyType};
use domain::{Money, PackageId};

use crate::sql;
use crate::{Db, db_err};

sql::row! {
    struct PackageRow {
        id: i64,
        code: String,
        subject_kind: String,
        key_type: String,
        years: i64,
        price_fen: i64,
        active: bool,
    }
}

sql::row! {
    struct FeesRow {
        courier_fen: i64,
        pickup_fen: i64,
        service_fen: i64,
    }
}

sql::row! {
    struct PickupRow {
        id: domain::PickupPointId,
        name: String,
        address: String,
        phone: String,
        hours: String,
        active: bool,
    }
}

fn money(fen: i64) -> Result<Money, StoreError> {
    Money::from_fen(fen).map_err(|_| StoreError::Other(format!("stored amount out of range: {fen}")))
}

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Other(format!("stored {what} is unknown: {value}"))
}

impl Db {
    async fn packages_where(&self, only_active: bool) -> Result<Vec<PackageRecord>, StoreError> {
        let filter = if only_active { "WHERE active " } else { "" };
        let rows = sql::query_as::<PackageRow>(&format!(
            "SELECT id, code, subject_kind, key_type, years, price_fen, active FROM packages {filter}ORDER BY sort_order, id"
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.into_iter()
            .map(|r| {
                Ok(PackageRecord {
                    id: PackageId(r.id),
                    subject_kind: SubjectKind::parse(&r.subject_kind)
                        .ok_or_else(|| corrupt("subject kind", &r.subject_kind))?,
                    key_type: KeyType::parse(&r.key_type).ok_or_else(|| corrupt("key type", &r.key_type))?,
                    code: r.code,
                    years: r.years,
                    price: money(r.price_fen)?,
                    active: r.active,
                })
            })
            .collect()
    }
}

#[async_trait]
impl CatalogRepo for Db {
    async fn catalog(&self) -> Result<Catalog, StoreError> {
        let packages = self.packages_where(true).await?;
        let fees = sql::query_as::<FeesRow>("SELECT courier_fen, pickup_fen, service_fen FROM fees WHERE id = 1")
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)?;
        let pickup_points = sql::query_as::<PickupRow>(
            "SELECT id, name, address, phone, hours, active FROM pickup_points WHERE active ORDER BY id",
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

    async fn all_packages(&self) -> Result<Vec<PackageRecord>, StoreError> {
        self.packages_where(false).await
    }

    async fn set_package(&self, id: PackageId, price: Money, active: bool) -> Result<bool, StoreError> {
        let done = sql::query("UPDATE packages SET price_fen = $1, active = $2 WHERE id = $3")
            .bind(price.fen())
            .bind(active)
            .bind(id.0)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn set_fees(&self, fees: &Fees) -> Result<(), StoreError> {
        sql::query("UPDATE fees SET courier_fen = $1, pickup_fen = $2, service_fen = $3 WHERE id = 1")
            .bind(fees.courier.fen())
            .bind(fees.pickup.fen())
            .bind(fees.service.fen())
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn all_pickup_points(&self) -> Result<Vec<(PickupPoint, bool)>, StoreError> {
        let rows =
            sql::query_as::<PickupRow>("SELECT id, name, address, phone, hours, active FROM pickup_points ORDER BY id")
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?;
        Ok(rows
            .into_iter()
            .map(|r| {
                (PickupPoint { id: r.id, name: r.name, address: r.address, phone: r.phone, hours: r.hours }, r.active)
            })
            .collect())
    }

    async fn save_pickup_point(&self, p: &PickupPoint, active: bool) -> Result<domain::PickupPointId, StoreError> {
        if p.id.0 == 0 {
            return sql::query_scalar(
                "INSERT INTO pickup_points (name, address, phone, hours, active) VALUES ($1, $2, $3, $4, $5) RETURNING id",
            )
            .bind(p.name.clone())
            .bind(p.address.clone())
            .bind(p.phone.clone())
            .bind(p.hours.clone())
            .bind(active)
            .fetch_one(&self.pool)
            .await
            .map_err(db_err);
        }
        sql::query(
            "UPDATE pickup_points SET name = $1, address = $2, phone = $3, hours = $4, active = $5 WHERE id = $6",
        )
        .bind(p.name.clone())
        .bind(p.address.clone())
        .bind(p.phone.clone())
        .bind(p.hours.clone())
        .bind(active)
        .bind(p.id)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(p.id)
    }
}
