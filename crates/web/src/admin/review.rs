//! 审核 pages: the queue, one case with its documents, and the decision.

use app::review::{QueueItem, ReviewCase};
use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect};
use domain::OrderId;
use serde::Deserialize;

use super::{AdminLayout, Staff};
use crate::AppState;
use crate::html::{NoticeQuery, PageError, PagePath, PageResult, local_time, render};

#[derive(Template)]
#[template(path = "admin/queue.html")]
struct QueuePage {
    layout: AdminLayout,
    items: Vec<QueueItem>,
}

impl QueuePage {
    fn age(waiting: &time::Duration) -> String {
        let minutes = waiting.whole_minutes();
        if minutes < 60 {
            format!("{minutes} 分钟")
        } else if minutes < 48 * 60 {
            format!("{} 小时 {} 分钟", minutes / 60, minutes % 60)
        } else {
            format!("{} 天", minutes / (24 * 60))
        }
    }
}

#[derive(Template)]
#[template(path = "admin/case.html")]
struct CasePage {
    layout: AdminLayout,
    case: ReviewCase,
    reasons: [&'static str; 8],
    fulfilment: Option<app::ports::FulfilmentRecord>,
    /// Certificates issued for the order through the desk, newest first.
    certificates: Vec<app::certificates::CertificateView>,
    local_keys: bool,
    couriers: [&'static str; 7],
    /// Full ID numbers, only in the answer to a reveal with a reason.
    revealed: Option<(Option<String>, Option<String>)>,
    /// What staff typed into a fulfilment form that was refused, with the reasons beside it.
    form: crate::html::Form,
    /// Where the seal's picture comes from, and whether a 印章采样表 was uploaded.
    seal_source: domain::seal::SealSource,
    has_specimen: bool,
}

impl CasePage {
    fn when(t: &time::OffsetDateTime) -> String {
        local_time(*t)
    }

    /// Keys can be made on the desk's own software token (development).
    fn makes_local_keys(&self) -> bool {
        self.local_keys
    }

    /// The order has a certificate issued through the desk and not revoked.
    fn has_certificate(&self) -> bool {
        self.certificates.iter().any(|c| c.record.revocation.is_none())
    }

    fn short(sha256: &str) -> &str {
        &sha256[..12.min(sha256.len())]
    }

    fn reviewable(&self) -> bool {
        self.case.view.record.status == domain::OrderStatus::UnderReview
            && !self.case.own_order
            && self.case.claimed_by_other.is_none()
            && self.layout.can("reviewer")
    }
}

pub async fn queue(State(state): State<AppState>, Staff(staff, visitor): Staff) -> PageResult {
    let items = state.app.review_queue(&staff).await?;
    let layout = AdminLayout::new("审核队列", &visitor, Some(&staff));
    Ok(render(StatusCode::OK, &QueuePage { layout, items }))
}

pub async fn case(
    State(state): State<AppState>,
    Staff(staff, visitor): Staff,
    PagePath(id): PagePath<OrderId>,
    Query(q): Query<NoticeQuery>,
) -> PageResult {
    show_case(&state, &staff, &visitor, id, q.notice.as_deref(), None).await
}

async fn show_case(
    state: &AppState,
    staff: &app::staff::CurrentStaff,
    visitor: &crate::visitor::Visitor,
    id: OrderId,
    notice: Option<&str>,
    revealed: Option<(Option<String>, Option<String>)>,
) -> PageResult {
    let page = case_page(state, staff, visitor, id, notice, revealed, crate::html::Form::default()).await?;
    Ok(render(StatusCode::OK, &page))
}

/// The case page again after a refused fulfilment form: what was typed stays, each reason beside
/// its field (422).
pub(crate) async fn reshow_case(
    state: &AppState,
    staff: &app::staff::CurrentStaff,
    visitor: &crate::visitor::Visitor,
    id: OrderId,
    mut form: crate::html::Form,
    err: app::Error,
) -> PageResult {
    let status = form.fail(err);
    let page = case_page(state, staff, visitor, id, None, None, form).await?;
    Ok(render(status, &page))
}

async fn case_page(
    state: &AppState,
    staff: &app::staff::CurrentStaff,
    visitor: &crate::visitor::Visitor,
    id: OrderId,
    notice: Option<&str>,
    revealed: Option<(Option<String>, Option<String>)>,
    form: crate::html::Form,
) -> Result<CasePage, app::Error> {
    let case = state.app.review_case(staff, id).await?;
    let fulfilment = state.app.fulfilment().fulfilment_of(staff, id).await?;
    let certificates = state.app.order_certificates(staff, id).await?;
    let layout = AdminLayout::new("订单详情", visitor, Some(staff)).with_notice(notice);
    let seal_source = state.app.seal_source(id).await?;
    let has_specimen = case.application.document(domain::document::DocumentKind::SealSpecimen).is_some();
    Ok(CasePage {
        layout,
        case,
        reasons: domain::review::REJECTION_REASONS,
        fulfilment,
        certificates,
        local_keys: state.app.makes_local_keys(),
        couriers: domain::fulfilment::COURIERS,
        revealed,
        form,
        seal_source,
        has_specimen,
    })
}

/// The order's seal image, for the staff on its case.
pub async fn seal(
    State(state): State<AppState>,
    Staff(staff, _): Staff,
    PagePath(id): PagePath<OrderId>,
) -> PageResult {
    let svg = state.app.staff_order_seal(&staff, id).await?;
    Ok(crate::files::svg_image(svg))
}

/// The stamp lifted off the order's 印章采样表 (PNG).
pub async fn seal_scan(
    State(state): State<AppState>,
    Staff(staff, _): Staff,
    PagePath(id): PagePath<OrderId>,
) -> PageResult {
    let png = state.app.staff_seal_scan(&staff, id).await?;
    Ok(([(header::CONTENT_TYPE, "image/png"), (header::CACHE_CONTROL, "private, no-store")], png).into_response())
}

#[derive(serde::Deserialize)]
pub struct SealSourceForm {
    source: String,
}

/// The reviewer chooses the drawn seal or the stamp on the 印章采样表.
pub async fn choose_seal_source(
    State(state): State<AppState>,
    Staff(staff, _): Staff,
    PagePath(id): PagePath<OrderId>,
    axum::Form(form): axum::Form<SealSourceForm>,
) -> PageResult {
    let Some(source) = domain::seal::SealSource::parse(&form.source) else { return Err(PageError::not_found()) };
    state.app.choose_seal_source(&staff, id, source).await?;
    Ok(Redirect::to(&format!("/admin/orders/{}?notice=seal_source_chosen", id.0)).into_response())
}

pub async fn claim(
    State(state): State<AppState>,
    Staff(staff, _): Staff,
    PagePath(id): PagePath<OrderId>,
) -> PageResult {
    state.app.review().claim_review(&staff, id).await?;
    Ok(Redirect::to(&format!("/admin/orders/{}?notice=claimed", id.0)).into_response())
}

pub async fn approve(
    State(state): State<AppState>,
    Staff(staff, _): Staff,
    PagePath(id): PagePath<OrderId>,
) -> PageResult {
    state.app.review().approve_review(&staff, id).await?;
    Ok(Redirect::to(&format!("/admin/orders/{}?notice=approved", id.0)).into_response())
}

pub async fn reject(
    State(state): State<AppState>,
    Staff(staff, _): Staff,
    PagePath(id): PagePath<OrderId>,
    Form(fields): Form<Vec<(String, String)>>,
) -> PageResult {
    let reasons: Vec<String> = fields.iter().filter(|(k, _)| k == "reasons").map(|(_, v)| v.clone()).collect();
    let note = fields.iter().find(|(k, _)| k == "note").map(|(_, v)| v.as_str()).unwrap_or_default();
    state.app.review().reject_review(&staff, id, &reasons, note).await.map_err(PageError::refused)?;
    Ok(Redirect::to(&format!("/admin/orders/{}?notice=rejected", id.0)).into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ReasonQuery {
    reason: String,
}

/// A document for viewing (never cached): a re-encoded photo inline, a PDF only as an attachment
/// (opened by the reviewer's own viewer, never in our origin), each in a sandbox.
pub async fn document(
    State(state): State<AppState>,
    Staff(staff, _): Staff,
    PagePath((id, kind)): PagePath<(OrderId, String)>,
    Query(q): Query<ReasonQuery>,
) -> PageResult {
    let (record, bytes) = state.app.staff_document(&staff, id, &kind, &q.reason).await.map_err(PageError::refused)?;
    let disposition = if record.content_type.starts_with("image/") {
        "inline".to_owned()
    } else {
        format!("attachment; filename=\"{}-{kind}.pdf\"", id.0)
    };
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, record.content_type),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CONTENT_SECURITY_POLICY, "sandbox".to_owned()),
        ],
        bytes,
    )
        .into_response())
}

/// 查看完整证件号码: the case page once, with the full numbers (never in a URL, never cached).
pub async fn reveal(
    State(state): State<AppState>,
    Staff(staff, visitor): Staff,
    PagePath(id): PagePath<OrderId>,
    Form(form): Form<ReasonQuery>,
) -> PageResult {
    let numbers = state.app.reveal_id_numbers(&staff, id, &form.reason).await.map_err(PageError::refused)?;
    show_case(&state, &staff, &visitor, id, None, Some(numbers)).await
}
