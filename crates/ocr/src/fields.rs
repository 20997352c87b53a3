//! From recognised text lines to document fields (the output contract of the OCR issue):
//! `id-front` (`name`, `sex`, `ethnicity`, `birth_date`, `address`, `id_number`), `id-back`
//! (`issuer`, `valid_from`, `valid_to`) and `license` (`company_name`, `credit_code`,
//! `company_type`, `legal_representative`, `registered_capital`, `established_date`, `address`).
//!
//! Extraction follows the geometry of the printed documents, not the order of their text:
//!
//! - every detected line is cut into glyphs with their horizontal extent (from the recogniser's
//!   time steps), and lines are chained to their right-hand neighbours across any gap, so a
//!   letter-spaced label (`姓   名`) detected as two boxes is one label, and a value printed far
//!   right of its label (`公民身份号码      1101…`) is its value;
//! - labels are matched where a box starts, tolerating misread characters in the long ones;
//! - a value runs from its label to the next label or a column gap, and wraps onto the lines below
//!   that start under its first character (the value column), never under a label;
//! - a label standing alone (the credit code's in a license's corner) takes the block below it;
//! - ID numbers and credit codes are found by their check character anywhere on the page, nearest
//!   to their label when it was read at all, and mended by checksum-guided repair.
//!
//! A value read with low confidence or failing plausibility is not a field but a suggestion, for
//! the applicant to check; cross-checks become warnings.

use std::collections::BTreeMap;
use time::{Date, Month};

use crate::repair::{CharReading, Code, Outcome, repair};

/// One recognised line: its text, its box (`x0, y0, x1, y1`, image pixels) and, when the
/// recogniser provides them, per-character readings for repair and position.
#[derive(Debug, Clone, PartialEq)]
pub struct TextLine {
    pub text: String,
    pub bbox: [f32; 4],
    pub chars: Vec<CharReading>,
}

impl TextLine {
    pub fn new(text: &str, bbox: [f32; 4]) -> Self {
        Self { text: text.into(), bbox, chars: Vec::new() }
    }
}

/// Which document the lines come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    IdFront,
    IdBack,
    License,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::IdFront => "id-front",
            Self::IdBack => "id-back",
            Self::License => "license",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        [Self::IdFront, Self::IdBack, Self::License].into_iter().find(|k| k.as_str() == name)
    }

    /// Decides the kind from the printed labels; `None` when nothing matches.
    pub fn detect(lines: &[TextLine]) -> Option<Self> {
        let page = Page::new(lines);
        let found = |kind: Self| -> Vec<Field> { page.hits(kind).into_iter().map(|h| h.field).collect() };
        let (license, front, back) = (found(Self::License), found(Self::IdFront), found(Self::IdBack));
        // All text top to bottom: a letter-spaced title read box by box still spells 营业执照.
        let mut order: Vec<&Line> = page.lines.iter().collect();
        order.sort_by(|a, b| a.center_y().total_cmp(&b.center_y()));
        let all: String = order.iter().flat_map(|l| l.glyphs.iter().map(|g| g.c)).collect();
        if license.contains(&Field::CreditCode) || all.contains("营业执照") {
            Some(Self::License)
        } else if front.contains(&Field::IdNumber) || (front.contains(&Field::Name) && front.contains(&Field::Address))
        {
            Some(Self::IdFront)
        } else if back.contains(&Field::Issuer) || back.contains(&Field::Validity) {
            Some(Self::IdBack)
        } else {
            None
        }
    }
}

/// What was read from one image.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Extraction {
    /// Values read with confidence that pass their plausibility checks: they fill the form.
    pub fields: BTreeMap<&'static str, String>,
    /// Shown to the applicant and the reviewer; never blocking.
    pub warnings: Vec<String>,
    /// What checksum-guided repair changed, for the reviewer.
    pub repairs: Vec<String>,
    /// Values read with low confidence or failing plausibility: offered to the applicant to
    /// check ("识别结果：…，请核对"), never prefilled.
    pub suggestions: BTreeMap<&'static str, String>,
    /// The recogniser's confidence in each field or suggestion (the least sure character), 0..=1.
    pub confidence: BTreeMap<&'static str, f32>,
}

impl Extraction {
    /// Records a value: a field when it is confident and plausible, else a suggestion.
    fn offer(&mut self, field: &'static str, value: Option<Value>, plausible: impl Fn(&str) -> bool) {
        let Some(value) = value else { return };
        if value.text.is_empty() {
            return;
        }
        self.confidence.insert(field, value.confidence);
        if value.confidence >= MIN_CONFIDENCE && plausible(&value.text) {
            self.fields.insert(field, value.text);
        } else {
            self.suggestions.insert(field, value.text);
        }
    }

    /// Moves a field to the suggestions (a cross-check failed).
    fn demote(&mut self, field: &'static str) {
        if let Some(value) = self.fields.remove(field) {
            self.suggestions.insert(field, value);
        }
    }
}

/// A value whose least sure character is below this is offered, not filled.
const MIN_CONFIDENCE: f32 = 0.5;
/// A value stops at a gap wider than this many line heights (the next column).
const COLUMN_GAP: f32 = 2.6;
/// A wrapped line starts within this many line heights of its value's first character.
const WRAP_ALIGN: f32 = 1.3;
/// Lines of one value are at most this many line heights apart (top to previous bottom).
const WRAP_GAP: f32 = 1.1;
/// A label alone takes a block starting at most this many line heights below it.
const BELOW_GAP: f32 = 2.2;

