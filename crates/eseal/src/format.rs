//! GB/T 38540-2020's electronic seal (version 4), as DER:
//!
//! ```text
//! SESeal ::= SEQUENCE {
//!   eSealInfo   SES_SealInfo,
//!   cert        OCTET STRING,           -- the seal maker's certificate
//!   signAlgID   OBJECT IDENTIFIER,      -- SM2 with SM3
//!   signedValue BIT STRING }            -- over the DER of eSealInfo
//! SES_SealInfo ::= SEQUENCE {
//!   header SES_Header, esID IA5String, property SES_ESPropertyInfo,
//!   picture SES_ESPictrueInfo, extDatas ExtensionDatas OPTIONAL }
//! SES_Header ::= SEQUENCE { ID IA5String ("ES"), version INTEGER (4), Vid IA5String }
//! SES_ESPropertyInfo ::= SEQUENCE {
//!   type INTEGER, name UTF8String, certListType INTEGER,
//!   certList SES_CertList,                -- 1: SEQUENCE OF OCTET STRING (certificates)
//!   createDate GeneralizedTime, validStart GeneralizedTime, validEnd GeneralizedTime }
//! SES_ESPictrueInfo ::= SEQUENCE {
//!   type IA5String, data OCTET STRING, width INTEGER, height INTEGER }  -- millimetres
//! ```
//!
//! Decoding is strict DER with fixed nesting (no field recurses), integers bounded to `u32`,
//! and the whole file bounded before anything is read, so a hostile file costs milliseconds.

use der::asn1::{Any, BitString, GeneralizedTime, Ia5String, ObjectIdentifier, OctetString};
use der::{Decode, Encode, Sequence};
use x509_cert::ext::Extension;

/// SM2 signature with SM3 (GB/T 33560).
pub const SM2_WITH_SM3: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.156.10197.1.501");
/// The version of GB/T 38540-2020's structures.
pub const VERSION: u32 = 4;
/// The largest seal file read: a seal is a picture of a few dozen kilobytes and a few
/// certificates.
pub const MAX_FILE: usize = 2 * 1024 * 1024;
/// Certificates one seal may name.
pub const MAX_HOLDERS: usize = 16;
/// certListType: the certificates themselves.
pub const CERT_LIST_CERTIFICATES: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Sequence)]
pub struct Header {
    pub id: Ia5String,
    pub version: u32,
    pub vid: Ia5String,
}

#[derive(Debug, Clone, PartialEq, Eq, Sequence)]
pub struct PropertyInfo {
    pub kind: u32,
    pub name: String,
    pub cert_list_type: u32,
    /// `SES_CertList`, read by `cert_list_type`.
    pub cert_list: Any,
    pub create_date: GeneralizedTime,
    pub valid_start: GeneralizedTime,
    pub valid_end: GeneralizedTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Sequence)]
pub struct PictureInfo {
    pub kind: Ia5String,
    pub data: OctetString,
    pub width: u32,
    pub height: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Sequence)]
pub struct SealInfo {
    pub header: Header,
    pub es_id: Ia5String,
    pub property: PropertyInfo,
    pub picture: PictureInfo,
    #[asn1(optional = "true")]
    pub ext_datas: Option<Vec<Extension>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Sequence)]
pub struct SeSeal {
    pub info: SealInfo,
    pub cert: OctetString,
    pub sign_alg_id: ObjectIdentifier,
    pub signed_value: BitString,
}

/// A seal file taken apart: the structure, and the exact bytes the maker signed.
pub struct Parsed<'a> {
    pub seal: SeSeal,
    pub signed: &'a [u8],
}

/// Why a file is not a seal, in Chinese.
fn malformed(what: &str, err: &der::Error) -> String {
    format!("{what}格式错误（{err}）")
}

/// Reads a seal file. The signed bytes are `eSealInfo` as it stands in the file, not as we
/// would encode it again.
pub fn parse(file: &[u8]) -> Result<Parsed<'_>, String> {
    if file.is_empty() {
        return Err("文件为空".into());
    }
    if file.len() > MAX_FILE {
        return Err(format!("文件过大（上限 {} KB），不是电子印章", MAX_FILE / 1024));
    }
    // The typed read first: it checks the whole file is one well-formed seal.
    let seal = SeSeal::from_der(file).map_err(|e| malformed("电子印章", &e))?;
    let mut reader = der::SliceReader::new(file).map_err(|e| malformed("电子印章", &e))?;
    der::Header::decode(&mut reader).map_err(|e| malformed("电子印章", &e))?;
    let signed = der::Reader::tlv_bytes(&mut reader).map_err(|e| malformed("印章信息", &e))?;
    if seal.info.property.cert_list_type == CERT_LIST_CERTIFICATES {
        let count = certificates(&seal.info.property)?.len();
        if count > MAX_HOLDERS {
            return Err(format!("印章所列证书过多（{count} 张）"));
        }
    }
    Ok(Parsed { seal, signed })
}

/// The certificates (DER) a type-1 certificate list names.
pub fn certificates(property: &PropertyInfo) -> Result<Vec<Vec<u8>>, String> {
    let list: Vec<OctetString> = property.cert_list.decode_as().map_err(|e| malformed("证书列表", &e))?;
    Ok(list.into_iter().map(|o| o.into_bytes().into_vec()).collect())
}

/// A type-1 certificate list for `certificates` (DER each).
pub fn certificate_list(certificates: &[Vec<u8>]) -> der::Result<Any> {
    let list = certificates.iter().map(|c| OctetString::new(c.clone())).collect::<der::Result<Vec<OctetString>>>()?;
    Any::encode_from(&list)
}

impl SeSeal {
    pub fn encode(&self) -> der::Result<Vec<u8>> {
        self.to_der()
    }
}
