//! 制证工作站 and 证书查询 in the back office: fulfilment staff create (shown once) and revoke
//! the API tokens their stations use; staff find certificates by serial, company or credit code,
//! and revoke one with a reason (audited).

use app::certificates::CertificateView;
use app::certificates::Revoking;
use app::ports::StationTokenRecord;
use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use domain::certificate::RevocationReason;
use domain::staff::Role;
use serde::Deserialize;

use super::{AdminLayout, Staff};
use crate::AppState;
use crate::html::{PageError, PagePath, PageResult, local_time, render};

#[derive(Template)]
#[template(path = "admin/station.html")]
struct StationPage {
    layout: AdminLayout,
    tokens: Vec<StationTokenRecord>,
    /// Just created: shown this once.
    created: Option<String>,
    origin: String,
}

impl StationPage {
    #[allow(clippy::ref_option)] // askama hands arguments over by reference
    fn when(t: &Option<time::OffsetDateTime>) -> String {
        t.map_or_else(|| "—".into(), local_time)
    }

    fn created_at(t: &time::OffsetDateTime) -> String {
        local_time(*t)
    }
}

fn origin(state: &AppState) -> String {
    state.config.public_origin.clone().unwrap_or_else(|| "http://127.0.0.1:8080".into())
}

pub async fn page(State(state): State<AppState>, Staff(staff, visitor): Staff) -> PageResult {
    let tokens = state.app.station_tokens(&staff).await?;
    let layout = AdminLayout::new("制证工作站", &visitor, Some(&staff));
    Ok(render(StatusCode::OK, &StationPage { layout, tokens, created: None, origin: origin(&state) }))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct NameForm {
    name: String,
}

pub async fn create(
    State(state): State<AppState>,
    Staff(staff, visitor): Staff,
    Form(form): Form<NameForm>,
) -> PageResult {
    let created = state.app.create_station_token(&staff, &form.name).await.map_err(PageError::refused)?;
    let tokens = state.app.station_tokens(&staff).await?;
    let layout = AdminLayout::new("制证工作站", &visitor, Some(&staff));
    let page = StationPage { layout, tokens, created: Some(created.token), origin: origin(&state) };
    let mut response = render(StatusCode::OK, &page);
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        "no-store".parse().unwrap_or_else(|_| axum::http::HeaderValue::from_static("no-store")),
    );
    Ok(response)
}

pub async fn revoke_token(
    State(state): State<AppState>,
    Staff(staff, _): Staff,
    PagePath(id): PagePath<domain::StationTokenId>,
) -> PageResult {
    state.app.revoke_station_token(&staff, id).await.map_err(PageError::refused)?;
    Ok(Redirect::to("/admin/station").into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SoftKeyForm {
    algorithm: String,
}

/// 制证 on the desk's own software token (development only).
pub async fn soft_key(
    State(state): State<AppState>,
    Staff(staff, _): Staff,
    PagePath(id): PagePath<domain::OrderId>,
    Form(form): Form<SoftKeyForm>,
) -> PageResult {
    let algorithm =
        domain::certificate::KeyAlgorithm::parse(&form.algorithm).unwrap_or(domain::certificate::KeyAlgorithm::Sm2);
    state.app.produce_locally(&staff, id, algorithm).await.map_err(PageError::refused)?;
    Ok(Redirect::to(&format!("/admin/orders/{}?notice=key_produced", id.0)).into_response())
}

#[derive(Template)]
#[template(path = "admin/certificates.html")]
struct SearchPage {
    layout: AdminLayout,
    query: String,
    certificates: Vec<CertificateView>,
    /// Company certificates' revocations waiting for a second staff member.
    requests: Vec<app::ports::RevocationRequest>,
}

impl SearchPage {
    fn when(t: &time::OffsetDateTime) -> String {
        local_time(*t)
    }

    /// The request is this staff member's own (another must approve it).
    fn asked_by_me(&self, request: &app::ports::RevocationRequest) -> bool {
        self.layout.staff.as_ref().is_some_and(|s| s.id == request.requested_by)
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SearchQuery {
    q: String,
    notice: Option<String>,
}

pub async fn search(
    State(state): State<AppState>,
    Staff(staff, visitor): Staff,
    Query(q): Query<SearchQuery>,
) -> PageResult {
    let certificates = state.app.search_certificates(&staff, &q.q).await?;
    let requests = if staff.has(Role::Fulfilment) || staff.has(Role::Admin) {
        match state.app.revocation_requests(&staff).await {
            Ok(requests) => requests,
            Err(err) => return Err(err.into()),
        }
    } else {
        Vec::new()
    };
    let layout = AdminLayout::new("证书查询", &visitor, Some(&staff)).with_notice(q.notice.as_deref());
    Ok(render(StatusCode::OK, &SearchPage { layout, query: q.q, certificates, requests }))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RevokeForm {
    reason: String,
    note: String,
}

pub async fn revoke(
    State(state): State<AppState>,
    Staff(staff, _): Staff,
    PagePath(serial): PagePath<String>,
    Form(form): Form<RevokeForm>,
) -> PageResult {
    let Some(reason) = RevocationReason::parse(&form.reason) else {
        return Err(PageError::refused(app::Error::field("reason", "reason_invalid", "请选择吊销原因")));
    };
    match state.app.revoke_certificate(&staff, &serial, reason, &form.note).await {
        Ok(Revoking::Revoked) => Ok(done(&serial, "certificate_revoked")),
        Ok(Revoking::AwaitingApproval) => Ok(done(&serial, "revocation_requested")),
        Err(err) => Err(PageError::refused(err)),
    }
}

pub async fn approve_revocation(
    State(state): State<AppState>,
    Staff(staff, _): Staff,
    PagePath(serial): PagePath<String>,
) -> PageResult {
    state.app.approve_revocation(&staff, &serial).await.map_err(PageError::refused)?;
    Ok(done(&serial, "certificate_revoked"))
}

fn done(serial: &str, notice: &str) -> Response {
    let serial = crate::visitor::urlencode(serial);
    Redirect::to(&format!("/admin/certificates?q={serial}&notice={notice}")).into_response()
}
