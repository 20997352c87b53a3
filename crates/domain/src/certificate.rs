//! 数字证书: what a certificate issued for an approved application says about its holder, and for
//! how long. The desk builds the subject from the approved application; a certificate request
//! brings only the public key (whatever name it carries is ignored).

use time::{Duration, Month, OffsetDateTime};

use crate::{CreditCode, PersonName, ResidentId};

/// The key algorithms certificates are issued for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyAlgorithm {
    /// SM2 with SM3 (GB/T 32918, GM/T 0015): what Chinese relying parties expect.
    Sm2,
    /// ECDSA on P-256 with SHA-256: for tokens and relying parties without SM2.
    EcdsaP256,
}

impl KeyAlgorithm {
    pub const ALL: [Self; 2] = [Self::Sm2, Self::EcdsaP256];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sm2 => "sm2",
            Self::EcdsaP256 => "ecdsa-p256",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == text)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Sm2 => "SM2（国密）",
            Self::EcdsaP256 => "ECDSA P-256",
        }
    }
}

/// Whom a certificate names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder {
    Company { name: String, credit_code: CreditCode },
    Person { name: PersonName, id: ResidentId },
}

/// One attribute of the subject's distinguished name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameAttribute {
    /// `C` (2.5.4.6).
    Country(&'static str),
    /// `O` (2.5.4.10).
    Organization(String),
    /// `organizationIdentifier` (2.5.4.97), as X.520 and ETSI EN 319 412-1 write a registry
    /// number: scheme, country, `-`, number.
    OrganizationIdentifier(String),
    /// `serialNumber` (2.5.4.5): the natural person's identifier.
    SerialNumber(String),
    /// `CN` (2.5.4.3).
    CommonName(String),
}

impl NameAttribute {
    /// The X.520 attribute type, as a dotted OID.
    pub fn oid(&self) -> &'static str {
        match self {
            Self::Country(_) => "2.5.4.6",
            Self::Organization(_) => "2.5.4.10",
            Self::OrganizationIdentifier(_) => "2.5.4.97",
            Self::SerialNumber(_) => "2.5.4.5",
            Self::CommonName(_) => "2.5.4.3",
        }
    }

    pub fn value(&self) -> &str {
        match self {
            Self::Country(v) => v,
            Self::Organization(v) | Self::OrganizationIdentifier(v) | Self::SerialNumber(v) | Self::CommonName(v) => v,
        }
    }
}

/// A subject's distinguished name, most general attribute first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    pub attributes: Vec<NameAttribute>,
}

impl Subject {
    /// The subject of a certificate for `holder`.
    ///
    /// A company: `C=CN, O=name, organizationIdentifier=NTRCN-<统一社会信用代码>, CN=name` — the
    /// credit code is public (it is printed on the license and in the national enterprise credit
    /// registry), so it is named in the clear, where relying parties look for it.
    ///
    /// A person: `C=CN, serialNumber=<identifier>, CN=name`, the identifier being
    /// `person_identifier(id)`. A certificate travels with every signature its holder makes, so
    /// the ID number itself is never written into it.
    pub fn for_holder(holder: &Holder, person_identifier: impl FnOnce(&ResidentId) -> String) -> Self {
        let attributes = match holder {
            Holder::Company { name, credit_code } => vec![
                NameAttribute::Country("CN"),
                NameAttribute::Organization(name.clone()),
                NameAttribute::OrganizationIdentifier(format!("NTRCN-{}", credit_code.as_str())),
                NameAttribute::CommonName(name.clone()),
            ],
            Holder::Person { name, id } => vec![
                NameAttribute::Country("CN"),
                NameAttribute::SerialNumber(person_identifier(id)),
                NameAttribute::CommonName(name.as_str().to_owned()),
            ],
        };
        Self { attributes }
    }

    /// A company's unified social credit code, when the subject names one.
    pub fn credit_code(&self) -> Option<&str> {
        self.attributes.iter().find_map(|a| match a {
            NameAttribute::OrganizationIdentifier(i) => i.strip_prefix("NTRCN-"),
            _ => None,
        })
    }

