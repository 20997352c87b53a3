//! Checksum-guided repair. OCR misreads a few look-alike characters (0/O/D, 1/I/L, 2/Z, 5/S, 8/B,
//! X/K, ...). When a reading fails its check character, the least confident positions are tried
//! with the recogniser's own alternatives and the known confusions, and the result is used only if
//! exactly one combination passes. A value no candidate supports is never produced.
//!
//! Two length errors of CTC recognition are repaired the same way: a character read twice with
//! no blank between folds into one (17 characters — the candidates are the characters that held
//! for unusually many time steps), and a stutter adds a stray character (19 — the candidates are
//! characters the code cannot contain and the least confident ones).

use domain::credit_code;
use domain::resident_id::ResidentId;
use time::Date;

/// What the recogniser saw at one position: its best character and the runners-up, each with a
/// probability in 0..=1.
#[derive(Debug, Clone, PartialEq)]
pub struct CharReading {
    pub best: char,
    pub confidence: f32,
    pub alternatives: Vec<(char, f32)>,
    /// For how many consecutive time steps the recogniser saw this character.
    pub span: u16,
    /// Where in its line the recogniser first saw it: 0 at the left edge, 1 at the right.
    pub at: f32,
}

impl CharReading {
    /// A reading without alternatives.
    pub fn certain(c: char, confidence: f32) -> Self {
        Self { best: c, confidence, alternatives: Vec::new(), span: 1, at: 0.0 }
    }
}

/// Which code the characters form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// 18-character resident ID; `today` bounds the birth date.
    ResidentId { today: Date },
    /// 18-character unified social credit code.
    CreditCode,
}

/// One change made to a reading. Positions count from 0: in the repaired value, or, for a
/// dropped character, in the reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repair {
    /// A look-alike was read in place of the right character.
    Replaced { position: usize, read: char, corrected: char },
    /// A character written twice was read once (CTC folds repeats): the second one restored.
    Doubled { position: usize, character: char },
    /// A stray character was read that the value does not have: dropped.
    Dropped { position: usize, read: char },
}

impl std::fmt::Display for Repair {
    /// As shown to the reviewer: `第7位 I → 1`, `第3位 补回重复的 1`, `第12位 删去多余的 I`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Self::Replaced { position, read, corrected } => write!(f, "第{}位 {read} → {corrected}", position + 1),
            Self::Doubled { position, character } => write!(f, "第{}位 补回重复的 {character}", position + 1),
            Self::Dropped { position, read } => write!(f, "第{}位 删去多余的 {read}", position + 1),
        }
    }
}

/// The result of checking (and if needed repairing) a reading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The reading passed as it was.
    Valid(String),
    /// Exactly one supported correction passes; what was changed is reported.
    Repaired { value: String, repairs: Vec<Repair> },
    /// Several corrections pass: the reading cannot decide, so none is chosen.
    Ambiguous(Vec<String>),
    /// No supported correction passes (or the reading has the wrong length).
    Unrepairable,
}

/// How many of the least confident positions are searched.
const SEARCH_POSITIONS: usize = 5;
/// How many characters may change at once.
const MAX_CHANGES: usize = 2;
/// Runner-up readings below this probability are ignored.
const MIN_ALTERNATIVE: f32 = 0.01;
/// A character held for at least this many times the median span (and at least
/// [`MIN_DOUBLE_SPAN`] steps) may be two identical characters folded into one.
const DOUBLE_SPAN_FACTOR: f32 = 1.7;
const MIN_DOUBLE_SPAN: u16 = 3;
/// How many of the least confident characters may be a stray one, and how unsure the
/// recogniser must have been of it.
const STRAY_POSITIONS: usize = 3;
const STRAY_CONFIDENCE: f32 = 0.8;

