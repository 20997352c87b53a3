//! Email through a real SMTP server: Python's `aiosmtpd` (installed by `scripts/test`) writes what
//! arrives into a maildir, and the tests read it back. Also: the notification worker retries a
//! message the relay could not take, and delivers it once the relay is up.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration as StdDuration;

use app::App;
use app::clock::ManualClock;
use app::crypto::Keys;
use app::ports::{Mail, Mailer, NewNotification, NotificationRepo};
use base64::Engine;
use delivery::smtp::{Security, SmtpMailer, SmtpSettings};
use domain::Email;
use time::macros::datetime;

struct Sink {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Starts aiosmtpd on `port`, storing messages in a maildir.
fn sink(port: u16) -> Sink {
    let ok = Command::new("python3").args(["-c", "import aiosmtpd"]).status().is_ok_and(|s| s.success());
    assert!(ok, "Python's aiosmtpd is missing: run scripts/test, which installs it (pip install aiosmtpd)");
    let dir = tempfile::tempdir().unwrap();
    let maildir = dir.path().join("mail");
    let mut child = Command::new("python3")
        .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
        .arg(&maildir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Sink { child, dir, port };
        }
        std::thread::sleep(StdDuration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("aiosmtpd did not start");
}

fn mailer(port: u16) -> SmtpMailer {
    SmtpMailer::new(&SmtpSettings {
        host: "127.0.0.1".into(),
        port,
        security: Security::Plain,
        username: None,
        password: None,
        from: "电子签章服务中心 <noreply@seal.example.cn>".into(),
    })
    .unwrap()
}

/// The messages in the maildir, raw.
fn received(dir: &Path) -> Vec<String> {
    let new: PathBuf = dir.join("mail").join("new");
    let Ok(entries) = std::fs::read_dir(new) else { return Vec::new() };
    entries.map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap()).collect()
}

async fn wait_for_mail(dir: &Path, n: usize) -> Vec<String> {
    for _ in 0..100 {
        let mail = received(dir);
        if mail.len() >= n {
            return mail;
        }
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    panic!("no mail arrived");
}

/// Decodes RFC 2047 words and Base64 bodies well enough to read what was sent.
fn readable(raw: &str) -> String {
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut out = String::new();
    let mut block = String::new();
    let flush = |block: &mut String, out: &mut String| {
        if let Ok(bytes) = b64.decode(block.as_bytes())
            && let Ok(text) = String::from_utf8(bytes)
        {
            out.push_str(&text);
            out.push('\n');
        }
        block.clear();
    };
    for line in raw.lines() {
        let trimmed = line.trim();
        if !trimmed.is_empty() && trimmed.chars().all(|c| c.is_ascii_alphanumeric() || "+/=".contains(c)) {
            block.push_str(trimmed);
            continue;
        }
        flush(&mut block, &mut out);
        let mut rest = line;
        while let Some(start) = rest.find("=?utf-8?b?") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 10..];
            let end = after.find("?=").unwrap();
            out.push_str(&String::from_utf8(b64.decode(&after[..end]).unwrap()).unwrap());
            rest = &after[end + 2..];
        }
        out.push_str(rest);
        out.push('\n');
    }
    flush(&mut block, &mut out);
    out
}

#[tokio::test]
async fn a_chinese_multipart_email_arrives_intact() {
    let server = sink(free_port());
    let mail = Mail {
        to: Email::parse("zhao@example.com").unwrap(),
        subject: "【电子签章】审核通过".into(),
        text: "您递交的申请材料已审核通过，我们将尽快为您制作数字证书 USB-Key。".into(),
        html: Some("<p>您递交的申请材料已审核通过。</p>".into()),
        attachments: Vec::new(),
    };
    mailer(server.port).send_mail(&mail).await.unwrap();
    let raw = wait_for_mail(server.dir.path(), 1).await.remove(0);
    assert!(raw.contains("To: zhao@example.com"), "{raw}");
    assert!(raw.contains("multipart/alternative"), "{raw}");
    let text = readable(&raw);
    assert!(text.contains("Subject: 【电子签章】审核通过"), "{text}");
    assert!(text.contains("电子签章服务中心"), "{text}");
    assert!(text.contains("我们将尽快为您制作数字证书 USB-Key"), "{text}");
    assert!(text.contains("<p>您递交的申请材料已审核通过。</p>"), "{text}");
}

