//! 管理: staff accounts and roles, and the audit log.

use app::ports::{AuditEntry, StaffRecord};
use app::staff::CreatedStaff;
use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use domain::staff::{Role, Roles};

use super::{AdminLayout, Staff};
use crate::AppState;
use crate::html::{PagePath, PageResult, local_time, render};

#[derive(Template)]
#[template(path = "admin/staff.html")]
struct StaffPage {
    layout: AdminLayout,
    staff: Vec<StaffRecord>,
    roles: &'static [Role],
    created: Option<CreatedStaff>,
    message: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    layout: AdminLayout,
    /// Each entry with who did it and the order's number.
    entries: Vec<(AuditEntry, String, Option<String>)>,
}

impl AuditPage {
    fn when(t: &time::OffsetDateTime) -> String {
        local_time(*t)
    }

    /// The order's page this reader's roles open: the case for review and fulfilment, the
    /// money for finance; an admin with neither sees the number alone.
    #[allow(clippy::trivially_copy_pass_by_ref)] // the template hands loop items by reference
    fn order_link(&self, id: &domain::OrderId) -> Option<String> {
        if self.layout.can("reviewer") || self.layout.can("fulfilment") {
            Some(format!("/admin/orders/{id}"))
        } else if self.layout.can("finance") {
            Some(format!("/admin/finance/orders/{id}"))
        } else {
            None
        }
    }

    fn action(action: &str) -> &str {
        match action {
            "staff.login" => "登录",
            "staff.login_failed" => "登录失败",
            "staff.create" => "创建员工",
            "staff.update" => "修改员工",
            "staff.password" => "设置密码",
            "order.claim" => "领取订单",
            "order.approve" => "审核通过",
            "order.reject" => "审核不通过",
            "document.view" => "查看材料",
            "order.key_recorded" => "登记制证",
            "certificate.issued" => "签发证书",
            "certificate.revoked" => "吊销证书",
            "certificate.revocation_requested" => "申请吊销证书",
            "station_token.created" => "创建工作站令牌",
            "station_token.revoked" => "停用工作站令牌",
            "order.ship" => "发货",
            "order.ready_for_pickup" => "通知自提",
            "order.hand_over" => "交付",
            "order.handover_refused" => "交付被拒（取件码不符）",
            "catalog.package" => "修改套餐",
            "catalog.fees" => "修改费用",
            "catalog.pickup_point" => "修改自提点",
            "catalog.template" => "修改文档模板",
            "refund.request" => "申请退款",
            "refund.approve" => "复核退款",
            "refund.retry" => "重新退款",
            "alert.resolve" => "处理财务提醒",
            "refund.offline" => "登记线下退款",
            "invoice.issue" => "开具发票",
            "invoice.resend" => "重发发票",
            "invoice.red" => "红冲发票",
            "id_number.reveal" => "查看完整证件号码",
            other => other,
        }
    }
}

async fn page(
    state: &AppState,
    staff: &app::staff::CurrentStaff,
    visitor: &crate::visitor::Visitor,
    created: Option<CreatedStaff>,
    message: Option<String>,
) -> PageResult {
    page_with_notice(state, staff, visitor, created, message, None).await
}

async fn page_with_notice(
    state: &AppState,
    staff: &app::staff::CurrentStaff,
    visitor: &crate::visitor::Visitor,
    created: Option<CreatedStaff>,
    message: Option<String>,
    notice: Option<&str>,
) -> PageResult {
    let list = state.app.staff_list(staff).await?;
    let layout = AdminLayout::new("员工与角色", visitor, Some(staff)).with_notice(notice);
    let status = if message.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    Ok(render(status, &StaffPage { layout, staff: list, roles: Role::ALL, created, message }))
}

pub async fn list(
    State(state): State<AppState>,
    Staff(staff, visitor): Staff,
    axum::extract::Query(q): axum::extract::Query<crate::html::NoticeQuery>,
) -> PageResult {
    page_with_notice(&state, &staff, &visitor, None, None, q.notice.as_deref()).await
}

pub async fn create(
    State(state): State<AppState>,
    Staff(staff, visitor): Staff,
    Form(fields): Form<Vec<(String, String)>>,
) -> PageResult {
    let get = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or_default();
    let chosen: Vec<&str> = fields.iter().filter(|(k, _)| k == "roles").map(|(_, v)| v.as_str()).collect();
    let Ok(roles) = Roles::parse(&chosen.join(",")) else {
        return page(&state, &staff, &visitor, None, Some("请至少选择一个角色".into())).await;
    };
    let phone = Some(get("phone")).filter(|p| !p.trim().is_empty());
    match state.app.add_staff(get("username"), get("name"), roles, phone, Some(&staff)).await {
        Ok(created) => page(&state, &staff, &visitor, Some(created), None).await,
        Err(app::Error::Validation(errors)) => {
            let message = crate::html::joined(&errors);
            page(&state, &staff, &visitor, None, Some(message)).await
        }
        Err(err) => Err(err.into()),
    }
}

pub async fn update(
    State(state): State<AppState>,
    Staff(staff, visitor): Staff,
    PagePath(id): PagePath<domain::StaffId>,
    Form(fields): Form<Vec<(String, String)>>,
) -> PageResult {
    let chosen: Vec<&str> = fields.iter().filter(|(k, _)| k == "roles").map(|(_, v)| v.as_str()).collect();
    let Ok(roles) = Roles::parse(&chosen.join(",")) else {
        return page(&state, &staff, &visitor, None, Some("请至少选择一个角色".into())).await;
    };
    let disabled = fields.iter().any(|(k, _)| k == "disabled");
    state.app.update_staff(&staff, id, roles, disabled).await?;
    Ok(axum::response::Redirect::to(if disabled {
        "/admin/staff?notice=staff_disabled"
    } else {
        "/admin/staff?notice=staff_saved"
    })
    .into_response())
}

pub async fn audit(State(state): State<AppState>, Staff(staff, visitor): Staff) -> PageResult {
    let entries = state.app.audit_log(&staff, None, 200).await?;
    let mut named = Vec::with_capacity(entries.len());
    for entry in entries {
        let who = match entry.staff_id {
            Some(id) => state.app.staff_name(id).await.unwrap_or_default(),
            None => "系统".to_owned(),
        };
        let order_no = match entry.order_id {
            Some(id) => state.app.audited_order_no(&staff, id).await.ok().flatten(),
            None => None,
        };
        named.push((entry, who, order_no));
    }
    let layout = AdminLayout::new("审计日志", &visitor, Some(&staff));
    Ok(render(StatusCode::OK, &AuditPage { layout, entries: named }))
}
