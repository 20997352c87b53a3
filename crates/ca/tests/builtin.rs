//! The built-in CA certifies keys from PKCS#10 requests made by OpenSSL (an implementation that
//! is not ours), and OpenSSL verifies what it issued up to the root — for ECDSA P-256 and for
//! SM2 with SM3. Needs the `openssl` command (Debian's OpenSSL 3).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

use app::ca::{CaError, CertificateAuthority, Issuance};
use ca::BuiltInCa;
use domain::certificate::{Holder, KeyAlgorithm, RevocationReason, Subject, validity};
use domain::{CreditCode, PersonName, ResidentId};
use time::macros::{date, datetime};

fn openssl(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("openssl").current_dir(dir).args(args).output().expect("openssl (Debian's openssl)");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "openssl {args:?}: {text}");
    text
}

/// A key and a request for it, as a token's middleware would make them (the request names
/// somebody else: the CA must not care).
fn request(dir: &Path, algorithm: KeyAlgorithm) -> Vec<u8> {
    let (key, digest): (&[&str], &[&str]) = match algorithm {
        KeyAlgorithm::Sm2 => (&["-algorithm", "SM2"], &["-sm3", "-sigopt", "distid:1234567812345678"]),
        KeyAlgorithm::EcdsaP256 => (&["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"], &["-sha256"]),
    };
    openssl(dir, &[&["genpkey"], key, &["-out", "holder.key"]].concat());
    let req =
        ["req", "-new", "-key", "holder.key", "-subj", "/CN=Mallory/O=Not Us", "-outform", "DER", "-out", "holder.csr"];
    openssl(dir, &[&req[..], digest].concat());
    std::fs::read(dir.join("holder.csr")).unwrap()
}

fn company() -> Subject {
    let holder = Holder::Company {
        name: "示例科技有限公司".into(),
        credit_code: CreditCode::parse("91350100M000100Y43").unwrap(),
    };
    Subject::for_holder(&holder, |_| unreachable!())
}

#[tokio::test]
async fn openssl_verifies_what_the_built_in_ca_issues_for_both_algorithms() {
    let now = datetime!(2026-12-01 10:00 UTC);
    let ca = BuiltInCa::generate("Sealdesk Dev CA", "http://127.0.0.1:8080/ca", now).unwrap();
    for algorithm in KeyAlgorithm::ALL {
        let dir = tempfile::tempdir().unwrap();
        let (not_before, not_after) = validity(now, 2);
        let issuance = Issuance {
            profile: app::ca::CertificateProfile::Holder,
            request_der: request(dir.path(), algorithm),
            subject: company(),
            not_before,
            not_after,
        };
        let issued = ca.issue(&issuance).await.unwrap();
        assert_eq!(issued.algorithm, algorithm);
        to_pem(dir.path(), "x509", &issued.der, "holder");
        to_pem(dir.path(), "x509", &issued.chain[0], "issuing");
        to_pem(dir.path(), "x509", &issued.chain[1], "root");
        assert_eq!(ca.chain(algorithm).await.unwrap(), issued.chain);
        let at = (now.unix_timestamp() + 86_400).to_string();
        if algorithm == KeyAlgorithm::Sm2 {
            // OpenSSL 3.0 applies `-vfyopt distid` to the certificate it is asked about only, so
            // the chain is checked a link at a time: the issuing CA under the root, then the
            // holder under the issuing CA.
            let sm2 = ["-vfyopt", "distid:1234567812345678"];
            let link = |anchor: &str, target: &str| {
                let mut args = vec!["verify", "-attime", &at, "-partial_chain", "-purpose", "any", "-CAfile", anchor];
                args.extend(sm2);
                args.push(target);
                openssl(dir.path(), &args)
            };
            assert!(link("root.pem", "issuing.pem").contains("issuing.pem: OK"));
            assert!(link("issuing.pem", "holder.pem").contains("holder.pem: OK"));
        } else {
            let verify = [
                "verify",
                "-attime",
                &at,
                "-CAfile",
                "root.pem",
                "-untrusted",
                "issuing.pem",
                "-purpose",
                "any",
                "holder.pem",
            ];
            assert!(openssl(dir.path(), &verify).contains("holder.pem: OK"));
        }

        let text = openssl(
            dir.path(),
            &["x509", "-in", "holder.pem", "-noout", "-text", "-nameopt", "utf8,sep_comma_plus_space"],
        );
        assert!(text.contains("CN = 示例科技有限公司") || text.contains("CN=示例科技有限公司"), "{text}");
        assert!(text.contains("NTRCN-91350100M000100Y43"), "the credit code is in the subject: {text}");
        assert!(text.contains("1.2.156.10260.4.4"), "and in GM/T 0015-2023's extension: {text}");
        assert!(!text.contains("Mallory"), "the request's own subject is ignored: {text}");
        assert!(text.contains("CA:FALSE"), "{text}");
        assert!(text.contains("Digital Signature, Non Repudiation"), "{text}");
        assert!(text.contains(&format!("http://127.0.0.1:8080/ca/{}.crl", algorithm.as_str())), "{text}");
        assert!(text.contains("Not After : Dec  1 10:00:00 2028 GMT"), "the package's two years: {text}");
        if algorithm == KeyAlgorithm::Sm2 {
            assert!(text.contains("SM2-with-SM3") || text.contains("sm2sign-with-sm3"), "{text}");
        }
        assert_eq!(issued.serial.len(), 32);
        assert_eq!(issued.fingerprint.len(), 64);
    }
}

