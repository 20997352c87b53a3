//! Notifications to applicants (SECURITY G4): each event enqueues its SMS and email in the same
//! transaction as the state change, under a dedupe key, so a message goes out once however often
//! the event is applied; a worker delivers them with retries and backoff. Phone numbers and
//! addresses never reach the logs.

use std::sync::Arc;

use async_trait::async_trait;
use domain::Email;
use domain::mask::mask_middle;
use time::Duration;

use crate::clock::Clock;
use crate::ports::{
    ApplicationBook, Attachment, InvoiceBook, Mail, Mailer, NewNotification, NotificationRecord, NotificationRepo,
    OrderRecord, SmsSender, UserDirectory,
};
use crate::vault::Vault;
use crate::{Error, StoreError};

/// Waits before the 2nd, 3rd, … attempt; after the last one the message is given up (and shows
/// as failed for staff).
const BACKOFF: [Duration; 7] = [
    Duration::minutes(1),
    Duration::minutes(5),
    Duration::minutes(30),
    Duration::hours(2),
    Duration::hours(6),
    Duration::hours(12),
    Duration::hours(24),
];
const LEASE: Duration = Duration::minutes(5);

/// What to tell the applicant about one event.
pub struct Tell<'a> {
    /// Unique per event occurrence, e.g. `order:7:rejected:3`.
    pub key: String,
    pub sms: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The HTML alternative: the same text, paragraph per line, in a plain branded frame.
fn html_body(subject: &str, text: &str) -> String {
    let paragraphs = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| ["<p>", &html_escape(l), "</p>"].concat())
        .collect::<String>();
    format!(
        "<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>{}</title></head>\
         <body style=\"font-family:sans-serif;color:#222\"><h2 style=\"color:#c62f2f\">{}</h2>{paragraphs}\
         <p style=\"color:#888;font-size:12px\">此邮件由电子签章在线申请系统自动发送，请勿直接回复。</p></body></html>",
        html_escape(subject),
        html_escape(subject)
    )
}

/// What the other capabilities need of this one: the messages for an event, to be queued in the
/// event's own transaction, and their delivery right after.
#[async_trait]
pub trait Announcer: Send + Sync {
    /// The SMS (to the account's phone) and email (to the agent's address, else the account's)
    /// for one event of an order.
    async fn applicant_messages(&self, order: &OrderRecord, tell: &Tell<'_>) -> Result<Vec<NewNotification>, Error>;
    /// Delivers right away what an event just enqueued (the worker retries what fails).
    async fn deliver_now(&self);
}

/// Messages to applicants: composed per event, queued by the event, delivered with retries.
#[derive(Clone)]
pub struct Notifier {
    users: Arc<dyn UserDirectory>,
    applications: Arc<dyn ApplicationBook>,
    queue: Arc<dyn NotificationRepo>,
    /// Invoices mailed as attachments, read and decrypted when the mail goes.
    invoices: Arc<dyn InvoiceBook>,
    vault: Vault,
    sms: Arc<dyn SmsSender>,
    mailer: Arc<dyn Mailer>,
    clock: Arc<dyn Clock>,
}

/// The ports a [`Notifier`] works with.
pub struct NotifierPorts {
    pub users: Arc<dyn UserDirectory>,
    pub applications: Arc<dyn ApplicationBook>,
    pub queue: Arc<dyn NotificationRepo>,
    pub invoices: Arc<dyn InvoiceBook>,
    pub vault: Vault,
    pub sms: Arc<dyn SmsSender>,
    pub mailer: Arc<dyn Mailer>,
    pub clock: Arc<dyn Clock>,
}

#[async_trait]
impl Announcer for Notifier {
    async fn applicant_messages(&self, order: &OrderRecord, tell: &Tell<'_>) -> Result<Vec<NewNotification>, Error> {
        Notifier::applicant_messages(self, order, tell).await
    }

    async fn deliver_now(&self) {
        Notifier::deliver_now(self).await;
    }
}

impl Notifier {
    pub fn new(ports: NotifierPorts) -> Self {
        let NotifierPorts { users, applications, queue, invoices, vault, sms, mailer, clock } = ports;
        Self { users, applications, queue, invoices, vault, sms, mailer, clock }
    }

