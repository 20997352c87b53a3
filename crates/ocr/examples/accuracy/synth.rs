//! Synthetic documents for the OCR accuracy benchmark and its CI slices: second-generation ID
//! card fronts and backs and 2014+ business licenses (landscape 正本, portrait 副本, 个体工商户) of
//! fictional people and companies with valid check characters and real division names.
//!
//! What a benchmark on one drawn layout cannot show is whether extraction follows the documents'
//! geometry, so the generator varies what real photos vary: several template families per kind
//! (proportions, field positions, letter-spaced labels, label–value gaps, wrapping, the code above
//! or beside its label, QR codes, emblems and seals), nine CJK fonts from Debian's fonts-*
//! packages, and the photograph (background, perspective, rotation, light, blur, JPEG 40–92, phone
//! resolutions with the document small in them, upside down).
//!
//! One family per kind and one font are **held out**: tuning never looks at them, and the
//! benchmark reports them separately — that is the number that counts. A fixed seed makes every
//! run the same.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::cast_possible_truncation)]
#![allow(clippy::cast_precision_loss, clippy::cast_sign_loss, clippy::cast_possible_wrap, clippy::too_many_lines)]
#![allow(clippy::too_many_arguments, clippy::many_single_char_names, clippy::similar_names, clippy::format_push_string)]

use std::collections::BTreeMap;
use std::time::Instant;

use ab_glyph::{Font, FontVec, PxScale, ScaleFont, point};
use image::{Rgb, RgbImage};
use imageproc::geometric_transformations::{Border, Interpolation, Projection, rotate_about_center, warp};
use ocr::engine::Engine;
use ocr::{Kind, extract};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

// ---------------------------------------------------------------------------------------------
// Fonts

/// A font with the name the report uses.
pub struct NamedFont {
    pub name: &'static str,
    pub font: FontVec,
}

/// The fonts documents are drawn in. `tuning` are looked at while tuning; `held_out` never is.
pub struct Fonts {
    pub tuning: Vec<NamedFont>,
    pub held_out: NamedFont,
    /// Digits of the ID number (the card prints them in an OCR-B-like face).
    pub digits: Vec<NamedFont>,
    /// For a character a font lacks.
    fallback: FontVec,
}

