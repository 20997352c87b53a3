//! The endpoints the payment gateways call: their asynchronous notifications. They are served
//! outside the visitor layer, so they carry no session, no CSRF check and no cookie — the
//! gateway's signature, checked by the use case, is the only proof (SECURITY F6).

use app::gateway::Channel;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/pay/notify/{channel}", post(notify))
}

/// The gateway's asynchronous notification: the answer body is exactly what the gateway wants
/// (`success` for Alipay), with no redirect, cookie or HTML.
async fn notify(State(site): State<AppState>, Path(channel): Path<String>, body: Bytes) -> Response {
    let Some(channel) = Channel::parse(&channel) else { return StatusCode::NOT_FOUND.into_response() };
    let ack = site.app.payments().handle_notice(channel, &body).await;
    (StatusCode::OK, [(header::CONTENT_TYPE, ack.content_type)], ack.body).into_response()
}
