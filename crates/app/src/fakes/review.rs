//! Review claims and decisions, the documents reviewed and the audit log.

use super::{Books, lock};
use crate::StoreError;
use crate::ports::{AuditEntry, AuditLog, DocumentRecord, DocumentShelf, OrderRecord, ReviewDecision, ReviewRepo};
use async_trait::async_trait;
use domain::document::DocumentKind;
use domain::{ApplicationId, OrderId, OrderStatus, StaffId, UserId};
use time::OffsetDateTime;

#[async_trait]
impl AuditLog for Books {
    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let mut state = lock(&self.state);
        state.write()?;
        state.audit.push(entry.clone());
        Ok(())
    }

    async fn audit_log(&self, order: Option<OrderId>, limit: i64) -> Result<Vec<AuditEntry>, StoreError> {
        let state = lock(&self.state);
        let entries = state.audit.iter().rev().filter(|e| order.is_none_or(|o| e.order_id == Some(o)));
        Ok(entries.take(usize::try_from(limit).unwrap_or(0)).cloned().collect())
    }
}

#[async_trait]
impl DocumentShelf for Books {
    async fn documents(&self, user: UserId, application: ApplicationId) -> Result<Vec<DocumentRecord>, StoreError> {
        let state = lock(&self.state);
        let owns = state.orders.values().any(|o| o.order.user_id == user && o.order.application_id == application);
        Ok(state.documents.iter().filter(|d| owns && d.application_id == application).cloned().collect())
    }

    async fn document(
        &self,
        user: UserId,
        application: ApplicationId,
        kind: DocumentKind,
    ) -> Result<Option<DocumentRecord>, StoreError> {
        Ok(self.documents(user, application).await?.into_iter().find(|d| d.kind == kind))
    }
}

#[async_trait]
impl ReviewRepo for Books {
    async fn review_queue(&self) -> Result<Vec<(OrderRecord, Option<StaffId>, Option<OffsetDateTime>)>, StoreError> {
        let state = lock(&self.state);
        let in_review = state.orders.values().filter(|o| o.status == OrderStatus::UnderReview);
        Ok(in_review
            .map(|o| {
                let claim = state.claims.get(&o.id);
                (o.clone(), claim.map(|(by, _)| *by), claim.map(|(_, at)| *at))
            })
            .collect())
    }

    async fn claim_order(
        &self,
        id: OrderId,
        staff: StaffId,
        stale_before: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut state = lock(&self.state);
        state.write()?;
        if state.orders.get(&id).is_none_or(|o| o.status != OrderStatus::UnderReview) {
            return Ok(false);
        }
        if state.claims.get(&id).is_some_and(|(by, at)| *by != staff && *at >= stale_before) {
            return Ok(false);
        }
        state.claims.insert(id, (staff, now));
        Ok(true)
    }

    async fn order_claim(&self, id: OrderId) -> Result<Option<(StaffId, OffsetDateTime)>, StoreError> {
        Ok(lock(&self.state).claims.get(&id).copied())
    }

    async fn decide_review(&self, decision: &ReviewDecision<'_>) -> Result<bool, StoreError> {
        let mut state = lock(&self.state);
        state.write()?;
        let in_state = state.orders.get(&decision.id).is_some_and(|o| o.status == decision.from);
        let holds_claim = state.claims.get(&decision.id).is_some_and(|(by, _)| *by == decision.staff);
        if !(in_state && holds_claim) {
            return Ok(false);
        }
        state.move_order(decision.id, decision.to, decision.reason.unwrap_or(""), decision.audit.at);
        if !decision.pins.is_empty() {
            state.approved.insert(decision.id, decision.pins.to_vec());
        }
        state.claims.remove(&decision.id);
        state.audit.push(decision.audit.clone());
        state.queued.extend_from_slice(decision.notify);
        Ok(true)
    }

    async fn review_pins(&self, id: OrderId) -> Result<Vec<(String, String)>, StoreError> {
        Ok(lock(&self.state).approved.get(&id).cloned().unwrap_or_default())
    }
}
