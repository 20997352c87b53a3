//! The seal picture: the domain's layout drawn at 300 dpi, red on a transparent background, as
//! a PNG that says its physical size (pHYs). Each character is cut from a CJK font's outlines,
//! squeezed and turned as the layout says; ring, frame and star are drawn as outlines in the
//! same coverage rasteriser, so every edge is anti-aliased alike.

use std::path::{Path, PathBuf};

use ab_glyph::{Font, FontVec, OutlineCurve};
use ab_glyph_rasterizer::{Rasterizer, point};
use domain::seal::{Glyph, SealDrawing, Shape};

/// Print resolution of the picture.
pub const DPI: f64 = 300.0;
/// Pixels per metre at [`DPI`] (PNG's unit).
const PIXELS_PER_METRE: u32 = 11_811;
/// The seal red, `#D7000F`.
const RED: [u8; 3] = [0xD7, 0x00, 0x0F];
/// Segments a circle is drawn with (the error stays far below a pixel at 42 mm).
const CIRCLE_SEGMENTS: u32 = 360;
/// How far, in millimetres, each character is thickened (seals are cut bold).
const EMBOLDEN_MM: f64 = 0.08;

/// Where Debian's CJK fonts are, in the order we prefer them: a Song (宋体, what GA 241 asks of
/// official seals) with GB 2312's characters, then broader fonts for rarer characters.
pub const DEFAULT_FONTS: &[&str] = &[
    "/usr/share/fonts/truetype/arphic-gbsn00lp/gbsn00lp.ttf",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
];

/// The fonts characters are cut from: the first that has a character draws it. Holds the files'
/// paths, checked once, and reads them when a seal is drawn: the fonts are 5–40 MB, a seal is
/// made a few times a day, and keeping them in memory would be most of an idle desk's memory.
#[derive(Clone, Debug)]
pub struct Fonts {
    paths: std::sync::Arc<Vec<PathBuf>>,
}

impl Fonts {
    /// The fonts at `paths` that exist (at most two: the preferred one and a fallback), each
    /// read and parsed once here, so a broken file is refused at startup; an error when none
    /// exists.
    pub fn load(paths: &[PathBuf]) -> Result<Self, String> {
        let mut found = Vec::new();
        for path in paths {
            if found.len() == 2 {
                break;
            }
            let Ok(bytes) = std::fs::read(path) else { continue };
            if let Err(e) = FontVec::try_from_vec_and_index(bytes, 0) {
                return Err(format!("{}: not a font ({e})", path.display()));
            }
            found.push(path.clone());
        }
        if found.is_empty() {
            let tried: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
            return Err(format!("no CJK font found (tried {}); install fonts-arphic-gbsn00lp", tried.join(", ")));
        }
        Ok(Self { paths: std::sync::Arc::new(found) })
    }

    /// [`Fonts::load`] over [`DEFAULT_FONTS`].
    pub fn system() -> Result<Self, String> {
        Self::load(&DEFAULT_FONTS.iter().map(|p| Path::new(p).to_path_buf()).collect::<Vec<_>>())
    }

