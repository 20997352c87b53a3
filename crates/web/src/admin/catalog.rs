//! 管理 · 套餐与价格: packages, fees and pickup points.

use app::catalog_admin::CatalogAdmin;
use app::ports::PickupPoint;
use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{AdminLayout, Staff};
use crate::AppState;
use crate::html::{NoticeQuery, PageError, PagePath, PageResult, render};

#[derive(Template)]
#[template(path = "admin/catalog.html")]
struct CatalogPage {
    layout: AdminLayout,
    catalog: CatalogAdmin,
    message: Option<String>,
}

fn saved() -> Response {
    Redirect::to("/admin/catalog?notice=catalog_saved").into_response()
}

async fn show(
    state: &AppState,
    staff: &app::staff::CurrentStaff,
    visitor: &crate::visitor::Visitor,
    notice: Option<&str>,
    message: Option<String>,
) -> PageResult {
    let catalog = state.app.catalogue().catalog_admin(staff).await?;
    let layout = AdminLayout::new("套餐与价格", visitor, Some(staff)).with_notice(notice);
    let status = if message.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    Ok(render(status, &CatalogPage { layout, catalog, message }))
}

/// Saved → back to the page; invalid input → the page again with the message.
async fn outcome<T>(
    state: &AppState,
    staff: &app::staff::CurrentStaff,
    visitor: &crate::visitor::Visitor,
    result: Result<T, app::Error>,
) -> PageResult {
    match result {
        Ok(_) => Ok(saved()),
        Err(app::Error::Validation(errors)) => {
            let message = crate::html::joined(&errors);
            show(state, staff, visitor, None, Some(message)).await
        }
        Err(other) => Err(other.into()),
    }
}

pub async fn page(
    State(state): State<AppState>,
    Staff(staff, visitor): Staff,
    Query(q): Query<NoticeQuery>,
) -> PageResult {
    show(&state, &staff, &visitor, q.notice.as_deref(), None).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct PackageForm {
    price: String,
    active: Option<String>,
}

pub async fn package(
    State(state): State<AppState>,
    Staff(staff, visitor): Staff,
    PagePath(id): PagePath<i64>,
    Form(form): Form<PackageForm>,
) -> PageResult {
    let result = state.app.catalogue().set_package(&staff, id, &form.price, form.active.is_some()).await;
    outcome(&state, &staff, &visitor, result).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct FeesForm {
    courier: String,
    pickup: String,
    service: String,
}

pub async fn fees(
    State(state): State<AppState>,
    Staff(staff, visitor): Staff,
    Form(form): Form<FeesForm>,
) -> PageResult {
    let result = state.app.catalogue().set_fees(&staff, &form.courier, &form.pickup, &form.service).await;
    outcome(&state, &staff, &visitor, result).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct PointForm {
    name: String,
    address: String,
    phone: String,
    hours: String,
    active: Option<String>,
}

async fn save_point(
    state: &AppState,
    staff: &app::staff::CurrentStaff,
    visitor: &crate::visitor::Visitor,
    id: domain::PickupPointId,
    form: PointForm,
) -> PageResult {
    let point = PickupPoint { id, name: form.name, address: form.address, phone: form.phone, hours: form.hours };
    let result = state.app.catalogue().save_pickup_point(staff, &point, form.active.is_some()).await;
    outcome(state, staff, visitor, result).await
}

pub async fn new_point(
    State(state): State<AppState>,
    Staff(staff, visitor): Staff,
    Form(form): Form<PointForm>,
) -> PageResult {
    save_point(&state, &staff, &visitor, domain::PickupPointId(0), form).await
}

pub async fn edit_point(
    State(state): State<AppState>,
    Staff(staff, visitor): Staff,
    PagePath(id): PagePath<domain::PickupPointId>,
    Form(form): Form<PointForm>,
) -> PageResult {
    if id.0 <= 0 {
        return Err(PageError::not_found());
    }
    save_point(&state, &staff, &visitor, id, form).await
}

#[derive(Template)]
#[template(path = "admin/templates.html")]
struct TemplatesPage {
    layout: AdminLayout,
    templates: Vec<(domain::document::DocumentKind, Option<app::ports::FormTemplate>)>,
}

pub async fn templates(
    State(state): State<AppState>,
    Staff(staff, visitor): Staff,
    Query(q): Query<NoticeQuery>,
) -> PageResult {
    let templates = state.app.catalogue().form_templates(&staff).await?;
    let layout = AdminLayout::new("文档模板", &visitor, Some(&staff)).with_notice(q.notice.as_deref());
    Ok(render(StatusCode::OK, &TemplatesPage { layout, templates }))
}

pub async fn upload_template(
    State(state): State<AppState>,
    Staff(staff, _): Staff,
    PagePath(kind): PagePath<String>,
    multipart: Result<axum::extract::Multipart, axum::extract::multipart::MultipartRejection>,
) -> PageResult {
    let file = crate::html::uploaded_file(multipart).await;
    state.app.catalogue().upload_form_template(&staff, &kind, file).await.map_err(PageError::refused)?;
    Ok(Redirect::to("/admin/templates?notice=catalog_saved").into_response())
}

pub async fn remove_template(
    State(state): State<AppState>,
    Staff(staff, _): Staff,
    PagePath(kind): PagePath<String>,
) -> PageResult {
    state.app.catalogue().remove_form_template(&staff, &kind).await?;
    Ok(Redirect::to("/admin/templates?notice=catalog_saved").into_response())
}
