//! A USB-Key behind a PKCS#11 module (the `cryptoki` crate): ECDSA P-256 keys generated on the
//! token, sensitive and never extractable; the certificate and the CA chain as certificate
//! objects beside the key (the holder's with the key's `CKA_ID`).

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, CertificateType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use der::{Decode, Encode};
use domain::certificate::KeyAlgorithm;
use sha2::{Digest, Sha256};
use x509_cert::Certificate;

use crate::{StationError, Token};

/// prime256v1's OID, DER: the `CKA_EC_PARAMS` of a P-256 key.
const P256_PARAMS: [u8; 10] = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
/// The holder key's and certificate's `CKA_ID`.
const KEY_ID: [u8; 2] = [0x53, 0x44];
/// The application (CKA_APPLICATION) the electronic seal's data object is filed under.
pub const SEAL_APPLICATION: &str = "GB/T 38540 electronic seal";

fn failed(what: &'static str) -> impl Fn(cryptoki::error::Error) -> StationError {
    move |e| StationError::Token(format!("{what}：{e}"))
}

/// The token in one slot of a PKCS#11 module.
pub struct Pkcs11Token {
    context: Pkcs11,
    slot: Slot,
    serial: String,
    user_pin: Option<AuthPin>,
}

impl std::fmt::Debug for Pkcs11Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11Token").field("serial", &self.serial).finish_non_exhaustive()
    }
}

impl Pkcs11Token {
    /// The token with serial number `serial` in `module`, or — without one — the only token
    /// present that is not initialised (a blank key).
    pub fn open(module: &str, serial: Option<&str>) -> Result<Self, StationError> {
        let context = Pkcs11::new(module).map_err(failed("无法加载 PKCS#11 模块"))?;
        match context.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
            Ok(()) | Err(cryptoki::error::Error::Pkcs11(cryptoki::error::RvError::CryptokiAlreadyInitialized, _)) => {}
            Err(e) => return Err(failed("PKCS#11 初始化失败")(e)),
        }
        let mut found = Vec::new();
        for slot in context.get_slots_with_token().map_err(failed("无法列出插槽"))? {
            let info = context.get_token_info(slot).map_err(failed("无法读取介质信息"))?;
            let wanted = match serial {
                Some(s) => info.serial_number().trim() == s.trim(),
                None => !info.token_initialized(),
            };
            if wanted {
                found.push((slot, info.serial_number().trim().to_owned()));
            }
        }
        match found.as_slice() {
            [(slot, serial)] => Ok(Self { context, slot: *slot, serial: serial.clone(), user_pin: None }),
            [] => Err(StationError::Token(match serial {
                Some(s) => format!("未找到序列号为 {s} 的介质"),
                None => "未找到空白介质，请插入新的 USB-Key（或用 --token-serial 指定要重新制作的介质）".into(),
            })),
            _ => Err(StationError::Token("插入了多个空白介质，请只保留一个，或用 --token-serial 指定".into())),
        }
    }

    fn user_session(&self) -> Result<Session, StationError> {
        let pin = self.user_pin.as_ref().ok_or_else(|| StationError::Token("介质尚未初始化".into()))?;
        let session = self.context.open_rw_session(self.slot).map_err(failed("无法打开会话"))?;
        session.login(UserType::User, Some(pin)).map_err(failed("用户 PIN 登录失败"))?;
        Ok(session)
    }

    fn find(session: &Session, class: ObjectClass) -> Result<ObjectHandle, StationError> {
        let found = session
            .find_objects(&[Attribute::Class(class), Attribute::Id(KEY_ID.to_vec())])
            .map_err(failed("查找对象失败"))?;
        match found.as_slice() {
            [one] => Ok(*one),
            _ => Err(StationError::Token(format!("介质上应有且仅有一个该类对象（找到 {} 个）", found.len()))),
        }
    }
}

impl Token for Pkcs11Token {
    fn serial(&self) -> Result<String, StationError> {
        Ok(self.serial.clone())
    }

    fn supports(&self, algorithm: KeyAlgorithm) -> bool {
        // SM2 is a vendor mechanism in PKCS#11 2.40; modules that have it are not yet supported.
        algorithm == KeyAlgorithm::EcdsaP256
    }

