//! The CMP messages the desk sends and what it takes from the answers, on cmpv2's structures:
//! each outgoing message protected with PBM; each answer's MAC checked over its header and body
//! exactly as received, its transaction and nonce matched to the request.

use cmpv2::body::PkiBody;
use cmpv2::certified_key_pair::CertOrEncCert;
use cmpv2::header::{PkiHeader, Pvno};
use cmpv2::message::{PkiMessage, ProtectedPart};
use cmpv2::parameter::PbmParameter;
use cmpv2::rev::RevDetails;
use cmpv2::status::{CertStatus, PkiStatus, PkiStatusInfo};
use crmf::request::CertTemplate;
use der::asn1::{Any, BitString, GeneralizedTime, Int, ObjectIdentifier, OctetString, Utf8StringRef};
use der::{Decode, Encode, Header, Length, Reader, SliceReader, Tag};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use x509_cert_02::Certificate;
use x509_cert_02::ext::Extension;
use x509_cert_02::ext::pkix::name::GeneralName;
use x509_cert_02::name::Name;
use x509_cert_02::request::CertReq;
use x509_cert_02::serial_number::SerialNumber;

use app::ca::CaError;

use crate::{CmpSettings, der_of, unavailable};

const PASSWORD_BASED_MAC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113533.7.66.13");
const SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const HMAC_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.2.9");
const HMAC_SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.8.1.2");
const CRL_REASON: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.21");
/// Iterations of the one-way function; RFC 9483 §4.1 asks for at least 500… and a CA may ask for
/// more in its own answers (at most [`MAX_ITERATIONS`] are computed).
const ITERATIONS: u64 = 10_000;
const MAX_ITERATIONS: u64 = 100_000;

fn bad_answer(what: impl std::fmt::Display) -> CaError {
    CaError::Unavailable(format!("CMP: {what}"))
}

/// The password-based MAC (RFC 4210 §5.1.3.1): the key is the one-way function applied
/// `iterationCount` times to secret ‖ salt; the MAC covers the DER of header and body.
#[derive(Debug, Clone, Copy)]
pub struct Protection;

impl Protection {
    fn fresh() -> Result<PbmParameter, CaError> {
        let salt: [u8; 16] = rand::random();
        Ok(PbmParameter {
            salt: OctetString::new(salt.to_vec()).map_err(unavailable)?,
            owf: spki_alg(SHA256),
            iteration_count: ITERATIONS,
            mac: spki_alg(HMAC_SHA256),
        })
    }

    fn mac(secret: &[u8], p: &PbmParameter, data: &[u8]) -> Result<Vec<u8>, CaError> {
        if p.owf.oid != SHA256 {
            return Err(bad_answer(format!("unsupported one-way function {}", p.owf.oid)));
        }
        if p.iteration_count == 0 || p.iteration_count > MAX_ITERATIONS {
            return Err(bad_answer("PBM iteration count out of range"));
        }
        let mut key = Sha256::new().chain_update(secret).chain_update(p.salt.as_bytes()).finalize().to_vec();
        for _ in 1..p.iteration_count {
            key = Sha256::digest(&key).to_vec();
        }
        let mac = match p.mac.oid {
            HMAC_SHA256 => {
                let mut m = <Hmac<Sha256> as Mac>::new_from_slice(&key).map_err(unavailable)?;
                m.update(data);
                m.finalize().into_bytes().to_vec()
            }
            HMAC_SHA1 => {
                let mut m = <Hmac<sha1::Sha1> as Mac>::new_from_slice(&key).map_err(unavailable)?;
                m.update(data);
                m.finalize().into_bytes().to_vec()
            }
            other => return Err(bad_answer(format!("unsupported MAC {other}"))),
        };
        Ok(mac)
    }
}

fn spki_alg(oid: ObjectIdentifier) -> x509_cert_02::spki::AlgorithmIdentifierOwned {
    x509_cert_02::spki::AlgorithmIdentifierOwned { oid, parameters: None }
}

fn octets(bytes: &[u8]) -> Result<OctetString, CaError> {
    OctetString::new(bytes.to_vec()).map_err(unavailable)
}

