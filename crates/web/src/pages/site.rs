//! Home page and the pages whose capabilities arrive with later work (application, orders).

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;

use super::{Layout, Nav};
use crate::AppState;
use crate::html::{NoticeQuery, render};
use crate::visitor::Visitor;

pub fn router() -> Router<AppState> {
    Router::new().route("/", get(home))
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
