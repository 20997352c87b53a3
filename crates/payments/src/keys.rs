//! RSA keys from PEM or DER: PKCS#8 private keys (what the Java SDK uses), X.509 SPKI public keys
//! (Alipay's published format). Signing uses aws-lc-rs, which is constant-time; the `rsa` crate is
//! avoided on purpose (it documents itself as vulnerable to timing attacks when signing).

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{self, KeyPair as _, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("not PEM or base64 DER")]
    Encoding,
    #[error("not an RSA PKCS#8 private key of at least 2048 bits")]
    Rejected,
    #[error("signing failed")]
    Signing,
}

/// Accepts PEM (any `-----BEGIN ...-----` armour) or bare base64 DER, as merchants paste keys.
pub fn der_from_text(text: &str) -> Result<Vec<u8>, KeyError> {
    let body: String = text.lines().filter(|l| !l.starts_with("-----")).flat_map(|l| l.trim().chars()).collect();
    STANDARD.decode(body).map_err(|_| KeyError::Encoding)
}

/// A private key that signs with SHA256withRSA (PKCS#1 v1.5).
pub struct SigningKey(KeyPair);

impl SigningKey {
    pub fn from_pkcs8(text: &str) -> Result<Self, KeyError> {
        KeyPair::from_pkcs8(&der_from_text(text)?).map(Self).map_err(|_| KeyError::Rejected)
    }

    /// A fresh 2048-bit key (simulators and tests).
    pub fn generate() -> Result<Self, KeyError> {
        KeyPair::generate(KeySize::Rsa2048).map(Self).map_err(|_| KeyError::Rejected)
    }

    /// The private key as PKCS#8 PEM (to store a generated dev key).
    pub fn to_pem(&self) -> Result<String, KeyError> {
        let der = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der<'static>>::as_der(&self.0).map_err(|_| KeyError::Signing)?;
        Ok(pem("PRIVATE KEY", der.as_ref()))
    }

    /// The public key as X.509 SPKI PEM (what the other side pins).
    pub fn public_pem(&self) -> Result<String, KeyError> {
        let der = self.0.public_key().as_der().map_err(|_| KeyError::Signing)?;
        Ok(pem("PUBLIC KEY", der.as_ref()))
    }

    /// Base64 of the SHA256withRSA signature of `message`.
    pub fn sign(&self, message: &[u8]) -> Result<String, KeyError> {
        let mut signature = vec![0; self.0.public_modulus_len()];
        self.0
            .sign(&signature::RSA_PKCS1_SHA256, &SystemRandom::new(), message, &mut signature)
            .map_err(|_| KeyError::Signing)?;
        Ok(STANDARD.encode(signature))
    }
}

/// A public key that verifies SHA256withRSA signatures.
#[derive(Clone)]
pub struct VerifyingKey(Vec<u8>);

impl VerifyingKey {
    pub fn from_spki(text: &str) -> Result<Self, KeyError> {
        der_from_text(text).map(Self)
    }

    /// Whether `signature_b64` is a valid signature of `message`.
    pub fn verify(&self, message: &[u8], signature_b64: &str) -> bool {
        let Ok(signature) = STANDARD.decode(signature_b64.trim()) else { return false };
        UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, &self.0).verify(message, &signature).is_ok()
    }

    /// Whether `signature` (raw bytes) verifies under `algorithm` (CPCN's SHA1withRSA).
    pub fn verify_with(&self, algorithm: &'static signature::RsaParameters, message: &[u8], signature: &[u8]) -> bool {
        UnparsedPublicKey::new(algorithm, &self.0).verify(message, signature).is_ok()
    }
}

fn pem(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let lines: Vec<&str> = body.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap_or_default()).collect();
    format!("-----BEGIN {label}-----\n{}\n-----END {label}-----\n", lines.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_survive_pem_and_sign_verifiably() {
        let key = SigningKey::generate().unwrap();
        let again = SigningKey::from_pkcs8(&key.to_pem().unwrap()).unwrap();
        let public = VerifyingKey::from_spki(&key.public_pem().unwrap()).unwrap();
        let signature = again.sign(b"app_id=1&method=x").unwrap();
        assert!(public.verify(b"app_id=1&method=x", &signature));
        assert!(!public.verify(b"app_id=1&method=y", &signature));
        assert!(!public.verify(b"app_id=1&method=x", "not base64!"));
        assert!(SigningKey::from_pkcs8("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----").is_err());
    }
}
