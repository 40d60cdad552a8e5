//! Reading the QR code on a door plate from a photo.
//!
//! Door plates carry a QR code with the household's code; the worker photographs it instead of
//! typing. The decoder is `rqrr` (pure Rust, no camera SDK), but on real photos its single
//! built-in binarisation misses many codes (glare, shadows, low contrast, dark-on-light and
//! light-on-dark prints), and its `detect_grids` can panic on unusual images. This module makes
//! it usable:
//!
//! * every `rqrr` call runs under [`std::panic::catch_unwind`]; a panic counts as "no code in
//!   this pass", never as a crash of the app, and is not printed (a live preview decodes several
//!   frames a second, and a backtrace per frame would bury the app's real log lines);
//! * it tries a sequence of *passes* — a binarised version of the photo each — and stops at the
//!   first that decodes: `rqrr`'s own row-average threshold, a local-mean (adaptive) threshold
//!   at three window sizes, a global Otsu threshold after a contrast stretch (and ±30), the
//!   inverted image. Those passes run on the photo downscaled to 1024 px, then at full size, with
//!   a white quiet zone added (codes cropped to their edge), at double size (small modules), and
//!   at half size (blurry, large modules);
//! * a large frame (a 12 MP photo of a door plate from arm's length, where the code is a few
//!   hundred pixels with 3–4 px modules) loses the code in that downscale, and the passes at
//!   full size would cost seconds: the frame is first scored in tiles (on a half-size copy) for
//!   dense strong edges, and the busiest few regions are cut out at full resolution and read,
//!   then read again at twice the size; only then is the frame read at the work size (a code
//!   that fills it). A frame with no code costs a bounded ~0.2 s (`make bench-qr`);
//! * payload bytes that are not UTF-8 are read as Shift_JIS (Kanji mode, Japanese generators),
//!   else ISO-8859-1, as zxing does.
//!
//! A decoded text is trusted as is: QR codes carry Reed–Solomon error correction, and `rqrr`
//! returns an error rather than a wrong text when it cannot correct.

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Once;

use image::{DynamicImage, GrayImage, imageops};

use crate::error::{Error, Result};

/// Prepares an image with `rqrr` and decodes the first grid that decodes, turning a panic
/// inside `rqrr` into "nothing found".
macro_rules! guarded {
    ($prepare:expr) => {
        quietly(|| {
            let mut prepared = $prepare;
            prepared.detect_grids().into_iter().find_map(|grid| {
                let mut bytes = Vec::new();
                grid.decode_to(&mut bytes).ok().map(|_| payload_text(bytes))
            })
        })
    };
}

