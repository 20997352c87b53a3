//! `SmsCodeRepo` over the `sms_codes` table.

use app::StoreError;
use app::ports::{NewSmsCode, SmsCodeRecord, SmsCodeRepo};
use async_trait::async_trait;
use domain::{Phone, SmsCodeId, SmsPurpose};
use time::OffsetDateTime;

use crate::sql;
use crate::{Db, db_err};

sql::row! {
    struct CodeRow {
        id: SmsCodeId,
        code_mac: String,
        expires_at: OffsetDateTime,
        wrong_guesses: i64,
    }
}

#[async_trait]
impl SmsCodeRepo for Db {
    async fn insert_sms_code(&self, code: &NewSmsCode<'_>) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        sql::query("UPDATE sms_codes SET consumed_at = $1 WHERE phone = $2 AND purpose = $3 AND consumed_at IS NULL")
            .bind(code.created_at)
            .bind(code.phone.as_str())
            .bind(code.purpose.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        sql::query(
            "INSERT INTO sms_codes (phone, purpose, code_mac, client, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(code.phone.as_str())
        .bind(code.purpose.as_str())
        .bind(&code.code_mac)
        .bind(code.client)
        .bind(code.created_at)
        .bind(code.expires_at)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)
    }

    async fn active_sms_code(
        &self,
        phone: &Phone,
        purpose: SmsPurpose,
        now: OffsetDateTime,
    ) -> Result<Option<SmsCodeRecord>, StoreError> {
        let row = sql::query_as::<CodeRow>(
            "SELECT id, code_mac, expires_at, wrong_guesses FROM sms_codes
             WHERE phone = $1 AND purpose = $2 AND consumed_at IS NULL AND expires_at > $3
             ORDER BY id DESC LIMIT 1",
        )
        .bind(phone.as_str())
        .bind(purpose.as_str())
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(row.map(|r| SmsCodeRecord {
            id: r.id,
            code_mac: r.code_mac,
            expires_at: r.expires_at,
            wrong_guesses: r.wrong_guesses,
        }))
    }

    async fn record_wrong_guess(&self, id: SmsCodeId, kill_at: i64, now: OffsetDateTime) -> Result<i64, StoreError> {
        sql::query_scalar(
            "UPDATE sms_codes SET wrong_guesses = wrong_guesses + 1,
                 consumed_at = CASE WHEN wrong_guesses + 1 >= $1 THEN $2 ELSE consumed_at END
             WHERE id = $3 RETURNING wrong_guesses",
        )
        .bind(kill_at)
        .bind(now)
        .bind(id)
        .fetch_one(&self.pool)
        .await
        .map_err(db_err)
    }

    async fn consume_sms_code(&self, id: SmsCodeId, now: OffsetDateTime) -> Result<bool, StoreError> {
        let done = sql::query("UPDATE sms_codes SET consumed_at = $1 WHERE id = $2 AND consumed_at IS NULL")
            .bind(now)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn sms_sends_to_phone_since(
        &self,
        phone: &Phone,
        since: OffsetDateTime,
    ) -> Result<Vec<OffsetDateTime>, StoreError> {
        let times: Vec<OffsetDateTime> = sql::query_scalar(
            "SELECT created_at FROM sms_codes WHERE phone = $1 AND created_at >= $2 ORDER BY created_at",
        )
        .bind(phone.as_str())
        .bind(since)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(times.into_iter().collect())
    }

    async fn sms_sends_from_client_since(&self, client: &str, since: OffsetDateTime) -> Result<i64, StoreError> {
        sql::query_scalar("SELECT COUNT(*) FROM sms_codes WHERE client = $1 AND created_at >= $2")
            .bind(client)
            .bind(since)
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)
    }
}