#[tokio::test]
async fn a_request_whose_signature_does_not_verify_is_refused() {
    let now = datetime!(2026-12-01 10:00 UTC);
    let ca = BuiltInCa::generate("Sealdesk Dev CA", "http://127.0.0.1:8080/ca", now).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut der = request(dir.path(), KeyAlgorithm::EcdsaP256);
    // Flip one bit of the public key: the proof of possession no longer holds.
    let at = der.len() / 2;
    der[at] ^= 0x01;
    let (not_before, not_after) = validity(now, 1);
    let person = Holder::Person {
        name: PersonName::parse("李雷").unwrap(),
        id: ResidentId::parse("11010519491231002X", date!(2026 - 12 - 01)).unwrap(),
    };
    let subject = Subject::for_holder(&person, |_| "P1".into());
    let refused = ca
        .issue(&Issuance {
            profile: app::ca::CertificateProfile::Holder,
            request_der: der,
            subject: subject.clone(),
            not_before,
            not_after,
        })
        .await;
    assert!(matches!(refused, Err(CaError::BadRequest(_))), "{refused:?}");
    let garbage = ca
        .issue(&Issuance {
            profile: app::ca::CertificateProfile::Holder,
            request_der: b"not a request".to_vec(),
            subject,
            not_before,
            not_after,
        })
        .await;
    assert!(matches!(garbage, Err(CaError::BadRequest(_))), "{garbage:?}");
}

/// Writes DER as PEM through OpenSSL (`x509` or `crl`).
fn to_pem(dir: &Path, kind: &str, der: &[u8], name: &str) {
    std::fs::write(dir.join(format!("{name}.der")), der).unwrap();
    openssl(dir, &[kind, "-inform", "DER", "-in", &format!("{name}.der"), "-out", &format!("{name}.pem")]);
}