    /// The name as people read it (`CN=…, O=…`), for lists and the audit log.
    pub fn display(&self) -> String {
        self.attributes
            .iter()
            .rev()
            .map(|a| match a {
                NameAttribute::Country(c) => format!("C={c}"),
                NameAttribute::Organization(o) => format!("O={o}"),
                NameAttribute::OrganizationIdentifier(i) => format!("organizationIdentifier={i}"),
                NameAttribute::SerialNumber(s) => format!("serialNumber={s}"),
                NameAttribute::CommonName(n) => format!("CN={n}"),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// How long a certificate for a package of `years` is valid, issued at `now`: from a few minutes
/// before (clocks of relying parties run a little behind) to the same moment `years` later
/// (29 February becoming 28 February).
pub fn validity(now: OffsetDateTime, years: u8) -> (OffsetDateTime, OffsetDateTime) {
    let from = now - Duration::minutes(5);
    let year = now.year() + i32::from(years.max(1));
    let day = if now.month() == Month::February && now.day() == 29 { 28 } else { now.day() };
    let to = now.replace_day(1).and_then(|d| d.replace_year(year)).and_then(|d| d.replace_day(day)).unwrap_or(now);
    (from, to)
}

/// Why a certificate is revoked (RFC 5280 §5.3.1; the ones a registration desk uses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevocationReason {
    /// The key was lost or may be known to others.
    KeyCompromise,
    /// 补办: a new key replaces this one.
    Superseded,
    /// The holder no longer exists or no longer needs it.
    CessationOfOperation,
}

impl RevocationReason {
    /// The CRLReason code.
    pub fn code(self) -> u8 {
        match self {
            Self::KeyCompromise => 1,
            Self::Superseded => 4,
            Self::CessationOfOperation => 5,
        }
    }

    pub const ALL: [Self; 3] = [Self::KeyCompromise, Self::Superseded, Self::CessationOfOperation];

    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.code() == code)
    }

    /// The name RFC 5280 gives the reason, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::KeyCompromise => "keyCompromise",
            Self::Superseded => "superseded",
            Self::CessationOfOperation => "cessationOfOperation",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == text)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::KeyCompromise => "密钥泄露或丢失",
            Self::Superseded => "补办新证书替代",
            Self::CessationOfOperation => "停止使用",
        }
    }
}

/// How long before expiry a certificate counts as 即将过期: the first renewal reminder goes out then.
pub const EXPIRING_SOON: Duration = Duration::days(90);

/// Where a certificate stands, as its holder sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Valid,
    ExpiringSoon,
    Expired,
    Revoked,
}

impl Status {
    /// A revoked certificate stays revoked; otherwise its validity decides.
    pub fn of(not_after: OffsetDateTime, revoked: bool, now: OffsetDateTime) -> Self {
        if revoked {
            Self::Revoked
        } else if now >= not_after {
            Self::Expired
        } else if not_after - now <= EXPIRING_SOON {
            Self::ExpiringSoon
        } else {
            Self::Valid
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::ExpiringSoon => "expiring",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Valid => "有效",
            Self::ExpiringSoon => "即将过期",
            Self::Expired => "已过期",
            Self::Revoked => "已吊销",
        }
    }
}

/// Days before expiry a holder is reminded, once each.
pub const REMINDER_DAYS: [i64; 3] = [90, 30, 7];

/// The reminder due for a certificate valid until `not_after`: the nearest of [`REMINDER_DAYS`]
/// the time left has come within (so a reminder missed while the desk was down is replaced by the
/// next, never sent late); `None` once expired or while more than 90 days are left.
pub fn reminder_due(not_after: OffsetDateTime, now: OffsetDateTime) -> Option<i64> {
    let left = not_after - now;
    if left <= Duration::ZERO {
        return None;
    }
    REMINDER_DAYS.into_iter().rev().find(|days| left <= Duration::days(*days))
}

