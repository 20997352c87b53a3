//! The applicant's address book.

use crate::StoreError;
use async_trait::async_trait;
use domain::{Address, AddressId, UserId};
use time::OffsetDateTime;

/// An address-book entry as stored, with the region's name frozen at write time so it reads the
/// same even after the division table changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressRecord {
    pub id: AddressId,
    pub recipient: String,
    pub phone: String,
    pub province_code: String,
    pub city_code: String,
    pub district_code: String,
    pub region_name: String,
    pub detail: String,
    pub is_default: bool,
}

impl AddressRecord {
    /// The recipient's phone as every list shows it (`139****5678`).
    pub fn phone_masked(&self) -> String {
        domain::mask::mask_middle(&self.phone, 3, 4)
    }
}

#[async_trait]
pub trait AddressRepo: Send + Sync {
    async fn list_addresses(&self, user: UserId) -> Result<Vec<AddressRecord>, StoreError>;
    async fn address(&self, user: UserId, id: AddressId) -> Result<Option<AddressRecord>, StoreError>;
    /// Adds an address; the first address of a user, or one marked default, becomes the only
    /// default. `None` when the user already has `max` addresses.
    async fn create_address(
        &self,
        user: UserId,
        address: &Address,
        max: usize,
        now: OffsetDateTime,
    ) -> Result<Option<AddressId>, StoreError>;
    /// `false` when the address does not exist or is not the user's.
    async fn update_address(
        &self,
        user: UserId,
        id: AddressId,
        address: &Address,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// Deletes; if it was the default, the newest remaining address becomes default.
    async fn delete_address(&self, user: UserId, id: AddressId) -> Result<bool, StoreError>;
    async fn set_default_address(&self, user: UserId, id: AddressId, now: OffsetDateTime) -> Result<bool, StoreError>;
}
