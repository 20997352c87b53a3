//! What an application is about (业务类型): a company or a person, a new key or a replacement,
//! and the kinds of applicant the form offers.

use crate::named_enum;

named_enum! {
    /// The steps of the application form (在线补办/新办), in the order they are filled.
    pub enum Step {
        Package => ("package", "选择套餐"),
        Subject => ("subject", "主体信息"),
        Agent => ("agent", "经办人信息"),
        Materials => ("materials", "其他材料"),
        Confirm => ("confirm", "确认订单"),
    }
}

impl Step {
    /// Where it stands in the form (0 first).
    pub fn position(self) -> usize {
        Self::ALL.iter().position(|s| *s == self).unwrap_or(0)
    }
}

named_enum! {
    /// 企业 (a key carrying the company seal) or 个人 (a personal signature).
    pub enum SubjectKind {
        Enterprise => ("enterprise", "企业"),
        Personal => ("personal", "个人"),
    }
}

impl SubjectKind {
    /// The 用户类型 choices offered for this kind of subject.
    pub fn user_types(self) -> &'static [UserType] {
        match self {
            Self::Enterprise => &[
                UserType::Enterprise,
                UserType::IndividualBusiness,
                UserType::PublicInstitution,
                UserType::GovernmentAgency,
                UserType::SocialOrganization,
                UserType::OtherOrganization,
            ],
            Self::Personal => &[UserType::Individual, UserType::IndividualBusiness],
        }
    }
}

named_enum! {
    /// 新办 or 补办.
    pub enum Business {
        New => ("new", "新办"),
        Replacement => ("replacement", "补办"),
    }
}

named_enum! {
    /// Why a key is replaced (补办原因).
    pub enum ReplacementReason {
        Lost => ("lost", "遗失"),
        Damaged => ("damaged", "损坏"),
        Other => ("other", "其他"),
    }
}

named_enum! {
    /// 用户类型.
    pub enum UserType {
        Enterprise => ("enterprise", "企业"),
        IndividualBusiness => ("individual_business", "个体工商户"),
        PublicInstitution => ("public_institution", "事业单位"),
        GovernmentAgency => ("government_agency", "机关"),
        SocialOrganization => ("social_organization", "社会团体"),
        OtherOrganization => ("other_organization", "其他组织"),
        Individual => ("individual", "个人"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for t in UserType::ALL {
            assert_eq!(UserType::parse(t.as_str()), Some(*t));
        }
        for r in ReplacementReason::ALL {
            assert_eq!(ReplacementReason::parse(r.as_str()), Some(*r));
        }
        assert_eq!(SubjectKind::parse("personal"), Some(SubjectKind::Personal));
        assert_eq!(Business::parse("replacement").map(Business::label), Some("补办"));
        assert_eq!(Business::parse("renewal"), None);
    }

    #[test]
    fn each_subject_offers_its_own_user_types() {
        assert_eq!(SubjectKind::Enterprise.user_types().len(), 6);
        assert!(!SubjectKind::Enterprise.user_types().contains(&UserType::Individual));
        assert!(SubjectKind::Personal.user_types().contains(&UserType::Individual));
    }
}