// ---------------------------------------------------------------------------------------------
// Labels

/// What a label introduces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Name,
    Sex,
    Ethnicity,
    Birth,
    Address,
    IdNumber,
    Issuer,
    Validity,
    CompanyName,
    CreditCode,
    CompanyType,
    Person,
    Capital,
    Established,
    /// Printed labels whose values we do not extract; they end the values before them.
    Other,
}

/// The printed labels of each kind: `(text, field, may follow another label's value inside one
/// detected box)`. Labels of other kinds are not looked for.
fn labels(kind: Kind) -> &'static [(&'static str, Field, bool)] {
    match kind {
        Kind::IdFront => &[
            ("姓名", Field::Name, false),
            ("性别", Field::Sex, false),
            ("民族", Field::Ethnicity, true),
            ("出生", Field::Birth, false),
            ("住址", Field::Address, false),
            ("公民身份号码", Field::IdNumber, true),
        ],
        Kind::IdBack => &[
            ("签发机关", Field::Issuer, false),
            ("有效期限", Field::Validity, false),
            ("中华人民共和国", Field::Other, false),
            ("居民身份证", Field::Other, false),
        ],
        Kind::License => &[
            ("统一社会信用代码", Field::CreditCode, false),
            ("名称", Field::CompanyName, false),
            ("类型", Field::CompanyType, false),
            ("法定代表人", Field::Person, false),
            ("经营者", Field::Person, false),
            ("负责人", Field::Person, false),
            ("执行事务合伙人", Field::Person, false),
            ("投资人", Field::Person, false),
            ("注册资本", Field::Capital, true),
            ("出资额", Field::Capital, true),
            ("成立日期", Field::Established, true),
            ("注册日期", Field::Established, true),
            ("住所", Field::Address, true),
            ("经营场所", Field::Address, true),
            ("主要经营场所", Field::Address, true),
            ("营业场所", Field::Address, true),
            ("营业期限", Field::Other, true),
            ("合伙期限", Field::Other, true),
            ("经营范围", Field::Other, false),
            ("组成形式", Field::Other, true),
            ("登记机关", Field::Other, false),
            ("副本编号", Field::Other, false),
            ("营业执照", Field::Other, false),
        ],
    }
}

/// How many characters of a label may be misread: none in short ones, where a wrong character
/// makes another word.
fn tolerance(label_chars: usize) -> usize {
    match label_chars {
        0..=3 => 0,
        4..=6 => 1,
        _ => 2,
    }
}

// ---------------------------------------------------------------------------------------------
// Geometry

/// One recognised character with its horizontal extent and the line it belongs to.
#[derive(Debug, Clone)]
struct Glyph {
    c: char,
    x0: f32,
    x1: f32,
    line: usize,
    /// The first glyph of its detected box.
    starts_box: bool,
    reading: Option<CharReading>,
}

/// A detected line as glyphs (whitespace dropped, full-width letters and digits made ASCII).
struct Line {
    glyphs: Vec<Glyph>,
    bbox: [f32; 4],
}

impl Line {
    fn height(&self) -> f32 {
        (self.bbox[3] - self.bbox[1]).max(1.0)
    }

    fn center_y(&self) -> f32 {
        f32::midpoint(self.bbox[1], self.bbox[3])
    }
}

/// Full-width ASCII look-alikes (`１`, `Ａ`, `：`) as ASCII.
fn half_width(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        other => other,
    }
}

/// A CJK character is about a square; Latin letters and digits about half of one.
fn nominal_width(c: char) -> f32 {
    if c.is_ascii() { 0.55 } else { 1.0 }
}

fn glyphs_of(index: usize, line: &TextLine) -> Line {
    let [x0, _, x1, _] = line.bbox;
    let width = (x1 - x0).max(1.0);
    let chars: Vec<char> = line.text.chars().collect();
    // Positions from the recogniser when it gave one reading per character, else spread by
    // nominal widths.
    let positions: Vec<(f32, f32)> = if line.chars.len() == chars.len() && line.chars.iter().any(|r| r.at > 0.0) {
        (0..chars.len())
            .map(|i| {
                let start = line.chars[i].at;
                let end = line.chars.get(i + 1).map_or(1.0, |r| r.at).max(start);
                (x0 + start * width, x0 + end * width)
            })
            .collect()
    } else {
        let total: f32 = chars.iter().map(|c| nominal_width(*c)).sum::<f32>().max(0.01);
        let mut at = x0;
        chars
            .iter()
            .map(|c| {
                let w = width * nominal_width(*c) / total;
                at += w;
                (at - w, at)
            })
            .collect()
    };
    let mut glyphs = Vec::with_capacity(chars.len());
    for (i, c) in chars.iter().enumerate() {
        if c.is_whitespace() || *c == '\u{3000}' {
            continue;
        }
        let reading = (line.chars.len() == chars.len()).then(|| line.chars[i].clone());
        glyphs.push(Glyph {
            c: half_width(*c),
            x0: positions[i].0,
            x1: positions[i].1,
            line: index,
            starts_box: glyphs.is_empty(),
            reading,
        });
    }
    Line { glyphs, bbox: line.bbox }
}

