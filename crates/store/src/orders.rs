//! `OrderRepo` and `OrderBook` over `orders` and `order_events`. State changes are conditional updates written in
//! the same transaction as their history row.

use app::StoreError;
use app::ports::{
    NewOrder, OrderBook, OrderEventRecord, OrderInvoice, OrderRecord, OrderRepo, OrderSearch, OrderSummary,
};
use async_trait::async_trait;
use domain::address::MAX_ADDRESSES_PER_USER;
use domain::application::{Business, SubjectKind};
use domain::pricing::{Delivery, FeeBreakdown};
use domain::{Actor, ApplicationId, Money, OrderId, OrderStatus, UserId};
use time::OffsetDateTime;

use crate::sql;
use crate::{Db, db_err};

/// Statuses that hold the one-open-order slot (must match the partial index in the migration).
const OPEN: &str = "('pending_payment', 'under_review', 'rejected', 'processing', 'delivering')";

sql::row! {
    pub(crate) struct OrderRow {
        id: i64,
        order_no: String,
        user_id: i64,
        application_id: i64,
        idempotency_key: String,
        request_hash: String,
        status: OrderStatus,
        subject_kind: SubjectKind,
        business: Business,
        subject_index: String,
        subject_name: String,
        package_name: String,
        delivery: Delivery,
        ship_to: Option<String>,
        pickup_point: Option<String>,
        invoice_kind: String,
        invoice_title: Option<String>,
        invoice_taxpayer_no: Option<String>,
        invoice_address_phone: Option<String>,
        invoice_bank_account: Option<String>,
        invoice_delivery: Option<String>,
        invoice_email: Option<String>,
        invoice_ship_to: Option<String>,
        package_fen: i64,
        delivery_fen: i64,
        service_fen: i64,
        total_fen: i64,
        flagged: bool,
        created_at: OffsetDateTime,
    }
}

pub(crate) const SELECT_ORDER: &str = "SELECT id, order_no, user_id, application_id, idempotency_key, request_hash, status, subject_kind,
        business, subject_index, subject_name, package_name, delivery, ship_to, pickup_point, invoice_kind, invoice_title,
        invoice_taxpayer_no, invoice_address_phone, invoice_bank_account, invoice_delivery, invoice_email, invoice_ship_to,
        package_fen, delivery_fen, service_fen, total_fen, flagged, created_at
     FROM orders";

fn unknown(what: &str, value: &str) -> StoreError {
    StoreError::Other(format!("stored order has an unknown {what}: {value}"))
}

fn money(fen: i64) -> Result<Money, StoreError> {
    Money::from_fen(fen).map_err(|_| StoreError::Other(format!("stored amount out of range: {fen}")))
}

impl OrderRow {
    pub(crate) fn into_record(self) -> Result<OrderRecord, StoreError> {
        let invoice = match (self.invoice_kind.as_str(), self.invoice_title, self.invoice_delivery) {
            ("none", _, _) => None,
            (_, Some(title), Some(delivery)) => Some(OrderInvoice {
                kind: self.invoice_kind.clone(),
                title,
                taxpayer_no: self.invoice_taxpayer_no,
                address_phone: self.invoice_address_phone,
                bank_account: self.invoice_bank_account,
                delivery,
                email: self.invoice_email,
                ship_to: self.invoice_ship_to,
            }),
            _ => return Err(unknown("invoice", &self.invoice_kind)),
        };
        Ok(OrderRecord {
            id: OrderId(self.id),
            status: self.status,
            created_at: self.created_at,
            order: NewOrder {
                order_no: self.order_no,
                user_id: UserId(self.user_id),
                application_id: ApplicationId(self.application_id),
                idempotency_key: self.idempotency_key,
                request_hash: self.request_hash,
                subject_kind: self.subject_kind,
                business: self.business,
                subject_index: self.subject_index,
                subject_name: self.subject_name,
                package_name: self.package_name,
                delivery: self.delivery,
                ship_to: self.ship_to,
                new_address: None,
                pickup_point: self.pickup_point,
                invoice,
                fees: FeeBreakdown {
                    package: money(self.package_fen)?,
                    delivery: money(self.delivery_fen)?,
                    service: money(self.service_fen)?,
                    total: money(self.total_fen)?,
                },
                flagged: self.flagged,
            },
        })
    }
}

