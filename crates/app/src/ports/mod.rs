//! Ports: what the use cases need from the outside world, as traits, one module per capability.
//! Adapters live in other crates (`store` for the database, the file stores and the dev outbox;
//! `payments` for the gateways). Every item is re-exported here, so `ports::OrderRepo` names it
//! wherever it is defined.

pub mod accounts;
pub mod addresses;
pub mod applications;
pub mod catalog;
pub mod certificates;
pub mod files;
pub mod fulfilment;
pub mod invoices;
pub mod notifications;
pub mod orders;
pub mod payments;
pub mod recognition;
pub mod review;
pub mod staff;

pub use accounts::*;
pub use addresses::*;
pub use applications::*;
pub use catalog::*;
pub use certificates::*;
pub use files::*;
pub use fulfilment::*;
pub use invoices::*;
pub use notifications::*;
pub use orders::*;
pub use payments::*;
pub use recognition::*;
pub use review::*;
pub use staff::*;

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::StoreError;

/// Everything the use cases need from the database.
#[async_trait]
pub trait Store:
    UserRepo
    + UserDirectory
    + SessionRepo
    + SmsCodeRepo
    + ThrottleRepo
    + AddressRepo
    + DevOutboxRepo
    + CatalogRepo
    + ApplicationRepo
    + ApplicationBook
    + OrderRepo
    + OrderBook
    + DocumentRepo
    + DocumentShelf
    + ConsentRepo
    + PaymentLedger
    + RefundDesk
    + PaymentJournal
    + BillBook
    + StaffRepo
    + AuditLog
    + ReviewRepo
    + FulfilmentRepo
    + NotificationRepo
    + InvoiceRepo
    + InvoiceBook
    + ReadingRepo
    + TemplateRepo
    + CertificateRepo
    + StationRepo
    + KeyPinBook
    + SealRepo
{
    async fn ping(&self) -> Result<(), StoreError>;
    /// Takes the cluster-wide lease `name` for `holder` until `now + ttl`, unless another holder
    /// has it and it has not run out. `true` when taken.
    async fn take_lease(
        &self,
        name: &str,
        holder: &str,
        now: OffsetDateTime,
        ttl: time::Duration,
    ) -> Result<bool, StoreError>;
    /// Removes expired sessions, old codes and old throttle records.
    async fn purge_expired(&self, now: OffsetDateTime) -> Result<u64, StoreError>;
}
