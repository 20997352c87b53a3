//! The built-in CA: per key algorithm a self-signed root and an issuing CA under it, which
//! certifies holders' keys from their PKCS#10 requests.

use app::ca::{CaError, CertificateAuthority, Issuance, IssuedCertificate};
use async_trait::async_trait;
use der::asn1::{Any, SetOfVec};
use der::referenced::OwnedToRef;
use der::{Decode, Encode, Reader, Tag};
use domain::certificate::{KeyAlgorithm, NameAttribute, Subject};
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
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};
use x509_cert::request::CertReq;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};

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
/// Years a root and an issuing CA are valid; a holder's certificate must end before its issuer.
const ROOT_YEARS: i32 = 20;
const ISSUING_YEARS: i32 = 10;

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
        }
        .map_err(unavailable)
    }

    fn sign(&self, builder: CertificateBuilder<Profile>) -> Result<Certificate, CaError> {
        match self {
            Self::P256(key) => build::<_, p256::ecdsa::DerSignature>(builder, key),
            Self::Sm2(key) => build::<_, sm2::dsa::DerSignature>(builder, key),
        }
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

/// The built-in certificate authority.
pub struct BuiltInCa {
    authorities: Vec<Authority>,
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
            let key = IssuerKey::generate(algorithm)?;
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
            let crl_url = format!("{}/{}.crl", crl_base.trim_end_matches('/'), algorithm.as_str());
            authorities.push(Authority { algorithm, root, issuing, key, crl_url });
        }
        Ok(Self { authorities })
    }

    /// The root certificate of `algorithm` (DER), for relying parties' trust stores.
    pub fn root(&self, algorithm: KeyAlgorithm) -> Option<Vec<u8>> {
        self.authority(algorithm).and_then(|a| a.root.to_der().ok())
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
        let profile = Profile {
            role: Role::Holder,
            issuer: authority.issuing.tbs_certificate().subject().clone(),
            subject: name(&issuance.subject)?,
            crl_url: Some(authority.crl_url.clone()),
        };
        let serial = random_serial()?;
        let builder = CertificateBuilder::new(
            profile,
            serial.clone(),
            validity(issuance.not_before, issuance.not_after)?,
            public_key,
        )
        .map_err(unavailable)?;
        let certificate = authority.key.sign(builder)?;
        let der = certificate.to_der().map_err(unavailable)?;
        let chain = [&authority.issuing, &authority.root]
            .into_iter()
            .map(|c| c.to_der().map_err(unavailable))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(IssuedCertificate {
            algorithm,
            serial: hex::encode_upper(serial.as_bytes()),
            fingerprint: hex::encode_upper(Sha256::digest(&der)),
            der,
            chain,
            subject: issuance.subject.display(),
            not_before: issuance.not_before,
            not_after: issuance.not_after,
        })
    }
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

fn validity(from: OffsetDateTime, to: OffsetDateTime) -> Result<Validity, CaError> {
    let time = |t: OffsetDateTime| {
        let seconds = u64::try_from(t.unix_timestamp()).map_err(|_| refused("time before 1970"))?;
        Time::try_from(std::time::UNIX_EPOCH + std::time::Duration::from_secs(seconds)).map_err(unavailable)
    };
    Ok(Validity::new(time(from)?, time(to)?))
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
