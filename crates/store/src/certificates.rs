//! `CertificateRepo` and `StationRepo`: certificates issued for orders — recorded with the
//! produced key, the order's history row and the audit line in one transaction — the stations'
//! API tokens (digests only) and the sealed PINs of the keys they made.

use app::StoreError;
use app::ports::{
    AuditEntry, CertificateRecord, CertificateRepo, IssuedForOrder, KeyPinBook, KeyPins, Revocation, RevocationRequest,
    StationRepo, StationTokenRecord,
};
use async_trait::async_trait;
use domain::certificate::{KeyAlgorithm, RevocationReason};
use domain::fulfilment::KeyRecord;
use domain::{Actor, OrderId, OrderStatus, StaffId, StationTokenId, UserId};
use time::OffsetDateTime;

use crate::fulfilment::write_key;
use crate::history::{record_audit, record_event};
use crate::sql::{self, Target};
use crate::{Db, db_err};

const SELECT_CERTIFICATE: &str =
    "SELECT serial, algorithm, order_id, user_id, subject, issuer, credit_code, fingerprint,
        not_before, not_after, der, issued_by, issued_at, replaces_serial, revoked_at, revocation_reason, revoked_by
    FROM certificates";

sql::row! {
    struct CertificateRow {
        serial: String,
        algorithm: String,
        order_id: i64,
        user_id: i64,
        subject: String,
        issuer: String,
        credit_code: Option<String>,
        fingerprint: String,
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
        der: Vec<u8>,
        issued_by: Option<i64>,
        issued_at: OffsetDateTime,
        replaces_serial: Option<String>,
        revoked_at: Option<OffsetDateTime>,
        revocation_reason: Option<String>,
        revoked_by: Option<i64>,
    }
}

impl TryFrom<CertificateRow> for CertificateRecord {
    type Error = StoreError;

    fn try_from(r: CertificateRow) -> Result<Self, StoreError> {
        let algorithm = KeyAlgorithm::parse(&r.algorithm)
            .ok_or_else(|| StoreError::Other(format!("unknown key algorithm {}", r.algorithm)))?;
        let revocation = match (r.revoked_at, r.revocation_reason) {
            (Some(at), Some(reason)) => Some(Revocation {
                at,
                reason: RevocationReason::parse(&reason)
                    .ok_or_else(|| StoreError::Other(format!("unknown revocation reason {reason}")))?,
                by: r.revoked_by.map(StaffId),
            }),
            (None, None) => None,
            _ => return Err(StoreError::Other(format!("certificate {} is half revoked", r.serial))),
        };
        Ok(Self {
            serial: r.serial,
            algorithm,
            order_id: OrderId(r.order_id),
            user_id: UserId(r.user_id),
            subject: r.subject,
            issuer: r.issuer,
            credit_code: r.credit_code,
            fingerprint: r.fingerprint,
            not_before: r.not_before,
            not_after: r.not_after,
            der: r.der,
            issued_by: r.issued_by.map(StaffId),
            issued_at: r.issued_at,
            replaces_serial: r.replaces_serial,
            revocation,
        })
    }
}

