//! `UserRepo` over the `users` table.

use app::StoreError;
use app::ports::{UserDirectory, UserRecord, UserRepo};
use async_trait::async_trait;
use domain::{Email, Phone, SmsCodeId, UserId};
use time::OffsetDateTime;

use crate::sql;
use crate::{Db, db_err};

sql::row! {
    pub(crate) struct UserRow {
        pub(crate) id: i64,
        pub(crate) phone: String,
        pub(crate) password_hash: String,
        pub(crate) name: Option<String>,
        pub(crate) email: Option<String>,
        pub(crate) created_at: OffsetDateTime,
    }
}

impl UserRow {
    pub(crate) fn into_record(self) -> Result<UserRecord, StoreError> {
        Ok(UserRecord {
            id: UserId(self.id),
            phone: Phone::parse(&self.phone)
                .map_err(|_| StoreError::Other("stored phone number is malformed".into()))?,
            password_hash: self.password_hash,
            name: self.name,
            email: self.email,
            created_at: self.created_at,
        })
    }
}

const SELECT_USER: &str = "SELECT id, phone, password_hash, name, email, created_at FROM users";

#[async_trait]
impl UserRepo for Db {
    async fn close_user(
        &self,
        id: UserId,
        closed_phone: &str,
        restricted_until: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> Result<Vec<String>, StoreError> {
        let mut tx = self.write_tx().await?;
        // Checked again inside the transaction: an order placed meanwhile in another tab is
        // never deleted with the account, nor left under way behind a closed one.
        let blocking = if restricted_until.is_some() {
            "SELECT COUNT(*) FROM orders WHERE user_id = $1 AND status NOT IN ('completed', 'cancelled', 'refunded')"
        } else {
            "SELECT COUNT(*) FROM orders WHERE user_id = $1"
        };
        let blocked: i64 = sql::query_scalar(blocking).bind(id.0).fetch_one(&mut *tx).await.map_err(db_err)?;
        if blocked > 0 {
            return Err(StoreError::Refused(app::Refusal::OrdersUnderWay));
        }
        let drafts = "SELECT a.id FROM applications a WHERE a.user_id = $1 AND NOT EXISTS \
                      (SELECT 1 FROM orders o WHERE o.application_id = a.id)";
        let keys_sql = if restricted_until.is_some() {
            format!("SELECT file_key FROM documents WHERE application_id IN ({drafts})")
        } else {
            "SELECT file_key FROM documents WHERE user_id = $1".to_owned()
        };
        let keys: Vec<String> = sql::query_scalar(&keys_sql).bind(id.0).fetch_all(&mut *tx).await.map_err(db_err)?;
        if let Some(until) = restricted_until {
            for statement in [
                format!("DELETE FROM applications WHERE id IN ({drafts})"),
                "DELETE FROM addresses WHERE user_id = $1".to_owned(),
                "DELETE FROM sessions WHERE user_id = $1".to_owned(),
            ] {
                sql::query(&statement).bind(id.0).execute(&mut *tx).await.map_err(db_err)?;
            }
            sql::query(
                "UPDATE users SET phone = $1, password_hash = '!', name = NULL, email = NULL, closed_at = $2,
                 restricted_until = $3, updated_at = $2 WHERE id = $4",
            )
            .bind(closed_phone)
            .bind(now)
            .bind(until)
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        } else {
            sql::query("DELETE FROM users WHERE id = $1").bind(id.0).execute(&mut *tx).await.map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(keys)
    }

    async fn create_user(&self, phone: &Phone, password_hash: &str, now: OffsetDateTime) -> Result<UserId, StoreError> {
        let id: i64 = sql::query_scalar(
            "INSERT INTO users (phone, password_hash, created_at, updated_at) VALUES ($1, $2, $3, $3) RETURNING id",
        )
        .bind(phone.as_str())
        .bind(password_hash)
        .bind(now)
        .fetch_one(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(UserId(id))
    }

    async fn create_user_with_code(
        &self,
        phone: &Phone,
        password_hash: &str,
        code_id: SmsCodeId,
        now: OffsetDateTime,
    ) -> Result<Option<UserId>, StoreError> {
        let mut tx = self.write_tx().await?;
        let used = sql::query("UPDATE sms_codes SET consumed_at = $1 WHERE id = $2 AND consumed_at IS NULL")
            .bind(now)
            .bind(code_id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        if used.rows_affected() != 1 {
            return Ok(None);
        }
        let id: i64 = sql::query_scalar(
            "INSERT INTO users (phone, password_hash, created_at, updated_at) VALUES ($1, $2, $3, $3) RETURNING id",
        )
        .bind(phone.as_str())
        .bind(password_hash)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(Some(UserId(id)))
    }

    async fn update_profile(
        &self,
        id: UserId,
        name: Option<&str>,
        email: Option<&Email>,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        sql::query("UPDATE users SET name = $1, email = $2, updated_at = $3 WHERE id = $4")
            .bind(name.map(str::to_owned))
            .bind(email.map(|e| e.as_str().to_owned()))
            .bind(now)
            .bind(id.0)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn set_password(
        &self,
        id: UserId,
        password_hash: &str,
        keep: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        sql::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
            .bind(password_hash)
            .bind(now)
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        sql::query("DELETE FROM sessions WHERE user_id = $1 AND token_digest <> $2")
            .bind(id.0)
            .bind(keep.unwrap_or(""))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)
    }
}

#[async_trait]
impl UserDirectory for Db {
    async fn user_by_phone(&self, phone: &Phone) -> Result<Option<UserRecord>, StoreError> {
        sql::query_as::<UserRow>(&format!("{SELECT_USER} WHERE phone = $1 AND closed_at IS NULL"))
            .bind(phone.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .map(UserRow::into_record)
            .transpose()
    }

    async fn user_by_id(&self, id: UserId) -> Result<Option<UserRecord>, StoreError> {
        // A closed account is nobody: no login, no messages (its kept orders stay readable).
        sql::query_as::<UserRow>(&format!("{SELECT_USER} WHERE id = $1 AND closed_at IS NULL"))
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .map(UserRow::into_record)
            .transpose()
    }
}