thread_local! {
    /// Set while this thread runs `rqrr`, whose panics are expected and contained.
    static IN_DECODER: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f`, turning a panic into `None` without printing it. The process-wide panic hook is
/// wrapped once: panics on a thread inside the decoder are counted in the debug log only, every
/// other panic still reaches the previous hook unchanged.
fn quietly<T>(f: impl FnOnce() -> Option<T>) -> Option<T> {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if IN_DECODER.with(Cell::get) {
                tracing::debug!(panic = %info, "QR decoder pass panicked (contained)");
            } else {
                previous(info);
            }
        }));
    });
    IN_DECODER.with(|flag| flag.set(true));
    let result = catch_unwind(AssertUnwindSafe(f));
    IN_DECODER.with(|flag| flag.set(false));
    result.ok().flatten()
}
/// Photos are downscaled so their long side is at most this before the first passes.
const WORK_LONG_SIDE: u32 = 1024;

/// Decodes the first QR code found in an encoded image (JPEG, PNG).
///
/// `Ok(None)` means the image was read but no code could be decoded.
pub fn decode_qr(image_bytes: &[u8]) -> Result<Option<String>> {
    let img = image::load_from_memory(image_bytes)
        .map_err(|e| Error::Photo(format!("无法读取图片：{e}")))?;
    Ok(decode_qr_image(&img))
}

/// Decodes the first QR code found in a decoded image; `None` when no pass finds one.
pub fn decode_qr_image(img: &DynamicImage) -> Option<String> {
    decode_qr_gray(&img.to_luma8())
}

/// Decodes a camera frame given as 8-bit grey values, row by row (`width × height` bytes), as
/// the app's live preview sends them.
pub fn decode_qr_luma(luma: Vec<u8>, width: u32, height: u32) -> Result<Option<String>> {
    let expected = u64::from(width) * u64::from(height);
    if width == 0 || height == 0 || luma.len() as u64 != expected {
        return Err(Error::Photo(format!(
            "画面数据长度{}与尺寸{width}×{height}不符",
            luma.len()
        )));
    }
    let gray = GrayImage::from_raw(width, height, luma)
        .ok_or_else(|| Error::Photo("画面数据无效".into()))?;
    Ok(decode_qr_gray(&gray))
}

/// Decodes the first QR code found in a greyscale image.
pub fn decode_qr_gray(gray: &GrayImage) -> Option<String> {
    let long = gray.width().max(gray.height());
    let large = long >= REGION_SEARCH_LONG_SIDE;
    if large {
        // A door plate photographed from arm's length is a few hundred pixels of a 12 MP
        // frame, with 3–4 px modules, and vanishes in the downscale: read the busiest regions
        // at full resolution first.
        let half = halve(gray);
        for region in busy_regions(&half).into_iter().take(MAX_REGIONS) {
            let img = region.image(gray);
            if let Some(text) = try_passes(&img) {
                return Some(text);
            }
            // Blurred 3 px modules bind better at twice the size.
            let big = imageops::resize(
                &img,
                img.width() * 2,
                img.height() * 2,
                imageops::FilterType::Triangle,
            );
            if let Some(text) = try_passes(&big) {
                return Some(text);
            }
        }
        // A code that fills much of the frame: the work size, from the half-size copy.
        let f = long.div_ceil(WORK_LONG_SIDE);
        let work = if f % 2 == 0 {
            box_shrink(&half, f / 2)
        } else {
            box_shrink(gray, f)
        };
        return decode_work(gray, &work, false);
    }
    let work = downscale(gray, WORK_LONG_SIDE);
    decode_work(gray, &work, true)
}

/// The passes on the work-size image, and the fallbacks for codes printed without a quiet
/// zone, with tiny or with blurred modules. `full_size` also reads the original once (a
/// mid-sized photo whose small code vanished in the downscale).
fn decode_work(gray: &GrayImage, work: &GrayImage, full_size: bool) -> Option<String> {
    if let Some(text) = try_passes(work) {
        return Some(text);
    }
    // Small codes in a mid-sized photo can vanish in the downscale: try the full size once
    // (large frames were searched region by region instead, which bounds the time).
    if full_size
        && work.dimensions() != gray.dimensions()
        && let Some(text) = try_passes(gray)
    {
        return Some(text);
    }
    // Codes printed or cropped without a quiet zone: rqrr needs white around the finder
    // patterns.
    let padded = pad(work, 255);
    if let Some(text) = try_passes(&padded) {
        return Some(text);
    }
    // Small codes: modules of 1–2 px are too fine for rqrr's capstone scan; double the size.
    let (w, h) = work.dimensions();
    if w.max(h) <= 800 {
        let big = imageops::resize(work, w * 2, h * 2, imageops::FilterType::Triangle);
        if let Some(text) = try_passes(&big) {
            return Some(text);
        }
    }
    // Very blurry or oversized modules bind better at a coarser scale.
    let (w, h) = work.dimensions();
    if w.min(h) >= 200 {
        let half = downscale(work, w.max(h) / 2);
        if let Some(text) = try_passes(&half) {
            return Some(text);
        }
    }
    None
}

/// The text of a QR payload. The standard's default byte encoding is ISO-8859-1, but in practice
/// payloads are UTF-8, and Japanese/Chinese generators use Shift_JIS (Kanji mode always is).
/// Like zxing: UTF-8 if the bytes are valid UTF-8, else Shift_JIS if they are valid Shift_JIS,
/// else ISO-8859-1.
fn payload_text(bytes: Vec<u8>) -> String {
    match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let bytes = e.into_bytes();
            match encoding_rs::SHIFT_JIS.decode_without_bom_handling_and_without_replacement(&bytes)
            {
                Some(text) => text.into_owned(),
                None => bytes.iter().map(|&b| char::from(b)).collect(),
            }
        }
    }
}

/// `img` inside a border of `value`, a tenth of the long side wide.
fn pad(img: &GrayImage, value: u8) -> GrayImage {
    let (w, h) = img.dimensions();
    let b = (w.max(h) / 10).max(8);
    let mut out = GrayImage::from_pixel(w + 2 * b, h + 2 * b, image::Luma([value]));
    imageops::replace(&mut out, img, i64::from(b), i64::from(b));
    out
}

fn downscale(img: &GrayImage, max_long: u32) -> GrayImage {
    let (w, h) = img.dimensions();
    let long = w.max(h);
    if long <= max_long {
        return img.clone();
    }
    let (nw, nh) = crate::photo::fit_within(w, h, max_long);
    imageops::resize(img, nw, nh, imageops::FilterType::Triangle)
}

/// `img` at half size, each output pixel the mean of a 2×2 block: the cheapest honest
/// downscale of a camera frame (and it halves the sensor noise).
fn halve(img: &GrayImage) -> GrayImage {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let (ow, oh) = ((w / 2).max(1), (h / 2).max(1));
    if w < 2 || h < 2 {
        return img.clone();
    }
    let raw = img.as_raw();
    let mut out = vec![0u8; ow * oh];
    for (oy, o) in out.chunks_exact_mut(ow).enumerate() {
        let r0 = &raw[2 * oy * w..2 * oy * w + 2 * ow];
        let r1 = &raw[(2 * oy + 1) * w..(2 * oy + 1) * w + 2 * ow];
        for ((o, a), b) in o.iter_mut().zip(r0.chunks_exact(2)).zip(r1.chunks_exact(2)) {
            let sum = u16::from(a[0]) + u16::from(a[1]) + u16::from(b[0]) + u16::from(b[1]);
            *o = ((sum + 2) >> 2) as u8;
        }
    }
    GrayImage::from_raw(ow as u32, oh as u32, out).unwrap_or_else(|| img.clone())
}

/// `img` shrunk by the integer factor `f`, each output pixel the mean of an `f × f` block
/// (the last partial row and column of blocks are dropped).
fn box_shrink(img: &GrayImage, f: u32) -> GrayImage {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let f = f as usize;
    let (ow, oh) = ((w / f).max(1), (h / f).max(1));
    let raw = img.as_raw();
    let mut sums = vec![0u32; ow];
    let mut out = Vec::with_capacity(ow * oh);
    let n = (f * f) as u32;
    for oy in 0..oh {
        sums.fill(0);
        for y in oy * f..(oy * f + f).min(h) {
            let row = &raw[y * w..y * w + ow * f];
            for (sum, block) in sums.iter_mut().zip(row.chunks_exact(f)) {
                *sum += block.iter().map(|&p| u32::from(p)).sum::<u32>();
            }
        }
        out.extend(sums.iter().map(|&s| (s / n) as u8));
    }
    GrayImage::from_raw(ow as u32, oh as u32, out).unwrap_or_else(|| img.clone())
}

/// Frames with a long side of at least this many pixels are searched for small codes region
/// by region (a 12 MP photo is 4000; the live preview's frames are 640).
const REGION_SEARCH_LONG_SIDE: u32 = 1600;
/// Regions read per frame, busiest first: bounds the time on a frame without a code.
const MAX_REGIONS: usize = 4;
/// Side of the squares the frame is scored in, in full-resolution pixels.
const TILE: usize = 32;

/// A part of the frame that looks like a small printed code: many strong edges at the scale
/// of 2–5 px modules.
#[derive(Debug, Clone, PartialEq)]
struct Region {
    x: u32,
    y: u32,
    w: u32,
    h: u32,
    score: f64,
}

impl Region {
    /// The region cut from `gray` at full resolution (3–4 px modules suit rqrr's scan).
    fn image(&self, gray: &GrayImage) -> GrayImage {
        imageops::crop_imm(gray, self.x, self.y, self.w, self.h).to_image()
    }
}

/// The frame's busy regions, busiest first. Each tile is scored on a half-size copy (averaging
/// 2×2 halves the sensor noise): the mean absolute difference between neighbours, which a
/// code's modules make large and a wall, sky or skin keep small. Tiles well above the frame's
/// median are grouped with their neighbours; each group's bounding box, with a margin, is a
/// region. Groups too small for a code, or too large to be a small one (a large code is read at
/// the work size), are left out.
fn busy_regions(half: &GrayImage) -> Vec<Region> {
    let (w, h) = (half.width() as usize, half.height() as usize);
    let t = TILE / 2;
    let (tw, th) = (w / t, h / t);
    if tw < 3 || th < 3 {
        return Vec::new();
    }
    let raw = half.as_raw();
    let mut score = vec![0f32; tw * th];
    for ty in 0..th {
        for tx in 0..tw {
            let mut sum = 0u32;
            for y in ty * t..(ty + 1) * t - 1 {
                let row = &raw[y * w + tx * t..y * w + (tx + 1) * t];
                let below = &raw[(y + 1) * w + tx * t..(y + 1) * w + (tx + 1) * t];
                for x in 0..t - 1 {
                    sum += u32::from(row[x].abs_diff(row[x + 1]))
                        + u32::from(row[x].abs_diff(below[x]));
                }
            }
            score[ty * tw + tx] = sum as f32 / ((t - 1) * (t - 1) * 2) as f32;
        }
    }
    let mut sorted = score.clone();
    sorted.sort_by(f32::total_cmp);
    let median = sorted[sorted.len() / 2];
    let threshold = (median * 2.2).max(4.0);
    let busy: Vec<bool> = score.iter().map(|&s| s > threshold).collect();

    // Group busy tiles (8-connected, bridging one-tile gaps: a quiet zone or a plate's border
    // can split a code from its own print).
    let mut label = vec![usize::MAX; tw * th];
    let mut regions = Vec::new();
    for start in 0..tw * th {
        if !busy[start] || label[start] != usize::MAX {
            continue;
        }
        let id = regions.len();
        let (mut x0, mut y0, mut x1, mut y1) = (tw, th, 0, 0);
        let (mut total, mut tiles) = (0f64, 0usize);
        let mut stack = vec![start];
        label[start] = id;
        while let Some(i) = stack.pop() {
            let (x, y) = (i % tw, i / tw);
            (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
            total += f64::from(score[i] - threshold);
            tiles += 1;
            for dy in -2i64..=2 {
                for dx in -2i64..=2 {
                    let (nx, ny) = (x as i64 + dx, y as i64 + dy);
                    if nx < 0 || ny < 0 || nx >= tw as i64 || ny >= th as i64 {
                        continue;
                    }
                    let j = ny as usize * tw + nx as usize;
                    if busy[j] && label[j] == usize::MAX {
                        label[j] = id;
                        stack.push(j);
                    }
                }
            }
        }
        regions.push((x0, y0, x1, y1, total, tiles));
    }
    let (fw, fh) = (half.width() * 2, half.height() * 2);
    let mut out: Vec<Region> = regions
        .into_iter()
        .filter(|&(x0, y0, x1, y1, _, tiles)| {
            let (gw, gh) = (x1 - x0 + 1, y1 - y0 + 1);
            // A code of 21+ modules at 2 px or more covers at least 2×2 tiles; more than 28
            // tiles (900 px) across is not a small code.
            tiles >= 3 && gw >= 2 && gh >= 2 && gw <= 28 && gh <= 28
        })
        .map(|(x0, y0, x1, y1, total, _)| {
            let margin = TILE as u32;
            let x = ((x0 * TILE) as u32).saturating_sub(margin);
            let y = ((y0 * TILE) as u32).saturating_sub(margin);
            let right = (((x1 + 1) * TILE) as u32 + margin).min(fw);
            let bottom = (((y1 + 1) * TILE) as u32 + margin).min(fh);
            Region {
                x,
                y,
                w: right - x,
                h: bottom - y,
                score: total,
            }
        })
        .collect();
    out.sort_by(|a, b| b.score.total_cmp(&a.score));
    out
}

fn try_passes(gray: &GrayImage) -> Option<String> {
    let (w, h) = (gray.width() as usize, gray.height() as usize);
    if w == 0 || h == 0 {
        return None;
    }
    let px = |x: usize, y: usize| gray.as_raw()[y * w + x];

    // 1. rqrr's own binarisation on the plain grey image.
    if let Some(t) = guarded!(rqrr::PreparedImage::prepare_from_greyscale(w, h, px)) {
        return Some(t);
    }
    // 2. Adaptive: a pixel is black when darker than the mean of its neighbourhood.
    let integral = Integral::new(gray);
    for (radius_div, bias) in [(8, 10), (16, 5), (4, 15)] {
        let r = (w.max(h) / radius_div).max(4);
        let bits = integral.adaptive(gray, r, bias);
        if let Some(t) =
            guarded!(rqrr::PreparedImage::prepare_from_bitmap(w, h, |x, y| bits[y * w + x]))
        {
            return Some(t);
        }
    }
    // 3. Global threshold after stretching the contrast (faint prints, grey backgrounds).
    let stretched = stretch(gray);
    let otsu = otsu_threshold(&stretched);
    for t in [otsu, otsu.saturating_sub(30), otsu.saturating_add(30)] {
        let s = stretched.as_raw();
        if let Some(text) = guarded!(rqrr::PreparedImage::prepare_from_bitmap(w, h, |x, y| s
            [y * w + x]
            < t))
        {
            return Some(text);
        }
    }
    // 4. Light-on-dark codes.
    let bits = integral.adaptive(gray, (w.max(h) / 8).max(4), 10);
    if let Some(t) =
        guarded!(rqrr::PreparedImage::prepare_from_bitmap(w, h, |x, y| !bits[y * w + x]))
    {
        return Some(t);
    }
    None
}

/// Summed-area table for O(1) window means.
struct Integral {
    w: usize,
    sums: Vec<u32>,
}

impl Integral {
    fn new(gray: &GrayImage) -> Integral {
        let (w, h) = (gray.width() as usize, gray.height() as usize);
        let stride = w + 1;
        let mut sums = vec![0u32; stride * (h + 1)];
        let raw = gray.as_raw();
        for y in 0..h {
            let mut row = 0u32;
            for x in 0..w {
                row += u32::from(raw[y * w + x]);
                sums[(y + 1) * stride + x + 1] = sums[y * stride + x + 1] + row;
            }
        }
        Integral { w, sums }
    }

    /// `true` (black) where the pixel is more than `bias` below its `(2r+1)²` window's mean.
    fn adaptive(&self, gray: &GrayImage, r: usize, bias: u32) -> Vec<bool> {
        let (w, h) = (self.w, gray.height() as usize);
        let stride = w + 1;
        let raw = gray.as_raw();
        let mut out = vec![false; w * h];
        for y in 0..h {
            let (y0, y1) = (y.saturating_sub(r), (y + r + 1).min(h));
            for x in 0..w {
                let (x0, x1) = (x.saturating_sub(r), (x + r + 1).min(w));
                let sum = self.sums[y1 * stride + x1] + self.sums[y0 * stride + x0]
                    - self.sums[y0 * stride + x1]
                    - self.sums[y1 * stride + x0];
                let n = ((y1 - y0) * (x1 - x0)) as u32;
                out[y * w + x] = u32::from(raw[y * w + x]) * n + bias * n < sum;
            }
        }
        out
    }
}

/// Linear stretch so the 1st..99th percentile spans 0..255.
fn stretch(gray: &GrayImage) -> GrayImage {
    let hist = histogram(gray);
    let total: u32 = hist.iter().sum();
    let cut = total / 100;
    let mut acc = 0;
    let lo = hist.iter().position(|&c| {
        acc += c;
        acc > cut
    });
    acc = 0;
    let hi = hist.iter().rposition(|&c| {
        acc += c;
        acc > cut
    });
    let (Some(lo), Some(hi)) = (lo, hi) else {
        return gray.clone();
    };
    if hi <= lo {
        return gray.clone();
    }
    let (lo, span) = (lo as u32, (hi - lo) as u32);
    let mut out = gray.clone();
    for p in out.iter_mut() {
        *p = ((u32::from(*p).saturating_sub(lo) * 255) / span).min(255) as u8;
    }
    out
}

fn histogram(gray: &GrayImage) -> [u32; 256] {
    let mut hist = [0u32; 256];
    for &p in gray.as_raw() {
        hist[usize::from(p)] += 1;
    }
    hist
}

/// Otsu's global threshold: pixels below it are black.
fn otsu_threshold(gray: &GrayImage) -> u8 {
    let hist = histogram(gray);
    let total: f64 = hist.iter().map(|&c| f64::from(c)).sum();
    let sum_all: f64 = hist
        .iter()
        .enumerate()
        .map(|(i, &c)| i as f64 * f64::from(c))
        .sum();
    let (mut w_b, mut sum_b, mut best, mut best_t) = (0.0, 0.0, 0.0, 128u8);
    for (t, &c) in hist.iter().enumerate() {
        w_b += f64::from(c);
        if w_b == 0.0 {
            continue;
        }
        let w_f = total - w_b;
        if w_f == 0.0 {
            break;
        }
        sum_b += t as f64 * f64::from(c);
        let (m_b, m_f) = (sum_b / w_b, (sum_all - sum_b) / w_f);
        let between = w_b * w_f * (m_b - m_f) * (m_b - m_f);
        if between > best {
            best = between;
            best_t = t as u8;
        }
    }
    best_t.saturating_add(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_bytes_are_an_error_and_blank_image_is_none() {
        assert!(decode_qr(b"not an image").is_err());
        let blank = DynamicImage::ImageLuma8(GrayImage::from_pixel(64, 64, image::Luma([255])));
        assert_eq!(decode_qr_image(&blank), None);
    }

    #[test]
    fn a_panic_in_the_decoder_is_contained_and_the_flag_cleared() {
        assert_eq!(
            quietly(|| -> Option<u8> { panic!("rqrr lost its grid") }),
            None
        );
        assert!(!IN_DECODER.with(Cell::get));
        assert_eq!(quietly(|| Some(7)), Some(7));
        // Outside the decoder a panic is still a panic.
        let outside = std::thread::spawn(|| panic!("not the decoder")).join();
        assert!(outside.is_err());
    }
}
