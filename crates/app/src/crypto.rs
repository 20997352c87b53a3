//! Secrets and the primitives built on them: random tokens, keyed MACs for SMS codes and CSRF
//! tokens, sealing, constant-time comparison. Password hashing is [`crate::passwords`].

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretSlice};
use sha2::{Digest, Sha256};

use crate::StoreError;

/// The server's master secret, from which purpose-bound keys are derived.
pub struct Keys {
    master: SecretSlice<u8>,
}

impl Keys {
    /// `master` must be at least 32 bytes of CSPRNG output.
    pub fn new(master: Vec<u8>) -> Result<Self, StoreError> {
        if master.len() < 32 {
            return Err(StoreError::Other("secret key must be at least 32 bytes".into()));
        }
        Ok(Self { master: master.into() })
    }

    /// HMAC-SHA256 under a key derived for `purpose`, so one use can never stand in for another.
    pub fn mac(&self, purpose: &str, parts: &[&[u8]]) -> [u8; 32] {
        let mut derive = hmac_sha256(self.master.expose_secret());
        derive.update(purpose.as_bytes());
        let subkey = derive.finalize().into_bytes();
        let mut mac = hmac_sha256(&subkey);
        for part in parts {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }

    /// `mac` as URL-safe Base64, for tokens that travel in forms and headers.
    pub fn mac_token(&self, purpose: &str, parts: &[&[u8]]) -> String {
        URL_SAFE_NO_PAD.encode(self.mac(purpose, parts))
    }
}

fn hmac_sha256(key: &[u8]) -> Hmac<Sha256> {
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of any length"),
    }
}

impl Keys {
    /// Encrypts `plaintext` with AES-256-GCM under a key derived for `purpose` (a random 96-bit
    /// nonce per call; `purpose` is also the associated data, so a value sealed for one column
    /// cannot be opened as another). Returns `nonce || ciphertext` as URL-safe Base64.
    pub fn seal(&self, purpose: &str, plaintext: &str) -> Result<String, StoreError> {
        use aes_gcm::aead::{Aead, KeyInit, Payload};
        let cipher = aes_gcm::Aes256Gcm::new(&self.mac("seal", &[purpose.as_bytes()]).into());
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = cipher
            .encrypt(&nonce.into(), Payload { msg: plaintext.as_bytes(), aad: purpose.as_bytes() })
            .map_err(|_| StoreError::Other("encryption failed".into()))?;
        let mut out = nonce.to_vec();
        out.extend(sealed);
        Ok(URL_SAFE_NO_PAD.encode(out))
    }

    /// Reverses [`Keys::seal`]; fails on any tampering or a wrong purpose.
    pub fn open(&self, purpose: &str, sealed: &str) -> Result<String, StoreError> {
        use aes_gcm::aead::{Aead, KeyInit, Payload};
        let bytes =
            URL_SAFE_NO_PAD.decode(sealed).map_err(|_| StoreError::Other("sealed value is not base64".into()))?;
        if bytes.len() < 12 + 16 {
            return Err(StoreError::Other("sealed value too short".into()));
        }
        let (nonce, ciphertext) = bytes.split_at(12);
        let cipher = aes_gcm::Aes256Gcm::new(&self.mac("seal", &[purpose.as_bytes()]).into());
        let plain = cipher
            .decrypt(nonce.into(), Payload { msg: ciphertext, aad: purpose.as_bytes() })
            .map_err(|_| StoreError::Other("sealed value does not open".into()))?;
        String::from_utf8(plain).map_err(|_| StoreError::Other("sealed value is not text".into()))
    }

    /// Envelope-encrypts a blob: a fresh random data key per object encrypts it (AES-256-GCM,
    /// `label` as associated data), and the data key is sealed under the master key. Returns
    /// `(nonce || ciphertext, wrapped data key)`.
    pub fn seal_blob(&self, label: &str, plaintext: &[u8]) -> Result<(Vec<u8>, String), StoreError> {
        use aes_gcm::aead::{Aead, KeyInit, Payload};
        let mut data_key = [0u8; 32];
        rand::rng().fill_bytes(&mut data_key);
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        let cipher = aes_gcm::Aes256Gcm::new(&data_key.into());
        let sealed = cipher
            .encrypt(&nonce.into(), Payload { msg: plaintext, aad: label.as_bytes() })
            .map_err(|_| StoreError::Other("encryption failed".into()))?;
        let mut blob = nonce.to_vec();
        blob.extend(sealed);
        Ok((blob, self.seal("blob-key", &URL_SAFE_NO_PAD.encode(data_key))?))
    }