    fn initialise(&mut self, label: &str, blank_so_pin: &str, user_pin: &str) -> Result<(), StationError> {
        let so_pin = AuthPin::from(blank_so_pin);
        self.context
            .init_token(self.slot, &so_pin, label)
            .map_err(failed("介质初始化失败（SO PIN 是否为空白介质的默认值？）"))?;
        // Some modules (SoftHSM2 among them) give the token a new slot and keep its serial.
        let session = self.context.open_rw_session(self.slot).map_err(failed("无法打开会话"))?;
        session.login(UserType::So, Some(&so_pin)).map_err(failed("SO 登录失败"))?;
        let user = AuthPin::from(user_pin);
        session.init_pin(&user).map_err(failed("设置用户 PIN 失败"))?;
        session.logout().map_err(failed("退出登录失败"))?;
        self.user_pin = Some(user);
        // Initialising gives some tokens (SoftHSM2 among them) their serial number.
        let info = self.context.get_token_info(self.slot).map_err(failed("无法读取介质信息"))?;
        info.serial_number().trim().clone_into(&mut self.serial);
        Ok(())
    }

    fn generate(&mut self, algorithm: KeyAlgorithm) -> Result<Vec<u8>, StationError> {
        if algorithm != KeyAlgorithm::EcdsaP256 {
            return Err(StationError::Token(format!("该介质不支持 {}", algorithm.label())));
        }
        let session = self.user_session()?;
        let public = [
            Attribute::Token(true),
            Attribute::Private(false),
            Attribute::Verify(true),
            Attribute::Encrypt(false),
            Attribute::Wrap(false),
            Attribute::EcParams(P256_PARAMS.to_vec()),
            Attribute::Id(KEY_ID.to_vec()),
            Attribute::Label(b"sealdesk".to_vec()),
        ];
        let private = [
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Sign(true),
            Attribute::Decrypt(false),
            Attribute::Unwrap(false),
            Attribute::Derive(false),
            Attribute::Id(KEY_ID.to_vec()),
            Attribute::Label(b"sealdesk".to_vec()),
        ];
        let (public, _) =
            session.generate_key_pair(&Mechanism::EccKeyPairGen, &public, &private).map_err(failed("生成密钥失败"))?;
        public_key_of(&session, public)
    }

    fn sign(&mut self, message: &[u8]) -> Result<Vec<u8>, StationError> {
        let session = self.user_session()?;
        let key = Self::find(&session, ObjectClass::PRIVATE_KEY)?;
        let digest = Sha256::digest(message);
        let raw = session.sign(&Mechanism::Ecdsa, key, &digest).map_err(failed("介质签名失败"))?;
        let signature = p256::ecdsa::Signature::from_slice(&raw)
            .map_err(|e| StationError::Token(format!("介质返回的签名无法解析：{e}")))?;
        Ok(signature.to_der().as_bytes().to_vec())
    }

    fn store_certificates(&mut self, certificate: &[u8], chain: &[Vec<u8>]) -> Result<(), StationError> {
        let session = self.user_session()?;
        for (n, der) in std::iter::once(certificate).chain(chain.iter().map(Vec::as_slice)).enumerate() {
            let parsed = Certificate::from_der(der).map_err(|e| StationError::Check(format!("证书无法解析：{e}")))?;
            let subject =
                parsed.tbs_certificate().subject().to_der().map_err(|e| StationError::Check(e.to_string()))?;
            let (id, label) = if n == 0 {
                (KEY_ID.to_vec(), "sealdesk".to_owned())
            } else {
                (vec![0x43, 0x41, u8::try_from(n).unwrap_or(0)], format!("CA {n}"))
            };
            session
                .create_object(&[
                    Attribute::Class(ObjectClass::CERTIFICATE),
                    Attribute::CertificateType(CertificateType::X_509),
                    Attribute::Token(true),
                    Attribute::Private(false),
                    Attribute::Value(der.to_vec()),
                    Attribute::Subject(subject),
                    Attribute::Id(id),
                    Attribute::Label(label.into_bytes()),
                ])
                .map_err(failed("写入证书失败"))?;
        }
        Ok(())
    }

