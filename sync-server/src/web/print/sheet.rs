//! Printed matter: the village's 明白纸 (an A4 sheet with the QR code of the declaration form)
//! and the door-plate labels (户码) of its households.
//!
//! Both come as a print-ready HTML page (A4 CSS, the QR code as inline SVG, so any browser
//! prints them crisply) and as a PNG drawn by the server itself (A4 at 150 dpi, text set with
//! the font in `assets/fonts`), for offices that forward a picture in a chat group rather than
//! print from a browser. QR codes are made with the `qrcode` crate at error-correction level M
//! (a sheet on a damp wall, a label on a wooden door).

use ab_glyph::{Font, FontRef, PxScale, ScaleFont};
use image::{ImageBuffer, Luma, Rgb, RgbImage};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use qrcode::{EcLevel, QrCode};

/// The font the PNGs are drawn with (a subset of WenQuanYi Micro Hei; see assets/fonts).
const FONT: &[u8] = include_bytes!("../../../../assets/fonts/wqy-microhei-subset.ttf");
/// The few characters of division names WenQuanYi lacks (䃎 of 大水䃎村), from Noto Sans CJK SC.
const FALLBACK: &[u8] = include_bytes!("../../../../assets/fonts/noto-sans-cjk-sc-fallback.otf");

/// Why a sheet could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PrintError {
    #[error("qr: {0}")]
    Qr(String),
    #[error("font: {0}")]
    Font(String),
    #[error("png: {0}")]
    Png(String),
}

fn qr(text: &str) -> Result<QrCode, PrintError> {
    QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
        .map_err(|e| PrintError::Qr(e.to_string()))
}

/// The QR code of `text` as an SVG element.
pub fn qr_svg(text: &str) -> Result<String, PrintError> {
    Ok(qr(text)?
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(256, 256)
        .quiet_zone(true)
        .build())
}

/// The QR code of `text` as a grey image, `module` pixels per module, with a quiet zone.
pub fn qr_image(text: &str, module: u32) -> Result<ImageBuffer<Luma<u8>, Vec<u8>>, PrintError> {
    Ok(qr(text)?
        .render::<Luma<u8>>()
        .module_dimensions(module, module)
        .quiet_zone(true)
        .build())
}

/// What the village sheet says.
#[derive(Debug, Clone)]
pub struct VillageSheet {
    /// `鲁家沟镇南川村`.
    pub village_name: String,
    /// The form's address, in the QR code and printed under it.
    pub form_url: String,
    /// `鲁家沟镇人民政府 0932-1234567`, or `None` when no contact is set.
    pub contact: Option<String>,
    /// The home verification's time limit as residents read it (`5个工作日`).
    pub visit_within: String,
}

impl VillageSheet {
    fn steps(&self) -> [String; 3] {
        [
            "用手机微信“扫一扫”，扫描上面的二维码".to_owned(),
            "按提示填写姓名、电话、身份证号和困难情况，点“提交申报”".to_owned(),
            format!(
                "记下回执号。村网格员{}内上门核实，凭回执号可随时查询进度",
                self.visit_within
            ),
        ]
    }
}