/// Characters OCR commonly confuses with each other on these documents. One arm per character
/// reads as a table, so identical arms are kept apart on purpose.
#[allow(clippy::match_same_arms)]
fn confusions(c: char) -> &'static [char] {
    match c.to_ascii_uppercase() {
        '0' => &['O', 'D', 'Q'],
        'O' | 'Q' => &['0', 'D'],
        'D' => &['0', 'O'],
        '1' => &['I', 'L', '7', 'T'],
        'I' | 'L' => &['1'],
        '7' => &['1', 'T'],
        'T' => &['7', '1'],
        '2' => &['Z'],
        'Z' => &['2'],
        '5' => &['S'],
        'S' => &['5'],
        '6' => &['G', 'b'],
        'G' => &['6', 'C'],
        'C' => &['G'],
        '8' => &['B', '3'],
        'B' => &['8'],
        '3' => &['8'],
        '9' => &['g', 'q'],
        'X' => &['K', 'x', 'Y'],
        'K' => &['X'],
        'Y' => &['X'],
        'U' => &['V'],
        'V' => &['U'],
        _ => &[],
    }
}

fn allowed(code: Code, position: usize, c: char) -> bool {
    match code {
        Code::ResidentId { .. } => c.is_ascii_digit() || (position == 17 && c == 'X'),
        Code::CreditCode => credit_code::is_code_char(c),
    }
}

fn passes(code: Code, value: &str) -> bool {
    match code {
        Code::ResidentId { today } => ResidentId::parse(value, today).is_ok(),
        Code::CreditCode => {
            let bytes = value.as_bytes();
            bytes.len() == 18 && credit_code::check_character(&bytes[..17]) == Some(bytes[17])
        }
    }
}

/// A repaired value must pass more: a credit code's organisation part (positions 9–17) its own
/// GB 11714 check too, so that a repair searching many combinations cannot land on a wrong code
/// that happens to pass the final check character (1 in 31).
fn passes_repaired(code: Code, value: &str) -> bool {
    passes(code, value) && (!matches!(code, Code::CreditCode) || credit_code::organization_code_ok(value))
}

/// Checks a reading and repairs it when the readings support exactly one valid value.
pub fn repair(readings: &[CharReading], code: Code) -> Outcome {
    match readings.len() {
        18 => replace(readings, code),
        17 => restore_doubled(readings, code),
        19 => drop_stray(readings, code),
        _ => Outcome::Unrepairable,
    }
}

/// The one candidate that passes, if exactly one does.
fn decide(code: Code, candidates: Vec<(String, Repair)>) -> Outcome {
    let mut found: Vec<(String, Repair)> = Vec::new();
    for (value, repair) in candidates {
        if passes_repaired(code, &value) && !found.iter().any(|(v, _)| *v == value) {
            found.push((value, repair));
        }
    }
    match found.len() {
        0 => Outcome::Unrepairable,
        1 => {
            let (value, repair) = found.remove(0);
            Outcome::Repaired { value, repairs: vec![repair] }
        }
        _ => Outcome::Ambiguous(found.into_iter().map(|(v, _)| v).collect()),
    }
}

fn upper(readings: &[CharReading]) -> Vec<char> {
    readings.iter().map(|r| r.best.to_ascii_uppercase()).collect()
}

/// Seventeen characters: one of those held unusually long is written twice.
fn restore_doubled(readings: &[CharReading], code: Code) -> Outcome {
    let read = upper(readings);
    let mut spans: Vec<u16> = readings.iter().map(|r| r.span).collect();
    spans.sort_unstable();
    let median = f32::from(spans[spans.len() / 2]);
    let candidates = readings
        .iter()
        .enumerate()
        .filter(|(_, r)| r.span >= MIN_DOUBLE_SPAN && f32::from(r.span) >= DOUBLE_SPAN_FACTOR * median)
        .map(|(i, _)| {
            let mut value = read.clone();
            value.insert(i, read[i]);
            (value.into_iter().collect(), Repair::Doubled { position: i + 1, character: read[i] })
        })
        .collect();
    decide(code, candidates)
}

