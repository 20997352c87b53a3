//! The development outbox: SMS and email adapters that record messages in the database instead of
//! sending them, so a person trying sealdesk locally can read their verification code.

use app::StoreError;
use app::clock::Clock;
use app::ports::{DevMessage, DevOutboxRepo, Mail, Mailer, SmsSender};
use async_trait::async_trait;
use domain::Phone;
use sha2::Digest as _;
use std::fmt::Write as _;
use std::sync::Arc;
use time::OffsetDateTime;

use crate::sql;
use crate::{Db, db_err};

sql::row! {
    struct MessageRow {
        id: i64,
        channel: String,
        recipient: String,
        subject: String,
        body: String,
        created_at: OffsetDateTime,
    }
}

#[async_trait]
impl DevOutboxRepo for Db {
    async fn record_message(
        &self,
        channel: &str,
        recipient: &str,
        subject: &str,
        body: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        sql::query(
            "INSERT INTO dev_outbox (channel, recipient, subject, body, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(channel)
        .bind(recipient)
        .bind(subject)
        .bind(body)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn recent_messages(&self, limit: i64) -> Result<Vec<DevMessage>, StoreError> {
        let rows = sql::query_as::<MessageRow>(
            "SELECT id, channel, recipient, subject, body, created_at FROM dev_outbox ORDER BY id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(rows
            .into_iter()
            .map(|r| DevMessage {
                id: r.id,
                channel: r.channel,
                recipient: r.recipient,
                subject: r.subject,
                body: r.body,
                created_at: r.created_at,
            })
            .collect())
    }
}

/// SMS and email "delivery" into the `dev_outbox` table. Development and tests only: the server
/// refuses to start with it in production mode.
#[derive(Clone)]
pub struct DevOutbox {
    db: Db,
    clock: Arc<dyn Clock>,
    /// Put in 【】 before every SMS, as the real gateway puts its approved signature.
    sms_signature: String,
}

/// The signature when none is configured.
pub const DEFAULT_SMS_SIGNATURE: &str = "电子签章";

impl DevOutbox {
    pub fn new(db: Db, clock: Arc<dyn Clock>) -> Self {
        Self { db, clock, sms_signature: DEFAULT_SMS_SIGNATURE.into() }
    }

    /// The same outbox, signing SMS with `signature`.
    #[must_use]
    pub fn with_sms_signature(mut self, signature: &str) -> Self {
        signature.clone_into(&mut self.sms_signature);
        self
    }
}

#[async_trait]
impl SmsSender for DevOutbox {
    async fn send_sms(&self, to: &Phone, text: &str) -> Result<(), StoreError> {
        let signed = format!("【{}】{text}", self.sms_signature);
        self.db.record_message("sms", to.as_str(), "", &signed, self.clock.now()).await
    }
}

#[async_trait]
impl Mailer for DevOutbox {
    async fn send_mail(&self, mail: &Mail) -> Result<(), StoreError> {
        // Attachments are listed by name, size and digest (the outbox keeps no files).
        let mut text = mail.text.clone();
        for a in &mail.attachments {
            let digest = hex::encode(sha2::Sha256::digest(&a.bytes));
            let _ =
                write!(text, "\n附件：{}（{}，{} 字节，SHA-256 {digest}）", a.file_name, a.content_type, a.bytes.len());
        }
        self.db.record_message("email", mail.to.as_str(), &mail.subject, &text, self.clock.now()).await
    }
}
