//! Messages to applicants, against in-memory fakes: who gets what, delivery once, retries on the
//! backoff until given up, and invoices attached decrypted.

use std::sync::Arc;

use domain::invoice::InvoiceFormat;
use domain::{OrderId, UserId};
use time::macros::datetime;

use super::*;
use crate::clock::ManualClock;
use crate::crypto::Keys;
use crate::fakes::{Blobs, Books, Relay};
use crate::ports::FileStore;
use crate::ports::{InvoiceFile, InvoiceRecord};

struct Post {
    books: Arc<Books>,
    relay: Arc<Relay>,
    blobs: Arc<Blobs>,
    keys: Arc<Keys>,
    clock: Arc<ManualClock>,
    notifier: Notifier,
    order: OrderId,
}

const USER: UserId = UserId(7);

fn post() -> Post {
    let clock = Arc::new(ManualClock::new(datetime!(2026-12-03 10:00 UTC)));
    let books = Arc::new(Books::default());
    books.add_user(USER, "13800138000", clock.now());
    let order = books.add_order(USER, 30_000, clock.now());
    let relay = Arc::new(Relay::default());
    let blobs = Arc::new(Blobs::default());
    let keys = Arc::new(Keys::new(vec![9; 32]).unwrap());
    let notifier = Notifier::new(NotifierPorts {
        users: books.clone(),
        applications: books.clone(),
        queue: books.clone(),
        invoices: books.clone(),
        vault: Vault::new(blobs.clone(), keys.clone()),
        sms: relay.clone(),
        mailer: relay.clone(),
        clock: clock.clone(),
    });
    Post { books, relay, blobs, keys, clock, notifier, order }
}

impl Post {
    async fn messages(&self) -> Vec<NewNotification> {
        use crate::ports::OrderBook;
        let order = self.books.order_by_id(self.order).await.unwrap().unwrap();
        let tell = Tell {
            key: "order:1:paid".into(),
            sms: "已支付",
            subject: "【电子签章】支付成功",
            text: "我们已收到您的付款。",
        };
        self.notifier.applicant_messages(&order, &tell).await.unwrap()
    }

    async fn enqueue(&self, messages: &[NewNotification]) {
        self.books.enqueue_notifications(messages, self.clock.now()).await.unwrap();
    }
}

#[tokio::test]
async fn the_sms_goes_to_the_account_and_the_email_to_the_agent_before_the_account() {
    let p = post();
    let sms_only = p.messages().await;
    assert_eq!(sms_only.len(), 1, "no address known: SMS only");
    assert_eq!((sms_only[0].channel.as_str(), sms_only[0].recipient.as_str()), ("sms", "13800138000"));

    p.books.set_account_email(USER, Some("owner@example.com"));
    let both = p.messages().await;
    assert_eq!(both[1].recipient, "owner@example.com");
    assert!(both[1].body.contains("订单号：SD"), "the email names the order");
    assert!(both[1].html.as_deref().unwrap().contains("<h2"), "with an HTML alternative");

    p.books.set_agent_email(p.order, Some("agent@example.com"), p.clock.now());
    assert_eq!(p.messages().await[1].recipient, "agent@example.com", "the agent who applied hears first");
    p.books.set_agent_email(p.order, Some("not an address"), p.clock.now());
    assert_eq!(p.messages().await[1].recipient, "owner@example.com", "an unusable address is passed over");
    let keys: Vec<_> = p.messages().await.into_iter().map(|m| m.dedupe_key).collect();
    assert_eq!(keys, ["order:1:paid:sms", "order:1:paid:email"]);
}

#[tokio::test]
async fn a_message_is_delivered_once() {
    let p = post();
    p.enqueue(&p.messages().await).await;
    p.enqueue(&p.messages().await).await;
    assert_eq!(p.notifier.deliver_notifications().await.unwrap(), 1, "queued once per event");
    assert_eq!(p.notifier.deliver_notifications().await.unwrap(), 0);
    assert_eq!(p.relay.sms.lock().unwrap().clone(), [("13800138000".to_owned(), "已支付".to_owned())]);
    assert_eq!(p.books.notification_states(), [("order:1:paid:sms".to_owned(), "sent".to_owned(), 1)]);
}

#[tokio::test]
async fn a_failing_gateway_is_retried_on_the_backoff_then_the_message_is_given_up() {
    let p = post();
    *p.relay.failures.lock().unwrap() = 100;
    p.enqueue(&p.messages().await).await;
    assert_eq!(p.notifier.deliver_notifications().await.unwrap(), 0);
    for (n, wait) in BACKOFF.iter().enumerate() {
        p.clock.advance(*wait - time::Duration::seconds(1));
        p.notifier.deliver_notifications().await.unwrap();
        assert_eq!(p.books.notification_states()[0].2, i64::try_from(n).unwrap() + 1, "not due before its wait");
        p.clock.advance(time::Duration::seconds(1));
        p.notifier.deliver_notifications().await.unwrap();
    }
    let (_, status, attempts) = p.books.notification_states().remove(0);
    assert_eq!((status.as_str(), attempts), ("failed", 8), "given up after the last wait");
    *p.relay.failures.lock().unwrap() = 0;
    p.clock.advance(time::Duration::days(3));
    assert_eq!(p.notifier.deliver_notifications().await.unwrap(), 0, "a given-up message stays given up");
    assert!(p.relay.sms.lock().unwrap().is_empty());
}

#[tokio::test]
async fn an_invoice_mail_carries_its_files_decrypted_when_it_goes() {
    let p = post();
    let pdf = b"%PDF-1.7 invoice".to_vec();
    let (blob, wrapped_key) = p.keys.seal_blob("inv-1.bin", &pdf).unwrap();
    p.blobs.put("inv-1.bin", blob).await.unwrap();
    p.books.add_invoice(InvoiceRecord {
        order_id: p.order,
        invoice_no: "24442000000012345678".into(),
        issued_by: None,
        issued_at: p.clock.now(),
        sent_count: 0,
        red: None,
        files: vec![InvoiceFile {
            red: false,
            format: InvoiceFormat::Pdf,
            file_key: "inv-1.bin".into(),
            wrapped_key,
            sha256: String::new(),
            size: 16,
        }],
    });
    p.books.set_account_email(USER, Some("owner@example.com"));
    let mut mail = p.messages().await.remove(1);
    mail.attachments = Some(format!("invoice:{}", p.order.0));
    let mut broken = mail.clone();
    broken.dedupe_key = "broken:email".into();
    broken.attachments = Some("invoice:999".into());
    p.enqueue(&[mail, broken]).await;

    assert_eq!(p.notifier.deliver_notifications().await.unwrap(), 1, "the one with a missing invoice waits");
    let sent = p.relay.mail.lock().unwrap().clone();
    assert_eq!(sent[0].attachments.len(), 1);
    let attached = &sent[0].attachments[0];
    assert_eq!((attached.file_name.as_str(), attached.bytes.as_slice()), ("发票-24442000000012345678.pdf", &pdf[..]));
    let states = p.books.notification_states();
    assert_eq!((states[1].1.as_str(), states[1].2), ("pending", 1), "retried later");
}
