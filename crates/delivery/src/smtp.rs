//! Email over SMTP: a multipart message (plain text + HTML, and any attached files) with a UTF-8
//! subject, sent through a pooled connection to the configured relay (STARTTLS, implicit TLS, or plain for a local relay).

use app::StoreError;
use app::ports::{Mail, Mailer};
use async_trait::async_trait;
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};

/// How to reach the relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// Upgrade with STARTTLS (port 587).
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No TLS: only for a relay on the same host or network.
    Plain,
}

#[derive(Debug, Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub username: Option<String>,
    pub password: Option<SecretString>,
    /// `电子签章服务中心 <noreply@seal.example.cn>`
    pub from: String,
}

pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

fn failed(what: &str, err: impl std::fmt::Display) -> StoreError {
    StoreError::Other(format!("smtp {what}: {err}"))
}

impl SmtpMailer {
    pub fn new(settings: &SmtpSettings) -> Result<Self, StoreError> {
        let from: Mailbox = settings.from.parse().map_err(|e| failed("from address", e))?;
        let builder = match settings.security {
            Security::StartTls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&settings.host).map_err(|e| failed("relay", e))?
            }
            Security::Tls => {
                AsyncSmtpTransport::<Tokio1Executor>::relay(&settings.host).map_err(|e| failed("relay", e))?
            }
            Security::Plain => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&settings.host),
        };
        let mut builder = builder.port(settings.port).timeout(Some(std::time::Duration::from_secs(20)));
        if let (Some(user), Some(password)) = (&settings.username, &settings.password) {
            builder = builder.credentials(Credentials::new(user.clone(), password.expose_secret().to_owned()));
        }
        Ok(Self { transport: builder.build(), from })
    }

    /// The message as sent (exposed for tests of its shape).
    pub fn message(&self, mail: &Mail) -> Result<Message, StoreError> {
        let to: Mailbox = mail.to.as_str().parse().map_err(|e| failed("recipient", e))?;
        let text = SinglePart::builder()
            .header(ContentType::TEXT_PLAIN)
            .header(ContentTransferEncoding::Base64)
            .body(mail.text.clone());
        let builder = Message::builder().from(self.from.clone()).to(to).subject(mail.subject.clone());
        let html = mail.html.as_ref().map(|html| {
            SinglePart::builder()
                .header(ContentType::TEXT_HTML)
                .header(ContentTransferEncoding::Base64)
                .body(html.clone())
        });
        if mail.attachments.is_empty() {
            let message = match html {
                Some(html) => builder.multipart(MultiPart::alternative().singlepart(text).singlepart(html)),
                None => builder.singlepart(text),
            };
            return message.map_err(|e| failed("message", e));
        }
        let mut mixed = match html {
            Some(html) => MultiPart::mixed().multipart(MultiPart::alternative().singlepart(text).singlepart(html)),
            None => MultiPart::mixed().singlepart(text),
        };
        for a in &mail.attachments {
            let content_type = ContentType::parse(&a.content_type).map_err(|e| failed("attachment type", e))?;
            mixed = mixed.singlepart(Attachment::new(a.file_name.clone()).body(a.bytes.clone(), content_type));
        }
        let message = builder.multipart(mixed);
        message.map_err(|e| failed("message", e))
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send_mail(&self, mail: &Mail) -> Result<(), StoreError> {
        let message = self.message(mail)?;
        self.transport.send(message).await.map(|_| ()).map_err(|e| failed("send", e))
    }
}
