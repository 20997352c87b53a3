//! 电子印章的印模: how the seal image is laid out, in millimetres, before anything draws it.
//!
//! A company's seal is the familiar round red seal: an outer ring, a five-pointed star in the
//! middle, the company name along the upper arc — evenly spaced, each character standing on a
//! radius with its top towards the rim — and, optionally, the seal's code along the lower arc,
//! upright and read left to right. A person's seal is square: the name in a grid read in columns
//! from the right, made up to four characters with 之印 or 印 as name seals are.
//!
//! [`SealDrawing::svg`] writes the layout as SVG; the same layout feeds a rasteriser for the PNG.

use std::fmt::Write as _;

/// The red seals are stamped in.
pub const SEAL_RED: &str = "#D7000F";
/// The typefaces seals are cut in (仿宋 and 楷体 first), then what every system has.
const FONT_FAMILY: &str = "FangSong, STFangsong, 'AR PL UKai CN', 'AR PL KaitiM GB', 'Noto Serif CJK SC', serif";

/// The common diameters of a round company seal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealSize {
    Mm38,
    Mm40,
    Mm42,
}

impl SealSize {
    pub const ALL: [Self; 3] = [Self::Mm38, Self::Mm40, Self::Mm42];

    pub fn millimetres(self) -> f64 {
        match self {
            Self::Mm38 => 38.0,
            Self::Mm40 => 40.0,
            Self::Mm42 => 42.0,
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| format!("{}", s.millimetres()) == text.trim().trim_end_matches("mm"))
    }
}

/// Whose seal it is: GB/T 38540's seal type (1 a unit's seal, 2 a person's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealKind {
    Company,
    Person,
}

impl SealKind {
    pub fn code(self) -> u32 {
        match self {
            Self::Company => 1,
            Self::Person => 2,
        }
    }

    pub fn from_code(code: u32) -> Option<Self> {
        match code {
            1 => Some(Self::Company),
            2 => Some(Self::Person),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Company => "单位印章",
            Self::Person => "个人印章",
        }
    }
}

/// Where the seal's picture comes from: drawn from the approved name, or the applicant's
/// stamped 印章采样表. The reviewer chooses; drawn unless they chose the scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealSource {
    Generated,
    Scanned,
}

impl SealSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Generated => "generated",
            Self::Scanned => "scanned",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Generated, Self::Scanned].into_iter().find(|s| s.as_str() == text)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Generated => "按核准名称生成",
            Self::Scanned => "取自印章采样表",
        }
    }
}

/// A stroke or fill of the drawing.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// A circle outline.
    Ring { radius: f64, stroke: f64 },
    /// A square outline centred on the origin.
    Frame { side: f64, stroke: f64 },
    /// A filled polygon.
    Polygon { points: Vec<(f64, f64)> },
}

/// One character: centred at `(x, y)`, `size` high, turned `rotation` degrees clockwise.
#[derive(Debug, Clone, PartialEq)]
pub struct Glyph {
    pub text: char,
    pub x: f64,
    pub y: f64,
    pub size: f64,
    pub rotation: f64,
    /// Squeezed sideways (1 = as cut): long names on the arc are set narrower.
    pub width: f64,
}

/// A seal's layout, the origin at its centre, y downwards, in millimetres.
#[derive(Debug, Clone, PartialEq)]
pub struct SealDrawing {
    pub width: f64,
    pub height: f64,
    pub shapes: Vec<Shape>,
    pub glyphs: Vec<Glyph>,
}

/// Why a seal cannot be laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("印章文字不能为空")]
    Empty,
    #[error("印章文字过长")]
    TooLong,
}

/// A small count as a float (lengths here are at most a few dozen).
fn count(n: usize) -> f64 {
    f64::from(u32::try_from(n).unwrap_or(u32::MAX))
}

fn text_of(name: &str, max: usize) -> Result<Vec<char>, SealError> {
    let chars: Vec<char> = name.chars().filter(|c| !c.is_whitespace()).collect();
    if chars.is_empty() {
        return Err(SealError::Empty);
    }
    if chars.len() > max {
        return Err(SealError::TooLong);
    }
    Ok(chars)
}

/// Characters evenly spaced along an arc of `radius` centred on `middle` degrees (clockwise from
/// the top), spanning `span` degrees; `outward` stands them with their tops to the rim (the
/// upper arc), otherwise upright with their feet to the rim (the lower arc, read left to right).
fn on_arc(text: &[char], radius: f64, middle: f64, span: f64, size: f64, width: f64, outward: bool) -> Vec<Glyph> {
    let n = count(text.len());
    text.iter()
        .enumerate()
        .map(|(i, c)| {
            let step = span / n;
            let offset = -span / 2.0 + step * (count(i) + 0.5);
            let angle = if outward { middle + offset } else { middle - offset };
            let (sin, cos) = angle.to_radians().sin_cos();
            let rotation = if outward { angle } else { angle - 180.0 };
            Glyph { text: *c, x: radius * sin, y: -radius * cos, size, rotation, width }
        })
        .collect()
}