    /// The SMS (to the account's phone) and email (to the agent's address, else the account's)
    /// for one event of an order.
    pub(crate) async fn applicant_messages(
        &self,
        order: &OrderRecord,
        tell: &Tell<'_>,
    ) -> Result<Vec<NewNotification>, Error> {
        let Some(user) = self.users.user_by_id(order.order.user_id).await? else { return Ok(Vec::new()) };
        let mut messages = vec![NewNotification {
            dedupe_key: format!("{}:sms", tell.key),
            channel: "sms".into(),
            recipient: user.phone.as_str().to_owned(),
            subject: String::new(),
            body: tell.sms.to_owned(),
            html: None,
            attachments: None,
        }];
        let application = self.applications.application(order.order.user_id, order.order.application_id).await?;
        // An address that does not parse (kept from before validation tightened) is passed over.
        let usable = |e: Option<String>| e.and_then(|e| Email::parse(&e).ok());
        let email = usable(application.and_then(|a| a.agent_email)).or_else(|| usable(user.email));
        if let Some(email) = email {
            let text = format!("您好：\n\n{}\n\n订单号：{}\n", tell.text, order.order.order_no);
            messages.push(NewNotification {
                dedupe_key: format!("{}:email", tell.key),
                channel: "email".into(),
                recipient: email.as_str().to_owned(),
                subject: tell.subject.to_owned(),
                html: Some(html_body(tell.subject, &text)),
                body: text,
                attachments: None,
            });
        }
        Ok(messages)
    }

    /// Delivers due messages; returns how many went out. Runs after each event and every
    /// minute; several instances may run it at once.
    pub async fn deliver_notifications(&self) -> Result<usize, Error> {
        let now = self.clock.now();
        let mut sent = 0;
        for message in self.queue.claim_notifications(now, LEASE, 20).await? {
            match self.send_one(&message).await {
                Ok(()) => {
                    self.queue.notification_sent(message.id, self.clock.now()).await?;
                    sent += 1;
                }
                Err(err) => {
                    let attempt = usize::try_from(message.attempts).unwrap_or(usize::MAX);
                    let retry = BACKOFF.get(attempt.saturating_sub(1)).map(|wait| self.clock.now() + *wait);
                    tracing::warn!(
                        channel = %message.channel,
                        recipient = %mask_middle(&message.recipient, 3, 4),
                        attempt,
                        gave_up = retry.is_none(),
                        error = %err,
                        "notification not delivered"
                    );
                    self.queue.notification_failed(message.id, &err.to_string(), retry).await?;
                }
            }
        }
        Ok(sent)
    }

    async fn send_one(&self, message: &NotificationRecord) -> Result<(), StoreError> {
        match message.channel.as_str() {
            "sms" => {
                let phone =
                    domain::Phone::parse(&message.recipient).map_err(|_| StoreError::Other("bad phone".into()))?;
                self.sms.send_sms(&phone, &message.body).await
            }
            "email" => {
                let to = Email::parse(&message.recipient).map_err(|_| StoreError::Other("bad email".into()))?;
                let attachments = match &message.attachments {
                    Some(reference) => self.attachments(reference).await?,
                    None => Vec::new(),
                };
                let mail = Mail {
                    to,
                    subject: message.subject.clone(),
                    text: message.body.clone(),
                    html: message.html.clone(),
                    attachments,
                };
                self.mailer.send_mail(&mail).await
            }
            other => Err(StoreError::Other(format!("unknown channel {other}"))),
        }
    }

    /// Delivers right away what an event just enqueued (the worker retries what fails).
    pub(crate) async fn deliver_now(&self) {
        if let Err(err) = self.deliver_notifications().await {
            tracing::warn!(error = %err, "notification delivery deferred to the worker");
        }
    }

    /// Queued and sent messages, newest first (staff and tests).
    pub async fn notification_log(&self, limit: i64) -> Result<Vec<NotificationRecord>, Error> {
        Ok(self.queue.notifications(limit).await?)
    }

    /// The files an email refers to (`invoice:<order id>` or `red-invoice:<order id>`), read and
    /// decrypted when it is sent.
    async fn attachments(&self, reference: &str) -> Result<Vec<Attachment>, StoreError> {
        let bad = || StoreError::Other(format!("unknown attachment reference {reference}"));
        let (kind, id) = reference.split_once(':').ok_or_else(bad)?;
        let red = match kind {
            "invoice" => false,
            "red-invoice" => true,
            _ => return Err(bad()),
        };
        let id = domain::OrderId(id.parse().map_err(|_| bad())?);
        let invoice = self.invoices.invoice(id).await?.ok_or_else(bad)?;
        let number = match (&invoice.red, red) {
            (Some(r), true) => r.invoice_no.clone(),
            (_, false) => invoice.invoice_no.clone(),
            (None, true) => return Err(bad()),
        };
        let mut attached = Vec::new();
        for file in invoice.files.iter().filter(|f| f.red == red) {
            let bytes = self
                .vault
                .get(&file.file_key, &file.wrapped_key)
                .await
                .map_err(|e| StoreError::Other(e.to_string()))?;
            attached.push(Attachment {
                file_name: file.format.file_name(&number, red),
                content_type: file.format.content_type().to_owned(),
                bytes,
            });
        }
        Ok(attached)
    }
}

#[cfg(test)]
mod tests;