/// Whether two lines share a row: they overlap vertically by half the smaller height.
fn same_row(a: &Line, b: &Line) -> bool {
    let overlap = a.bbox[3].min(b.bbox[3]) - a.bbox[1].max(b.bbox[1]);
    overlap >= 0.5 * a.height().min(b.height())
}

/// A label found on the page.
#[derive(Debug, Clone, Copy)]
struct Hit {
    field: Field,
    /// Index into the chain of the line where it starts, and the chain position after it.
    line: usize,
    end: usize,
    x0: f32,
    x1: f32,
}

/// The page: lines as glyphs and each line's chain to the right.
struct Page {
    lines: Vec<Line>,
    /// For each line, the lines to its right in the same row, nearest first, itself first.
    chains: Vec<Vec<usize>>,
}

impl Page {
    fn new(lines: &[TextLine]) -> Self {
        let lines: Vec<Line> =
            lines.iter().enumerate().map(|(i, l)| glyphs_of(i, l)).filter(|l| !l.glyphs.is_empty()).collect();
        // Re-index glyphs to the filtered lines.
        let mut lines = lines;
        for (i, line) in lines.iter_mut().enumerate() {
            for g in &mut line.glyphs {
                g.line = i;
            }
        }
        let chains = (0..lines.len())
            .map(|start| {
                let mut chain = vec![start];
                let mut current = start;
                while chain.len() < 12 {
                    let here = &lines[current];
                    let next = (0..lines.len())
                        .filter(|&j| !chain.contains(&j))
                        .filter(|&j| {
                            let there = &lines[j];
                            there.bbox[0] >= here.bbox[2] - 0.6 * here.height().min(there.height())
                                && there.bbox[0] > here.bbox[0]
                                && same_row(here, there)
                        })
                        .min_by(|&a, &b| lines[a].bbox[0].total_cmp(&lines[b].bbox[0]));
                    match next {
                        Some(j) => {
                            chain.push(j);
                            current = j;
                        }
                        None => break,
                    }
                }
                chain
            })
            .collect();
        Self { lines, chains }
    }

    /// The glyphs of `line` followed by those of its row to the right.
    fn chain(&self, line: usize) -> Vec<&Glyph> {
        self.chains[line].iter().flat_map(|&l| self.lines[l].glyphs.iter()).collect()
    }

    /// Whether `label` is spelled at `at` in `glyphs`, within its tolerance.
    fn spelled(glyphs: &[&Glyph], at: usize, label: &str) -> bool {
        let wanted: Vec<char> = label.chars().collect();
        if at + wanted.len() > glyphs.len() {
            return false;
        }
        let wrong = wanted.iter().zip(&glyphs[at..]).filter(|(w, g)| **w != g.c).count();
        // The first or last character must be right: a label misread at both ends is a guess.
        let ends = glyphs[at].c == wanted[0] || glyphs[at + wanted.len() - 1].c == wanted[wanted.len() - 1];
        wrong <= tolerance(wanted.len()) && (wrong == 0 || ends)
    }

    /// Every label of `kind` that starts a detected box, longest spelling first.
    fn hits(&self, kind: Kind) -> Vec<Hit> {
        let mut out = Vec::new();
        for line in 0..self.lines.len() {
            let chain = self.chain(line);
            let mut best: Option<Hit> = None;
            for &(label, field, _) in labels(kind) {
                let n = label.chars().count();
                if Self::spelled(&chain, 0, label) && best.is_none_or(|b| b.end < n) {
                    best = Some(Hit { field, line, end: n, x0: chain[0].x0, x1: chain[n - 1].x1 });
                }
            }
            // A letter-spaced label of which the detector kept only some characters (`称` of
            // `名    称`): the box holds nothing but characters of one field's labels, in order,
            // and a value follows on its row.
            if best.is_none() && chain.len() > self.lines[line].glyphs.len() {
                best = self.partial_label(kind, line);
            }
            out.extend(best);
            // Labels that may follow another's value inside one box (`性别男民族汉`).
            let own = self.lines[line].glyphs.len();
            for i in 1..own {
                for &(label, field, may_follow) in labels(kind) {
                    let n = label.chars().count();
                    if may_follow && label.chars().zip(&chain[i..]).filter(|(c, g)| *c == g.c).count() == n {
                        out.push(Hit { field, line, end: i + n, x0: chain[i].x0, x1: chain[i + n - 1].x1 });
                    }
                }
            }
        }
        // A label spread over several boxes is found from its first box only.
        let covered: Vec<(usize, usize)> = out.iter().map(|h| (h.line, h.end)).collect();
        out.retain(|h| {
            !covered.iter().any(|&(line, end)| {
                line != h.line && {
                    let chain = &self.chains[line];
                    let mut seen = 0;
                    chain.iter().any(|&l| {
                        let inside = seen > 0 && seen < end && l == h.line;
                        seen += self.lines[l].glyphs.len();
                        inside
                    })
                }
            })
        });
        out
    }

