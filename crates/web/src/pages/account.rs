//! 我的账户: profile (name, email), password change, 个人信息导出 and 注销账户.

use app::accounts::{PasswordChange, ProfileUpdate};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Form as FormBody, Router};
use serde::Deserialize;

use super::{Layout, Nav};
use crate::AppState;
use crate::html::{Form, NoticeQuery, PageResult, render, see_other};
use crate::visitor::{PageUser, Visitor, session_cookie};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/account", get(account_page))
        .route("/account/profile", post(save_profile))
        .route("/account/password", post(change_password))
        .route("/account/export", post(export))
        .route("/account/close/code", post(send_close_code))
        .route("/account/close", post(close))
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    layout: Layout,
    phone_masked: String,
    registered_at: String,
    profile: Form,
    password: Form,
    export: Form,
    close: Form,
}

/// The page's forms as they were submitted (each `None` or empty starts fresh).
#[derive(Default)]
struct Forms {
    profile: Option<Form>,
    password: Form,
    export: Form,
    close: Form,
}

async fn page(
    state: &AppState,
    visitor: &Visitor,
    user: &app::sessions::CurrentUser,
    status: StatusCode,
    forms: Forms,
    notice: Option<&str>,
) -> PageResult {
    let Forms { profile, password, export, close } = forms;
    let current = state.app.accounts().profile(user).await?;
    let profile = profile.unwrap_or_else(|| {
        Form::default()
            .with("name", current.name.clone().unwrap_or_default())
            .with("email", current.email.clone().unwrap_or_default())
    });
    let layout = Layout::new(state, visitor, "我的账户", Nav::Account).with_notice(notice);
    let registered_at = crate::html::local_time(current.registered_at);
    let page =
        AccountPage { layout, phone_masked: current.phone_masked, registered_at, profile, password, export, close };
    Ok(render(status, &page))
}

async fn account_page(
    State(state): State<AppState>,
    PageUser(user, visitor): PageUser,
    Query(q): Query<NoticeQuery>,
) -> PageResult {
    page(&state, &visitor, &user, StatusCode::OK, Forms::default(), q.notice.as_deref()).await
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
) -> PageResult {
    let update = ProfileUpdate { name: f.name.clone(), email: f.email.clone() };
    match state.app.accounts().update_profile(&user, &update).await {
        Ok(()) => Ok(see_other("/account?notice=profile_saved")),
        Err(err) => {
            let mut form = Form::default().with("name", f.name).with("email", f.email);
            let status = form.fail(err);
            page(&state, &visitor, &user, status, Forms { profile: Some(form), ..Forms::default() }, None).await
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
) -> PageResult {
    let change = PasswordChange {
        old_password: f.old_password,
        new_password: f.new_password,
        new_password_confirm: f.new_password_confirm,
    };
    match state.app.accounts().change_password(&user, &change).await {
        Ok(token) => {
            let mut response = see_other("/account?notice=password_changed");
            response.headers_mut().append(header::SET_COOKIE, session_cookie(&state.config, &token));
            Ok(response)
        }
        Err(err) => {
            let mut form = Form::default();
            let status = form.fail(err);
            page(&state, &visitor, &user, status, Forms { password: form, ..Forms::default() }, None).await
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ExportForm {
    password: String,
}

/// 个人信息导出: one JSON file of everything held about the applicant (password asked again).
async fn export(
    State(state): State<AppState>,
    PageUser(user, visitor): PageUser,
    FormBody(f): FormBody<ExportForm>,
) -> PageResult {
    match state.app.export_personal_data(&user, &f.password).await {
        Ok(data) => {
            let day = state.app.now().to_offset(time::macros::offset!(+8)).date();
            let name = format!("personal-data-{day}.json");
            let body = serde_json::to_vec_pretty(&data).unwrap_or_default();
            Ok((
                [
                    (header::CONTENT_TYPE, "application/json; charset=utf-8".to_owned()),
                    (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
                ],
                body,
            )
                .into_response())
        }
        Err(err) => {
            let mut form = Form::default();
            let status = form.fail(err);
            page(&state, &visitor, &user, status, Forms { export: form, ..Forms::default() }, None).await
        }
    }
}

async fn send_close_code(State(state): State<AppState>, PageUser(user, visitor): PageUser) -> PageResult {
    match state.app.send_closure_code(&user, &visitor.client).await {
        Ok(_) => Ok(see_other("/account?notice=close_code_sent#close")),
        Err(err) => {
            let mut form = Form::default();
            let status = form.fail(err);
            page(&state, &visitor, &user, status, Forms { close: form, ..Forms::default() }, None).await
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CloseForm {
    code: String,
}

#[derive(Template)]
#[template(path = "account_closed.html")]
struct ClosedPage {
    layout: Layout,
    closed: app::privacy::Closed,
}

/// 注销账户, confirmed by the SMS code: signed out, and told what was deleted and what is kept
/// until when.
async fn close(
    State(state): State<AppState>,
    PageUser(user, visitor): PageUser,
    FormBody(f): FormBody<CloseForm>,
) -> PageResult {
    match state.app.close_account(&user, &f.code).await {
        Ok(closed) => {
            let mut visitor = visitor;
            visitor.user = None;
            let layout = Layout::new(&state, &visitor, "账户已注销", Nav::None);
            let mut response = render(StatusCode::OK, &ClosedPage { layout, closed });
            response.headers_mut().append(header::SET_COOKIE, crate::visitor::clear_session_cookie(&state.config));
            Ok(response)
        }
        Err(err) => {
            let mut form = Form::default().with("code", f.code);
            let status = form.fail(err);
            page(&state, &visitor, &user, status, Forms { close: form, ..Forms::default() }, None).await
        }
    }
}
