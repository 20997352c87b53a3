//! The file store contract, on the local disk and on S3-compatible object storage: a real S3
//! server (`s3s-fs`, which the README's test command installs) on a free port, spoken to through
//! the production client with SigV4.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use app::StoreError;
use app::ports::FileStore;
use secrecy::SecretString;
use store::{LocalFileStore, S3FileStore, S3Settings};

const ACCESS_KEY: &str = "sealdesk-test";
const SECRET_KEY: &str = "sealdesk-test-secret-0123456789";

/// Kills the server when the test ends, pass or fail.
struct Server {
    child: Child,
    _dir: tempfile::TempDir,
    endpoint: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `s3s-fs` with one bucket, or `None` when it is not installed (allowed only outside
/// CI: `SEALDESK_REQUIRE_S3=1` makes it an error).
fn s3_server(bucket: &str) -> Option<Server> {
    let installed = Command::new("s3s-fs").arg("--help").stdout(Stdio::null()).stderr(Stdio::null()).status();
    if installed.is_err() {
        assert!(
            std::env::var("SEALDESK_REQUIRE_S3").is_err(),
            "s3s-fs is missing: scripts/test installs it (cargo install s3s-fs --version 0.14.1 --locked --features binary)"
        );
        eprintln!("s3s-fs not installed: the S3 half of the file store contract is skipped");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(bucket)).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let server = Server {
        child: Command::new("s3s-fs")
            .args([
                "--host",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--access-key",
                ACCESS_KEY,
                "--secret-key",
                SECRET_KEY,
            ])
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
        _dir: dir,
        endpoint: format!("http://127.0.0.1:{port}"),
    };
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some(server);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("s3s-fs did not start");
}

fn s3(server: &Server, secret: &str) -> S3FileStore {
    S3FileStore::new(&S3Settings {
        endpoint: server.endpoint.clone(),
        bucket: "uploads".into(),
        region: "cn-north-1".into(),
        access_key_id: ACCESS_KEY.into(),
        secret_access_key: SecretString::from(secret.to_owned()),
        prefix: "sealdesk/".into(),
    })
    .unwrap()
}

/// What every file store does, whatever it stores on.
async fn contract(files: &dyn FileStore) {
    let blob: Vec<u8> = (0..=255u8).cycle().take(3 * 1024 * 1024 + 7).collect();
    files.put("abc123.bin", blob.clone()).await.unwrap();
    assert_eq!(files.get("abc123.bin").await.unwrap(), blob, "the bytes come back unchanged");
    let again = files.put("abc123.bin", b"something else".to_vec()).await.unwrap_err();
    assert!(matches!(again, StoreError::Duplicate(app::Unique::FileKey)), "never overwritten: {again:?}");
    assert_eq!(files.get("abc123.bin").await.unwrap(), blob);
    files.put("def456.bin", b"second".to_vec()).await.unwrap();
    let mut names: Vec<String> = files.list().await.unwrap().into_iter().map(|f| f.name).collect();
    names.sort();
    assert_eq!(names, ["abc123.bin", "def456.bin"]);
    files.delete("abc123.bin").await.unwrap();
    files.delete("abc123.bin").await.unwrap();
    assert!(files.get("abc123.bin").await.is_err(), "gone");
    for bad in ["../x.bin", "/etc/passwd", "a/b.bin", "..", ".hidden", ""] {
        assert!(files.put(bad, b"x".to_vec()).await.is_err(), "{bad:?}");
    }
    assert_eq!(files.list().await.unwrap().len(), 1);
}

#[tokio::test]
async fn the_local_disk_keeps_the_file_store_contract() {
    let dir = tempfile::tempdir().unwrap();
    contract(&LocalFileStore::new(dir.path()).unwrap()).await;
}

#[tokio::test]
async fn s3_object_storage_keeps_the_file_store_contract() {
    let Some(server) = s3_server("uploads") else { return };
    contract(&s3(&server, SECRET_KEY)).await;
    // Signed requests only: a wrong secret reads nothing.
    let impostor = s3(&server, "not-the-secret-at-all-0000000000");
    assert!(impostor.get("def456.bin").await.is_err());
    assert!(impostor.put("fff000.bin", b"x".to_vec()).await.is_err());
}
