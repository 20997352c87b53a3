//! Home page and the pages whose capabilities arrive with later work (application, orders).

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

use super::{Layout, Nav, render};
use crate::AppState;
use crate::visitor::{PageUser, Visitor};

pub fn router() -> Router<AppState> {
    Router::new().route("/", get(home)).route("/apply", get(apply)).route("/orders", get(orders))
}

#[derive(Deserialize)]
pub struct NoticeQuery {
    notice: Option<String>,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    layout: Layout,
}

async fn home(State(state): State<AppState>, visitor: Visitor, Query(q): Query<NoticeQuery>) -> Response {
    let layout = Layout::new(&state, &visitor, "首页", Nav::Home).with_notice(q.notice.as_deref());
    render(StatusCode::OK, &HomePage { layout })
}

#[derive(Template)]
#[template(path = "apply.html")]
struct ApplyPage {
    layout: Layout,
}

/// 在线补办/新办: the business-type chooser; the form itself lands with the applications work.
async fn apply(State(state): State<AppState>, visitor: Visitor) -> Response {
    render(StatusCode::OK, &ApplyPage { layout: Layout::new(&state, &visitor, "在线补办/新办", Nav::Apply) })
}

#[derive(Template)]
#[template(path = "orders.html")]
struct OrdersPage {
    layout: Layout,
    tabs: [&'static str; 7],
}

/// 我的订单: tabs by status; empty until orders exist.
async fn orders(State(state): State<AppState>, PageUser(_, visitor): PageUser) -> Response {
    let layout = Layout::new(&state, &visitor, "我的订单", Nav::Orders);
    render(
        StatusCode::OK,
        &OrdersPage {
            layout, tabs: ["待支付", "审核中", "待处理", "待收货", "已完成", "审核不通过", "已取消"]
        },
    )
}
