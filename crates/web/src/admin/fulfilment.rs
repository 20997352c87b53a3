//! 制证与发货 pages: the 待处理 list, recording the key, shipping, pickup and handover, and the
//! printable packing list with shipping label.

use app::fulfilment::FulfilmentItem;
use app::ports::FulfilmentRecord;
use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use domain::OrderId;
use domain::fulfilment::KeyDraft;
use serde::Deserialize;

use super::review::reshow_case;
use super::{AdminLayout, Staff};
use crate::AppState;
use crate::html::{PageError, PagePath, PageResult, render};

#[derive(Template)]
#[template(path = "admin/fulfilment.html")]
struct ListPage {
    layout: AdminLayout,
    items: Vec<FulfilmentItem>,
}

#[derive(Template)]
#[template(path = "admin/packing.html")]
struct PackingPage {
    order: app::ports::OrderRecord,
    fulfilment: Option<FulfilmentRecord>,
    operator: String,
}

fn done(id: OrderId, notice: &str) -> Response {
    Redirect::to(&format!("/admin/orders/{}?notice={notice}", id.0)).into_response()
}

pub async fn list(State(state): State<AppState>, Staff(staff, visitor): Staff) -> PageResult {
    let items = state.app.fulfilment().fulfilment_queue(&staff).await?;
    let layout = AdminLayout::new("制证发货", &visitor, Some(&staff));
    Ok(render(StatusCode::OK, &ListPage { layout, items }))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct KeyForm {
    key_type: String,
    serial: String,
    valid_from: String,
    valid_to: String,
}

pub async fn record_key(
    State(state): State<AppState>,
    Staff(staff, visitor): Staff,
    PagePath(id): PagePath<OrderId>,
    Form(form): Form<KeyForm>,
) -> PageResult {
    let typed = crate::html::Form::default()
        .with("key_type", form.key_type.clone())
        .with("serial", form.serial.clone())
        .with("valid_from", form.valid_from.clone())
        .with("valid_to", form.valid_to.clone());
    let draft =
        KeyDraft { key_type: form.key_type, serial: form.serial, valid_from: form.valid_from, valid_to: form.valid_to };
    match state.app.fulfilment().record_key(&staff, id, &draft).await {
        Ok(()) => Ok(done(id, "key_recorded")),
        Err(err @ app::Error::Validation(_)) => reshow_case(&state, &staff, &visitor, id, typed, err).await,
        Err(err) => Err(PageError::refused(err)),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ShipForm {
    courier: String,
    tracking_no: String,
}

pub async fn ship(
    State(state): State<AppState>,
    Staff(staff, visitor): Staff,
    PagePath(id): PagePath<OrderId>,
    Form(form): Form<ShipForm>,
) -> PageResult {
    match state.app.fulfilment().ship(&staff, id, &form.courier, &form.tracking_no).await {
        Ok(()) => Ok(done(id, "shipped")),
        Err(err @ app::Error::Validation(_)) => {
            let typed =
                crate::html::Form::default().with("courier", form.courier).with("tracking_no", form.tracking_no);
            reshow_case(&state, &staff, &visitor, id, typed, err).await
        }
        Err(err) => Err(PageError::refused(err)),
    }
}

pub async fn ready(
    State(state): State<AppState>,
    Staff(staff, _): Staff,
    PagePath(id): PagePath<OrderId>,
) -> PageResult {
    state.app.fulfilment().ready_for_pickup(&staff, id).await.map_err(PageError::refused)?;
    Ok(done(id, "ready"))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CodeForm {
    code: String,
}

pub async fn hand_over(
    State(state): State<AppState>,
    Staff(staff, visitor): Staff,
    PagePath(id): PagePath<OrderId>,
    Form(form): Form<CodeForm>,
) -> PageResult {
    match state.app.fulfilment().hand_over(&staff, id, &form.code).await {
        Ok(()) => Ok(done(id, "handed_over")),
        Err(err @ app::Error::Validation(_)) => {
            let typed = crate::html::Form::default().with("code", form.code);
            reshow_case(&state, &staff, &visitor, id, typed, err).await
        }
        Err(err) => Err(PageError::refused(err)),
    }
}

pub async fn packing(
    State(state): State<AppState>,
    Staff(staff, _): Staff,
    PagePath(id): PagePath<OrderId>,
) -> PageResult {
    let case = state.app.review_case(&staff, id).await?;
    let fulfilment = state.app.fulfilment().fulfilment_of(&staff, id).await?;
    Ok(render(
        StatusCode::OK,
        &PackingPage { order: case.view.record, fulfilment, operator: state.config.operator.clone() },
    ))
}
