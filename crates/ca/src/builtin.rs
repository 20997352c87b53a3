//! The built-in CA: per key algorithm a self-signed root and an issuing CA under it, which
//! certifies holders' keys from their PKCS#10 requests.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use app::ca::{CaError, CertificateAuthority, CertificateProfile, Issuance, IssuedCertificate};
use app::crypto::Keys;
use async_trait::async_trait;
use der::asn1::{Any, SetOfVec};
use der::referenced::OwnedToRef;
use der::{Decode, Encode, Reader, Tag};
use domain::certificate::{KeyAlgorithm, NameAttribute, RevocationReason, Subject};
use sha2::{Digest, Sha256};
use signature::{Keypair, Signer, Verifier};
use spki::{
    AlgorithmIdentifier, DynSignatureAlgorithmIdentifier, EncodePublicKey, ObjectIdentifier,
    SignatureAlgorithmIdentifier, SignatureBitStringEncoding, SubjectPublicKeyInfoOwned,
};
use time::OffsetDateTime;
use x509_cert::Certificate;
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::builder::{Builder, CertificateBuilder};
use x509_cert::crl::{CertificateList, RevokedCert, TbsCertList};
use x509_cert::ext::pkix::crl::CrlReason;
use x509_cert::ext::pkix::{AuthorityKeyIdentifier, CrlNumber, SubjectKeyIdentifier};
use x509_cert::ext::{Extensions, ToExtension};
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};
use x509_cert::request::CertReq;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};

use crate::hsm::{HsmKey, HsmSettings};
use crate::profile::{Profile, Role};

/// The distinguishing identifier SM2 signatures are made and checked with (GM/T 0009's default;
/// what OpenSSL and Chinese tokens use unless told otherwise).
const SM2_DISTID: &str = "1234567812345678";
const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const SM2_WITH_SM3: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.156.10197.1.501");
const SM2_CURVE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.156.10197.1.301");
const COUNTRY: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.6");
const ORGANIZATION: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.10");
const ORGANIZATION_IDENTIFIER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.97");
const SERIAL_NUMBER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.5");
const COMMON_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");
/// GM/T 0015-2023's extension for the unified social credit code (a PrintableString), where
/// Chinese relying parties look for it in a company's certificate.
const UNIFIED_SOCIAL_CREDIT_CODE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.156.10260.4.4");
/// Years a root and an issuing CA are valid; a holder's certificate must end before its issuer.
const ROOT_YEARS: i32 = 20;
const ISSUING_YEARS: i32 = 10;
/// A CRL is made afresh whenever it is asked for; relying parties should ask again within a day.
const CRL_LIFETIME: time::Duration = time::Duration::days(1);

/// An SM2 signing key that signs in the DER form certificates carry (the `sm2` crate's own
/// signature type is the raw `r ‖ s`).
struct Sm2Signer(sm2::dsa::SigningKey);

impl Keypair for Sm2Signer {
    type VerifyingKey = sm2::dsa::VerifyingKey;

    fn verifying_key(&self) -> Self::VerifyingKey {
        self.0.verifying_key().clone()
    }
}

impl Signer<sm2::dsa::DerSignature> for Sm2Signer {
    fn try_sign(&self, message: &[u8]) -> signature::Result<sm2::dsa::DerSignature> {
        let raw: sm2::dsa::Signature = self.0.try_sign(message)?;
        Ok(raw.to_der())
    }
}

impl SignatureAlgorithmIdentifier for Sm2Signer {
    type Params = der::AnyRef<'static>;

    const SIGNATURE_ALGORITHM_IDENTIFIER: AlgorithmIdentifier<Self::Params> =
        <sm2::dsa::SigningKey as SignatureAlgorithmIdentifier>::SIGNATURE_ALGORITHM_IDENTIFIER;
}

