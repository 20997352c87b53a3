//! Seals made by the seal maker, checked by our reader and, independently, by OpenSSL: the DER
//! parses with `openssl asn1parse`, and the maker's SM2 signature over the seal information
//! verifies with `openssl pkeyutl`. Hostile files are refused. Needs the `openssl` command and
//! Debian's fonts-arphic-gbsn00lp (scripts/test installs both).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

use app::ca::{CertificateAuthority, CertificateProfile, Issuance};
use app::seal_maker::{NewSeal, SealFault, SealMaker, SealReport, Trust};
use ca::BuiltInCa;
use der::Encode;
use domain::CreditCode;
use domain::certificate::{Holder, KeyAlgorithm, RevocationReason, Subject, validity};
use domain::seal::{SealDrawing, SealKind, SealSize};
use eseal::{Fonts, SoftSealMaker};
use time::OffsetDateTime;
use time::macros::datetime;

const NOW: OffsetDateTime = datetime!(2026-12-01 10:00 UTC);

fn openssl(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("openssl").current_dir(dir).args(args).output().expect("openssl (Debian's openssl)");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "openssl {args:?}: {text}");
    text
}

/// A holder's certificate for a key OpenSSL made (as a token would).
async fn holder(ca: &BuiltInCa, dir: &Path, algorithm: KeyAlgorithm) -> Vec<u8> {
    let (key, digest): (&[&str], &[&str]) = match algorithm {
        KeyAlgorithm::Sm2 => (&["-algorithm", "SM2"], &["-sm3", "-sigopt", "distid:1234567812345678"]),
        KeyAlgorithm::EcdsaP256 => (&["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"], &["-sha256"]),
    };
    openssl(dir, &[&["genpkey"], key, &["-out", "holder.key"]].concat());
    let req = ["req", "-new", "-key", "holder.key", "-subj", "/CN=holder", "-outform", "DER", "-out", "holder.csr"];
    openssl(dir, &[&req[..], digest].concat());
    let subject = Subject::for_holder(
        &Holder::Company {
            name: "示例科技有限公司".into(),
            credit_code: CreditCode::parse("91350100M000100Y43").unwrap(),
        },
        |_| unreachable!(),
    );
    let (not_before, not_after) = validity(NOW, 2);
    let issuance = Issuance {
        profile: CertificateProfile::Holder,
        request_der: std::fs::read(dir.join("holder.csr")).unwrap(),
        subject,
        not_before,
        not_after,
    };
    ca.issue(&issuance).await.unwrap().der
}

struct Desk {
    ca: BuiltInCa,
    maker: SoftSealMaker,
}

async fn desk() -> Desk {
    let ca = BuiltInCa::generate("Sealdesk Test", "http://127.0.0.1:8080/ca", NOW).unwrap();
    let maker = SoftSealMaker::generate(&ca, "Sealdesk Test", Fonts::system().unwrap(), NOW).await.unwrap();
    Desk { ca, maker }
}

impl Desk {
    async fn trust(&self, with_crls: bool) -> Trust {
        let mut trust = Trust::default();
        for algorithm in KeyAlgorithm::ALL {
            let chain = self.ca.chain(algorithm).await.unwrap();
            trust.intermediates.push(chain[0].clone());
            trust.roots.push(chain[1].clone());
            if with_crls {
                trust.crls.push(self.ca.crl(algorithm, NOW).await.unwrap());
            }
        }
        trust
    }

    fn seal(&self, holder: Vec<u8>) -> Vec<u8> {
        let drawing = SealDrawing::company("示例科技有限公司", None, SealSize::Mm40).unwrap();
        let (valid_from, valid_to) = validity(NOW, 2);
        let seal = NewSeal {
            es_id: "SD20261201A1B2C3D4".into(),
            kind: SealKind::Company,
            name: "示例科技有限公司".into(),
            holder_certificates: vec![holder],
            created: NOW,
            valid_from,
            valid_to,
            picture_png: self.maker.picture(&drawing).unwrap(),
            width_mm: 40,
            height_mm: 40,
        };
        self.maker.make(&seal).unwrap()
    }
}

fn failed(report: &SealReport) -> Vec<String> {
    report.checks.iter().filter(|c| !c.passed).map(|c| format!("{}：{}", c.label, c.detail)).collect()
}

