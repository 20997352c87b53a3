//! Synthetic documents for the OCR accuracy benchmark and its CI slice: ID card fronts and backs
//! and business licenses of fictional people and companies (valid check characters), drawn in
//! several fonts and then "photographed" (rotation, perspective, uneven light, blur, JPEG quality
//! 40–90, background clutter, low resolution). A fixed seed makes every run the same.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::cast_possible_truncation)]
#![allow(clippy::cast_precision_loss, clippy::cast_sign_loss, clippy::cast_possible_wrap, clippy::too_many_lines)]

use std::collections::BTreeMap;
use std::time::Instant;

use ab_glyph::{FontVec, PxScale};
use image::{Rgb, RgbImage};
use imageproc::drawing::draw_text_mut;
use imageproc::geometric_transformations::{Border, Interpolation, Projection, rotate_about_center, warp};
use ocr::engine::Engine;
use ocr::{Kind, extract};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何", "林", "罗",
    "高",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超",
    "秀兰", "霞", "平", "刚", "桂英", "建华", "文", "海燕",
];
const ETHNIC: &[&str] = &["汉", "汉", "汉", "回", "满", "壮", "苗", "蒙古"];
const CITIES: &[(&str, &str)] = &[
    ("110105", "北京市朝阳区"),
    ("310104", "上海市徐汇区"),
    ("440305", "广东省深圳市南山区"),
    ("350102", "福建省福州市鼓楼区"),
    ("330106", "浙江省杭州市西湖区"),
    ("510107", "四川省成都市武侯区"),
];
const STREETS: &[&str] = &["建国路", "人民路", "解放路", "中山路", "科技园路", "五四路", "滨江大道", "学院路"];
const WORDS: &[&str] = &["华信", "远航", "博创", "星辰", "瑞丰", "恒通", "嘉禾", "新元", "弘毅", "明德"];
const TRADES: &[&str] = &["科技", "贸易", "信息技术", "咨询服务", "建设工程", "文化传媒"];
const TYPES: &[&str] = &["有限责任公司", "有限责任公司（自然人独资）", "股份有限公司"];
const CODE_ALPHABET: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

pub struct Truth {
    pub kind: Kind,
    pub fields: BTreeMap<&'static str, String>,
}

fn pick<'a>(rng: &mut StdRng, list: &[&'a str]) -> &'a str {
    list[rng.random_range(0..list.len())]
}

fn id_number(rng: &mut StdRng, area: &str, birth: (i32, u32, u32), male: bool) -> String {
    let seq = rng.random_range(0..500) * 2 + u32::from(male);
    let first17 = format!("{area}{:04}{:02}{:02}{:03}", birth.0, birth.1, birth.2, seq % 1000);
    let check = domain::resident_id::check_character(first17.as_bytes());
    format!("{first17}{}", char::from(check))
}

fn credit_code(rng: &mut StdRng, area: &str) -> String {
    let org: String = (0..9).map(|_| char::from(CODE_ALPHABET[rng.random_range(0..CODE_ALPHABET.len())])).collect();
    let first17 = format!("91{area}{org}");
    let check = domain::credit_code::check_character(first17.as_bytes()).unwrap();
    format!("{first17}{}", char::from(check))
}

fn text(img: &mut RgbImage, font: &FontVec, size: f32, x: i32, y: i32, s: &str) {
    draw_text_mut(img, Rgb([20, 20, 24]), x, y, PxScale::from(size), font, s);
}

fn id_front(rng: &mut StdRng, font: &FontVec) -> (RgbImage, Truth) {
    let male = rng.random_bool(0.5);
    let name = format!("{}{}", pick(rng, SURNAMES), pick(rng, GIVEN));
    let (area, region) = CITIES[rng.random_range(0..CITIES.len())];
    let birth = (rng.random_range(1950..2006), rng.random_range(1..13u32), rng.random_range(1..29u32));
    let address = format!("{region}{}{}号", pick(rng, STREETS), rng.random_range(1..300));
    let ethnicity = pick(rng, ETHNIC);
    let number = id_number(rng, area, birth, male);
    let mut img = RgbImage::from_pixel(1000, 630, Rgb([236, 241, 246]));
    let size = rng.random_range(30.0..36.0);
    text(&mut img, font, size, 60, 50, &format!("姓名  {name}"));
    text(&mut img, font, size, 60, 120, &format!("性别  {}    民族  {ethnicity}", if male { "男" } else { "女" }));
    text(&mut img, font, size, 60, 190, &format!("出生  {} 年 {} 月 {} 日", birth.0, birth.1, birth.2));
    text(&mut img, font, size, 60, 260, &format!("住址  {address}"));
    text(&mut img, font, size, 60, 500, &format!("公民身份号码  {number}"));
    let fields = [
        ("name", name),
        ("sex", (if male { "男" } else { "女" }).to_owned()),
        ("ethnicity", ethnicity.to_owned()),
        ("birth_date", format!("{:04}-{:02}-{:02}", birth.0, birth.1, birth.2)),
        ("address", address),
        ("id_number", number),
    ];
    (img, Truth { kind: Kind::IdFront, fields: fields.into_iter().collect() })
}

