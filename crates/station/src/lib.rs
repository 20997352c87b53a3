//! 制证工作站: makes an approved order's USB-Key on the fulfilment workstation.
//!
//! For one order the station: initialises the token with a fresh user PIN (the SO PIN stays the
//! blank key's until the very end, so a failure at any step leaves the token re-initialisable);
//! generates the key pair on the token (sensitive, never extractable); builds a PKCS#10 request
//! the token signs; sends it with the PINs to the desk, which checks the order is 待处理, builds
//! the subject from the approved application and has the CA certify the key; writes the
//! certificate and its chain to the token, reads them back and checks the token's key is the
//! certified one; and last sets the SO PIN the desk keeps sealed for a later unlock.
//!
//! A token is anything behind [`Token`]: a PKCS#11 module ([`pkcs11::Pkcs11Token`], SoftHSM2 in
//! tests, the key maker's module in production) or the software token ([`soft::SoftToken`]) that
//! stands in for SM2 where the module has no SM2 mechanism.

pub mod client;
pub mod local;
pub mod pkcs11;
pub mod request;
pub mod soft;

use domain::certificate::KeyAlgorithm;
use rand::Rng;

pub use client::{Desk, Issued};

/// What went wrong, with where: every message is for the operator at the workstation.
#[derive(Debug, thiserror::Error)]
pub enum StationError {
    #[error("介质操作失败：{0}")]
    Token(String),
    #[error("服务器拒绝：{0}")]
    Desk(String),
    #[error("无法连接服务器：{0}")]
    Network(String),
    #[error("校验失败：{0}")]
    Check(String),
}

/// A key store the station can make a USB-Key on.
pub trait Token {
    /// The token's serial number as its maker printed it.
    fn serial(&self) -> Result<String, StationError>;
    /// Whether the token can make keys of `algorithm`.
    fn supports(&self, algorithm: KeyAlgorithm) -> bool;
    /// Wipes the token (with the blank key's SO PIN) and gives it `label` and a new user PIN.
    fn initialise(&mut self, label: &str, blank_so_pin: &str, user_pin: &str) -> Result<(), StationError>;
    /// Generates a key pair that never leaves the token; returns its public key (SPKI DER).
    fn generate(&mut self, algorithm: KeyAlgorithm) -> Result<Vec<u8>, StationError>;
    /// Signs `message` with the token's key (hashing it as the algorithm says); DER signature.
    fn sign(&mut self, message: &[u8]) -> Result<Vec<u8>, StationError>;
    /// Stores the holder's certificate beside the key, and the CA chain.
    fn store_certificates(&mut self, certificate: &[u8], chain: &[Vec<u8>]) -> Result<(), StationError>;
    /// Stores the electronic seal (the GB/T 38540 file) beside the certificate.
    fn store_seal(&mut self, seal: &[u8]) -> Result<(), StationError>;
    /// The electronic seal as stored, if any.
    fn read_seal(&mut self) -> Result<Option<Vec<u8>>, StationError>;
    /// The holder certificate as stored, and the public key (SPKI DER) of the key it holds.
    fn read_back(&mut self) -> Result<(Vec<u8>, Vec<u8>), StationError>;
    /// Replaces the blank key's SO PIN with `so_pin`.
    fn set_so_pin(&mut self, blank_so_pin: &str, so_pin: &str) -> Result<(), StationError>;
}

/// How the station makes a key.
#[derive(Debug, Clone)]
pub struct Options {
    pub algorithm: KeyAlgorithm,
    /// The SO PIN of a blank key (the maker's default).
    pub blank_so_pin: String,
}

/// What was made.
#[derive(Debug, Clone)]
pub struct Report {
    pub token_serial: String,
    pub serial: String,
    pub subject: String,
    pub not_after: String,
    /// The certificate the new one replaced and revoked, if any.
    pub revoked: Option<String>,
    /// Whether the electronic seal was written to the token too.
    pub seal: bool,
}

/// A PIN of `len` digits from the OS's random source.
pub(crate) fn random_pin(len: usize) -> String {
    let mut rng = rand::rng();
    (0..len).map(|_| char::from(b'0' + rng.random_range(0..10u8))).collect()
}

/// Makes the key for order `order` on `token`.
pub async fn produce(
    desk: &Desk,
    token: &mut dyn Token,
    order: i64,
    options: &Options,
) -> Result<Report, StationError> {
    let summary = desk.order(order).await?;
    if summary.status != "processing" {
        return Err(StationError::Desk(format!(
            "订单 {} 当前为“{}”，只有待处理的订单可以制证",
            summary.order_no, summary.status_label
        )));
    }
    if !token.supports(options.algorithm) {
        return Err(StationError::Token(format!("该介质不支持 {}", options.algorithm.label())));
    }
    let user_pin = random_pin(8);
    let so_pin = random_pin(16);
    let label: String = format!("sealdesk {}", summary.order_no).chars().take(32).collect();
    token.initialise(&label, &options.blank_so_pin, &user_pin)?;
    let token_serial = token.serial()?;
    let public_key = token.generate(options.algorithm)?;
    let csr = request::build(&public_key, options.algorithm, &summary.subject, |tbs| token.sign(tbs))?;
    let issued = desk.certify(order, &csr, &token_serial, &user_pin, &so_pin).await?;
    token.store_certificates(&issued.certificate, &issued.chain)?;
    let (stored, key) = token.read_back()?;
    if stored != issued.certificate {
        return Err(StationError::Check("介质上读回的证书与签发的不一致".into()));
    }
    if request::certified_key(&stored)? != key {
        return Err(StationError::Check("证书中的公钥与介质上的密钥不匹配".into()));
    }
    if let Some(seal) = &issued.seal {
        token.store_seal(seal)?;
        if token.read_seal()?.as_ref() != Some(seal) {
            return Err(StationError::Check("介质上读回的电子印章与制作的不一致".into()));
        }
    }
    token.set_so_pin(&options.blank_so_pin, &so_pin)?;
    Ok(Report {
        token_serial,
        serial: issued.serial,
        subject: issued.subject,
        not_after: issued.not_after,
        revoked: issued.revoked,
        seal: issued.seal.is_some(),
    })
}
