//! The files an application carries (证件照片与其他材料) and the separate consent that must come
//! before any identity document is uploaded (PIPL Art. 29).

use crate::application::{Step, SubjectKind};
use crate::named_enum;

/// Largest accepted upload.
pub const MAX_UPLOAD_BYTES: usize = 10 * 1024 * 1024;
/// Largest accepted image side, in pixels, checked before decoding.
pub const MAX_IMAGE_SIDE: u32 = 8192;
/// Most pixels an accepted image may have (a 50-megapixel phone photo), checked before decoding.
pub const MAX_IMAGE_PIXELS: u64 = 50_000_000;
/// Longest side an image is stored at; larger photos are scaled down when they are re-encoded.
pub const STORED_IMAGE_SIDE: u32 = 4096;

named_enum! {
    pub enum DocumentKind {
        License => ("license", "营业执照"),
        HolderIdFront => ("holder_id_front", "身份证人像面（法定代表人/本人）"),
        HolderIdBack => ("holder_id_back", "身份证国徽面（法定代表人/本人）"),
        AgentIdFront => ("agent_id_front", "经办人身份证人像面"),
        AgentIdBack => ("agent_id_back", "经办人身份证国徽面"),
        ApplicationForm => ("application_form", "《“数字证书与电子签章”业务申请表》"),
        Authorization => ("authorization", "《授权委托及诚信承诺书》"),
        ServiceAgreement => ("service_agreement", "《服务协议》"),
        SealSpecimen => ("seal_specimen", "印章采样表（可选，用实物印章制作电子印章）"),
    }
}

impl DocumentKind {
    /// Identity documents: sensitive personal information, uploaded only after separate consent.
    pub fn is_identity(self) -> bool {
        matches!(self, Self::HolderIdFront | Self::HolderIdBack | Self::AgentIdFront | Self::AgentIdBack)
    }

    /// The signed and stamped forms may be scanned to PDF; everything else is a photo.
    pub fn accepts_pdf(self) -> bool {
        matches!(self, Self::ApplicationForm | Self::Authorization | Self::ServiceAgreement)
    }

    /// Whether an application of this subject kind may carry the document.
    pub fn applies_to(self, subject: SubjectKind) -> bool {
        self != Self::License || subject == SubjectKind::Enterprise
    }

    /// The step of the application form whose page holds the document's upload.
    pub fn step(self) -> Step {
        match self {
            Self::License | Self::HolderIdFront | Self::HolderIdBack => Step::Subject,
            Self::AgentIdFront | Self::AgentIdBack => Step::Agent,
            Self::ApplicationForm | Self::Authorization | Self::ServiceAgreement | Self::SealSpecimen => {
                Step::Materials
            }
        }
    }

    /// Uploaded if the applicant wishes; never missing. The 印章采样表 (a sheet stamped with the
    /// physical seal) lets the reviewer make the electronic seal from the real stamp.
    pub fn is_optional(self) -> bool {
        self == Self::SealSpecimen
    }
}

/// The version of the consent text; a new text needs a new consent.
pub const CONSENT_VERSION: &str = "2026-11-sensitive-pi-v1";

/// What the applicant agrees to, shown beside an unchecked box, separate from the terms of service.
pub const CONSENT_TEXT: &str = "我单独同意：为办理电子签章及数字证书业务，本系统收集、加密存储和处理我上传的身份证件照片、身份证号码等敏感个人信息，\
用于身份核验、资料审核和证书制作；这些信息仅在本系统服务器上处理（含文字识别），只有负责审核和制证的工作人员可以查看，\
按法律要求的期限保存后删除。我可以随时撤回同意，撤回后将无法继续办理本业务。";

/// Purposes recorded with a consent.
pub const CONSENT_PURPOSES: &str = "identity_verification,document_review,certificate_issuance";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_document_is_uploaded_on_a_step_before_the_order_is_confirmed() {
        use crate::application::Step;
        for kind in DocumentKind::ALL {
            assert!(matches!(kind.step(), Step::Subject | Step::Agent | Step::Materials), "{kind:?}");
        }
        assert_eq!(DocumentKind::License.step(), Step::Subject);
        assert_eq!(DocumentKind::SealSpecimen.step(), Step::Materials);
        let positions: Vec<usize> = Step::ALL.iter().map(|s| s.position()).collect();
        assert_eq!(positions, [0, 1, 2, 3, 4], "in the order they are filled");
        assert_eq!(Step::parse("materials"), Some(Step::Materials));
        assert_eq!(Step::parse("pay"), None);
        assert!(DocumentKind::SealSpecimen.is_optional() && !DocumentKind::License.is_optional());
    }

    #[test]
    fn identity_documents_need_consent_and_forms_accept_pdf() {
        assert!(DocumentKind::AgentIdBack.is_identity());
        assert!(!DocumentKind::License.is_identity());
        assert!(DocumentKind::ServiceAgreement.accepts_pdf());
        assert!(!DocumentKind::HolderIdFront.accepts_pdf());
        assert!(!DocumentKind::License.applies_to(SubjectKind::Personal));
        assert!(DocumentKind::AgentIdFront.applies_to(SubjectKind::Personal));
    }
}