    /// The fonts, read from their files for one drawing.
    fn open(&self) -> Result<Loaded, String> {
        let fonts = self
            .paths
            .iter()
            .map(|path| {
                let bytes = std::fs::read(path).map_err(|e| format!("字库 {} 无法读取：{e}", path.display()))?;
                FontVec::try_from_vec_and_index(bytes, 0).map_err(|e| format!("字库 {} 无效：{e}", path.display()))
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Loaded(fonts))
    }
}

/// The fonts of one drawing, in memory while it is drawn.
struct Loaded(Vec<FontVec>);

impl Loaded {
    fn for_char(&self, c: char) -> Option<&FontVec> {
        self.0.iter().find(|f| f.glyph_id(c).0 != 0)
    }
}

/// Millimetres to pixels at [`DPI`].
fn px(mm: f64) -> f64 {
    mm * DPI / 25.4
}

/// A clear pixel around the drawing: the ring's outer edge never touches the image's.
const MARGIN_PX: f64 = 1.0;

/// The image's side for `mm` (the drawings are a few hundred pixels).
fn size_px(mm: f64) -> usize {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // 0 < mm ≤ a few dozen
    let n = (px(mm) + 2.0 * MARGIN_PX).ceil() as usize;
    n
}

/// A point in millimetres (origin at the centre) as a rasteriser point in pixels.
#[allow(clippy::cast_possible_truncation)] // pixel coordinates of a small image
fn at(drawing: &SealDrawing, x: f64, y: f64) -> ab_glyph_rasterizer::Point {
    point((px(x + drawing.width / 2.0) + MARGIN_PX) as f32, (px(y + drawing.height / 2.0) + MARGIN_PX) as f32)
}

/// A closed polygon outline; `reverse` winds it the other way (a hole).
fn polygon(r: &mut Rasterizer, drawing: &SealDrawing, points: &[(f64, f64)], reverse: bool) {
    let mut points: Vec<(f64, f64)> = points.to_vec();
    if reverse {
        points.reverse();
    }
    for (i, &(x0, y0)) in points.iter().enumerate() {
        let (x1, y1) = points[(i + 1) % points.len()];
        r.draw_line(at(drawing, x0, y0), at(drawing, x1, y1));
    }
}

fn circle(radius: f64) -> Vec<(f64, f64)> {
    (0..CIRCLE_SEGMENTS)
        .map(|k| {
            let (sin, cos) = (f64::from(k) * 360.0 / f64::from(CIRCLE_SEGMENTS)).to_radians().sin_cos();
            (radius * cos, radius * sin)
        })
        .collect()
}

fn square(half: f64) -> Vec<(f64, f64)> {
    vec![(-half, -half), (half, -half), (half, half), (-half, half)]
}

fn shape(r: &mut Rasterizer, drawing: &SealDrawing, shape: &Shape) {
    match shape {
        Shape::Ring { radius, stroke } => {
            polygon(r, drawing, &circle(radius + stroke / 2.0), false);
            polygon(r, drawing, &circle(radius - stroke / 2.0), true);
        }
        Shape::Frame { side, stroke } => {
            polygon(r, drawing, &square(side / 2.0 + stroke / 2.0), false);
            polygon(r, drawing, &square(side / 2.0 - stroke / 2.0), true);
        }
        Shape::Polygon { points } => polygon(r, drawing, points, false),
    }
}

/// One character: the font's outline (font units, y up) centred on its advance and em box,
/// scaled to `size` mm high, squeezed by `width`, turned `rotation`° clockwise and placed.
fn glyph(raster: &mut Rasterizer, drawing: &SealDrawing, font: &FontVec, g: &Glyph, (dx, dy): (f64, f64)) {
    let id = font.glyph_id(g.text);
    let Some(outline) = font.outline(id) else { return };
    let em = f64::from(font.units_per_em().unwrap_or(1000.0));
    let scale = g.size / em;
    let centre_x = f64::from(font.h_advance_unscaled(id)) / 2.0;
    let centre_y = f64::from(font.ascent_unscaled() + font.descent_unscaled()) / 2.0;
    let (sin, cos) = g.rotation.to_radians().sin_cos();
    let place = |p: ab_glyph::Point| {
        let lx = (f64::from(p.x) - centre_x) * scale * g.width + dx;
        let ly = -(f64::from(p.y) - centre_y) * scale + dy;
        at(drawing, g.x + lx * cos - ly * sin, g.y + lx * sin + ly * cos)
    };
    for curve in &outline.curves {
        match *curve {
            OutlineCurve::Line(p0, p1) => raster.draw_line(place(p0), place(p1)),
            OutlineCurve::Quad(p0, p1, p2) => raster.draw_quad(place(p0), place(p1), place(p2)),
            OutlineCurve::Cubic(p0, p1, p2, p3) => raster.draw_cubic(place(p0), place(p1), place(p2), place(p3)),
        }
    }
}

/// Draws `drawing` as a PNG at 300 dpi. Characters no font has are refused.
pub fn png(drawing: &SealDrawing, fonts: &Fonts) -> Result<Vec<u8>, String> {
    let (width, height) = (size_px(drawing.width), size_px(drawing.height));
    let mut shapes = Rasterizer::new(width, height);
    for s in &drawing.shapes {
        shape(&mut shapes, drawing, s);
    }
    // Characters in their own pass: overlapping copies (the thickening) add up, and adding
    // them to the ring's winding would cancel, not cover.
    let mut text = Rasterizer::new(width, height);
    let d = EMBOLDEN_MM / 2.0;
    let fonts = fonts.open()?;
    for g in &drawing.glyphs {
        let font = fonts.for_char(g.text).ok_or_else(|| format!("字库中没有“{}”字", g.text))?;
        for offset in [(-d, -d), (d, -d), (-d, d), (d, d)] {
            glyph(&mut text, drawing, font, g, offset);
        }
    }
    let mut alpha = vec![0f32; width * height];
    shapes.for_each_pixel(|i, a| alpha[i] = a.min(1.0));
    text.for_each_pixel(|i, a| alpha[i] = alpha[i].max(a.min(1.0)));
    let mut rgba = Vec::with_capacity(width * height * 4);
    for a in alpha {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // 0 ≤ a ≤ 1
        let a = (a * 255.0).round() as u8;
        rgba.extend_from_slice(&[RED[0], RED[1], RED[2], a]);
    }
    encode(u32::try_from(width).unwrap_or(u32::MAX), u32::try_from(height).unwrap_or(u32::MAX), &rgba)
}

fn encode(width: u32, height: u32, rgba: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_pixel_dims(Some(png::PixelDimensions {
        xppu: PIXELS_PER_METRE,
        yppu: PIXELS_PER_METRE,
        unit: png::Unit::Meter,
    }));
    let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
    writer.write_image_data(rgba).map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())?;
    Ok(out)
}