/// Nineteen characters: one that the code cannot contain, or one of the least confident, is a
/// stray.
fn drop_stray(readings: &[CharReading], code: Code) -> Outcome {
    let read = upper(readings);
    let mut order: Vec<usize> = (0..read.len()).collect();
    order.sort_by(|a, b| readings[*a].confidence.total_cmp(&readings[*b].confidence));
    order.truncate(STRAY_POSITIONS);
    order.retain(|&i| readings[i].confidence < STRAY_CONFIDENCE);
    // A character that fits nowhere in the code (the last position admits the most: an ID's X).
    let strays = (0..read.len()).filter(|&i| !allowed(code, 17, read[i]));
    let mut positions: Vec<usize> = strays.collect();
    for i in order {
        if !positions.contains(&i) {
            positions.push(i);
        }
    }
    let candidates = positions
        .into_iter()
        .map(|i| {
            let mut value = read.clone();
            value.remove(i);
            (value.into_iter().collect(), Repair::Dropped { position: i, read: read[i] })
        })
        .collect();
    decide(code, candidates)
}

/// Eighteen characters: look-alikes at the invalid and least confident positions.
fn replace(readings: &[CharReading], code: Code) -> Outcome {
    let read: Vec<char> = readings.iter().map(|r| r.best.to_ascii_uppercase()).collect();
    let as_read: String = read.iter().collect();
    if passes(code, &as_read) {
        return Outcome::Valid(as_read);
    }

    // Candidate characters per position: runners-up first, then known confusions, all within
    // the code's alphabet at that position.
    let options: Vec<Vec<char>> = readings
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut options: Vec<char> = Vec::new();
            let seen = r.alternatives.iter().filter(|(_, p)| *p >= MIN_ALTERNATIVE).map(|(c, _)| *c);
            for c in seen.chain(confusions(r.best).iter().copied()).map(|c| c.to_ascii_uppercase()) {
                if c != read[i] && allowed(code, i, c) && !options.contains(&c) {
                    options.push(c);
                }
            }
            options
        })
        .collect();
    // An invalid character must change; beyond those, the least confident positions are searched.
    let must: Vec<usize> = (0..18).filter(|&i| !allowed(code, i, read[i])).collect();
    if must.len() > MAX_CHANGES {
        return Outcome::Unrepairable;
    }
    let mut order: Vec<usize> = (0..18).filter(|i| !must.contains(i) && !options[*i].is_empty()).collect();
    order.sort_by(|a, b| readings[*a].confidence.total_cmp(&readings[*b].confidence));
    order.truncate(SEARCH_POSITIONS);

    let mut found: Vec<(String, Vec<Repair>)> = Vec::new();
    // Fewest changes first: a one-character repair is preferred over any two-character one.
    for extra in 0..=(MAX_CHANGES - must.len()) {
        for combo in combinations(&order, extra) {
            let mut positions = must.clone();
            positions.extend(combo);
            search(code, &read, &options, &positions, &mut found);
        }
        if !found.is_empty() {
            break;
        }
    }
    match found.len() {
        0 => Outcome::Unrepairable,
        1 => {
            let (value, repairs) = found.remove(0);
            Outcome::Repaired { value, repairs }
        }
        _ => Outcome::Ambiguous(found.into_iter().map(|(v, _)| v).collect()),
    }
}

/// Tries every combination of the options at `positions` and collects the values that pass.
fn search(
    code: Code,
    read: &[char],
    options: &[Vec<char>],
    positions: &[usize],
    found: &mut Vec<(String, Vec<Repair>)>,
) {
    if positions.iter().any(|&p| options[p].is_empty()) {
        return;
    }
    let mut choices = vec![0usize; positions.len()];
    loop {
        let mut candidate = read.to_vec();
        let mut repairs = Vec::new();
        for (slot, &pos) in positions.iter().enumerate() {
            let c = options[pos][choices[slot]];
            candidate[pos] = c;
            repairs.push(Repair::Replaced { position: pos, read: read[pos], corrected: c });
        }
        let value: String = candidate.iter().collect();
        if passes_repaired(code, &value) && !found.iter().any(|(v, _)| *v == value) {
            found.push((value, repairs));
        }
        // Next combination: an odometer over the options of each position.
        let mut slot = 0;
        loop {
            if slot == positions.len() {
                return;
            }
            choices[slot] += 1;
            if choices[slot] < options[positions[slot]].len() {
                break;
            }
            choices[slot] = 0;
            slot += 1;
        }
    }
}

