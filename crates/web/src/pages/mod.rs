//! HTML pages (server-rendered with askama; progressive enhancement by `/static/app.js`).
//! Every page works without JavaScript.

mod account;
mod addresses;
mod applications;
mod auth;
mod certificates;
mod dev;
mod orders;
mod payments;
mod print;
mod seals;
mod site;

use axum::Router;
use axum::extract::State;
use axum::response::Response;

use crate::AppState;
use crate::html::Failed;
use crate::visitor::Visitor;

/// The applicant's pages, with their face: a failed page becomes the site's error page.
pub fn router(state: &AppState) -> Router<AppState> {
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
    let router = if state.config.dev_mode { router.merge(dev::router()) } else { router };
    router.layer(axum::middleware::map_response_with_state(state.clone(), face))
}

/// The site's face: a page that failed ([`crate::html::PageError`]) shows the error page with the
/// hotline, or sends the visitor to log in.
async fn face(State(state): State<AppState>, response: Response) -> Response {
    match response.extensions().get::<Failed>() {
        Some(failed) => crate::html::site_failure(failed, &state.config.hotline),
        None => response,
    }
}

/// The 页面不存在 page, for a path no route serves.
pub fn not_found(state: &AppState) -> Response {
    crate::html::site_failure(&Failed::of(&app::Error::NotFound), &state.config.hotline)
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
