//! What checking a seal needs of X.509: signatures by SM2 and P-256 keys, a certificate's path
//! to a trusted root, and its status in the issuer's revocation list.

use app::seal_maker::{CertificateSummary, Trust};
use der::Decode;
use signature::Verifier;
use spki::ObjectIdentifier;
use time::OffsetDateTime;
use x509_cert::Certificate;
use x509_cert::crl::CertificateList;
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage, KeyUsages};

use crate::format::SM2_WITH_SM3;

/// The distinguishing identifier SM2 signatures are made and checked with (GM/T 0009's default).
pub const SM2_DISTID: &str = "1234567812345678";
const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
/// CA certificates a path may pass through before it reaches a root.
const MAX_PATH: usize = 4;

/// The first element of a DER SEQUENCE as it stands in `der` (what a certificate or CRL signs).
pub fn signed_part(der: &[u8]) -> Option<&[u8]> {
    let mut reader = der::SliceReader::new(der).ok()?;
    der::Header::decode(&mut reader).ok()?;
    der::Reader::tlv_bytes(&mut reader).ok()
}

/// Whether `signature` (DER) by the key of `spki` over `message` verifies, for `algorithm`.
pub fn verifies(
    algorithm: &ObjectIdentifier,
    spki: &spki::SubjectPublicKeyInfoOwned,
    message: &[u8],
    signature: &[u8],
) -> bool {
    let Some(point) = spki.subject_public_key.as_bytes() else { return false };
    if *algorithm == SM2_WITH_SM3 {
        let Ok(key) = sm2::dsa::VerifyingKey::from_sec1_bytes(SM2_DISTID, point) else { return false };
        let Ok(signature) = sm2::dsa::Signature::from_der(signature) else { return false };
        key.verify(message, &signature).is_ok()
    } else if *algorithm == ECDSA_WITH_SHA256 {
        let Ok(key) = p256::ecdsa::VerifyingKey::from_sec1_bytes(point) else { return false };
        let Ok(signature) = p256::ecdsa::DerSignature::from_bytes(signature) else { return false };
        key.verify(message, &signature).is_ok()
    } else {
        false
    }
}

/// A certificate, parsed, with its DER.
pub struct Cert {
    pub der: Vec<u8>,
    pub parsed: Certificate,
}

impl Cert {
    pub fn parse(der: &[u8]) -> Option<Self> {
        Certificate::from_der(der).ok().map(|parsed| Self { der: der.to_vec(), parsed })
    }

    pub fn serial(&self) -> String {
        hex::encode_upper(self.parsed.tbs_certificate().serial_number().as_bytes())
    }

    pub fn not_before(&self) -> OffsetDateTime {
        time_of(self.parsed.tbs_certificate().validity().not_before.to_unix_duration())
    }

    pub fn not_after(&self) -> OffsetDateTime {
        time_of(self.parsed.tbs_certificate().validity().not_after.to_unix_duration())
    }

    pub fn summary(&self) -> CertificateSummary {
        let tbs = self.parsed.tbs_certificate();
        CertificateSummary {
            subject: tbs.subject().to_string(),
            issuer: tbs.issuer().to_string(),
            serial: self.serial(),
            not_before: self.not_before(),
            not_after: self.not_after(),
        }
    }

    fn is_self_issued(&self) -> bool {
        self.parsed.tbs_certificate().subject() == self.parsed.tbs_certificate().issuer()
    }

    /// Whether `issuer` signed this certificate.
    fn signed_by(&self, issuer: &Self) -> bool {
        let Some(tbs) = signed_part(&self.der) else { return false };
        let Some(signature) = self.parsed.signature().as_bytes() else { return false };
        self.parsed.tbs_certificate().issuer() == issuer.parsed.tbs_certificate().subject()
            && verifies(
                &self.parsed.signature_algorithm().oid,
                issuer.parsed.tbs_certificate().subject_public_key_info(),
                tbs,
                signature,
            )
    }

    fn is_ca(&self) -> bool {
        matches!(self.parsed.tbs_certificate().get_extension::<BasicConstraints>(), Ok(Some((_, bc))) if bc.ca)
    }

