//! Back-office staff: who they are (a username, not a phone number) and what they may do. A person
//! may hold several roles; every back-office route names the roles it admits and admits no one
//! else.

use std::fmt;

use crate::named_enum;

named_enum! {
    /// A back-office role.
    pub enum Role {
        /// 审核员: reviews applications.
        Reviewer => ("reviewer", "审核员"),
        /// 制证/发货: produces keys, ships them, hands them over.
        Fulfilment => ("fulfilment", "制证发货"),
        /// 财务: payments, refunds, invoices.
        Finance => ("finance", "财务"),
        /// 管理员: catalog, staff, audit log.
        Admin => ("admin", "管理员"),
    }
}

/// A set of roles.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Roles(u8);

impl Roles {
    fn bit(role: Role) -> u8 {
        1 << Role::ALL.iter().position(|r| *r == role).unwrap_or(7)
    }

    pub fn of(roles: &[Role]) -> Self {
        Self(roles.iter().fold(0, |acc, r| acc | Self::bit(*r)))
    }

    /// `reviewer,admin` (names as in [`Role::as_str`]); unknown names and an empty list are errors.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut roles = Vec::new();
        for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            roles.push(Role::parse(name).ok_or_else(|| format!("unknown role: {name}"))?);
        }
        if roles.is_empty() {
            return Err("at least one role is required".into());
        }
        Ok(Self::of(&roles))
    }

    pub fn contains(self, role: Role) -> bool {
        self.0 & Self::bit(role) != 0
    }

    /// Whether any of `roles` is held.
    pub fn any(self, roles: &[Role]) -> bool {
        roles.iter().any(|r| self.contains(*r))
    }

    pub fn iter(self) -> impl Iterator<Item = Role> {
        Role::ALL.iter().copied().filter(move |r| self.contains(*r))
    }

    /// 审核员、财务
    pub fn labels(self) -> String {
        self.iter().map(Role::label).collect::<Vec<_>>().join("、")
    }
}

impl fmt::Display for Roles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.iter().map(Role::as_str).collect::<Vec<_>>().join(","))
    }
}

/// A staff login name: 3–32 characters, lowercase letters, digits, `.`, `_`, `-`, starting with
/// a letter.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Username(String);

impl Username {
    pub fn parse(text: &str) -> Result<Self, &'static str> {
        let text = text.trim().to_ascii_lowercase();
        let ok_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-');
        if !(3..=32).contains(&text.len()) {
            return Err("用户名长度应为 3–32 个字符");
        }
        if !text.starts_with(|c: char| c.is_ascii_lowercase()) || !text.chars().all(ok_char) {
            return Err("用户名只能包含小写字母、数字和 . _ -，并以字母开头");
        }
        Ok(Self(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_parse_print_and_test_membership() {
        let roles = Roles::parse("admin, reviewer").unwrap();
        assert!(roles.contains(Role::Reviewer) && roles.contains(Role::Admin));
        assert!(!roles.contains(Role::Finance));
        assert!(roles.any(&[Role::Finance, Role::Admin]) && !roles.any(&[Role::Finance, Role::Fulfilment]));
        assert_eq!(roles.to_string(), "reviewer,admin", "a canonical order");
        assert_eq!(Roles::parse(&roles.to_string()), Ok(roles));
        assert_eq!(roles.labels(), "审核员、管理员");
        assert!(Roles::parse("").is_err() && Roles::parse("root").is_err());
    }

    #[test]
    fn usernames_are_plain_lowercase_names() {
        assert_eq!(Username::parse(" Wang.Wu ").unwrap().as_str(), "wang.wu");
        for bad in ["ab", "1abc", "wang wu", "王五", "a".repeat(33).as_str(), "x;drop"] {
            assert!(Username::parse(bad).is_err(), "{bad}");
        }
    }
}