/// The five points of a star of outer radius `r` at the centre, point up, as a filled polygon.
fn star(r: f64) -> Shape {
    let inner = r * 0.382;
    let points = (0..10)
        .map(|k| {
            let radius = if k % 2 == 0 { r } else { inner };
            let (sin, cos) = (f64::from(k) * 36.0).to_radians().sin_cos();
            (radius * sin, -radius * cos)
        })
        .collect();
    Shape::Polygon { points }
}

impl SealDrawing {
    /// A company's round seal: `name` on the upper arc, `code` (e.g. the seal's registration
    /// number) on the lower.
    pub fn company(name: &str, code: Option<&str>, size: SealSize) -> Result<Self, SealError> {
        let name = text_of(name, 40)?;
        let d = size.millimetres();
        let stroke = d * 0.032;
        let ring = d / 2.0 - stroke / 2.0;
        let inside = ring - stroke / 2.0;
        // Up to 12 characters at full height over at most 240°; beyond, smaller and narrower.
        let n = count(name.len());
        let size_mm = if n <= 12.0 { d * 0.15 } else { (d * 0.15 * 12.0 / n).max(d * 0.09) };
        let radius = inside - 0.8 - size_mm / 2.0;
        let natural = (size_mm * 1.05 / radius).to_degrees() * n;
        let span = natural.clamp(70.0, 250.0);
        let width = if natural > 250.0 { (250.0 / natural).max(0.6) } else { 1.0 };
        let mut glyphs = on_arc(&name, radius, 0.0, span, size_mm, width, true);
        if let Some(code) = code.map(|c| c.chars().filter(|c| !c.is_whitespace()).collect::<Vec<_>>()) {
            if code.len() > 24 {
                return Err(SealError::TooLong);
            }
            if !code.is_empty() {
                let small = d * 0.055;
                let radius = inside - 0.6 - small / 2.0;
                let span = ((small * 0.75 / radius).to_degrees() * count(code.len())).clamp(20.0, 110.0);
                glyphs.extend(on_arc(&code, radius, 180.0, span, small, 1.0, false));
            }
        }
        Ok(Self { width: d, height: d, shapes: vec![Shape::Ring { radius: ring, stroke }, star(d * 0.19)], glyphs })
    }

    /// A person's square name seal, `side` millimetres wide (18–20 mm is usual).
    pub fn person(name: &str, side: f64) -> Result<Self, SealError> {
        let mut text = text_of(name, 8)?;
        match text.len() {
            2 => text.extend(['之', '印']),
            3 => text.push('印'),
            _ => {}
        }
        let stroke = side * 0.06;
        let inside = side - 2.0 * stroke;
        let columns = text.len().div_ceil(2);
        let rows = text.len().div_ceil(columns).max(1);
        let cell_w = inside / count(columns);
        let cell_h = inside / count(rows);
        let glyph = cell_h.min(cell_w) * 0.88;
        let mut glyphs = Vec::new();
        // Columns from the right, each read top to bottom.
        for (i, c) in text.iter().enumerate() {
            let (column, row) = (i / rows, i % rows);
            let x = inside / 2.0 - cell_w * (count(column) + 0.5);
            let y = -inside / 2.0 + cell_h * (count(row) + 0.5);
            glyphs.push(Glyph { text: *c, x, y, size: glyph, rotation: 0.0, width: (cell_w / cell_h).clamp(0.5, 1.0) });
        }
        Ok(Self { width: side, height: side, shapes: vec![Shape::Frame { side: side - stroke, stroke }], glyphs })
    }

