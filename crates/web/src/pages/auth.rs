//! Register, log in, log out, reset a forgotten password.

use app::accounts::Registration;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form as FormBody, Router};
use domain::{Phone, SmsPurpose};
use serde::Deserialize;

use super::{Layout, Nav};
use crate::AppState;
use crate::html::{Form, PageResult, render, safe_next, see_other};
use crate::visitor::{Visitor, clear_session_cookie, session_cookie};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_page).post(login))
        .route("/register", get(register_page).post(register))
        .route("/forgot-password", get(forgot_page).post(forgot))
        .route("/logout", post(logout))
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    layout: Layout,
    form: Form,
    next: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LoginQuery {
    next: Option<String>,
    notice: Option<String>,
}

async fn login_page(State(state): State<AppState>, visitor: Visitor, Query(q): Query<LoginQuery>) -> Response {
    if visitor.user.is_some() {
        return see_other(safe_next(q.next.as_deref()));
    }
    let layout = Layout::new(&state, &visitor, "登录", Nav::None).with_notice(q.notice.as_deref());
    let form = Form::default();
    render(StatusCode::OK, &LoginPage { layout, form, next: safe_next(q.next.as_deref()).to_owned() })
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LoginForm {
    phone: String,
    password: String,
    next: String,
}

async fn login(State(state): State<AppState>, visitor: Visitor, FormBody(f): FormBody<LoginForm>) -> Response {
    match state.app.accounts().login(&f.phone, &f.password, &visitor.client).await {
        Ok(token) => {
            let mut response = see_other(safe_next(Some(&f.next)));
            response.headers_mut().append(header::SET_COOKIE, session_cookie(&state.config, &token));
            response
        }
        Err(err) => {
            let mut form = Form::default().with("phone", f.phone);
            let status = form.fail(err);
            let layout = Layout::new(&state, &visitor, "登录", Nav::None);
            render(status, &LoginPage { layout, form, next: safe_next(Some(&f.next)).to_owned() })
        }
    }
}

async fn logout(State(state): State<AppState>, visitor: Visitor) -> PageResult {
    if let Some(user) = &visitor.user {
        state.app.sessions().end_session(user).await?;
    }
    let mut response = see_other("/login?notice=logged_out");
    response.headers_mut().append(header::SET_COOKIE, clear_session_cookie(&state.config));
    Ok(response)
}

/// Register and forgot-password share one page shape: phone, SMS code, new password twice.
#[derive(Template)]
#[template(path = "register.html")]
struct CodePasswordPage {
    layout: Layout,
    form: Form,
    /// `register` or `forgot`.
    mode: &'static str,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CodePasswordForm {
    action: String,
    phone: String,
    code: String,
    password: String,
    password_confirm: String,
}

struct Flow {
    mode: &'static str,
    title: &'static str,
    purpose: SmsPurpose,
    done_notice: &'static str,
}

const REGISTER: Flow =
    Flow { mode: "register", title: "注册", purpose: SmsPurpose::Register, done_notice: "registered" };
const FORGOT: Flow =
    Flow { mode: "forgot", title: "找回密码", purpose: SmsPurpose::ResetPassword, done_notice: "password_reset" };

fn code_password_page(state: &AppState, visitor: &Visitor, flow: &Flow, status: StatusCode, form: Form) -> Response {
    let layout = Layout::new(state, visitor, flow.title, Nav::None);
    render(status, &CodePasswordPage { layout, form, mode: flow.mode })
}

async fn register_page(State(state): State<AppState>, visitor: Visitor) -> Response {
    code_password_page(&state, &visitor, &REGISTER, StatusCode::OK, Form::default())
}

async fn forgot_page(State(state): State<AppState>, visitor: Visitor) -> Response {
    code_password_page(&state, &visitor, &FORGOT, StatusCode::OK, Form::default())
}

async fn register(
    State(state): State<AppState>,
    visitor: Visitor,
    FormBody(f): FormBody<CodePasswordForm>,
) -> Response {
    submit_code_password(&state, &visitor, &REGISTER, f).await
}

async fn forgot(State(state): State<AppState>, visitor: Visitor, FormBody(f): FormBody<CodePasswordForm>) -> Response {
    submit_code_password(&state, &visitor, &FORGOT, f).await
}

/// The "获取验证码" button and the final submit both post here; `action` tells them apart.
async fn submit_code_password(state: &AppState, visitor: &Visitor, flow: &Flow, f: CodePasswordForm) -> Response {
    let mut form = Form::default().with("phone", f.phone.clone()).with("code", f.code.clone());
    if f.action == "send_code" {
        let status = match state.app.sms_codes().send(&f.phone, flow.purpose, &visitor.client).await {
            Ok(_) => {
                let masked = Phone::parse(&f.phone).map(|p| p.masked()).unwrap_or_default();
                form.success = Some(format!("验证码已发送至 {masked}，10分钟内有效。"));
                StatusCode::OK
            }
            Err(err) => form.fail(err),
        };
        return code_password_page(state, visitor, flow, status, form);
    }
    let submitted = Registration {
        phone: f.phone.clone(),
        code: f.code,
        password: f.password,
        password_confirm: f.password_confirm,
    };
    let result = match flow.purpose {
        SmsPurpose::Register => state.app.accounts().register(&submitted).await,
        SmsPurpose::ResetPassword => state.app.accounts().reset_password(&submitted).await,
        // Closing is confirmed on 我的账户, never through these pages.
        SmsPurpose::CloseAccount => Err(app::Error::NotFound),
    };
    match result {
        // No phone number in the URL: it would land in history, logs and referrers.
        Ok(()) => see_other(&format!("/login?notice={}", flow.done_notice)),
        Err(err) => {
            let status = form.fail(err);
            code_password_page(state, visitor, flow, status, form)
        }
    }
}