fn id_back(rng: &mut StdRng, font: &FontVec) -> (RgbImage, Truth) {
    let (_, region) = CITIES[rng.random_range(0..CITIES.len())];
    let city: String = region.chars().take_while(|c| *c != '市').collect::<String>();
    let city = city.rsplit('省').next().unwrap_or(&city).to_owned();
    let district: String = region.chars().skip_while(|c| *c != '市').skip(1).take_while(|c| *c != '区').collect();
    let issuer = format!("{city}市公安局{district}分局");
    let year = rng.random_range(2012..2026);
    let (month, day) = (rng.random_range(1..13u32), rng.random_range(1..29u32));
    let lasting = rng.random_range(0..10);
    let (to_text, to_field) = if lasting == 0 {
        ("长期".to_owned(), "长期".to_owned())
    } else {
        let years = if lasting < 5 { 10 } else { 20 };
        (format!("{:04}.{month:02}.{day:02}", year + years), format!("{:04}-{month:02}-{day:02}", year + years))
    };
    let mut img = RgbImage::from_pixel(1000, 630, Rgb([236, 241, 246]));
    text(&mut img, font, 48.0, 330, 120, "中华人民共和国");
    text(&mut img, font, 56.0, 350, 200, "居民身份证");
    let size = rng.random_range(30.0..36.0);
    text(&mut img, font, size, 200, 420, &format!("签发机关  {issuer}"));
    text(&mut img, font, size, 200, 500, &format!("有效期限  {year:04}.{month:02}.{day:02}-{to_text}"));
    let fields = [("issuer", issuer), ("valid_from", format!("{year:04}-{month:02}-{day:02}")), ("valid_to", to_field)];
    (img, Truth { kind: Kind::IdBack, fields: fields.into_iter().collect() })
}

pub fn license(rng: &mut StdRng, font: &FontVec) -> (RgbImage, Truth) {
    let (area, region) = CITIES[rng.random_range(0..CITIES.len())];
    let city: String = region.chars().take_while(|c| *c != '市').skip_while(|c| *c != '省').skip(1).collect();
    let city = if city.is_empty() { region.chars().take(2).collect() } else { city };
    let company = format!("{city}{}{}有限公司", pick(rng, WORDS), pick(rng, TRADES));
    let code = credit_code(rng, area);
    let kind = pick(rng, TYPES);
    let person = format!("{}{}", pick(rng, SURNAMES), pick(rng, GIVEN));
    let mut img = RgbImage::from_pixel(1400, 900, Rgb([250, 247, 238]));
    text(&mut img, font, 56.0, 560, 40, "营业执照");
    let size = rng.random_range(30.0..36.0);
    text(&mut img, font, size, 80, 170, &format!("统一社会信用代码  {code}"));
    text(&mut img, font, size, 80, 260, &format!("名称  {company}"));
    text(&mut img, font, size, 80, 340, &format!("类型  {kind}"));
    text(&mut img, font, size, 80, 420, &format!("法定代表人  {person}"));
    let fields = [
        ("company_name", company),
        ("credit_code", code),
        ("company_type", kind.to_owned()),
        ("legal_representative", person),
    ];
    (img, Truth { kind: Kind::License, fields: fields.into_iter().collect() })
}

