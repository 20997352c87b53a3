//! From recognised text lines to document fields (the output contract of the OCR issue):
//! `id-front` (`name`, `sex`, `ethnicity`, `birth_date`, `address`, `id_number`), `id-back`
//! (`issuer`, `valid_from`, `valid_to`) and `license` (`company_name`, `credit_code`,
//! `company_type`, `legal_representative`, `registered_capital`, `established_date`, `address`).
//! Layout-aware: values are found beside or below their printed labels, multi-line values are
//! joined, codes go through checksum-guided repair, and cross-checks become warnings.

use std::collections::BTreeMap;
use time::{Date, Month};

use crate::repair::{CharReading, Code, Outcome, repair};

/// One recognised line: its text, its box (`x0, y0, x1, y1`, image pixels) and, when the
/// recogniser provides them, per-character readings for repair.
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

    fn center_y(&self) -> f32 {
        f32::midpoint(self.bbox[1], self.bbox[3])
    }

    fn height(&self) -> f32 {
        (self.bbox[3] - self.bbox[1]).max(1.0)
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
        let all: String = lines.iter().map(|l| compact(&l.text)).collect();
        if all.contains("统一社会信用代码") || all.contains("营业执照") {
            Some(Self::License)
        } else if all.contains("公民身份号码") || (all.contains("姓名") && all.contains("住址")) {
            Some(Self::IdFront)
        } else if all.contains("签发机关") || all.contains("有效期限") {
            Some(Self::IdBack)
        } else {
            None
        }
    }
}

/// What was read from one image.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Extraction {
    pub fields: BTreeMap<&'static str, String>,
    /// Shown to the applicant and the reviewer; never blocking.
    pub warnings: Vec<String>,
    /// What checksum-guided repair changed, for the reviewer.
    pub repairs: Vec<String>,
}

impl Extraction {
    /// Records a field that was found; a field that was not stays absent.
    fn put(&mut self, field: &'static str, value: Option<String>) {
        if let Some(value) = value {
            self.fields.insert(field, value);
        }
    }
}

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