enum IssuerKey {
    P256(p256::ecdsa::SigningKey),
    Sm2(Sm2Signer),
    /// A P-256 key on a PKCS#11 token.
    Hsm(HsmKey),
}

impl IssuerKey {
    fn generate(algorithm: KeyAlgorithm) -> Result<Self, CaError> {
        use p256::elliptic_curve::Generate;
        Ok(match algorithm {
            KeyAlgorithm::EcdsaP256 => Self::P256(p256::ecdsa::SigningKey::generate()),
            KeyAlgorithm::Sm2 => {
                let secret = sm2::SecretKey::generate();
                Self::Sm2(Sm2Signer(sm2::dsa::SigningKey::new(SM2_DISTID, &secret).map_err(unavailable)?))
            }
        })
    }

    fn public_key(&self) -> Result<SubjectPublicKeyInfoOwned, CaError> {
        match self {
            Self::P256(key) => SubjectPublicKeyInfoOwned::from_key(key.verifying_key()),
            Self::Sm2(key) => SubjectPublicKeyInfoOwned::from_key(&key.verifying_key()),
            Self::Hsm(key) => SubjectPublicKeyInfoOwned::from_key(&key.verifying_key()),
        }
        .map_err(unavailable)
    }

    fn sign(&self, builder: CertificateBuilder<Profile>) -> Result<Certificate, CaError> {
        match self {
            Self::P256(key) => build::<_, p256::ecdsa::DerSignature>(builder, key),
            Self::Sm2(key) => build::<_, sm2::dsa::DerSignature>(builder, key),
            Self::Hsm(key) => build::<_, p256::ecdsa::DerSignature>(builder, key),
        }
    }

    /// Signs a CRL: its `signature` field names our algorithm before the bytes are signed.
    fn sign_crl(&self, mut tbs: TbsCertList) -> Result<CertificateList, CaError> {
        tbs.signature = match self {
            Self::P256(key) => key.signature_algorithm_identifier(),
            Self::Sm2(key) => key.signature_algorithm_identifier(),
            Self::Hsm(key) => key.signature_algorithm_identifier(),
        }
        .map_err(unavailable)?;
        let bytes = tbs.to_der().map_err(unavailable)?;
        let signature = match self {
            Self::P256(key) => {
                Signer::<p256::ecdsa::DerSignature>::try_sign(key, &bytes).map_err(unavailable)?.to_bitstring()
            }
            Self::Sm2(key) => key.try_sign(&bytes).map_err(unavailable)?.to_bitstring(),
            Self::Hsm(key) => {
                Signer::<p256::ecdsa::DerSignature>::try_sign(key, &bytes).map_err(unavailable)?.to_bitstring()
            }
        }
        .map_err(unavailable)?;
        Ok(CertificateList { signature_algorithm: tbs.signature.clone(), tbs_cert_list: tbs, signature })
    }

    /// The key's secret, to be sealed; `None` for a key that never leaves its token.
    fn secret_hex(&self) -> Option<String> {
        match self {
            Self::P256(key) => Some(hex::encode(key.to_bytes())),
            Self::Sm2(key) => Some(hex::encode(key.0.to_bytes())),
            Self::Hsm(_) => None,
        }
    }

    fn from_secret_hex(algorithm: KeyAlgorithm, text: &str) -> Result<Self, CaError> {
        let bytes = hex::decode(text.trim()).map_err(unavailable)?;
        Ok(match algorithm {
            KeyAlgorithm::EcdsaP256 => Self::P256(p256::ecdsa::SigningKey::from_slice(&bytes).map_err(unavailable)?),
            KeyAlgorithm::Sm2 => {
                Self::Sm2(Sm2Signer(sm2::dsa::SigningKey::from_slice(SM2_DISTID, &bytes).map_err(unavailable)?))
            }
        })
    }
}