enum Body {
    P10cr(Vec<u8>),
    CertConf { hash: Vec<u8>, accepted: bool },
    Rr { issuer: Name, serial: Vec<u8>, reason: u8 },
}

/// A message to send: its transaction, nonces and body.
pub struct Outgoing {
    transaction: Vec<u8>,
    nonce: Vec<u8>,
    recip_nonce: Option<Vec<u8>>,
    body: Body,
}

fn random16() -> Vec<u8> {
    let bytes: [u8; 16] = rand::random();
    bytes.to_vec()
}

impl Outgoing {
    /// A `p10cr` for the station's request (checked to be one).
    pub fn p10cr(request: &[u8]) -> Result<Self, CaError> {
        CertReq::from_der(request).map_err(|_| CaError::BadRequest("not a PKCS#10 certificate request".into()))?;
        Ok(Self { transaction: random16(), nonce: random16(), recip_nonce: None, body: Body::P10cr(request.to_vec()) })
    }

    /// The `certConf` of the transaction `answer` belongs to: the certificate accepted or not.
    pub fn cert_conf(answer: &Answer, hash: &[u8], accepted: bool) -> Self {
        Self {
            transaction: answer.transaction.clone(),
            nonce: random16(),
            recip_nonce: Some(answer.nonce.clone()),
            body: Body::CertConf { hash: hash.to_vec(), accepted },
        }
    }

    /// An `rr` for the certificate `serial` of `issuer`, with the CRL reason code.
    pub fn rr(issuer: &Name, serial: &[u8], reason: u8) -> Self {
        Self {
            transaction: random16(),
            nonce: random16(),
            recip_nonce: None,
            body: Body::Rr { issuer: issuer.clone(), serial: serial.to_vec(), reason },
        }
    }

    fn body(&self) -> Result<PkiBody<'static>, CaError> {
        Ok(match &self.body {
            Body::P10cr(request) => PkiBody::P10cr(CertReq::from_der(request).map_err(unavailable)?),
            Body::CertConf { hash, accepted } => {
                let status = if *accepted { PkiStatus::Accepted } else { PkiStatus::Rejection };
                PkiBody::CertConf(vec![CertStatus {
                    cert_hash: octets(hash)?,
                    cert_req_id: Int::new(&[0xFF]).map_err(unavailable)?,
                    status_info: Some(PkiStatusInfo { status, status_string: None, fail_info: None }),
                }])
            }
            Body::Rr { issuer, serial, reason } => {
                let template = CertTemplate {
                    version: None,
                    serial_number: Some(SerialNumber::new(serial).map_err(|_| CaError::Unknown)?),
                    signature: None,
                    issuer: Some(issuer.clone()),
                    validity: None,
                    subject: None,
                    subject_public_key_info: None,
                    issuer_unique_id: None,
                    subject_unique_id: None,
                    extensions: None,
                };
                // CRLReason ::= ENUMERATED
                let reason =
                    Extension { extn_id: CRL_REASON, critical: false, extn_value: octets(&[0x0A, 0x01, *reason])? };
                PkiBody::Rr(vec![RevDetails { cert_details: template, crl_entry_details: Some(vec![reason]) }])
            }
        })
    }

    /// The protected message, DER.
    pub fn encode(&self, settings: &CmpSettings, now: time::OffsetDateTime) -> Result<Vec<u8>, CaError> {
        let parameters = Protection::fresh()?;
        let algorithm = x509_cert_02::spki::AlgorithmIdentifierOwned {
            oid: PASSWORD_BASED_MAC,
            parameters: Some(Any::encode_from(&parameters).map_err(unavailable)?),
        };
        let recipient: Name = settings
            .recipient
            .parse()
            .map_err(|e| unavailable(format!("CMP: the CA's name {:?} is not a name: {e}", settings.recipient)))?;
        let seconds = u64::try_from(now.unix_timestamp()).map_err(unavailable)?;
        let now = GeneralizedTime::from_unix_duration(std::time::Duration::from_secs(seconds)).map_err(unavailable)?;
        let header = PkiHeader {
            pvno: Pvno::Cmp2000,
            sender: GeneralName::DirectoryName(Name::default()),
            recipient: GeneralName::DirectoryName(recipient),
            message_time: Some(now),
            protection_alg: Some(algorithm),
            sender_kid: Some(octets(settings.reference.as_bytes())?),
            recip_kid: None,
            trans_id: Some(octets(&self.transaction)?),
            sender_nonce: Some(octets(&self.nonce)?),
            recip_nonce: self.recip_nonce.as_deref().map(octets).transpose()?,
            free_text: None,
            general_info: None,
        };
        let body = self.body()?;
        let protected = ProtectedPart { header: header.clone(), body: body.clone() }.to_der().map_err(unavailable)?;
        let mac = Protection::mac(settings.secret.as_bytes(), &parameters, &protected)?;
        let message = PkiMessage {
            header,
            body,
            protection: Some(BitString::from_bytes(&mac).map_err(unavailable)?),
            extra_certs: None,
        };
        message.to_der().map_err(unavailable)
    }
}

