//! Development outbox API: registered only in development mode.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::error::ApiError;

#[derive(Debug, Serialize, ToSchema)]
pub struct DevMessageItem {
    pub id: i64,
    /// `sms` or `email`.
    pub channel: String,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub created_at: String,
}

/// Messages the system "sent" (development mode only; absent in production).
#[utoipa::path(get, path = "/api/v1/dev/outbox", tag = "dev", responses((status = 200, body = Vec<DevMessageItem>)))]
pub async fn list_outbox(State(state): State<AppState>) -> Result<Json<Vec<DevMessageItem>>, ApiError> {
    let messages = state.app.dev_messages(100).await?;
    Ok(Json(
        messages
            .into_iter()
            .map(|m| DevMessageItem {
                id: m.id,
                channel: m.channel,
                recipient: m.recipient,
                subject: m.subject,
                body: m.body,
                created_at: super::rfc3339(m.created_at),
            })
            .collect(),
    ))
}
