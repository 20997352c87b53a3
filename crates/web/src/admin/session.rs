//! Staff login: password, then the TOTP code (enrolling the authenticator by QR code the first
//! time), then the work queue of their role.

use app::staff::{CurrentStaff, StaffLogin};
use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{AdminLayout, Staff};
use crate::AppState;
use crate::html::{PageResult, render};
use crate::visitor::{Visitor, clear_staff_cookie, staff_cookie, staff_token};

#[derive(Template)]
#[template(path = "admin/login.html")]
struct LoginPage {
    layout: AdminLayout,
    username: String,
    message: Option<String>,
}

pub struct Enroll {
    svg: String,
    secret: String,
}

#[derive(Template)]
#[template(path = "admin/totp.html")]
struct TotpPage {
    layout: AdminLayout,
    enroll: Option<Enroll>,
    message: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/home.html")]
struct HomePage {
    layout: AdminLayout,
    staff: CurrentStaff,
    waiting: usize,
    dashboard: Option<app::catalog_admin::Dashboard>,
}

impl HomePage {
    fn hours(d: &time::Duration) -> String {
        let minutes = d.whole_minutes();
        format!("{} 小时 {} 分钟", minutes / 60, minutes % 60)
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LoginForm {
    username: String,
    password: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CodeForm {
    code: String,
}

pub async fn login_page(visitor: Visitor) -> Response {
    let layout = AdminLayout::new("工作人员登录", &visitor, None);
    render(StatusCode::OK, &LoginPage { layout, username: String::new(), message: None })
}

pub async fn login(State(state): State<AppState>, visitor: Visitor, Form(form): Form<LoginForm>) -> Response {
    let result = state.app.staff_login(&form.username, &form.password).await;
    let (token, enroll) = match result {
        Ok(StaffLogin::Enroll { token, otpauth_url, secret_base32 }) => {
            (token, Some(Enroll { svg: crate::qr::svg(&otpauth_url), secret: secret_base32 }))
        }
        Ok(StaffLogin::Code { token }) => (token, None),
        Err(err) => {
            let (status, _, mut message) = crate::error::describe(&err);
            if matches!(err, app::Error::InvalidCredentials) {
                message = "用户名或密码错误".into();
            }
            let layout = AdminLayout::new("工作人员登录", &visitor, None);
            return render(status, &LoginPage { layout, username: form.username, message: Some(message) });
        }
    };
    let layout = AdminLayout::new("动态验证码", &visitor, None);
    let mut response = render(StatusCode::OK, &TotpPage { layout, enroll, message: None });
    response.headers_mut().append(header::SET_COOKIE, staff_cookie(&state.config, &token));
    response
}

pub async fn second_factor(
    State(state): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
    Form(form): Form<CodeForm>,
) -> PageResult {
    let Some(token) = staff_token(&state.config, &headers) else {
        return Ok(Redirect::to("/admin/login").into_response());
    };
    match state.app.staff_second_factor(&token, &form.code).await {
        Ok(full) => {
            let mut response = Redirect::to("/admin").into_response();
            response.headers_mut().append(header::SET_COOKIE, staff_cookie(&state.config, &full));
            Ok(response)
        }
        Err(app::Error::Validation(errors)) => {
            let layout = AdminLayout::new("动态验证码", &visitor, None);
            let message = errors.iter().next().map(|e| e.message.clone());
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &TotpPage { layout, enroll: None, message }))
        }
        Err(app::Error::Unauthenticated) => Ok(Redirect::to("/admin/login").into_response()),
        Err(err) => Err(err.into()),
    }
}

pub async fn logout(State(state): State<AppState>, Staff(staff, _): Staff) -> PageResult {
    state.app.staff_logout(&staff).await?;
    let mut response = Redirect::to("/admin/login").into_response();
    response.headers_mut().append(header::SET_COOKIE, clear_staff_cookie(&state.config));
    Ok(response)
}

pub async fn home(State(state): State<AppState>, Staff(staff, visitor): Staff) -> PageResult {
    let waiting = if staff.has(domain::staff::Role::Reviewer) {
        match state.app.review_queue(&staff).await {
            Ok(items) => items.len(),
            Err(err) => return Err(err.into()),
        }
    } else {
        0
    };
    let dashboard = if staff.has(domain::staff::Role::Admin) {
        match state.app.dashboard(&staff).await {
            Ok(d) => Some(d),
            Err(err) => return Err(err.into()),
        }
    } else {
        None
    };
    let layout = AdminLayout::new("工作台", &visitor, Some(&staff));
    Ok(render(StatusCode::OK, &HomePage { layout, staff, waiting, dashboard }))
}

#[derive(Template)]
#[template(path = "admin/password.html")]
struct PasswordPage {
    layout: AdminLayout,
    message: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct PasswordForm {
    current: String,
    password: String,
    password_confirm: String,
}

pub async fn password_page(Staff(staff, visitor): Staff) -> Response {
    let layout = AdminLayout::new("设置密码", &visitor, Some(&staff));
    render(StatusCode::OK, &PasswordPage { layout, message: None })
}

pub async fn change_password(
    State(state): State<AppState>,
    Staff(staff, visitor): Staff,
    Form(form): Form<PasswordForm>,
) -> PageResult {
    match state.app.change_staff_password(&staff, &form.current, &form.password, &form.password_confirm).await {
        Ok(()) => Ok(Redirect::to("/admin").into_response()),
        Err(app::Error::Validation(errors)) => {
            let layout = AdminLayout::new("设置密码", &visitor, Some(&staff));
            let message = crate::html::joined(&errors);
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &PasswordPage { layout, message: Some(message) }))
        }
        Err(err) => Err(err.into()),
    }
}
