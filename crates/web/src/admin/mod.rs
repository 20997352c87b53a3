//! The back office at `/admin`: staff log in with password + TOTP and work by role. Every route
//! is declared in one table with the roles it admits ([`routes`]); the router is built from that
//! table, so a route without an entry cannot exist, and the gate in front of each route denies
//! everyone the entry does not name.

mod catalog;
mod finance;
mod fulfilment;
mod review;
mod session;
mod staff;
mod station;

use app::staff::CurrentStaff;
use askama::Template;
use axum::Router;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{MethodRouter, get, post};
use domain::staff::Role;

use crate::AppState;
use crate::html::{Failed, render};
use crate::visitor::{Visitor, staff_token};

/// Who may use a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone (the login steps).
    Public,
    /// Any logged-in staff member.
    AnyStaff,
    /// Staff holding at least one of these roles.
    Roles(&'static [Role]),
}

impl Access {
    pub fn admits(self, staff: &CurrentStaff) -> bool {
        match self {
            Self::Public | Self::AnyStaff => true,
            Self::Roles(roles) => staff.roles.any(roles),
        }
    }
}

/// One back-office route.
pub struct AdminRoute {
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
    handler: MethodRouter<AppState>,
}

fn route(method: Method, path: &'static str, access: Access, handler: MethodRouter<AppState>) -> AdminRoute {
    AdminRoute { method, path, access, handler }
}

const REVIEW: Access = Access::Roles(&[Role::Reviewer]);
const CASE: Access = Access::Roles(&[Role::Reviewer, Role::Fulfilment]);
const FULFIL: Access = Access::Roles(&[Role::Fulfilment]);
const CERTIFICATES: Access = Access::Roles(&[Role::Reviewer, Role::Fulfilment, Role::Admin]);
const REVOKE: Access = Access::Roles(&[Role::Fulfilment, Role::Admin]);
const MONEY: Access = Access::Roles(&[Role::Finance]);
const ADMIN: Access = Access::Roles(&[Role::Admin]);

/// An invoice's upload: the PDF and the OFD (each up to the upload limit) and the XML (1 MB).
const INVOICE_BODY: axum::extract::DefaultBodyLimit =
    axum::extract::DefaultBodyLimit::max(2 * domain::document::MAX_UPLOAD_BYTES + 1024 * 1024 + 64 * 1024);