/// (report name, file, index in the collection, Debian package)
const TUNING_FONTS: &[(&str, &str, u32, &str)] = &[
    ("noto-sans", "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2, "fonts-noto-cjk"),
    ("noto-serif", "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", 2, "fonts-noto-cjk"),
    ("noto-sans-bold", "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc", 2, "fonts-noto-cjk"),
    ("ukai", "/usr/share/fonts/truetype/arphic/ukai.ttc", 0, "fonts-arphic-ukai"),
    ("uming", "/usr/share/fonts/truetype/arphic/uming.ttc", 0, "fonts-arphic-uming"),
    ("gbsn-song", "/usr/share/fonts/truetype/arphic-gbsn00lp/gbsn00lp.ttf", 0, "fonts-arphic-gbsn00lp"),
    ("gkai-kai", "/usr/share/fonts/truetype/arphic-gkai00mp/gkai00mp.ttf", 0, "fonts-arphic-gkai00mp"),
    ("wenkai", "/usr/share/fonts/truetype/lxgw-wenkai/LXGWWenKai-Regular.ttf", 0, "fonts-lxgw-wenkai"),
    ("cwtex-fangsong", "/usr/share/fonts/truetype/cwtex/cwfs.ttf", 0, "fonts-cwtex-fs"),
];
const HELD_OUT_FONT: (&str, &str, u32, &str) =
    ("wqy-zenhei", "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0, "fonts-wqy-zenhei");
const DIGIT_FONTS: &[(&str, &str, u32, &str)] = &[
    ("dejavu-mono-bold", "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf", 0, "fonts-dejavu-core"),
    ("liberation-mono", "/usr/share/fonts/truetype/liberation/LiberationMono-Regular.ttf", 0, "fonts-liberation"),
    ("dejavu-sans", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 0, "fonts-dejavu-core"),
];

fn load_font(&(name, path, index, package): &(&'static str, &str, u32, &str)) -> NamedFont {
    let bytes = std::fs::read(path)
        .unwrap_or_else(|_| panic!("{path} is missing: install {package} (scripts/test and scripts/bench-ocr do)"));
    NamedFont { name, font: FontVec::try_from_vec_and_index(bytes, index).unwrap() }
}

/// Every font of the benchmark.
pub fn fonts() -> Fonts {
    Fonts {
        tuning: TUNING_FONTS.iter().map(load_font).collect(),
        held_out: load_font(&HELD_OUT_FONT),
        digits: DIGIT_FONTS.iter().map(load_font).collect(),
        fallback: load_font(&TUNING_FONTS[0]).font,
    }
}

// ---------------------------------------------------------------------------------------------
// Drawing

const INK: [u8; 3] = [22, 22, 26];
const LABEL_BLUE: [u8; 3] = [30, 95, 160];
const RED: [u8; 3] = [205, 35, 35];

/// A drawing surface in document pixels, with the fonts of one document.
struct Sheet<'a> {
    img: RgbImage,
    text: &'a FontVec,
    digits: &'a FontVec,
    fallback: &'a FontVec,
}

impl Sheet<'_> {
    fn w(&self) -> f32 {
        self.img.width() as f32
    }

    fn h(&self) -> f32 {
        self.img.height() as f32
    }

    fn face_for<'f>(main: &'f FontVec, fallback: &'f FontVec, c: char) -> &'f FontVec {
        if main.glyph_id(c).0 == 0 { fallback } else { main }
    }

    fn advance(font: &FontVec, fallback: &FontVec, size: f32, c: char) -> f32 {
        match c {
            ' ' => size * 0.35,
            '\u{3000}' => size,
            _ => {
                let face = Self::face_for(font, fallback, c);
                face.as_scaled(PxScale::from(size)).h_advance(face.glyph_id(c))
            }
        }
    }

    /// Width of `s` at `size` with `spacing` pixels between characters.
    fn width_with(&self, digits: bool, size: f32, s: &str, spacing: f32) -> f32 {
        let font = if digits { self.digits } else { self.text };
        let n = s.chars().count();
        s.chars().map(|c| Self::advance(font, self.fallback, size, c)).sum::<f32>()
            + spacing * n.saturating_sub(1) as f32
    }

    fn width(&self, size: f32, s: &str) -> f32 {
        self.width_with(false, size, s, 0.0)
    }

    /// Draws `s` with its top at `y`; returns where it ends.
    fn draw_with(&mut self, digits: bool, size: f32, x: f32, y: f32, s: &str, color: [u8; 3], spacing: f32) -> f32 {
        let font = if digits { self.digits } else { self.text };
        let scale = PxScale::from(size);
        let ascent = font.as_scaled(scale).ascent();
        let mut pen = x;
        for c in s.chars() {
            if !c.is_whitespace() {
                let face = Self::face_for(font, self.fallback, c);
                let glyph = face.glyph_id(c).with_scale_and_position(scale, point(pen, y + ascent));
                if let Some(outlined) = face.outline_glyph(glyph) {
                    let bounds = outlined.px_bounds();
                    let (iw, ih) = self.img.dimensions();
                    let img = &mut self.img;
                    outlined.draw(|gx, gy, coverage| {
                        let (px, py) = (bounds.min.x as i32 + gx as i32, bounds.min.y as i32 + gy as i32);
                        if px >= 0 && py >= 0 && (px as u32) < iw && (py as u32) < ih {
                            let p = img.get_pixel_mut(px as u32, py as u32);
                            let a = coverage.clamp(0.0, 1.0);
                            for (ch, ink) in p.0.iter_mut().zip(color) {
                                *ch = (f32::from(*ch) * (1.0 - a) + f32::from(ink) * a) as u8;
                            }
                        }
                    });
                }
            }
            pen += Self::advance(font, self.fallback, size, c) + spacing;
        }
        pen - spacing
    }

    fn draw(&mut self, size: f32, x: f32, y: f32, s: &str, color: [u8; 3]) -> f32 {
        self.draw_with(false, size, x, y, s, color, 0.0)
    }

    /// A label letter-spaced to span `span` pixels (as 名　　称 spans the width of 法定代表人).
    fn label(&mut self, size: f32, x: f32, y: f32, s: &str, color: [u8; 3], span: f32) -> f32 {
        let n = s.chars().count();
        let natural = self.width(size, s);
        let spacing = if n > 1 && span > natural { (span - natural) / (n - 1) as f32 } else { 0.0 };
        self.draw_with(false, size, x, y, s, color, spacing)
    }

    /// Splits `s` into lines no wider than `max` pixels.
    fn wrap(&self, size: f32, s: &str, max: f32) -> Vec<String> {
        let mut lines = vec![String::new()];
        for c in s.chars() {
            let line = lines.last_mut().unwrap();
            line.push(c);
            if self.width(size, line) > max && line.chars().count() > 1 {
                line.pop();
                lines.push(c.to_string());
            }
        }
        lines
    }

    /// Draws wrapped lines starting at (x, y); returns the y below the last.
    fn paragraph(&mut self, size: f32, x: f32, y: f32, s: &str, max: f32, leading: f32, color: [u8; 3]) -> f32 {
        let mut y = y;
        for line in self.wrap(size, s, max) {
            self.draw(size, x, y, &line, color);
            y += size * leading;
        }
        y
    }

    fn rect(&mut self, x0: f32, y0: f32, x1: f32, y1: f32, color: [u8; 3]) {
        let (w, h) = self.img.dimensions();
        for y in (y0.max(0.0) as u32)..(y1.min(h as f32) as u32) {
            for x in (x0.max(0.0) as u32)..(x1.min(w as f32) as u32) {
                self.img.put_pixel(x, y, Rgb(color));
            }
        }
    }

    /// A ring (seal, emblem) of `color`, blended like ink.
    fn ring(&mut self, cx: f32, cy: f32, r: f32, thickness: f32, color: [u8; 3], alpha: f32) {
        let (w, h) = self.img.dimensions();
        let (x0, x1) = ((cx - r - 1.0).max(0.0) as u32, ((cx + r + 1.0) as u32).min(w));
        let (y0, y1) = ((cy - r - 1.0).max(0.0) as u32, ((cy + r + 1.0) as u32).min(h));
        for y in y0..y1 {
            for x in x0..x1 {
                let d = ((x as f32 - cx).powi(2) + (y as f32 - cy).powi(2)).sqrt();
                if d <= r && d >= r - thickness {
                    blend(self.img.get_pixel_mut(x, y), color, alpha);
                }
            }
        }
    }

    fn disc(&mut self, cx: f32, cy: f32, r: f32, color: [u8; 3], alpha: f32) {
        self.ring(cx, cy, r, r, color, alpha);
    }

    /// A QR-code-like block of modules.
    fn qr(&mut self, rng: &mut StdRng, x: f32, y: f32, side: f32) {
        let n = 29;
        let m = side / n as f32;
        for i in 0..n {
            for j in 0..n {
                let finder = |a: usize, b: usize| a < 7 && b < 7;
                let on = if finder(i, j) || finder(n - 1 - i, j) || finder(i, n - 1 - j) {
                    let (a, b) = (i.min(n - 1 - i), j.min(n - 1 - j));
                    let k = a.min(b);
                    k != 1 && !(k == 5 || k == 6 && a.max(b) > 6)
                } else {
                    rng.random_bool(0.5)
                };
                if on {
                    let (px, py) = (x + j as f32 * m, y + i as f32 * m);
                    self.rect(px, py, px + m, py + m, [10, 10, 10]);
                }
            }
        }
    }

    /// A faint guilloche of waves over the whole sheet.
    fn guilloche(&mut self, rng: &mut StdRng, color: [u8; 3], alpha: f32) {
        let (w, h) = self.img.dimensions();
        let waves = rng.random_range(8..20);
        let period = rng.random_range(60.0..180.0f32);
        let amp = rng.random_range(6.0..30.0f32);
        let phase = rng.random_range(0.0..std::f32::consts::TAU);
        for k in 0..waves {
            let base = h as f32 * (k as f32 + 0.5) / waves as f32;
            for x in 0..w {
                let y = base + amp * ((x as f32 / period) + phase + k as f32).sin();
                for t in 0..2 {
                    let yy = y as i32 + t;
                    if yy >= 0 && (yy as u32) < h {
                        blend(self.img.get_pixel_mut(x, yy as u32), color, alpha);
                    }
                }
            }
        }
    }

    /// A decorative frame inside the sheet's edge.
    fn frame(&mut self, inset: f32, thickness: f32, color: [u8; 3]) {
        let (w, h) = (self.w(), self.h());
        self.rect(inset, inset, w - inset, inset + thickness, color);
        self.rect(inset, h - inset - thickness, w - inset, h - inset, color);
        self.rect(inset, inset, inset + thickness, h - inset, color);
        self.rect(w - inset - thickness, inset, w - inset, h - inset, color);
    }

    /// The national emblem as a photo shows it from afar: a red disc, a golden ring, a star.
    fn emblem(&mut self, cx: f32, cy: f32, r: f32) {
        self.disc(cx, cy, r, [200, 40, 35], 0.9);
        self.ring(cx, cy, r * 0.95, r * 0.12, [225, 180, 60], 0.9);
        self.disc(cx, cy - r * 0.25, r * 0.2, [235, 195, 70], 0.9);
    }

    /// The portrait area of an ID card: a pale block with a head and shoulders inside it.
    fn portrait(&mut self, x0: f32, y0: f32, x1: f32, y1: f32) {
        self.rect(x0, y0, x1, y1, [214, 222, 230]);
        let (cx, w) = (f32::midpoint(x0, x1), x1 - x0);
        let (hy, hr) = (y0 + (y1 - y0) * 0.38, w * 0.22);
        let (by, br) = (y1 + w * 0.15, w * 0.5);
        for y in (y0 as u32)..(y1 as u32).min(self.img.height()) {
            for x in (x0 as u32)..(x1 as u32).min(self.img.width()) {
                let (fx, fy) = (x as f32, y as f32);
                if (fx - cx).hypot(fy - hy) < hr {
                    self.img.put_pixel(x, y, Rgb([120, 110, 105]));
                } else if (fx - cx).hypot(fy - by) < br {
                    self.img.put_pixel(x, y, Rgb([70, 75, 90]));
                }
            }
        }
    }
}

fn blend(p: &mut Rgb<u8>, color: [u8; 3], alpha: f32) {
    for (ch, ink) in p.0.iter_mut().zip(color) {
        *ch = (f32::from(*ch) * (1.0 - alpha) + f32::from(ink) * alpha) as u8;
    }
}

// ---------------------------------------------------------------------------------------------
// Fictional people and companies

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何", "林", "罗",
    "高", "郑", "梁", "谢", "宋", "唐", "韩", "冯", "邓", "曹", "彭", "曾", "萧", "田", "董", "潘", "袁", "蔡", "蒋",
    "欧阳", "司马", "诸葛", "上官",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超",
    "秀兰", "霞", "平", "刚", "桂英", "建华", "文", "海燕", "志强", "晓东", "子涵", "雨桐", "浩然", "梓萱", "思远",
    "国庆", "红梅", "玉兰", "振华", "宇轩", "欣怡", "俊杰", "淑珍", "德胜", "春生", "一鸣",
];
const ETHNIC: &[&str] = &["汉", "汉", "汉", "汉", "回", "满", "壮", "苗", "蒙古", "维吾尔", "土家", "彝", "藏", "朝鲜"];
const STREETS: &[&str] = &[
    "建国路",
    "人民路",
    "解放路",
    "中山路",
    "科技园路",
    "五四路",
    "滨江大道",
    "学院路",
    "长安街",
    "和平里",
    "新华西路",
    "东风南路",
    "工业园区兴业大道",
    "文化路",
    "朝阳北路",
    "青年街",
    "迎宾大道",
    "湖滨南路",
];
const PLACES: &[&str] = &["花园", "小区", "大厦", "新村", "公寓", "广场", "家园", "商务中心"];
const WORDS: &[&str] = &[
    "华信", "远航", "博创", "星辰", "瑞丰", "恒通", "嘉禾", "新元", "弘毅", "明德", "鼎盛", "汇智", "天成", "宏达",
    "云帆", "众诚", "正泰", "金桥", "海纳", "启明",
];
const TRADES: &[&str] = &[
    "科技",
    "贸易",
    "信息技术",
    "咨询服务",
    "建设工程",
    "文化传媒",
    "电子商务",
    "网络科技",
    "物流",
    "餐饮管理",
    "医疗器械",
    "环保科技",
];
const TYPES: &[&str] = &[
    "有限责任公司（自然人独资）",
    "有限责任公司（自然人投资或控股）",
    "有限责任公司（非自然人投资或控股的法人独资）",
    "股份有限公司（非上市、自然人投资或控股）",
    "有限责任公司",
    "其他有限责任公司",
];
const SHOPS: &[&str] = &["便利店", "小吃店", "五金店", "水果店", "理发店", "服装店", "电器维修部", "茶叶店"];
const CAPITALS: &[&str] = &[
    "壹佰万元整",
    "伍拾万元整",
    "叁佰万元整",
    "壹仟万元整",
    "贰佰伍拾万元整",
    "伍佰万圆整",
    "壹佰万元人民币",
    "1000万元",
    "500万元人民币",
];
const SCOPES: &[&str] = &[
    "一般项目：技术服务、技术开发、技术咨询、技术交流、技术转让、技术推广",
    "软件开发；信息系统集成服务；信息技术咨询服务；数据处理和存储支持服务",
    "货物进出口；技术进出口；日用百货销售；办公用品销售；电子产品销售",
    "（除依法须经批准的项目外，凭营业执照依法自主开展经营活动）",
    "许可项目：建设工程施工（依法须经批准的项目，经相关部门批准后方可开展经营活动）",
];
const CODE_ALPHABET: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