fn build<S, Sig>(builder: CertificateBuilder<Profile>, signer: &S) -> Result<Certificate, CaError>
where
    S: Signer<Sig> + Keypair + DynSignatureAlgorithmIdentifier,
    S::VerifyingKey: EncodePublicKey,
    Sig: SignatureBitStringEncoding,
{
    builder.build::<S, Sig>(signer).map_err(unavailable)
}

#[allow(clippy::needless_pass_by_value)] // shaped for `.map_err`
fn unavailable(err: impl std::fmt::Display) -> CaError {
    CaError::Unavailable(err.to_string())
}

fn refused(why: &str) -> CaError {
    CaError::BadRequest(why.to_owned())
}

struct Authority {
    algorithm: KeyAlgorithm,
    root: Certificate,
    issuing: Certificate,
    key: IssuerKey,
    crl_url: String,
}

struct Revoked {
    algorithm: KeyAlgorithm,
    serial: String,
    at: OffsetDateTime,
    reason: RevocationReason,
}

/// What was issued and what was revoked, in memory and (when opened on a directory) in its
/// append-only `ledger` file.
#[derive(Default)]
struct Ledger {
    issued: HashSet<(KeyAlgorithm, String)>,
    revoked: Vec<Revoked>,
    revoked_serials: HashSet<(KeyAlgorithm, String)>,
    file: Option<PathBuf>,
    /// How far the file has been read: it only grows, so only what was appended since is read.
    read: u64,
}

impl Ledger {
    /// Reads what was appended since the last read (other instances sharing the directory issue
    /// and revoke too; our own lines come back this way as well).
    fn refresh(&mut self) -> Result<(), CaError> {
        use std::io::{Read, Seek, SeekFrom};
        let Some(path) = &self.file else { return Ok(()) };
        let failed = |e: std::io::Error| unavailable(format!("{}: {e}", path.display()));
        let mut file = std::fs::File::open(path).map_err(failed)?;
        let length = file.metadata().map_err(failed)?.len();
        if length < self.read {
            // Replaced (a restored backup): read it whole again.
            (self.issued, self.revoked, self.revoked_serials, self.read) = Default::default();
        }
        file.seek(SeekFrom::Start(self.read)).map_err(failed)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(failed)?;
        // Complete lines only: a line being appended right now is read next time.
        let Some(end) = bytes.iter().rposition(|b| *b == b'\n') else { return Ok(()) };
        let text = std::str::from_utf8(&bytes[..=end]).map_err(|_| unavailable("ledger: not UTF-8"))?;
        for line in text.lines() {
            self.note(line)?;
        }
        self.read += u64::try_from(end + 1).map_err(unavailable)?;
        Ok(())
    }

    /// Takes in one line of the ledger.
    fn note(&mut self, line: &str) -> Result<(), CaError> {
        let bad = || unavailable(format!("ledger: bad line {line:?}"));
        let words: Vec<&str> = line.split(' ').collect();
        match words.as_slice() {
            ["issued", alg, serial] => {
                self.issued.insert((KeyAlgorithm::parse(alg).ok_or_else(bad)?, (*serial).to_owned()));
            }
            ["revoked", alg, serial, at, code] => {
                let at = at.parse::<i64>().ok().and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok());
                let reason = code.parse::<u8>().ok().and_then(RevocationReason::from_code);
                let (Some(algorithm), Some(at), Some(reason)) = (KeyAlgorithm::parse(alg), at, reason) else {
                    return Err(bad());
                };
                if self.revoked_serials.insert((algorithm, (*serial).to_owned())) {
                    self.revoked.push(Revoked { algorithm, serial: (*serial).to_owned(), at, reason });
                }
            }
            _ => return Err(bad()),
        }
        Ok(())
    }

    /// Writes a line durably, then takes it in (a later read finds it again and skips it).
    fn append(&mut self, line: &str) -> Result<(), CaError> {
        if let Some(path) = &self.file {
            let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path).map_err(unavailable)?;
            file.write_all(format!("{line}\n").as_bytes()).map_err(unavailable)?;
            file.sync_data().map_err(unavailable)?;
        }
        self.note(line)
    }
}