    /// Reverses [`Keys::seal_blob`].
    pub fn open_blob(&self, label: &str, blob: &[u8], wrapped_key: &str) -> Result<Vec<u8>, StoreError> {
        use aes_gcm::aead::{Aead, KeyInit, Payload};
        let data_key = URL_SAFE_NO_PAD
            .decode(self.open("blob-key", wrapped_key)?)
            .map_err(|_| StoreError::Other("data key is not base64".into()))?;
        let data_key: [u8; 32] =
            data_key.try_into().map_err(|_| StoreError::Other("data key has the wrong length".into()))?;
        if blob.len() < 12 + 16 {
            return Err(StoreError::Other("blob too short".into()));
        }
        let (nonce, ciphertext) = blob.split_at(12);
        aes_gcm::Aes256Gcm::new(&data_key.into())
            .decrypt(nonce.into(), Payload { msg: ciphertext, aad: label.as_bytes() })
            .map_err(|_| StoreError::Other("blob does not open".into()))
    }

    /// A keyed, deterministic index of a sensitive value, for equality lookups without storing
    /// the value (a different key from sealing, so the index reveals nothing about ciphertexts).
    pub fn blind_index(&self, purpose: &str, value: &str) -> String {
        self.mac_token("blind-index", &[purpose.as_bytes(), value.as_bytes()])
    }
}

/// 256 bits from the OS-seeded CSPRNG, URL-safe Base64.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What the store keeps of a bearer token: its SHA-256, hex. A leaked table yields no sessions.
pub fn token_digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Constant-time equality of two strings.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    constant_time_eq_bytes(a.as_bytes(), b.as_bytes())
}

/// Byte strings compared in time that depends on their length only.
pub fn constant_time_eq_bytes(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn macs_are_bound_to_their_purpose() {
        let keys = Keys::new(vec![7; 32]).unwrap();
        assert_ne!(keys.mac("csrf", &[b"x"]), keys.mac("sms", &[b"x"]));
        assert_ne!(keys.mac("csrf", &[b"ab", b"c"]), keys.mac("csrf", &[b"a", b"bc"]));
        assert!(Keys::new(vec![1; 16]).is_err());
    }

    #[test]
    fn sealed_values_open_only_with_the_same_key_and_purpose() {
        let keys = Keys::new(vec![7; 32]).unwrap();
        let sealed = keys.seal("holder_id", "11010519491231002X").unwrap();
        assert!(!sealed.contains("11010519491231002X"));
        assert_ne!(sealed, keys.seal("holder_id", "11010519491231002X").unwrap(), "fresh nonce each time");
        assert_eq!(keys.open("holder_id", &sealed).unwrap(), "11010519491231002X");
        assert!(keys.open("agent_id", &sealed).is_err(), "bound to its purpose");
        assert!(Keys::new(vec![8; 32]).unwrap().open("holder_id", &sealed).is_err(), "bound to the key");
        let mut tampered = URL_SAFE_NO_PAD.decode(&sealed).unwrap();
        tampered[20] ^= 1;
        assert!(keys.open("holder_id", &URL_SAFE_NO_PAD.encode(tampered)).is_err());
        assert_eq!(keys.blind_index("id", "x"), keys.blind_index("id", "x"));
        assert_ne!(keys.blind_index("id", "x"), keys.blind_index("id", "y"));
    }

    #[test]
    fn blobs_are_sealed_per_object_and_bound_to_their_label() {
        let keys = Keys::new(vec![7; 32]).unwrap();
        let (blob, wrapped) = keys.seal_blob("file-a", b"\xFF\xD8 jpeg bytes").unwrap();
        let (other_blob, other_wrapped) = keys.seal_blob("file-a", b"\xFF\xD8 jpeg bytes").unwrap();
        assert_ne!(wrapped, other_wrapped, "a data key per object");
        assert_ne!(blob, other_blob);
        assert!(!blob.windows(4).any(|w| w == b"jpeg"));
        assert_eq!(keys.open_blob("file-a", &blob, &wrapped).unwrap(), b"\xFF\xD8 jpeg bytes");
        assert!(keys.open_blob("file-b", &blob, &wrapped).is_err(), "bound to its label");
        assert!(keys.open_blob("file-a", &blob, &other_wrapped).is_err(), "needs its own key");
    }

    #[test]
    fn tokens_carry_256_bits() {
        let token = random_token();
        assert_eq!(URL_SAFE_NO_PAD.decode(&token).unwrap().len(), 32);
        assert_ne!(token, random_token());
    }
}