/// Photographs a flat document; returns the picture and the name of the worst distortion.
pub fn photograph(rng: &mut StdRng, doc: &RgbImage) -> (RgbImage, &'static str) {
    let (w, h) = doc.dimensions();
    let distortion = ["clean", "rotation", "perspective", "light", "blur", "jpeg", "clutter", "lowres", "upside-down"]
        [rng.random_range(0..9)];
    let mut canvas = RgbImage::from_fn(w + 160, h + 160, |x, y| {
        if distortion == "clutter" {
            let v = ((x * 7 + y * 13) % 97) as u8;
            Rgb([120 + v / 2, 110 + v / 3, 100 + v])
        } else {
            Rgb([200, 200, 195])
        }
    });
    image::imageops::overlay(&mut canvas, doc, 80, 80);
    let white = Rgb([200u8, 200, 195]);
    let mut img = match distortion {
        "rotation" => rotate_about_center(
            &canvas,
            rng.random_range(-10.0f32..10.0).to_radians(),
            Interpolation::Bilinear,
            Border::Constant(white),
        ),
        "perspective" => {
            let (cw, ch) = (canvas.width() as f32, canvas.height() as f32);
            let j = |rng: &mut StdRng| rng.random_range(0.0..0.06);
            let from = [(0.0, 0.0), (cw, 0.0), (cw, ch), (0.0, ch)];
            let to = [
                (cw * j(rng), ch * j(rng)),
                (cw * (1.0 - j(rng)), ch * j(rng)),
                (cw * (1.0 - j(rng)), ch * (1.0 - j(rng))),
                (cw * j(rng), ch * (1.0 - j(rng))),
            ];
            let projection = Projection::from_control_points(from, to).unwrap();
            warp(&canvas, projection, Interpolation::Bilinear, Border::Constant(white))
        }
        "upside-down" => image::imageops::rotate180(&canvas),
        _ => canvas,
    };
    match distortion {
        "light" => {
            let (iw, ih) = img.dimensions();
            let strength = rng.random_range(0.3..0.6);
            for (x, y, p) in img.enumerate_pixels_mut() {
                let f = 1.0 - strength * (x as f32 / iw as f32) * (y as f32 / ih as f32);
                for c in &mut p.0 {
                    *c = (f32::from(*c) * f) as u8;
                }
            }
        }
        "blur" => img = imageproc::filter::gaussian_blur_f32(&img, rng.random_range(0.6..1.6)),
        "jpeg" => {
            let mut bytes = Vec::new();
            let quality = rng.random_range(40..91);
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, quality).encode_image(&img).unwrap();
            img = image::load_from_memory(&bytes).unwrap().to_rgb8();
        }
        "lowres" => {
            let scale = rng.random_range(0.45..0.7);
            let (iw, ih) = img.dimensions();
            img = image::imageops::resize(
                &img,
                (iw as f32 * scale) as u32,
                (ih as f32 * scale) as u32,
                image::imageops::FilterType::Triangle,
            );
        }
        _ => {}
    }
    (img, distortion)
}

/// The fonts the documents are drawn in (Debian's fonts-noto-cjk).
pub fn fonts() -> Vec<FontVec> {
    [
        ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
        ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", 2),
        ("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc", 2),
    ]
    .iter()
    .map(|(path, index)| {
        let bytes = std::fs::read(path)
            .unwrap_or_else(|_| panic!("{path} is missing: install fonts-noto-cjk (scripts/test does)"));
        FontVec::try_from_vec_and_index(bytes, *index).unwrap()
    })
    .collect()
}

/// Exact-match counts per field, and whole documents right per distortion.
#[derive(Default)]
pub struct Report {
    pub by_field: BTreeMap<&'static str, (usize, usize)>,
    pub by_distortion: BTreeMap<&'static str, (usize, usize)>,
    pub documents: (usize, usize),
    pub millis: u128,
    /// `photo number, distortion, field, wanted, read` for every miss.
    pub misses: Vec<(usize, &'static str, &'static str, String, String)>,
}

impl Report {
    pub fn rate(&self, field: &str) -> f64 {
        self.by_field.get(field).map_or(0.0, |(right, total)| 100.0 * *right as f64 / (*total).max(1) as f64)
    }

    pub fn document_rate(&self) -> f64 {
        100.0 * self.documents.0 as f64 / self.documents.1.max(1) as f64
    }
}

/// Generates `count` photos from `seed`, reads them and counts what came back right.
pub fn run(engine: &Engine, count: usize, seed: u64) -> Report {
    let fonts = fonts();
    let mut rng = StdRng::seed_from_u64(seed);
    let today = time::macros::date!(2026 - 11 - 25);
    let mut report = Report::default();
    let started = Instant::now();
    for i in 0..count {
        let font = &fonts[i % fonts.len()];
        let (doc, truth) = match i % 3 {
            0 => id_front(&mut rng, font),
            1 => license(&mut rng, font),
            _ => id_back(&mut rng, font),
        };
        let (photo, distortion) = photograph(&mut rng, &doc);
        let lines = engine.read(&photo).unwrap();
        let found = extract(truth.kind, &lines, today);
        let mut all = true;
        for (field, want) in &truth.fields {
            let entry = report.by_field.entry(field).or_default();
            entry.1 += 1;
            if found.fields.get(field) == Some(want) {
                entry.0 += 1;
            } else {
                all = false;
                let read = found.fields.get(field).cloned().unwrap_or_default();
                report.misses.push((i, distortion, field, want.clone(), read));
            }
        }
        let entry = report.by_distortion.entry(distortion).or_default();
        entry.1 += 1;
        entry.0 += usize::from(all);
        report.documents.1 += 1;
        report.documents.0 += usize::from(all);
    }
    report.millis = started.elapsed().as_millis();
    report
}

/// Just the photos (for comparing engines on the same images).
pub fn photos(count: usize, seed: u64) -> Vec<RgbImage> {
    let fonts = fonts();
    let mut rng = StdRng::seed_from_u64(seed);
    (0..count)
        .map(|i| {
            let font = &fonts[i % fonts.len()];
            let (doc, _) = match i % 3 {
                0 => id_front(&mut rng, font),
                1 => license(&mut rng, font),
                _ => id_back(&mut rng, font),
            };
            photograph(&mut rng, &doc).0
        })
        .collect()
}