/// All `k`-element subsets of `items`, in order.
fn combinations(items: &[usize], k: usize) -> Vec<Vec<usize>> {
    if k == 0 {
        return vec![Vec::new()];
    }
    let mut out = Vec::new();
    for (i, &first) in items.iter().enumerate() {
        for mut rest in combinations(&items[i + 1..], k - 1) {
            rest.insert(0, first);
            out.push(rest);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::date;

    const ID: Code = Code::ResidentId { today: date!(2026 - 11 - 25) };

    fn readings(s: &str) -> Vec<CharReading> {
        s.chars().map(|c| CharReading::certain(c, 0.99)).collect()
    }

    #[test]
    fn a_good_reading_passes_untouched() {
        assert_eq!(repair(&readings("11010519491231002X"), ID), Outcome::Valid("11010519491231002X".into()));
        assert_eq!(
            repair(&readings("91350100M000100Y43"), Code::CreditCode),
            Outcome::Valid("91350100M000100Y43".into())
        );
    }

    #[test]
    fn a_letter_read_for_a_digit_is_repaired_and_reported() {
        let mut r = readings("11010519491231002X");
        r[6] = CharReading { best: 'I', confidence: 0.52, alternatives: vec![('1', 0.40)], span: 1, at: 0.0 };
        assert_eq!(
            repair(&r, ID),
            Outcome::Repaired {
                value: "11010519491231002X".into(),
                repairs: vec![Repair::Replaced { position: 6, read: 'I', corrected: '1' }]
            }
        );
    }

    #[test]
    fn a_low_confidence_digit_is_repaired_from_the_runner_up() {
        let mut r = readings("91350100M000100Y43");
        r[15] = CharReading { best: 'V', confidence: 0.45, alternatives: vec![('Y', 0.41)], span: 1, at: 0.0 };
        match repair(&r, Code::CreditCode) {
            Outcome::Repaired { value, repairs } => {
                assert_eq!(value, "91350100M000100Y43");
                assert_eq!(repairs, vec![Repair::Replaced { position: 15, read: 'V', corrected: 'Y' }]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn nothing_is_invented_without_support() {
        // The 13th digit was misread as another digit with no alternative offered and no known
        // confusion between the two: the reading is reported as unrepairable.
        let mut r = readings("11010519491231002X");
        r[12] = CharReading::certain('4', 0.99);
        assert_eq!(repair(&r, ID), Outcome::Unrepairable);
        assert_eq!(repair(&readings("1101051949123100"), ID), Outcome::Unrepairable, "wrong length");
        // Seventeen characters, none held long enough to be two: nothing is doubled on a guess.
        assert_eq!(repair(&readings("9135010M000100Y43"), Code::CreditCode), Outcome::Unrepairable);
    }

    #[test]
    fn a_repeated_character_read_once_is_restored_from_its_long_span() {
        // "91350100M000100Y43" with the two 1s of "91" + "35…" — here the 00 of "0100" — folded.
        let mut r = readings("91350100M00100Y43");
        for c in &mut r {
            c.span = 2;
        }
        r[9].span = 5; // the 0 at "M0|0" held for two characters' time
        assert_eq!(
            repair(&r, Code::CreditCode),
            Outcome::Repaired {
                value: "91350100M000100Y43".into(),
                repairs: vec![Repair::Doubled { position: 10, character: '0' }]
            }
        );
    }

    #[test]
    fn a_stray_character_the_code_cannot_contain_is_dropped() {
        // A stutter between 1 and L read an extra I (no credit code contains I).
        let r = readings("91110105UEB1ILTB8X9");
        let truth = "91110105UEB1LTB8X9";
        assert!(passes(Code::CreditCode, truth));
        assert_eq!(
            repair(&r, Code::CreditCode),
            Outcome::Repaired { value: truth.into(), repairs: vec![Repair::Dropped { position: 12, read: 'I' }] }
        );
        assert_eq!(Repair::Dropped { position: 12, read: 'I' }.to_string(), "第13位 删去多余的 I");
    }

    #[test]
    fn several_passing_corrections_are_not_decided() {
        let mut r = readings("11010519491231002X");
        // Two uncertain positions, each with several plausible digits: more than one combination
        // passes the check, so the repair must refuse to pick one.
        r[14] = CharReading {
            best: '0',
            confidence: 0.3,
            alternatives: (0..10).map(|d| (char::from(b'0' + d), 0.1)).collect(),
            span: 1,
            at: 0.0,
        };
        r[15] = CharReading {
            best: '9',
            confidence: 0.3,
            alternatives: (0..10).map(|d| (char::from(b'0' + d), 0.1)).collect(),
            span: 1,
            at: 0.0,
        };
        match repair(&r, ID) {
            Outcome::Ambiguous(values) => {
                assert!(values.len() > 1 && values.contains(&"11010519491231002X".to_owned()));
            }
            other => panic!("{other:?}"),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        /// Any single confusable misreading of a valid credit code, with the true character among
        /// the runners-up, comes back as the true code or is left undecided; never a wrong one.
        #[test]
        fn single_misreadings_come_back_or_stay_undecided(body in proptest::collection::vec(0usize..31, 17), pos in 0usize..18) {
            const ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
            let mut code: Vec<u8> = body.iter().map(|i| ALPHABET[*i]).collect();
            // Real codes: the organisation part passes its own check.
            code[16] = credit_code::organization_check_character(&code[8..16]).unwrap();
            code.push(credit_code::check_character(&code).unwrap());
            let truth = String::from_utf8(code.clone()).unwrap();
            let original = char::from(code[pos]);
            let Some(&wrong) = confusions(original).first() else { return Ok(()); };
            let mut r = readings(&truth);
            r[pos] = CharReading { best: wrong, confidence: 0.4, alternatives: vec![(original, 0.35)], span: 1, at: 0.0 };
            match repair(&r, Code::CreditCode) {
                Outcome::Repaired { value, .. } => prop_assert_eq!(value, truth),
                Outcome::Ambiguous(values) => prop_assert!(values.contains(&truth)),
                Outcome::Valid(value) => prop_assert!(passes(Code::CreditCode, &value)),
                Outcome::Unrepairable => prop_assert!(false, "the supported truth was not found"),
            }
        }

        /// A repeated character folded into one (its span long) comes back as the true code or
        /// stays undecided; a stray letter no code contains is dropped likewise. Never a wrong one.
        #[test]
        fn length_errors_come_back_or_stay_undecided(
            body in proptest::collection::vec(0usize..31, 17),
            at in 0usize..15,
            stray in proptest::sample::select(vec!['I', 'O', 'S', 'V', 'Z']),
            stray_at in 0usize..19,
        ) {
            const ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
            let mut code: Vec<u8> = body.iter().map(|i| ALPHABET[*i]).collect();
            code[at + 1] = code[at];
            code[16] = credit_code::organization_check_character(&code[8..16]).unwrap();
            code.push(credit_code::check_character(&code).unwrap());
            let truth = String::from_utf8(code).unwrap();

            let mut folded = readings(&truth);
            folded.remove(at + 1);
            for r in &mut folded {
                r.span = 2;
            }
            folded[at].span = 5;
            let mut strayed = readings(&truth);
            strayed.insert(stray_at.min(18), CharReading::certain(stray, 0.5));
            for outcome in [repair(&folded, Code::CreditCode), repair(&strayed, Code::CreditCode)] {
                match outcome {
                    Outcome::Repaired { value, .. } => prop_assert_eq!(&value, &truth),
                    Outcome::Ambiguous(values) => prop_assert!(values.contains(&truth)),
                    other => prop_assert!(false, "{other:?}"),
                }
            }
        }
    }
}
