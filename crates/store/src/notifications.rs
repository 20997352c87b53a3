//! `NotificationRepo`: the durable outbox. Rows are inserted with the state change they report
//! (see [`insert_notifications`], used inside other transactions) and leased by workers: on
//! PostgreSQL with `FOR UPDATE SKIP LOCKED`, so several instances never take the same row; on
//! SQLite the write transaction itself serialises the lease.

use app::StoreError;
use app::ports::{NewNotification, NotificationRecord, NotificationRepo};
use async_trait::async_trait;
use domain::NotificationId;
use time::OffsetDateTime;

use crate::db::Backend;
use crate::sql::{self, Tx};
use crate::{Db, db_err};

const PENDING: &str = "pending";

/// Inserts messages inside the caller's transaction; a key seen before is skipped.
pub(crate) async fn insert_notifications(
    tx: &mut Tx,
    messages: &[NewNotification],
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    for m in messages {
        sql::query(
            "INSERT INTO notifications (dedupe_key, channel, recipient, subject, body, html, attachments, status,
                 next_attempt_at, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) ON CONFLICT (dedupe_key) DO NOTHING",
        )
        .bind(m.dedupe_key.clone())
        .bind(m.channel.clone())
        .bind(m.recipient.clone())
        .bind(m.subject.clone())
        .bind(m.body.clone())
        .bind(m.html.clone())
        .bind(m.attachments.clone())
        .bind(PENDING)
        .bind(now)
        .execute(&mut **tx)
        .await
        .map_err(db_err)?;
    }
    Ok(())
}

type Row = (NotificationId, String, String, String, String, String, Option<String>, Option<String>, i64, String);

const COLUMNS: &str = "id, dedupe_key, channel, recipient, subject, body, html, attachments, attempts, status";

fn record(
    (id, dedupe_key, channel, recipient, subject, body, html, attachments, attempts, status): Row,
) -> NotificationRecord {
    NotificationRecord { id, dedupe_key, channel, recipient, subject, body, html, attachments, attempts, status }
}

#[async_trait]
impl NotificationRepo for Db {
    async fn enqueue_notifications(&self, messages: &[NewNotification], now: OffsetDateTime) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        insert_notifications(&mut tx, messages, now).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn claim_notifications(
        &self,
        now: OffsetDateTime,
        lease: time::Duration,
        limit: i64,
    ) -> Result<Vec<NotificationRecord>, StoreError> {
        let mut tx = self.write_tx().await?;
        let lock = if self.backend() == Backend::Postgres { " FOR UPDATE SKIP LOCKED" } else { "" };
        let rows: Vec<Row> = sql::query_as(&format!(
            "SELECT {COLUMNS} FROM notifications
             WHERE status = $1 AND next_attempt_at <= $2 AND (locked_until IS NULL OR locked_until <= $2)
             ORDER BY id LIMIT $3{lock}"
        ))
        .bind(PENDING)
        .bind(now)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await
        .map_err(db_err)?;
        for row in &rows {
            sql::query("UPDATE notifications SET locked_until = $1, attempts = attempts + 1 WHERE id = $2")
                .bind(now + lease)
                .bind(row.0)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(rows.into_iter().map(|r| NotificationRecord { attempts: r.8 + 1, ..record(r) }).collect())
    }

    async fn notification_sent(&self, id: NotificationId, now: OffsetDateTime) -> Result<(), StoreError> {
        sql::query("UPDATE notifications SET status = 'sent', sent_at = $1, locked_until = NULL, last_error = NULL WHERE id = $2")
            .bind(now)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn notification_failed(
        &self,
        id: NotificationId,
        error: &str,
        retry_at: Option<OffsetDateTime>,
    ) -> Result<(), StoreError> {
        let (status, next) = match retry_at {
            Some(at) => (PENDING, Some(at)),
            None => ("failed", None),
        };
        sql::query(
            "UPDATE notifications SET status = $1, next_attempt_at = COALESCE($2, next_attempt_at), locked_until = NULL,
                 last_error = $3 WHERE id = $4",
        )
        .bind(status)
        .bind(next)
        .bind(error.chars().take(500).collect::<String>())
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn notifications(&self, limit: i64) -> Result<Vec<NotificationRecord>, StoreError> {
        let rows: Vec<Row> = sql::query_as(&format!("SELECT {COLUMNS} FROM notifications ORDER BY id DESC LIMIT $1"))
            .bind(limit)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(rows.into_iter().map(record).collect())
    }
}