sql::row! {
    struct EventRow {
        from_status: Option<String>,
        to_status: String,
        actor: String,
        reason: Option<String>,
        at: OffsetDateTime,
    }
}

#[async_trait]
impl OrderRepo for Db {
    async fn create_order(&self, o: &NewOrder, now: OffsetDateTime) -> Result<OrderId, StoreError> {
        let mut tx = self.write_tx().await?;
        if let Some(address) = &o.new_address
            && crate::addresses::insert_address(&mut tx, o.user_id, address, MAX_ADDRESSES_PER_USER, now)
                .await?
                .is_none()
        {
            return Err(StoreError::Refused(app::Refusal::AddressBookFull));
        }
        let inv = o.invoice.as_ref();
        let id: i64 = sql::query_scalar(
            "INSERT INTO orders (order_no, user_id, application_id, idempotency_key, request_hash, status, subject_kind,
                 business, subject_index, subject_name, package_name, delivery, ship_to, pickup_point, invoice_kind,
                 invoice_title, invoice_taxpayer_no, invoice_address_phone, invoice_bank_account, invoice_delivery,
                 invoice_email, invoice_ship_to, package_fen, delivery_fen, service_fen, total_fen, flagged, created_at,
                 updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22,
                 $23, $24, $25, $26, $27, $28, $28)
             RETURNING id",
        )
        .bind(&o.order_no)
        .bind(o.user_id.0)
        .bind(o.application_id.0)
        .bind(&o.idempotency_key)
        .bind(&o.request_hash)
        .bind(OrderStatus::PendingPayment.as_str())
        .bind(o.subject_kind.as_str())
        .bind(o.business.as_str())
        .bind(&o.subject_index)
        .bind(&o.subject_name)
        .bind(&o.package_name)
        .bind(o.delivery.as_str())
        .bind(o.ship_to.clone())
        .bind(o.pickup_point.clone())
        .bind(inv.map_or_else(|| "none".to_owned(), |i| i.kind.clone()))
        .bind(inv.map(|i| i.title.clone()))
        .bind(inv.and_then(|i| i.taxpayer_no.clone()))
        .bind(inv.and_then(|i| i.address_phone.clone()))
        .bind(inv.and_then(|i| i.bank_account.clone()))
        .bind(inv.map(|i| i.delivery.clone()))
        .bind(inv.and_then(|i| i.email.clone()))
        .bind(inv.and_then(|i| i.ship_to.clone()))
        .bind(o.fees.package.fen())
        .bind(o.fees.delivery.fen())
        .bind(o.fees.service.fen())
        .bind(o.fees.total.fen())
        .bind(o.flagged)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
        sql::query("INSERT INTO order_events (order_id, from_status, to_status, actor, reason, at) VALUES ($1, NULL, $2, $3, NULL, $4)")
            .bind(id)
            .bind(OrderStatus::PendingPayment.as_str())
            .bind(Actor::Applicant.as_str())
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(OrderId(id))
    }

    async fn order_by_idempotency_key(&self, user: UserId, key: &str) -> Result<Option<OrderRecord>, StoreError> {
        sql::query_as::<OrderRow>(&format!("{SELECT_ORDER} WHERE user_id = $1 AND idempotency_key = $2"))
            .bind(user.0)
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .map(OrderRow::into_record)
            .transpose()
    }

    async fn open_order_for_subject(
        &self,
        subject_index: &str,
        business: Business,
    ) -> Result<Option<(UserId, String)>, StoreError> {
        let row: Option<(i64, String)> = sql::query_as(&format!(
            "SELECT user_id, order_no FROM orders WHERE subject_index = $1 AND business = $2 AND status IN {OPEN}"
        ))
        .bind(subject_index)
        .bind(business.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(row.map(|(user, no)| (UserId(user), no)))
    }

    async fn open_order_for_application(
        &self,
        application: ApplicationId,
    ) -> Result<Option<(OrderId, OrderStatus)>, StoreError> {
        let row: Option<(i64, String)> =
            sql::query_as(&format!("SELECT id, status FROM orders WHERE application_id = $1 AND status IN {OPEN}"))
                .bind(application.0)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)?;
        row.map(|(id, status)| {
            Ok((OrderId(id), OrderStatus::parse(&status).ok_or_else(|| unknown("status", &status))?))
        })
        .transpose()
    }

    async fn set_order_subject_name(
        &self,
        id: OrderId,
        subject_name: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        sql::query("UPDATE orders SET subject_name = $1, updated_at = $2 WHERE id = $3")
            .bind(subject_name)
            .bind(now)
            .bind(id.0)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn orders(&self, user: UserId) -> Result<Vec<OrderRecord>, StoreError> {
        sql::query_as::<OrderRow>(&format!("{SELECT_ORDER} WHERE user_id = $1 ORDER BY id DESC"))
            .bind(user.0)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?
            .into_iter()
            .map(OrderRow::into_record)
            .collect()
    }

    async fn order_summaries(&self, user: UserId) -> Result<Vec<OrderSummary>, StoreError> {
        sql::row! {
            struct Row {
                id: i64,
                order_no: String,
                status: OrderStatus,
                subject_kind: SubjectKind,
                business: Business,
                subject_name: String,
                package_name: String,
                total_fen: i64,
                created_at: OffsetDateTime,
            }
        }
        let rows: Vec<Row> = sql::query_as(
            "SELECT id, order_no, status, subject_kind, business, subject_name, package_name, total_fen, created_at
               FROM orders WHERE user_id = $1 ORDER BY id DESC",
        )
        .bind(user.0)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.into_iter()
            .map(|r| {
                Ok(OrderSummary {
                    id: OrderId(r.id),
                    status: r.status,
                    subject_kind: r.subject_kind,
                    business: r.business,
                    order_no: r.order_no,
                    subject_name: r.subject_name,
                    package_name: r.package_name,
                    total: money(r.total_fen)?,
                    created_at: r.created_at,
                })
            })
            .collect()
    }

    async fn transition_order(
        &self,
        id: OrderId,
        from: OrderStatus,
        to: OrderStatus,
        actor: Actor,
        reason: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut tx = self.write_tx().await?;
        let moved = sql::query("UPDATE orders SET status = $1, updated_at = $2 WHERE id = $3 AND status = $4")
            .bind(to.as_str())
            .bind(now)
            .bind(id.0)
            .bind(from.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        if moved.rows_affected() != 1 {
            return Ok(false);
        }
        crate::history::record_event(&mut *tx, id.0, from, to, actor, reason, now).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

    async fn order_counts(&self) -> Result<Vec<(OrderStatus, i64)>, StoreError> {
        let rows: Vec<(String, i64)> = sql::query_as("SELECT status, COUNT(*) FROM orders GROUP BY status")
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(rows.into_iter().filter_map(|(s, n)| OrderStatus::parse(&s).map(|s| (s, n))).collect())
    }

    async fn unpaid_orders_created_before(&self, before: OffsetDateTime) -> Result<Vec<OrderId>, StoreError> {
        let ids: Vec<i64> =
            sql::query_scalar("SELECT id FROM orders WHERE status = $1 AND created_at < $2 ORDER BY id")
                .bind(OrderStatus::PendingPayment.as_str())
                .bind(before)
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?;
        Ok(ids.into_iter().map(OrderId).collect())
    }

    async fn search_orders(&self, search: &OrderSearch, limit: i64) -> Result<Vec<OrderRecord>, StoreError> {
        enum Bind {
            Text(String),
            Int(i64),
            Time(OffsetDateTime),
        }
        let mut binds = Vec::new();
        let mut next = |value: Bind| {
            binds.push(value);
            format!("${}", binds.len())
        };
        let mut clauses = Vec::new();
        if let Some(text) = &search.text {
            let exact = next(Bind::Text(text.clone()));
            let like = next(Bind::Text(format!("%{}%", escape_like(text))));
            let mut any = vec![
                format!("order_no = {exact}"),
                format!("subject_name LIKE {like} ESCAPE '\\'"),
                format!("user_id IN (SELECT id FROM users WHERE phone = {exact})"),
                format!("id IN (SELECT order_id FROM payments WHERE out_trade_no = {exact} OR trade_no = {exact})"),
            ];
            for index in &search.subject_indexes {
                any.push(format!("subject_index = {}", next(Bind::Text(index.clone()))));
            }
            clauses.push(format!("({})", any.join(" OR ")));
        }
        if let Some(from) = search.from {
            clauses.push(format!("created_at >= {}", next(Bind::Time(from))));
        }
        if let Some(to) = search.to {
            clauses.push(format!("created_at < {}", next(Bind::Time(to))));
        }
        if let Some(status) = search.status {
            clauses.push(format!("status = {}", next(Bind::Text(status.as_str().to_owned()))));
        }
        let limit_at = next(Bind::Int(limit));
        let filter = if clauses.is_empty() { String::new() } else { format!("WHERE {}", clauses.join(" AND ")) };
        let sql = format!("{SELECT_ORDER} {filter} ORDER BY created_at DESC, id DESC LIMIT {limit_at}");
        let mut query = sql::query_as::<OrderRow>(&sql);
        for bind in binds {
            query = match bind {
                Bind::Text(text) => query.bind(text),
                Bind::Int(n) => query.bind(n),
                Bind::Time(t) => query.bind(t),
            };
        }
        query.fetch_all(&self.pool).await.map_err(db_err)?.into_iter().map(OrderRow::into_record).collect()
    }
}

#[async_trait]
impl OrderBook for Db {
    async fn order(&self, user: UserId, id: OrderId) -> Result<Option<OrderRecord>, StoreError> {
        sql::query_as::<OrderRow>(&format!("{SELECT_ORDER} WHERE user_id = $1 AND id = $2"))
            .bind(user.0)
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .map(OrderRow::into_record)
            .transpose()
    }

    async fn order_by_id(&self, id: OrderId) -> Result<Option<OrderRecord>, StoreError> {
        sql::query_as::<OrderRow>(&format!("{SELECT_ORDER} WHERE id = $1"))
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .map(OrderRow::into_record)
            .transpose()
    }

    async fn order_events(&self, id: OrderId) -> Result<Vec<OrderEventRecord>, StoreError> {
        let rows = sql::query_as::<EventRow>(
            "SELECT from_status, to_status, actor, reason, at FROM order_events WHERE order_id = $1 ORDER BY id",
        )
        .bind(id.0)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.into_iter()
            .map(|r| {
                Ok(OrderEventRecord {
                    from: r
                        .from_status
                        .as_deref()
                        .map(|s| OrderStatus::parse(s).ok_or_else(|| unknown("status", s)))
                        .transpose()?,
                    to: OrderStatus::parse(&r.to_status).ok_or_else(|| unknown("status", &r.to_status))?,
                    actor: Actor::parse(&r.actor).ok_or_else(|| unknown("actor", &r.actor))?,
                    reason: r.reason,
                    at: r.at,
                })
            })
            .collect()
    }
}

/// Text matched literally inside a `LIKE` pattern (escape character `\`).
fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}
