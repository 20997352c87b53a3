//! 制证与发货 pages: the 待处理 list, recording the key, shipping, pickup and handover, and the
//! printable packing list with shipping label.

use app::fulfilment::FulfilmentItem;
use app::ports::FulfilmentRecord;
use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use domain::OrderId;
use domain::fulfilment::KeyDraft;
use serde::Deserialize;

use super::review::reshow_case;
use super::{AdminLayout, Staff, failure, order_id, refused};
use crate::AppState;
use crate::pages::render;

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

pub async fn list(State(state): State<AppState>, Staff(staff, visitor): Staff) -> Response {
    match state.app.fulfilment_queue(&staff).await {
        Ok(items) => {
            let layout = AdminLayout::new("制证发货", &visitor, Some(&staff));
            render(StatusCode::OK, &ListPage { layout, items })
        }
        Err(err) => failure(&err),
    }
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
    Path(id): Path<String>,
    Form(form): Form<KeyForm>,
) -> Response {
    let Some(id) = order_id(&id) else { return failure(&app::Error::NotFound) };
    let typed = crate::pages::Form::default()
        .with("key_type", form.key_type.clone())
        .with("serial", form.serial.clone())
        .with("valid_from", form.valid_from.clone())
        .with("valid_to", form.valid_to.clone());
    let draft =
        KeyDraft { key_type: form.key_type, serial: form.serial, valid_from: form.valid_from, valid_to: form.valid_to };
    match state.app.record_key(&staff, id, &draft).await {
        Ok(()) => done(id, "key_recorded"),
        Err(err @ app::Error::Validation(_)) => reshow_case(&state, &staff, &visitor, id, typed, err).await,
        Err(err) => refused(err),
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
    Path(id): Path<String>,
    Form(form): Form<ShipForm>,
) -> Response {
    let Some(id) = order_id(&id) else { return failure(&app::Error::NotFound) };
    match state.app.ship(&staff, id, &form.courier, &form.tracking_no).await {
        Ok(()) => done(id, "shipped"),
        Err(err @ app::Error::Validation(_)) => {
            let typed =
                crate::pages::Form::default().with("courier", form.courier).with("tracking_no", form.tracking_no);
            reshow_case(&state, &staff, &visitor, id, typed, err).await
        }
        Err(err) => refused(err),
    }
}

pub async fn ready(State(state): State<AppState>, Staff(staff, _): Staff, Path(id): Path<String>) -> Response {
    let Some(id) = order_id(&id) else { return failure(&app::Error::NotFound) };
    match state.app.ready_for_pickup(&staff, id).await {
        Ok(()) => done(id, "ready"),
        Err(err) => refused(err),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CodeForm {
    code: String,
}

pub async fn hand_over(
    State(state): State<AppState>,
    Staff(staff, visitor): Staff,
    Path(id): Path<String>,
    Form(form): Form<CodeForm>,
) -> Response {
    let Some(id) = order_id(&id) else { return failure(&app::Error::NotFound) };
    match state.app.hand_over(&staff, id, &form.code).await {
        Ok(()) => done(id, "handed_over"),
        Err(err @ app::Error::Validation(_)) => {
            let typed = crate::pages::Form::default().with("code", form.code);
            reshow_case(&state, &staff, &visitor, id, typed, err).await
        }
        Err(err) => refused(err),
    }
}

pub async fn packing(State(state): State<AppState>, Staff(staff, _): Staff, Path(id): Path<String>) -> Response {
    let Some(id) = order_id(&id) else { return failure(&app::Error::NotFound) };
    let case = match state.app.review_case(&staff, id).await {
        Ok(case) => case,
        Err(err) => return failure(&err),
    };
    let fulfilment = match state.app.fulfilment_of(&staff, id).await {
        Ok(f) => f,
        Err(err) => return failure(&err),
    };
    render(
        StatusCode::OK,
        &PackingPage { order: case.view.record, fulfilment, operator: state.config.operator.clone() },
    )
}