const PRINT_CSS: &str = r#"
@page{size:A4;margin:14mm}
*{box-sizing:border-box}
body{margin:0;font-family:"PingFang SC","Noto Sans CJK SC","WenQuanYi Micro Hei","Microsoft YaHei",sans-serif;color:#111}
.sheet{width:182mm;margin:0 auto;text-align:center}
.band{background:#8b0000;color:#fff;padding:6mm 4mm;border-radius:3mm;-webkit-print-color-adjust:exact;print-color-adjust:exact}
.band h1{margin:0;font-size:13mm;letter-spacing:1mm}
.band p{margin:2mm 0 0;font-size:6mm}
.village{font-size:10mm;font-weight:700;margin:7mm 0 3mm}
.qr svg{width:105mm;height:105mm}
.url{font-size:4mm;color:#333;word-break:break-all;margin:0 0 5mm}
ol{text-align:left;font-size:7mm;line-height:1.45;margin:0 0 6mm;padding-left:11mm}
ol li{margin:0 0 2mm}
.contact{font-size:7mm;font-weight:700;border:0.6mm solid #8b0000;border-radius:3mm;padding:3mm}
.noprint{margin:6mm 0;font-size:5mm}
.labels{display:grid;grid-template-columns:repeat(3,1fr);gap:4mm;width:182mm;margin:0 auto}
.label{border:0.4mm dashed #999;padding:3mm;text-align:center;break-inside:avoid}
.label svg{width:45mm;height:45mm}
.label .no{font-size:6mm;font-weight:700}
.label .who{font-size:4mm;color:#333}
@media print{.noprint{display:none}}
"#;

/// The sheet as a print-ready page.
pub fn village_sheet_html(sheet: &VillageSheet, png_href: &str) -> Result<Markup, PrintError> {
    let svg = qr_svg(&sheet.form_url)?;
    Ok(html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                title { (sheet.village_name) " 一键申报 明白纸" }
                style { (PreEscaped(PRINT_CSS)) }
            }
            body {
                div.sheet {
                    p.noprint { "请用A4纸打印（Ctrl+P）。" a href=(png_href) { "下载图片版" } }
                    div.band { h1 { "困难群众一键申报" } p { "防止返贫动态监测和帮扶 · 有困难，扫码说" } }
                    p.village { (sheet.village_name) }
                    div.qr { (PreEscaped(svg)) }
                    p.url { (sheet.form_url) }
                    ol { @for s in sheet.steps() { li { (s) } } }
                    p.contact {
                        @match &sheet.contact {
                            Some(c) => { "咨询电话：" (c) }
                            None => { "有疑问请咨询村委会或村网格员" }
                        }
                    }
                }
            }
        }
    })
}

/// One door-plate label.
#[derive(Debug, Clone)]
pub struct Label {
    /// The QR code's text (`qrcodes::door_plate_text`).
    pub code: String,
    /// The short number printed under it (the door plate, or the last digits of the id).
    pub number: String,
    pub who: String,
}

/// A page of labels, three per row.
pub fn labels_html(village_name: &str, labels: &[Label]) -> Result<Markup, PrintError> {
    let svgs = labels
        .iter()
        .map(|l| qr_svg(&l.code))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                title { (village_name) " 户码" }
                style { (PreEscaped(PRINT_CSS)) }
            }
            body {
                p.noprint style="text-align:center" { (village_name) " 共" (labels.len()) "户。请用A4不干胶纸打印，剪下贴在门牌旁。" }
                div.labels {
                    @for (l, svg) in labels.iter().zip(&svgs) {
                        div.label {
                            (PreEscaped(svg))
                            div.no { (l.number) }
                            div.who { (l.who) }
                        }
                    }
                }
            }
        }
    })
}

/// A canvas to draw the PNGs on.
struct Canvas {
    img: RgbImage,
    font: FontRef<'static>,
    fallback: FontRef<'static>,
}

impl Canvas {
    fn new(w: u32, h: u32) -> Result<Canvas, PrintError> {
        Ok(Canvas {
            img: RgbImage::from_pixel(w, h, Rgb([255, 255, 255])),
            font: FontRef::try_from_slice(FONT).map_err(|e| PrintError::Font(e.to_string()))?,
            fallback: FontRef::try_from_slice(FALLBACK)
                .map_err(|e| PrintError::Font(e.to_string()))?,
        })
    }

    fn rect(&mut self, x: u32, y: u32, w: u32, h: u32, color: Rgb<u8>) {
        for yy in y..(y + h).min(self.img.height()) {
            for xx in x..(x + w).min(self.img.width()) {
                self.img.put_pixel(xx, yy, color);
            }
        }
    }

