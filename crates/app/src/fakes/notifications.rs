//! The message queue and what messages read: applications and invoices.

use super::{Books, lock};
use crate::StoreError;
use crate::ports::{
    ApplicationBook, ApplicationRecord, InvoiceBook, InvoiceRecord, NewNotification, NotificationRecord,
    NotificationRepo,
};
use async_trait::async_trait;
use domain::{ApplicationId, NotificationId, OrderId, UserId};
use time::OffsetDateTime;

#[async_trait]
impl ApplicationBook for Books {
    async fn applications(&self, user: UserId) -> Result<Vec<ApplicationRecord>, StoreError> {
        let state = lock(&self.state);
        Ok(state.applications.iter().filter(|(owner, _)| *owner == user).map(|(_, a)| a.clone()).collect())
    }

    async fn application(&self, user: UserId, id: ApplicationId) -> Result<Option<ApplicationRecord>, StoreError> {
        Ok(self.applications(user).await?.into_iter().find(|a| a.id == id))
    }
}

#[async_trait]
impl InvoiceBook for Books {
    async fn invoice(&self, order: OrderId) -> Result<Option<InvoiceRecord>, StoreError> {
        Ok(lock(&self.state).invoices.iter().find(|i| i.order_id == order).cloned())
    }
}

#[async_trait]
impl NotificationRepo for Books {
    async fn enqueue_notifications(&self, messages: &[NewNotification], now: OffsetDateTime) -> Result<(), StoreError> {
        let mut state = lock(&self.state);
        state.write()?;
        for message in messages {
            if state.notifications.iter().any(|(n, ..)| n.dedupe_key == message.dedupe_key) {
                continue;
            }
            let id = NotificationId(i64::try_from(state.notifications.len()).unwrap_or(0) + 1);
            let record = NotificationRecord {
                id,
                dedupe_key: message.dedupe_key.clone(),
                channel: message.channel.clone(),
                recipient: message.recipient.clone(),
                subject: message.subject.clone(),
                body: message.body.clone(),
                html: message.html.clone(),
                attachments: message.attachments.clone(),
                attempts: 0,
                status: "pending".into(),
            };
            state.notifications.push((record, now, None));
        }
        Ok(())
    }

    async fn claim_notifications(
        &self,
        now: OffsetDateTime,
        lease: time::Duration,
        limit: i64,
    ) -> Result<Vec<NotificationRecord>, StoreError> {
        let mut state = lock(&self.state);
        state.write()?;
        let mut claimed = Vec::new();
        for (record, due, leased) in &mut state.notifications {
            if claimed.len() >= usize::try_from(limit).unwrap_or(0) {
                break;
            }
            if record.status == "pending" && *due <= now && leased.is_none_or(|until| until <= now) {
                record.attempts += 1;
                *leased = Some(now + lease);
                claimed.push(record.clone());
            }
        }
        Ok(claimed)
    }

    async fn notification_sent(&self, id: NotificationId, _now: OffsetDateTime) -> Result<(), StoreError> {
        let mut state = lock(&self.state);
        state.write()?;
        if let Some((record, _, leased)) = state.notifications.iter_mut().find(|(n, ..)| n.id == id) {
            record.status = "sent".into();
            *leased = None;
        }
        Ok(())
    }

    async fn notification_failed(
        &self,
        id: NotificationId,
        _error: &str,
        retry_at: Option<OffsetDateTime>,
    ) -> Result<(), StoreError> {
        let mut state = lock(&self.state);
        state.write()?;
        if let Some((record, due, leased)) = state.notifications.iter_mut().find(|(n, ..)| n.id == id) {
            *leased = None;
            match retry_at {
                Some(at) => *due = at,
                None => record.status = "failed".into(),
            }
        }
        Ok(())
    }

    async fn notifications(&self, limit: i64) -> Result<Vec<NotificationRecord>, StoreError> {
        let state = lock(&self.state);
        let newest = state.notifications.iter().rev().map(|(n, ..)| n.clone());
        Ok(newest.take(usize::try_from(limit).unwrap_or(0)).collect())
    }
}
