//! The order book.

use super::{Books, lock};
use crate::StoreError;
use crate::ports::{OrderBook, OrderEventRecord, OrderRecord};
use async_trait::async_trait;
use domain::{OrderId, UserId};

#[async_trait]
impl OrderBook for Books {
    async fn order(&self, user: UserId, id: OrderId) -> Result<Option<OrderRecord>, StoreError> {
        Ok(lock(&self.state).orders.get(&id).filter(|o| o.order.user_id == user).cloned())
    }

    async fn order_by_id(&self, id: OrderId) -> Result<Option<OrderRecord>, StoreError> {
        Ok(lock(&self.state).orders.get(&id).cloned())
    }

    async fn order_events(&self, id: OrderId) -> Result<Vec<OrderEventRecord>, StoreError> {
        Ok(lock(&self.state).events.iter().filter(|(o, _)| *o == id).map(|(_, e)| e.clone()).collect())
    }
}
