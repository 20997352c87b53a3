//! The numbers #17 asks for, each beside an anchor measured in the same run, interleaved over
//! rounds (the machine is shared; only same-run ratios mean anything):
//!
//! - certificates issued per second by the built-in CA, per algorithm, against the bare
//!   signature of the same algorithm (the least any CA must do per certificate);
//! - the CRL made from a ledger with 100,000 revoked entries, against OpenSSL reading and
//!   verifying that CRL;
//! - station time per key on a PKCS#11 token (SoftHSM2, when `SOFTHSM2_CONF` is set — see
//!   `scripts/bench-pki`), against the same steps on the software token.
//!
//! `cargo run --release -p station --example pki_bench [ROUNDS]`

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout, clippy::cast_precision_loss)]

use std::fmt::Write as _;
use std::io::Write as _;
use std::time::{Duration, Instant};

use app::ca::{CertificateAuthority, Issuance};
use domain::certificate::{Holder, KeyAlgorithm, RevocationReason, Subject};
use signature::Signer;
use station::Token;
use station::client::SubjectAttribute;
use station::soft::SoftToken;
use time::OffsetDateTime;

const ISSUES_PER_ROUND: usize = 200;
const REVOKED: usize = 100_000;

fn subject() -> Subject {
    let holder = Holder::Company {
        name: "示例科技有限公司".into(),
        credit_code: domain::CreditCode::parse("91350100M000100Y43").unwrap(),
    };
    Subject::for_holder(&holder, |_| unreachable!())
}

fn request(algorithm: KeyAlgorithm, dir: &std::path::Path) -> Vec<u8> {
    let mut token = SoftToken::open(dir).unwrap();
    token.initialise("bench", "12345678", "87654321").unwrap();
    let public = token.generate(algorithm).unwrap();
    station::request::build(&public, algorithm, &SubjectAttribute::of(&subject()), |tbs| token.sign(tbs)).unwrap()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

async fn issuance(rounds: usize, now: OffsetDateTime) {
    let dir = tempfile::tempdir().unwrap();
    let keys = app::crypto::Keys::new(vec![7; 32]).unwrap();
    let ca = ca::BuiltInCa::open(&dir.path().join("ca"), &keys, "测试运营方", "http://127.0.0.1/ca", now).unwrap();
    let p256 = p256::ecdsa::SigningKey::from_slice(&[9; 32]).unwrap();
    let sm2_secret = sm2::SecretKey::from_slice(&[9; 32]).unwrap();
    let sm2 = sm2::dsa::SigningKey::new("1234567812345678", &sm2_secret).unwrap();
    let message = vec![0x5A_u8; 700];
    println!(
        "## certificates issued per second (built-in CA, ledger on disk), {ISSUES_PER_ROUND} per round, {rounds} rounds"
    );
    for algorithm in KeyAlgorithm::ALL {
        let req = request(algorithm, &dir.path().join(algorithm.as_str()));
        let (mut ours, mut anchor) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            let started = Instant::now();
            for _ in 0..ISSUES_PER_ROUND {
                let issuance = Issuance {
                    profile: app::ca::CertificateProfile::Holder,
                    request_der: req.clone(),
                    subject: subject(),
                    not_before: now,
                    not_after: now + time::Duration::days(365),
                };
                ca.issue(&issuance).await.unwrap();
            }
            ours.push(started.elapsed() / u32::try_from(ISSUES_PER_ROUND).unwrap());
            let started = Instant::now();
            for _ in 0..ISSUES_PER_ROUND {
                match algorithm {
                    KeyAlgorithm::EcdsaP256 => {
                        std::hint::black_box(Signer::<p256::ecdsa::Signature>::sign(&p256, &message));
                    }
                    KeyAlgorithm::Sm2 => {
                        std::hint::black_box(Signer::<sm2::dsa::Signature>::sign(&sm2, &message));
                    }
                }
            }
            anchor.push(started.elapsed() / u32::try_from(ISSUES_PER_ROUND).unwrap());
        }
        let (ours, anchor) = (median(ours), median(anchor));
        println!(
            "{:<11} {:>8.0} certificates/s ({:>7.3} ms each); bare signature {:>7.3} ms; ratio {:.1}×",
            algorithm.as_str(),
            1.0 / ours.as_secs_f64(),
            ours.as_secs_f64() * 1e3,
            anchor.as_secs_f64() * 1e3,
            ours.as_secs_f64() / anchor.as_secs_f64()
        );
    }
}

