//! The seal-maker port: what the desk, as 制章者 (the party that makes electronic seals), needs
//! to make and check GB/T 38540 seals — draw the seal picture as PNG, sign a seal with the
//! seal-maker key and certificate, and read a seal file back with every check a relying party
//! makes. The `eseal` crate implements it; owned here, so use cases need no ASN.1 or crypto crate.

use domain::seal::{SealDrawing, SealKind};
use time::OffsetDateTime;

/// What a new seal says: GB/T 38540's `SES_SealInfo` before the maker signs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSeal {
    /// The seal's identifier (`esID`), unique among the seals we make.
    pub es_id: String,
    pub kind: SealKind,
    /// The name the seal is of: the company's or the person's.
    pub name: String,
    /// The holder's certificates (DER) the seal may be stamped with.
    pub holder_certificates: Vec<Vec<u8>>,
    pub created: OffsetDateTime,
    /// Within the holder's certificate's validity.
    pub valid_from: OffsetDateTime,
    pub valid_to: OffsetDateTime,
    /// The picture: a PNG with a transparent background, and its size on paper.
    pub picture_png: Vec<u8>,
    pub width_mm: u32,
    pub height_mm: u32,
}

/// What a seal is checked against: the CA certificates a relying party trusts (roots) and may
/// build a path through (issuing CAs), and the current revocation lists (DER).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trust {
    pub roots: Vec<Vec<u8>>,
    pub intermediates: Vec<Vec<u8>>,
    pub crls: Vec<Vec<u8>>,
}

/// A certificate named in a seal, as people read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateSummary {
    pub subject: String,
    pub issuer: String,
    /// Upper-case hex.
    pub serial: String,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
}

/// One check a relying party makes, and how it came out (the detail in Chinese).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealCheck {
    pub label: &'static str,
    pub passed: bool,
    pub detail: String,
}

/// A seal file read back, with every check made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealReport {
    pub version: u32,
    pub vendor: String,
    pub es_id: String,
    /// GB/T 38540's type code; [`SealKind`] when it is one of ours.
    pub kind_code: u32,
    pub name: String,
    pub created: OffsetDateTime,
    pub valid_from: OffsetDateTime,
    pub valid_to: OffsetDateTime,
    /// The picture's format as the seal names it (`PNG`, ...), its bytes and size on paper.
    pub picture_format: String,
    pub picture: Vec<u8>,
    pub width_mm: u32,
    pub height_mm: u32,
    pub maker: CertificateSummary,
    pub holders: Vec<CertificateSummary>,
    pub checks: Vec<SealCheck>,
}

impl SealReport {
    /// Whether every check passed.
    pub fn valid(&self) -> bool {
        self.checks.iter().all(|c| c.passed)
    }

    pub fn kind(&self) -> Option<SealKind> {
        SealKind::from_code(self.kind_code)
    }
}

/// The stamp lifted off a scanned 印章采样表: a PNG, and its size on paper (the longer side as
/// asked, the shorter in the scan's proportion).
#[derive(Debug, Clone, PartialEq)]
pub struct ScannedPicture {
    pub png: Vec<u8>,
    pub width_mm: f64,
    pub height_mm: f64,
}

/// Why a seal could not be made, drawn or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealFault {
    /// The file is not a GB/T 38540 seal we can read (the reason in Chinese).
    #[error("{0}")]
    Unreadable(String),
    /// The seal maker cannot work (no font, no key): a configuration or server fault.
    #[error("seal maker unavailable: {0}")]
    Unavailable(String),
}

pub trait SealMaker: Send + Sync {
    /// Draws the seal as a PNG at 300 dpi, red on transparent.
    fn picture(&self, drawing: &SealDrawing) -> Result<Vec<u8>, SealFault>;

    /// The stamp on a scanned 印章采样表 (an image), cropped, on transparency, as a PNG at 300 dpi
    /// whose longer side is `longer_mm`; `Unreadable` when no stamp is found on it.
    fn picture_from_scan(&self, scan: &[u8], longer_mm: f64) -> Result<ScannedPicture, SealFault>;

    /// Encodes and signs the seal (SM2 with SM3, by the seal-maker certificate); the DER file.
    fn make(&self, seal: &NewSeal) -> Result<Vec<u8>, SealFault>;

    /// Reads a seal file and checks it against `trust` as of `now`: its structure, the maker's
    /// signature and certificate path, the seal's validity, and each holder certificate's path,
    /// validity and revocation status. A file that is not a seal at all is `Unreadable`.
    fn inspect(&self, file: &[u8], trust: &Trust, now: OffsetDateTime) -> Result<SealReport, SealFault>;
}