#[tokio::test]
async fn an_invoice_arrives_attached_byte_for_byte_beside_the_text() {
    let server = sink(free_port());
    let pdf: Vec<u8> = b"%PDF-1.7\n".iter().copied().chain((0..=255u8).cycle().take(3000)).collect();
    let mail = Mail {
        to: Email::parse("lilei@example.com").unwrap(),
        subject: "【电子签章】电子发票已开具".into(),
        text: "您的电子发票已开具，文件见附件。".into(),
        html: Some("<p>您的电子发票已开具，文件见附件。</p>".into()),
        attachments: vec![app::ports::Attachment {
            file_name: "发票-24442000000012345678.pdf".into(),
            content_type: "application/pdf".into(),
            bytes: pdf.clone(),
        }],
    };
    mailer(server.port).send_mail(&mail).await.unwrap();
    let raw = wait_for_mail(server.dir.path(), 1).await.remove(0);
    assert!(raw.contains("multipart/mixed") && raw.contains("multipart/alternative"), "{raw}");
    let part = raw.split("Content-Disposition: attachment").nth(1).expect("an attachment part");
    let headers_end = part.find("\n\n").or_else(|| part.find("\r\n\r\n")).unwrap();
    let body: String = part[headers_end..]
        .lines()
        .map(str::trim)
        .skip_while(|l| l.is_empty())
        .take_while(|l| !l.is_empty() && !l.starts_with("--"))
        .collect();
    let sent = base64::engine::general_purpose::STANDARD.decode(body.as_bytes()).unwrap();
    assert_eq!(sent, pdf, "the bytes arrive unchanged");
    // The Chinese file name as RFC 2231 parameter continuations: `filename*0*=utf-8''…;`.
    let encoded: String = part[..headers_end]
        .split("filename*")
        .skip(1)
        .map(|p| p.split_once('=').unwrap().1.split([';', '\r', '\n']).next().unwrap().trim_start_matches("utf-8''"))
        .collect();
    let mut name = Vec::new();
    let mut bytes = encoded.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hex: String = [bytes.next().unwrap(), bytes.next().unwrap()].iter().map(|&c| char::from(c)).collect();
            name.push(u8::from_str_radix(&hex, 16).unwrap());
        } else {
            name.push(b);
        }
    }
    assert_eq!(String::from_utf8(name).unwrap(), "发票-24442000000012345678.pdf", "{part}");
    assert!(readable(&raw).contains("您的电子发票已开具，文件见附件。"));
}

#[tokio::test]
async fn the_worker_retries_until_the_relay_takes_the_message_and_sends_it_once() {
    let port = free_port();
    let db = store::testing::TestDb::sqlite().await;
    let clock = Arc::new(ManualClock::new(datetime!(2026-11-25 02:00 UTC)));
    let outbox = Arc::new(store::DevOutbox::new(db.db.clone(), clock.clone()));
    let files = tempfile::tempdir().unwrap();
    let app = App::new(
        Arc::new(db.db.clone()),
        Arc::new(store::LocalFileStore::new(files.path()).unwrap()),
        outbox,
        Arc::new(mailer(port)),
        clock.clone(),
        Keys::new(vec![9; 32]).unwrap(),
        app::Policy::default(),
    );
    let message = NewNotification {
        dedupe_key: "order:1:approved:3:email".into(),
        channel: "email".into(),
        recipient: "zhao@example.com".into(),
        subject: "【电子签章】审核通过".into(),
        body: "审核通过".into(),
        html: None,
        attachments: None,
    };
    let now = app::clock::Clock::now(clock.as_ref());
    db.db.enqueue_notifications(&[message.clone(), message.clone()], now).await.unwrap();
    db.db.enqueue_notifications(std::slice::from_ref(&message), now).await.unwrap();

    // The relay is down: the attempt fails and is scheduled again, not lost.
    assert_eq!(app.notifier().deliver_notifications().await.unwrap(), 0);
    let queued = app.notifier().notification_log(10).await.unwrap();
    assert_eq!(queued.len(), 1, "one row per dedupe key");
    assert_eq!((queued[0].status.as_str(), queued[0].attempts), ("pending", 1));
    assert_eq!(app.notifier().deliver_notifications().await.unwrap(), 0, "not due yet");

    let server = sink(port);
    clock.advance(time::Duration::minutes(2));
    assert_eq!(app.notifier().deliver_notifications().await.unwrap(), 1);
    assert_eq!(app.notifier().deliver_notifications().await.unwrap(), 0, "sent once");
    assert_eq!(wait_for_mail(server.dir.path(), 1).await.len(), 1);
    assert_eq!(app.notifier().notification_log(10).await.unwrap()[0].status, "sent");
    db.finish().await;
}