#[tokio::test]
async fn a_revoked_certificate_is_on_the_crl_and_openssl_refuses_it_after_a_restart() {
    let now = datetime!(2026-12-01 10:00 UTC);
    let data = tempfile::tempdir().unwrap();
    let keys = || app::crypto::Keys::new(vec![7; 32]).unwrap();
    let home = data.path().join("ca");
    let ca = BuiltInCa::open(&home, &keys(), "Sealdesk Dev CA", "http://127.0.0.1:8080/ca", now).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (not_before, not_after) = validity(now, 1);
    let request_der = request(dir.path(), KeyAlgorithm::EcdsaP256);
    let issued = ca
        .issue(&Issuance {
            profile: app::ca::CertificateProfile::Holder,
            request_der,
            subject: company(),
            not_before,
            not_after,
        })
        .await
        .unwrap();
    to_pem(dir.path(), "x509", &issued.der, "holder");
    to_pem(dir.path(), "x509", &issued.chain[0], "issuing");
    to_pem(dir.path(), "x509", &issued.chain[1], "root");

    let later = now + time::Duration::days(30);
    ca.revoke(KeyAlgorithm::EcdsaP256, &issued.serial, RevocationReason::Superseded, later).await.unwrap();
    ca.revoke(KeyAlgorithm::EcdsaP256, &issued.serial, RevocationReason::Superseded, later).await.unwrap();
    let unknown = ca.revoke(KeyAlgorithm::EcdsaP256, "0123456789ABCDEF", RevocationReason::KeyCompromise, later).await;
    assert_eq!(unknown, Err(CaError::Unknown));
    drop(ca);

    // Another start on the same directory: the same CA, the same revocations.
    let ca = BuiltInCa::open(&home, &keys(), "Sealdesk Dev CA", "http://127.0.0.1:8080/ca", later).unwrap();
    assert_eq!(ca.chain(KeyAlgorithm::EcdsaP256).await.unwrap(), issued.chain);
    let crl = ca.crl(KeyAlgorithm::EcdsaP256, later).await.unwrap();
    to_pem(dir.path(), "crl", &crl, "crl");
    let text = openssl(dir.path(), &["crl", "-in", "crl.pem", "-CAfile", "issuing.pem", "-noout", "-text"]);
    assert!(text.contains("verify OK"), "signed by the issuing CA: {text}");
    assert!(text.contains(&issued.serial), "{text}");
    assert!(text.contains("Superseded"), "{text}");
    assert_eq!(text.matches("Serial Number:").count(), 1, "revoked once: {text}");
    let at = (later.unix_timestamp() + 60).to_string();
    let check = Command::new("openssl")
        .current_dir(dir.path())
        .args([
            "verify",
            "-attime",
            &at,
            "-crl_check",
            "-CRLfile",
            "crl.pem",
            "-CAfile",
            "root.pem",
            "-untrusted",
            "issuing.pem",
            "holder.pem",
        ])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&check.stdout).into_owned() + &String::from_utf8_lossy(&check.stderr);
    assert!(!check.status.success() && said.contains("certificate revoked"), "{said}");

    // Another instance on the same directory sees what this one revokes, and the other way round.
    let other = BuiltInCa::open(&home, &keys(), "Sealdesk Dev CA", "http://127.0.0.1:8080/ca", later).unwrap();
    let dir2 = tempfile::tempdir().unwrap();
    let request_der = request(dir2.path(), KeyAlgorithm::Sm2);
    let by_other = other
        .issue(&Issuance {
            profile: app::ca::CertificateProfile::Holder,
            request_der,
            subject: company(),
            not_before,
            not_after,
        })
        .await
        .unwrap();
    ca.revoke(KeyAlgorithm::Sm2, &by_other.serial, RevocationReason::KeyCompromise, later).await.unwrap();
    let listed = other.crl(KeyAlgorithm::Sm2, later).await.unwrap();
    to_pem(dir2.path(), "crl", &listed, "crl");
    let text = openssl(dir2.path(), &["crl", "-in", "crl.pem", "-noout", "-text"]);
    assert!(text.contains(&by_other.serial) && text.contains("Key Compromise"), "{text}");

    // A wrong master key opens nothing.
    let wrong = app::crypto::Keys::new(vec![8; 32]).unwrap();
    assert!(BuiltInCa::open(&home, &wrong, "Sealdesk Dev CA", "http://x/ca", later).is_err());
    // The P-256 CA's list names nothing of the SM2 CA's, and is current for a day.
    let p256 = ca.crl(KeyAlgorithm::EcdsaP256, later).await.unwrap();
    to_pem(dir.path(), "crl", &p256, "p256");
    let text = openssl(dir.path(), &["crl", "-in", "p256.pem", "-noout", "-text"]);
    assert!(!text.contains(&by_other.serial) && text.contains("Next Update: Jan  1 10:00:00 2027 GMT"), "{text}");
}

#[tokio::test]
async fn a_ledger_restored_from_an_older_backup_is_read_again_whole() {
    let now = datetime!(2026-12-01 10:00 UTC);
    let data = tempfile::tempdir().unwrap();
    let keys = app::crypto::Keys::new(vec![7; 32]).unwrap();
    let home = data.path().join("ca");
    let ca = BuiltInCa::open(&home, &keys, "Sealdesk Dev CA", "http://127.0.0.1:8080/ca", now).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (not_before, not_after) = validity(now, 1);
    let issue = || Issuance {
        profile: app::ca::CertificateProfile::Holder,
        request_der: request(dir.path(), KeyAlgorithm::EcdsaP256),
        subject: company(),
        not_before,
        not_after,
    };
    let kept = ca.issue(&issue()).await.unwrap();
    let backup = std::fs::read(home.join("ledger")).unwrap();
    let lost = ca.issue(&issue()).await.unwrap();
    ca.revoke(KeyAlgorithm::EcdsaP256, &lost.serial, RevocationReason::KeyCompromise, now).await.unwrap();
    std::fs::write(home.join("ledger"), &backup).unwrap();
    // The shorter file is read whole again: what came after the backup is gone, what it holds stays.
    let unknown = ca.revoke(KeyAlgorithm::EcdsaP256, &lost.serial, RevocationReason::KeyCompromise, now).await;
    assert_eq!(unknown, Err(CaError::Unknown));
    ca.revoke(KeyAlgorithm::EcdsaP256, &kept.serial, RevocationReason::Superseded, now).await.unwrap();
    let crl = ca.crl(KeyAlgorithm::EcdsaP256, now).await.unwrap();
    to_pem(dir.path(), "crl", &crl, "crl");
    let text = openssl(dir.path(), &["crl", "-in", "crl.pem", "-noout", "-text"]);
    assert!(text.contains(&kept.serial) && !text.contains(&lost.serial), "{text}");
}