/// The built-in certificate authority.
pub struct BuiltInCa {
    authorities: Vec<Authority>,
    ledger: Mutex<Ledger>,
}

impl std::fmt::Debug for BuiltInCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BuiltInCa").field("algorithms", &self.authorities.len()).finish_non_exhaustive()
    }
}

impl BuiltInCa {
    /// Creates a root and an issuing CA for each algorithm, named for `operator`; issued
    /// certificates name `{crl_base}/{algorithm}.crl` as their CRL distribution point.
    pub fn generate(operator: &str, crl_base: &str, now: OffsetDateTime) -> Result<Self, CaError> {
        let authorities =
            Self::fresh(operator, crl_base, now, None)?.into_iter().map(|(authority, _)| authority).collect();
        Ok(Self { authorities, ledger: Mutex::new(Ledger::default()) })
    }

    /// New authorities, each with its root's key (which signs only here and is then kept sealed,
    /// never loaded again by a running CA).
    fn fresh(
        operator: &str,
        crl_base: &str,
        now: OffsetDateTime,
        hsm: Option<&HsmSettings>,
    ) -> Result<Vec<(Authority, IssuerKey)>, CaError> {
        let mut authorities = Vec::new();
        for algorithm in KeyAlgorithm::ALL {
            let label = match algorithm {
                KeyAlgorithm::Sm2 => "SM2",
                KeyAlgorithm::EcdsaP256 => "ECC",
            };
            let root_key = IssuerKey::generate(algorithm)?;
            let root_name = ca_name(operator, &format!("{operator} {label} Root CA"))?;
            let root = root_key.sign(
                CertificateBuilder::new(
                    Profile { role: Role::Root, issuer: root_name.clone(), subject: root_name.clone(), crl_url: None },
                    random_serial()?,
                    validity(now, now.replace_year(now.year() + ROOT_YEARS).map_err(unavailable)?)?,
                    root_key.public_key()?,
                )
                .map_err(unavailable)?,
            )?;
            let key = match (algorithm, hsm) {
                // The production choice: the P-256 issuing key made on the HSM, never outside it.
                (KeyAlgorithm::EcdsaP256, Some(hsm)) => {
                    let label = format!("sealdesk-issuing-{}", hex::encode(rand::random::<[u8; 6]>()));
                    IssuerKey::Hsm(HsmKey::generate(hsm, &label)?)
                }
                _ => IssuerKey::generate(algorithm)?,
            };
            let name = ca_name(operator, &format!("{operator} {label} Issuing CA"))?;
            let issuing = root_key.sign(
                CertificateBuilder::new(
                    Profile { role: Role::Issuing, issuer: root_name, subject: name, crl_url: None },
                    random_serial()?,
                    validity(now, now.replace_year(now.year() + ISSUING_YEARS).map_err(unavailable)?)?,
                    key.public_key()?,
                )
                .map_err(unavailable)?,
            )?;
            let crl_url = crl_url(crl_base, algorithm);
            authorities.push((Authority { algorithm, root, issuing, key, crl_url }, root_key));
        }
        Ok(authorities)
    }

    /// The CA kept in `dir`: loaded when it is there, else generated and written there first —
    /// certificates in the clear, keys sealed under `keys` (the instance's master key), and the
    /// ledger of issued and revoked serial numbers. Instances sharing `dir` share the CA.
    pub fn open(dir: &Path, keys: &Keys, operator: &str, crl_base: &str, now: OffsetDateTime) -> Result<Self, CaError> {
        Self::open_with_hsm(dir, keys, operator, crl_base, now, None)
    }

