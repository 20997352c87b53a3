//! The issuing CA's P-256 key on a PKCS#11 token — an HSM in production, SoftHSM2 in tests —
//! through the same `cryptoki` interface the production station uses: generated on the token
//! (sensitive, never extractable), found again by its label, every certificate and CRL signed
//! there (CKM_ECDSA over the SHA-256 digest).

use std::sync::Mutex;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;
use der::Decode;
use sha2::{Digest, Sha256};
use signature::{Keypair, Signer};
use spki::{AlgorithmIdentifier, SignatureAlgorithmIdentifier};

use app::ca::CaError;

/// prime256v1's OID, DER: the `CKA_EC_PARAMS` of a P-256 key.
const P256_PARAMS: [u8; 10] = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

/// Which token holds the issuing key, and how to log in to it.
#[derive(Clone)]
pub struct HsmSettings {
    /// The PKCS#11 module, e.g. `/usr/lib/softhsm/libsofthsm2.so`.
    pub module: String,
    /// The label of the (initialised) token.
    pub token_label: String,
    /// The token's user PIN.
    pub pin: String,
}

impl std::fmt::Debug for HsmSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HsmSettings")
            .field("module", &self.module)
            .field("token_label", &self.token_label)
            .finish_non_exhaustive()
    }
}

fn failed(what: &'static str) -> impl Fn(cryptoki::error::Error) -> CaError {
    move |e| CaError::Unavailable(format!("HSM: {what}: {e}"))
}

/// A signing key on the token.
pub(crate) struct HsmKey {
    pub(crate) label: String,
    public: p256::ecdsa::VerifyingKey,
    key: ObjectHandle,
    session: Mutex<Session>,
    // Keeps the module loaded for the session.
    _context: Pkcs11,
}

impl HsmKey {
    fn session(settings: &HsmSettings) -> Result<(Pkcs11, Session), CaError> {
        let context = Pkcs11::new(&settings.module).map_err(failed("cannot load the PKCS#11 module"))?;
        match context.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
            Ok(()) | Err(cryptoki::error::Error::Pkcs11(cryptoki::error::RvError::CryptokiAlreadyInitialized, _)) => {}
            Err(e) => return Err(failed("initialize")(e)),
        }
        let mut slot = None;
        for candidate in context.get_slots_with_initialized_token().map_err(failed("slots"))? {
            if context.get_token_info(candidate).map_err(failed("token info"))?.label() == settings.token_label {
                slot = Some(candidate);
            }
        }
        let slot =
            slot.ok_or_else(|| CaError::Unavailable(format!("HSM: no token labelled {:?}", settings.token_label)))?;
        let session = context.open_rw_session(slot).map_err(failed("open a session"))?;
        session.login(UserType::User, Some(&AuthPin::from(settings.pin.as_str()))).map_err(failed("log in"))?;
        Ok((context, session))
    }

    /// A new key pair on the token, labelled `label`.
    pub(crate) fn generate(settings: &HsmSettings, label: &str) -> Result<Self, CaError> {
        let (context, session) = Self::session(settings)?;
        let id = label.as_bytes().to_vec();
        let public = [
            Attribute::Token(true),
            Attribute::Private(false),
            Attribute::Verify(true),
            Attribute::EcParams(P256_PARAMS.to_vec()),
            Attribute::Id(id.clone()),
            Attribute::Label(id.clone()),
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
            Attribute::Id(id.clone()),
            Attribute::Label(id),
        ];
        session.generate_key_pair(&Mechanism::EccKeyPairGen, &public, &private).map_err(failed("generate a key"))?;
        Self::found(context, session, label)
    }

    /// The key pair labelled `label` already on the token.
    pub(crate) fn open(settings: &HsmSettings, label: &str) -> Result<Self, CaError> {
        let (context, session) = Self::session(settings)?;
        Self::found(context, session, label)
    }

    fn found(context: Pkcs11, session: Session, label: &str) -> Result<Self, CaError> {
        let find = |class: ObjectClass| -> Result<ObjectHandle, CaError> {
            let found = session
                .find_objects(&[Attribute::Class(class), Attribute::Label(label.as_bytes().to_vec())])
                .map_err(failed("find the key"))?;
            match found.as_slice() {
                [one] => Ok(*one),
                _ => Err(CaError::Unavailable(format!(
                    "HSM: expected one {class} labelled {label:?}, found {}",
                    found.len()
                ))),
            }
        };
        let key = find(ObjectClass::PRIVATE_KEY)?;
        let public_object = find(ObjectClass::PUBLIC_KEY)?;
        let attributes =
            session.get_attributes(public_object, &[AttributeType::EcPoint]).map_err(failed("read the public key"))?;
        let point = attributes
            .into_iter()
            .find_map(|a| if let Attribute::EcPoint(p) = a { Some(p) } else { None })
            .ok_or_else(|| CaError::Unavailable("HSM: the public key has no EC point".into()))?;
        let point = der::asn1::OctetString::from_der(&point).map(|o| o.as_bytes().to_vec()).unwrap_or(point);
        let public = p256::ecdsa::VerifyingKey::from_sec1_bytes(&point)
            .map_err(|e| CaError::Unavailable(format!("HSM: not a P-256 public key: {e}")))?;
        Ok(Self { label: label.to_owned(), public, key, session: Mutex::new(session), _context: context })
    }
}

impl Keypair for HsmKey {
    type VerifyingKey = p256::ecdsa::VerifyingKey;

    fn verifying_key(&self) -> Self::VerifyingKey {
        self.public
    }
}

impl Signer<p256::ecdsa::DerSignature> for HsmKey {
    fn try_sign(&self, message: &[u8]) -> signature::Result<p256::ecdsa::DerSignature> {
        let digest = Sha256::digest(message);
        let session = self.session.lock().map_err(|_| signature::Error::new())?;
        let raw = session.sign(&Mechanism::Ecdsa, self.key, &digest).map_err(signature::Error::from_source)?;
        let signature = p256::ecdsa::Signature::from_slice(&raw).map_err(signature::Error::from_source)?;
        Ok(signature.to_der())
    }
}

impl SignatureAlgorithmIdentifier for HsmKey {
    type Params = der::AnyRef<'static>;

    const SIGNATURE_ALGORITHM_IDENTIFIER: AlgorithmIdentifier<Self::Params> =
        <p256::ecdsa::SigningKey as SignatureAlgorithmIdentifier>::SIGNATURE_ALGORITHM_IDENTIFIER;
}
