//! HTML pages (server-rendered with askama; progressive enhancement by `/static/app.js`).
//! Every page works without JavaScript.

mod account;
mod addresses;
mod applications;
mod auth;
mod certificates;
mod dev;
mod orders;
pub(crate) mod payments;
mod print;
mod seals;
mod site;

use askama::Template;
use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use domain::FieldErrors;
use std::collections::HashMap;

use crate::AppState;
use crate::visitor::Visitor;

pub fn router(dev_mode: bool) -> Router<AppState> {
    let router = Router::new()
        .merge(site::router())
        .merge(auth::router())
        .merge(account::router())
        .merge(addresses::router())
        .merge(applications::router())
        .merge(orders::router())
        .merge(certificates::router())
        .merge(seals::router())
        .merge(payments::router())
        .merge(print::router());
    if dev_mode { router.merge(dev::router()) } else { router }
}

/// Which top-menu entry is active.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Home,
    /// 在线补办/新办: choosing the business type (with the side menu).
    ApplyStart,
    /// The steps of one application (the whole width for the form).
    Apply,
    Orders,
    Certificates,
    Addresses,
    Account,
    None,
}

/// What every page shows around its content.
pub struct Layout {
    pub title: String,
    pub nav: Nav,
    pub user: Option<String>,
    pub csrf: String,
    pub hotline: String,
    pub operator: String,
    pub dev_mode: bool,
    pub notice: Option<&'static str>,
}

impl Layout {
    pub fn new(state: &AppState, visitor: &Visitor, title: &str, nav: Nav) -> Self {
        Self {
            title: title.to_owned(),
            nav,
            user: visitor.user.as_ref().map(app::sessions::CurrentUser::display_name),
            csrf: visitor.csrf_token.clone(),
            hotline: state.config.hotline.clone(),
            operator: state.config.operator.clone(),
            dev_mode: state.config.dev_mode,
            notice: None,
        }
    }

    pub fn with_notice(mut self, notice: Option<&str>) -> Self {
        self.notice = notice.and_then(notice_text);
        self
    }

    /// `"active"` for the current top-menu entry (`home`, `apply`, `orders`, `addresses`, `account`).
    pub fn active(&self, key: &str) -> &'static str {
        let current = match self.nav {
            Nav::Home => "home",
            Nav::Apply | Nav::ApplyStart => "apply",
            Nav::Orders => "orders",
            Nav::Certificates => "certificates",
            Nav::Addresses => "addresses",
            Nav::Account => "account",
            Nav::None => "",
        };
        if current == key { "active" } else { "" }
    }

    /// Pages with the manual's left menu (在线办理, 个人中心, 收货地址, 我的账户).
    pub fn in_center(&self) -> bool {
        matches!(self.nav, Nav::ApplyStart | Nav::Orders | Nav::Certificates | Nav::Addresses | Nav::Account)
    }

    /// The hotline as a `tel:` target: digits, `+` and `-` only.
    pub fn hotline_dial(&self) -> String {
        self.hotline.chars().take_while(|c| c.is_ascii_digit() || *c == '-' || *c == '+').collect()
    }
}

/// `?notice=key` of a page reached by a redirect.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct NoticeQuery {
    pub notice: Option<String>,
}

/// `Content-Disposition` for a download named `name` (RFC 6266): the UTF-8 name for browsers,
/// and an ASCII one (non-ASCII as `_`) for those that read only `filename`.
pub fn attachment_disposition(name: &str) -> String {
    let ascii: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') { c } else { '_' }).collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_') {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// A time as people here read it: China Standard Time, to the minute.
/// An SVG made here, as an image that runs nothing and is kept by no one else.
pub fn svg_image(svg: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "private, no-store"),
            (header::CONTENT_SECURITY_POLICY, "default-src 'none'; style-src 'unsafe-inline'"),
        ],
        svg,
    )
        .into_response()
}

pub use crate::times::local_time;

/// Notices shown after a redirect, chosen by key so no user text is ever reflected.
fn notice_text(key: &str) -> Option<&'static str> {
    Some(match key {
        "registered" => "注册成功，请使用手机号和密码登录。",
        "close_code_sent" => "验证码已发送到您的登录手机号，10分钟内有效。",
        "password_reset" => "密码已重置，请使用新密码登录。",
        "logged_out" => "您已安全退出。",
        "password_changed" => "密码已修改，其他设备上的登录已全部退出。",
        "profile_saved" => "个人信息已保存。",
        "address_saved" => "收货地址已保存。",
        "address_deleted" => "收货地址已删除。",
        "default_set" => "已设为默认收货地址。",
        "order_created" => "订单已提交，请在24小时内完成支付，超时订单将自动取消。",
        "order_cancelled" => "订单已取消。",
        "order_resubmitted" => "已重新提交，业务人员会尽快重新审核。",
        "document_uploaded" => "材料已上传，已加密保存。",
        "receipt_confirmed" => "已确认收货，订单完成。感谢您的使用！",
        "payment_received" => "支付成功，订单已进入审核。",
        "payment_not_received" => "暂未收到付款。如果您已付款，请稍候片刻再刷新；也可以重新支付。",
        _ => return None,
    })
}