async fn revocation_list(rounds: usize, now: OffsetDateTime) {
    let dir = tempfile::tempdir().unwrap();
    let keys = app::crypto::Keys::new(vec![7; 32]).unwrap();
    let path = dir.path().join("ca");
    drop(ca::BuiltInCa::open(&path, &keys, "测试运营方", "http://127.0.0.1/ca", now).unwrap());
    // 100,000 issued and revoked serials, written as the CA's own ledger lines.
    let mut ledger = std::fs::OpenOptions::new().append(true).open(path.join("ledger")).unwrap();
    let mut text = String::new();
    for n in 0..REVOKED {
        let serial = format!("{:032X}", 0x1000_0000_0000_0000_0000_0000_0000_0000_u128 + n as u128);
        let at = now.unix_timestamp() - 3600;
        let code = RevocationReason::KeyCompromise.code();
        writeln!(text, "issued ecdsa-p256 {serial}\nrevoked ecdsa-p256 {serial} {at} {code}").unwrap();
    }
    ledger.write_all(text.as_bytes()).unwrap();
    drop(ledger);
    let ca = ca::BuiltInCa::open(&path, &keys, "测试运营方", "http://127.0.0.1/ca", now).unwrap();
    let chain = ca.chain(KeyAlgorithm::EcdsaP256).await.unwrap();
    std::fs::write(dir.path().join("issuing.der"), &chain[0]).unwrap();
    let pem = std::process::Command::new("openssl")
        .args(["x509", "-inform", "DER", "-in", "issuing.der", "-out", "issuing.pem"])
        .current_dir(dir.path())
        .status()
        .unwrap();
    assert!(pem.success());
    let (mut ours, mut anchor, mut size) = (Vec::new(), Vec::new(), 0);
    for _ in 0..rounds {
        let started = Instant::now();
        let crl = ca.crl(KeyAlgorithm::EcdsaP256, now).await.unwrap();
        ours.push(started.elapsed());
        size = crl.len();
        std::fs::write(dir.path().join("crl.der"), &crl).unwrap();
        let started = Instant::now();
        let out = std::process::Command::new("openssl")
            .args(["crl", "-inform", "DER", "-in", "crl.der", "-CAfile", "issuing.pem", "-noout"])
            .current_dir(dir.path())
            .output()
            .unwrap();
        anchor.push(started.elapsed());
        assert!(String::from_utf8_lossy(&out.stderr).contains("verify OK"), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let (ours, anchor) = (median(ours), median(anchor));
    println!("## CRL with {REVOKED} revoked entries ({} KiB), {rounds} rounds", size / 1024);
    println!(
        "made in {:.0} ms (ledger read included); OpenSSL reads and verifies it in {:.0} ms; ratio {:.2}×",
        ours.as_secs_f64() * 1e3,
        anchor.as_secs_f64() * 1e3,
        ours.as_secs_f64() / anchor.as_secs_f64()
    );
}

/// Everything the station does to a token for one key, the desk's issuing in-process.
async fn make_key(token: &mut dyn Token, ca: &ca::BuiltInCa, now: OffsetDateTime) {
    token.initialise("sealdesk bench", "12345678", "87654321").unwrap();
    let public = token.generate(KeyAlgorithm::EcdsaP256).unwrap();
    let req = station::request::build(&public, KeyAlgorithm::EcdsaP256, &SubjectAttribute::of(&subject()), |tbs| {
        token.sign(tbs)
    })
    .unwrap();
    let issuance = Issuance {
        profile: app::ca::CertificateProfile::Holder,
        request_der: req,
        subject: subject(),
        not_before: now,
        not_after: now + time::Duration::days(365),
    };
    let issued = ca.issue(&issuance).await.unwrap();
    token.store_certificates(&issued.der, &issued.chain).unwrap();
    let (stored, key) = token.read_back().unwrap();
    assert_eq!((stored, key), (issued.der, public));
}

async fn station(rounds: usize, now: OffsetDateTime) {
    const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
    if std::env::var_os("SOFTHSM2_CONF").is_none() || !std::path::Path::new(MODULE).exists() {
        println!("## station time per key: skipped (run through scripts/bench-pki, which sets up SoftHSM2)");
        return;
    }
    let ca = ca::BuiltInCa::generate("测试运营方", "http://127.0.0.1/ca", now).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (mut ours, mut anchor) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let started = Instant::now();
        // A blank key each time, as on the bench: SoftHSM2 always offers one uninitialised slot.
        let mut hsm = station::pkcs11::Pkcs11Token::open(MODULE, None).unwrap();
        make_key(&mut hsm, &ca, now).await;
        ours.push(started.elapsed());
        let started = Instant::now();
        let mut soft = SoftToken::open(dir.path()).unwrap();
        make_key(&mut soft, &ca, now).await;
        anchor.push(started.elapsed());
    }
    let (ours, anchor) = (median(ours), median(anchor));
    println!("## station time per key (init, key pair, signed request, issue, write and read back), {rounds} rounds");
    println!(
        "SoftHSM2 through PKCS#11 {:.1} ms; software token {:.1} ms; ratio {:.1}×",
        ours.as_secs_f64() * 1e3,
        anchor.as_secs_f64() * 1e3,
        ours.as_secs_f64() / anchor.as_secs_f64()
    );
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let rounds = std::env::args().nth(1).and_then(|r| r.parse().ok()).unwrap_or(5);
    let now = time::macros::datetime!(2026-12-01 08:00 UTC);
    issuance(rounds, now).await;
    revocation_list(rounds, now).await;
    station(rounds, now).await;
}