/// A PNG's pixel size, from its header alone (nothing is decoded).
pub fn png_size(bytes: &[u8]) -> Option<(u32, u32)> {
    const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    if bytes.len() < 24 || &bytes[..8] != SIGNATURE || &bytes[12..16] != b"IHDR" {
        return None;
    }
    let word = |i: usize| u32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    Some((word(16), word(20)))
}

/// How much redder than green and blue a pixel must be to be seal ink.
const INK_REDNESS: i32 = 45;
/// Blocks (pixels a side) the scan is searched in for the stamp.
const BLOCK: u32 = 4;
/// The smallest stamp accepted: 8 mm at 150 dpi.
const MIN_STAMP_PX: u32 = 48;

/// How red a pixel is: red above the larger of green and blue.
fn redness(p: image::Rgb<u8>) -> i32 {
    let [r, g, b] = p.0.map(i32::from);
    r - g.max(b)
}

/// The stamp on a scanned 印章采样表, as a PNG at 300 dpi on transparency, its longer side
/// `longer_mm` millimetres, with its size in pixels: the largest connected area of red ink (printed text and lines in
/// black, stray red marks smaller than the stamp are left out) is cropped, the paper made
/// transparent and the ink made seal red, its opacity following how red it was.
pub fn from_scan(scan: &image::RgbImage, longer_mm: f64) -> Result<(Vec<u8>, u32, u32), String> {
    let (width, height) = scan.dimensions();
    let (gw, gh) = (width.div_ceil(BLOCK), height.div_ceil(BLOCK));
    let index = |x: u32, y: u32| (y * gw + x) as usize;
    // Blocks with enough ink in them.
    let mut inked = vec![false; (gw * gh) as usize];
    for (x, y, p) in scan.enumerate_pixels() {
        if redness(*p) > INK_REDNESS {
            inked[index(x / BLOCK, y / BLOCK)] = true;
        }
    }
    // Connected areas of inked blocks (8-neighbourhood, bridging one-block gaps between the
    // strokes of a character), the one with the largest extent kept.
    let mut seen = vec![false; inked.len()];
    let mut best: Option<(u32, u32, u32, u32)> = None;
    let mut stack = Vec::new();
    for start in 0..inked.len() {
        if !inked[start] || seen[start] {
            continue;
        }
        seen[start] = true;
        stack.push(start);
        let (mut x0, mut y0, mut x1, mut y1) = (u32::MAX, u32::MAX, 0, 0);
        while let Some(i) = stack.pop() {
            let (bx, by) = (u32::try_from(i).unwrap_or(0) % gw, u32::try_from(i).unwrap_or(0) / gw);
            (x0, y0, x1, y1) = (x0.min(bx), y0.min(by), x1.max(bx), y1.max(by));
            for ny in by.saturating_sub(2)..=(by + 2).min(gh - 1) {
                for nx in bx.saturating_sub(2)..=(bx + 2).min(gw - 1) {
                    let n = index(nx, ny);
                    if inked[n] && !seen[n] {
                        seen[n] = true;
                        stack.push(n);
                    }
                }
            }
        }
        let extent = |b: (u32, u32, u32, u32)| (b.2 - b.0 + 1) * (b.3 - b.1 + 1);
        if best.is_none_or(|b| extent((x0, y0, x1, y1)) > extent(b)) {
            best = Some((x0, y0, x1, y1));
        }
    }
    let Some((x0, y0, x1, y1)) = best else { return Err("未在采样表中找到红色印章".into()) };
    let (left, top) = (x0 * BLOCK, y0 * BLOCK);
    let (right, bottom) = (((x1 + 1) * BLOCK).min(width), ((y1 + 1) * BLOCK).min(height));
    let (cw, ch) = (right - left, bottom - top);
    if cw.min(ch) < MIN_STAMP_PX {
        return Err("采样表中的红色印章太小或不清晰，请重新扫描".into());
    }
    let crop = image::imageops::crop_imm(scan, left, top, cw, ch).to_image();
    let longer = size_px(longer_mm) - 2;
    let scale = f64::from(u32::try_from(longer).unwrap_or(u32::MAX)) / f64::from(cw.max(ch));
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // a few hundred pixels
    let (tw, th) = ((f64::from(cw) * scale).round().max(1.0) as u32, (f64::from(ch) * scale).round().max(1.0) as u32);
    let scaled = image::imageops::resize(&crop, tw, th, image::imageops::FilterType::Triangle);
    let mut rgba = Vec::with_capacity((tw * th * 4) as usize);
    for p in scaled.pixels() {
        let alpha = ((redness(*p) - 20) * 255 / 90).clamp(0, 255);
        rgba.extend_from_slice(&[RED[0], RED[1], RED[2], u8::try_from(alpha).unwrap_or(u8::MAX)]);
    }
    Ok((encode(tw, th, &rgba)?, tw, th))
}