fn pick<'a>(rng: &mut StdRng, list: &[&'a str]) -> &'a str {
    list[rng.random_range(0..list.len())]
}

/// A county with its province and city names (the city left out where the province stands in
/// as its own city) and its code.
struct Place {
    code: &'static str,
    province: &'static str,
    city: &'static str,
    county: &'static str,
}

impl Place {
    fn random(rng: &mut StdRng) -> Self {
        let table = domain::division::Divisions::get();
        loop {
            let provinces = table.provinces();
            let province = &provinces[rng.random_range(0..provinces.len())];
            // Hong Kong, Macao and Taiwan residents carry other cards.
            if province.code.starts_with(['7', '8']) {
                continue;
            }
            let cities = table.cities_of(province.code);
            if cities.is_empty() {
                continue;
            }
            let city = &cities[rng.random_range(0..cities.len())];
            let counties = table.counties_of(city.code);
            if counties.is_empty() {
                continue;
            }
            let county = &counties[rng.random_range(0..counties.len())];
            // Placeholder rows of the table, not names printed on documents.
            if city.name.contains("直辖") || county.name.contains("市辖") || county.name.contains("直辖") {
                continue;
            }
            let city_name = if city.name == province.name || city.code == province.code { "" } else { city.name };
            return Self { code: county.code, province: province.name, city: city_name, county: county.name };
        }
    }

    /// The city's short name, as companies take it (`福州`, `北京`).
    fn short_city(&self) -> String {
        let name = if self.city.is_empty() { self.province } else { self.city };
        let trimmed: String = name.trim_end_matches(['市', '州', '盟', '区']).chars().take(3).collect();
        if trimmed.chars().count() < 2 { name.chars().take(2).collect() } else { trimmed }
    }

    fn street_address(&self, rng: &mut StdRng) -> String {
        let mut s = format!("{}{}{}", self.province, self.city, self.county);
        s.push_str(pick(rng, STREETS));
        s.push_str(&format!("{}号", rng.random_range(1..400)));
        match rng.random_range(0..4) {
            0 => {}
            1 => s.push_str(&format!("{}{}栋{}室", pick(rng, WORDS), pick(rng, PLACES), rng.random_range(101..2800))),
            2 => s.push_str(&format!("{}单元{}室", rng.random_range(1..9), rng.random_range(101..1900))),
            _ => s.push_str(&format!("{}楼", rng.random_range(2..30))),
        }
        s
    }
}

fn person_name(rng: &mut StdRng) -> String {
    format!("{}{}", pick(rng, SURNAMES), pick(rng, GIVEN))
}

fn date_between(rng: &mut StdRng, from: i32, to: i32) -> (i32, u32, u32) {
    (rng.random_range(from..to), rng.random_range(1..13u32), rng.random_range(1..29u32))
}

fn id_number(rng: &mut StdRng, area: &str, birth: (i32, u32, u32), male: bool) -> String {
    let seq = rng.random_range(0..500) * 2 + u32::from(male);
    let first17 = format!("{area}{:04}{:02}{:02}{:03}", birth.0, birth.1, birth.2, seq % 1000);
    let check = domain::resident_id::check_character(first17.as_bytes());
    format!("{first17}{}", char::from(check))
}

fn credit_code(rng: &mut StdRng, area: &str, individual: bool) -> String {
    // The organisation part carries its own GB 11714 check character, as real codes do.
    let body: Vec<u8> = (0..8).map(|_| CODE_ALPHABET[rng.random_range(0..CODE_ALPHABET.len())]).collect();
    let mut org = String::from_utf8(body.clone()).unwrap();
    org.push(char::from(domain::credit_code::organization_check_character(&body).unwrap()));
    let first17 = format!("{}{area}{org}", if individual { "92" } else { "91" });
    let check = domain::credit_code::check_character(first17.as_bytes()).unwrap();
    format!("{first17}{}", char::from(check))
}

fn iso((y, m, d): (i32, u32, u32)) -> String {
    format!("{y:04}-{m:02}-{d:02}")
}

/// What a document says.
pub struct Truth {
    pub kind: Kind,
    pub fields: BTreeMap<&'static str, String>,
}

struct Holder {
    name: String,
    male: bool,
    ethnicity: &'static str,
    birth: (i32, u32, u32),
    address: String,
    number: String,
}

impl Holder {
    fn random(rng: &mut StdRng) -> Self {
        let male = rng.random_bool(0.5);
        let place = Place::random(rng);
        let birth = date_between(rng, 1950, 2006);
        let number = id_number(rng, place.code, birth, male);
        Self {
            name: person_name(rng),
            male,
            ethnicity: pick(rng, ETHNIC),
            birth,
            address: place.street_address(rng),
            number,
        }
    }

    fn sex(&self) -> &'static str {
        if self.male { "男" } else { "女" }
    }

    fn truth(&self) -> Truth {
        let fields = [
            ("name", self.name.clone()),
            ("sex", self.sex().to_owned()),
            ("ethnicity", self.ethnicity.to_owned()),
            ("birth_date", iso(self.birth)),
            ("address", self.address.clone()),
            ("id_number", self.number.clone()),
        ];
        Truth { kind: Kind::IdFront, fields: fields.into_iter().collect() }
    }
}

struct Issue {
    issuer: String,
    from: (i32, u32, u32),
    to: Option<(i32, u32, u32)>,
}

impl Issue {
    fn random(rng: &mut StdRng) -> Self {
        let place = Place::random(rng);
        let county = place.county;
        let issuer = if county.ends_with('县') || county.ends_with('旗') {
            format!("{county}公安局")
        } else {
            let city = if place.city.is_empty() { place.province } else { place.city };
            let district = county.trim_end_matches(['区', '市']);
            format!("{city}公安局{district}分局")
        };
        let from = date_between(rng, 2008, 2026);
        let to = match rng.random_range(0..10) {
            0 => None,
            1..5 => Some((from.0 + 10, from.1, from.2)),
            _ => Some((from.0 + 20, from.1, from.2)),
        };
        Self { issuer, from, to }
    }

    fn printed(&self, separator: &str) -> String {
        let dotted = |(y, m, d): (i32, u32, u32)| format!("{y:04}.{m:02}.{d:02}");
        let to = self.to.map_or_else(|| "长期".to_owned(), dotted);
        format!("{}{separator}{to}", dotted(self.from))
    }

    fn truth(&self) -> Truth {
        let fields = [
            ("issuer", self.issuer.clone()),
            ("valid_from", iso(self.from)),
            ("valid_to", self.to.map_or_else(|| "长期".to_owned(), iso)),
        ];
        Truth { kind: Kind::IdBack, fields: fields.into_iter().collect() }
    }
}

struct Company {
    individual: bool,
    name: String,
    code: String,
    kind: String,
    person: String,
    capital: Option<String>,
    established: (i32, u32, u32),
    address: String,
    scope: String,
}

