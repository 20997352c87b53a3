//! 18-digit resident identity numbers (居民身份证号码, GB 11643-1999): region, birth date,
//! sequence (odd = male), ISO 7064 MOD 11-2 check character.

use crate::mask::mask_middle;
use crate::rejection;
use time::{Date, Month};

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK: [u8; 11] = *b"10X98765432";
/// First two digits of every province-level unit that issues resident IDs.
const PROVINCES: [&str; 34] = [
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41", "42", "43", "44",
    "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71", "81", "82",
];

rejection! {
    pub enum ResidentIdError {
        Empty => ("id_number_required", "请输入身份证号码"),
        Length => ("id_number_length", "身份证号码应为18位"),
        Characters => ("id_number_characters", "身份证号码前17位应为数字，最后一位为数字或X"),
        Region => ("id_number_region", "身份证号码的地区码不正确"),
        BirthDate => ("id_number_birth_date", "身份证号码中的出生日期不存在"),
        FutureBirth => ("id_number_future_birth", "身份证号码中的出生日期晚于今天"),
        Checksum => ("id_number_checksum", "身份证号码校验位不正确，请核对是否输错"),
    }
}

/// Biological sex as encoded by the sequence digit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sex {
    Male,
    Female,
}

/// A resident ID number that passed every check.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ResidentId(String);

impl ResidentId {
    /// Checks shape, region, a real birth date not after `today`, and the check character.
    /// A lowercase `x` is accepted and stored uppercase; spaces are ignored.
    pub fn parse(input: &str, today: Date) -> Result<Self, ResidentIdError> {
        let value: String = input.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_uppercase();
        if value.is_empty() {
            return Err(ResidentIdError::Empty);
        }
        if value.chars().count() != 18 {
            return Err(ResidentIdError::Length);
        }
        let bytes = value.as_bytes();
        if !bytes[..17].iter().all(u8::is_ascii_digit) || !(bytes[17].is_ascii_digit() || bytes[17] == b'X') {
            return Err(ResidentIdError::Characters);
        }
        if !PROVINCES.contains(&&value[..2]) {
            return Err(ResidentIdError::Region);
        }
        let birth = birth_date(bytes).ok_or(ResidentIdError::BirthDate)?;
        if birth > today {
            return Err(ResidentIdError::FutureBirth);
        }
        if check_character(bytes) != bytes[17] {
            return Err(ResidentIdError::Checksum);
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn birth_date(&self) -> Date {
        birth_date(self.0.as_bytes()).unwrap_or(Date::MIN)
    }

    pub fn sex(&self) -> Sex {
        if (self.0.as_bytes()[16] - b'0') % 2 == 1 { Sex::Male } else { Sex::Female }
    }

    /// First 3 and last 4 characters (`110***********002X`).
    pub fn masked(&self) -> String {
        mask_middle(&self.0, 3, 4)
    }
}

impl std::fmt::Debug for ResidentId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ResidentId({})", self.masked())
    }
}

/// The check character for the first 17 digits (ISO 7064 MOD 11-2).
pub fn check_character(digits: &[u8]) -> u8 {
    let sum: u32 = digits.iter().zip(WEIGHTS).map(|(d, w)| u32::from(d - b'0') * w).sum();
    CHECK[(sum % 11) as usize]
}

fn birth_date(bytes: &[u8]) -> Option<Date> {
    let number = |range: std::ops::Range<usize>| std::str::from_utf8(&bytes[range]).ok()?.parse::<u32>().ok();
    let year = i32::try_from(number(6..10)?).ok()?;
    let month = Month::try_from(u8::try_from(number(10..12)?).ok()?).ok()?;
    let day = u8::try_from(number(12..14)?).ok()?;
    if year < 1900 {
        return None;
    }
    Date::from_calendar_date(year, month, day).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::date;

    const TODAY: Date = date!(2026 - 11 - 25);

    #[test]
    fn accepts_the_published_examples() {
        assert!(ResidentId::parse("11010519491231002X", TODAY).is_ok());
        // The other published example has a right check character but a birth year of 1880,
        // which no living applicant has.
        assert_eq!(check_character(b"44052418800101001"), b'4');
        assert_eq!(ResidentId::parse("440524188001010014", TODAY).unwrap_err(), ResidentIdError::BirthDate);
        let id = ResidentId::parse("11010519491231002x", TODAY).unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
        assert_eq!(id.birth_date(), date!(1949 - 12 - 31));
        assert_eq!(id.sex(), Sex::Female);
        assert_eq!(id.masked(), "110***********002X");
        assert!(!format!("{id:?}").contains("0519491231"));
    }

    #[test]
    fn explains_each_kind_of_mistake() {
        let t = |s: &str| ResidentId::parse(s, TODAY).unwrap_err();
        assert_eq!(t(""), ResidentIdError::Empty);
        assert_eq!(t("11010519491231002"), ResidentIdError::Length);
        assert_eq!(t("1101051949123100AX"), ResidentIdError::Characters);
        assert_eq!(t(&with_check("99010519491231002")), ResidentIdError::Region);
        assert_eq!(t(&with_check("11010519490230002")), ResidentIdError::BirthDate);
        assert_eq!(t(&with_check("11010520301231002")), ResidentIdError::FutureBirth);
        assert_eq!(t("110105194912310021"), ResidentIdError::Checksum);
    }

    fn with_check(first17: &str) -> String {
        let mut s = first17.to_owned();
        s.push(char::from(check_character(first17.as_bytes())));
        s
    }

    fn valid_id() -> impl Strategy<Value = String> {
        (0usize..34, 0u32..10_000, 0i64..(365 * 100), 0u32..1000).prop_map(|(p, area, days, seq)| {
            let birth = date!(1926 - 01 - 01) + time::Duration::days(days);
            let first17 = format!(
                "{}{area:04}{:04}{:02}{:02}{seq:03}",
                PROVINCES[p],
                birth.year(),
                u8::from(birth.month()),
                birth.day()
            );
            with_check(&first17)
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn every_generated_valid_number_is_accepted(id in valid_id()) {
            prop_assert!(ResidentId::parse(&id, TODAY).is_ok());
        }

        #[test]
        fn every_single_character_change_is_rejected(id in valid_id(), pos in 0usize..18, replacement in "[0-9X]") {
            let mut chars: Vec<char> = id.chars().collect();
            let new = replacement.chars().next().unwrap();
            prop_assume!(chars[pos] != new);
            chars[pos] = new;
            let mutated: String = chars.into_iter().collect();
            prop_assert!(ResidentId::parse(&mutated, TODAY).is_err(), "{} accepted", mutated);
        }

        #[test]
        fn never_panics(input in "\\PC{0,30}") {
            let _ = ResidentId::parse(&input, TODAY);
        }
    }
}
