//! 财务 pages: the desk (invoices to issue, refunds to approve, alerts, today's takings), one
//! order's money (payments, notifications, refunds, invoice) and the actions on it.

use app::finance::{FinanceCase, FinanceDesk};
use askama::Template;
use axum::Form;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use domain::OrderId;
use serde::Deserialize;

use super::{AdminLayout, Staff};
use crate::AppState;
use crate::html::{NoticeQuery, PageError, PagePath, PageResult, local_time, render};

#[derive(Template)]
#[template(path = "admin/finance.html")]
struct DeskPage {
    layout: AdminLayout,
    desk: FinanceDesk,
}

impl DeskPage {
    fn when(t: &time::OffsetDateTime) -> String {
        local_time(*t)
    }
}

#[derive(Template)]
#[template(path = "admin/bill.html")]
struct BillPage {
    layout: AdminLayout,
    day: time::Date,
    diff: app::bill::BillDiff,
}

impl BillPage {
    #[allow(clippy::trivially_copy_pass_by_ref)] // the template hands loop items by reference
    fn yuan(fen: &i64) -> String {
        app::finance::yuan(*fen)
    }
}

/// 支付宝对账: the day's bill as downloaded from Alipay, checked against our payments.
pub async fn compare_bill(
    State(state): State<AppState>,
    Staff(staff, visitor): Staff,
    multipart: Result<Multipart, MultipartRejection>,
) -> PageResult {
    let (mut day, mut file) = (String::new(), Vec::new());
    if let Ok(mut multipart) = multipart {
        while let Ok(Some(field)) = multipart.next_field().await {
            match field.name() {
                Some("day") => day = field.text().await.unwrap_or_default(),
                Some("file") => file = field.bytes().await.map(|b| b.to_vec()).unwrap_or_default(),
                _ => {}
            }
        }
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let Ok(day) = time::Date::parse(day.trim(), format) else {
        return Err(PageError::refused(app::Error::field("day", "date_invalid", "请选择账单日期")));
    };
    let diff =
        state.app.bill_checks().compare_alipay_bill_file(&staff, day, &file).await.map_err(PageError::refused)?;
    Ok(render(StatusCode::OK, &BillPage { layout: AdminLayout::new("支付宝对账", &visitor, Some(&staff)), day, diff }))
}

#[derive(Template)]
#[template(path = "admin/takings.html")]
struct TakingsPage {
    layout: AdminLayout,
    t: app::finance::Takings,
}

impl TakingsPage {
    fn when(t: &time::OffsetDateTime) -> String {
        local_time(*t)
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RangeQuery {
    from: String,
    to: String,
}

fn range(q: &RangeQuery) -> Result<(time::Date, time::Date), app::Error> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let day = |field: &'static str, text: &str| {
        time::Date::parse(text.trim(), format)
            .map_err(|_| app::Error::field(field, "date_invalid", "请按 2026-12-01 的格式填写日期"))
    };
    Ok((day("from", &q.from)?, day("to", &q.to)?))
}

/// The report for the range a query names.
async fn takings_in(
    state: &AppState,
    staff: &app::staff::CurrentStaff,
    q: &RangeQuery,
) -> Result<app::finance::Takings, app::Error> {
    let (from, to) = range(q)?;
    state.app.takings(staff, from, to).await
}

/// 收款统计 for a date range: received, refunded, net and every movement.
pub async fn takings(
    State(state): State<AppState>,
    Staff(staff, visitor): Staff,
    Query(q): Query<RangeQuery>,
) -> PageResult {
    let t = takings_in(&state, &staff, &q).await.map_err(PageError::refused)?;
    Ok(render(StatusCode::OK, &TakingsPage { layout: AdminLayout::new("收款统计", &visitor, Some(&staff)), t }))
}

/// The same as CSV, for the accountant.
pub async fn takings_csv(
    State(state): State<AppState>,
    Staff(staff, _): Staff,
    Query(q): Query<RangeQuery>,
) -> PageResult {
    let t = takings_in(&state, &staff, &q).await.map_err(PageError::refused)?;
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"takings-{}-{}.csv\"", t.from, t.to),
            ),
        ],
        t.csv(),
    )
        .into_response())
}

#[derive(Template)]
#[template(path = "admin/finance_search.html")]
struct SearchPage {
    layout: AdminLayout,
    q: SearchQuery,
    error: Option<String>,
    /// `None` before a search was made.
    found: Option<Vec<app::ports::OrderRecord>>,
    limit: i64,
}