impl Company {
    fn random(rng: &mut StdRng, individual: bool) -> Self {
        let place = Place::random(rng);
        let code = credit_code(rng, place.code, individual);
        let person = person_name(rng);
        let name = if individual {
            let county = place.county;
            format!(
                "{}{county}{}{}",
                if place.city.is_empty() { place.province } else { place.city },
                person,
                pick(rng, SHOPS)
            )
        } else {
            match rng.random_range(0..5) {
                0 => format!(
                    "{}{}（{}）{}有限公司",
                    pick(rng, WORDS),
                    pick(rng, WORDS),
                    place.short_city(),
                    pick(rng, TRADES)
                ),
                1 => format!("{}市{}{}股份有限公司", place.short_city(), pick(rng, WORDS), pick(rng, TRADES)),
                2 => format!(
                    "{}{}{}有限公司{}分公司",
                    place.short_city(),
                    pick(rng, WORDS),
                    pick(rng, TRADES),
                    place.county.trim_end_matches(['区', '县', '市'])
                ),
                _ => format!("{}{}{}有限公司", place.short_city(), pick(rng, WORDS), pick(rng, TRADES)),
            }
        };
        let kind = if individual { "个体工商户".to_owned() } else { pick(rng, TYPES).to_owned() };
        let capital = (!individual).then(|| pick(rng, CAPITALS).to_owned());
        let scope = (0..rng.random_range(2..5)).map(|_| pick(rng, SCOPES)).collect::<Vec<_>>().join("；");
        Self {
            individual,
            name,
            code,
            kind,
            person,
            capital,
            established: date_between(rng, 1995, 2026),
            address: place.street_address(rng),
            scope,
        }
    }

    fn established_cn(&self) -> String {
        let (y, m, d) = self.established;
        format!("{y}年{m:02}月{d:02}日")
    }

    fn truth(&self) -> Truth {
        let mut fields: BTreeMap<&'static str, String> = [
            ("company_name", self.name.clone()),
            ("credit_code", self.code.clone()),
            ("company_type", self.kind.clone()),
            ("legal_representative", self.person.clone()),
            ("established_date", iso(self.established)),
            ("address", self.address.clone()),
        ]
        .into_iter()
        .collect();
        if let Some(capital) = &self.capital {
            fields.insert("registered_capital", capital.clone());
        }
        Truth { kind: Kind::License, fields }
    }
}

// ---------------------------------------------------------------------------------------------
// Template families

/// One way a document kind is laid out.
#[derive(Clone, Copy)]
pub struct Family {
    pub name: &'static str,
    pub kind: Kind,
    pub held_out: bool,
    draw: fn(&mut StdRng, &mut Sheet) -> Truth,
}

/// Every family; `held_out` ones are never looked at while tuning.
pub const FAMILIES: &[Family] = &[
    Family { name: "id-front/card", kind: Kind::IdFront, held_out: false, draw: id_front_card },
    Family { name: "id-front/tight", kind: Kind::IdFront, held_out: false, draw: id_front_tight },
    Family { name: "id-front/wide", kind: Kind::IdFront, held_out: false, draw: id_front_wide },
    Family { name: "id-front/held-out", kind: Kind::IdFront, held_out: true, draw: id_front_held_out },
    Family { name: "id-back/card", kind: Kind::IdBack, held_out: false, draw: id_back_card },
    Family { name: "id-back/spaced", kind: Kind::IdBack, held_out: false, draw: id_back_spaced },
    Family { name: "id-back/compact", kind: Kind::IdBack, held_out: false, draw: id_back_compact },
    Family { name: "id-back/held-out", kind: Kind::IdBack, held_out: true, draw: id_back_held_out },
    Family { name: "license/landscape", kind: Kind::License, held_out: false, draw: license_landscape },
    Family { name: "license/portrait", kind: Kind::License, held_out: false, draw: license_portrait },
    Family { name: "license/inline", kind: Kind::License, held_out: false, draw: license_inline },
    Family { name: "license/held-out", kind: Kind::License, held_out: true, draw: license_held_out },
];

fn card_sheet<'a>(rng: &mut StdRng, fonts: &'a Fonts, text: &'a FontVec) -> Sheet<'a> {
    let w = rng.random_range(900..1400u32);
    let h = (w as f32 * 54.0 / 85.6) as u32;
    let tint = [rng.random_range(225..245), rng.random_range(232..248), rng.random_range(236..250)];
    let mut sheet = Sheet {
        img: RgbImage::from_pixel(w, h, Rgb(tint)),
        text,
        digits: &fonts.digits[rng.random_range(0..fonts.digits.len())].font,
        fallback: &fonts.fallback,
    };
    sheet.guilloche(rng, [150, 190, 200], 0.12);
    sheet
}

fn paper_sheet<'a>(rng: &mut StdRng, fonts: &'a Fonts, text: &'a FontVec, landscape: bool) -> Sheet<'a> {
    let long = rng.random_range(1500..2300u32);
    let short = (long as f32 / 1.414) as u32;
    let (w, h) = if landscape { (long, short) } else { (short, long) };
    let tint = [rng.random_range(242..252), rng.random_range(238..248), rng.random_range(225..240)];
    let mut sheet = Sheet {
        img: RgbImage::from_pixel(w, h, Rgb(tint)),
        text,
        digits: &fonts.digits[0].font,
        fallback: &fonts.fallback,
    };
    sheet.guilloche(rng, [200, 170, 120], 0.08);
    let inset = sheet.w().min(sheet.h()) * rng.random_range(0.02..0.04);
    sheet.frame(inset, sheet.w().min(sheet.h()) * 0.012, [190, 150, 90]);
    sheet
}

fn jitter(rng: &mut StdRng, v: f32, by: f32) -> f32 {
    v * (1.0 + rng.random_range(-by..by))
}

/// The real card: blue letter-spaced labels, values in a column, the birth date in separate
/// groups, the address wrapping under the value column, the number far right of its label in
/// an OCR-B-like face, the portrait on the right.
fn id_front_card(rng: &mut StdRng, s: &mut Sheet) -> Truth {
    let holder = Holder::random(rng);
    let (w, h) = (s.w(), s.h());
    let label = w * rng.random_range(0.030..0.036);
    let size = w * rng.random_range(0.034..0.041);
    let lx = w * rng.random_range(0.05..0.08);
    let vx = lx + w * rng.random_range(0.11..0.14);
    let spaced = label * rng.random_range(1.6..2.4);
    let color = if rng.random_bool(0.8) { LABEL_BLUE } else { [60, 60, 70] };
    s.portrait(w * 0.64, h * 0.12, w * 0.92, h * 0.76);
    let row = |k: f32| h * (0.10 + 0.135 * k);
    s.label(label, lx, row(0.0) + (size - label) / 2.0, "姓名", color, spaced);
    s.draw(size, vx, row(0.0), &holder.name, INK);
    s.label(label, lx, row(1.0) + (size - label) / 2.0, "性别", color, spaced);
    s.draw(size, vx, row(1.0), holder.sex(), INK);
    let nx = vx + w * rng.random_range(0.15..0.2);
    s.label(label, nx, row(1.0) + (size - label) / 2.0, "民族", color, spaced);
    s.draw(size, nx + spaced + label * 1.3, row(1.0), holder.ethnicity, INK);
    s.label(label, lx, row(2.0) + (size - label) / 2.0, "出生", color, spaced);
    let (y, m, d) = holder.birth;
    let mut x = s.draw(size, vx, row(2.0), &y.to_string(), INK) + size * 0.3;
    x = s.draw(size, x, row(2.0), "年", INK) + size * 0.4;
    x = s.draw(size, x, row(2.0), &m.to_string(), INK) + size * 0.3;
    x = s.draw(size, x, row(2.0), "月", INK) + size * 0.4;
    x = s.draw(size, x, row(2.0), &d.to_string(), INK) + size * 0.3;
    s.draw(size, x, row(2.0), "日", INK);
    s.label(label, lx, row(3.0) + (size - label) / 2.0, "住址", color, spaced);
    s.paragraph(size, vx, row(3.0), &holder.address, w * 0.62 - vx, 1.3, INK);
    let ny = h * rng.random_range(0.80..0.86);
    s.label(label, lx, ny + size * 0.1, "公民身份号码", color, label * 6.6);
    let digits = w * rng.random_range(0.040..0.048);
    let px = w * rng.random_range(0.32..0.38);
    s.draw_with(true, digits, px, ny - (digits - size) / 2.0, &holder.number, INK, w * 0.004);
    holder.truth()
}

