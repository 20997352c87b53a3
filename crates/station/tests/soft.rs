//! The software token and the request a token signs: the desk's CA certifies the key from it
//! (its signature checked over the bytes as sent), for both algorithms, and a token directory
//! given by mistake loses nothing but the token's own files.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use app::ca::{CertificateAuthority, Issuance};
use domain::certificate::{Holder, KeyAlgorithm, Subject};
use station::Token;
use station::client::SubjectAttribute;
use station::soft::SoftToken;
use time::macros::datetime;

#[tokio::test]
async fn the_ca_certifies_the_key_a_software_token_made_for_both_algorithms() {
    let now = datetime!(2026-12-01 08:00 UTC);
    let ca = ca::BuiltInCa::generate("测试运营方", "http://127.0.0.1/ca", now).unwrap();
    for algorithm in KeyAlgorithm::ALL {
        let dir = tempfile::tempdir().unwrap();
        let mut token = SoftToken::open(dir.path()).unwrap();
        token.initialise("sealdesk test", "12345678", "87654321").unwrap();
        assert!(token.serial().unwrap().starts_with("SOFT"));
        let public = token.generate(algorithm).unwrap();
        let holder = Holder::Company {
            name: "示例科技有限公司".into(),
            credit_code: domain::CreditCode::parse("91350100M000100Y43").unwrap(),
        };
        let subject = Subject::for_holder(&holder, |_| unreachable!());
        let named = SubjectAttribute::of(&subject);
        let request = station::request::build(&public, algorithm, &named, |tbs| token.sign(tbs)).unwrap();
        // The request names the desk's subject, as OpenSSL reads it.
        std::fs::write(dir.path().join("request.der"), &request).unwrap();
        let out = std::process::Command::new("openssl")
            .args([
                "req",
                "-inform",
                "DER",
                "-in",
                "request.der",
                "-noout",
                "-subject",
                "-nameopt",
                "utf8,sep_comma_plus",
            ])
            .current_dir(dir.path())
            .output()
            .unwrap();
        let printed = String::from_utf8_lossy(&out.stdout);
        assert!(
            printed.contains("C=CN") && printed.contains("organizationIdentifier=NTRCN-91350100M000100Y43"),
            "{printed}"
        );
        assert!(printed.contains("CN=示例科技有限公司"), "{printed}");
        let issuance = Issuance {
            profile: app::ca::CertificateProfile::Holder,
            request_der: request.clone(),
            subject,
            not_before: now,
            not_after: now + time::Duration::days(365),
        };
        let issued = ca.issue(&issuance).await.unwrap();
        assert_eq!(issued.algorithm, algorithm);
        assert_eq!(station::request::certified_key(&issued.der).unwrap(), public, "{algorithm:?}");
        token.store_certificates(&issued.der, &issued.chain).unwrap();
        let (stored, key) = token.read_back().unwrap();
        assert_eq!((stored, key), (issued.der.clone(), public));

        // A request whose signature does not cover what was sent is refused.
        let mut forged = request;
        let at = forged.len() / 2;
        forged[at] ^= 0x01;
        let refused =
            ca.issue(&Issuance { profile: app::ca::CertificateProfile::Holder, request_der: forged, ..issuance }).await;
        assert!(refused.is_err(), "{algorithm:?}");
    }
}

#[test]
fn initialising_removes_only_the_tokens_own_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "keep me").unwrap();
    std::fs::create_dir(dir.path().join("photos")).unwrap();
    let mut token = SoftToken::open(dir.path()).unwrap();
    token.initialise("first", "12345678", "87654321").unwrap();
    token.generate(KeyAlgorithm::Sm2).unwrap();
    let first = token.serial().unwrap();
    token.initialise("second", "12345678", "87654321").unwrap();
    assert_ne!(token.serial().unwrap(), first, "a fresh token");
    assert!(token.sign(b"x").is_err(), "the old key is gone");
    assert_eq!(std::fs::read_to_string(dir.path().join("notes.txt")).unwrap(), "keep me");
    assert!(dir.path().join("photos").is_dir());
}