    /// [`BuiltInCa::open`], the P-256 issuing key on the PKCS#11 token `hsm` names (made there
    /// when the CA is created; its label kept in `dir`). SM2 keys stay sealed: HSMs speak SM2
    /// only through vendor mechanisms.
    pub fn open_with_hsm(
        dir: &Path,
        keys: &Keys,
        operator: &str,
        crl_base: &str,
        now: OffsetDateTime,
        hsm: Option<&HsmSettings>,
    ) -> Result<Self, CaError> {
        if !dir.join("ledger").exists() {
            let fresh = Self::fresh(operator, crl_base, now, hsm)?;
            let staging = dir.with_extension(format!("new-{}", std::process::id()));
            std::fs::create_dir_all(&staging).map_err(unavailable)?;
            for (a, root_key) in &fresh {
                let name = a.algorithm.as_str();
                write(&staging.join(format!("{name}-root.der")), &a.root.to_der().map_err(unavailable)?)?;
                write(&staging.join(format!("{name}-issuing.der")), &a.issuing.to_der().map_err(unavailable)?)?;
                for (role, key) in [("root", root_key), ("issuing", &a.key)] {
                    match (key.secret_hex(), key) {
                        (Some(secret), _) => {
                            let sealed = keys.seal(&key_purpose(a.algorithm, role), &secret).map_err(unavailable)?;
                            write(&staging.join(format!("{name}-{role}.key")), sealed.as_bytes())?;
                        }
                        (None, IssuerKey::Hsm(on_token)) => {
                            write(&staging.join(format!("{name}-{role}.hsm")), on_token.label.as_bytes())?;
                        }
                        (None, _) => return Err(unavailable("a key with neither secret nor token")),
                    }
                }
            }
            write(&staging.join("ledger"), b"")?;
            // One rename: a second instance starting at the same moment keeps the first's CA.
            if std::fs::rename(&staging, dir).is_err() {
                let _ = std::fs::remove_dir_all(&staging);
            }
        }
        Self::load(dir, keys, crl_base, hsm)
    }

    fn load(dir: &Path, keys: &Keys, crl_base: &str, hsm: Option<&HsmSettings>) -> Result<Self, CaError> {
        let read = |name: String| std::fs::read(dir.join(&name)).map_err(|e| unavailable(format!("{name}: {e}")));
        let mut authorities = Vec::new();
        for algorithm in KeyAlgorithm::ALL {
            let name = algorithm.as_str();
            let certificate =
                |role: &str| Certificate::from_der(&read(format!("{name}-{role}.der"))?).map_err(unavailable);
            let key = |role: &str| {
                if dir.join(format!("{name}-{role}.hsm")).exists() {
                    let label = String::from_utf8(read(format!("{name}-{role}.hsm"))?).map_err(unavailable)?;
                    let hsm = hsm.ok_or_else(|| {
                        unavailable(format!("the {name} {role} key is on a PKCS#11 token; configure [ca_hsm]"))
                    })?;
                    return HsmKey::open(hsm, label.trim()).map(IssuerKey::Hsm);
                }
                let sealed = String::from_utf8(read(format!("{name}-{role}.key"))?).map_err(unavailable)?;
                let secret = keys.open(&key_purpose(algorithm, role), &sealed).map_err(unavailable)?;
                IssuerKey::from_secret_hex(algorithm, &secret)
            };
            authorities.push(Authority {
                algorithm,
                root: certificate("root")?,
                issuing: certificate("issuing")?,
                key: key("issuing")?,
                crl_url: crl_url(crl_base, algorithm),
            });
        }
        let mut ledger = Ledger { file: Some(dir.join("ledger")), ..Ledger::default() };
        ledger.refresh()?;
        Ok(Self { authorities, ledger: Mutex::new(ledger) })
    }

    fn authority(&self, algorithm: KeyAlgorithm) -> Option<&Authority> {
        self.authorities.iter().find(|a| a.algorithm == algorithm)
    }
}