    /// The label `line` is part of, when its glyphs (at most three) appear in order in the labels
    /// of exactly one field and in no other.
    fn partial_label(&self, kind: Kind, line: usize) -> Option<Hit> {
        let glyphs = &self.lines[line].glyphs;
        if glyphs.len() > 3 {
            return None;
        }
        let subsequence = |label: &str| {
            let mut rest = label.chars();
            glyphs.iter().all(|g| rest.any(|c| c == g.c))
        };
        let mut fields = labels(kind).iter().filter(|(label, ..)| subsequence(label)).map(|(_, field, _)| *field);
        let field = fields.next()?;
        if fields.any(|f| f != field) {
            return None;
        }
        Some(Hit { field, line, end: glyphs.len(), x0: glyphs[0].x0, x1: glyphs[glyphs.len() - 1].x1 })
    }

    /// The value after `hit`: along its row to the next label or a column gap, then, for
    /// `wraps`, the lines below that start under its first character; a label alone on its row
    /// takes the block below it.
    fn value(&self, kind: Kind, hit: &Hit, hits: &[Hit], wraps: bool) -> Option<Value> {
        let height = self.lines[hit.line].height();
        let chain = self.chain(hit.line);
        let mut glyphs = Self::run(kind, &chain, hit.end, height);
        let mut last_line = glyphs.last().map_or(hit.line, |g| g.line);
        if glyphs.is_empty() && kind == Kind::License {
            // Alone on its row: the block right below, starting under the label (cards print
            // every value beside its label).
            let label = &self.lines[hit.line];
            let below = (0..self.lines.len())
                .filter(|&j| {
                    let l = &self.lines[j];
                    l.bbox[1] > label.center_y()
                        && l.bbox[1] - label.bbox[3] < BELOW_GAP * height
                        && l.bbox[0] < hit.x1 + height
                        && l.bbox[2] > hit.x0
                        && !hits.iter().any(|h| h.line == j)
                })
                .min_by(|&a, &b| self.lines[a].bbox[1].total_cmp(&self.lines[b].bbox[1]))?;
            glyphs = Self::run(kind, &self.chain(below), 0, height);
            last_line = glyphs.last().map_or(below, |g| g.line);
        }
        let first = glyphs.first()?;
        let (column, first_line) = (first.x0, first.line);
        if wraps {
            let mut previous = self.lines[first_line].bbox;
            previous[3] = previous[3].max(self.lines[last_line].bbox[3]);
            for _ in 0..4 {
                let next = (0..self.lines.len())
                    .filter(|&j| {
                        let l = &self.lines[j];
                        l.bbox[1] > previous[1] + 0.5 * height
                            && l.bbox[1] - previous[3] < WRAP_GAP * height
                            && (l.bbox[0] - column).abs() < WRAP_ALIGN * height
                    })
                    .min_by(|&a, &b| self.lines[a].bbox[1].total_cmp(&self.lines[b].bbox[1]));
                let Some(next) = next else { break };
                // A label at the start of that row (under the labels) ends the value.
                let row_label = hits.iter().any(|h| {
                    let l = &self.lines[h.line];
                    same_row(l, &self.lines[next]) && h.x0 < column && h.x0 > hit.x0 - 2.0 * height
                }) || hits.iter().any(|h| h.line == next);
                if row_label {
                    break;
                }
                let more = Self::run(kind, &self.chain(next), 0, height);
                if more.is_empty() {
                    break;
                }
                previous = self.lines[next].bbox;
                glyphs.extend(more);
            }
        }
        Some(Value::of(&glyphs))
    }

    /// A license's name when its label was not read at all: every license prints 名称 in the row
    /// above 类型, its value in the same column; the nearest line there that is no label's.
    fn name_above_type(&self, hits: &[Hit]) -> Option<Value> {
        let kind = Kind::License;
        let type_hit = hits.iter().find(|h| h.field == Field::CompanyType)?;
        let height = self.lines[type_hit.line].height();
        let type_value = Self::run(kind, &self.chain(type_hit.line), type_hit.end, height);
        let column = type_value.first()?.x0;
        let top = self.lines[type_hit.line].bbox[1];
        let above = (0..self.lines.len())
            .filter(|&j| {
                let l = &self.lines[j];
                l.bbox[3] < top + 0.3 * height
                    && top - l.bbox[3] < 3.0 * height
                    && (l.bbox[0] - column).abs() < WRAP_ALIGN * height
                    && !hits.iter().any(|h| h.line == j)
            })
            .max_by(|&a, &b| self.lines[a].bbox[1].total_cmp(&self.lines[b].bbox[1]))?;
        let glyphs = Self::run(kind, &self.chain(above), 0, height);
        (!glyphs.is_empty()).then(|| Value::of(&glyphs))
    }

    /// Glyphs of `chain` from `start` up to the next label or a column gap; leading colons
    /// skipped.
    fn run<'a>(kind: Kind, chain: &[&'a Glyph], start: usize, height: f32) -> Vec<&'a Glyph> {
        let mut out: Vec<&Glyph> = Vec::new();
        let mut i = start;
        while i < chain.len() {
            let g = chain[i];
            if out.is_empty() && matches!(g.c, ':' | '：' | '.' | '·') {
                i += 1;
                continue;
            }
            if let Some(prev) = out.last()
                && g.x0 - prev.x1 > COLUMN_GAP * height
            {
                break;
            }
            let label_here = labels(kind).iter().any(|&(label, _, may_follow)| {
                (g.starts_box || may_follow) && label.chars().count() >= 2 && {
                    let exact = label.chars().zip(&chain[i..]).all(|(c, g)| c == g.c)
                        && i + label.chars().count() <= chain.len();
                    if g.starts_box { Self::spelled(chain, i, label) } else { exact }
                }
            });
            if label_here && (i > start || !out.is_empty()) {
                break;
            }
            out.push(g);
            i += 1;
        }
        out
    }
}