#[tokio::test]
async fn a_seal_for_either_algorithm_passes_every_check() {
    let desk = desk().await;
    for algorithm in KeyAlgorithm::ALL {
        let dir = tempfile::tempdir().unwrap();
        let certificate = holder(&desk.ca, dir.path(), algorithm).await;
        let file = desk.seal(certificate);
        let report = desk.maker.inspect(&file, &desk.trust(true).await, NOW + time::Duration::days(1)).unwrap();
        assert!(report.valid(), "{algorithm:?}: {:?}", failed(&report));
        assert_eq!(report.name, "示例科技有限公司");
        assert_eq!(report.kind(), Some(SealKind::Company));
        assert_eq!(
            (report.version, report.vendor.as_str(), report.es_id.as_str()),
            (4, "sealdesk", "SD20261201A1B2C3D4")
        );
        assert_eq!((report.width_mm, report.height_mm, report.picture_format.as_str()), (40, 40, "PNG"));
        assert!(report.maker.subject.contains("电子印章制作系统"), "{}", report.maker.subject);
        assert_eq!(report.holders.len(), 1);
        assert!(report.checks.iter().any(|c| c.label == "证书吊销状态" && c.passed));
    }
}

#[tokio::test]
async fn the_picture_is_a_transparent_300_dpi_png_of_the_seal() {
    let desk = desk().await;
    for (drawing, mm) in [
        (SealDrawing::company("深圳市示例科技有限公司", Some("4403000012345"), SealSize::Mm42).unwrap(), 42.0),
        (SealDrawing::person("李雷", 20.0).unwrap(), 20.0),
    ] {
        let png = desk.maker.picture(&drawing).unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(png));
        let mut reader = decoder.read_info().unwrap();
        let info = reader.info().clone();
        let dims = info.pixel_dims.expect("pHYs");
        assert_eq!((dims.xppu, dims.unit), (11_811, png::Unit::Meter), "300 dpi");
        let expected = mm / 25.4 * 300.0;
        assert!((f64::from(info.width) - expected).abs() <= 3.0, "{} px for {mm} mm", info.width);
        let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
        reader.next_frame(&mut pixels).unwrap();
        let alpha = |x: u32, y: u32| pixels[((y * info.width + x) * 4 + 3) as usize];
        assert_eq!(alpha(0, 0), 0, "transparent corner");
        assert_eq!(alpha(info.width / 2, 2), 255, "the ring / frame at the top edge is solid");
        let opaque = pixels.chunks(4).filter(|p| p[3] > 128).count();
        let share = f64::from(u32::try_from(opaque).unwrap()) / f64::from(info.width * info.height);
        assert!((0.08..0.6).contains(&share), "ink covers {share:.2} of the picture");
        assert!(pixels.chunks(4).filter(|p| p[3] > 0).all(|p| p[..3] == [0xD7, 0x00, 0x0F]), "only seal red");
    }
    // A character no installed font has is refused, not drawn as a box.
    let drawing = SealDrawing::company("示例\u{10FFFD}公司", None, SealSize::Mm40).unwrap();
    assert!(matches!(desk.maker.picture(&drawing), Err(SealFault::Unavailable(_))));
}

/// `(offset, header length, length)` of the children of the top-level SEQUENCE, from OpenSSL.
fn top_level(asn1parse: &str) -> Vec<(usize, usize, usize, String)> {
    asn1parse
        .lines()
        .filter(|l| l.contains("d=1"))
        .map(|l| {
            let offset = l.split(':').next().unwrap().trim().parse().unwrap();
            let number = |key: &str| {
                let at = l.find(key).unwrap() + key.len();
                l[at..].split_whitespace().next().unwrap().parse::<usize>().unwrap()
            };
            (offset, number("hl="), number(" l="), l.to_owned())
        })
        .collect()
}

