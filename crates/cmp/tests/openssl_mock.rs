//! The CMP client against the real peer Debian's OpenSSL 3 ships: `openssl cmp` as a mock CA
//! server (PBM-protected, answering a fixed certificate made here with the OpenSSL CLI for the
//! desk's subject). p10cr → cp → certConf → pkiConf issues; rr → rp revokes; a wrong shared
//! secret, a request whose signature does not verify, a certificate for another subject and an
//! unknown serial are each refused with the port's own errors.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Child, Command, Stdio};

use app::ca::{CaError, CertificateAuthority, Issuance};
use cmp::{CmpClient, CmpSettings};
use domain::certificate::{Holder, KeyAlgorithm, RevocationReason, Subject};
use time::macros::datetime;

const SECRET: &str = "shared secret 2026";

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn openssl(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("openssl").args(args).current_dir(dir).output().expect("openssl");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn company(name: &str) -> Subject {
    let holder =
        Holder::Company { name: name.into(), credit_code: domain::CreditCode::parse("91350100M000100Y43").unwrap() };
    Subject::for_holder(&holder, |_| unreachable!())
}

/// A CA, a holder's request for the desk's subject and the certificate the mock server answers.
fn pki(dir: &Path) {
    openssl(dir, &["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ca.key"]);
    openssl(
        dir,
        &["req", "-new", "-x509", "-key", "ca.key", "-subj", "/CN=Mock CA", "-days", "3650", "-out", "ca.pem"],
    );
    openssl(dir, &["x509", "-in", "ca.pem", "-outform", "DER", "-out", "ca.der"]);
    openssl(dir, &["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "holder.key"]);
    let subject = "/C=CN/O=示例科技有限公司/organizationIdentifier=NTRCN-91350100M000100Y43/CN=示例科技有限公司";
    openssl(dir, &["req", "-new", "-utf8", "-key", "holder.key", "-subj", subject, "-out", "holder.csr"]);
    openssl(dir, &["req", "-in", "holder.csr", "-outform", "DER", "-out", "holder.csr.der"]);
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "holder.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-days",
            "365",
            "-set_serial",
            "0x5EA1DE5C0FFEE01",
            "-out",
            "holder.pem",
        ],
    );
    openssl(dir, &["x509", "-in", "holder.pem", "-outform", "DER", "-out", "holder.der"]);
}

fn serve(dir: &Path) -> (Server, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new("openssl")
        .args(["cmp", "-port", &port.to_string(), "-srv_ref", "mock-ca", "-srv_secret", &format!("pass:{SECRET}")])
        .args(["-rsp_cert", "holder.pem", "-rsp_extracerts", "ca.pem", "-poll_count", "0"])
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("openssl cmp");
    let server = Server(child);
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return (server, port);
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("openssl cmp did not start");
}

fn client(dir: &Path, port: u16, secret: &str) -> CmpClient {
    CmpClient::new(
        CmpSettings {
            url: format!("http://127.0.0.1:{port}/pkix/"),
            secret: secret.into(),
            reference: "sealdesk".into(),
            recipient: "CN=Mock CA".into(),
            chains: vec![(KeyAlgorithm::EcdsaP256, vec![std::fs::read(dir.join("ca.der")).unwrap()])],
        },
        std::sync::Arc::new(app::clock::SystemClock),
    )
    .unwrap()
}

fn issuance(dir: &Path, subject: Subject, request: Option<Vec<u8>>) -> Issuance {
    let now = datetime!(2026-12-01 08:00 UTC);
    Issuance {
        profile: app::ca::CertificateProfile::Holder,
        request_der: request.unwrap_or_else(|| std::fs::read(dir.join("holder.csr.der")).unwrap()),
        subject,
        not_before: now,
        not_after: now + time::Duration::days(365),
    }
}

#[tokio::test]
async fn a_certificate_is_issued_confirmed_and_revoked_over_cmp_with_openssl_as_the_ca() {
    let dir = tempfile::tempdir().unwrap();
    pki(dir.path());
    let (_server, port) = serve(dir.path());
    let ca = client(dir.path(), port, SECRET);

    let issued = ca.issue(&issuance(dir.path(), company("示例科技有限公司"), None)).await.unwrap();
    assert_eq!(issued.der, std::fs::read(dir.path().join("holder.der")).unwrap());
    assert_eq!(issued.serial, "05EA1DE5C0FFEE01");
    assert_eq!(issued.algorithm, KeyAlgorithm::EcdsaP256);
    assert_eq!(issued.chain, vec![std::fs::read(dir.path().join("ca.der")).unwrap()], "the CA's extra certificates");
    assert!(issued.issuer.contains("Mock CA"));
    assert!(issued.not_after > issued.not_before);
    let printed = openssl(dir.path(), &["x509", "-in", "holder.pem", "-noout", "-serial"]);
    assert!(printed.contains(&issued.serial), "{printed}");

    ca.revoke(KeyAlgorithm::EcdsaP256, &issued.serial, RevocationReason::KeyCompromise, issued.not_before)
        .await
        .unwrap();
    let unknown = ca.revoke(KeyAlgorithm::EcdsaP256, "0102", RevocationReason::KeyCompromise, issued.not_before).await;
    assert_eq!(unknown, Err(CaError::Unknown));
}

#[tokio::test]
async fn the_cmp_client_refuses_what_it_must_not_accept() {
    let dir = tempfile::tempdir().unwrap();
    pki(dir.path());
    let (server, port) = serve(dir.path());

    // A CA that does not share our secret cannot be told from an impostor.
    let impostor = client(dir.path(), port, "another secret");
    let err = impostor.issue(&issuance(dir.path(), company("示例科技有限公司"), None)).await.unwrap_err();
    assert!(matches!(&err, CaError::Unavailable(why) if why.contains("protection")), "{err:?}");

    let ca = client(dir.path(), port, SECRET);
    // The CA certified a subject other than the desk's: refused in certConf, never recorded.
    let err = ca.issue(&issuance(dir.path(), company("别的公司"), None)).await.unwrap_err();
    assert!(matches!(&err, CaError::BadRequest(why) if why.contains("subject")), "{err:?}");

    // A request whose signature does not verify: the CA refuses it (badPOP).
    let mut forged = std::fs::read(dir.path().join("holder.csr.der")).unwrap();
    let last = forged.len() - 3;
    forged[last] ^= 0x01;
    let err = ca.issue(&issuance(dir.path(), company("示例科技有限公司"), Some(forged))).await.unwrap_err();
    assert!(matches!(&err, CaError::BadRequest(why) if why.contains("refused")), "{err:?}");

    // Not a request at all: refused before anything is sent.
    let err = ca.issue(&issuance(dir.path(), company("示例科技有限公司"), Some(b"junk".to_vec()))).await.unwrap_err();
    assert!(matches!(err, CaError::BadRequest(_)));

    // The CA down: unavailable, not a refusal.
    drop(server);
    let err = ca.issue(&issuance(dir.path(), company("示例科技有限公司"), None)).await.unwrap_err();
    assert!(matches!(err, CaError::Unavailable(_)), "{err:?}");
}