/// A value's text and how sure the recogniser was of it.
#[derive(Debug, Clone)]
struct Value {
    text: String,
    confidence: f32,
}

impl Value {
    fn of(glyphs: &[&Glyph]) -> Self {
        let text: String = glyphs.iter().map(|g| g.c).collect();
        let text = text.trim_matches(|c: char| c == ':' || c == '：').to_owned();
        let confidence = glyphs.iter().filter_map(|g| g.reading.as_ref().map(|r| r.confidence)).fold(1.0, f32::min);
        Self { text, confidence }
    }

    fn map(self, f: impl FnOnce(&str) -> Option<String>) -> Option<Self> {
        f(&self.text).map(|text| Self { text, confidence: self.confidence })
    }
}

// ---------------------------------------------------------------------------------------------
// Values and their plausibility

/// Names and company types as the registry prints them: with full-width brackets, whichever
/// width the recogniser saw (the two look alike in a photo).
fn full_width_brackets(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '(' => '（',
            ')' => '）',
            other => other,
        })
        .collect()
}

/// `1990年1月2日`, `1990 年 1 月 2 日` or `1990.01.02` → the date.
fn parse_date(text: &str) -> Option<Date> {
    let numbers: Vec<u32> =
        text.split(|c: char| !c.is_ascii_digit()).filter(|s| !s.is_empty()).filter_map(|s| s.parse().ok()).collect();
    let (year, month, day) = match numbers[..] {
        [year, month, day, ..] => (year, month, day),
        // `19900102` read without separators.
        [joined, ..] if (10_000_000..100_000_000).contains(&joined) => {
            (joined / 10_000, joined / 100 % 100, joined % 100)
        }
        _ => return None,
    };
    Date::from_calendar_date(
        i32::try_from(year).ok()?,
        Month::try_from(u8::try_from(month).ok()?).ok()?,
        u8::try_from(day).ok()?,
    )
    .ok()
}

fn iso(date: Date) -> String {
    format!("{:04}-{:02}-{:02}", date.year(), u8::from(date.month()), date.day())
}

fn is_cjk(c: char) -> bool {
    ('\u{4E00}'..='\u{9FFF}').contains(&c) || ('\u{3400}'..='\u{4DBF}').contains(&c)
}

/// A person's name: two to six Chinese characters, or a minority name with a middle dot.
fn plausible_name(name: &str) -> bool {
    let n = name.chars().count();
    (2..=6).contains(&n) && name.chars().all(|c| is_cjk(c) || c == '·')
        || (4..=15).contains(&n) && name.contains('·') && name.chars().all(|c| is_cjk(c) || c == '·')
}

/// The 56 ethnic groups as the card prints them.
const ETHNIC_GROUPS: &[&str] = &[
    "汉",
    "蒙古",
    "回",
    "藏",
    "维吾尔",
    "苗",
    "彝",
    "壮",
    "布依",
    "朝鲜",
    "满",
    "侗",
    "瑶",
    "白",
    "土家",
    "哈尼",
    "哈萨克",
    "傣",
    "黎",
    "傈僳",
    "佤",
    "畲",
    "高山",
    "拉祜",
    "水",
    "东乡",
    "纳西",
    "景颇",
    "柯尔克孜",
    "土",
    "达斡尔",
    "仫佬",
    "羌",
    "布朗",
    "撒拉",
    "毛南",
    "仡佬",
    "锡伯",
    "阿昌",
    "普米",
    "塔吉克",
    "怒",
    "乌孜别克",
    "俄罗斯",
    "鄂温克",
    "德昂",
    "保安",
    "裕固",
    "京",
    "塔塔尔",
    "独龙",
    "鄂伦春",
    "赫哲",
    "门巴",
    "珞巴",
    "基诺",
];

/// An address: long enough, and naming an administrative level.
fn plausible_address(address: &str) -> bool {
    address.chars().count() >= 6
        && ["省", "市", "区", "县", "旗", "州", "盟"].iter().any(|level| address.contains(level))
        && address.chars().all(|c| is_cjk(c) || c.is_ascii_alphanumeric() || "（）()-—·#、，,".contains(c))
}

/// An ID card's issuer: a public security bureau or its branch.
fn plausible_issuer(issuer: &str) -> bool {
    issuer.chars().count() >= 5 && (issuer.ends_with("公安局") || issuer.ends_with("分局"))
}

/// A company or business name: some Chinese characters, no stray Latin.
fn plausible_company(name: &str) -> bool {
    let n = name.chars().count();
    n >= 4 && name.chars().all(|c| is_cjk(c) || "（）()·".contains(c) || c.is_ascii_digit())
}

/// The part of a date value that is a date: `2015年06月01日至长期` is established on 2015-06-01.
fn date_value(value: Option<Value>) -> Option<Value> {
    value?.map(|t| parse_date(t).map(iso))
}

// ---------------------------------------------------------------------------------------------
// Codes

/// One 17–19 character run of letters and digits on the page, with its place.
struct Run {
    readings: Vec<CharReading>,
    x0: f32,
    y: f32,
}

