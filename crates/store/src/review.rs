//! `ReviewRepo`: the review queue, claims, and the reviewer's decision written with its history
//! row, document pins and audit entry in one transaction.

use app::StoreError;
use app::ports::{OrderRecord, ReviewDecision, ReviewRepo};
use async_trait::async_trait;
use domain::{Actor, OrderId, OrderStatus, StaffId};
use time::OffsetDateTime;

use crate::history::{record_audit, record_event};
use crate::orders::{OrderRow, SELECT_ORDER};
use crate::sql;
use crate::{Db, db_err};

#[async_trait]
impl ReviewRepo for Db {
    async fn review_queue(&self) -> Result<Vec<(OrderRecord, Option<StaffId>, Option<OffsetDateTime>)>, StoreError> {
        let orders = sql::query_as::<OrderRow>(&format!("{SELECT_ORDER} WHERE status = $1 ORDER BY updated_at, id"))
            .bind(OrderStatus::UnderReview.as_str())
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        let claims: Vec<(i64, Option<StaffId>, Option<OffsetDateTime>)> =
            sql::query_as("SELECT id, claimed_by, claimed_at FROM orders WHERE status = $1")
                .bind(OrderStatus::UnderReview.as_str())
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?;
        orders
            .into_iter()
            .map(|row| {
                let record = row.into_record()?;
                let claim = claims.iter().find(|c| c.0 == record.id.0);
                let by = claim.and_then(|c| c.1);
                let at = claim.and_then(|c| c.2);
                Ok((record, by, at))
            })
            .collect()
    }

    async fn claim_order(
        &self,
        id: OrderId,
        staff: StaffId,
        stale_before: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let done = sql::query(
            "UPDATE orders SET claimed_by = $1, claimed_at = $2
             WHERE id = $3 AND status = $4 AND (claimed_by IS NULL OR claimed_by = $1 OR claimed_at < $5)",
        )
        .bind(staff)
        .bind(now)
        .bind(id.0)
        .bind(OrderStatus::UnderReview.as_str())
        .bind(stale_before)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn order_claim(&self, id: OrderId) -> Result<Option<(StaffId, OffsetDateTime)>, StoreError> {
        let row: Option<(Option<StaffId>, Option<OffsetDateTime>)> =
            sql::query_as("SELECT claimed_by, claimed_at FROM orders WHERE id = $1")
                .bind(id.0)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)?;
        Ok(row.and_then(|(by, at)| Some((by?, at?))))
    }

    async fn decide_review(&self, decision: &ReviewDecision<'_>) -> Result<bool, StoreError> {
        let ReviewDecision { id, from, to, staff, reason, pins, audit, notify } = *decision;
        let mut tx = self.write_tx().await?;
        let moved = sql::query(
            "UPDATE orders SET status = $1, updated_at = $2, claimed_by = NULL, claimed_at = NULL
             WHERE id = $3 AND status = $4 AND claimed_by = $5",
        )
        .bind(to.as_str())
        .bind(audit.at)
        .bind(id.0)
        .bind(from.as_str())
        .bind(staff)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if moved.rows_affected() != 1 {
            return Ok(false);
        }
        record_event(&mut *tx, id.0, from, to, Actor::Reviewer, reason, audit.at).await?;
        sql::query("DELETE FROM review_pins WHERE order_id = $1").bind(id.0).execute(&mut *tx).await.map_err(db_err)?;
        for (kind, sha256) in pins {
            sql::query("INSERT INTO review_pins (order_id, kind, sha256) VALUES ($1, $2, $3)")
                .bind(id.0)
                .bind(kind.clone())
                .bind(sha256.clone())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        record_audit(&mut *tx, audit).await?;
        crate::notifications::insert_notifications(&mut tx, notify, audit.at).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

    async fn review_pins(&self, id: OrderId) -> Result<Vec<(String, String)>, StoreError> {
        sql::query_as("SELECT kind, sha256 FROM review_pins WHERE order_id = $1 ORDER BY kind")
            .bind(id.0)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)
    }
}
