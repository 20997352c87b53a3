//! 我的订单: orders by status tab, an order's details with its fee breakdown and timeline, and
//! 取消 for an unpaid order.

use app::applications::ApplicationView;
use app::orders::OrderView;
use app::ports::{OrderSummary, PaymentRecord, RefundRecord};
use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use domain::{OrderId, OrderStatus};
use serde::Deserialize;

use super::{Layout, Nav};
use crate::AppState;
use crate::html::{PageError, PagePath, PageResult, local_time, render, see_other};
use crate::visitor::PageUser;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/orders", get(list))
        .route("/orders/{id}", get(detail))
        .route("/orders/{id}/cancel", post(cancel))
        .route("/orders/{id}/resubmit", post(resubmit))
        .route("/orders/{id}/confirm-receipt", post(confirm_receipt))
        .route("/orders/{id}/seal.svg", get(seal))
        .route("/orders/{id}/seal.png", get(seal_png))
        .route("/orders/{id}/invoice", get(invoice))
        .route("/orders/{id}/invoice/{file}", get(invoice_file))
}

/// Tabs of the list, in the manual's order.
const TABS: [OrderStatus; 8] = [
    OrderStatus::PendingPayment,
    OrderStatus::UnderReview,
    OrderStatus::Processing,
    OrderStatus::Delivering,
    OrderStatus::Completed,
    OrderStatus::Rejected,
    OrderStatus::Cancelled,
    OrderStatus::Refunded,
];

/// The order's seal image, for its owner.
async fn seal(
    State(state): State<AppState>,
    PageUser(user, _): PageUser,
    PagePath(id): PagePath<OrderId>,
) -> PageResult {
    let svg = state.app.order_seal(&user, id).await?;
    Ok(crate::files::svg_image(svg))
}

/// The order's seal picture as it will be made (drawn, or from the 印章采样表 the reviewer chose).
async fn seal_png(
    State(state): State<AppState>,
    PageUser(user, _): PageUser,
    PagePath(id): PagePath<OrderId>,
) -> PageResult {
    let png = state.app.order_seal_png(&user, id).await?;
    Ok((
        [(axum::http::header::CONTENT_TYPE, "image/png"), (axum::http::header::CACHE_CONTROL, "private, no-store")],
        png,
    )
        .into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ListQuery {
    status: Option<String>,
    notice: Option<String>,
}

#[derive(Template)]
#[template(path = "orders.html")]
struct ListPage {
    layout: Layout,
    tabs: [OrderStatus; 8],
    current: Option<OrderStatus>,
    orders: Vec<OrderSummary>,
}

impl ListPage {
    #[allow(clippy::trivially_copy_pass_by_ref)] // askama hands loop items over by reference
    fn tab_class(&self, tab: &OrderStatus) -> &'static str {
        if self.current == Some(*tab) { "active" } else { "" }
    }

    fn when(order: &OrderSummary) -> String {
        local_time(order.created_at)
    }
}

async fn list(
    State(state): State<AppState>,
    PageUser(user, visitor): PageUser,
    Query(q): Query<ListQuery>,
) -> PageResult {
    let current = q.status.as_deref().and_then(OrderStatus::parse);
    let all = state.app.order_summaries(&user).await?;
    let orders = all.into_iter().filter(|o| current.is_none_or(|s| o.status == s)).collect();
    let layout = Layout::new(&state, &visitor, "我的订单", Nav::Orders).with_notice(q.notice.as_deref());
    Ok(render(StatusCode::OK, &ListPage { layout, tabs: TABS, current, orders }))
}

#[derive(Template)]
#[template(path = "order.html")]
struct DetailPage {
    layout: Layout,
    view: OrderView,
    /// What was submitted, masked.
    application: ApplicationView,
    payments: Vec<PaymentRecord>,
    refunds: Vec<RefundRecord>,
    delivery: app::fulfilment::DeliveryView,
    invoice: Option<app::ports::InvoiceRecord>,
    /// The company seal's diameter, in millimetres.
    seal_mm: f64,
}

impl DetailPage {
    fn when(t: &time::OffsetDateTime) -> String {
        local_time(*t)
    }

    fn channel(payment: &PaymentRecord) -> &'static str {
        payment.channel.label()
    }

    fn paid_at(payment: &PaymentRecord) -> String {
        payment.paid_at.map(local_time).unwrap_or_default()
    }

    /// 待自提 for a key waiting at the pickup point, else the state's own label.
    fn status_label(&self) -> &'static str {
        if self.view.record.status == OrderStatus::Delivering && self.delivery.pickup_code.is_some() {
            "待自提"
        } else {
            self.view.record.status.label()
        }
    }

    fn can_confirm_receipt(&self) -> bool {
        self.view.record.status == OrderStatus::Delivering
            && self.view.record.order.delivery == domain::pricing::Delivery::Courier
    }

    /// The seal's real size, as the applicant reads it.
    fn seal_size(&self) -> String {
        if self.view.record.order.subject_kind == domain::application::SubjectKind::Enterprise {
            format!("直径 {} 毫米", self.seal_mm)
        } else {
            format!("边长 {} 毫米", app::seals::PERSON_SEAL_MM)
        }
    }

    fn can_cancel(&self) -> bool {
        self.view.record.status == OrderStatus::PendingPayment
    }

    fn agent_phone(&self) -> String {
        self.application.agent_phone_masked().unwrap_or_default()
    }

    fn is_rejected(&self) -> bool {
        self.view.record.status == OrderStatus::Rejected
    }

    /// The reviewer's reasons from the latest rejection.
    fn rejection_reason(&self) -> Option<String> {
        self.view.events.iter().rev().find(|e| e.to == OrderStatus::Rejected).and_then(|e| e.reason.clone())
    }
}

