//! The PKCS#10 request a token signs: its public key and the subject the desk said it certifies
//! (the built-in CA takes the subject from the desk anyway; an external CA certifies what the
//! request names, and the desk refuses anything else), signed over the request info's DER.

use der::Tag;
use der::asn1::BitString;
use der::asn1::{Any, SetOfVec};
use der::{Decode, Encode};
use domain::certificate::KeyAlgorithm;
use spki::{AlgorithmIdentifierOwned, ObjectIdentifier, SubjectPublicKeyInfoOwned};
use x509_cert::Certificate;
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};

use crate::client::SubjectAttribute;
use x509_cert::request::{CertReq, CertReqInfo, Version};

use crate::StationError;

const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const SM2_WITH_SM3: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.156.10197.1.501");

fn bad(what: &str) -> impl Fn(der::Error) -> StationError + '_ {
    move |e| StationError::Check(format!("{what}：{e}"))
}

/// The DER request for `public_key` (SPKI DER), signed by `sign` over the request info.
pub fn build(
    public_key: &[u8],
    algorithm: KeyAlgorithm,
    subject: &[SubjectAttribute],
    sign: impl FnOnce(&[u8]) -> Result<Vec<u8>, StationError>,
) -> Result<Vec<u8>, StationError> {
    let public_key = SubjectPublicKeyInfoOwned::from_der(public_key).map_err(bad("介质返回的公钥无法解析"))?;
    let subject = name(subject)?;
    let info = CertReqInfo { version: Version::V1, subject, public_key, attributes: der::asn1::SetOfVec::default() };
    let tbs = info.to_der().map_err(bad("请求编码"))?;
    let signature = sign(&tbs)?;
    let oid = match algorithm {
        KeyAlgorithm::EcdsaP256 => ECDSA_WITH_SHA256,
        KeyAlgorithm::Sm2 => SM2_WITH_SM3,
    };
    let request = CertReq {
        info,
        algorithm: AlgorithmIdentifierOwned { oid, parameters: None },
        signature: BitString::from_bytes(&signature).map_err(bad("签名编码"))?,
    };
    request.to_der().map_err(bad("请求编码"))
}

/// The subject as a DER name: one attribute per RDN, in the desk's order; countries and serial
/// numbers as PrintableString (X.520's), text as UTF8String.
fn name(subject: &[SubjectAttribute]) -> Result<Name, StationError> {
    let mut rdns = RdnSequence::default();
    for attribute in subject {
        let oid = ObjectIdentifier::new(&attribute.oid)
            .map_err(|e| StationError::Check(format!("主题属性 {} 无效：{e}", attribute.oid)))?;
        let tag = if matches!(attribute.oid.as_str(), "2.5.4.6" | "2.5.4.5") {
            Tag::PrintableString
        } else {
            Tag::Utf8String
        };
        let value = Any::new(tag, attribute.value.as_bytes().to_vec()).map_err(bad("主题属性"))?;
        let set = SetOfVec::try_from(vec![AttributeTypeAndValue { oid, value }]).map_err(bad("主题属性"))?;
        rdns.push(RelativeDistinguishedName::try_from(set.into_vec()).map_err(bad("主题属性"))?);
    }
    Name::from_der(&rdns.to_der().map_err(bad("主题"))?).map_err(bad("主题"))
}

/// The public key (SPKI DER) a certificate certifies.
pub fn certified_key(certificate: &[u8]) -> Result<Vec<u8>, StationError> {
    let certificate = Certificate::from_der(certificate).map_err(bad("证书无法解析"))?;
    certificate.tbs_certificate().subject_public_key_info().to_der().map_err(bad("证书公钥"))
}
