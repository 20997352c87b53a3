//! Certificate authority adapters for the app's [`CertificateAuthority`](app::ca::CertificateAuthority) port.
//!
//! [`BuiltInCa`]: a root and an issuing CA per key algorithm — ECDSA P-256 with SHA-256, and SM2
//! with SM3 (GB/T 32918, the GM/T 0015 certificate profile) — that certify the keys tokens
//! generate, from their PKCS#10 requests. The certificate profiles (what a root, an issuing CA
//! and a USB-Key holder's certificate say and may do) are ours; the X.509 structures and
//! signatures come from RustCrypto's `x509-cert`, `p256` and `sm2`. The P-256 issuing key may
//! live on a PKCS#11 token (an HSM) instead of sealed on disk ([`HsmSettings`]).

mod builtin;
mod hsm;
mod profile;

pub use builtin::BuiltInCa;
pub use hsm::HsmSettings;