    /// The drawing as a standalone SVG document, `width` × `height` millimetres, red on transparent.
    pub fn svg(&self) -> String {
        let (w, h) = (self.width, self.height);
        let mut out = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}mm\" height=\"{h}mm\" viewBox=\"{} {} {w} {h}\">",
            -w / 2.0,
            -h / 2.0
        );
        for shape in &self.shapes {
            let _ = match shape {
                Shape::Ring { radius, stroke } => write!(
                    out,
                    "<circle cx=\"0\" cy=\"0\" r=\"{radius:.3}\" fill=\"none\" stroke=\"{SEAL_RED}\" stroke-width=\"{stroke:.3}\"/>"
                ),
                Shape::Frame { side, stroke } => write!(
                    out,
                    "<rect x=\"{:.3}\" y=\"{:.3}\" width=\"{side:.3}\" height=\"{side:.3}\" fill=\"none\" stroke=\"{SEAL_RED}\" stroke-width=\"{stroke:.3}\"/>",
                    -side / 2.0,
                    -side / 2.0
                ),
                Shape::Polygon { points } => {
                    let points: Vec<String> = points.iter().map(|(x, y)| format!("{x:.3},{y:.3}")).collect();
                    write!(out, "<polygon points=\"{}\" fill=\"{SEAL_RED}\"/>", points.join(" "))
                }
            };
        }
        for g in &self.glyphs {
            let text = match g.text {
                '&' => "&amp;".to_owned(),
                '<' => "&lt;".to_owned(),
                '>' => "&gt;".to_owned(),
                c => c.to_string(),
            };
            let _ = write!(
                out,
                "<text transform=\"translate({:.3} {:.3}) rotate({:.2}) scale({:.3} 1)\" font-size=\"{:.3}\" font-family=\"{FONT_FAMILY}\" font-weight=\"bold\" fill=\"{SEAL_RED}\" text-anchor=\"middle\" dominant-baseline=\"central\">{text}</text>",
                g.x, g.y, g.rotation, g.width, g.size
            );
        }
        out.push_str("</svg>");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inside_ring(drawing: &SealDrawing) -> f64 {
        match drawing.shapes[0] {
            Shape::Ring { radius, stroke } => radius - stroke / 2.0,
            _ => unreachable!(),
        }
    }

    #[test]
    fn a_company_name_stands_evenly_on_the_upper_arc_inside_the_ring() {
        for size in SealSize::ALL {
            for name in ["示例科技", "深圳市示例科技有限公司", "中国电子签章示例科技研究院集团股份有限公司北京分公司"]
            {
                let seal = SealDrawing::company(name, None, size).unwrap();
                assert!((seal.width - size.millimetres()).abs() < 1e-9);
                assert_eq!(seal.glyphs.len(), name.chars().count());
                let limit = inside_ring(&seal);
                let angles: Vec<f64> = seal.glyphs.iter().map(|g| g.rotation).collect();
                for g in &seal.glyphs {
                    let reach = (g.x * g.x + g.y * g.y).sqrt() + g.size / 2.0;
                    assert!(reach <= limit + 1e-9, "{name}: {reach} > {limit}");
                    assert!(g.y < seal.height * 0.25, "{name}: on the upper part");
                }
                // Evenly spaced and symmetric about the top.
                let steps: Vec<f64> = angles.windows(2).map(|w| w[1] - w[0]).collect();
                assert!(steps.iter().all(|s| (s - steps[0]).abs() < 1e-9 && *s > 0.0), "{steps:?}");
                assert!((angles[0] + angles[angles.len() - 1]).abs() < 1e-9);
                assert!(angles[angles.len() - 1] - angles[0] <= 250.0);
            }
        }
    }

    #[test]
    fn the_code_reads_left_to_right_upright_along_the_lower_arc() {
        let seal = SealDrawing::company("示例科技有限公司", Some("3501000012345"), SealSize::Mm40).unwrap();
        let code: Vec<&Glyph> = seal.glyphs.iter().skip(8).collect();
        assert_eq!(code.iter().map(|g| g.text).collect::<String>(), "3501000012345");
        assert!(code.windows(2).all(|w| w[0].x < w[1].x), "left to right");
        assert!(code.iter().all(|g| g.y > 0.0 && g.rotation.abs() < 90.0), "upright on the lower half");
        assert!(code.iter().all(|g| g.size < seal.glyphs[0].size));
    }

    #[test]
    fn a_person_seal_is_a_square_of_four_read_in_columns_from_the_right() {
        let seal = SealDrawing::person("李雷", 20.0).unwrap();
        let text: String = seal.glyphs.iter().map(|g| g.text).collect();
        assert_eq!(text, "李雷之印");
        assert!(seal.glyphs[0].x > 0.0 && seal.glyphs[0].y < 0.0, "the first at the top right");
        assert!(seal.glyphs[1].x > 0.0 && seal.glyphs[1].y > 0.0);
        assert!(seal.glyphs[2].x < 0.0 && seal.glyphs[2].y < 0.0);
        assert_eq!(SealDrawing::person("欧阳娜娜", 20.0).unwrap().glyphs.len(), 4);
        assert_eq!(
            SealDrawing::person("王小明", 20.0).unwrap().glyphs.iter().map(|g| g.text).collect::<String>(),
            "王小明印"
        );
    }

    #[test]
    fn bad_text_is_refused_and_the_svg_is_escaped() {
        assert_eq!(SealDrawing::company("  ", None, SealSize::Mm40), Err(SealError::Empty));
        assert_eq!(SealDrawing::company(&"字".repeat(41), None, SealSize::Mm40), Err(SealError::TooLong));
        assert_eq!(SealDrawing::person("", 20.0), Err(SealError::Empty));
        let svg = SealDrawing::company("A&B<公司>", None, SealSize::Mm42).unwrap().svg();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("&amp;") && svg.contains("&lt;") && !svg.contains("<公"));
        assert!(svg.contains("width=\"42mm\"") && svg.contains("<polygon") && svg.contains(SEAL_RED));
        assert_eq!(svg.matches("<text").count(), 7);
    }

    #[test]
    fn sizes_are_read_as_staff_type_them() {
        assert_eq!(SealSize::parse("40"), Some(SealSize::Mm40));
        assert_eq!(SealSize::parse("42mm"), Some(SealSize::Mm42));
        assert_eq!(SealSize::parse("45"), None);
    }
}