/// Submitted values and their errors, for re-rendering a form.
#[derive(Debug, Default)]
pub struct Form {
    values: HashMap<&'static str, String>,
    pub errors: FieldErrors,
    /// A message for the whole form (wrong password, rate limit, ...).
    pub message: Option<String>,
    /// A success message for the whole form.
    pub success: Option<String>,
    /// The key of a notice to show after a redirect (see `notice_text`).
    pub notice: Option<String>,
    /// Fields filled from a document photo, marked 请核对 beside the photo they came from.
    pub prefilled: Vec<&'static str>,
}

impl Form {
    pub fn with(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.values.insert(name, value.into());
        self
    }

    /// Sets `name` to `value` only when it is empty; returns whether it did.
    pub fn fill_empty(&mut self, name: &'static str, value: &str) -> bool {
        if self.value(name).is_empty() && !value.trim().is_empty() {
            self.values.insert(name, value.trim().to_owned());
            return true;
        }
        false
    }

    /// Like [`Form::fill_empty`], and marks the field as read from a photo (请核对).
    pub fn prefill_from_photo(&mut self, name: &'static str, value: &str) -> bool {
        let filled = self.fill_empty(name, value);
        if filled {
            self.prefilled.push(name);
        }
        filled
    }

    /// The fields filled from a photo, with their values.
    pub fn prefilled_values(&self) -> std::collections::BTreeMap<&'static str, String> {
        self.prefilled.iter().map(|name| (*name, self.value(name).to_owned())).collect()
    }

    /// Whether `name` was filled from a photo and waits for the applicant's check.
    pub fn is_prefilled(&self, name: &str) -> bool {
        self.prefilled.contains(&name)
    }

    /// Whether `name` currently holds `value` (for checked radios and selected options).
    pub fn is(&self, name: &str, value: &str) -> bool {
        self.value(name) == value
    }

    pub fn value(&self, name: &str) -> &str {
        self.values.get(name).map_or("", String::as_str)
    }

    pub fn error(&self, name: &str) -> Option<&str> {
        self.errors.message_for(name)
    }

    /// Files a use-case error: field errors beside their fields, anything else above the form.
    /// Returns the HTTP status the re-rendered page should carry.
    pub fn fail(&mut self, err: app::Error) -> StatusCode {
        let (status, _, message) = crate::error::describe(&err);
        match err {
            app::Error::Validation(errors) => self.errors = errors,
            _ => self.message = Some(message),
        }
        status
    }
}

/// Renders a page with a status.
pub fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response(),
        Err(err) => {
            tracing::error!(error = %err, "template rendering failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                "系统繁忙，请稍后再试",
            )
                .into_response()
        }
    }
}

/// A redirect after a successful POST (303, so a reload does not resubmit).
pub fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    title: String,
    message: String,
    hotline: String,
}

/// A standalone error page (used where no visitor is at hand, e.g. a CSRF rejection).
pub fn error_page(status: StatusCode, title: &str, message: &str) -> Response {
    render(status, &ErrorPage { title: title.into(), message: message.into(), hotline: String::new() })
}

/// The page for a use-case error that no form can show: login for 401, a message otherwise.
/// The bytes of a form's `file` field (empty when the form has none or could not be read: the
/// use case then says a file is needed).
pub async fn uploaded_file(
    multipart: Result<axum::extract::Multipart, axum::extract::multipart::MultipartRejection>,
) -> Vec<u8> {
    let Ok(mut multipart) = multipart else { return Vec::new() };
    while let Ok(Some(field)) = multipart.next_field().await {
        if field.name() == Some("file") {
            return field.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
        }
    }
    Vec::new()
}

pub fn failure(state: &AppState, err: &app::Error) -> Response {
    if matches!(err, app::Error::Unauthenticated) {
        return see_other("/login");
    }
    let (status, _, message) = crate::error::describe(err);
    let title = if status == StatusCode::NOT_FOUND { "页面不存在" } else { "操作未完成" };
    render(status, &ErrorPage { title: title.into(), message, hotline: state.config.hotline.clone() })
}

pub fn not_found(state: &AppState) -> Response {
    failure(state, &app::Error::NotFound)
}

/// Only same-site relative paths may be redirect targets (no `//host`, no scheme).
pub fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(path) if path.starts_with('/') && !path.starts_with("//") && !path.contains('\\') => path,
        _ => "/",
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_local_paths_are_redirect_targets() {
        assert_eq!(safe_next(Some("/addresses")), "/addresses");
        for bad in ["//evil.example", "https://evil.example", "/\\evil.example", "addresses"] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
