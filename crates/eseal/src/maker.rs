//! The desk as seal maker (制章者): an SM2 key, certified by the CA port under the seal-maker
//! profile, that signs every seal the desk makes.

use std::path::Path;

use app::ca::{CertificateAuthority, CertificateProfile, Issuance};
use app::crypto::Keys;
use app::seal_maker::{NewSeal, ScannedPicture, SealFault, SealMaker, SealReport, Trust};
use der::asn1::{BitString, GeneralizedTime, Ia5String, OctetString};
use der::{Decode, Encode};
use domain::certificate::{NameAttribute, Subject};
use domain::seal::SealDrawing;
use signature::Signer;
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use time::OffsetDateTime;
use x509_cert::name::{Name, RdnSequence};
use x509_cert::request::{CertReq, CertReqInfo, Version};

use crate::format::{self, Header, PictureInfo, PropertyInfo, SeSeal, SealInfo};
use crate::picture::{self, Fonts};
use crate::pki::{Cert, SM2_DISTID};

/// How long a seal-maker certificate is valid; it is renewed (same key) within the last
/// [`RENEW_BEFORE`].
const MAKER_YEARS: i64 = 5;
const RENEW_BEFORE: time::Duration = time::Duration::days(180);
/// Our vendor identifier in every seal's header (`Vid`, IA5).
pub const VENDOR: &str = "sealdesk";
const KEY_PURPOSE: &str = "seal-maker-sm2";

fn unavailable(e: impl std::fmt::Display) -> SealFault {
    SealFault::Unavailable(e.to_string())
}

/// The seal maker with its key in memory (sealed under the master key at rest).
pub struct SoftSealMaker {
    key: sm2::dsa::SigningKey,
    certificate: Vec<u8>,
    fonts: Fonts,
}

impl std::fmt::Debug for SoftSealMaker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SoftSealMaker").finish_non_exhaustive()
    }
}

impl SoftSealMaker {
    /// A new key, certified by `ca` now (kept in memory only: tests and tools).
    pub async fn generate(
        ca: &dyn CertificateAuthority,
        operator: &str,
        fonts: Fonts,
        now: OffsetDateTime,
    ) -> Result<Self, SealFault> {
        let key = new_key()?;
        let certificate = certify(ca, &key, operator, now).await?;
        Ok(Self { key, certificate, fonts })
    }

    /// The maker kept in `dir`: its key sealed under `keys` and its certificate, made and
    /// certified by `ca` the first time, and the certificate renewed when it nears its end.
    pub async fn open(
        dir: &Path,
        keys: &Keys,
        ca: &dyn CertificateAuthority,
        operator: &str,
        fonts: Fonts,
        now: OffsetDateTime,
    ) -> Result<Self, SealFault> {
        let key_file = dir.join("maker.key");
        let cert_file = dir.join("maker.der");
        if !key_file.exists() {
            let key = new_key()?;
            let certificate = certify(ca, &key, operator, now).await?;
            let staging = dir.with_extension(format!("new-{}", std::process::id()));
            std::fs::create_dir_all(&staging).map_err(unavailable)?;
            let sealed = keys.seal(KEY_PURPOSE, &hex::encode(key.to_bytes())).map_err(unavailable)?;
            write_private(&staging.join("maker.key"), sealed.as_bytes())?;
            std::fs::write(staging.join("maker.der"), &certificate).map_err(unavailable)?;
            // One rename: a second instance starting at the same moment keeps the first's key.
            if std::fs::rename(&staging, dir).is_err() {
                let _ = std::fs::remove_dir_all(&staging);
            }
        }
        let sealed = std::fs::read_to_string(&key_file).map_err(unavailable)?;
        let secret = hex::decode(keys.open(KEY_PURPOSE, sealed.trim()).map_err(unavailable)?).map_err(unavailable)?;
        let key = sm2::dsa::SigningKey::from_slice(SM2_DISTID, &secret).map_err(unavailable)?;
        let mut certificate = std::fs::read(&cert_file).map_err(unavailable)?;
        let current = Cert::parse(&certificate).ok_or_else(|| unavailable("maker.der: not a certificate"))?;
        if current.not_after() - now < RENEW_BEFORE {
            certificate = certify(ca, &key, operator, now).await?;
            let partial = dir.join(format!("maker.der.new-{}", std::process::id()));
            std::fs::write(&partial, &certificate).map_err(unavailable)?;
            std::fs::rename(&partial, &cert_file).map_err(unavailable)?;
        }
        Ok(Self { key, certificate, fonts })
    }

    /// The seal-maker certificate (DER).
    pub fn certificate(&self) -> &[u8] {
        &self.certificate
    }
}

/// Writes a file only its owner may read (the sealed key).
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), SealFault> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(unavailable)?;
    file.write_all(bytes).map_err(unavailable)?;
    file.sync_all().map_err(unavailable)
}

fn new_key() -> Result<sm2::dsa::SigningKey, SealFault> {
    use sm2::elliptic_curve::Generate;
    sm2::dsa::SigningKey::new(SM2_DISTID, &sm2::SecretKey::generate()).map_err(unavailable)
}

/// The seal maker's subject: the operator, as 电子印章制作系统.
fn maker_subject(operator: &str) -> Subject {
    Subject {
        attributes: vec![
            NameAttribute::Country("CN"),
            NameAttribute::Organization(operator.to_owned()),
            NameAttribute::CommonName(format!("{operator} 电子印章制作系统")),
        ],
    }
}

