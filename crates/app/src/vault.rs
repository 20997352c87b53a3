//! Encrypted blobs: each sealed under a fresh data key, the data key wrapped by the master key;
//! the row that refers to a blob keeps its file key and wrapped key.

use std::sync::Arc;

use crate::Error;
use crate::crypto::Keys;
use crate::ports::FileStore;

#[derive(Clone)]
pub struct Vault {
    files: Arc<dyn FileStore>,
    keys: Arc<Keys>,
}

impl Vault {
    pub fn new(files: Arc<dyn FileStore>, keys: Arc<Keys>) -> Self {
        Self { files, keys }
    }

    /// Seals `bytes` under a fresh file key and stores them; returns (file key, wrapped key).
    pub(crate) async fn put(&self, bytes: &[u8]) -> Result<(String, String), Error> {
        let file_key = format!("{}.bin", uuid::Uuid::new_v4().simple());
        let (blob, wrapped_key) = self.keys.seal_blob(&file_key, bytes)?;
        self.files.put(&file_key, blob).await?;
        Ok((file_key, wrapped_key))
    }

    /// Reads and opens a blob stored by [`Vault::put`].
    pub(crate) async fn get(&self, file_key: &str, wrapped_key: &str) -> Result<Vec<u8>, Error> {
        let blob = self.files.get(file_key).await?;
        Ok(self.keys.open_blob(file_key, &blob, wrapped_key)?)
    }
}
