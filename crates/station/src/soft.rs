//! A software token in a directory: what stands in for a USB-Key where no PKCS#11 module has the
//! mechanism (SM2 on SoftHSM2), behind the same [`Token`] trait. The private key is a PKCS#8 file
//! readable by its owner only; nothing reads it back out but signing.

use std::path::{Path, PathBuf};

use domain::certificate::KeyAlgorithm;
use p256::elliptic_curve::Generate;
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey};
use signature::Signer;

use crate::{StationError, Token};

/// GM/T 0009's default distinguishing identifier, as the desk's CA verifies with.
const SM2_DISTID: &str = "1234567812345678";

/// What a software token keeps, beside the chain's `ca-{n}.der`.
const OWN_FILES: [&str; 7] = ["serial", "label", "key.p8", "public.der", "algorithm", "certificate.der", "seal.esl"];

#[derive(Debug)]
pub struct SoftToken {
    dir: PathBuf,
}

fn io(what: &'static str) -> impl Fn(std::io::Error) -> StationError {
    move |e| StationError::Token(format!("{what}：{e}"))
}

fn key_error(e: impl std::fmt::Display) -> StationError {
    StationError::Token(format!("软件介质的密钥无效：{e}"))
}

impl SoftToken {
    /// The token in `dir` (made when missing).
    pub fn open(dir: &Path) -> Result<Self, StationError> {
        std::fs::create_dir_all(dir).map_err(io("无法创建软件介质目录"))?;
        Ok(Self { dir: dir.to_owned() })
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn write_private(&self, name: &str, bytes: &[u8]) -> Result<(), StationError> {
        use std::io::Write;
        #[cfg(unix)]
        use std::os::unix::fs::OpenOptionsExt;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        options.mode(0o600);
        let mut file = options.open(self.path(name)).map_err(io("写入软件介质失败"))?;
        file.write_all(bytes).map_err(io("写入软件介质失败"))
    }

    fn algorithm(&self) -> Result<KeyAlgorithm, StationError> {
        let text = std::fs::read_to_string(self.path("algorithm")).map_err(io("软件介质上没有密钥"))?;
        KeyAlgorithm::parse(text.trim()).ok_or_else(|| StationError::Token("软件介质的算法未知".into()))
    }
}

impl Token for SoftToken {
    fn serial(&self) -> Result<String, StationError> {
        std::fs::read_to_string(self.path("serial")).map(|s| s.trim().to_owned()).map_err(io("软件介质尚未初始化"))
    }

    fn supports(&self, _: KeyAlgorithm) -> bool {
        true
    }

    fn initialise(&mut self, label: &str, _blank_so_pin: &str, _user_pin: &str) -> Result<(), StationError> {
        // Only the token's own files: a directory given by mistake loses nothing else.
        for entry in std::fs::read_dir(&self.dir).map_err(io("读取软件介质失败"))? {
            let entry = entry.map_err(io("读取软件介质失败"))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let ours = OWN_FILES.contains(&name.as_str())
                || name
                    .strip_prefix("ca-")
                    .and_then(|n| n.strip_suffix(".der"))
                    .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()));
            if ours && entry.file_type().map_err(io("读取软件介质失败"))?.is_file() {
                std::fs::remove_file(entry.path()).map_err(io("清空软件介质失败"))?;
            }
        }
        let serial: [u8; 8] = rand::random();
        std::fs::write(self.path("serial"), format!("SOFT{}", hex::encode_upper(serial)))
            .map_err(io("写入软件介质失败"))?;
        std::fs::write(self.path("label"), label).map_err(io("写入软件介质失败"))
    }

    fn generate(&mut self, algorithm: KeyAlgorithm) -> Result<Vec<u8>, StationError> {
        let (private, public) = match algorithm {
            KeyAlgorithm::EcdsaP256 => {
                let key = p256::SecretKey::generate();
                (key.to_pkcs8_der().map_err(key_error)?, key.public_key().to_public_key_der().map_err(key_error)?)
            }
            KeyAlgorithm::Sm2 => {
                let key = sm2::SecretKey::generate();
                (key.to_pkcs8_der().map_err(key_error)?, key.public_key().to_public_key_der().map_err(key_error)?)
            }
        };
        self.write_private("key.p8", private.as_bytes())?;
        std::fs::write(self.path("public.der"), public.as_bytes()).map_err(io("写入软件介质失败"))?;
        std::fs::write(self.path("algorithm"), algorithm.as_str()).map_err(io("写入软件介质失败"))?;
        Ok(public.as_bytes().to_vec())
    }

    fn sign(&mut self, message: &[u8]) -> Result<Vec<u8>, StationError> {
        let private = std::fs::read(self.path("key.p8")).map_err(io("软件介质上没有密钥"))?;
        match self.algorithm()? {
            KeyAlgorithm::EcdsaP256 => {
                let key = p256::ecdsa::SigningKey::from_pkcs8_der(&private).map_err(key_error)?;
                let signature: p256::ecdsa::Signature = key.try_sign(message).map_err(key_error)?;
                Ok(signature.to_der().as_bytes().to_vec())
            }
            KeyAlgorithm::Sm2 => {
                let secret = sm2::SecretKey::from_pkcs8_der(&private).map_err(key_error)?;
                let key = sm2::dsa::SigningKey::new(SM2_DISTID, &secret).map_err(key_error)?;
                let signature: sm2::dsa::Signature = key.try_sign(message).map_err(key_error)?;
                Ok(signature.to_der().as_bytes().to_vec())
            }
        }
    }

    fn store_certificates(&mut self, certificate: &[u8], chain: &[Vec<u8>]) -> Result<(), StationError> {
        std::fs::write(self.path("certificate.der"), certificate).map_err(io("写入证书失败"))?;
        for (n, der) in chain.iter().enumerate() {
            std::fs::write(self.path(&format!("ca-{n}.der")), der).map_err(io("写入证书失败"))?;
        }
        Ok(())
    }

    fn store_seal(&mut self, seal: &[u8]) -> Result<(), StationError> {
        std::fs::write(self.path("seal.esl"), seal).map_err(io("写入电子印章失败"))
    }

    fn read_seal(&mut self) -> Result<Option<Vec<u8>>, StationError> {
        match std::fs::read(self.path("seal.esl")) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StationError::Token(format!("读取电子印章失败：{e}"))),
        }
    }

    fn read_back(&mut self) -> Result<(Vec<u8>, Vec<u8>), StationError> {
        let certificate = std::fs::read(self.path("certificate.der")).map_err(io("读取证书失败"))?;
        let public = std::fs::read(self.path("public.der")).map_err(io("读取公钥失败"))?;
        Ok((certificate, public))
    }

    fn set_so_pin(&mut self, _: &str, _: &str) -> Result<(), StationError> {
        Ok(())
    }
}