/// A PKCS#10 request for `key` (the subject is the desk's to decide, so left empty) and its
/// certificate from `ca` under the seal-maker profile.
async fn certify(
    ca: &dyn CertificateAuthority,
    key: &sm2::dsa::SigningKey,
    operator: &str,
    now: OffsetDateTime,
) -> Result<Vec<u8>, SealFault> {
    let public_key = SubjectPublicKeyInfoOwned::from_key(key.verifying_key()).map_err(unavailable)?;
    let info = CertReqInfo {
        version: Version::V1,
        subject: Name::from_der(&RdnSequence::default().to_der().map_err(unavailable)?).map_err(unavailable)?,
        public_key,
        attributes: der::asn1::SetOfVec::default(),
    };
    let tbs = info.to_der().map_err(unavailable)?;
    let signature: sm2::dsa::Signature = key.try_sign(&tbs).map_err(unavailable)?;
    let request = CertReq {
        info,
        algorithm: AlgorithmIdentifierOwned { oid: format::SM2_WITH_SM3, parameters: None },
        signature: BitString::from_bytes(signature.to_der().as_bytes()).map_err(unavailable)?,
    };
    let issuance = Issuance {
        profile: CertificateProfile::SealMaker,
        request_der: request.to_der().map_err(unavailable)?,
        subject: maker_subject(operator),
        not_before: now - time::Duration::minutes(5),
        not_after: now + time::Duration::days(365 * MAKER_YEARS),
    };
    Ok(ca.issue(&issuance).await.map_err(unavailable)?.der)
}

fn generalized(t: OffsetDateTime) -> Result<GeneralizedTime, SealFault> {
    let secs = u64::try_from(t.unix_timestamp()).map_err(unavailable)?;
    GeneralizedTime::from_unix_duration(std::time::Duration::from_secs(secs)).map_err(unavailable)
}

fn ia5(text: &str) -> Result<Ia5String, SealFault> {
    Ia5String::new(text).map_err(unavailable)
}

impl SealMaker for SoftSealMaker {
    fn picture(&self, drawing: &SealDrawing) -> Result<Vec<u8>, SealFault> {
        picture::png(drawing, &self.fonts).map_err(SealFault::Unavailable)
    }

    fn picture_from_scan(&self, scan: &[u8], longer_mm: f64) -> Result<ScannedPicture, SealFault> {
        let mut reader = image::ImageReader::new(std::io::Cursor::new(scan))
            .with_guessed_format()
            .map_err(|e| SealFault::Unreadable(format!("采样表图片无法读取（{e}）")))?;
        let mut limits = image::Limits::default();
        limits.max_image_width = Some(domain::document::MAX_IMAGE_SIDE);
        limits.max_image_height = Some(domain::document::MAX_IMAGE_SIDE);
        limits.max_alloc = Some(256 * 1024 * 1024);
        reader.limits(limits);
        let image = reader.decode().map_err(|e| SealFault::Unreadable(format!("采样表图片无法读取（{e}）")))?;
        let (png, w, h) = picture::from_scan(&image.to_rgb8(), longer_mm).map_err(SealFault::Unreadable)?;
        // The longer side as asked, the shorter in the scan's proportion.
        let (width_mm, height_mm) = if w >= h {
            (longer_mm, longer_mm * f64::from(h) / f64::from(w))
        } else {
            (longer_mm * f64::from(w) / f64::from(h), longer_mm)
        };
        Ok(ScannedPicture { png, width_mm, height_mm })
    }

    fn make(&self, seal: &NewSeal) -> Result<Vec<u8>, SealFault> {
        if seal.holder_certificates.is_empty() || seal.valid_from > seal.valid_to {
            return Err(unavailable("a seal needs a holder certificate and a validity"));
        }
        let info = SealInfo {
            header: Header { id: ia5("ES")?, version: format::VERSION, vid: ia5(VENDOR)? },
            es_id: ia5(&seal.es_id)?,
            property: PropertyInfo {
                kind: seal.kind.code(),
                name: seal.name.clone(),
                cert_list_type: format::CERT_LIST_CERTIFICATES,
                cert_list: format::certificate_list(&seal.holder_certificates).map_err(unavailable)?,
                create_date: generalized(seal.created)?,
                valid_start: generalized(seal.valid_from)?,
                valid_end: generalized(seal.valid_to)?,
            },
            picture: PictureInfo {
                kind: ia5("PNG")?,
                data: OctetString::new(seal.picture_png.clone()).map_err(unavailable)?,
                width: seal.width_mm,
                height: seal.height_mm,
            },
            ext_datas: None,
        };
        let signed = info.to_der().map_err(unavailable)?;
        let signature: sm2::dsa::Signature = self.key.try_sign(&signed).map_err(unavailable)?;
        let file = SeSeal {
            info,
            cert: OctetString::new(self.certificate.clone()).map_err(unavailable)?,
            sign_alg_id: format::SM2_WITH_SM3,
            signed_value: BitString::from_bytes(signature.to_der().as_bytes()).map_err(unavailable)?,
        }
        .encode()
        .map_err(unavailable)?;
        if file.len() > format::MAX_FILE {
            return Err(unavailable("the seal would be larger than a seal file may be"));
        }
        Ok(file)
    }

    fn inspect(&self, file: &[u8], trust: &Trust, now: OffsetDateTime) -> Result<SealReport, SealFault> {
        crate::inspect(file, trust, now)
    }
}

/// The maker certificate in a seal file (for tests and tools).
pub fn maker_certificate(file: &[u8]) -> Option<Vec<u8>> {
    SeSeal::from_der(file).ok().map(|s| s.cert.into_bytes().into_vec())
}