    /// The font that has `c` (the main one unless only the fallback does).
    fn font_for(&self, c: char) -> &FontRef<'static> {
        if self.font.glyph_id(c).0 == 0 && self.fallback.glyph_id(c).0 != 0 {
            &self.fallback
        } else {
            &self.font
        }
    }

    fn text_width(&self, text: &str, px: f32) -> f32 {
        text.chars()
            .map(|c| {
                let font = self.font_for(c);
                font.as_scaled(PxScale::from(px))
                    .h_advance(font.glyph_id(c))
            })
            .sum()
    }

    /// Draw `text` with its baseline at `y`, starting at `x`.
    fn text(&mut self, text: &str, x: f32, y: f32, px: f32, color: Rgb<u8>) {
        let scale = PxScale::from(px);
        let mut pen = x;
        for c in text.chars() {
            let font = self.font_for(c).clone();
            let id = font.glyph_id(c);
            let glyph = id.with_scale_and_position(scale, ab_glyph::point(pen, y));
            pen += font.as_scaled(scale).h_advance(id);
            let Some(outline) = font.outline_glyph(glyph) else {
                continue;
            };
            let bounds = outline.px_bounds();
            let (w, h) = (self.img.width() as i64, self.img.height() as i64);
            outline.draw(|gx, gy, coverage| {
                let px_x = bounds.min.x as i64 + i64::from(gx);
                let px_y = bounds.min.y as i64 + i64::from(gy);
                if px_x < 0 || px_y < 0 || px_x >= w || px_y >= h {
                    return;
                }
                let p = self.img.get_pixel_mut(px_x as u32, px_y as u32);
                for i in 0..3 {
                    let bg = f32::from(p.0[i]);
                    p.0[i] = (bg + (f32::from(color.0[i]) - bg) * coverage.clamp(0.0, 1.0)) as u8;
                }
            });
        }
    }

    fn centered(&mut self, text: &str, y: f32, px: f32, color: Rgb<u8>) {
        let w = self.text_width(text, px);
        let x = (self.img.width() as f32 - w) / 2.0;
        self.text(text, x.max(0.0), y, px, color);
    }

    /// Wrap `text` to `max_width` px; returns the lines.
    fn wrap(&self, text: &str, px: f32, max_width: f32) -> Vec<String> {
        let mut lines = Vec::new();
        let mut line = String::new();
        for c in text.chars() {
            let mut candidate = line.clone();
            candidate.push(c);
            if self.text_width(&candidate, px) > max_width && !line.is_empty() {
                lines.push(std::mem::take(&mut line));
                line.push(c);
            } else {
                line = candidate;
            }
        }
        if !line.is_empty() {
            lines.push(line);
        }
        lines
    }

    fn paste_qr(&mut self, qr: &ImageBuffer<Luma<u8>, Vec<u8>>, x: u32, y: u32) {
        for (qx, qy, p) in qr.enumerate_pixels() {
            let v = p.0[0];
            if x + qx < self.img.width() && y + qy < self.img.height() {
                self.img.put_pixel(x + qx, y + qy, Rgb([v, v, v]));
            }
        }
    }

    fn png(&self) -> Result<Vec<u8>, PrintError> {
        let mut out = Vec::new();
        self.img
            .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
            .map_err(|e| PrintError::Png(e.to_string()))?;
        Ok(out)
    }
}

const RED: Rgb<u8> = Rgb([139, 0, 0]);
const INK: Rgb<u8> = Rgb([17, 17, 17]);
const GREY: Rgb<u8> = Rgb([70, 70, 70]);
const WHITE: Rgb<u8> = Rgb([255, 255, 255]);

