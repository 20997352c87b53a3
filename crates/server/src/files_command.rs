//! `sealdesk files migrate --to s3`: copies the local upload store into the configured bucket,
//! each blob verified by its SHA-256 after the copy. Resumable: a blob already in the bucket with
//! the same digest is skipped, so the command can be run again after an interruption; one that
//! differs is reported and left alone (never overwritten).

use anyhow::{Context as _, bail};
use app::StoreError;
use app::ports::FileStore;
use sha2::{Digest as _, Sha256};

/// What a migration did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Migrated {
    pub copied: usize,
    pub already_there: usize,
    /// Keys whose object in the bucket differs from the local blob.
    pub conflicting: Vec<String>,
}

/// Copies every blob of `from` (unfinished writes excepted) into `to`.
pub async fn migrate(from: &dyn FileStore, to: &dyn FileStore) -> anyhow::Result<Migrated> {
    let mut done = Migrated::default();
    let mut names: Vec<String> = from
        .list()
        .await
        .context("listing the local uploads")?
        .into_iter()
        .filter(|f| !f.temporary)
        .map(|f| f.name)
        .collect();
    names.sort();
    for name in names {
        let bytes = from.get(&name).await.with_context(|| format!("reading {name}"))?;
        let digest = Sha256::digest(&bytes);
        match to.put(&name, bytes).await {
            Ok(()) => {
                let back = to.get(&name).await.with_context(|| format!("reading back {name}"))?;
                if Sha256::digest(&back) != digest {
                    bail!("{name}: the copy in the bucket does not match (digest differs); nothing deleted locally");
                }
                done.copied += 1;
            }
            Err(StoreError::Duplicate(app::Unique::FileKey)) => {
                let there = to.get(&name).await.with_context(|| format!("reading {name} in the bucket"))?;
                if Sha256::digest(&there) == digest {
                    done.already_there += 1;
                } else {
                    done.conflicting.push(name);
                }
            }
            Err(err) => return Err(anyhow::anyhow!("{name}: {err}")),
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use store::LocalFileStore;

    #[tokio::test]
    async fn a_migration_copies_each_blob_once_resumes_and_never_overwrites() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let (from, to) = (LocalFileStore::new(a.path()).unwrap(), LocalFileStore::new(b.path()).unwrap());
        from.put("aaa.bin", b"first".to_vec()).await.unwrap();
        from.put("bbb.bin", b"second".to_vec()).await.unwrap();
        std::fs::write(a.path().join("ccc.tmp"), b"half a write").unwrap();
        to.put("bbb.bin", b"second".to_vec()).await.unwrap(); // an interrupted earlier run
        let done = migrate(&from, &to).await.unwrap();
        assert_eq!(done, Migrated { copied: 1, already_there: 1, conflicting: Vec::new() });
        assert_eq!(to.get("aaa.bin").await.unwrap(), b"first");
        assert!(to.get("ccc.bin").await.is_err(), "unfinished writes stay behind");
        let again = migrate(&from, &to).await.unwrap();
        assert_eq!((again.copied, again.already_there), (0, 2), "run again: nothing copied twice");

        from.put("ddd.bin", b"ours".to_vec()).await.unwrap();
        to.put("ddd.bin", b"someone else's".to_vec()).await.unwrap();
        let clash = migrate(&from, &to).await.unwrap();
        assert_eq!(clash.conflicting, ["ddd.bin"]);
        assert_eq!(to.get("ddd.bin").await.unwrap(), b"someone else's", "never overwritten");
    }
}
