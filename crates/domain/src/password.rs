//! Password policy for new passwords (ASVS 6.2): length 8–256 characters, any Unicode including
//! spaces, no truncation, and not guessable (zxcvbn score ≥ 2, which rejects common and breached
//! passwords and ones built from the user's own phone number).

use crate::rejection;

/// Shortest accepted password, in characters.
pub const MIN_CHARS: usize = 8;
/// Longest accepted password, in characters; bounds hashing work, far above what people use.
pub const MAX_CHARS: usize = 256;
/// zxcvbn's cost grows with length; a prefix this long already decides the score.
const STRENGTH_PREFIX_CHARS: usize = 64;

rejection! {
    pub enum PasswordError {
        Empty => ("password_required", "请输入密码"),
        TooShort => ("password_too_short", "密码至少需要8个字符"),
        TooLong => ("password_too_long", "密码不能超过256个字符"),
        TooWeak => ("password_too_weak", "密码过于简单或常见，请换一个更难猜的密码"),
        Mismatch => ("password_mismatch", "两次输入的密码不一致"),
    }
}

/// Common Chinese passwords, fed to zxcvbn as an extra dictionary so their variants
/// (`Woaini1314!`, reversed, l33t) are caught too.
fn common_zh() -> impl Iterator<Item = &'static str> {
    include_str!("../data/common-passwords-zh.txt").lines().filter(|l| !l.starts_with('#') && !l.is_empty())
}

/// A password that passed the policy for *new* passwords. Existing passwords are checked
/// against their hash as given, never against this policy.
pub struct NewPassword(String);

impl NewPassword {
    /// `personal` are words the user is known by (phone number, name); passwords built from them
    /// count as weak.
    pub fn parse(password: &str, confirmation: &str, personal: &[&str]) -> Result<Self, PasswordError> {
        let chars = password.chars().count();
        if chars == 0 {
            return Err(PasswordError::Empty);
        }
        if chars < MIN_CHARS {
            return Err(PasswordError::TooShort);
        }
        if chars > MAX_CHARS {
            return Err(PasswordError::TooLong);
        }
        let prefix: String = password.chars().take(STRENGTH_PREFIX_CHARS).collect();
        let mut dictionary: Vec<&str> = personal.to_vec();
        for word in common_zh() {
            dictionary.push(word);
        }
        if u8::from(zxcvbn::zxcvbn(&prefix, &dictionary).score()) < 2 {
            return Err(PasswordError::TooWeak);
        }
        if password != confirmation {
            return Err(PasswordError::Mismatch);
        }
        Ok(Self(password.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Widely published top-list passwords (the kind every breach corpus starts with).
    const COMMON: [&str; 50] = [
        "123456",
        "password",
        "12345678",
        "qwerty",
        "123456789",
        "12345",
        "1234",
        "111111",
        "1234567",
        "dragon",
        "123123",
        "baseball",
        "abc123",
        "football",
        "monkey",
        "letmein",
        "696969",
        "shadow",
        "master",
        "666666",
        "qwertyuiop",
        "123321",
        "mustang",
        "1234567890",
        "michael",
        "654321",
        "superman",
        "1qaz2wsx",
        "7777777",
        "121212",
        "000000",
        "qazwsx",
        "123qwe",
        "killer",
        "trustno1",
        "jordan",
        "jennifer",
        "zxcvbnm",
        "asdfgh",
        "hunter",
        "buster",
        "soccer",
        "harley",
        "batman",
        "andrew",
        "tigger",
        "sunshine",
        "iloveyou",
        "woaini1314",
        "password1",
    ];

    #[test]
    fn common_passwords_are_rejected() {
        for pw in COMMON {
            let padded = if pw.chars().count() < MIN_CHARS { format!("{pw}{pw}") } else { pw.to_owned() };
            assert!(NewPassword::parse(&padded, &padded, &[]).is_err(), "{padded} was accepted");
        }
    }

    #[test]
    fn chinese_favourites_and_their_variants_are_rejected() {
        for pw in ["woaini1314", "Woaini1314!", "5201314520", "wodemima123"] {
            assert!(NewPassword::parse(pw, pw, &[]).is_err(), "{pw} was accepted");
        }
    }

    #[test]
    fn a_password_made_of_the_phone_number_is_weak() {
        let pw = "13812345678";
        assert_eq!(NewPassword::parse(pw, pw, &["13812345678"]).unwrap_err(), PasswordError::TooWeak);
    }

    #[test]
    fn long_passwords_with_spaces_cjk_and_emoji_are_accepted() {
        let pw = "我的 密码 是一段很长的话 🐼🐼 with spaces and more words to pass sixty-four chars";
        assert!(pw.chars().count() > 64);
        assert_eq!(NewPassword::parse(pw, pw, &[]).unwrap().expose(), pw);
    }

    #[test]
    fn limits_and_mismatch_have_their_own_messages() {
        assert_eq!(NewPassword::parse("", "", &[]).unwrap_err(), PasswordError::Empty);
        assert_eq!(NewPassword::parse("Ab3$xy", "Ab3$xy", &[]).unwrap_err(), PasswordError::TooShort);
        let long = "x".repeat(MAX_CHARS + 1);
        assert_eq!(NewPassword::parse(&long, &long, &[]).unwrap_err(), PasswordError::TooLong);
        assert_eq!(
            NewPassword::parse("correct horse battery", "correct horse batteryX", &[]).unwrap_err(),
            PasswordError::Mismatch
        );
    }

    #[test]
    fn debug_never_shows_the_password() {
        let pw = NewPassword::parse("correct horse battery", "correct horse battery", &[]).unwrap();
        assert!(!format!("{pw:?}").contains("horse"));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn never_panics(pw in "\\PC{0,300}") {
            let _ = NewPassword::parse(&pw, &pw, &["13812345678"]);
        }
    }
}