impl SearchPage {
    fn when(t: &time::OffsetDateTime) -> String {
        local_time(*t)
    }

    fn statuses() -> &'static [domain::OrderStatus] {
        domain::OrderStatus::ALL
    }
}

/// The days an order was placed in (first, last) and its state, as the search form gave them.
type Criteria = (Option<(time::Date, time::Date)>, Option<domain::OrderStatus>);

/// 订单查询: what finance typed, kept in the form.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SearchQuery {
    q: String,
    from: String,
    to: String,
    status: String,
    /// Present once the form was sent (an empty search lists the newest orders).
    go: Option<String>,
}

impl SearchQuery {
    fn criteria(&self) -> Result<Criteria, app::Error> {
        let days = match (self.from.trim(), self.to.trim()) {
            ("", "") => None,
            (from, "") => Some(range(&RangeQuery { from: from.into(), to: from.into() })?),
            ("", to) => Some(range(&RangeQuery { from: to.into(), to: to.into() })?),
            (from, to) => Some(range(&RangeQuery { from: from.into(), to: to.into() })?),
        };
        let status = match self.status.as_str() {
            "" => None,
            s => Some(
                domain::OrderStatus::parse(s)
                    .ok_or_else(|| app::Error::field("status", "status_invalid", "请选择订单状态"))?,
            ),
        };
        Ok((days, status))
    }
}

/// 订单查询 for finance: by order number, phone, company or person, credit code or ID number,
/// trade number, the days it was placed and its state.
pub async fn search(
    State(state): State<AppState>,
    Staff(staff, visitor): Staff,
    Query(q): Query<SearchQuery>,
) -> PageResult {
    let layout = AdminLayout::new("订单查询", &visitor, Some(&staff));
    let limit = app::finance::SEARCH_LIMIT;
    if q.go.is_none() && q.q.is_empty() {
        return Ok(render(StatusCode::OK, &SearchPage { layout, q, error: None, found: None, limit }));
    }
    let found = match q.criteria() {
        Ok((days, status)) => state.app.search_orders(&staff, &q.q, days, status).await,
        Err(err) => Err(err),
    };
    match found {
        Ok(found) => Ok(render(StatusCode::OK, &SearchPage { layout, q, error: None, found: Some(found), limit })),
        Err(app::Error::Validation(errors)) => {
            let error = Some(crate::html::joined(&errors));
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &SearchPage { layout, q, error, found: None, limit }))
        }
        Err(err) => Err(err.into()),
    }
}

#[derive(Template)]
#[template(path = "admin/finance_order.html")]
struct CasePage {
    layout: AdminLayout,
    case: FinanceCase,
}

impl CasePage {
    fn when(t: &time::OffsetDateTime) -> String {
        local_time(*t)
    }

    fn paid_at(p: &app::ports::PaymentRecord) -> String {
        p.paid_at.map(local_time).unwrap_or_default()
    }
}

fn to_case(id: OrderId, notice: &str) -> Response {
    Redirect::to(&format!("/admin/finance/orders/{}?notice={notice}", id.0)).into_response()
}

pub async fn desk(
    State(state): State<AppState>,
    Staff(staff, visitor): Staff,
    Query(q): Query<NoticeQuery>,
) -> PageResult {
    let desk = state.app.finance_desk(&staff).await?;
    let layout = AdminLayout::new("财务", &visitor, Some(&staff)).with_notice(q.notice.as_deref());
    Ok(render(StatusCode::OK, &DeskPage { layout, desk }))
}