/// The role × route policy: every back-office route, and who may use it.
pub fn routes() -> Vec<AdminRoute> {
    use Method as M;
    vec![
        route(M::GET, "/admin/login", Access::Public, get(session::login_page)),
        route(M::POST, "/admin/login", Access::Public, post(session::login)),
        route(M::POST, "/admin/totp", Access::Public, post(session::second_factor)),
        route(M::POST, "/admin/logout", Access::AnyStaff, post(session::logout)),
        route(M::GET, "/admin/password", Access::AnyStaff, get(session::password_page)),
        route(M::POST, "/admin/password", Access::AnyStaff, post(session::change_password)),
        route(M::GET, "/admin", Access::AnyStaff, get(session::home)),
        route(M::GET, "/admin/review", REVIEW, get(review::queue)),
        route(M::GET, "/admin/orders/{id}", CASE, get(review::case)),
        route(M::POST, "/admin/orders/{id}/claim", REVIEW, post(review::claim)),
        route(M::POST, "/admin/orders/{id}/approve", REVIEW, post(review::approve)),
        route(M::POST, "/admin/orders/{id}/reject", REVIEW, post(review::reject)),
        route(M::GET, "/admin/orders/{id}/documents/{kind}", REVIEW, get(review::document)),
        route(M::GET, "/admin/orders/{id}/seal.svg", CASE, get(review::seal)),
        route(M::GET, "/admin/orders/{id}/seal-scan.png", CASE, get(review::seal_scan)),
        route(M::POST, "/admin/orders/{id}/seal-source", REVIEW, post(review::choose_seal_source)),
        route(M::POST, "/admin/orders/{id}/reveal", REVIEW, post(review::reveal)),
        route(M::GET, "/admin/fulfilment", FULFIL, get(fulfilment::list)),
        route(M::POST, "/admin/orders/{id}/key", FULFIL, post(fulfilment::record_key)),
        route(M::POST, "/admin/orders/{id}/ship", FULFIL, post(fulfilment::ship)),
        route(M::POST, "/admin/orders/{id}/ready", FULFIL, post(fulfilment::ready)),
        route(M::POST, "/admin/orders/{id}/hand-over", FULFIL, post(fulfilment::hand_over)),
        route(M::GET, "/admin/orders/{id}/packing-list", FULFIL, get(fulfilment::packing)),
        route(M::GET, "/admin/station", FULFIL, get(station::page)),
        route(M::POST, "/admin/orders/{id}/soft-key", FULFIL, post(station::soft_key)),
        route(M::POST, "/admin/station/tokens", FULFIL, post(station::create)),
        route(M::POST, "/admin/station/tokens/{id}/revoke", FULFIL, post(station::revoke_token)),
        route(M::GET, "/admin/certificates", CERTIFICATES, get(station::search)),
        route(M::POST, "/admin/certificates/{serial}/revoke", REVOKE, post(station::revoke)),
        route(M::POST, "/admin/certificates/{serial}/approve-revocation", REVOKE, post(station::approve_revocation)),
        route(M::GET, "/admin/finance", MONEY, get(finance::desk)),
        route(M::GET, "/admin/finance/takings", MONEY, get(finance::takings)),
        route(M::GET, "/admin/finance/orders", MONEY, get(finance::search)),
        route(M::POST, "/admin/finance/bill", MONEY, post(finance::compare_bill)),
        route(M::POST, "/admin/finance/alerts/{id}/resolve", MONEY, post(finance::resolve_alert)),
        route(M::GET, "/admin/finance/takings.csv", MONEY, get(finance::takings_csv)),
        route(M::GET, "/admin/finance/orders/{id}", MONEY, get(finance::order)),
        route(M::POST, "/admin/finance/orders/{id}/refund", MONEY, post(finance::refund)),
        route(M::POST, "/admin/finance/refunds/{id}/approve", MONEY, post(finance::approve_refund)),
        route(M::POST, "/admin/finance/refunds/{id}/retry", MONEY, post(finance::retry_refund)),
        route(M::POST, "/admin/finance/refunds/{id}/offline", MONEY, post(finance::settle_refund_offline)),
        route(M::POST, "/admin/finance/orders/{id}/invoice", MONEY, post(finance::issue_invoice).layer(INVOICE_BODY)),
        route(
            M::POST,
            "/admin/finance/orders/{id}/red-invoice",
            MONEY,
            post(finance::issue_red_invoice).layer(INVOICE_BODY),
        ),
        route(M::POST, "/admin/finance/orders/{id}/invoice/resend", MONEY, post(finance::resend_invoice)),
        route(M::GET, "/admin/catalog", ADMIN, get(catalog::page)),
        route(M::POST, "/admin/catalog/packages/{id}", ADMIN, post(catalog::package)),
        route(M::POST, "/admin/catalog/fees", ADMIN, post(catalog::fees)),
        route(M::POST, "/admin/catalog/pickup-points", ADMIN, post(catalog::new_point)),
        route(M::POST, "/admin/catalog/pickup-points/{id}", ADMIN, post(catalog::edit_point)),
        route(M::GET, "/admin/templates", ADMIN, get(catalog::templates)),
        route(
            M::POST,
            "/admin/templates/{kind}",
            ADMIN,
            post(catalog::upload_template)
                .layer(axum::extract::DefaultBodyLimit::max(domain::document::MAX_UPLOAD_BYTES + 64 * 1024)),
        ),
        route(M::POST, "/admin/templates/{kind}/delete", ADMIN, post(catalog::remove_template)),
        route(M::GET, "/admin/staff", ADMIN, get(staff::list)),
        route(M::POST, "/admin/staff", ADMIN, post(staff::create)),
        route(M::POST, "/admin/staff/{id}", ADMIN, post(staff::update)),
        route(M::GET, "/admin/audit", ADMIN, get(staff::audit)),
    ]
}

/// The policy as data: (method, path, access) of every back-office route.
pub fn policy() -> Vec<(Method, &'static str, Access)> {
    routes().into_iter().map(|r| (r.method, r.path, r.access)).collect()
}

pub fn router(state: &AppState) -> Router<AppState> {
    let router = routes().into_iter().fold(Router::new(), |router, r| {
        let gate_state = (state.clone(), r.access);
        router.route(r.path, r.handler.route_layer(axum::middleware::from_fn_with_state(gate_state, gate)))
    });
    router.layer(axum::middleware::map_response(face))
}