    /// Whether the key usage allows signing documents (digitalSignature or nonRepudiation).
    pub fn signs(&self) -> bool {
        match self.parsed.tbs_certificate().get_extension::<KeyUsage>() {
            Ok(Some((_, usage))) => {
                usage.0.contains(KeyUsages::DigitalSignature) || usage.0.contains(KeyUsages::NonRepudiation)
            }
            _ => false,
        }
    }

    pub fn is_end_entity(&self) -> bool {
        !self.is_ca()
    }

    pub fn valid_at(&self, now: OffsetDateTime) -> bool {
        self.not_before() <= now && now <= self.not_after()
    }
}

fn time_of(since_epoch: std::time::Duration) -> OffsetDateTime {
    i64::try_from(since_epoch.as_secs())
        .ok()
        .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// The trusted CA certificates, parsed once per check.
pub struct Anchors {
    roots: Vec<Cert>,
    intermediates: Vec<Cert>,
    crls: Vec<(Vec<u8>, CertificateList)>,
}

impl Anchors {
    pub fn new(trust: &Trust) -> Self {
        let parse_all = |ders: &[Vec<u8>]| ders.iter().filter_map(|d| Cert::parse(d)).collect::<Vec<_>>();
        let crls =
            trust.crls.iter().filter_map(|d| CertificateList::from_der(d).ok().map(|crl| (d.clone(), crl))).collect();
        Self { roots: parse_all(&trust.roots), intermediates: parse_all(&trust.intermediates), crls }
    }

    /// The path from `cert` to a trusted root, issuer first (the certificate itself excluded),
    /// each CA valid at `now`; or why there is none.
    pub fn path<'a>(&'a self, cert: &Cert, now: OffsetDateTime) -> Result<Vec<&'a Cert>, String> {
        let mut path: Vec<&Cert> = Vec::new();
        let mut current = cert;
        for _ in 0..=MAX_PATH {
            if let Some(root) = self.roots.iter().find(|r| current.signed_by(r)) {
                if !root.valid_at(now) {
                    return Err(format!("根证书“{}”不在有效期内", root.parsed.tbs_certificate().subject()));
                }
                path.push(root);
                return Ok(path);
            }
            let Some(issuer) =
                self.intermediates.iter().find(|c| c.is_ca() && !c.is_self_issued() && current.signed_by(c))
            else {
                return Err(format!("签发者“{}”不是受信任的证书机构", current.parsed.tbs_certificate().issuer()));
            };
            if !issuer.valid_at(now) {
                return Err(format!("证书机构“{}”的证书不在有效期内", issuer.parsed.tbs_certificate().subject()));
            }
            path.push(issuer);
            current = issuer;
        }
        Err("证书链过长".into())
    }

    /// Whether `cert` is revoked according to its issuer's CRL: `Ok(None)` not revoked,
    /// `Ok(Some(at))` revoked at, `Err` when no current CRL signed by `issuer` is at hand.
    pub fn revocation(
        &self,
        cert: &Cert,
        issuer: &Cert,
        now: OffsetDateTime,
    ) -> Result<Option<OffsetDateTime>, String> {
        let issuer_name = issuer.parsed.tbs_certificate().subject();
        let mut stale = false;
        for (der, crl) in &self.crls {
            if &crl.tbs_cert_list.issuer != issuer_name {
                continue;
            }
            let (Some(tbs), Some(signature)) = (signed_part(der), crl.signature.as_bytes()) else { continue };
            if !verifies(
                &crl.signature_algorithm.oid,
                issuer.parsed.tbs_certificate().subject_public_key_info(),
                tbs,
                signature,
            ) {
                continue;
            }
            let this_update = time_of(crl.tbs_cert_list.this_update.to_unix_duration());
            let next_update = crl.tbs_cert_list.next_update.map(|t| time_of(t.to_unix_duration()));
            if this_update > now || next_update.is_some_and(|n| n < now) {
                stale = true;
                continue;
            }
            let serial = cert.parsed.tbs_certificate().serial_number();
            let revoked = crl
                .tbs_cert_list
                .revoked_certificates
                .iter()
                .flatten()
                .find(|r| &r.serial_number == serial)
                .map(|r| time_of(r.revocation_date.to_unix_duration()));
            return Ok(revoked);
        }
        Err(if stale {
            "吊销列表已过期，无法确认证书状态".into()
        } else {
            "未取得签发者的吊销列表，无法确认证书状态".into()
        })
    }
}