/// The sheet as an A4 PNG at 150 dpi (1240 × 1754).
pub fn village_sheet_png(sheet: &VillageSheet) -> Result<Vec<u8>, PrintError> {
    let (w, h) = (1240u32, 1754u32);
    let mut c = Canvas::new(w, h)?;
    c.rect(60, 60, w - 120, 200, RED);
    c.centered("困难群众一键申报", 175.0, 86.0, WHITE);
    c.centered(
        "防止返贫动态监测和帮扶 · 有困难，扫码说",
        235.0,
        36.0,
        WHITE,
    );
    c.centered(&sheet.village_name, 350.0, 64.0, INK);
    let code = qr_image(&sheet.form_url, 1)?;
    let module = (620 / code.width()).max(4);
    let code = qr_image(&sheet.form_url, module)?;
    let x = (w - code.width()) / 2;
    c.paste_qr(&code, x, 390);
    let mut y = 390.0 + code.height() as f32 + 40.0;
    c.centered(&sheet.form_url, y, 26.0, GREY);
    y += 80.0;
    for (i, step) in sheet.steps().iter().enumerate() {
        let marks = ["①", "②", "③"];
        let lines = c.wrap(step, 44.0, (w - 260) as f32);
        for (j, line) in lines.iter().enumerate() {
            if j == 0 {
                c.text(marks[i], 110.0, y, 44.0, RED);
            }
            c.text(line, 170.0, y, 44.0, INK);
            y += 62.0;
        }
        y += 10.0;
    }
    y += 30.0;
    let contact = match &sheet.contact {
        Some(t) => format!("咨询电话：{t}"),
        None => "有疑问请咨询村委会或村网格员".to_owned(),
    };
    c.rect(100, (y - 60.0) as u32, w - 200, 4, RED);
    c.centered(&contact, y + 20.0, 46.0, RED);
    c.png()
}

/// One door-plate label as a PNG (600 × 760): the QR code and the number under it.
pub fn label_png(label: &Label) -> Result<Vec<u8>, PrintError> {
    let (w, h) = (600u32, 760u32);
    let mut c = Canvas::new(w, h)?;
    let code = qr_image(&label.code, 1)?;
    let module = (520 / code.width()).max(4);
    let code = qr_image(&label.code, module)?;
    c.paste_qr(&code, (w - code.width()) / 2, 20);
    let y = 20.0 + code.height() as f32 + 70.0;
    c.centered(&label.number, y, 56.0, INK);
    c.centered(&label.who, y + 70.0, 34.0, GREY);
    c.png()
}

/// A stand-in photograph for demonstration data (960 × 720 JPEG): a tinted card with a caption
/// saying what the photo would show, so nobody mistakes it for evidence.
pub fn demo_photo(caption: &str, tint: [u8; 3]) -> Result<Vec<u8>, PrintError> {
    let (w, h) = (960u32, 720u32);
    let mut c = Canvas::new(w, h)?;
    c.rect(0, 0, w, h, Rgb(tint));
    c.rect(60, 220, w - 120, 280, WHITE);
    c.centered(caption, 370.0, 56.0, INK);
    c.centered("演示数据 · 非真实照片", 450.0, 32.0, GREY);
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
        .encode_image(&c.img)
        .map_err(|e| PrintError::Png(e.to_string()))?;
    Ok(out)
}

/// Whether the font can draw every character of `text` (a test keeps the division names
/// drawable).
pub fn can_draw(text: &str) -> bool {
    match (
        FontRef::try_from_slice(FONT),
        FontRef::try_from_slice(FALLBACK),
    ) {
        (Ok(f), Ok(b)) => text
            .chars()
            .all(|c| c.is_whitespace() || f.glyph_id(c).0 != 0 || b.glyph_id(c).0 != 0),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_division_name_can_be_drawn() {
        let missing: Vec<&str> = yijian_core::regions::Regions::gansu()
            .iter()
            .map(|r| r.name.as_str())
            .filter(|n| !can_draw(n))
            .take(5)
            .collect();
        assert!(missing.is_empty(), "{missing:?}");
        // The fallback font really draws: 䃎 leaves ink on the canvas.
        let mut c = Canvas::new(120, 120).expect("canvas");
        c.text("䃎", 10.0, 90.0, 80.0, INK);
        assert!(
            c.img.pixels().filter(|p| p.0[0] < 128).count() > 200,
            "no ink"
        );
        assert!(can_draw("困难群众一键申报①②③咨询电话：0932-1234567"));
    }
}