/// The gate before every back-office handler.
async fn gate(State((state, access)): State<(AppState, Access)>, mut request: Request, next: Next) -> Response {
    if access == Access::Public {
        return next.run(request).await;
    }
    let staff = match staff_token(&state.config, request.headers()) {
        Some(token) => state.app.authenticate_staff(&token).await.ok().flatten(),
        None => None,
    };
    let Some(staff) = staff else { return Redirect::to("/admin/login").into_response() };
    // The printed initial password opens nothing but the page to replace it.
    let path = request.uri().path();
    if staff.must_change_password && path != "/admin/password" && path != "/admin/logout" {
        return Redirect::to("/admin/password").into_response();
    }
    if !access.admits(&staff) {
        tracing::warn!(staff = staff.id.0, path = %request.uri().path(), "staff route denied by role");
        return forbidden_page();
    }
    request.extensions_mut().insert(staff);
    next.run(request).await
}

#[derive(Template)]
#[template(path = "admin/denied.html")]
struct Denied;

fn forbidden_page() -> Response {
    render(StatusCode::FORBIDDEN, &Denied)
}

/// The staff member the gate admitted, with the visitor (for the CSRF token).
pub struct Staff(pub CurrentStaff, pub Visitor);

impl<S: Send + Sync> FromRequestParts<S> for Staff {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let visitor = Visitor::from_request_parts(parts, state).await?;
        match parts.extensions.get::<CurrentStaff>() {
            Some(staff) => Ok(Self(staff.clone(), visitor)),
            None => Err(Redirect::to("/admin/login").into_response()),
        }
    }
}

/// What every back-office page shows around its content.
pub struct AdminLayout {
    pub title: String,
    pub csrf: String,
    pub staff: Option<CurrentStaff>,
    pub notice: Option<&'static str>,
}

impl AdminLayout {
    pub fn new(title: &str, visitor: &Visitor, staff: Option<&CurrentStaff>) -> Self {
        Self { title: title.into(), csrf: visitor.csrf_token.clone(), staff: staff.cloned(), notice: None }
    }

    pub fn with_notice(mut self, key: Option<&str>) -> Self {
        self.notice = key.and_then(|k| {
            Some(match k {
                "approved" => "已审核通过，订单进入待处理。",
                "rejected" => "已退回申请人修改。",
                "claimed" => "已领取该订单。",
                "key_recorded" => "制证信息已登记。",
                "shipped" => "已发货，申请人会收到快递单号。",
                "ready" => "已通知申请人到自提点领取，取件码已发送。",
                "handed_over" => "已交付，订单完成。",
                "catalog_saved" => "已保存，之后提交的订单按新设置计价。",
                "refunded" => "退款已提交，款项将原路退回；已开发票的订单退款完成后请开具红字发票。",
                "refund_awaiting" => "退款金额较大，已提交另一位财务人员复核。",
                "refund_retrying" => "支付平台仍未完成退款，已按计划继续重试；如仍失败可登记线下退款。",
                "refund_settled" => "已登记为线下退款，订单已退款，申请人会收到通知。",
                "staff_saved" => "已保存员工的角色。",
                "alert_resolved" => "已标记为已处理。",
                "staff_disabled" => "已停用该员工，其登录已全部退出。",
                "invoice_issued" => "发票已开具并发送给申请人。",
                "invoice_sent" => "发票已重新发送。",
                "key_produced" => "证书已签发并写入介质。",
                "certificate_revoked" => "证书已吊销，吊销列表（CRL）已即时更新。",
                "seal_source_chosen" => "已选定电子印章的图样，此后制作的电子印章将采用它。",
                "revocation_requested" => "已提交吊销申请：企业证书须由另一位工作人员复核后吊销。",
                "invoice_voided" => "红字发票已登记，原发票已作废，申请人会收到红字发票。",
                _ => return None,
            })
        });
        self
    }

    pub fn can(&self, role: &str) -> bool {
        self.staff.as_ref().is_some_and(|s| Role::parse(role).is_some_and(|r| s.has(r)))
    }
}

/// The back office's face: a page that failed ([`crate::html::PageError`]) shows its message in
/// the back office's frame; 401 goes to the staff login, 403 to the page that says so.
async fn face(response: Response) -> Response {
    let Some(failed) = response.extensions().get::<Failed>() else { return response };
    if failed.unauthenticated {
        return Redirect::to("/admin/login").into_response();
    }
    if failed.forbidden {
        return forbidden_page();
    }
    render(failed.status, &Failure { message: failed.message.clone() })
}

#[derive(Template)]
#[template(path = "admin/failure.html")]
struct Failure {
    message: String,
}
