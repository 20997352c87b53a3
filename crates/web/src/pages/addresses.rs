//! 收货地址: list, add, edit, delete, set default. Province → city → county selects are rendered
//! by the server for the current choice, and refreshed in place by `app.js` when it runs.

use app::ports::AddressRecord;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form as FormBody, Router};
use domain::{AddressDraft, AddressId, Division, Divisions};
use serde::Deserialize;

use super::{Layout, Nav};
use crate::AppState;
use crate::html::{Form, NoticeQuery, PageError, PagePath, PageResult, render, see_other};
use crate::visitor::{PageUser, Visitor};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/addresses", get(list).post(create))
        .route("/addresses/new", get(new_form))
        .route("/addresses/{id}/edit", get(edit_form))
        .route("/addresses/{id}", post(update))
        .route("/addresses/{id}/delete", post(delete))
        .route("/addresses/{id}/default", post(set_default))
}

#[derive(Template)]
#[template(path = "addresses.html")]
struct ListPage {
    layout: Layout,
    addresses: Vec<AddressRecord>,
}

async fn list(
    State(state): State<AppState>,
    PageUser(user, visitor): PageUser,
    Query(q): Query<NoticeQuery>,
) -> PageResult {
    let records = state.app.address_book().list_addresses(&user).await?;
    let layout = Layout::new(&state, &visitor, "收货地址", Nav::Addresses).with_notice(q.notice.as_deref());
    Ok(render(StatusCode::OK, &ListPage { layout, addresses: records }))
}

#[derive(Template)]
#[template(path = "address_form.html")]
struct FormPage {
    layout: Layout,
    form: Form,
    /// `None` when adding.
    id: Option<i64>,
    provinces: &'static [Division],
    cities: &'static [Division],
    counties: &'static [Division],
    is_default: bool,
}

fn form_page(
    state: &AppState,
    visitor: &Visitor,
    status: StatusCode,
    id: Option<i64>,
    form: Form,
    is_default: bool,
) -> Response {
    let table = Divisions::get();
    let (cities, counties) = table.choices(form.value("province_code"), form.value("city_code"));
    let title = if id.is_some() { "修改收货地址" } else { "新增收货地址" };
    let page = FormPage {
        layout: Layout::new(state, visitor, title, Nav::Addresses),
        form,
        id,
        provinces: table.provinces(),
        cities,
        counties,
        is_default,
    };
    render(status, &page)
}

async fn new_form(State(state): State<AppState>, PageUser(_, visitor): PageUser) -> Response {
    form_page(&state, &visitor, StatusCode::OK, None, Form::default(), false)
}

async fn edit_form(
    State(state): State<AppState>,
    PageUser(user, visitor): PageUser,
    PagePath(id): PagePath<AddressId>,
) -> PageResult {
    let r = state.app.address_book().address(&user, id).await?;
    let form = Form::default()
        .with("recipient", r.recipient)
        .with("phone", r.phone)
        .with("province_code", r.province_code)
        .with("city_code", r.city_code)
        .with("district_code", r.district_code)
        .with("detail", r.detail);
    Ok(form_page(&state, &visitor, StatusCode::OK, Some(id.0), form, r.is_default))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AddressForm {
    recipient: String,
    phone: String,
    province_code: String,
    city_code: String,
    district_code: String,
    detail: String,
    is_default: Option<String>,
}

impl AddressForm {
    fn draft(&self) -> AddressDraft {
        AddressDraft {
            recipient: self.recipient.clone(),
            phone: self.phone.clone(),
            province_code: self.province_code.clone(),
            city_code: self.city_code.clone(),
            district_code: self.district_code.clone(),
            detail: self.detail.clone(),
            is_default: self.is_default.is_some(),
        }
    }

    fn into_form(self) -> Form {
        Form::default()
            .with("recipient", self.recipient)
            .with("phone", self.phone)
            .with("province_code", self.province_code)
            .with("city_code", self.city_code)
            .with("district_code", self.district_code)
            .with("detail", self.detail)
    }
}

async fn create(
    State(state): State<AppState>,
    PageUser(user, visitor): PageUser,
    FormBody(f): FormBody<AddressForm>,
) -> Response {
    match state.app.address_book().add_address(&user, &f.draft()).await {
        Ok(_) => see_other("/addresses?notice=address_saved"),
        Err(err) => {
            let is_default = f.is_default.is_some();
            let mut form = f.into_form();
            let status = form.fail(err);
            form_page(&state, &visitor, status, None, form, is_default)
        }
    }
}

async fn update(
    State(state): State<AppState>,
    PageUser(user, visitor): PageUser,
    PagePath(id): PagePath<AddressId>,
    FormBody(f): FormBody<AddressForm>,
) -> PageResult {
    match state.app.address_book().update_address(&user, id, &f.draft()).await {
        Ok(_) => Ok(see_other("/addresses?notice=address_saved")),
        Err(app::Error::NotFound) => Err(PageError::not_found()),
        Err(err) => {
            let is_default = f.is_default.is_some();
            let mut form = f.into_form();
            let status = form.fail(err);
            Ok(form_page(&state, &visitor, status, Some(id.0), form, is_default))
        }
    }
}

async fn delete(
    State(state): State<AppState>,
    PageUser(user, _): PageUser,
    PagePath(id): PagePath<AddressId>,
) -> PageResult {
    state.app.address_book().delete_address(&user, id).await?;
    Ok(see_other("/addresses?notice=address_deleted"))
}

async fn set_default(
    State(state): State<AppState>,
    PageUser(user, _): PageUser,
    PagePath(id): PagePath<AddressId>,
) -> PageResult {
    state.app.address_book().set_default_address(&user, id).await?;
    Ok(see_other("/addresses?notice=default_set"))
}