#[tokio::test]
async fn openssl_parses_the_seal_and_verifies_the_makers_signature() {
    let desk = desk().await;
    let dir = tempfile::tempdir().unwrap();
    let file = desk.seal(holder(&desk.ca, dir.path(), KeyAlgorithm::EcdsaP256).await);
    std::fs::write(dir.path().join("seal.esl"), &file).unwrap();
    let parsed = openssl(dir.path(), &["asn1parse", "-inform", "DER", "-in", "seal.esl"]);
    assert!(parsed.contains(":ES") && parsed.contains(":sealdesk"), "{parsed}");
    assert!(parsed.contains("GENERALIZEDTIME") && parsed.contains("UTF8STRING"), "{parsed}");
    assert!(parsed.contains("1.2.156.10197.1.501") || parsed.contains("SM2-with-SM3"), "{parsed}");
    let children = top_level(&parsed);
    assert_eq!(children.len(), 4, "SealInfo, cert, signAlgID, signedValue: {children:?}");
    let (offset, hl, l, _) = children[0];
    std::fs::write(dir.path().join("tbs.der"), &file[offset..offset + hl + l]).unwrap();
    let (offset, hl, l, line) = &children[3];
    assert!(line.contains("BIT STRING"), "{line}");
    // The BIT STRING's first content byte counts unused bits (0).
    std::fs::write(dir.path().join("sig.der"), &file[offset + hl + 1..offset + hl + l]).unwrap();
    std::fs::write(dir.path().join("maker.der"), eseal::maker_certificate(&file).unwrap()).unwrap();
    openssl(dir.path(), &["x509", "-inform", "DER", "-in", "maker.der", "-pubkey", "-noout", "-out", "maker.pub"]);
    let verify = [
        "pkeyutl",
        "-verify",
        "-pubin",
        "-inkey",
        "maker.pub",
        "-rawin",
        "-in",
        "tbs.der",
        "-sigfile",
        "sig.der",
        "-digest",
        "sm3",
        "-pkeyopt",
        "distid:1234567812345678",
    ];
    assert!(openssl(dir.path(), &verify).contains("Signature Verified Successfully"));
    // The maker's certificate has its own profile and chains to the SM2 root.
    let chain = desk.ca.chain(KeyAlgorithm::Sm2).await.unwrap();
    std::fs::write(dir.path().join("issuing.der"), &chain[0]).unwrap();
    std::fs::write(dir.path().join("root.der"), &chain[1]).unwrap();
    for name in ["issuing", "root", "maker"] {
        openssl(dir.path(), &["x509", "-inform", "DER", "-in", &format!("{name}.der"), "-out", &format!("{name}.pem")]);
    }
    let text = openssl(dir.path(), &["x509", "-in", "maker.pem", "-noout", "-text"]);
    assert!(text.contains("Digital Signature, Non Repudiation") && !text.contains("TLS Web Client"), "{text}");
    // OpenSSL 3.0 applies `-vfyopt distid` to the certificate it is asked about only: the SM2
    // chain is checked a link at a time.
    let verify_link = |anchor: &str, target: &str| {
        let args = [
            "verify",
            "-partial_chain",
            "-purpose",
            "any",
            "-vfyopt",
            "distid:1234567812345678",
            "-CAfile",
            anchor,
            target,
        ];
        openssl(dir.path(), &args)
    };
    assert!(verify_link("issuing.pem", "maker.pem").contains("maker.pem: OK"));
    assert!(verify_link("root.pem", "issuing.pem").contains("issuing.pem: OK"));
}