/// Labels as plain words close to their values; the number in the text face right after its
/// label; a longer address line.
fn id_front_tight(rng: &mut StdRng, s: &mut Sheet) -> Truth {
    let holder = Holder::random(rng);
    let (w, h) = (s.w(), s.h());
    let size = w * rng.random_range(0.032..0.040);
    let lx = w * rng.random_range(0.04..0.07);
    let gap = size * rng.random_range(0.6..1.6);
    let color = [40, 40, 50];
    s.portrait(w * 0.66, h * 0.14, w * 0.94, h * 0.74);
    let step = h * rng.random_range(0.12..0.14);
    let mut y = h * rng.random_range(0.08..0.12);
    let vx = lx + s.width(size, "姓名") + gap;
    s.draw(size, lx, y, "姓名", color);
    s.draw(size, vx, y, &holder.name, INK);
    y += step;
    s.draw(size, lx, y, "性别", color);
    let end = s.draw(size, vx, y, holder.sex(), INK);
    let nx = end + size * rng.random_range(2.0..4.0);
    s.draw(size, nx, y, "民族", color);
    s.draw(size, nx + s.width(size, "民族") + gap, y, holder.ethnicity, INK);
    y += step;
    s.draw(size, lx, y, "出生", color);
    let (yy, m, d) = holder.birth;
    s.draw(size, vx, y, &format!("{yy}年{m}月{d}日"), INK);
    y += step;
    s.draw(size, lx, y, "住址", color);
    s.paragraph(size, vx, y, &holder.address, w * 0.64 - vx, 1.25, INK);
    let ny = h * rng.random_range(0.82..0.88);
    let end = s.draw(size, lx, ny, "公民身份号码", color);
    s.draw_with(false, size * 1.05, end + size * rng.random_range(0.8..3.0), ny, &holder.number, INK, size * 0.05);
    holder.truth()
}

/// A wide gap between labels and values, the birth date with padded month and day, and the
/// number in the digit face after a very wide gap.
fn id_front_wide(rng: &mut StdRng, s: &mut Sheet) -> Truth {
    let holder = Holder::random(rng);
    let (w, h) = (s.w(), s.h());
    let label = w * rng.random_range(0.028..0.034);
    let size = w * rng.random_range(0.036..0.044);
    let lx = w * rng.random_range(0.04..0.06);
    let vx = w * rng.random_range(0.20..0.24);
    let color = if rng.random_bool(0.5) { LABEL_BLUE } else { [90, 90, 100] };
    let spaced = label * rng.random_range(1.0..3.0);
    s.portrait(w * 0.62, h * 0.10, w * 0.93, h * 0.72);
    let rows = [0.09, 0.22, 0.35, 0.48].map(|f| jitter(rng, h * f, 0.03));
    s.label(label, lx, rows[0] + (size - label) / 2.0, "姓名", color, spaced);
    s.draw(size, vx, rows[0], &holder.name, INK);
    s.label(label, lx, rows[1] + (size - label) / 2.0, "性别", color, spaced);
    s.draw(size, vx, rows[1], holder.sex(), INK);
    let nx = w * rng.random_range(0.33..0.40);
    s.label(label, nx, rows[1] + (size - label) / 2.0, "民族", color, spaced);
    s.draw(size, nx + w * 0.1, rows[1], holder.ethnicity, INK);
    s.label(label, lx, rows[2] + (size - label) / 2.0, "出生", color, spaced);
    let (y, m, d) = holder.birth;
    s.draw(size, vx, rows[2], &format!("{y} 年 {m:02} 月 {d:02} 日"), INK);
    s.label(label, lx, rows[3] + (size - label) / 2.0, "住址", color, spaced);
    s.paragraph(size, vx, rows[3], &holder.address, w * rng.random_range(0.36..0.42), 1.35, INK);
    let ny = h * rng.random_range(0.82..0.87);
    s.label(label, lx, ny + size * 0.15, "公民身份号码", color, label * rng.random_range(6.0..8.0));
    s.draw_with(true, size * 1.1, w * rng.random_range(0.40..0.46), ny, &holder.number, INK, w * 0.006);
    holder.truth()
}

/// Held out: labels as large as the values and letter-spaced by two characters, the content
/// shifted down, the address wrapping into a narrow column, the number closer under the address.
fn id_front_held_out(rng: &mut StdRng, s: &mut Sheet) -> Truth {
    let holder = Holder::random(rng);
    let (w, h) = (s.w(), s.h());
    let size = w * rng.random_range(0.033..0.039);
    let lx = w * rng.random_range(0.07..0.10);
    let color = [50, 80, 120];
    let spaced = size * 3.0;
    let vx = lx + spaced + size * rng.random_range(1.2..2.0);
    s.portrait(w * 0.60, h * 0.16, w * 0.90, h * 0.80);
    let mut y = h * rng.random_range(0.13..0.16);
    let step = size * rng.random_range(1.9..2.2);
    s.label(size, lx, y, "姓名", color, spaced);
    s.draw(size * 1.1, vx, y - size * 0.05, &holder.name, INK);
    y += step;
    s.label(size, lx, y, "性别", color, spaced);
    let end = s.draw(size, vx, y, holder.sex(), INK);
    let nx = end + size * 2.5;
    s.label(size, nx, y, "民族", color, spaced);
    s.draw(size, nx + spaced + size * 1.5, y, holder.ethnicity, INK);
    y += step;
    s.label(size, lx, y, "出生", color, spaced);
    let (yy, m, d) = holder.birth;
    s.draw(size, vx, y, &format!("{yy}　年　{m}　月　{d}　日"), INK);
    y += step;
    s.label(size, lx, y, "住址", color, spaced);
    let below = s.paragraph(size, vx, y, &holder.address, w * 0.57 - vx, 1.45, INK);
    let ny = (below + size * 1.2).max(h * 0.80).min(h * 0.88);
    s.label(size * 0.9, lx, ny, "公民身份号码", color, size * 6.0);
    s.draw_with(true, size * 1.15, lx + size * 8.5, ny - size * 0.1, &holder.number, INK, w * 0.005);
    holder.truth()
}

fn id_back_titles(rng: &mut StdRng, s: &mut Sheet, x: f32, y: f32) {
    let (w, h) = (s.w(), s.h());
    s.emblem(w * 0.15, h * 0.25, h * rng.random_range(0.13..0.17));
    let big = w * rng.random_range(0.045..0.055);
    s.label(big * 0.8, x, y, "中华人民共和国", INK, big * 7.5);
    s.label(big * 1.2, x, y + big * 1.5, "居民身份证", INK, big * 7.5);
}

fn id_back_card(rng: &mut StdRng, s: &mut Sheet) -> Truth {
    let issue = Issue::random(rng);
    let (w, h) = (s.w(), s.h());
    id_back_titles(rng, s, w * 0.33, h * 0.14);
    let label = w * rng.random_range(0.030..0.035);
    let size = w * rng.random_range(0.033..0.040);
    let lx = w * rng.random_range(0.20..0.25);
    let vx = lx + w * rng.random_range(0.16..0.19);
    let (y0, y1) = (h * rng.random_range(0.68..0.73), h * rng.random_range(0.81..0.86));
    s.label(label, lx, y0 + (size - label) / 2.0, "签发机关", [40, 40, 50], label * 4.4);
    s.draw(size, vx, y0, &issue.issuer, INK);
    s.label(label, lx, y1 + (size - label) / 2.0, "有效期限", [40, 40, 50], label * 4.4);
    s.draw(size, vx, y1, &issue.printed("-"), INK);
    issue.truth()
}

fn id_back_spaced(rng: &mut StdRng, s: &mut Sheet) -> Truth {
    let issue = Issue::random(rng);
    let (w, h) = (s.w(), s.h());
    id_back_titles(rng, s, w * 0.30, h * 0.12);
    let size = w * rng.random_range(0.032..0.038);
    let lx = w * rng.random_range(0.14..0.20);
    let span = size * rng.random_range(5.0..6.5);
    let vx = lx + span + size * rng.random_range(1.0..2.5);
    let (y0, y1) = (h * rng.random_range(0.66..0.72), h * rng.random_range(0.80..0.86));
    s.label(size, lx, y0, "签发机关", LABEL_BLUE, span);
    s.draw(size, vx, y0, &issue.issuer, INK);
    s.label(size, lx, y1, "有效期限", LABEL_BLUE, span);
    s.draw(size, vx, y1, &issue.printed(if rng.random_bool(0.7) { "-" } else { "—" }), INK);
    issue.truth()
}

fn id_back_compact(rng: &mut StdRng, s: &mut Sheet) -> Truth {
    let issue = Issue::random(rng);
    let (w, h) = (s.w(), s.h());
    id_back_titles(rng, s, w * 0.36, h * 0.16);
    let size = w * rng.random_range(0.030..0.038);
    let lx = w * rng.random_range(0.10..0.22);
    let (y0, y1) = (h * rng.random_range(0.70..0.74), h * rng.random_range(0.82..0.87));
    let end = s.draw(size, lx, y0, "签发机关", [30, 30, 40]);
    s.draw(size, end + size * rng.random_range(0.5..1.2), y0, &issue.issuer, INK);
    let end = s.draw(size, lx, y1, "有效期限", [30, 30, 40]);
    s.draw(size, end + size * rng.random_range(0.5..1.2), y1, &issue.printed("-"), INK);
    issue.truth()
}