/// `ErrorMsgContent`, read for its texts.
#[derive(der::Sequence)]
struct ErrorContent<'a> {
    status: PkiStatusInfo<'a>,
    error_code: Option<u64>,
    error_details: Option<Vec<Utf8StringRef<'a>>>,
}

enum Content {
    Certificate { status: PkiStatus, texts: String, certificate: Option<Vec<u8>> },
    Confirmed,
    Revoked { status: Option<PkiStatus>, texts: String },
    Error(String),
    Other(&'static str),
}

/// A certificate the CA answered: parsed, as DER, and the extra certificates that came with it.
pub struct Certified {
    pub certificate: Certificate,
    pub der: Vec<u8>,
    pub extra: Vec<Vec<u8>>,
}

/// What the desk takes from an answer.
pub struct Answer {
    transaction: Vec<u8>,
    nonce: Vec<u8>,
    extra_certs: Vec<Vec<u8>>,
    content: Content,
}

fn texts(status: &PkiStatusInfo<'_>) -> String {
    status
        .status_string
        .as_ref()
        .map(|t| t.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("; "))
        .unwrap_or_default()
}

/// The DER of `SEQUENCE { header, body }` as the answer carried them (the MAC covers these bytes,
/// not a re-encoding).
fn protected_part(message: &[u8]) -> Result<Vec<u8>, CaError> {
    let mut reader = SliceReader::new(message).map_err(bad_answer)?;
    Header::decode(&mut reader).map_err(bad_answer)?;
    let header = reader.tlv_bytes().map_err(bad_answer)?;
    let body = reader.tlv_bytes().map_err(bad_answer)?;
    let length = Length::try_from(header.len() + body.len()).map_err(bad_answer)?;
    let mut out = Header::new(Tag::Sequence, length).map_err(bad_answer)?.to_der().map_err(bad_answer)?;
    out.extend_from_slice(header);
    out.extend_from_slice(body);
    Ok(out)
}

impl Answer {
    pub fn decode(bytes: &[u8], request: &Outgoing, settings: &CmpSettings) -> Result<Self, CaError> {
        let message =
            PkiMessage::from_der(bytes).map_err(|e| bad_answer(format!("the answer is not a PKIMessage: {e}")))?;
        let header = &message.header;
        let algorithm = header.protection_alg.as_ref().ok_or_else(|| bad_answer("the CA's answer is not protected"))?;
        if algorithm.oid != PASSWORD_BASED_MAC {
            return Err(bad_answer(format!("unexpected protection {}", algorithm.oid)));
        }
        let parameters: PbmParameter = algorithm
            .parameters
            .as_ref()
            .ok_or_else(|| bad_answer("PBM without parameters"))?
            .decode_as()
            .map_err(bad_answer)?;
        let expected = Protection::mac(settings.secret.as_bytes(), &parameters, &protected_part(bytes)?)?;
        let got = message.protection.as_ref().and_then(BitString::as_bytes).unwrap_or_default();
        if !app::crypto::constant_time_eq_bytes(&expected, got) {
            return Err(bad_answer("the answer's protection does not verify (wrong shared secret?)"));
        }
        let transaction = header.trans_id.as_ref().map(|t| t.as_bytes().to_vec()).unwrap_or_default();
        if transaction != request.transaction {
            return Err(bad_answer("the answer belongs to another transaction"));
        }
        if header.recip_nonce.as_ref().map(OctetString::as_bytes) != Some(request.nonce.as_slice()) {
            return Err(bad_answer("the answer does not echo our nonce"));
        }
        let nonce = header.sender_nonce.as_ref().map(|n| n.as_bytes().to_vec()).unwrap_or_default();
        let extra_certs = message.extra_certs.iter().flatten().map(der_of).collect::<Result<Vec<_>, _>>()?;
        let content = match &message.body {
            PkiBody::Cp(reply) => {
                let response = reply.response.first().ok_or_else(|| bad_answer("an empty certificate answer"))?;
                let certificate = match response.certified_key_pair.as_ref().map(|k| &k.cert_or_enc_cert) {
                    Some(CertOrEncCert::Certificate(c)) => Some(der_of(c)?),
                    Some(CertOrEncCert::EncryptedCert(_)) => return Err(bad_answer("an encrypted certificate")),
                    None => None,
                };
                Content::Certificate { status: response.status.status, texts: texts(&response.status), certificate }
            }
            PkiBody::PkiConf(_) => Content::Confirmed,
            PkiBody::Rp(reply) => Content::Revoked {
                status: reply.status.first().map(|s| s.status),
                texts: reply.status.first().map(texts).unwrap_or_default(),
            },
            PkiBody::Error(error) => {
                let error = error.to_der().map_err(bad_answer)?;
                let error = ErrorContent::from_der(&error).map_err(bad_answer)?;
                let details = error.error_details.iter().flatten().map(|s| s.as_str()).collect::<Vec<_>>().join("; ");
                let code = error.error_code.map(|c| format!(" (code {c})")).unwrap_or_default();
                Content::Error(format!(
                    "{}{}{code}",
                    texts(&error.status),
                    if details.is_empty() { String::new() } else { format!(": {details}") }
                ))
            }
            _ => Content::Other("an unexpected kind of answer"),
        };
        Ok(Self { transaction, nonce, extra_certs, content })
    }