/// A certificate serial number as people type it (`3a:f0 …`, lower case) made the upper-case hex,
/// two digits per octet, the desk stores and OpenSSL prints; `None` when it is not hex or is longer
/// than RFC 5280's 20 octets allow.
pub fn normalize_serial(text: &str) -> Option<String> {
    let hex: String = text.chars().filter(|c| !matches!(c, ' ' | ':' | '-')).collect::<String>().to_ascii_uppercase();
    let hex = if hex.len() % 2 == 1 { format!("0{hex}") } else { hex };
    (!hex.is_empty() && hex.len() <= 40 && hex.chars().all(|c| c.is_ascii_hexdigit())).then_some(hex)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_company_is_named_by_its_name_and_credit_code() {
        let code = CreditCode::parse("91350100M000100Y43").unwrap();
        let holder = Holder::Company { name: "示例科技有限公司".into(), credit_code: code };
        let subject = Subject::for_holder(&holder, |_| unreachable!("a company has no ID number"));
        assert_eq!(
            subject.display(),
            "CN=示例科技有限公司, organizationIdentifier=NTRCN-91350100M000100Y43, O=示例科技有限公司, C=CN"
        );
        assert_eq!(subject.credit_code(), Some("91350100M000100Y43"));
    }

    #[test]
    fn a_person_is_named_by_a_derived_identifier_never_the_id_number() {
        let id = ResidentId::parse("11010519491231002X", time::macros::date!(2026 - 12 - 01)).unwrap();
        let holder = Holder::Person { name: PersonName::parse("李雷").unwrap(), id };
        let subject = Subject::for_holder(&holder, |_| "derived-identifier".into());
        assert_eq!(subject.display(), "CN=李雷, serialNumber=derived-identifier, C=CN");
        assert!(!subject.display().contains("11010519491231002X"));
        assert_eq!(subject.credit_code(), None);
    }

    #[test]
    fn validity_runs_the_packages_years_from_just_before_issue() {
        let (from, to) = validity(datetime!(2026-12-01 10:00 UTC), 2);
        assert_eq!(from, datetime!(2026-12-01 09:55 UTC));
        assert_eq!(to, datetime!(2028-12-01 10:00 UTC));
        let (_, leap) = validity(datetime!(2028-02-29 08:00 UTC), 1);
        assert_eq!(leap, datetime!(2029-02-28 08:00 UTC));
        let (_, at_least_one) = validity(datetime!(2026-12-01 10:00 UTC), 0);
        assert_eq!(at_least_one, datetime!(2027-12-01 10:00 UTC));
    }

    #[test]
    fn status_follows_revocation_then_validity() {
        let now = datetime!(2026-12-01 12:00 UTC);
        assert_eq!(Status::of(now + Duration::days(400), false, now), Status::Valid);
        assert_eq!(Status::of(now + Duration::days(90), false, now), Status::ExpiringSoon);
        assert_eq!(Status::of(now + Duration::days(91), false, now), Status::Valid);
        assert_eq!(Status::of(now, false, now), Status::Expired);
        assert_eq!(Status::of(now + Duration::days(400), true, now), Status::Revoked);
        assert_eq!(Status::of(now - Duration::days(1), true, now), Status::Revoked);
    }

    #[test]
    fn reminders_fall_due_at_90_30_and_7_days() {
        let now = datetime!(2026-12-01 12:00 UTC);
        assert_eq!(reminder_due(now + Duration::days(91), now), None);
        assert_eq!(reminder_due(now + Duration::days(90), now), Some(90));
        assert_eq!(reminder_due(now + Duration::days(31), now), Some(90));
        assert_eq!(reminder_due(now + Duration::days(20), now), Some(30));
        assert_eq!(reminder_due(now + Duration::days(7), now), Some(7));
        assert_eq!(reminder_due(now + Duration::hours(1), now), Some(7));
        assert_eq!(reminder_due(now, now), None);
    }

    #[test]
    fn serials_are_read_as_people_type_them() {
        assert_eq!(normalize_serial("3a:f0 01").as_deref(), Some("3AF001"));
        assert_eq!(normalize_serial("5af0012").as_deref(), Some("05AF0012"));
        assert_eq!(normalize_serial("XYZ"), None);
        assert_eq!(normalize_serial(""), None);
        assert_eq!(normalize_serial(&"A".repeat(41)), None);
    }

    #[test]
    fn revocation_reasons_round_trip_as_stored() {
        for reason in RevocationReason::ALL {
            assert_eq!(RevocationReason::parse(reason.as_str()), Some(reason));
            assert_eq!(RevocationReason::from_code(reason.code()), Some(reason));
        }
    }
}