/// Held out: the titles centred, the labels further left with the values after a wide gap, the
/// validity in a digit face.
fn id_back_held_out(rng: &mut StdRng, s: &mut Sheet) -> Truth {
    let issue = Issue::random(rng);
    let (w, h) = (s.w(), s.h());
    s.emblem(w * 0.5, h * 0.2, h * 0.12);
    let big = w * 0.05;
    s.draw(big * 0.8, w * 0.5 - s.width(big * 0.8, "中华人民共和国") / 2.0, h * 0.36, "中华人民共和国", INK);
    s.label(big * 1.1, w * 0.5 - big * 4.0, h * 0.36 + big * 1.3, "居民身份证", INK, big * 8.0);
    let size = w * rng.random_range(0.031..0.037);
    let lx = w * rng.random_range(0.08..0.12);
    let vx = w * rng.random_range(0.36..0.42);
    let (y0, y1) = (h * rng.random_range(0.72..0.75), h * rng.random_range(0.84..0.88));
    s.label(size * 0.9, lx, y0, "签发机关", [60, 60, 70], size * 4.5);
    s.draw(size, vx, y0, &issue.issuer, INK);
    s.label(size * 0.9, lx, y1, "有效期限", [60, 60, 70], size * 4.5);
    s.draw_with(true, size, vx, y1, &issue.printed("-").replace("长期", ""), INK, 0.0);
    if issue.to.is_none() {
        let end = vx + s.width_with(true, size, &issue.printed("-").replace("长期", ""), 0.0);
        s.draw(size, end + size * 0.1, y1, "长期", INK);
    }
    issue.truth()
}

/// The registration authority's block at the bottom right: authority, red seal, date.
fn authority(rng: &mut StdRng, s: &mut Sheet, x: f32, y: f32, size: f32) {
    let place = Place::random(rng);
    let city = if place.city.is_empty() { place.province } else { place.city };
    s.draw(size, x, y, "登记机关", INK);
    let (yy, m, d) = date_between(rng, 2015, 2026);
    s.draw(size, x + size * 1.5, y + size * 2.2, &format!("{yy}年{m:02}月{d:02}日"), INK);
    s.ring(x + size * 4.5, y + size * 1.5, size * 3.0, size * 0.2, RED, 0.7);
    s.draw(size * 0.6, x + size * 2.6, y + size * 0.4, &format!("{city}市场监督管理局"), RED);
}

fn footer(s: &mut Sheet, size: f32, y: f32) {
    let w = s.w();
    s.draw(size, w * 0.08, y, "国家企业信用信息公示系统网址：http://www.gsxt.gov.cn", [60, 60, 60]);
    s.draw(
        size,
        w * 0.08,
        y + size * 1.5,
        "市场主体应当于每年1月1日至6月30日通过国家企业信用信息公示系统报送公示年度报告",
        [60, 60, 60],
    );
}

struct LicenseRow<'a> {
    label: &'a str,
    value: String,
    wrap: bool,
}

fn license_rows(c: &Company) -> (Vec<LicenseRow<'_>>, Vec<LicenseRow<'_>>) {
    let row = |label, value: String, wrap| LicenseRow { label, value, wrap };
    let mut left = vec![row("名称", c.name.clone(), true), row("类型", c.kind.clone(), false)];
    let mut right = Vec::new();
    if c.individual {
        left.push(row("经营者", c.person.clone(), false));
        left.push(row("经营范围", c.scope.clone(), true));
        right.push(row("组成形式", "个人经营".into(), false));
        right.push(row("注册日期", c.established_cn(), false));
        right.push(row("经营场所", c.address.clone(), true));
    } else {
        left.push(row("法定代表人", c.person.clone(), false));
        left.push(row("经营范围", c.scope.clone(), true));
        right.push(row("注册资本", c.capital.clone().unwrap_or_default(), false));
        right.push(row("成立日期", c.established_cn(), false));
        right.push(row("营业期限", format!("{}至长期", c.established_cn()), false));
        right.push(row("住所", c.address.clone(), true));
    }
    (left, right)
}

/// Draws a column of label / value rows; labels justified to `span`; returns the y below.
fn license_column(
    s: &mut Sheet,
    rows: &[LicenseRow],
    lx: f32,
    vx: f32,
    max_x: f32,
    y: f32,
    size: f32,
    span: f32,
    step: f32,
) -> f32 {
    let mut y = y;
    for row in rows {
        s.label(size, lx, y, row.label, INK, if row.label.chars().count() <= 4 { span } else { 0.0 });
        let bottom = if row.wrap {
            let lines = if row.label == "经营范围" { 4 } else { 3 };
            let mut text = row.value.clone();
            let wrapped = s.wrap(size, &text, max_x - vx);
            if wrapped.len() > lines {
                text = wrapped[..lines].concat();
            }
            s.paragraph(size, vx, y, &text, max_x - vx, 1.35, INK)
        } else {
            s.draw(size, vx, y, &row.value, INK);
            y + size * 1.35
        };
        y = (y + step).max(bottom + size * 0.6);
    }
    y
}

/// The 2014+ landscape 正本: emblem and title centred, the code under its label in the top-left
/// corner, a QR code top right, two columns of justified labels, the authority's seal.
fn license_landscape(rng: &mut StdRng, s: &mut Sheet) -> Truth {
    let individual = rng.random_bool(0.2);
    let company = Company::random(rng, individual);
    let (w, h) = (s.w(), s.h());
    let size = w * rng.random_range(0.0135..0.0165);
    s.emblem(w * 0.5, h * 0.1, h * 0.05);
    let title = w * rng.random_range(0.05..0.06);
    s.label(title, w * 0.5 - title * 2.4, h * 0.16, "营业执照", INK, title * 4.8);
    if rng.random_bool(0.5) {
        s.draw(size * 1.2, w * 0.5 - size * 1.8, h * 0.16 + title * 1.3, "（副本）", INK);
    }
    let cx = w * rng.random_range(0.07..0.1);
    let cy = h * rng.random_range(0.15..0.2);
    s.draw(size, cx, cy, "统一社会信用代码", INK);
    s.draw_with(true, size * 1.05, cx, cy + size * 1.6, &company.code, INK, size * 0.08);
    let q = w * 0.075;
    s.qr(rng, w * 0.82, h * 0.12, q);
    s.draw(
        size * 0.55,
        w * 0.79,
        h * 0.12 + q + size * 0.5,
        "扫描市场主体身份码了解更多登记、备案、许可、监管信息",
        INK,
    );
    let (left, right) = license_rows(&company);
    let y0 = h * rng.random_range(0.34..0.38);
    let step = size * rng.random_range(2.6..3.2);
    let lx = w * rng.random_range(0.08..0.1);
    let span = size * 5.0;
    let vx = lx + span + size * rng.random_range(1.5..3.0);
    license_column(s, &left, lx, vx, w * 0.48, y0, size, span, step);
    let rx = w * rng.random_range(0.53..0.56);
    let rvx = rx + size * 4.0 + size * rng.random_range(1.5..3.0);
    license_column(s, &right, rx, rvx, w * 0.9, y0, size, size * 4.0, step);
    authority(rng, s, w * 0.68, h * 0.76, size);
    footer(s, size * 0.6, h * 0.9);
    company.truth()
}

/// The portrait 副本: the code top-left under its label, the title centred, the QR code top
/// right, one column of rows, the scope last.
fn license_portrait(rng: &mut StdRng, s: &mut Sheet) -> Truth {
    let individual = rng.random_bool(0.25);
    let company = Company::random(rng, individual);
    let (w, h) = (s.w(), s.h());
    let size = w * rng.random_range(0.019..0.024);
    s.emblem(w * 0.5, h * 0.07, w * 0.05);
    let title = w * rng.random_range(0.07..0.085);
    s.label(title, w * 0.5 - title * 2.4, h * 0.11, "营业执照", INK, title * 4.8);
    s.draw(size * 1.1, w * 0.5 - size * 1.7, h * 0.11 + title * 1.3, "（副本）", INK);
    let cx = w * rng.random_range(0.07..0.1);
    let cy = h * rng.random_range(0.11..0.14);
    s.draw(size * 0.9, cx, cy, "统一社会信用代码", INK);
    s.draw_with(true, size, cx, cy + size * 1.4, &company.code, INK, size * 0.06);
    s.draw(size * 0.8, cx, cy + size * 3.0, &format!("副本编号：{}-{}", 1, rng.random_range(1..4)), INK);
    let q = w * 0.11;
    s.qr(rng, w * 0.78, h * 0.10, q);
    let (left, right) = license_rows(&company);
    let mut rows: Vec<LicenseRow> = Vec::new();
    let mut left = left.into_iter();
    rows.extend(left.by_ref().take(2));
    let mut right = right.into_iter();
    // 住所 / 经营场所 right after the type, then the person, the capital and the dates.
    let place = right.next_back();
    rows.extend(place);
    let rest: Vec<LicenseRow> = left.collect();
    let (scope, person): (Vec<LicenseRow>, Vec<LicenseRow>) = rest.into_iter().partition(|r| r.label == "经营范围");
    rows.extend(person);
    rows.extend(right);
    rows.extend(scope);
    let lx = w * rng.random_range(0.1..0.13);
    let span = size * 5.0;
    let vx = lx + span + size * rng.random_range(1.5..2.5);
    let step = size * rng.random_range(2.3..2.8);
    let bottom = license_column(s, &rows, lx, vx, w * 0.88, h * rng.random_range(0.24..0.28), size, span, step);
    authority(rng, s, w * 0.55, bottom.max(h * 0.78), size);
    company.truth()
}