    /// The certificate of a `cp`, with the CA's extra certificates (DER).
    pub fn certificate(&self) -> Result<Certified, CaError> {
        match &self.content {
            Content::Certificate {
                status: PkiStatus::Accepted | PkiStatus::GrantedWithMods,
                certificate: Some(der),
                ..
            } => {
                let certificate = Certificate::from_der(der).map_err(bad_answer)?;
                Ok(Certified { certificate, der: der.clone(), extra: self.extra_certs.clone() })
            }
            Content::Certificate { texts, .. } => {
                Err(CaError::BadRequest(format!("the CA refused the request: {texts}")))
            }
            Content::Error(text) => Err(CaError::BadRequest(format!("the CA refused the request: {text}"))),
            _ => Err(bad_answer("no certificate in the CA's answer")),
        }
    }

    /// The CA took the `certConf`.
    pub fn confirmed(&self) -> Result<(), CaError> {
        match &self.content {
            Content::Confirmed => Ok(()),
            Content::Error(text) => Err(bad_answer(format!("the CA refused the confirmation: {text}"))),
            _ => Err(bad_answer("the CA did not confirm")),
        }
    }

    /// The CA revoked the certificate.
    pub fn revoked(&self) -> Result<(), CaError> {
        match &self.content {
            Content::Revoked { status: Some(PkiStatus::Accepted | PkiStatus::GrantedWithMods), .. } => Ok(()),
            Content::Revoked { texts, .. } => {
                Err(CaError::BadRequest(format!("the CA refused the revocation: {texts}")))
            }
            Content::Error(text) if text.contains("wrong certificate") => Err(CaError::Unknown),
            Content::Error(text) => Err(CaError::BadRequest(format!("the CA refused the revocation: {text}"))),
            Content::Other(what) => Err(bad_answer(what)),
            _ => Err(bad_answer("no revocation answer")),
        }
    }
}
