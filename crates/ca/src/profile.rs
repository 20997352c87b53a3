//! Our certificate profiles: what a root CA, an issuing CA and a USB-Key holder's certificate
//! carry and may be used for (RFC 5280 §4.2; GM/T 0015 keeps the same extensions for SM2).

use x509_cert::builder::Result;
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::certificate::TbsCertificate;
use x509_cert::ext::pkix::crl::dp::DistributionPoint;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, CrlDistributionPoints, ExtendedKeyUsage, KeyUsage, KeyUsages,
    SubjectKeyIdentifier,
};
use x509_cert::ext::{Extension, ToExtension};
use x509_cert::name::Name;
use x509_cert::spki::{ObjectIdentifier, SubjectPublicKeyInfoRef};

/// TLS client authentication and e-mail protection (RFC 5280 §4.2.1.12): what a USB-Key
/// certificate signs with, besides documents (non-repudiation).
const CLIENT_AUTH: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.2");
const EMAIL_PROTECTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.4");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// Self-signed; certifies issuing CAs only.
    Root,
    /// Certifies holders, never another CA (path length 0); signs the CRL.
    Issuing,
    /// The applicant's key on the USB-Key: signs, is not a CA.
    Holder,
    /// The desk's seal-maker key: signs electronic seals (non-repudiation), nothing else — no
    /// TLS or e-mail use, so a seal-maker certificate is never mistaken for a holder's.
    SealMaker,
}

pub(crate) struct Profile {
    pub role: Role,
    pub issuer: Name,
    pub subject: Name,
    /// Where the issuer's CRL is published (not for a root).
    pub crl_url: Option<String>,
}

impl BuilderProfile for Profile {
    fn get_issuer(&self, _subject: &Name) -> Name {
        self.issuer.clone()
    }

    fn get_subject(&self) -> Name {
        self.subject.clone()
    }

    fn build_extensions(
        &self,
        spk: SubjectPublicKeyInfoRef<'_>,
        issuer_spk: SubjectPublicKeyInfoRef<'_>,
        tbs: &TbsCertificate,
    ) -> Result<Vec<Extension>> {
        let mut extensions: Vec<Extension> = Vec::new();
        let ski = SubjectKeyIdentifier::try_from(spk)?;
        let aki = match self.role {
            Role::Root => ski.0.clone(),
            Role::Issuing | Role::Holder | Role::SealMaker => SubjectKeyIdentifier::try_from(issuer_spk)?.0,
        };
        extensions.push(
            AuthorityKeyIdentifier { key_identifier: Some(aki), ..Default::default() }
                .to_extension(tbs.subject(), &extensions)?,
        );
        let (ca, path_len_constraint) = match self.role {
            Role::Root => (true, None),
            Role::Issuing => (true, Some(0)),
            Role::Holder | Role::SealMaker => (false, None),
        };
        extensions.push(BasicConstraints { ca, path_len_constraint }.to_extension(tbs.subject(), &extensions)?);
        let usage = match self.role {
            Role::Root | Role::Issuing => KeyUsages::KeyCertSign | KeyUsages::CRLSign,
            Role::Holder | Role::SealMaker => KeyUsages::DigitalSignature | KeyUsages::NonRepudiation,
        };
        extensions.push(KeyUsage(usage).to_extension(tbs.subject(), &extensions)?);
        if self.role == Role::Holder {
            extensions
                .push(ExtendedKeyUsage(vec![CLIENT_AUTH, EMAIL_PROTECTION]).to_extension(tbs.subject(), &extensions)?);
        }
        if let Some(url) = &self.crl_url {
            let uri = der::asn1::Ia5String::new(url)?;
            let point = DistributionPoint {
                distribution_point: Some(DistributionPointName::FullName(vec![
                    GeneralName::UniformResourceIdentifier(uri),
                ])),
                reasons: None,
                crl_issuer: None,
            };
            extensions.push(CrlDistributionPoints(vec![point]).to_extension(tbs.subject(), &extensions)?);
        }
        extensions.push(ski.to_extension(tbs.subject(), &extensions)?);
        Ok(extensions)
    }
}