#[async_trait]
impl CertificateAuthority for BuiltInCa {
    async fn issue(&self, issuance: &Issuance) -> Result<IssuedCertificate, CaError> {
        let (algorithm, public_key) = verified_key(&issuance.request_der)?;
        let authority = self.authority(algorithm).ok_or_else(|| refused("no CA for this key algorithm"))?;
        let issuer_until = authority.issuing.tbs_certificate().validity().not_after.to_unix_duration();
        let until = u64::try_from(issuance.not_after.unix_timestamp()).unwrap_or(u64::MAX);
        if until > issuer_until.as_secs() {
            return Err(refused("the certificate would outlive its issuing CA"));
        }
        let role = match issuance.profile {
            CertificateProfile::Holder => Role::Holder,
            // GB/T 38540 seals are signed with SM2 and SM3.
            CertificateProfile::SealMaker if algorithm == KeyAlgorithm::Sm2 => Role::SealMaker,
            CertificateProfile::SealMaker => return Err(refused("a seal maker's key must be SM2")),
        };
        let profile = Profile {
            role,
            issuer: authority.issuing.tbs_certificate().subject().clone(),
            subject: name(&issuance.subject)?,
            crl_url: Some(authority.crl_url.clone()),
        };
        let serial = random_serial()?;
        let mut builder = CertificateBuilder::new(
            profile,
            serial.clone(),
            validity(issuance.not_before, issuance.not_after)?,
            public_key,
        )
        .map_err(unavailable)?;
        if let Some(code) = issuance.subject.credit_code() {
            let value = der::asn1::PrintableString::new(code).map_err(unavailable)?;
            builder.add_extension((UNIFIED_SOCIAL_CREDIT_CODE, false, &value)).map_err(unavailable)?;
        }
        let certificate = authority.key.sign(builder)?;
        let der = certificate.to_der().map_err(unavailable)?;
        let serial_hex = hex::encode_upper(serial.as_bytes());
        {
            let mut ledger = self.ledger.lock().map_err(unavailable)?;
            ledger.append(&format!("issued {} {serial_hex}", algorithm.as_str()))?;
        }
        let chain = [&authority.issuing, &authority.root]
            .into_iter()
            .map(|c| c.to_der().map_err(unavailable))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(IssuedCertificate {
            algorithm,
            serial: serial_hex,
            fingerprint: hex::encode_upper(Sha256::digest(&der)),
            der,
            chain,
            subject: issuance.subject.display(),
            issuer: authority.issuing.tbs_certificate().subject().to_string(),
            not_before: issuance.not_before,
            not_after: issuance.not_after,
        })
    }

    async fn revoke(
        &self,
        algorithm: KeyAlgorithm,
        serial: &str,
        reason: RevocationReason,
        at: OffsetDateTime,
    ) -> Result<(), CaError> {
        let serial = serial.trim().to_ascii_uppercase();
        let mut ledger = self.ledger.lock().map_err(unavailable)?;
        ledger.refresh()?;
        if !ledger.issued.contains(&(algorithm, serial.clone())) {
            return Err(CaError::Unknown);
        }
        if ledger.revoked_serials.contains(&(algorithm, serial.clone())) {
            return Ok(());
        }
        ledger.append(&format!("revoked {} {serial} {} {}", algorithm.as_str(), at.unix_timestamp(), reason.code()))
    }

    async fn chain(&self, algorithm: KeyAlgorithm) -> Result<Vec<Vec<u8>>, CaError> {
        let authority = self.authority(algorithm).ok_or(CaError::Unknown)?;
        [&authority.issuing, &authority.root].into_iter().map(|c| c.to_der().map_err(unavailable)).collect()
    }

