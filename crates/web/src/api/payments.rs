//! Payments API: start paying an order (the signed gateway form or a QR code), ask the gateway
//! again (我已支付，刷新状态), and list an order's payments and refunds.

use app::gateway::Checkout;
use axum::Json;
use axum::extract::State;
use domain::OrderId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::orders::OrderBody;
use super::{ApiJson, ApiPath, rfc3339};
use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::visitor::ApiUser;

#[derive(Debug, Deserialize, ToSchema)]
pub struct StartPaymentRequest {
    /// `alipay_page` (支付宝网页支付), `alipay_qr` (支付宝扫码) or `cpcn_bank` (中金支付网银).
    pub method: String,
    /// `cpcn_bank` only: the bank's `BankID`.
    #[serde(default)]
    pub bank_id: String,
}

/// Where the payer goes next.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckoutBody {
    /// `form`: POST `fields` to `action` from the browser; `qr`: show `qr_code` as a QR code.
    pub kind: String,
    pub action: Option<String>,
    /// Name/value pairs, in order.
    pub fields: Vec<[String; 2]>,
    pub qr_code: Option<String>,
    /// The QR code rendered as SVG markup.
    pub qr_svg: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentBody {
    /// `alipay` or `cpcn`.
    pub channel: &'static str,
    pub out_trade_no: String,
    pub amount_fen: i64,
    /// `pending`, `paid`, `closed` or `refunded`.
    pub status: String,
    pub status_label: String,
    pub paid_at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RefundBody {
    pub amount_fen: i64,
    pub reason: String,
    /// `pending` or `done`.
    pub status: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentsBody {
    pub payments: Vec<PaymentBody>,
    pub refunds: Vec<RefundBody>,
}

/// 去支付: open the order's trade at the chosen channel.
#[utoipa::path(post, path = "/api/v1/orders/{id}/payments", tag = "payments", params(("id" = i64, Path)),
    request_body = StartPaymentRequest,
    responses((status = 200, body = CheckoutBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn start_payment(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<OrderId>,
    ApiJson(body): ApiJson<StartPaymentRequest>,
) -> Result<Json<CheckoutBody>, ApiError> {
    let method = app::gateway::Method::parse(&body.method, &body.bank_id)
        .ok_or_else(|| app::Error::field("method", "method_invalid", "请选择支付方式"))?;
    let checkout = state.app.payments().start_payment(&user, id, &method).await?;
    Ok(Json(match checkout {
        Checkout::Form(form) => CheckoutBody {
            kind: "form".into(),
            action: Some(form.action),
            fields: form.fields.into_iter().map(|(k, v)| [k, v]).collect(),
            qr_code: None,
            qr_svg: None,
        },
        Checkout::Qr { code } => CheckoutBody {
            kind: "qr".into(),
            action: None,
            fields: Vec::new(),
            qr_svg: Some(crate::qr::svg(&code)),
            qr_code: Some(code),
        },
    }))
}

/// 我已支付，刷新状态: ask the gateway about the order's open trades.
#[utoipa::path(post, path = "/api/v1/orders/{id}/payments/refresh", tag = "payments", params(("id" = i64, Path)),
    responses((status = 200, body = OrderBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 503, body = ErrorBody)))]
pub async fn refresh_payment(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<OrderId>,
) -> Result<Json<OrderBody>, ApiError> {
    Ok(Json(state.app.payments().refresh_payment(&user, id).await?.into()))
}

/// The order's payments and refunds.
#[utoipa::path(get, path = "/api/v1/orders/{id}/payments", tag = "payments", params(("id" = i64, Path)),
    responses((status = 200, body = PaymentsBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_payments(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<OrderId>,
) -> Result<Json<PaymentsBody>, ApiError> {
    let (payments, refunds) = state.app.payments().order_payments(&user, id).await?;
    Ok(Json(PaymentsBody {
        payments: payments
            .into_iter()
            .map(|p| PaymentBody {
                channel: p.channel.as_str(),
                out_trade_no: p.out_trade_no,
                amount_fen: p.amount.fen(),
                status: p.status.as_str().into(),
                status_label: p.status.label().into(),
                paid_at: p.paid_at.map(rfc3339),
            })
            .collect(),
        refunds: refunds
            .into_iter()
            .map(|r| RefundBody { amount_fen: r.amount.fen(), reason: r.reason, status: r.status.as_str().into() })
            .collect(),
    }))
}