#[tokio::test]
async fn a_revoked_holder_a_changed_byte_or_a_foreign_maker_fail_their_checks() {
    let desk = desk().await;
    let dir = tempfile::tempdir().unwrap();
    let certificate = holder(&desk.ca, dir.path(), KeyAlgorithm::Sm2).await;
    let file = desk.seal(certificate.clone());
    let later = NOW + time::Duration::days(10);

    // Revoked: the current CRL says so.
    let serial = hex::encode_upper(
        <x509_cert::Certificate as der::Decode>::from_der(&certificate)
            .unwrap()
            .tbs_certificate()
            .serial_number()
            .as_bytes(),
    );
    desk.ca
        .revoke(KeyAlgorithm::Sm2, &serial, RevocationReason::KeyCompromise, NOW + time::Duration::days(5))
        .await
        .unwrap();
    let mut trust = desk.trust(false).await;
    trust.crls.push(desk.ca.crl(KeyAlgorithm::Sm2, later).await.unwrap());
    let report = desk.maker.inspect(&file, &trust, later).unwrap();
    assert!(!report.valid());
    assert_eq!(failed(&report), vec!["证书吊销状态：证书已于 2026-12-06 吊销，印章不可再用".to_owned()]);

    // Without a CRL the status is not taken for granted.
    let report = desk.maker.inspect(&file, &desk.trust(false).await, later).unwrap();
    assert!(failed(&report).iter().any(|f| f.contains("未取得签发者的吊销列表")), "{:?}", failed(&report));

    // One byte of the name changed: the maker's signature no longer verifies.
    let name = "示例科技有限公司".as_bytes();
    let at = file.windows(name.len()).position(|w| w == name).unwrap();
    let mut changed = file.clone();
    changed[at + 3] ^= 0x01;
    let report = desk.maker.inspect(&changed, &desk.trust(true).await, later).unwrap();
    assert!(failed(&report).iter().any(|f| f.starts_with("制章者签名")), "{:?}", failed(&report));

    // Trusting another CA only: neither maker nor holder is trusted.
    let other = self::desk().await;
    let report = desk.maker.inspect(&file, &other.trust(true).await, later).unwrap();
    let failures = failed(&report);
    assert!(failures.iter().any(|f| f.starts_with("制章者证书") && f.contains("不是受信任的证书机构")), "{failures:?}");
    assert!(failures.iter().any(|f| f.starts_with("持有者证书")), "{failures:?}");

    // Expired: after the seal's validity.
    let report = desk.maker.inspect(&file, &desk.trust(true).await, NOW + time::Duration::days(800)).unwrap();
    assert!(failed(&report).iter().any(|f| f.starts_with("印章有效期：已过期")), "{:?}", failed(&report));
}

/// A DER element.
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(u8::try_from(len).unwrap());
    } else {
        let bytes: Vec<u8> = len.to_be_bytes().into_iter().skip_while(|b| *b == 0).collect();
        out.push(0x80 | u8::try_from(bytes.len()).unwrap());
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

#[tokio::test]
async fn hostile_files_are_refused_with_a_reason() {
    let desk = desk().await;
    let dir = tempfile::tempdir().unwrap();
    let file = desk.seal(holder(&desk.ca, dir.path(), KeyAlgorithm::EcdsaP256).await);
    let trust = desk.trust(true).await;
    let seal = eseal::format::parse(&file).unwrap().seal;

    // A version of 20 bytes where an INTEGER fits 32 bits, the rest of the seal intact.
    let mut header = tlv(0x16, b"ES");
    header.extend(tlv(0x02, &[0x7F; 20]));
    header.extend(tlv(0x16, b"sealdesk"));
    let mut info = tlv(0x30, &header);
    info.extend(seal.info.es_id.to_der().unwrap());
    info.extend(seal.info.property.to_der().unwrap());
    info.extend(seal.info.picture.to_der().unwrap());
    let mut body = tlv(0x30, &info);
    body.extend(seal.cert.to_der().unwrap());
    body.extend(seal.sign_alg_id.to_der().unwrap());
    body.extend(seal.signed_value.to_der().unwrap());
    let huge_integer = tlv(0x30, &body);

    // SEQUENCEs nested 100,000 deep.
    let mut bomb = Vec::new();
    for _ in 0..100_000 {
        bomb = tlv(0x30, &bomb);
    }
    let mut wrong_length = file.clone();
    wrong_length[1] = wrong_length[1].wrapping_add(1);
    let mut trailing = file.clone();
    trailing.extend_from_slice(b"\x00\x00");
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("truncated", file[..file.len() / 2].to_vec()),
        ("truncated by one", file[..file.len() - 1].to_vec()),
        ("wrong length", wrong_length),
        ("trailing bytes", trailing),
        ("huge integer", huge_integer),
        ("nesting bomb", bomb),
        ("too large", vec![0x30; 3 * 1024 * 1024]),
        ("not DER", b"%PDF-1.7 not a seal".to_vec()),
    ];
    for (what, bytes) in cases {
        let started = std::time::Instant::now();
        let result = desk.maker.inspect(&bytes, &trust, NOW);
        let Err(SealFault::Unreadable(why)) = result else { panic!("{what}: {result:?}") };
        assert!(!why.is_empty() && why.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)), "{what}: {why}");
        println!("{what}: refused in {:?}: {why}", started.elapsed());
    }
}

