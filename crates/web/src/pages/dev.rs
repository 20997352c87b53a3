//! 开发发件箱: the SMS and emails the system "sent" in development mode. Not routed in production.

use app::ports::DevMessage;
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;

use super::{Layout, Nav};
use crate::AppState;
use crate::html::{PageResult, render};
use crate::visitor::Visitor;

pub fn router() -> Router<AppState> {
    Router::new().route("/dev/outbox", get(outbox))
}

#[derive(Template)]
#[template(path = "dev_outbox.html")]
struct OutboxPage {
    layout: Layout,
    messages: Vec<DevMessage>,
}

impl OutboxPage {
    fn time(message: &DevMessage) -> String {
        message
            .created_at
            .to_offset(time::macros::offset!(+8))
            .format(time::macros::format_description!("[month]-[day] [hour]:[minute]:[second]"))
            .unwrap_or_default()
    }
}

async fn outbox(State(state): State<AppState>, visitor: Visitor) -> PageResult {
    let messages = state.app.dev_messages(100).await?;
    Ok(render(StatusCode::OK, &OutboxPage { layout: Layout::new(&state, &visitor, "开发发件箱", Nav::None), messages }))
}
