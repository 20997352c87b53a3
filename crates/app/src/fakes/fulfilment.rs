//! Produced keys, their delivery and their PINs.

use super::{Books, lock};
use crate::StoreError;
use crate::ports::{Dispatch, DispatchChange, FulfilmentRecord, FulfilmentRepo, KeyPinBook, KeyPins, OrderRecord};
use async_trait::async_trait;
use domain::pricing::Delivery;
use domain::{OrderId, OrderStatus, StaffId};
use time::OffsetDateTime;

#[async_trait]
impl FulfilmentRepo for Books {
    async fn save_key(
        &self,
        id: OrderId,
        key: &domain::fulfilment::KeyRecord,
        staff: StaffId,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut state = lock(&self.state);
        state.write()?;
        if state.orders.get(&id).is_none_or(|o| o.status != OrderStatus::Processing) {
            return Ok(false);
        }
        let record = FulfilmentRecord {
            order_id: id,
            key: key.clone(),
            produced_by: Some(staff),
            produced_at: now,
            courier: None,
            tracking_no: None,
            shipped_at: None,
            pickup_code: None,
            ready_at: None,
            completed_at: None,
        };
        state.fulfilments.insert(id, record);
        Ok(true)
    }

    async fn fulfilment(&self, id: OrderId) -> Result<Option<FulfilmentRecord>, StoreError> {
        Ok(lock(&self.state).fulfilments.get(&id).cloned())
    }

    async fn dispatch(&self, step: &Dispatch<'_>) -> Result<bool, StoreError> {
        let mut state = lock(&self.state);
        state.write()?;
        if state.orders.get(&step.id).is_none_or(|o| o.status != step.from) || !state.fulfilments.contains_key(&step.id)
        {
            return Ok(false);
        }
        state.move_order(step.id, step.to, step.reason, step.now);
        if let Some(record) = state.fulfilments.get_mut(&step.id) {
            match &step.change {
                DispatchChange::Shipped { courier, tracking_no } => {
                    record.courier = Some(courier.clone());
                    record.tracking_no = Some(tracking_no.clone());
                    record.shipped_at = Some(step.now);
                }
                DispatchChange::ReadyForPickup { sealed_code } => {
                    record.pickup_code = Some(sealed_code.clone());
                    record.ready_at = Some(step.now);
                }
                DispatchChange::Completed => record.completed_at = Some(step.now),
            }
        }
        if let Some(audit) = step.audit {
            state.audit.push(audit.clone());
        }
        state.queued.extend_from_slice(step.notify);
        Ok(true)
    }

    async fn fulfilment_queue(&self) -> Result<Vec<OrderRecord>, StoreError> {
        let state = lock(&self.state);
        let waiting = state.orders.values().filter(|o| {
            o.status == OrderStatus::Processing
                || (o.status == OrderStatus::Delivering && o.order.delivery == Delivery::Pickup)
        });
        Ok(waiting.cloned().collect())
    }

    async fn shipped_before(&self, before: OffsetDateTime) -> Result<Vec<OrderId>, StoreError> {
        let state = lock(&self.state);
        let shipped = state.fulfilments.values().filter(|f| {
            f.shipped_at.is_some_and(|at| at < before)
                && state.orders.get(&f.order_id).is_some_and(|o| o.status == OrderStatus::Delivering)
        });
        Ok(shipped.map(|f| f.order_id).collect())
    }
}

#[async_trait]
impl KeyPinBook for Books {
    async fn key_pins(&self, order: OrderId) -> Result<Option<KeyPins>, StoreError> {
        Ok(lock(&self.state).pins.iter().rev().find(|p| p.order_id == order).cloned())
    }
}
