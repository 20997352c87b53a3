//! Money in integer fen (分). Never a float: amounts are added, compared and sent to gateways as
//! fen, and turned into yuan text only at the edge.

use crate::rejection;
use serde::{Deserialize, Serialize};

/// Largest amount the system handles: ¥100,000,000.00 (Alipay's ceiling per trade).
pub const MAX_FEN: i64 = 10_000_000_000;

rejection! {
    pub enum MoneyError {
        Malformed => ("amount_malformed", "金额格式不正确，应为最多两位小数的数字"),
        OutOfRange => ("amount_out_of_range", "金额超出允许范围"),
    }
}

/// A non-negative amount of fen, at most [`MAX_FEN`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Money(i64);

impl Money {
    pub const ZERO: Self = Self(0);

    pub fn from_fen(fen: i64) -> Result<Self, MoneyError> {
        if (0..=MAX_FEN).contains(&fen) { Ok(Self(fen)) } else { Err(MoneyError::OutOfRange) }
    }

    pub fn fen(self) -> i64 {
        self.0
    }

    /// Sum, refusing to leave the range.
    pub fn checked_add(self, other: Self) -> Result<Self, MoneyError> {
        self.0.checked_add(other.0).ok_or(MoneyError::OutOfRange).and_then(Self::from_fen)
    }

    /// Yuan with exactly two decimals, as gateways want it: `1234.50`.
    pub fn to_yuan(self) -> String {
        format!("{}.{:02}", self.0 / 100, self.0 % 100)
    }

    /// Parses gateway text such as `1234.5` or `1234.50` (at most two decimals, no sign, no
    /// exponent) exactly, without floating point.
    pub fn parse_yuan(text: &str) -> Result<Self, MoneyError> {
        let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(whole) || (text.contains('.') && !digits(frac)) || frac.len() > 2 || whole.len() > 12 {
            return Err(MoneyError::Malformed);
        }
        let whole: i64 = whole.parse().map_err(|_| MoneyError::Malformed)?;
        let frac: i64 = format!("{frac:0<2}").parse().map_err(|_| MoneyError::Malformed)?;
        whole.checked_mul(100).and_then(|w| w.checked_add(frac)).ok_or(MoneyError::OutOfRange).and_then(Self::from_fen)
    }
}

impl std::fmt::Display for Money {
    /// `¥1,234.50`, as shown to people. Written into a stack buffer (lists print many).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Fen are 0..=MAX_FEN (10^10): at most 8 yuan digits, 2 commas, the point and 2 fen.
        let mut buf = [0u8; 24];
        let mut at = buf.len();
        let mut put = |b: u8| {
            at -= 1;
            buf[at] = b;
        };
        let fen = self.0.unsigned_abs();
        let (mut yuan, cents) = (fen / 100, fen % 100);
        #[allow(clippy::cast_possible_truncation)] // digits are < 10
        {
            put(b'0' + (cents % 10) as u8);
            put(b'0' + (cents / 10) as u8);
            put(b'.');
            let mut digits = 0;
            loop {
                if digits > 0 && digits % 3 == 0 {
                    put(b',');
                }
                put(b'0' + (yuan % 10) as u8);
                digits += 1;
                yuan /= 10;
                if yuan == 0 {
                    break;
                }
            }
        }
        f.write_str("¥")?;
        // Only ASCII digits, commas and the point were written.
        f.write_str(std::str::from_utf8(&buf[at..]).map_err(|_| std::fmt::Error)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn formats_for_people_and_gateways() {
        let m = Money::from_fen(123_450).unwrap();
        assert_eq!(m.to_string(), "¥1,234.50");
        assert_eq!(m.to_yuan(), "1234.50");
        assert_eq!(Money::from_fen(5).unwrap().to_yuan(), "0.05");
        assert_eq!(Money::ZERO.to_string(), "¥0.00");
        for (fen, shown) in
            [(99, "¥0.99"), (100_000, "¥1,000.00"), (99_999_999, "¥999,999.99"), (MAX_FEN, "¥100,000,000.00")]
        {
            assert_eq!(Money::from_fen(fen).unwrap().to_string(), shown);
        }
    }

    #[test]
    fn parses_gateway_amounts_exactly() {
        assert_eq!(Money::parse_yuan("0.01").unwrap().fen(), 1);
        assert_eq!(Money::parse_yuan("1234.5").unwrap().fen(), 123_450);
        assert_eq!(Money::parse_yuan("100000000").unwrap().fen(), MAX_FEN);
        for bad in ["", ".5", "1.", "1.001", "-1", "+1", "1e3", "1,000", " 1", "0x10", "１"] {
            assert!(Money::parse_yuan(bad).is_err(), "{bad:?}");
        }
        assert_eq!(Money::parse_yuan("100000000.01").unwrap_err(), MoneyError::OutOfRange);
    }

    #[test]
    fn sums_stay_in_range() {
        let max = Money::from_fen(MAX_FEN).unwrap();
        assert_eq!(max.checked_add(Money::from_fen(1).unwrap()).unwrap_err(), MoneyError::OutOfRange);
        assert!(Money::from_fen(-1).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(10_000))]
        #[test]
        fn yuan_text_round_trips(fen in 1i64..=MAX_FEN) {
            let money = Money::from_fen(fen).unwrap();
            prop_assert_eq!(Money::parse_yuan(&money.to_yuan()).unwrap(), money);
        }

        #[test]
        fn parsing_never_panics(text in "\\PC{0,20}") {
            let _ = Money::parse_yuan(&text);
        }
    }
}
