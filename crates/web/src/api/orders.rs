//! Orders API: confirm an application into an order (待支付), list and read orders with their
//! timeline, cancel an unpaid one.

use app::orders::{ConfirmForm, OrderView};
use app::ports::OrderSummary;
use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use domain::invoice::InvoiceDraft;
use domain::{ApplicationId, OrderId, OrderStatus};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::addresses::AddressRequest;
use super::{ApiJson, ApiPath, rfc3339};
use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::visitor::ApiUser;

#[derive(Debug, Deserialize, ToSchema)]
pub struct ConfirmRequest {
    /// `courier` (快递) or `pickup` (自提).
    pub delivery: String,
    /// Courier: an address from the address book.
    pub address_id: Option<i64>,
    /// Courier to a new address instead: it is added to the address book with the order, in one
    /// transaction. Its errors are named `new_address.recipient`, `new_address.phone`, ….
    pub new_address: Option<AddressRequest>,
    /// Pickup: one of the catalog's pickup points.
    pub pickup_point_id: Option<i64>,
    /// `none`, `normal` (普通发票) or `special` (增值税专用发票).
    pub invoice_kind: String,
    #[serde(default)]
    pub invoice_title: String,
    /// Required for companies; validated like a credit code.
    #[serde(default)]
    pub invoice_taxpayer_no: String,
    /// 专票 only.
    #[serde(default)]
    pub invoice_address_phone: String,
    /// 专票 only.
    #[serde(default)]
    pub invoice_bank_account: String,
    /// `email`, `with_key` or `to_address`.
    #[serde(default)]
    pub invoice_delivery: String,
    #[serde(default)]
    pub invoice_email: String,
    /// For `to_address`.
    pub invoice_address_id: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FeesBody {
    pub package_fen: i64,
    pub delivery_fen: i64,
    pub service_fen: i64,
    pub total_fen: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InvoiceBody {
    pub kind: String,
    pub title: String,
    pub taxpayer_no: Option<String>,
    pub address_phone: Option<String>,
    pub bank_account: Option<String>,
    pub delivery: String,
    pub email: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TimelineEntry {
    pub from: Option<String>,
    pub to: String,
    /// The status as the applicant sees it, e.g. `待支付`.
    pub label: String,
    pub actor: String,
    pub reason: Option<String>,
    pub at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderSummaryBody {
    pub id: i64,
    pub order_no: String,
    pub status: String,
    pub status_label: String,
    pub business: String,
    pub subject_kind: String,
    pub subject_name: String,
    pub package_name: String,
    pub total_fen: i64,
    pub created_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderBody {
    #[serde(flatten)]
    pub summary: OrderSummaryBody,
    pub delivery: String,
    /// Recipient, masked phone and address.
    pub ship_to: Option<String>,
    pub pickup_point: Option<String>,
    pub invoice: Option<InvoiceBody>,
    pub fees: FeesBody,
    pub timeline: Vec<TimelineEntry>,
    /// The application behind the order (for 修改订单).
    pub application_id: i64,
}

/// A row of the list, serialized straight from the summary without owned copies: the same JSON
/// as [`OrderSummaryBody`], which documents it (a test holds the two equal).
#[derive(Serialize)]
struct SummaryRow<'a> {
    id: i64,
    order_no: &'a str,
    status: &'static str,
    status_label: &'static str,
    business: &'static str,
    subject_kind: &'static str,
    subject_name: &'a str,
    package_name: &'a str,
    total_fen: i64,
    created_at: String,
}

impl<'a> From<&'a OrderSummary> for SummaryRow<'a> {
    fn from(o: &'a OrderSummary) -> Self {
        Self {
            id: o.id.0,
            order_no: &o.order_no,
            status: o.status.as_str(),
            status_label: o.status.label(),
            business: o.business.as_str(),
            subject_kind: o.subject_kind.as_str(),
            subject_name: &o.subject_name,
            package_name: &o.package_name,
            total_fen: o.total.fen(),
            created_at: rfc3339(o.created_at),
        }
    }
}

impl From<&OrderSummary> for OrderSummaryBody {
    fn from(o: &OrderSummary) -> Self {
        Self {
            id: o.id.0,
            order_no: o.order_no.clone(),
            status: o.status.as_str().into(),
            status_label: o.status.label().into(),
            business: o.business.as_str().into(),
            subject_kind: o.subject_kind.as_str().into(),
            subject_name: o.subject_name.clone(),
            package_name: o.package_name.clone(),
            total_fen: o.total.fen(),
            created_at: rfc3339(o.created_at),
        }
    }
}

impl From<OrderView> for OrderBody {
    fn from(v: OrderView) -> Self {
        let ship_to = v.ship_to_masked();
        let o = &v.record.order;
        Self {
            summary: OrderSummaryBody::from(&v.record.summary()),
            delivery: o.delivery.as_str().into(),
            ship_to,
            pickup_point: o.pickup_point.clone(),
            invoice: o.invoice.as_ref().map(|i| InvoiceBody {
                kind: i.kind.clone(),
                title: i.title.clone(),
                taxpayer_no: i.taxpayer_no.clone(),
                address_phone: i.address_phone.clone(),
                bank_account: i.bank_account.clone(),
                delivery: i.delivery.clone(),
                email: i.email.clone(),
            }),
            fees: FeesBody {
                package_fen: o.fees.package.fen(),
                delivery_fen: o.fees.delivery.fen(),
                service_fen: o.fees.service.fen(),
                total_fen: o.fees.total.fen(),
            },
            timeline: v
                .events
                .into_iter()
                .map(|e| TimelineEntry {
                    from: e.from.map(|s| s.as_str().into()),
                    to: e.to.as_str().into(),
                    label: e.to.label().into(),
                    actor: e.actor.as_str().into(),
                    reason: e.reason,
                    at: rfc3339(e.at),
                })
                .collect(),
            application_id: v.record.order.application_id.0,
        }
    }
}

/// 确认订单: turn a complete application into an order in 待支付. Send an `Idempotency-Key`
/// header (8–64 of `A-Z a-z 0-9 - _`); a retry with the same key returns the same order.
#[utoipa::path(post, path = "/api/v1/applications/{id}/order", tag = "orders", params(("id" = i64, Path),
        ("Idempotency-Key" = String, Header, description = "Unique per order attempt")),
    request_body = ConfirmRequest,
    responses((status = 201, body = OrderBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn confirm_order(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<ApplicationId>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<ConfirmRequest>,
) -> Result<Response, ApiError> {
    let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).unwrap_or("");
    let form = ConfirmForm {
        delivery: req.delivery,
        address_id: req.address_id,
        new_address: req.new_address.map(Into::into),
        pickup_point_id: req.pickup_point_id.map(domain::PickupPointId),
        invoice: InvoiceDraft {
            kind: req.invoice_kind,
            title: req.invoice_title,
            taxpayer_no: req.invoice_taxpayer_no,
            address_phone: req.invoice_address_phone,
            bank_account: req.invoice_bank_account,
            delivery: req.invoice_delivery,
            email: req.invoice_email,
        },
        invoice_address_id: req.invoice_address_id,
    };
    let view = state.app.confirm_order(&user, id, &form, key).await?;
    Ok((StatusCode::CREATED, Json(OrderBody::from(view))).into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct OrdersQuery {
    /// Only orders in this status, e.g. `pending_payment`.
    pub status: Option<String>,
}

/// 我的订单, newest first, optionally one status tab.
#[utoipa::path(get, path = "/api/v1/orders", tag = "orders", params(OrdersQuery),
    responses((status = 200, body = Vec<OrderSummaryBody>), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list_orders(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Query(q): Query<OrdersQuery>,
) -> Result<Response, ApiError> {
    let filter = match q.status.as_deref() {
        None | Some("") => None,
        Some(name) => Some(
            OrderStatus::parse(name).ok_or_else(|| app::Error::field("status", "status_invalid", "订单状态不存在"))?,
        ),
    };
    let orders = state.app.order_summaries(&user).await?;
    let rows: Vec<SummaryRow<'_>> =
        orders.iter().filter(|o| filter.is_none_or(|s| o.status == s)).map(SummaryRow::from).collect();
    Ok(Json(rows).into_response())
}

/// One order with everything submitted, the fee breakdown and its timeline.
#[utoipa::path(get, path = "/api/v1/orders/{id}", tag = "orders", params(("id" = i64, Path)),
    responses((status = 200, body = OrderBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_order(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<OrderId>,
) -> Result<Json<OrderBody>, ApiError> {
    Ok(Json(state.app.order(&user, id).await?.into()))
}

/// 取消: cancel an unpaid order (its trades are closed at the gateway first; 503 when the
/// gateway cannot be reached, 409 `order_paid` when it was paid meanwhile).
#[utoipa::path(post, path = "/api/v1/orders/{id}/cancel", tag = "orders", params(("id" = i64, Path)),
    responses((status = 200, body = OrderBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 503, body = ErrorBody)))]
pub async fn cancel_order(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<OrderId>,
) -> Result<Json<OrderBody>, ApiError> {
    Ok(Json(state.app.cancel_order(&user, id).await?.into()))
}

/// 重新提交: after 修改订单, send a rejected order back to review.
#[utoipa::path(post, path = "/api/v1/orders/{id}/resubmit", tag = "orders", params(("id" = i64, Path)),
    responses((status = 200, body = OrderBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn resubmit_order(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<OrderId>,
) -> Result<Json<OrderBody>, ApiError> {
    Ok(Json(state.app.resubmit_order(&user, id).await?.into()))
}

/// 确认收货: the applicant confirms a couriered key arrived (待收货 → 已完成).
#[utoipa::path(post, path = "/api/v1/orders/{id}/confirm-receipt", tag = "orders", params(("id" = i64, Path)),
    responses((status = 200, body = OrderBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn confirm_receipt(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<OrderId>,
) -> Result<Json<OrderBody>, ApiError> {
    Ok(Json(state.app.fulfilment().confirm_receipt(&user, id).await?.into()))
}

#[cfg(test)]
mod tests {
    use super::{OrderSummaryBody, SummaryRow};
    use app::ports::OrderSummary;
    use domain::application::{Business, SubjectKind};
    use domain::{Money, OrderId, OrderStatus};

    #[test]
    fn a_list_row_is_the_documented_summary() {
        let summary = OrderSummary {
            id: OrderId(7),
            order_no: "SD2026112512345678".into(),
            status: OrderStatus::Rejected,
            subject_kind: SubjectKind::Enterprise,
            business: Business::Replacement,
            subject_name: "示例科技有限公司".into(),
            package_name: "主锁 · 1年".into(),
            total: Money::from_fen(25_000).unwrap_or(Money::ZERO),
            created_at: time::macros::datetime!(2026-11-25 02:00:00.25 UTC),
        };
        let row = serde_json::to_value(SummaryRow::from(&summary)).ok();
        let documented = serde_json::to_value(OrderSummaryBody::from(&summary)).ok();
        assert!(row.is_some() && row == documented, "{row:?} vs {documented:?}");
    }
}
