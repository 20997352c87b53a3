//! `SealRepo`: the electronic seal made for each certificate, and where each order's seal
//! picture comes from.

use app::StoreError;
use app::ports::{SealRecord, SealRepo};
use async_trait::async_trait;
use domain::seal::SealSource;
use domain::{OrderId, StaffId};
use time::OffsetDateTime;

use crate::sql;
use crate::{Db, db_err};

#[async_trait]
impl SealRepo for Db {
    async fn record_seal(&self, seal: &SealRecord) -> Result<SealRecord, StoreError> {
        sql::query(
            "INSERT INTO seals (serial, es_id, der, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (serial) DO NOTHING",
        )
        .bind(&seal.serial)
        .bind(&seal.es_id)
        .bind(&seal.der)
        .bind(seal.created_at)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        self.seal_of_certificate(&seal.serial).await?.ok_or_else(|| StoreError::Other("seal not kept".into()))
    }

    async fn seal_of_certificate(&self, serial: &str) -> Result<Option<SealRecord>, StoreError> {
        let row: Option<(String, String, Vec<u8>, OffsetDateTime)> =
            sql::query_as("SELECT serial, es_id, der, created_at FROM seals WHERE serial = $1")
                .bind(serial)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)?;
        Ok(row.map(|(serial, es_id, der, created_at)| SealRecord { serial, es_id, der, created_at }))
    }

    async fn choose_seal_source(
        &self,
        order: OrderId,
        source: SealSource,
        staff: StaffId,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        sql::query(
            "INSERT INTO seal_choices (order_id, source, chosen_by, chosen_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (order_id) DO UPDATE SET source = excluded.source, chosen_by = excluded.chosen_by,
                 chosen_at = excluded.chosen_at",
        )
        .bind(order.0)
        .bind(source.as_str())
        .bind(staff)
        .bind(at)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn seal_source(&self, order: OrderId) -> Result<Option<SealSource>, StoreError> {
        let row: Option<(String,)> = sql::query_as("SELECT source FROM seal_choices WHERE order_id = $1")
            .bind(order.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.map(|(source,)| {
            SealSource::parse(&source).ok_or_else(|| StoreError::Other(format!("bad seal source {source}")))
        })
        .transpose()
    }
}