fn compact(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Lines in reading order: rows top to bottom (lines whose centres are within half a line height
/// share a row), left to right within a row.
fn reading_order(lines: &[TextLine]) -> Vec<TextLine> {
    let mut sorted = lines.to_vec();
    sorted.sort_by(|a, b| a.center_y().total_cmp(&b.center_y()));
    let mut rows: Vec<Vec<TextLine>> = Vec::new();
    for line in sorted {
        match rows.last_mut() {
            Some(row) if (row[0].center_y() - line.center_y()).abs() < row[0].height() / 2.0 => row.push(line),
            _ => rows.push(vec![line]),
        }
    }
    rows.into_iter()
        .flat_map(|mut row| {
            row.sort_by(|a, b| a.bbox[0].total_cmp(&b.bbox[0]));
            row
        })
        .collect()
}

/// The lines in reading order, as compact text beside their boxes.
struct Page {
    lines: Vec<TextLine>,
    texts: Vec<String>,
}

impl Page {
    fn new(lines: &[TextLine]) -> Self {
        let lines = reading_order(lines);
        let texts = lines.iter().map(|l| compact(&l.text)).collect();
        Self { lines, texts }
    }

    /// The value after `label`: the rest of its line, or the next line when the label stands alone.
    /// Stops before any of `stops`.
    fn after(&self, labels: &[&str], stops: &[&str]) -> Option<String> {
        for (i, line) in self.texts.iter().enumerate() {
            for label in labels {
                if let Some(at) = line.find(label) {
                    let rest = &line[at + label.len()..];
                    let value = if rest.is_empty() {
                        self.texts.get(i + 1).cloned().unwrap_or_default()
                    } else {
                        rest.to_owned()
                    };
                    let cut = stops.iter().filter_map(|s| value.find(s)).min().unwrap_or(value.len());
                    let value = value[..cut].trim_matches(|c: char| c == ':' || c == '：').to_owned();
                    if !value.is_empty() {
                        return Some(value);
                    }
                }
            }
        }
        None
    }

    /// A value that may wrap: the label's line plus the lines right below it in the same column
    /// (horizontal overlap, no gap larger than a line), until a line with a stop label.
    fn block(&self, labels: &[&str], stops: &[&str]) -> Option<String> {
        let start = self.texts.iter().position(|t| labels.iter().any(|lab| t.starts_with(lab)))?;
        let label = labels.iter().find(|lab| self.texts[start].starts_with(**lab))?;
        let mut value = self.texts[start][label.len()..].to_owned();
        let mut last = &self.lines[start];
        for (line, text) in self.lines.iter().zip(&self.texts).skip(start + 1) {
            let below = line.center_y() > last.center_y() + last.height() / 2.0;
            let close = line.bbox[1] - last.bbox[3] < last.height() * 1.5;
            let same_column = line.bbox[0] < last.bbox[2] && line.bbox[2] > last.bbox[0];
            if !(below && same_column) {
                continue;
            }
            if !close || stops.iter().any(|s| text.contains(s)) {
                break;
            }
            value.push_str(text);
            last = line;
        }
        let value = value.trim_matches(|c: char| c == ':' || c == '：').to_owned();
        (!value.is_empty()).then_some(value)
    }
}

/// `1990年1月2日` or `1990.01.02` → `1990-01-02`.
fn parse_date(text: &str) -> Option<Date> {
    let numbers: Vec<u32> =
        text.split(|c: char| !c.is_ascii_digit()).filter(|s| !s.is_empty()).filter_map(|s| s.parse().ok()).collect();
    let [year, month, day, ..] = numbers[..] else { return None };
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

/// Finds an 18-character code in the lines (after `label` when given), repairing it from the
/// per-character readings when its check fails.
fn code(lines: &[TextLine], label: &str, kind: Code, out: &mut Extraction, field: &'static str) {
    let wanted = |c: char| c.is_ascii_alphanumeric();
    for line in reading_order(lines) {
        let text = compact(&line.text);
        let Some(at) = text.find(label) else { continue };
        let candidate: String = text[at + label.len()..].chars().filter(|c| wanted(*c)).collect();
        // Eighteen characters, or one too few or too many for the repair to mend.
        let length = candidate.chars().count();
        if !(17..=19).contains(&length) {
            continue;
        }
        // Per-character readings of the code: the line's last readings of letters and digits.
        let line_readings: Vec<&CharReading> = line.chars.iter().filter(|r| wanted(r.best)).collect();
        let readings: Vec<CharReading> = if line_readings.len() >= length {
            line_readings[line_readings.len() - length..].iter().map(|r| (*r).clone()).collect()
        } else {
            candidate.chars().map(|c| CharReading::certain(c, 0.9)).collect()
        };
        match repair(&readings, kind) {
            Outcome::Valid(value) => {
                out.fields.insert(field, value);
            }
            Outcome::Repaired { value, repairs } => {
                for r in repairs {
                    out.repairs.push(format!("{field} {r}"));
                }
                out.fields.insert(field, value);
            }
            Outcome::Ambiguous(_) | Outcome::Unrepairable => {
                out.fields.insert(field, candidate.to_ascii_uppercase());
                out.warnings.push(format!("{field} 未通过校验，请人工核对"));
            }
        }
        return;
    }
}

/// Extracts the fields of `kind` from recognised lines. `today` is for expiry and plausibility.
pub fn extract(kind: Kind, lines: &[TextLine], today: Date) -> Extraction {
    let mut out = Extraction::default();
    let page = Page::new(lines);
    let date = |v: Option<String>| v.and_then(|v| parse_date(&v)).map(iso);
    match kind {
        Kind::IdFront => {
            let labels = ["姓名", "性别", "民族", "出生", "住址", "公民身份号码"];
            out.put("name", page.after(&["姓名"], &labels[1..]));
            out.put("sex", page.after(&["性别"], &["民族"]));
            out.put("ethnicity", page.after(&["民族"], &["出生"]));
            out.put("birth_date", date(page.after(&["出生"], &["住址"])));
            out.put("address", page.block(&["住址"], &["公民身份号码"]));
            code(lines, "公民身份号码", Code::ResidentId { today }, &mut out, "id_number");
            cross_check_front(&mut out);
        }
        Kind::IdBack => {
            out.put("issuer", page.after(&["签发机关"], &["有效期限"]));
            if let Some(v) = page.after(&["有效期限"], &[]) {
                let (from, to) = v.split_once(['-', '—', '至']).unwrap_or((&v, ""));
                out.put("valid_from", parse_date(from).map(iso));
                if to.contains("长期") {
                    out.put("valid_to", Some("长期".into()));
                } else if let Some(d) = parse_date(to) {
                    out.put("valid_to", Some(iso(d)));
                    if d < today {
                        out.warnings.push("身份证已过期".into());
                    }
                }
            }
        }
        Kind::License => {
            let stops = [
                "类型",
                "法定代表人",
                "经营者",
                "负责人",
                "注册资本",
                "成立日期",
                "住所",
                "经营场所",
                "经营范围",
                "营业期限",
            ];
            out.put("company_name", page.block(&["名称"], &stops).map(|v| full_width_brackets(&v)));
            out.put("company_type", page.after(&["类型"], &stops).map(|v| full_width_brackets(&v)));
            out.put("legal_representative", page.after(&["法定代表人", "经营者", "负责人"], &stops));
            out.put("registered_capital", page.after(&["注册资本"], &stops));
            out.put("established_date", date(page.after(&["成立日期"], &stops)));
            out.put("address", page.block(&["住所", "经营场所"], &["经营范围", "营业期限", "登记机关"]));
            code(lines, "统一社会信用代码", Code::CreditCode, &mut out, "credit_code");
        }
    }
    out
}

/// Birth date and sex printed on the card against those encoded in the number.
fn cross_check_front(out: &mut Extraction) {
    let Some(id) = out.fields.get("id_number").cloned() else { return };
    let digits = id.as_bytes();
    if digits.len() != 18 {
        return;
    }
    let encoded = std::str::from_utf8(&digits[6..14]).ok().map(|d| format!("{}-{}-{}", &d[..4], &d[4..6], &d[6..8]));
    if let (Some(printed), Some(encoded)) = (out.fields.get("birth_date"), encoded)
        && *printed != encoded
    {
        out.warnings.push("证件上的出生日期与身份证号码不一致".into());
    }
    let encoded_sex = if (digits[16] - b'0') % 2 == 1 { "男" } else { "女" };
    if out.fields.get("sex").is_some_and(|s| s != encoded_sex) {
        out.warnings.push("证件上的性别与身份证号码不一致".into());
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
    fn a_code_that_cannot_be_repaired_is_kept_with_a_warning() {
        let out = extract(Kind::License, &[line("统一社会信用代码 91350100M000100Y40", 40.0, 80.0)], TODAY);
        assert_eq!(out.fields["credit_code"], "91350100M000100Y40");
        assert_eq!(out.warnings.len(), 1);
    }
}
