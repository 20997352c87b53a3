//! `FileStore` on the local disk: one directory, names chosen by us, each write to a temporary
//! file that is fsynced and renamed into place, so a crash never leaves half a blob under a real
//! name.

use app::StoreError;
use app::ports::{FileStore, StoredFile};
use async_trait::async_trait;
use std::path::{Path, PathBuf};
use time::OffsetDateTime;

#[derive(Debug, Clone)]
pub struct LocalFileStore {
    root: PathBuf,
}

impl LocalFileStore {
    /// Creates the directory if needed.
    pub fn new(root: impl Into<PathBuf>) -> Result<Self, StoreError> {
        let root = root.into();
        std::fs::create_dir_all(&root)
            .map_err(|e| StoreError::Other(format!("cannot create upload directory: {e}")))?;
        Ok(Self { root })
    }

    fn path(&self, key: &str) -> Result<PathBuf, StoreError> {
        check_key(key)?;
        Ok(self.root.join(key))
    }
}

/// Keys are ours (`<hex>.bin`); anything else is refused rather than joined into a path or an
/// object name.
pub(crate) fn check_key(key: &str) -> Result<(), StoreError> {
    let valid = !key.is_empty()
        && key.len() <= 80
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.')
        && !key.starts_with('.');
    if valid { Ok(()) } else { Err(StoreError::Other("invalid file key".into())) }
}

#[allow(clippy::needless_pass_by_value)] // shaped for `.map_err(io)`
fn io(err: std::io::Error) -> StoreError {
    StoreError::Other(format!("file store: {err}"))
}

/// Writes to `<key>.tmp`, fsyncs, and links it under the real name — which fails if the name is
/// taken, so an existing blob is never overwritten — then drops the temporary name.
fn write_durably(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    let linked = std::fs::hard_link(&tmp, path);
    std::fs::remove_file(&tmp)?;
    linked?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

#[async_trait]
impl FileStore for LocalFileStore {
    async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), StoreError> {
        let path = self.path(key)?;
        match tokio::task::spawn_blocking(move || write_durably(&path, &bytes))
            .await
            .map_err(|e| StoreError::Other(format!("file task failed: {e}")))?
        {
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
                Err(StoreError::Duplicate(app::Unique::FileKey))
            }
            other => other.map_err(io),
        }
    }

    async fn get(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        tokio::fs::read(self.path(key)?).await.map_err(io)
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        match tokio::fs::remove_file(self.path(key)?).await {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => Err(io(err)),
            _ => Ok(()),
        }
    }

    async fn list(&self) -> Result<Vec<StoredFile>, StoreError> {
        let root = self.root.clone();
        tokio::task::spawn_blocking(move || list_dir(&root))
            .await
            .map_err(|e| StoreError::Other(format!("file task failed: {e}")))?
            .map_err(io)
    }

    async fn delete_temporary(&self, name: &str) -> Result<(), StoreError> {
        let Some(stem) = name.strip_suffix(".tmp") else {
            return Err(StoreError::Other("not a temporary file".into()));
        };
        // A temporary file is a key's name with `.tmp` for its extension.
        let path = self.path(&format!("{stem}.bin"))?.with_extension("tmp");
        match tokio::fs::remove_file(path).await {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => Err(io(err)),
            _ => Ok(()),
        }
    }
}

fn list_dir(root: &Path) -> std::io::Result<Vec<StoredFile>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(root)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else { continue };
        if !meta.is_file() {
            continue;
        }
        // Without a modification time there is no telling its age: never swept.
        let Ok(modified) = meta.modified().map(OffsetDateTime::from) else { continue };
        let temporary = Path::new(&name).extension().is_some_and(|e| e == "tmp");
        out.push(StoredFile { name, modified, temporary });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn blobs_round_trip_and_keys_cannot_escape_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        let files = LocalFileStore::new(dir.path().join("uploads")).unwrap();
        files.put("abc123.bin", b"sealed".to_vec()).await.unwrap();
        assert_eq!(files.get("abc123.bin").await.unwrap(), b"sealed");
        files.delete("abc123.bin").await.unwrap();
        files.delete("abc123.bin").await.unwrap();
        assert!(files.get("abc123.bin").await.is_err());
        for bad in ["../x.bin", "/etc/passwd", "a/b.bin", "..", ".hidden", "x\\0.bin", ""] {
            assert!(files.put(bad, b"x".to_vec()).await.is_err(), "{bad:?}");
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "nothing written outside the upload root");
    }

    #[tokio::test]
    async fn the_listing_tells_blobs_from_unfinished_writes() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalFileStore::new(dir.path()).unwrap();
        store.put("abc.bin", b"x".to_vec()).await.unwrap();
        std::fs::write(dir.path().join("def.tmp"), b"half").unwrap();
        let mut listed = store.list().await.unwrap();
        listed.sort_by(|a, b| a.name.cmp(&b.name));
        let names: Vec<_> = listed.iter().map(|f| (f.name.as_str(), f.temporary)).collect();
        assert_eq!(names, [("abc.bin", false), ("def.tmp", true)]);
        assert!(store.delete_temporary("abc.bin").await.is_err(), "a blob is no temporary file");
        assert!(store.delete_temporary("../x.tmp").await.is_err());
        store.delete_temporary("def.tmp").await.unwrap();
        assert_eq!(store.list().await.unwrap().len(), 1);
    }
}