    async fn crl(&self, algorithm: KeyAlgorithm, now: OffsetDateTime) -> Result<Vec<u8>, CaError> {
        let authority = self.authority(algorithm).ok_or(CaError::Unknown)?;
        let issuer = authority.issuing.tbs_certificate().subject().clone();
        let mut revoked = Vec::new();
        {
            let mut ledger = self.ledger.lock().map_err(unavailable)?;
            ledger.refresh()?;
            for r in ledger.revoked.iter().filter(|r| r.algorithm == algorithm) {
                let bytes = hex::decode(&r.serial).map_err(unavailable)?;
                let extensions: Extensions =
                    vec![reason_code(r.reason).to_extension(&issuer, &[]).map_err(unavailable)?];
                revoked.push(RevokedCert {
                    serial_number: SerialNumber::new(&bytes).map_err(unavailable)?,
                    revocation_date: time_of(r.at)?,
                    crl_entry_extensions: Some(extensions),
                });
            }
        }
        // The CRL names its signer's key (the issuing CA's own key identifier), and counts up
        // with time, so every instance's CRL is newer than the one before.
        let ski = SubjectKeyIdentifier::try_from(
            authority.issuing.tbs_certificate().subject_public_key_info().owned_to_ref(),
        )
        .map_err(unavailable)?;
        let mut extensions = Extensions::new();
        let number =
            CrlNumber::try_from(u64::try_from(now.unix_timestamp()).unwrap_or_default()).map_err(unavailable)?;
        extensions.push(number.to_extension(&issuer, &extensions).map_err(unavailable)?);
        extensions.push(
            AuthorityKeyIdentifier { key_identifier: Some(ski.0), ..Default::default() }
                .to_extension(&issuer, &extensions)
                .map_err(unavailable)?,
        );
        let tbs = TbsCertList {
            version: x509_cert::certificate::Version::V2,
            signature: AlgorithmIdentifier { oid: ObjectIdentifier::new_unwrap("0.0.0"), parameters: None },
            issuer,
            this_update: time_of(now)?,
            next_update: Some(time_of(now + CRL_LIFETIME)?),
            revoked_certificates: (!revoked.is_empty()).then_some(revoked),
            crl_extensions: Some(extensions),
        };
        authority.key.sign_crl(tbs)?.to_der().map_err(unavailable)
    }
}

fn reason_code(reason: RevocationReason) -> CrlReason {
    match reason {
        RevocationReason::KeyCompromise => CrlReason::KeyCompromise,
        RevocationReason::Superseded => CrlReason::Superseded,
        RevocationReason::CessationOfOperation => CrlReason::CessationOfOperation,
    }
}

fn crl_url(base: &str, algorithm: KeyAlgorithm) -> String {
    format!("{}/{}.crl", base.trim_end_matches('/'), algorithm.as_str())
}

fn key_purpose(algorithm: KeyAlgorithm, role: &str) -> String {
    format!("ca-key:{}:{role}", algorithm.as_str())
}

/// Writes a file whole (temporary file readable by this user only, sync, rename).
fn write(path: &Path, bytes: &[u8]) -> Result<(), CaError> {
    let partial = path.with_extension("partial");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&partial).map_err(unavailable)?;
    file.write_all(bytes).map_err(unavailable)?;
    file.sync_all().map_err(unavailable)?;
    std::fs::rename(&partial, path).map_err(unavailable)
}

