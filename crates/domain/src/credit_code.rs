//! Unified social credit codes (统一社会信用代码, GB 32100-2015): 18 characters from a 31-character
//! set, MOD 31 check character. Real, registered codes exist that fail the check, so a mismatch is
//! a warning for the reviewer, never a refusal (REFERENCE §4.3).

use crate::rejection;

/// The code's alphabet in value order: digits, then letters without I, O, Z, S, V.
const ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const WEIGHTS: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

rejection! {
    pub enum CreditCodeError {
        Empty => ("credit_code_required", "请输入统一社会信用代码"),
        Length => ("credit_code_length", "统一社会信用代码应为18位"),
        Characters => ("credit_code_characters", "统一社会信用代码只含数字和大写字母（不含I、O、Z、S、V）"),
    }
}

/// A well-formed code; [`CreditCode::checksum_ok`] says whether its check character agrees.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CreditCode {
    value: String,
    checksum_ok: bool,
}

impl CreditCode {
    /// Accepts lowercase (stored uppercase) and ignores spaces.
    pub fn parse(input: &str) -> Result<Self, CreditCodeError> {
        let value: String = input.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_uppercase();
        if value.is_empty() {
            return Err(CreditCodeError::Empty);
        }
        if value.chars().count() != 18 {
            return Err(CreditCodeError::Length);
        }
        if !value.bytes().all(|b| ALPHABET.contains(&b)) {
            return Err(CreditCodeError::Characters);
        }
        let checksum_ok = check_character(&value.as_bytes()[..17]) == Some(value.as_bytes()[17]);
        Ok(Self { value, checksum_ok })
    }

    pub fn as_str(&self) -> &str {
        &self.value
    }

    /// `false` means: flag for the reviewer, who compares it with the license.
    pub fn checksum_ok(&self) -> bool {
        self.checksum_ok
    }

    /// Digits 3–8: the registering authority's administrative division.
    pub fn region_code(&self) -> &str {
        &self.value[2..8]
    }
}

/// Whether `c` belongs to the code's 31-character alphabet.
pub fn is_code_char(c: char) -> bool {
    u8::try_from(c).is_ok_and(|b| ALPHABET.contains(&b))
}

/// The check character for the first 17 characters, `None` if one is outside the alphabet.
pub fn check_character(first17: &[u8]) -> Option<u8> {
    let mut sum = 0;
    for (c, w) in first17.iter().zip(WEIGHTS) {
        sum += u32::try_from(ALPHABET.iter().position(|a| a == c)?).ok()? * w;
    }
    let check = (31 - sum % 31) % 31;
    Some(ALPHABET[check as usize])
}

/// The check character of the organisation code in positions 9–17 (GB 11714): weights
/// 3 7 9 10 5 8 4 2 over the first eight (digits, then A = 10 … Z = 35), `11 − sum mod 11`, with
/// 10 written `X` and 11 written `0`. `None` if a character is not a digit or capital letter.
///
/// Codes that fail it are reported to exist, so it never rejects a code as read; OCR uses it
/// as a second check before trusting a *repaired* reading.
pub fn organization_check_character(first8: &[u8]) -> Option<u8> {
    const WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];
    let mut sum = 0;
    for (c, w) in first8.iter().zip(WEIGHTS) {
        let value = match c {
            b'0'..=b'9' => u32::from(c - b'0'),
            b'A'..=b'Z' => u32::from(c - b'A') + 10,
            _ => return None,
        };
        sum += value * w;
    }
    Some(match 11 - sum % 11 {
        10 => b'X',
        11 => b'0',
        d => b'0' + u8::try_from(d).ok()?,
    })
}

/// Whether an 18-character code's organisation part (positions 9–17) passes its own check.
pub fn organization_code_ok(code: &str) -> bool {
    let bytes = code.as_bytes();
    bytes.len() == 18 && organization_check_character(&bytes[8..16]) == Some(bytes[16])
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn with_check(first17: &str) -> String {
        let mut s = first17.to_owned();
        s.push(char::from(check_character(first17.as_bytes()).unwrap()));
        s
    }

    #[test]
    fn the_organisation_part_has_its_own_check() {
        // 13·3 + 2·7 + 1·9 + 4·10 + 3·5 + 5·8 + 6·4 + 9·2 = 199; 11 − 199 mod 11 = 10 → X.
        assert_eq!(organization_check_character(b"D2143569"), Some(b'X'));
        assert_eq!(organization_check_character(b"0000000A"), Some(b'0' + 11 - 20 % 11));
        assert!(organization_code_ok("91350100M000100Y43"));
        assert!(!organization_code_ok("91350100M000100Y53"));
    }

    #[test]
    fn a_valid_code_passes_and_keeps_its_parts() {
        let code = CreditCode::parse(&with_check("91350100M000100Y4").to_lowercase()).unwrap();
        assert!(code.checksum_ok());
        assert_eq!(code.region_code(), "350100");
        assert_eq!(code.as_str(), with_check("91350100M000100Y4"));
    }

    #[test]
    fn a_wrong_check_character_is_a_warning_not_an_error() {
        let good = with_check("91350100M000100Y4");
        let last = if good.ends_with('0') { '1' } else { '0' };
        let bad = format!("{}{last}", &good[..17]);
        let code = CreditCode::parse(&bad).unwrap();
        assert!(!code.checksum_ok());
    }

    #[test]
    fn shape_errors_are_refused() {
        assert_eq!(CreditCode::parse(" ").unwrap_err(), CreditCodeError::Empty);
        assert_eq!(CreditCode::parse("91350100M000100Y").unwrap_err(), CreditCodeError::Length);
        assert_eq!(CreditCode::parse("91350100M000100YI4").unwrap_err(), CreditCodeError::Characters);
    }

    fn valid_code() -> impl Strategy<Value = String> {
        proptest::collection::vec(0usize..31, 17)
            .prop_map(|idx| with_check(&idx.into_iter().map(|i| char::from(ALPHABET[i])).collect::<String>()))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn generated_codes_pass(code in valid_code()) {
            prop_assert!(CreditCode::parse(&code).unwrap().checksum_ok());
        }

        #[test]
        fn every_single_character_change_is_caught(code in valid_code(), pos in 0usize..18, replacement in 0usize..31) {
            let new = ALPHABET[replacement];
            let mut bytes = code.into_bytes();
            prop_assume!(bytes[pos] != new);
            bytes[pos] = new;
            let mutated = String::from_utf8(bytes).unwrap();
            prop_assert!(!CreditCode::parse(&mutated).unwrap().checksum_ok(), "{} passed", mutated);
        }

        #[test]
        fn never_panics(input in "\\PC{0,30}") {
            let _ = CreditCode::parse(&input);
        }
    }
}
