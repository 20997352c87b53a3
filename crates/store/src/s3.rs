//! `FileStore` on S3-compatible object storage (any instance of a cluster reads what another
//! wrote). A PUT is atomic, so no half-written blob ever carries a real key, and each is made
//! with `If-None-Match: *`: an existing object is never overwritten.

use app::StoreError;
use app::ports::{FileStore, StoredFile};
use async_trait::async_trait;
use futures_util::StreamExt as _;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt as _, PutMode, PutOptions, PutPayload};
use secrecy::{ExposeSecret, SecretString};
use time::OffsetDateTime;

/// Where the bucket is and how to sign for it.
#[derive(Debug, Clone)]
pub struct S3Settings {
    /// `https://s3.cn-north-1.amazonaws.com.cn`, `http://127.0.0.1:9000`, …
    pub endpoint: String,
    pub bucket: String,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: SecretString,
    /// Keys go under this prefix (`uploads/`), so a bucket can be shared.
    pub prefix: String,
}

#[derive(Debug)]
pub struct S3FileStore {
    store: AmazonS3,
    prefix: String,
}

fn failed(what: &str, err: &object_store::Error) -> StoreError {
    StoreError::Other(format!("object storage {what}: {err}"))
}

impl S3FileStore {
    pub fn new(settings: &S3Settings) -> Result<Self, StoreError> {
        let store = AmazonS3Builder::new()
            .with_endpoint(settings.endpoint.trim_end_matches('/'))
            .with_bucket_name(&settings.bucket)
            .with_region(&settings.region)
            .with_access_key_id(&settings.access_key_id)
            .with_secret_access_key(settings.secret_access_key.expose_secret())
            .with_allow_http(settings.endpoint.starts_with("http://"))
            .with_virtual_hosted_style_request(false)
            .build()
            .map_err(|e| failed("settings", &e))?;
        let prefix = settings.prefix.trim_matches('/').to_owned();
        Ok(Self { store, prefix })
    }

    fn path(&self, key: &str) -> Result<Path, StoreError> {
        crate::files::check_key(key)?;
        Ok(if self.prefix.is_empty() { Path::from(key) } else { Path::from(format!("{}/{key}", self.prefix)) })
    }
}

#[async_trait]
impl FileStore for S3FileStore {
    async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), StoreError> {
        let options = PutOptions { mode: PutMode::Create, ..PutOptions::default() };
        match self.store.put_opts(&self.path(key)?, PutPayload::from(bytes), options).await {
            Ok(_) => Ok(()),
            Err(object_store::Error::AlreadyExists { .. } | object_store::Error::Precondition { .. }) => {
                Err(StoreError::Duplicate(app::Unique::FileKey))
            }
            Err(err) => Err(failed("put", &err)),
        }
    }

    async fn get(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        let found = self.store.get(&self.path(key)?).await.map_err(|e| failed("get", &e))?;
        Ok(found.bytes().await.map_err(|e| failed("get", &e))?.to_vec())
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        match self.store.delete(&self.path(key)?).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(err) => Err(failed("delete", &err)),
        }
    }

    async fn list(&self) -> Result<Vec<StoredFile>, StoreError> {
        let prefix = (!self.prefix.is_empty()).then(|| Path::from(self.prefix.as_str()));
        let mut listing = self.store.list(prefix.as_ref());
        let mut out = Vec::new();
        while let Some(meta) = listing.next().await {
            let meta = meta.map_err(|e| failed("list", &e))?;
            let Some(name) = meta.location.filename().map(str::to_owned) else { continue };
            let Ok(modified) = OffsetDateTime::from_unix_timestamp(meta.last_modified.timestamp()) else { continue };
            // A PUT is all or nothing: object storage holds no unfinished writes.
            out.push(StoredFile { name, modified, temporary: false });
        }
        Ok(out)
    }

    async fn delete_temporary(&self, _name: &str) -> Result<(), StoreError> {
        Err(StoreError::Other("object storage holds no temporary files".into()))
    }
}
