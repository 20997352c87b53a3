//! `StaffRepo`: back-office accounts, their sessions, and the append-only audit log (the database
//! itself refuses to change or remove audit rows; see the migration).

use app::StoreError;
use app::ports::{AuditEntry, AuditLog, NewStaff, StaffRecord, StaffRepo, StaffSessionRecord};
use async_trait::async_trait;
use domain::staff::Roles;
use domain::{OrderId, StaffId};
use time::OffsetDateTime;

use crate::sql;
use crate::{Db, db_err};

sql::row! {
    struct StaffRow {
        id: i64,
        username: String,
        name: String,
        phone: Option<String>,
        password_hash: String,
        roles: String,
        totp_secret: Option<String>,
        totp_enabled: bool,
        disabled: bool,
        must_change_password: bool,
    }
}

const SELECT_STAFF: &str =
    "SELECT id, username, name, phone, password_hash, roles, totp_secret, totp_enabled, disabled,
        must_change_password FROM staff";

impl TryFrom<StaffRow> for StaffRecord {
    type Error = StoreError;

    fn try_from(r: StaffRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: StaffId(r.id),
            roles: Roles::parse(&r.roles).map_err(StoreError::Other)?,
            username: r.username,
            name: r.name,
            phone: r.phone,
            password_hash: r.password_hash,
            totp_secret: r.totp_secret,
            totp_enabled: r.totp_enabled,
            disabled: r.disabled,
            must_change_password: r.must_change_password,
        })
    }
}

#[async_trait]
impl StaffRepo for Db {
    async fn create_staff(&self, staff: &NewStaff, now: OffsetDateTime) -> Result<StaffId, StoreError> {
        sql::query_scalar(
            "INSERT INTO staff (username, name, phone, password_hash, roles, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
        )
        .bind(staff.username.clone())
        .bind(staff.name.clone())
        .bind(staff.phone.clone())
        .bind(staff.password_hash.clone())
        .bind(staff.roles.to_string())
        .bind(now)
        .fetch_one(&self.pool)
        .await
        .map_err(db_err)
    }

    async fn staff_by_username(&self, username: &str) -> Result<Option<StaffRecord>, StoreError> {
        let row: Option<StaffRow> = sql::query_as(&format!("{SELECT_STAFF} WHERE username = $1"))
            .bind(username.to_owned())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.map(TryInto::try_into).transpose()
    }

    async fn staff_by_id(&self, id: StaffId) -> Result<Option<StaffRecord>, StoreError> {
        let row: Option<StaffRow> = sql::query_as(&format!("{SELECT_STAFF} WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.map(TryInto::try_into).transpose()
    }

    async fn list_staff(&self) -> Result<Vec<StaffRecord>, StoreError> {
        let rows: Vec<StaffRow> =
            sql::query_as(&format!("{SELECT_STAFF} ORDER BY id")).fetch_all(&self.pool).await.map_err(db_err)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn update_staff(
        &self,
        id: StaffId,
        roles: Roles,
        disabled: bool,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut tx = self.write_tx().await?;
        let done = sql::query("UPDATE staff SET roles = $1, disabled = $2, updated_at = $3 WHERE id = $4")
            .bind(roles.to_string())
            .bind(disabled)
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        if disabled {
            sql::query("DELETE FROM staff_sessions WHERE staff_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn set_staff_password(
        &self,
        id: StaffId,
        password_hash: &str,
        keep_session: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        sql::query("UPDATE staff SET password_hash = $1, must_change_password = FALSE, updated_at = $2 WHERE id = $3")
            .bind(password_hash.to_owned())
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        sql::query("DELETE FROM staff_sessions WHERE staff_id = $1 AND token_digest <> $2")
            .bind(id)
            .bind(keep_session.to_owned())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)
    }

    async fn set_staff_totp(
        &self,
        id: StaffId,
        sealed_secret: Option<&str>,
        enabled: bool,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        sql::query("UPDATE staff SET totp_secret = $1, totp_enabled = $2, updated_at = $3 WHERE id = $4")
            .bind(sealed_secret.map(str::to_owned))
            .bind(enabled)
            .bind(now)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn use_totp_step(&self, id: StaffId, step: i64) -> Result<bool, StoreError> {
        let done = sql::query("UPDATE staff SET totp_last_step = $1 WHERE id = $2 AND totp_last_step < $1")
            .bind(step)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn create_staff_session(&self, s: &StaffSessionRecord) -> Result<(), StoreError> {
        sql::query(
            "INSERT INTO staff_sessions (token_digest, staff_id, stage, created_at, last_seen_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(s.token_digest.clone())
        .bind(s.staff_id)
        .bind(s.stage.clone())
        .bind(s.created_at)
        .bind(s.last_seen_at)
        .bind(s.expires_at)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn staff_session(&self, digest: &str) -> Result<Option<StaffSessionRecord>, StoreError> {
        let row: Option<(String, StaffId, String, OffsetDateTime, OffsetDateTime, OffsetDateTime)> = sql::query_as(
            "SELECT token_digest, staff_id, stage, created_at, last_seen_at, expires_at
             FROM staff_sessions WHERE token_digest = $1",
        )
        .bind(digest.to_owned())
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(row.map(|(token_digest, staff_id, stage, created, seen, expires)| StaffSessionRecord {
            token_digest,
            staff_id,
            stage,
            created_at: created,
            last_seen_at: seen,
            expires_at: expires,
        }))
    }

    async fn touch_staff_session(&self, digest: &str, now: OffsetDateTime) -> Result<(), StoreError> {
        sql::query("UPDATE staff_sessions SET last_seen_at = $1 WHERE token_digest = $2")
            .bind(now)
            .bind(digest.to_owned())
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn delete_staff_session(&self, digest: &str) -> Result<(), StoreError> {
        sql::query("DELETE FROM staff_sessions WHERE token_digest = $1")
            .bind(digest.to_owned())
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }
}

#[async_trait]
impl AuditLog for Db {
    async fn append_audit(&self, e: &AuditEntry) -> Result<(), StoreError> {
        crate::history::record_audit(&self.pool, e).await
    }

    async fn audit_log(&self, order: Option<OrderId>, limit: i64) -> Result<Vec<AuditEntry>, StoreError> {
        type Row = (OffsetDateTime, Option<StaffId>, String, Option<i64>, String);
        let query = match order {
            Some(id) => sql::query_as::<Row>(
                "SELECT at, staff_id, action, order_id, detail FROM audit_log WHERE order_id = $1 ORDER BY id DESC LIMIT $2",
            )
            .bind(id.0)
            .bind(limit),
            None => sql::query_as::<Row>(
                "SELECT at, staff_id, action, order_id, detail FROM audit_log ORDER BY id DESC LIMIT $1",
            )
            .bind(limit),
        };
        let rows = query.fetch_all(&self.pool).await.map_err(db_err)?;
        Ok(rows
            .into_iter()
            .map(|(at, staff_id, action, order_id, detail)| AuditEntry {
                at,
                staff_id,
                action,
                order_id: order_id.map(OrderId),
                detail,
            })
            .collect())
    }
}