/// A scanned 印章采样表: off-white paper with grain, printed black lines, a stray red tick, and
/// the stamp pressed in ink a little darker than seal red, saved as a JPEG at quality 70.
fn specimen_scan(stamp_png: &[u8]) -> Vec<u8> {
    let stamp = image::load_from_memory(stamp_png).unwrap().to_rgba8();
    let (w, h) = (1240, 1754); // A4 at 150 dpi
    let mut paper = image::RgbImage::from_fn(w, h, |x, y| {
        let grain = u8::try_from((x * 7 + y * 13) % 9).unwrap();
        image::Rgb([236 - grain, 232 - grain, 224 - grain])
    });
    for row in (200..1500).step_by(120) {
        for x in 100..1140 {
            for y in row..row + 3 {
                paper.put_pixel(x, y, image::Rgb([30, 30, 30]));
            }
        }
    }
    for x in 1000..1012 {
        for y in 1600..1612 {
            paper.put_pixel(x, y, image::Rgb([200, 20, 30]));
        }
    }
    // The stamp at half the picture's resolution (a 150 dpi scan), pressed in the middle.
    let stamp =
        image::imageops::resize(&stamp, stamp.width() / 2, stamp.height() / 2, image::imageops::FilterType::Triangle);
    let (ox, oy) = (500, 700);
    for (x, y, p) in stamp.enumerate_pixels() {
        let a = f64::from(p[3]) / 255.0 * 0.9;
        let under = *paper.get_pixel(ox + x, oy + y);
        let ink = [185.0, 35.0, 45.0];
        let mixed = std::array::from_fn(|i| {
            let value = f64::from(under[i]) * (1.0 - a) + ink[i] * a;
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let byte = value.round() as u8;
            byte
        });
        paper.put_pixel(ox + x, oy + y, image::Rgb(mixed));
    }
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 70).encode_image(&paper).unwrap();
    jpeg
}

#[tokio::test]
async fn the_stamp_is_lifted_off_a_scanned_specimen_sheet_onto_transparency() {
    let desk = desk().await;
    let drawn = desk.maker.picture(&SealDrawing::company("示例科技有限公司", None, SealSize::Mm40).unwrap()).unwrap();
    let lifted = desk.maker.picture_from_scan(&specimen_scan(&drawn), 40.0).unwrap();
    assert!((lifted.width_mm.max(lifted.height_mm) - 40.0).abs() < 1e-9, "the longer side as asked");
    let lifted = image::load_from_memory(&lifted.png).unwrap().to_rgba8();
    let expected = 40.0 / 25.4 * 300.0;
    let longer = f64::from(lifted.width().max(lifted.height()));
    assert!((longer - expected).abs() < 4.0, "{} × {} px", lifted.width(), lifted.height());
    let square = f64::from(lifted.width()) / f64::from(lifted.height());
    assert!((0.95..1.05).contains(&square), "the round stamp alone, not the red tick beside it: {square}");
    assert_eq!(lifted.get_pixel(0, 0)[3], 0, "the paper is gone");
    assert_eq!(lifted.get_pixel(lifted.width() / 2, lifted.height() / 2)[3], 255, "the star is solid ink");
    let ink = |img: &image::RgbaImage| img.pixels().filter(|p| p[3] > 128).count();
    let original = image::load_from_memory(&drawn).unwrap().to_rgba8();
    let (a, b) = (f64::from(u32::try_from(ink(&lifted)).unwrap()), f64::from(u32::try_from(ink(&original)).unwrap()));
    assert!((a / b - 1.0).abs() < 0.35, "about as much ink as the stamp had: {a} vs {b}");

    // A sheet with no stamp on it, or not an image at all: a clear refusal.
    let blank = {
        let mut jpeg = Vec::new();
        let paper = image::RgbImage::from_pixel(600, 800, image::Rgb([236, 232, 224]));
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 80).encode_image(&paper).unwrap();
        jpeg
    };
    assert_eq!(
        desk.maker.picture_from_scan(&blank, 40.0),
        Err(SealFault::Unreadable("未在采样表中找到红色印章".into()))
    );
    assert!(matches!(desk.maker.picture_from_scan(b"not an image", 40.0), Err(SealFault::Unreadable(_))));
}