/// Older style: the code beside its label above the title, labels not justified, values a short
/// gap after them, the two columns closer.
fn license_inline(rng: &mut StdRng, s: &mut Sheet) -> Truth {
    let individual = rng.random_bool(0.2);
    let company = Company::random(rng, individual);
    let (w, h) = (s.w(), s.h());
    let size = w * rng.random_range(0.014..0.018);
    let cy = h * rng.random_range(0.07..0.1);
    let cx = w * rng.random_range(0.08..0.5);
    let end = s.draw(size, cx, cy, "统一社会信用代码", INK);
    s.draw_with(true, size, end + size * rng.random_range(0.8..3.0), cy, &company.code, INK, size * 0.05);
    let title = w * rng.random_range(0.045..0.055);
    s.label(title, w * 0.5 - title * 2.2, h * 0.16, "营业执照", INK, title * 4.4);
    s.qr(rng, w * 0.84, h * 0.18, w * 0.07);
    let (left, right) = license_rows(&company);
    let y0 = h * rng.random_range(0.32..0.36);
    let step = size * rng.random_range(2.4..3.0);
    let lx = w * rng.random_range(0.07..0.1);
    let draw = |s: &mut Sheet, rows: &[LicenseRow], lx: f32, max_x: f32, gap: f32| {
        let mut y = y0;
        for row in rows {
            let end = s.draw(size, lx, y, row.label, INK);
            let vx = end + gap;
            let bottom = if row.wrap {
                let mut text = row.value.clone();
                let wrapped = s.wrap(size, &text, max_x - vx);
                if wrapped.len() > 3 {
                    text = wrapped[..3].concat();
                }
                s.paragraph(size, vx, y, &text, max_x - vx, 1.3, INK)
            } else {
                s.draw(size, vx, y, &row.value, INK);
                y + size * 1.3
            };
            y = (y + step).max(bottom + size * 0.6);
        }
    };
    let gap = size * rng.random_range(0.6..1.8);
    draw(s, &left, lx, w * 0.5, gap);
    draw(s, &right, w * rng.random_range(0.54..0.58), w * 0.92, gap);
    authority(rng, s, w * 0.66, h * 0.78, size);
    company.truth()
}

/// Held out: portrait, the code to the right of its label on the line under the title, labels
/// justified with full-width spaces and a wide gap to the values, the scope between the person
/// and the address.
fn license_held_out(rng: &mut StdRng, s: &mut Sheet) -> Truth {
    let individual = rng.random_bool(0.3);
    let company = Company::random(rng, individual);
    let (w, h) = (s.w(), s.h());
    let size = w * rng.random_range(0.02..0.025);
    let title = w * rng.random_range(0.075..0.09);
    s.emblem(w * 0.16, h * 0.09, w * 0.055);
    s.label(title, w * 0.5 - title * 2.0, h * 0.06, "营业执照", INK, title * 4.4);
    s.qr(rng, w * 0.8, h * 0.04, w * 0.1);
    let cy = h * rng.random_range(0.17..0.19);
    let cx = w * rng.random_range(0.1..0.14);
    s.draw(size, cx, cy, "统一社会信用代码", INK);
    s.draw_with(true, size * 1.1, cx + size * rng.random_range(10.5..13.0), cy - size * 0.05, &company.code, INK, 0.0);
    let (left, right) = license_rows(&company);
    let mut rows: Vec<LicenseRow> = left.into_iter().collect();
    rows.extend(right);
    let lx = w * rng.random_range(0.1..0.12);
    let span = size * 4.2;
    let vx = lx + span + size * rng.random_range(2.5..4.0);
    let step = size * rng.random_range(2.4..2.9);
    let bottom = license_column(s, &rows, lx, vx, w * 0.9, h * rng.random_range(0.25..0.28), size, span, step);
    authority(rng, s, w * 0.55, bottom.max(h * 0.8), size);
    company.truth()
}

/// Draws one document of `family` in `font`.
pub fn document(rng: &mut StdRng, fonts: &Fonts, family: &Family, font: &FontVec) -> (RgbImage, Truth) {
    let mut sheet = match family.kind {
        Kind::License => {
            let landscape = !matches!(family.name, "license/portrait" | "license/held-out");
            paper_sheet(rng, fonts, font, landscape)
        }
        _ => card_sheet(rng, fonts, font),
    };
    let truth = (family.draw)(rng, &mut sheet);
    (sheet.img, truth)
}

/// One photo of `kind`'s held-out family in the held-out font, photographed as the benchmark does
/// (for journeys that upload what tuning never looked at).
pub fn held_out_photo(kind: Kind, seed: u64) -> (RgbImage, Truth) {
    let fonts = fonts();
    let mut rng = StdRng::seed_from_u64(seed);
    let family = FAMILIES.iter().find(|f| f.held_out && f.kind == kind).expect("every kind has a held-out family");
    let (doc, truth) = document(&mut rng, &fonts, family, &fonts.held_out.font);
    let (photo, _) = photograph(&mut rng, &doc);
    (photo, truth)
}

/// A license of the landscape family (for tests that place it in a larger photo).
pub fn license(rng: &mut StdRng, fonts: &Fonts) -> (RgbImage, Truth) {
    document(rng, fonts, &FAMILIES[8], &fonts.tuning[0].font)
}

// ---------------------------------------------------------------------------------------------
// Photographing

pub const DISTORTIONS: &[&str] =
    &["clean", "rotation", "perspective", "light", "blur", "jpeg", "clutter", "lowres", "phone", "upside-down"];

fn background(rng: &mut StdRng, w: u32, h: u32) -> RgbImage {
    let base = [rng.random_range(90..210u8), rng.random_range(80..200u8), rng.random_range(70..190u8)];
    let grain = rng.random_range(0..3);
    RgbImage::from_fn(w, h, |x, y| {
        let v = match grain {
            0 => 0,
            1 => ((x * 7 + y * 13) % 41) as u8,
            _ => (((x as f32 / 23.0).sin() * 12.0 + (y as f32 / 71.0).cos() * 8.0) + 20.0) as u8,
        };
        Rgb([base[0].saturating_add(v), base[1].saturating_add(v / 2), base[2].saturating_add(v / 3)])
    })
}

fn resize(img: &RgbImage, scale: f32) -> RgbImage {
    let (w, h) = img.dimensions();
    image::imageops::resize(
        img,
        ((w as f32 * scale) as u32).max(1),
        ((h as f32 * scale) as u32).max(1),
        image::imageops::FilterType::Triangle,
    )
}

fn perspective(rng: &mut StdRng, img: &RgbImage, strength: f32, fill: Rgb<u8>) -> RgbImage {
    let (cw, ch) = (img.width() as f32, img.height() as f32);
    let mut j = || rng.random_range(0.0..strength);
    let from = [(0.0, 0.0), (cw, 0.0), (cw, ch), (0.0, ch)];
    let to = [
        (cw * j(), ch * j()),
        (cw * (1.0 - j()), ch * j()),
        (cw * (1.0 - j()), ch * (1.0 - j())),
        (cw * j(), ch * (1.0 - j())),
    ];
    let projection = Projection::from_control_points(from, to).unwrap();
    warp(img, projection, Interpolation::Bilinear, Border::Constant(fill))
}

fn jpeg(img: &RgbImage, quality: u8) -> RgbImage {
    let mut bytes = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, quality).encode_image(img).unwrap();
    image::load_from_memory(&bytes).unwrap().to_rgb8()
}