#[async_trait]
impl CertificateRepo for Db {
    async fn record_issued(&self, issued: &IssuedForOrder<'_>) -> Result<bool, StoreError> {
        let c = issued.certificate;
        let mut tx = self.write_tx().await?;
        let status: Option<String> = sql::query_scalar("SELECT status FROM orders WHERE id = $1")
            .bind(c.order_id.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
        if status.as_deref() != Some(OrderStatus::Processing.as_str()) {
            return Ok(false);
        }
        let in_force: Option<String> =
            sql::query_scalar("SELECT serial FROM certificates WHERE order_id = $1 AND revoked_at IS NULL")
                .bind(c.order_id.0)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_err)?;
        if in_force.is_some() {
            return Ok(false);
        }
        sql::query(
            "INSERT INTO certificates (serial, algorithm, order_id, user_id, subject, issuer, credit_code, fingerprint,
                 not_before, not_after, der, issued_by, issued_at, replaces_serial)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(c.serial.clone())
        .bind(c.algorithm.as_str())
        .bind(c.order_id.0)
        .bind(c.user_id.0)
        .bind(c.subject.clone())
        .bind(c.issuer.clone())
        .bind(c.credit_code.clone())
        .bind(c.fingerprint.clone())
        .bind(c.not_before)
        .bind(c.not_after)
        .bind(c.der.clone())
        .bind(c.issued_by)
        .bind(c.issued_at)
        .bind(c.replaces_serial.clone())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        // The produced key on the order, its days as the applicant reads them (Beijing time).
        let day = |t: OffsetDateTime| t.to_offset(time::macros::offset!(+8)).date();
        let key = KeyRecord {
            key_type: issued.key_type,
            serial: c.serial.clone(),
            valid_from: day(c.not_before),
            valid_to: day(c.not_after),
        };
        write_key(&mut *tx, c.order_id, &key, c.issued_by, c.issued_at).await?;
        let reason = format!("证书已签发，序列号 {}", c.serial);
        let processing = OrderStatus::Processing;
        record_event(&mut *tx, c.order_id.0, processing, processing, Actor::Fulfilment, Some(&reason), c.issued_at)
            .await?;
        save_pins(&mut *tx, issued.pins).await?;
        record_audit(&mut *tx, issued.audit).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

    async fn record_revoked(
        &self,
        serial: &str,
        revocation: &Revocation,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError> {
        let mut tx = self.write_tx().await?;
        let done = sql::query(
            "UPDATE certificates SET revoked_at = $1, revocation_reason = $2, revoked_by = $3
             WHERE serial = $4 AND revoked_at IS NULL",
        )
        .bind(revocation.at)
        .bind(revocation.reason.as_str())
        .bind(revocation.by)
        .bind(serial.to_owned())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        sql::query("DELETE FROM revocation_requests WHERE serial = $1")
            .bind(serial.to_owned())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        record_audit(&mut *tx, audit).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

    async fn certificate(&self, serial: &str) -> Result<Option<CertificateRecord>, StoreError> {
        let sql = format!("{SELECT_CERTIFICATE} WHERE serial = $1");
        let row: Option<CertificateRow> =
            sql::query_as(&sql).bind(serial.to_owned()).fetch_optional(&self.pool).await.map_err(db_err)?;
        row.map(TryInto::try_into).transpose()
    }

    async fn certificate_in_force(&self, order: OrderId) -> Result<Option<CertificateRecord>, StoreError> {
        let sql = format!("{SELECT_CERTIFICATE} WHERE order_id = $1 AND revoked_at IS NULL");
        let row: Option<CertificateRow> =
            sql::query_as(&sql).bind(order.0).fetch_optional(&self.pool).await.map_err(db_err)?;
        row.map(TryInto::try_into).transpose()
    }

    async fn certificates_of_order(&self, order: OrderId) -> Result<Vec<CertificateRecord>, StoreError> {
        let sql = format!("{SELECT_CERTIFICATE} WHERE order_id = $1 ORDER BY id DESC");
        let rows: Vec<CertificateRow> =
            sql::query_as(&sql).bind(order.0).fetch_all(&self.pool).await.map_err(db_err)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn certificates_of_user(&self, user: UserId) -> Result<Vec<CertificateRecord>, StoreError> {
        let sql = format!("{SELECT_CERTIFICATE} WHERE user_id = $1 ORDER BY id DESC");
        let rows: Vec<CertificateRow> = sql::query_as(&sql).bind(user.0).fetch_all(&self.pool).await.map_err(db_err)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn search_certificates(&self, query: &str, limit: i64) -> Result<Vec<CertificateRecord>, StoreError> {
        let query = query.trim();
        if query.is_empty() {
            let sql = format!("{SELECT_CERTIFICATE} ORDER BY id DESC LIMIT $1");
            let rows: Vec<CertificateRow> =
                sql::query_as(&sql).bind(limit).fetch_all(&self.pool).await.map_err(db_err)?;
            return rows.into_iter().map(TryInto::try_into).collect();
        }
        // LIKE's wildcards in what staff typed are matched as themselves.
        let escaped = query.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        let serial = domain::certificate::normalize_serial(query).unwrap_or_default();
        let sql = format!(
            "{SELECT_CERTIFICATE} WHERE serial LIKE $1 ESCAPE '\\' OR credit_code = $2 OR subject LIKE $3 ESCAPE '\\'
             ORDER BY id DESC LIMIT $4"
        );
        let rows: Vec<CertificateRow> = sql::query_as(&sql)
            // No serial matches '' when what was typed is not one.
            .bind(if serial.is_empty() { serial } else { format!("{serial}%") })
            .bind(query.to_ascii_uppercase())
            .bind(format!("%{escaped}%"))
            .bind(limit)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn certificates_expiring(
        &self,
        from: OffsetDateTime,
        until: OffsetDateTime,
        limit: i64,
    ) -> Result<Vec<CertificateRecord>, StoreError> {
        let sql = format!(
            "{SELECT_CERTIFICATE} WHERE revoked_at IS NULL AND not_after > $1 AND not_after <= $2
             ORDER BY not_after LIMIT $3"
        );
        let rows: Vec<CertificateRow> =
            sql::query_as(&sql).bind(from).bind(until).bind(limit).fetch_all(&self.pool).await.map_err(db_err)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn request_revocation(&self, request: &RevocationRequest, audit: &AuditEntry) -> Result<bool, StoreError> {
        let mut tx = self.write_tx().await?;
        let done = sql::query(
            "INSERT INTO revocation_requests (serial, reason, note, requested_by, requested_at)
             SELECT $1, $2, $3, $4, $5 FROM certificates WHERE serial = $6 AND revoked_at IS NULL
             ON CONFLICT (serial) DO NOTHING",
        )
        .bind(request.serial.clone())
        .bind(request.reason.as_str())
        .bind(request.note.clone())
        .bind(request.requested_by)
        .bind(request.requested_at)
        .bind(request.serial.clone())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        record_audit(&mut *tx, audit).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

    async fn revocation_request(&self, serial: &str) -> Result<Option<RevocationRequest>, StoreError> {
        let sql = format!("{SELECT_REQUEST} WHERE serial = $1");
        let row: Option<RequestRow> =
            sql::query_as(&sql).bind(serial.to_owned()).fetch_optional(&self.pool).await.map_err(db_err)?;
        row.map(request_of).transpose()
    }

    async fn revocation_requests(&self) -> Result<Vec<RevocationRequest>, StoreError> {
        let sql = format!("{SELECT_REQUEST} ORDER BY requested_at, serial");
        let rows: Vec<RequestRow> = sql::query_as(&sql).fetch_all(&self.pool).await.map_err(db_err)?;
        rows.into_iter().map(request_of).collect()
    }
}

const SELECT_REQUEST: &str = "SELECT serial, reason, note, requested_by, requested_at FROM revocation_requests";

type RequestRow = (String, String, String, StaffId, OffsetDateTime);

fn request_of((serial, reason, note, requested_by, requested_at): RequestRow) -> Result<RevocationRequest, StoreError> {
    Ok(RevocationRequest {
        reason: RevocationReason::parse(&reason)
            .ok_or_else(|| StoreError::Other(format!("unknown revocation reason {reason}")))?,
        serial,
        note,
        requested_by,
        requested_at,
    })
}

#[async_trait]
impl StationRepo for Db {
    async fn create_station_token(
        &self,
        staff: StaffId,
        name: &str,
        digest: &str,
        now: OffsetDateTime,
    ) -> Result<StationTokenId, StoreError> {
        sql::query_scalar(
            "INSERT INTO station_tokens (staff_id, name, digest, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(staff)
        .bind(name.to_owned())
        .bind(digest.to_owned())
        .bind(now)
        .fetch_one(&self.pool)
        .await
        .map_err(db_err)
    }

    async fn station_token_staff(&self, digest: &str, now: OffsetDateTime) -> Result<Option<StaffId>, StoreError> {
        sql::query_scalar(
            "UPDATE station_tokens SET last_used_at = $1 WHERE digest = $2 AND revoked_at IS NULL RETURNING staff_id",
        )
        .bind(now)
        .bind(digest.to_owned())
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)
    }

    async fn station_tokens(&self, staff: StaffId) -> Result<Vec<StationTokenRecord>, StoreError> {
        type Row = (StationTokenId, StaffId, String, OffsetDateTime, Option<OffsetDateTime>, Option<OffsetDateTime>);
        let rows: Vec<Row> = sql::query_as(
            "SELECT id, staff_id, name, created_at, last_used_at, revoked_at FROM station_tokens
             WHERE staff_id = $1 ORDER BY id DESC",
        )
        .bind(staff)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(rows
            .into_iter()
            .map(|(id, staff_id, name, created_at, last_used_at, revoked_at)| StationTokenRecord {
                id,
                staff_id,
                name,
                created_at,
                last_used_at,
                revoked_at,
            })
            .collect())
    }

    async fn revoke_station_token(
        &self,
        staff: StaffId,
        id: StationTokenId,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let done = sql::query(
            "UPDATE station_tokens SET revoked_at = $1 WHERE id = $2 AND staff_id = $3 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(id)
        .bind(staff)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }
}

#[async_trait]
impl KeyPinBook for Db {
    async fn key_pins(&self, order: OrderId) -> Result<Option<KeyPins>, StoreError> {
        type Row = (i64, String, String, String, OffsetDateTime);
        let row: Option<Row> = sql::query_as(
            "SELECT order_id, token_serial, user_pin, so_pin, stored_at FROM key_pins WHERE order_id = $1",
        )
        .bind(order.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(row.map(|(order_id, token_serial, user_pin_sealed, so_pin_sealed, stored_at)| KeyPins {
            order_id: OrderId(order_id),
            token_serial,
            user_pin_sealed,
            so_pin_sealed,
            stored_at,
        }))
    }
}

/// Keeps the PINs of the order's key (a re-made key replaces them).
async fn save_pins(executor: impl Into<Target<'_>> + Send, pins: &KeyPins) -> Result<(), StoreError> {
    sql::query(
        "INSERT INTO key_pins (order_id, token_serial, user_pin, so_pin, stored_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (order_id) DO UPDATE SET token_serial = excluded.token_serial, user_pin = excluded.user_pin,
                 so_pin = excluded.so_pin, stored_at = excluded.stored_at",
    )
    .bind(pins.order_id.0)
    .bind(pins.token_serial.clone())
    .bind(pins.user_pin_sealed.clone())
    .bind(pins.so_pin_sealed.clone())
    .bind(pins.stored_at)
    .execute(executor)
    .await
    .map_err(db_err)?;
    Ok(())
}
