//! `ApplicationRepo` over `applications`; every statement is scoped by `user_id`.

use app::StoreError;
use app::ports::{AgentFields, ApplicationBook, ApplicationRecord, ApplicationRepo, NewApplication, SubjectFields};
use async_trait::async_trait;
use domain::application::{Business, ReplacementReason, SubjectKind, UserType};
use domain::{ApplicationId, PackageId, UserId};
use time::OffsetDateTime;

use crate::sql;
use crate::{Db, db_err};

sql::row! {
    struct ApplicationRow {
        id: i64,
        subject_kind: String,
        business: String,
        replacement_reason: Option<String>,
        replaced_serial: Option<String>,
        package_id: Option<i64>,
        company_name: Option<String>,
        credit_code: Option<String>,
        credit_code_checksum_ok: Option<bool>,
        user_type: Option<String>,
        holder_name: Option<String>,
        holder_id_sealed: Option<String>,
        agent_name: Option<String>,
        agent_id_sealed: Option<String>,
        agent_phone: Option<String>,
        agent_email: Option<String>,
        created_at: OffsetDateTime,
        updated_at: OffsetDateTime,
    }
}

impl ApplicationRow {
    fn into_record(self) -> Result<ApplicationRecord, StoreError> {
        let unknown = |what: &str| StoreError::Other(format!("stored application has an unknown {what}"));
        Ok(ApplicationRecord {
            id: ApplicationId(self.id),
            subject_kind: SubjectKind::parse(&self.subject_kind).ok_or_else(|| unknown("subject kind"))?,
            business: Business::parse(&self.business).ok_or_else(|| unknown("business"))?,
            replacement_reason: self
                .replacement_reason
                .as_deref()
                .map(|r| ReplacementReason::parse(r).ok_or_else(|| unknown("reason")))
                .transpose()?,
            replaced_serial: self.replaced_serial,
            package_id: self.package_id.map(PackageId),
            company_name: self.company_name,
            credit_code: self.credit_code,
            credit_code_checksum_ok: self.credit_code_checksum_ok,
            user_type: self
                .user_type
                .as_deref()
                .map(|t| UserType::parse(t).ok_or_else(|| unknown("user type")))
                .transpose()?,
            holder_name: self.holder_name,
            holder_id_sealed: self.holder_id_sealed,
            agent_name: self.agent_name,
            agent_id_sealed: self.agent_id_sealed,
            agent_phone: self.agent_phone,
            agent_email: self.agent_email,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

const SELECT_APPLICATION: &str =
    "SELECT id, subject_kind, business, replacement_reason, replaced_serial, package_id, company_name,
        credit_code, credit_code_checksum_ok, user_type, holder_name, holder_id_sealed, agent_name, agent_id_sealed,
        agent_phone, agent_email, created_at, updated_at
     FROM applications";

#[async_trait]
impl ApplicationRepo for Db {
    async fn create_application(
        &self,
        user: UserId,
        new: &NewApplication,
        now: OffsetDateTime,
    ) -> Result<ApplicationId, StoreError> {
        let id: i64 = sql::query_scalar(
            "INSERT INTO applications (user_id, subject_kind, business, replacement_reason, replaced_serial, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
        )
        .bind(user.0)
        .bind(new.subject_kind.as_str())
        .bind(new.business.as_str())
        .bind(new.replacement_reason.map(|r| r.as_str().to_owned()))
        .bind(new.replaced_serial.clone())
        .bind(now)
        .fetch_one(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(ApplicationId(id))
    }

    async fn set_application_package(
        &self,
        user: UserId,
        id: ApplicationId,
        package: PackageId,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let done =
            sql::query("UPDATE applications SET package_id = $1, updated_at = $2 WHERE user_id = $3 AND id = $4")
                .bind(package.0)
                .bind(now)
                .bind(user.0)
                .bind(id.0)
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn set_application_subject(
        &self,
        user: UserId,
        id: ApplicationId,
        s: &SubjectFields,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let done = sql::query(
            "UPDATE applications SET company_name = $1, credit_code = $2, credit_code_checksum_ok = $3, user_type = $4,
                 holder_name = $5, holder_id_sealed = $6, holder_id_index = $7, updated_at = $8
             WHERE user_id = $9 AND id = $10",
        )
        .bind(s.company_name.clone())
        .bind(s.credit_code.clone())
        .bind(s.credit_code_checksum_ok)
        .bind(s.user_type.as_str())
        .bind(&s.holder_name)
        .bind(&s.holder_id_sealed)
        .bind(&s.holder_id_index)
        .bind(now)
        .bind(user.0)
        .bind(id.0)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn set_application_agent(
        &self,
        user: UserId,
        id: ApplicationId,
        a: &AgentFields,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let done = sql::query(
            "UPDATE applications SET agent_name = $1, agent_id_sealed = $2, agent_id_index = $3, agent_phone = $4,
                 agent_email = $5, updated_at = $6
             WHERE user_id = $7 AND id = $8",
        )
        .bind(&a.name)
        .bind(&a.id_sealed)
        .bind(&a.id_index)
        .bind(&a.phone)
        .bind(&a.email)
        .bind(now)
        .bind(user.0)
        .bind(id.0)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn abandoned_drafts(
        &self,
        before: OffsetDateTime,
    ) -> Result<Vec<(UserId, ApplicationId, Vec<String>)>, StoreError> {
        let rows: Vec<(i64, i64)> = sql::query_as(
            "SELECT user_id, id FROM applications a
             WHERE updated_at < $1 AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.application_id = a.id)
             ORDER BY id",
        )
        .bind(before)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        let mut out = Vec::with_capacity(rows.len());
        for (user, id) in rows {
            let keys: Vec<String> = sql::query_scalar("SELECT file_key FROM documents WHERE application_id = $1")
                .bind(id)
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?;
            out.push((UserId(user), ApplicationId(id), keys));
        }
        Ok(out)
    }

    async fn delete_application(&self, user: UserId, id: ApplicationId) -> Result<bool, StoreError> {
        let done = sql::query("DELETE FROM applications WHERE user_id = $1 AND id = $2")
            .bind(user.0)
            .bind(id.0)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }
}

#[async_trait]
impl ApplicationBook for Db {
    async fn applications(&self, user: UserId) -> Result<Vec<ApplicationRecord>, StoreError> {
        sql::query_as::<ApplicationRow>(&format!("{SELECT_APPLICATION} WHERE user_id = $1 ORDER BY id DESC"))
            .bind(user.0)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?
            .into_iter()
            .map(ApplicationRow::into_record)
            .collect()
    }

    async fn application(&self, user: UserId, id: ApplicationId) -> Result<Option<ApplicationRecord>, StoreError> {
        sql::query_as::<ApplicationRow>(&format!("{SELECT_APPLICATION} WHERE user_id = $1 AND id = $2"))
            .bind(user.0)
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .map(ApplicationRow::into_record)
            .transpose()
    }
}
