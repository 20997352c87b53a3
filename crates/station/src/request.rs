//! The PKCS#10 request a token signs: its public key, a subject naming only the order (the desk
//! ignores it and builds the real one), signed over the request info's DER.

use der::asn1::BitString;
use der::{Decode, Encode};
use domain::certificate::KeyAlgorithm;
use spki::{AlgorithmIdentifierOwned, ObjectIdentifier, SubjectPublicKeyInfoOwned};
use x509_cert::Certificate;
use x509_cert::name::Name;
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
    order_no: &str,
    sign: impl FnOnce(&[u8]) -> Result<Vec<u8>, StationError>,
) -> Result<Vec<u8>, StationError> {
    let public_key = SubjectPublicKeyInfoOwned::from_der(public_key).map_err(bad("介质返回的公钥无法解析"))?;
    let order_no: String = order_no.chars().filter(char::is_ascii_alphanumeric).collect();
    let subject: Name = format!("CN=order-{order_no}").parse().map_err(bad("请求主题"))?;
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

/// The public key (SPKI DER) a certificate certifies.
pub fn certified_key(certificate: &[u8]) -> Result<Vec<u8>, StationError> {
    let certificate = Certificate::from_der(certificate).map_err(bad("证书无法解析"))?;
    certificate.tbs_certificate().subject_public_key_info().to_der().map_err(bad("证书公钥"))
}