async fn detail(
    State(state): State<AppState>,
    PageUser(user, visitor): PageUser,
    PagePath(id): PagePath<OrderId>,
    Query(q): Query<ListQuery>,
) -> PageResult {
    let view = state.app.order(&user, id).await?;
    let application = state.app.application(&user, view.record.order.application_id).await?;
    let (payments, refunds) = state.app.payments().order_payments(&user, id).await?;
    let delivery = state.app.fulfilment().delivery_view(&user, id).await?;
    let invoice = state.app.invoices().invoice_of(&user, id).await?;
    let layout = Layout::new(&state, &visitor, "订单详情", Nav::Orders).with_notice(q.notice.as_deref());
    let seal_mm = state.app.company_seal_size().millimetres();
    let page = DetailPage { layout, view, application, payments, refunds, delivery, invoice, seal_mm };
    Ok(render(StatusCode::OK, &page))
}

async fn cancel(
    State(state): State<AppState>,
    PageUser(user, _): PageUser,
    PagePath(id): PagePath<OrderId>,
) -> PageResult {
    state.app.cancel_order(&user, id).await?;
    Ok(see_other(&format!("/orders/{}?notice=order_cancelled", id.0)))
}

async fn resubmit(
    State(state): State<AppState>,
    PageUser(user, _): PageUser,
    PagePath(id): PagePath<OrderId>,
) -> PageResult {
    state.app.resubmit_order(&user, id).await?;
    Ok(see_other(&format!("/orders/{}?notice=order_resubmitted", id.0)))
}

async fn confirm_receipt(
    State(state): State<AppState>,
    PageUser(user, _): PageUser,
    PagePath(id): PagePath<OrderId>,
) -> PageResult {
    state.app.fulfilment().confirm_receipt(&user, id).await?;
    Ok(see_other(&format!("/orders/{}?notice=receipt_confirmed", id.0)))
}

/// The order's e-invoice PDF, for its owner.
async fn invoice(state: State<AppState>, user: PageUser, PagePath(id): PagePath<OrderId>) -> PageResult {
    invoice_file(state, user, PagePath((id, "pdf".to_owned()))).await
}

/// One file of the order's invoice for its owner: `pdf`, `ofd`, `xml`, or `red-pdf`, … of the
/// red-letter invoice that voided it.
async fn invoice_file(
    State(state): State<AppState>,
    PageUser(user, _): PageUser,
    PagePath((id, file)): PagePath<(OrderId, String)>,
) -> PageResult {
    let (red, format) = match file.strip_prefix("red-") {
        Some(format) => (true, format),
        None => (false, file.as_str()),
    };
    let Some(format) = domain::invoice::InvoiceFormat::parse(format) else {
        return Err(PageError::not_found());
    };
    let (name, content_type, bytes) = state.app.invoices().download_invoice(&user, id, red, format).await?;
    Ok((
        StatusCode::OK,
        [
            (axum::http::header::CONTENT_TYPE, content_type.to_owned()),
            (axum::http::header::CONTENT_DISPOSITION, crate::files::attachment_disposition(&name)),
        ],
        bytes,
    )
        .into_response())
}