/// Every run of letters and digits that could be an 18-character code (one too few or too many
/// for the repair to mend), across boxes of one row when a code was detected in pieces.
fn runs(page: &Page) -> Vec<Run> {
    let mut out = Vec::new();
    for line in 0..page.lines.len() {
        let chain = page.chain(line);
        let height = page.lines[line].height();
        // Runs that start in this line (a run continuing from the left was taken there).
        let mut current: Vec<&Glyph> = Vec::new();
        let flush = |current: &mut Vec<&Glyph>, out: &mut Vec<Run>| {
            let n = current.len();
            if n >= 17 && current[0].line == line {
                let windows: Vec<(usize, usize)> =
                    if n <= 19 { vec![(0, n)] } else { (0..=n - 18).map(|s| (s, s + 18)).collect() };
                for (s, e) in windows {
                    let readings = current[s..e]
                        .iter()
                        .map(|g| {
                            let mut r = g.reading.clone().unwrap_or_else(|| CharReading::certain(g.c, 0.9));
                            r.best = g.c.to_ascii_uppercase();
                            r
                        })
                        .collect();
                    let y = page.lines[current[s].line].center_y();
                    out.push(Run { readings, x0: current[s].x0, y });
                }
            }
            current.clear();
        };
        for g in chain {
            let joins = current.last().is_none_or(|prev| g.x0 - prev.x1 < 2.0 * height);
            if g.c.is_ascii_alphanumeric() && joins {
                current.push(g);
            } else {
                flush(&mut current, &mut out);
                if g.c.is_ascii_alphanumeric() {
                    current.push(g);
                }
            }
        }
        flush(&mut current, &mut out);
    }
    out
}

