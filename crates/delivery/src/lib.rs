//! The production adapters that deliver messages, behind the app's ports: SMTP email through
//! `lettre` ([`smtp::SmtpMailer`]) and SMS through Aliyun's SMS API ([`aliyun::AliyunSms`]). The
//! development build uses the dev outbox instead; these are what production mode requires.

pub mod aliyun;
pub mod smtp;
