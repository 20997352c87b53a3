//! Messages to applicants: the queue, the SMS and mail senders, and the dev outbox.

use crate::StoreError;
use async_trait::async_trait;
use domain::{Email, NotificationId, Phone};
use time::OffsetDateTime;

/// A message recorded by the development outbox.
#[derive(Debug, Clone)]
pub struct DevMessage {
    pub id: i64,
    pub channel: String,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub created_at: OffsetDateTime,
}

#[async_trait]
pub trait DevOutboxRepo: Send + Sync {
    async fn record_message(
        &self,
        channel: &str,
        recipient: &str,
        subject: &str,
        body: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
    async fn recent_messages(&self, limit: i64) -> Result<Vec<DevMessage>, StoreError>;
}

/// Outbound SMS.
#[async_trait]
pub trait SmsSender: Send + Sync {
    async fn send_sms(&self, to: &Phone, text: &str) -> Result<(), StoreError>;
}

/// An email: plain text, optionally with an HTML alternative.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub to: Email,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
    pub attachments: Vec<Attachment>,
}

/// A file attached to an email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub file_name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// Outbound email.
#[async_trait]
pub trait Mailer: Send + Sync {
    async fn send_mail(&self, mail: &Mail) -> Result<(), StoreError>;
}

/// A message to deliver later, enqueued with the state change it reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNotification {
    /// One delivery per key, however often the event is applied.
    pub dedupe_key: String,
    /// `sms` or `email`.
    pub channel: String,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub html: Option<String>,
    /// What an email carries attached, by reference (the files stay encrypted until sent):
    /// `invoice:<order id>` or `red-invoice:<order id>`.
    pub attachments: Option<String>,
}

/// A queued message, leased to a worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationRecord {
    pub id: NotificationId,
    pub dedupe_key: String,
    pub channel: String,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub html: Option<String>,
    pub attachments: Option<String>,
    pub attempts: i64,
    /// `pending`, `sent` or `failed`.
    pub status: String,
}

#[async_trait]
pub trait NotificationRepo: Send + Sync {
    /// Enqueues outside any other transaction (duplicates by key are ignored).
    async fn enqueue_notifications(&self, messages: &[NewNotification], now: OffsetDateTime) -> Result<(), StoreError>;
    /// Leases up to `limit` due messages until `now + lease`; no two workers get the same one.
    async fn claim_notifications(
        &self,
        now: OffsetDateTime,
        lease: time::Duration,
        limit: i64,
    ) -> Result<Vec<NotificationRecord>, StoreError>;
    async fn notification_sent(&self, id: NotificationId, now: OffsetDateTime) -> Result<(), StoreError>;
    /// Records a failed attempt: retried at `retry_at`, or given up when `None`.
    async fn notification_failed(
        &self,
        id: NotificationId,
        error: &str,
        retry_at: Option<OffsetDateTime>,
    ) -> Result<(), StoreError>;
    /// Newest first (finance, tests).
    async fn notifications(&self, limit: i64) -> Result<Vec<NotificationRecord>, StoreError>;
}
