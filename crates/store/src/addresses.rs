//! `AddressRepo` over the `addresses` table. Every statement is scoped by `user_id`; at most one
//! default per user is enforced by a partial unique index as well as by these transactions.

use app::StoreError;
use app::ports::{AddressRecord, AddressRepo};
use async_trait::async_trait;
use domain::{Address, AddressId, UserId};
use time::OffsetDateTime;

use crate::sql::{self, Tx};
use crate::{Db, db_err};

sql::row! {
    struct AddressRow {
        id: i64,
        recipient: String,
        phone: String,
        province_code: String,
        city_code: String,
        district_code: String,
        region_name: String,
        detail: String,
        is_default: bool,
    }
}

impl From<AddressRow> for AddressRecord {
    fn from(r: AddressRow) -> Self {
        Self {
            id: AddressId(r.id),
            recipient: r.recipient,
            phone: r.phone,
            province_code: r.province_code,
            city_code: r.city_code,
            district_code: r.district_code,
            region_name: r.region_name,
            detail: r.detail,
            is_default: r.is_default,
        }
    }
}

const SELECT_ADDRESS: &str =
    "SELECT id, recipient, phone, province_code, city_code, district_code, region_name, detail, is_default
     FROM addresses";

fn codes(address: &Address) -> (&str, &str, &str) {
    let region = &address.region;
    (region.province.code, region.city.as_ref().map_or("", |c| c.code), region.county.as_ref().map_or("", |c| c.code))
}

/// Adds `address` to `user`'s book inside `tx`, unless the book already holds `max`; the first
/// address, or one marked so, becomes the default. Also used when an order is confirmed with an
/// address typed there (one transaction for both).
pub(crate) async fn insert_address(
    tx: &mut Tx,
    user: UserId,
    address: &Address,
    max: usize,
    now: OffsetDateTime,
) -> Result<Option<AddressId>, StoreError> {
    let count: i64 = sql::query_scalar("SELECT COUNT(*) FROM addresses WHERE user_id = $1")
        .bind(user.0)
        .fetch_one(&mut **tx)
        .await
        .map_err(db_err)?;
    if usize::try_from(count).unwrap_or(usize::MAX) >= max {
        return Ok(None);
    }
    let is_default = address.is_default || count == 0;
    if is_default {
        clear_default(tx, user).await?;
    }
    let (province, city, district) = codes(address);
    let id: i64 = sql::query_scalar(
        "INSERT INTO addresses (user_id, recipient, phone, province_code, city_code, district_code, region_name, detail,
                                is_default, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id",
    )
    .bind(user.0)
    .bind(address.recipient.as_str())
    .bind(address.phone.as_str())
    .bind(province)
    .bind(city)
    .bind(district)
    .bind(address.region.full_name())
    .bind(&address.detail)
    .bind(is_default)
    .bind(now)
    .fetch_one(&mut **tx)
    .await
    .map_err(db_err)?;
    Ok(Some(AddressId(id)))
}

async fn clear_default(tx: &mut Tx, user: UserId) -> Result<(), StoreError> {
    sql::query("UPDATE addresses SET is_default = FALSE WHERE user_id = $1 AND is_default")
        .bind(user.0)
        .execute(&mut **tx)
        .await
        .map_err(db_err)?;
    Ok(())
}

#[async_trait]
impl AddressRepo for Db {
    async fn list_addresses(&self, user: UserId) -> Result<Vec<AddressRecord>, StoreError> {
        let rows = sql::query_as::<AddressRow>(&format!(
            "{SELECT_ADDRESS} WHERE user_id = $1 ORDER BY is_default DESC, id DESC"
        ))
        .bind(user.0)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn address(&self, user: UserId, id: AddressId) -> Result<Option<AddressRecord>, StoreError> {
        let row = sql::query_as::<AddressRow>(&format!("{SELECT_ADDRESS} WHERE user_id = $1 AND id = $2"))
            .bind(user.0)
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(row.map(Into::into))
    }

    async fn create_address(
        &self,
        user: UserId,
        address: &Address,
        max: usize,
        now: OffsetDateTime,
    ) -> Result<Option<AddressId>, StoreError> {
        let mut tx = self.write_tx().await?;
        let id = insert_address(&mut tx, user, address, max, now).await?;
        if id.is_some() {
            tx.commit().await.map_err(db_err)?;
        }
        Ok(id)
    }

    async fn update_address(
        &self,
        user: UserId,
        id: AddressId,
        address: &Address,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut tx = self.write_tx().await?;
        if address.is_default {
            clear_default(&mut tx, user).await?;
        }
        let (province, city, district) = codes(address);
        // Unticking "default" on the default address keeps it default: there is always one.
        let done = sql::query(
            "UPDATE addresses SET recipient = $1, phone = $2, province_code = $3, city_code = $4, district_code = $5,
                 region_name = $6, detail = $7, is_default = CASE WHEN $8 THEN TRUE ELSE is_default END, updated_at = $9
             WHERE user_id = $10 AND id = $11",
        )
        .bind(address.recipient.as_str())
        .bind(address.phone.as_str())
        .bind(province)
        .bind(city)
        .bind(district)
        .bind(address.region.full_name())
        .bind(&address.detail)
        .bind(address.is_default)
        .bind(now)
        .bind(user.0)
        .bind(id.0)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

    async fn delete_address(&self, user: UserId, id: AddressId) -> Result<bool, StoreError> {
        let mut tx = self.write_tx().await?;
        let was_default: Option<bool> =
            sql::query_scalar("DELETE FROM addresses WHERE user_id = $1 AND id = $2 RETURNING is_default")
                .bind(user.0)
                .bind(id.0)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_err)?;
        let Some(was_default) = was_default else {
            return Ok(false);
        };
        if was_default {
            sql::query(
                "UPDATE addresses SET is_default = TRUE
                 WHERE id = (SELECT id FROM addresses WHERE user_id = $1 ORDER BY id DESC LIMIT 1)",
            )
            .bind(user.0)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

    async fn set_default_address(&self, user: UserId, id: AddressId, now: OffsetDateTime) -> Result<bool, StoreError> {
        let mut tx = self.write_tx().await?;
        let exists: Option<i64> = sql::query_scalar("SELECT id FROM addresses WHERE user_id = $1 AND id = $2")
            .bind(user.0)
            .bind(id.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
        if exists.is_none() {
            return Ok(false);
        }
        clear_default(&mut tx, user).await?;
        sql::query("UPDATE addresses SET is_default = TRUE, updated_at = $1 WHERE user_id = $2 AND id = $3")
            .bind(now)
            .bind(user.0)
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }
}
