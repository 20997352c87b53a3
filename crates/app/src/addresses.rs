//! The applicant's address book (收货地址). Every operation is scoped to the owner: another
//! user's address is indistinguishable from one that does not exist.

use domain::address::MAX_ADDRESSES_PER_USER;
use domain::{AddressDraft, AddressId};

use std::sync::Arc;

use crate::Error;
use crate::clock::Clock;
use crate::ports::{AddressRecord, AddressRepo};
use crate::sessions::CurrentUser;

/// The address book, over the one port it needs.
#[derive(Clone)]
pub struct AddressBook {
    repo: Arc<dyn AddressRepo>,
    clock: Arc<dyn Clock>,
}

impl AddressBook {
    pub fn new(repo: Arc<dyn AddressRepo>, clock: Arc<dyn Clock>) -> Self {
        Self { repo, clock }
    }

    pub async fn list_addresses(&self, user: &CurrentUser) -> Result<Vec<AddressRecord>, Error> {
        Ok(self.repo.list_addresses(user.id).await?)
    }

    pub async fn address(&self, user: &CurrentUser, id: AddressId) -> Result<AddressRecord, Error> {
        self.repo.address(user.id, id).await?.ok_or(Error::NotFound)
    }

    pub async fn add_address(&self, user: &CurrentUser, draft: &AddressDraft) -> Result<AddressRecord, Error> {
        let address = draft.validate()?;
        let id =
            self.repo.create_address(user.id, &address, MAX_ADDRESSES_PER_USER, self.clock.now()).await?.ok_or_else(
                || Error::Conflict {
                    code: "address_limit",
                    message: format!("最多可保存{MAX_ADDRESSES_PER_USER}个收货地址，请先删除不用的地址"),
                },
            )?;
        self.address(user, id).await
    }

    pub async fn update_address(
        &self,
        user: &CurrentUser,
        id: AddressId,
        draft: &AddressDraft,
    ) -> Result<AddressRecord, Error> {
        // Ownership first, so a foreign id answers 404 even when the form is invalid.
        self.address(user, id).await?;
        let address = draft.validate()?;
        if !self.repo.update_address(user.id, id, &address, self.clock.now()).await? {
            return Err(Error::NotFound);
        }
        self.address(user, id).await
    }

    pub async fn delete_address(&self, user: &CurrentUser, id: AddressId) -> Result<(), Error> {
        if self.repo.delete_address(user.id, id).await? { Ok(()) } else { Err(Error::NotFound) }
    }

    pub async fn set_default_address(&self, user: &CurrentUser, id: AddressId) -> Result<(), Error> {
        if self.repo.set_default_address(user.id, id, self.clock.now()).await? { Ok(()) } else { Err(Error::NotFound) }
    }
}

#[cfg(test)]
mod tests;