pub async fn order(
    State(state): State<AppState>,
    Staff(staff, visitor): Staff,
    PagePath(id): PagePath<OrderId>,
    Query(q): Query<NoticeQuery>,
) -> PageResult {
    let case = state.app.finance_case(&staff, id).await?;
    let layout = AdminLayout::new("订单财务", &visitor, Some(&staff)).with_notice(q.notice.as_deref());
    Ok(render(StatusCode::OK, &CasePage { layout, case }))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RefundForm {
    reason: String,
}

pub async fn refund(
    State(state): State<AppState>,
    Staff(staff, _): Staff,
    PagePath(id): PagePath<OrderId>,
    Form(form): Form<RefundForm>,
) -> PageResult {
    match state.app.refunds().request_refund(&staff, id, &form.reason).await {
        Ok(refund) if refund.status == domain::payment::RefundStatus::AwaitingApproval => {
            Ok(to_case(id, "refund_awaiting"))
        }
        Ok(_) => Ok(to_case(id, "refunded")),
        Err(err) => Err(PageError::refused(err)),
    }
}

pub async fn approve_refund(
    State(state): State<AppState>,
    Staff(staff, _): Staff,
    PagePath(id): PagePath<domain::RefundId>,
) -> PageResult {
    state.app.refunds().approve_refund(&staff, id).await.map_err(PageError::refused)?;
    Ok(Redirect::to("/admin/finance?notice=refunded").into_response())
}

/// A note finance writes with an action (how an alert or a refund was settled).
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct NoteForm {
    note: String,
}

/// 标记已处理 on a finance alert, with how it was settled.
pub async fn resolve_alert(
    State(state): State<AppState>,
    Staff(staff, _): Staff,
    PagePath(id): PagePath<domain::FinanceAlertId>,
    Form(form): Form<NoteForm>,
) -> PageResult {
    state.app.resolve_finance_alert(&staff, id, &form.note).await.map_err(PageError::refused)?;
    Ok(Redirect::to("/admin/finance?notice=alert_resolved").into_response())
}

/// 重新向支付平台退款 for a refund that failed through its retry schedule.
pub async fn retry_refund(
    State(state): State<AppState>,
    Staff(staff, _): Staff,
    PagePath(id): PagePath<domain::RefundId>,
) -> PageResult {
    match state.app.refunds().retry_failed_refund(&staff, id).await {
        Ok(true) => Ok(Redirect::to("/admin/finance?notice=refunded").into_response()),
        Ok(false) => Ok(Redirect::to("/admin/finance?notice=refund_retrying").into_response()),
        Err(err) => Err(PageError::refused(err)),
    }
}

/// 登记为已退款: the money went back another way; finance writes how.
pub async fn settle_refund_offline(
    State(state): State<AppState>,
    Staff(staff, _): Staff,
    PagePath(id): PagePath<domain::RefundId>,
    Form(form): Form<NoteForm>,
) -> PageResult {
    state.app.refunds().settle_failed_refund_offline(&staff, id, &form.note).await.map_err(PageError::refused)?;
    Ok(Redirect::to("/admin/finance?notice=refund_settled").into_response())
}

/// The invoice form: its number (`number_field`) and the PDF, OFD and XML files.
async fn invoice_form(
    multipart: Result<Multipart, MultipartRejection>,
    number_field: &str,
) -> (String, app::invoices::InvoiceUpload) {
    let (mut number, mut upload) = (String::new(), app::invoices::InvoiceUpload::default());
    if let Ok(mut multipart) = multipart {
        while let Ok(Some(field)) = multipart.next_field().await {
            let name = field.name().unwrap_or_default().to_owned();
            if name == number_field {
                number = field.text().await.unwrap_or_default();
                continue;
            }
            let bytes = field.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
            match name.as_str() {
                "file" => upload.pdf = bytes,
                "ofd" => upload.ofd = Some(bytes),
                "xml" => upload.xml = Some(bytes),
                _ => {}
            }
        }
    }
    (number, upload)
}

pub async fn issue_invoice(
    State(state): State<AppState>,
    Staff(staff, _): Staff,
    PagePath(id): PagePath<OrderId>,
    multipart: Result<Multipart, MultipartRejection>,
) -> PageResult {
    let (number, upload) = invoice_form(multipart, "invoice_no").await;
    state.app.invoices().issue_invoice(&staff, id, &number, upload).await.map_err(PageError::refused)?;
    Ok(to_case(id, "invoice_issued"))
}

/// 红冲: the red-letter invoice that voids a refunded order's invoice.
pub async fn issue_red_invoice(
    State(state): State<AppState>,
    Staff(staff, _): Staff,
    PagePath(id): PagePath<OrderId>,
    multipart: Result<Multipart, MultipartRejection>,
) -> PageResult {
    let (number, upload) = invoice_form(multipart, "red_invoice_no").await;
    state.app.invoices().issue_red_invoice(&staff, id, &number, upload).await.map_err(PageError::refused)?;
    Ok(to_case(id, "invoice_voided"))
}

pub async fn resend_invoice(
    State(state): State<AppState>,
    Staff(staff, _): Staff,
    PagePath(id): PagePath<OrderId>,
) -> PageResult {
    state.app.invoices().resend_invoice(&staff, id).await.map_err(PageError::refused)?;
    Ok(to_case(id, "invoice_sent"))
}
