//! Applicants' address books.

use super::{Books, lock};
use crate::StoreError;
use crate::ports::{AddressRecord, AddressRepo};
use async_trait::async_trait;
use domain::{Address, AddressId, UserId};
use time::OffsetDateTime;

fn record(id: AddressId, address: &Address) -> AddressRecord {
    let region = &address.region;
    AddressRecord {
        id,
        recipient: address.recipient.as_str().to_owned(),
        phone: address.phone.as_str().to_owned(),
        province_code: region.province.code.to_owned(),
        city_code: region.city.as_ref().map_or("", |c| c.code).to_owned(),
        district_code: region.county.as_ref().map_or("", |c| c.code).to_owned(),
        region_name: region.full_name(),
        detail: address.detail.clone(),
        is_default: address.is_default,
    }
}

#[async_trait]
impl AddressRepo for Books {
    async fn list_addresses(&self, user: UserId) -> Result<Vec<AddressRecord>, StoreError> {
        let state = lock(&self.state);
        Ok(state.addresses.iter().filter(|(owner, _)| *owner == user).map(|(_, a)| a.clone()).collect())
    }

    async fn address(&self, user: UserId, id: AddressId) -> Result<Option<AddressRecord>, StoreError> {
        Ok(self.list_addresses(user).await?.into_iter().find(|a| a.id == id))
    }

    async fn create_address(
        &self,
        user: UserId,
        address: &Address,
        max: usize,
        _now: OffsetDateTime,
    ) -> Result<Option<AddressId>, StoreError> {
        let mut state = lock(&self.state);
        state.write()?;
        let mine = state.addresses.iter().filter(|(owner, _)| *owner == user).count();
        if mine >= max {
            return Ok(None);
        }
        let id = AddressId(i64::try_from(state.addresses.len()).unwrap_or(0) + 1);
        let mut new = record(id, address);
        new.is_default |= mine == 0;
        if new.is_default {
            for (_, other) in state.addresses.iter_mut().filter(|(owner, _)| *owner == user) {
                other.is_default = false;
            }
        }
        state.addresses.push((user, new));
        Ok(Some(id))
    }

    async fn update_address(
        &self,
        user: UserId,
        id: AddressId,
        address: &Address,
        _now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut state = lock(&self.state);
        state.write()?;
        let Some(entry) = state.addresses.iter_mut().find(|(owner, a)| *owner == user && a.id == id) else {
            return Ok(false);
        };
        let was_default = entry.1.is_default;
        entry.1 = record(id, address);
        entry.1.is_default |= was_default;
        Ok(true)
    }

    async fn delete_address(&self, user: UserId, id: AddressId) -> Result<bool, StoreError> {
        let mut state = lock(&self.state);
        state.write()?;
        let Some(at) = state.addresses.iter().position(|(owner, a)| *owner == user && a.id == id) else {
            return Ok(false);
        };
        let (_, gone) = state.addresses.remove(at);
        if gone.is_default
            && let Some((_, newest)) = state.addresses.iter_mut().rev().find(|(owner, _)| *owner == user)
        {
            newest.is_default = true;
        }
        Ok(true)
    }

    async fn set_default_address(&self, user: UserId, id: AddressId, _now: OffsetDateTime) -> Result<bool, StoreError> {
        let mut state = lock(&self.state);
        state.write()?;
        if !state.addresses.iter().any(|(owner, a)| *owner == user && a.id == id) {
            return Ok(false);
        }
        for (_, a) in state.addresses.iter_mut().filter(|(owner, _)| *owner == user) {
            a.is_default = a.id == id;
        }
        Ok(true)
    }
}
