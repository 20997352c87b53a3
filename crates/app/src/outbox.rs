//! The development outbox: SMS and email the system "sent" while running without real gateways.

use crate::ports::DevMessage;
use crate::{App, Error};

impl App {
    /// Newest first.
    pub async fn dev_messages(&self, limit: i64) -> Result<Vec<DevMessage>, Error> {
        Ok(self.store.recent_messages(limit.clamp(1, 500)).await?)
    }
}