/// The request's public key, once its self-signature verifies (proof the token holds the
/// private key), and which of our algorithms it is for. The request's own subject is ignored.
fn verified_key(request: &[u8]) -> Result<(KeyAlgorithm, SubjectPublicKeyInfoOwned), CaError> {
    let not_a_request = || refused("not a PKCS#10 certificate request");
    let parsed = CertReq::from_der(request).map_err(|_| not_a_request())?;
    // The signature covers the request info as it was sent, not as we would re-encode it.
    let mut reader = der::SliceReader::new(request).map_err(|_| not_a_request())?;
    der::Header::decode(&mut reader).map_err(|_| not_a_request())?;
    let signed = reader.tlv_bytes().map_err(|_| not_a_request())?;
    let request = parsed;
    let signature = request.signature.as_bytes().ok_or_else(|| refused("malformed signature"))?;
    let key = request.info.public_key;
    let curve = key.algorithm.parameters.as_ref().and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
    let bad_signature = || refused("the request's signature does not verify");
    let algorithm = if request.algorithm.oid == ECDSA_WITH_SHA256 {
        let verifying =
            p256::ecdsa::VerifyingKey::try_from(key.owned_to_ref()).map_err(|_| refused("not a P-256 public key"))?;
        let signature = p256::ecdsa::DerSignature::from_bytes(signature).map_err(|_| bad_signature())?;
        verifying.verify(signed, &signature).map_err(|_| bad_signature())?;
        KeyAlgorithm::EcdsaP256
    } else if request.algorithm.oid == SM2_WITH_SM3 && curve == Some(SM2_CURVE) {
        let point = key.subject_public_key.as_bytes().ok_or_else(|| refused("malformed public key"))?;
        let verifying =
            sm2::dsa::VerifyingKey::from_sec1_bytes(SM2_DISTID, point).map_err(|_| refused("not an SM2 public key"))?;
        let signature = sm2::dsa::Signature::from_der(signature).map_err(|_| bad_signature())?;
        verifying.verify(signed, &signature).map_err(|_| bad_signature())?;
        KeyAlgorithm::Sm2
    } else {
        return Err(refused("only ECDSA P-256 with SHA-256 and SM2 with SM3 requests are certified"));
    };
    Ok((algorithm, key))
}

fn random_serial() -> Result<SerialNumber, CaError> {
    // 16 random bytes, the first below 0x80 so the INTEGER stays positive without padding.
    let mut bytes: [u8; 16] = rand::random();
    bytes[0] &= 0x7F;
    bytes[0] |= 0x01;
    SerialNumber::new(&bytes).map_err(unavailable)
}

fn time_of(t: OffsetDateTime) -> Result<Time, CaError> {
    let seconds = u64::try_from(t.unix_timestamp()).map_err(|_| refused("time before 1970"))?;
    Time::try_from(std::time::UNIX_EPOCH + std::time::Duration::from_secs(seconds)).map_err(unavailable)
}

fn validity(from: OffsetDateTime, to: OffsetDateTime) -> Result<Validity, CaError> {
    Ok(Validity::new(time_of(from)?, time_of(to)?))
}

fn ca_name(operator: &str, common_name: &str) -> Result<Name, CaError> {
    name(&Subject {
        attributes: vec![
            NameAttribute::Country("CN"),
            NameAttribute::Organization(operator.to_owned()),
            NameAttribute::CommonName(common_name.to_owned()),
        ],
    })
}

/// The distinguished name, one attribute per RDN: `C` as PrintableString, the rest UTF8String.
fn name(subject: &Subject) -> Result<Name, CaError> {
    let mut rdns = RdnSequence::default();
    for attribute in &subject.attributes {
        let (oid, tag, value) = match attribute {
            NameAttribute::Country(c) => (COUNTRY, Tag::PrintableString, (*c).to_owned()),
            NameAttribute::Organization(o) => (ORGANIZATION, Tag::Utf8String, o.clone()),
            NameAttribute::OrganizationIdentifier(i) => (ORGANIZATION_IDENTIFIER, Tag::Utf8String, i.clone()),
            NameAttribute::SerialNumber(s) => (SERIAL_NUMBER, Tag::PrintableString, s.clone()),
            NameAttribute::CommonName(n) => (COMMON_NAME, Tag::Utf8String, n.clone()),
        };
        let value = Any::new(tag, value.into_bytes()).map_err(unavailable)?;
        let set = SetOfVec::try_from(vec![AttributeTypeAndValue { oid, value }]).map_err(unavailable)?;
        rdns.push(RelativeDistinguishedName::try_from(set.into_vec()).map_err(unavailable)?);
    }
    Name::from_der(&rdns.to_der().map_err(unavailable)?).map_err(unavailable)
}