    fn store_seal(&mut self, seal: &[u8]) -> Result<(), StationError> {
        let session = self.user_session()?;
        session
            .create_object(&[
                Attribute::Class(ObjectClass::DATA),
                Attribute::Token(true),
                Attribute::Private(false),
                Attribute::Application(SEAL_APPLICATION.as_bytes().to_vec()),
                Attribute::Label("电子印章".as_bytes().to_vec()),
                Attribute::Value(seal.to_vec()),
            ])
            .map_err(failed("写入电子印章失败"))?;
        Ok(())
    }

    fn read_seal(&mut self) -> Result<Option<Vec<u8>>, StationError> {
        let session = self.user_session()?;
        let found = session
            .find_objects(&[
                Attribute::Class(ObjectClass::DATA),
                Attribute::Application(SEAL_APPLICATION.as_bytes().to_vec()),
            ])
            .map_err(failed("查找电子印章失败"))?;
        let Some(object) = found.first() else { return Ok(None) };
        let value = session.get_attributes(*object, &[AttributeType::Value]).map_err(failed("读取电子印章失败"))?;
        Ok(value.into_iter().find_map(|a| if let Attribute::Value(v) = a { Some(v) } else { None }))
    }

    fn read_back(&mut self) -> Result<(Vec<u8>, Vec<u8>), StationError> {
        let session = self.user_session()?;
        let certificate = Self::find(&session, ObjectClass::CERTIFICATE)?;
        let value = session.get_attributes(certificate, &[AttributeType::Value]).map_err(failed("读取证书失败"))?;
        let der = value
            .into_iter()
            .find_map(|a| if let Attribute::Value(v) = a { Some(v) } else { None })
            .ok_or_else(|| StationError::Token("证书对象没有内容".into()))?;
        let private = Self::find(&session, ObjectClass::PRIVATE_KEY)?;
        let flags = session
            .get_attributes(private, &[AttributeType::Extractable, AttributeType::Sensitive])
            .map_err(failed("读取密钥属性失败"))?;
        if !flags.iter().any(|a| matches!(a, Attribute::Extractable(false)))
            || !flags.iter().any(|a| matches!(a, Attribute::Sensitive(true)))
        {
            return Err(StationError::Check("介质上的私钥可以导出".into()));
        }
        let public = Self::find(&session, ObjectClass::PUBLIC_KEY)?;
        Ok((der, public_key_of(&session, public)?))
    }

    fn set_so_pin(&mut self, blank_so_pin: &str, so_pin: &str) -> Result<(), StationError> {
        let session = self.context.open_rw_session(self.slot).map_err(failed("无法打开会话"))?;
        let old = AuthPin::from(blank_so_pin);
        session.login(UserType::So, Some(&old)).map_err(failed("SO 登录失败"))?;
        session.set_pin(&old, &AuthPin::from(so_pin)).map_err(failed("设置 SO PIN 失败"))?;
        session.logout().map_err(failed("退出登录失败"))?;
        Ok(())
    }
}

/// The SPKI DER of an EC public key object (`CKA_EC_POINT` is a DER OCTET STRING of the point).
fn public_key_of(session: &Session, key: ObjectHandle) -> Result<Vec<u8>, StationError> {
    let attributes = session.get_attributes(key, &[AttributeType::EcPoint]).map_err(failed("读取公钥失败"))?;
    let point = attributes
        .into_iter()
        .find_map(|a| if let Attribute::EcPoint(p) = a { Some(p) } else { None })
        .ok_or_else(|| StationError::Token("公钥没有 EC_POINT".into()))?;
    let point = der::asn1::OctetString::from_der(&point).map(|o| o.as_bytes().to_vec()).unwrap_or(point);
    let key = p256::PublicKey::from_sec1_bytes(&point)
        .map_err(|e| StationError::Token(format!("介质返回的公钥无效：{e}")))?;
    let spki = p256::pkcs8::EncodePublicKey::to_public_key_der(&key)
        .map_err(|e| StationError::Token(format!("公钥编码失败：{e}")))?;
    Ok(spki.as_bytes().to_vec())
}
