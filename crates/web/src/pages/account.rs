//! 我的账户: profile (name, email) and password change.

use app::accounts::{PasswordChange, ProfileUpdate};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form as FormBody, Router};
use serde::Deserialize;

use super::{Form, Layout, Nav, NoticeQuery, render, see_other};
use crate::AppState;
use crate::visitor::{PageUser, Visitor, session_cookie};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/account", get(account_page))
        .route("/account/profile", post(save_profile))
        .route("/account/password", post(change_password))
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    layout: Layout,
    phone_masked: String,
    registered_at: String,
    profile: Form,
    password: Form,
}

async fn page(
    state: &AppState,
    visitor: &Visitor,
    user: &app::sessions::CurrentUser,
    status: StatusCode,
    profile: Option<Form>,
    password: Form,
    notice: Option<&str>,
) -> Response {
    let current = match state.app.profile(user).await {
        Ok(p) => p,
        Err(err) => return super::failure(state, &err),
    };
    let profile = profile.unwrap_or_else(|| {
        Form::default()
            .with("name", current.name.clone().unwrap_or_default())
            .with("email", current.email.clone().unwrap_or_default())
    });
    let layout = Layout::new(state, visitor, "我的账户", Nav::Account).with_notice(notice);
    let registered_at = super::local_time(current.registered_at);
    render(status, &AccountPage { layout, phone_masked: current.phone_masked, registered_at, profile, password })
}

async fn account_page(
    State(state): State<AppState>,
    PageUser(user, visitor): PageUser,
    Query(q): Query<NoticeQuery>,
) -> Response {
    page(&state, &visitor, &user, StatusCode::OK, None, Form::default(), q.notice.as_deref()).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ProfileForm {
    name: String,
    email: String,
}

async fn save_profile(
    State(state): State<AppState>,
    PageUser(user, visitor): PageUser,
    FormBody(f): FormBody<ProfileForm>,
) -> Response {
    let update = ProfileUpdate { name: f.name.clone(), email: f.email.clone() };
    match state.app.update_profile(&user, &update).await {
        Ok(()) => see_other("/account?notice=profile_saved"),
        Err(err) => {
            let mut form = Form::default().with("name", f.name).with("email", f.email);
            let status = form.fail(err);
            page(&state, &visitor, &user, status, Some(form), Form::default(), None).await
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct PasswordForm {
    old_password: String,
    new_password: String,
    new_password_confirm: String,
}

async fn change_password(
    State(state): State<AppState>,
    PageUser(user, visitor): PageUser,
    FormBody(f): FormBody<PasswordForm>,
) -> Response {
    let change = PasswordChange {
        old_password: f.old_password,
        new_password: f.new_password,
        new_password_confirm: f.new_password_confirm,
    };
    match state.app.change_password(&user, &change).await {
        Ok(token) => {
            let mut response = see_other("/account?notice=password_changed");
            response.headers_mut().append(header::SET_COOKIE, session_cookie(&state.config, &token));
            response
        }
        Err(err) => {
            let mut form = Form::default();
            let status = form.fail(err);
            page(&state, &visitor, &user, status, None, form, None).await
        }
    }
}