/// The code of `kind` on the page: the run that passes its check (as read or repaired), nearest
/// to the label when one was read. A run near the label that passes no check is a suggestion.
fn code(page: &Page, hits: &[Hit], field_of_label: Field, kind: Code, out: &mut Extraction, field: &'static str) {
    let label = hits.iter().find(|h| h.field == field_of_label).map(|h| {
        let l = &page.lines[h.line];
        (h.x1, l.center_y(), l.height())
    });
    let distance = |run: &Run| match label {
        // Right of the label or below it; above or far left counts double.
        Some((x, y, h)) => {
            let (dx, dy) = ((run.x0 - x) / h, (run.y - y) / h);
            let penalty = if dy < -0.5 || dx < -20.0 { 2.0 } else { 1.0 };
            dx.abs().hypot(dy.abs() * 3.0) * penalty
        }
        None => 0.0,
    };
    let mut best: Option<(u8, f32, String, Vec<String>)> = None;
    let mut failed: Option<(f32, String)> = None;
    for run in runs(page) {
        let d = distance(&run);
        let (rank, value, repairs) = match repair(&run.readings, kind) {
            Outcome::Valid(value) => (0u8, value, Vec::new()),
            Outcome::Repaired { value, repairs } => (1, value, repairs.iter().map(ToString::to_string).collect()),
            Outcome::Ambiguous(_) | Outcome::Unrepairable => {
                if run.readings.len() == 18 && failed.as_ref().is_none_or(|(fd, _)| d < *fd) {
                    failed = Some((d, run.readings.iter().map(|r| r.best).collect()));
                }
                continue;
            }
        };
        if best.as_ref().is_none_or(|(r, bd, _, _)| (rank, d) < (*r, *bd) && (d < *bd || rank < *r)) {
            best = Some((rank, d, value, repairs));
        }
    }
    match best {
        Some((_, _, value, repairs)) => {
            for r in repairs {
                out.repairs.push(format!("{field} {r}"));
            }
            out.confidence.insert(field, 1.0);
            out.fields.insert(field, value);
        }
        None => {
            if let Some((_, value)) = failed {
                out.suggestions.insert(field, value);
                out.warnings.push(format!("{field} 未通过校验，请人工核对"));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Documents

/// Extracts the fields of `kind` from recognised lines. `today` is for expiry and plausibility.
pub fn extract(kind: Kind, lines: &[TextLine], today: Date) -> Extraction {
    let mut out = Extraction::default();
    let page = Page::new(lines);
    let hits = page.hits(kind);
    let value = |field: Field, wraps: bool| {
        hits.iter().filter(|h| h.field == field).find_map(|h| page.value(kind, h, &hits, wraps))
    };
    let past = |date: &str| date.len() == 10 && date <= iso(today).as_str() && date >= "1900-01-01";
    match kind {
        Kind::IdFront => {
            out.offer("name", value(Field::Name, false), plausible_name);
            let sex = value(Field::Sex, false)
                .and_then(|v| v.map(|t| t.chars().find(|c| "男女".contains(*c)).map(String::from)));
            out.offer("sex", sex, |_| true);
            out.offer("ethnicity", value(Field::Ethnicity, false), |e| ETHNIC_GROUPS.contains(&e));
            out.offer("birth_date", date_value(value(Field::Birth, false)), past);
            out.offer("address", value(Field::Address, true), plausible_address);
            code(&page, &hits, Field::IdNumber, Code::ResidentId { today }, &mut out, "id_number");
            cross_check_front(&mut out);
        }
        Kind::IdBack => {
            out.offer("issuer", value(Field::Issuer, false), plausible_issuer);
            if let Some(v) = value(Field::Validity, false) {
                validity(&mut out, &v, today);
            }
        }
        Kind::License => {
            let brackets = |v: Option<Value>| v.and_then(|v| v.map(|t| Some(full_width_brackets(t))));
            let name = value(Field::CompanyName, true).or_else(|| page.name_above_type(&hits));
            out.offer("company_name", brackets(name), plausible_company);
            out.offer("company_type", brackets(value(Field::CompanyType, false)), |t| {
                t.chars().count() >= 4 && t.chars().all(|c| is_cjk(c) || "（）、".contains(c))
            });
            out.offer("legal_representative", value(Field::Person, false), plausible_name);
            out.offer("registered_capital", value(Field::Capital, false), |c| c.chars().count() >= 3);
            out.offer("established_date", date_value(value(Field::Established, false)), past);
            out.offer("address", value(Field::Address, true), plausible_address);
            code(&page, &hits, Field::CreditCode, Code::CreditCode, &mut out, "credit_code");
        }
    }
    out
}

/// `2010.05.06-2030.05.06` or `2010.05.06-长期`: the period of an ID card. The end must be 5,
/// 10 or 20 years after the start on the same day (the issuing rule), else it is offered.
fn validity(out: &mut Extraction, v: &Value, today: Date) {
    let text = &v.text;
    let digits: Vec<&str> = text.split(|c: char| !c.is_ascii_digit()).filter(|s| !s.is_empty()).collect();
    // Groups as printed (2010 05 06 2030 05 06) or run together (20100506 20300506).
    let mut dates = Vec::new();
    let mut pending: Vec<&str> = Vec::new();
    for group in digits {
        if group.len() == 8 {
            dates.extend(parse_date(group));
            pending.clear();
        } else {
            pending.push(group);
            if pending.len() == 3 {
                dates.extend(parse_date(&pending.join(".")));
                pending.clear();
            }
        }
    }
    let Some(&from) = dates.first() else { return };
    let confident = v.confidence >= MIN_CONFIDENCE;
    let from_text = iso(from);
    out.confidence.insert("valid_from", v.confidence);
    out.confidence.insert("valid_to", v.confidence);
    if confident && from <= today {
        out.fields.insert("valid_from", from_text);
    } else {
        out.suggestions.insert("valid_from", from_text);
    }
    if text.contains("长期") || (text.contains('长') && dates.len() == 1) {
        out.fields.insert("valid_to", "长期".into());
        return;
    }
    let Some(&to) = dates.get(1) else { return };
    let rule = [5, 10, 20].iter().any(|years| {
        Date::from_calendar_date(from.year() + years, from.month(), from.day()).is_ok_and(|d| d == to)
            || (from.month() == Month::February && from.day() == 29 && to.year() == from.year() + years)
    });
    if confident && rule {
        out.fields.insert("valid_to", iso(to));
    } else {
        out.suggestions.insert("valid_to", iso(to));
    }
    if to < today {
        out.warnings.push("身份证已过期".into());
    }
}

/// Birth date and sex printed on the card against those encoded in the number; a printed value
/// that disagrees with a number that passed its check is offered, not filled.
fn cross_check_front(out: &mut Extraction) {
    let Some(id) = out.fields.get("id_number").cloned() else { return };
    let digits = id.as_bytes();
    if digits.len() != 18 {
        return;
    }
    let encoded = std::str::from_utf8(&digits[6..14]).ok().map(|d| format!("{}-{}-{}", &d[..4], &d[4..6], &d[6..8]));
    if let (Some(printed), Some(encoded)) = (out.fields.get("birth_date"), encoded.as_ref())
        && printed != encoded
    {
        out.warnings.push("证件上的出生日期与身份证号码不一致".into());
        out.demote("birth_date");
    }
    let encoded_sex = if (digits[16] - b'0') % 2 == 1 { "男" } else { "女" };
    // What the detector missed (a lone 男 or 女 is easily lost) the valid number tells.
    if !out.fields.contains_key("sex") && !out.suggestions.contains_key("sex") {
        out.fields.insert("sex", encoded_sex.into());
    }
    if let Some(encoded) = encoded.as_ref()
        && !out.fields.contains_key("birth_date")
        && !out.suggestions.contains_key("birth_date")
    {
        out.fields.insert("birth_date", encoded.clone());
    }
    if out.fields.get("sex").is_some_and(|s| s != encoded_sex) {
        out.warnings.push("证件上的性别与身份证号码不一致".into());
        out.demote("sex");
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    const TODAY: Date = date!(2026 - 11 - 25);

    fn line(text: &str, x: f32, y: f32) -> TextLine {
        let width = text.chars().fold(0.0, |w, _| w + 20.0);
        TextLine::new(text, [x, y, x + width, y + 30.0])
    }

    #[test]
    fn an_id_front_with_a_wrapped_address() {
        let lines = vec![
            line("姓名 张三", 40.0, 40.0),
            line("性别 女", 40.0, 90.0),
            line("民族 汉", 200.0, 92.0),
            line("出生 1949年12月31日", 40.0, 140.0),
            line("住址 北京市东城区某某街道", 40.0, 190.0),
            line("某某胡同1号", 110.0, 230.0),
            line("公民身份号码 11010519491231002X", 40.0, 320.0),
        ];
        assert_eq!(Kind::detect(&lines), Some(Kind::IdFront));
        let out = extract(Kind::IdFront, &lines, TODAY);
        assert_eq!(out.fields["name"], "张三");
        assert_eq!((out.fields["sex"].as_str(), out.fields["ethnicity"].as_str()), ("女", "汉"));
        assert_eq!(out.fields["birth_date"], "1949-12-31");
        assert_eq!(out.fields["address"], "北京市东城区某某街道某某胡同1号");
        assert_eq!(out.fields["id_number"], "11010519491231002X");
        assert!(out.warnings.is_empty(), "{:?}", out.warnings);
    }

    #[test]
    fn lines_out_of_order_are_put_back_in_reading_order() {
        let lines = vec![
            line("公民身份号码 11010519491231002X", 40.0, 320.0),
            line("姓名", 40.0, 40.0),
            line("张三", 120.0, 42.0),
        ];
        let out = extract(Kind::IdFront, &lines, TODAY);
        assert_eq!(out.fields["name"], "张三");
    }

    #[test]
    fn disagreements_with_the_number_become_warnings() {
        let lines = vec![
            line("性别 男", 40.0, 90.0),
            line("出生 1950年1月1日", 40.0, 140.0),
            line("公民身份号码 11010519491231002X", 40.0, 320.0),
        ];
        let out = extract(Kind::IdFront, &lines, TODAY);
        assert_eq!(out.warnings.len(), 2, "{:?}", out.warnings);
    }

    #[test]
    fn a_misread_number_is_repaired_and_reported() {
        let mut id = line("公民身份号码 11010519491231OO2X", 40.0, 320.0);
        id.chars =
            "11010519491231OO2X".chars().map(|c| CharReading::certain(c, if c == 'O' { 0.5 } else { 0.99 })).collect();
        let out = extract(Kind::IdFront, &[id], TODAY);
        assert_eq!(out.fields["id_number"], "11010519491231002X");
        assert_eq!(out.repairs.len(), 2);
    }

    #[test]
    fn an_id_back_and_its_expiry() {
        let lines = vec![
            line("签发机关 北京市公安局东城分局", 40.0, 300.0),
            line("有效期限 2006.01.01-2026.01.01", 40.0, 350.0),
        ];
        assert_eq!(Kind::detect(&lines), Some(Kind::IdBack));
        let out = extract(Kind::IdBack, &lines, TODAY);
        assert_eq!(out.fields["issuer"], "北京市公安局东城分局");
        assert_eq!((out.fields["valid_from"].as_str(), out.fields["valid_to"].as_str()), ("2006-01-01", "2026-01-01"));
        assert_eq!(out.warnings, ["身份证已过期"]);
        let forever = extract(Kind::IdBack, &[line("有效期限 2010.05.06-长期", 40.0, 350.0)], TODAY);
        assert_eq!(forever.fields["valid_to"], "长期");
    }

    #[test]
    fn a_business_license() {
        let lines = vec![
            line("营业执照", 300.0, 20.0),
            line("统一社会信用代码 91350100M000100Y43", 40.0, 80.0),
            line("名称 示例科技有限公司福州", 40.0, 160.0),
            line("分公司", 100.0, 195.0),
            line("类型 有限责任公司", 40.0, 240.0),
            line("法定代表人 王五", 40.0, 290.0),
            line("注册资本 壹佰万圆整", 500.0, 160.0),
            line("成立日期 2015年06月01日", 500.0, 240.0),
            line("住所 福建省福州市鼓楼区某某路1号", 40.0, 340.0),
            line("经营范围 软件开发", 40.0, 400.0),
        ];
        assert_eq!(Kind::detect(&lines), Some(Kind::License));
        let out = extract(Kind::License, &lines, TODAY);
        assert_eq!(out.fields["credit_code"], "91350100M000100Y43");
        assert_eq!(out.fields["company_name"], "示例科技有限公司福州分公司");
        assert_eq!(out.fields["company_type"], "有限责任公司");
        assert_eq!(out.fields["legal_representative"], "王五");
        assert_eq!(out.fields["registered_capital"], "壹佰万圆整");
        assert_eq!(out.fields["established_date"], "2015-06-01");
        assert_eq!(out.fields["address"], "福建省福州市鼓楼区某某路1号");
    }

    #[test]
    fn company_types_and_names_get_the_registrys_full_width_brackets() {
        let lines = vec![
            line("名称 福州示例贸易有限公司(分公司)", 40.0, 160.0),
            line("类型 有限责任公司（自然人独资)", 40.0, 240.0),
        ];
        let out = extract(Kind::License, &lines, TODAY);
        assert_eq!(out.fields["company_name"], "福州示例贸易有限公司（分公司）");
        assert_eq!(out.fields["company_type"], "有限责任公司（自然人独资）");
    }

    #[test]
    fn a_code_that_cannot_be_repaired_is_offered_to_check_not_filled() {
        let out = extract(Kind::License, &[line("统一社会信用代码 91350100M000100Y40", 40.0, 80.0)], TODAY);
        assert!(!out.fields.contains_key("credit_code"));
        assert_eq!(out.suggestions["credit_code"], "91350100M000100Y40");
        assert_eq!(out.warnings.len(), 1);
    }
}