/// Photographs a flat document; returns the picture and the name of its main distortion. Every
/// photo is taken on some background, a little off square and JPEG-compressed, as phones do.
pub fn photograph(rng: &mut StdRng, doc: &RgbImage) -> (RgbImage, &'static str) {
    let distortion = DISTORTIONS[rng.random_range(0..DISTORTIONS.len())];
    let (w, h) = doc.dimensions();
    let margin = (w.max(h) as f32 * rng.random_range(0.04..0.12)) as u32;
    let mut canvas = if distortion == "clutter" {
        RgbImage::from_fn(w + 2 * margin, h + 2 * margin, |x, y| {
            let v = ((x * 7 + y * 13) % 97) as u8;
            Rgb([120 + v / 2, 110 + v / 3, 100 + v])
        })
    } else {
        background(rng, w + 2 * margin, h + 2 * margin)
    };
    image::imageops::overlay(&mut canvas, doc, i64::from(margin), i64::from(margin));
    let fill = *canvas.get_pixel(0, 0);
    let mut img = match distortion {
        "rotation" => rotate_about_center(
            &canvas,
            rng.random_range(-12.0f32..12.0).to_radians(),
            Interpolation::Bilinear,
            Border::Constant(fill),
        ),
        "perspective" => perspective(rng, &canvas, 0.08, fill),
        "upside-down" => image::imageops::rotate180(&perspective(rng, &canvas, 0.02, fill)),
        _ => perspective(rng, &canvas, 0.025, fill),
    };
    match distortion {
        "light" => {
            let (iw, ih) = img.dimensions();
            let strength = rng.random_range(0.3..0.6);
            let (fx, fy) = (rng.random_bool(0.5), rng.random_bool(0.5));
            for (x, y, p) in img.enumerate_pixels_mut() {
                let (u, v) = (x as f32 / iw as f32, y as f32 / ih as f32);
                let (u, v) = (if fx { 1.0 - u } else { u }, if fy { 1.0 - v } else { v });
                let f = 1.0 - strength * u * v;
                for c in &mut p.0 {
                    *c = (f32::from(*c) * f) as u8;
                }
            }
        }
        "blur" => img = imageproc::filter::gaussian_blur_f32(&img, rng.random_range(0.8..1.8)),
        "lowres" => img = resize(&img, rng.random_range(0.45..0.7)),
        "phone" => {
            // A 4000 × 3000 photo (either way up) with the document taking a third to a half of it.
            let (pw, ph) = if img.width() >= img.height() { (4000, 3000) } else { (3000, 4000) };
            let scale = (pw as f32 * rng.random_range(0.35..0.55)) / img.width() as f32;
            let small = resize(&img, scale);
            let mut photo = background(rng, pw, ph);
            let x = rng.random_range(0..(pw - small.width().min(pw - 1)).max(1));
            let y = rng.random_range(0..(ph - small.height().min(ph - 1)).max(1));
            image::imageops::overlay(&mut photo, &small, i64::from(x), i64::from(y));
            img = photo;
        }
        _ => {}
    }
    let quality = if distortion == "jpeg" { rng.random_range(40..60) } else { rng.random_range(60..93) };
    (jpeg(&img, quality), distortion)
}

// ---------------------------------------------------------------------------------------------
// Measuring

/// Exact-match counts per field, per family and per distortion.
#[derive(Default)]
pub struct Report {
    pub by_field: BTreeMap<&'static str, (usize, usize)>,
    pub by_family: BTreeMap<&'static str, (usize, usize)>,
    pub by_font: BTreeMap<&'static str, (usize, usize)>,
    pub by_distortion: BTreeMap<&'static str, (usize, usize)>,
    pub documents: (usize, usize),
    /// Fields filled with a value that is not the document's (the applicant would have to spot
    /// it), against all fields.
    pub wrong_filled: (usize, usize),
    pub millis: u128,
    /// `photo number, family, distortion, field, wanted, read` for every miss.
    pub misses: Vec<(usize, &'static str, &'static str, &'static str, String, String)>,
}

impl Report {
    pub fn rate(&self, field: &str) -> f64 {
        self.by_field.get(field).map_or(0.0, |(right, total)| 100.0 * *right as f64 / (*total).max(1) as f64)
    }

    pub fn document_rate(&self) -> f64 {
        100.0 * self.documents.0 as f64 / self.documents.1.max(1) as f64
    }

    /// All fields together.
    pub fn field_rate(&self) -> f64 {
        let (right, total) = self.by_field.values().fold((0, 0), |(r, t), (a, b)| (r + a, t + b));
        100.0 * right as f64 / total.max(1) as f64
    }

    pub fn wrong_rate(&self) -> f64 {
        100.0 * self.wrong_filled.0 as f64 / self.wrong_filled.1.max(1) as f64
    }

    /// Both addresses together (ID card front and license).
    pub fn address_rate(&self) -> f64 {
        self.rate("address")
    }
}

/// Which documents a run draws.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Set {
    /// The tuning families in the tuning fonts.
    Tuning,
    /// The held-out family of each kind in the held-out font.
    HeldOut,
}

fn plan(fonts: &Fonts, set: Set, i: usize) -> (&'static Family, &FontVec, &'static str) {
    let families: Vec<&Family> = FAMILIES.iter().filter(|f| f.held_out == (set == Set::HeldOut)).collect();
    // Kinds in turn, then the families of a kind in turn, then the fonts.
    let kinds = [Kind::IdFront, Kind::License, Kind::IdBack];
    let kind = kinds[i % 3];
    let of_kind: Vec<&Family> = families.iter().copied().filter(|f| f.kind == kind).collect();
    let family = of_kind[(i / 3) % of_kind.len()];
    match set {
        Set::HeldOut => (family, &fonts.held_out.font, fonts.held_out.name),
        Set::Tuning => {
            let font = &fonts.tuning[(i / 3 / of_kind.len() + i) % fonts.tuning.len()];
            (family, &font.font, font.name)
        }
    }
}

/// Generates `count` photos of `set` from `seed`, reads them and counts what came back right.
pub fn run(engine: &Engine, count: usize, seed: u64, set: Set) -> Report {
    let fonts = fonts();
    let mut rng = StdRng::seed_from_u64(seed);
    let today = time::macros::date!(2026 - 11 - 25);
    let mut report = Report::default();
    let started = Instant::now();
    for i in 0..count {
        let (family, font, font_name) = plan(&fonts, set, i);
        let (doc, truth) = document(&mut rng, &fonts, family, font);
        let (photo, distortion) = photograph(&mut rng, &doc);
        let lines = engine.read(&photo).unwrap();
        let found = extract(truth.kind, &lines, today);
        let mut all = true;
        for (field, want) in &truth.fields {
            let entry = report.by_field.entry(field).or_default();
            entry.1 += 1;
            report.wrong_filled.1 += 1;
            if found.fields.get(field) == Some(want) {
                entry.0 += 1;
            } else {
                all = false;
                if found.fields.contains_key(field) {
                    report.wrong_filled.0 += 1;
                }
                let read = found.fields.get(field).cloned().unwrap_or_else(|| {
                    found.suggestions.get(field).map_or_else(String::new, |s| format!("(suggested {s})"))
                });
                report.misses.push((i, family.name, distortion, field, want.clone(), read));
            }
        }
        for (map, key) in [
            (&mut report.by_distortion, distortion),
            (&mut report.by_family, family.name),
            (&mut report.by_font, font_name),
        ] {
            let entry = map.entry(key).or_default();
            entry.1 += 1;
            entry.0 += usize::from(all);
        }
        report.documents.1 += 1;
        report.documents.0 += usize::from(all);
        if !all && std::env::var_os("OCR_DEBUG").is_some() {
            eprintln!("#{i} {} {distortion}", family.name);
            for l in &lines {
                let b = l.bbox;
                eprintln!("    [{:>5.0} {:>5.0} {:>5.0} {:>5.0}] {}", b[0], b[1], b[2], b[3], l.text);
            }
        }
    }
    report.millis = started.elapsed().as_millis();
    report
}

/// Just the photos, both sets in turn (for comparing engines on the same images).
pub fn photos(count: usize, seed: u64) -> Vec<RgbImage> {
    let fonts = fonts();
    let mut rng = StdRng::seed_from_u64(seed);
    (0..count)
        .map(|i| {
            let set = if i % 4 == 3 { Set::HeldOut } else { Set::Tuning };
            let (family, font, _) = plan(&fonts, set, i);
            let (doc, _) = document(&mut rng, &fonts, family, font);
            photograph(&mut rng, &doc).0
        })
        .collect()
}
