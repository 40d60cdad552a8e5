//! The photo pipeline run once, on the phone, when a worker takes a photo.
//!
//! Camera JPEGs are 3–5 MB, carry the GPS position and camera details in EXIF, and are often
//! stored sideways with an EXIF *orientation* tag that says how to turn them for display. What
//! the app keeps and uploads is instead:
//!
//! * the picture turned upright (orientation 1–8 applied; 0 or absent means 1), so every viewer
//!   shows it the same way without reading metadata;
//! * **no metadata at all** (no EXIF, no GPS, no ICC profile, no maker notes): the output is a
//!   fresh baseline JPEG with only the JFIF header. The one fact the record needs, the capture
//!   time, is returned separately as [`CaptureTime`];
//! * at most [`MAX_LONG_SIDE`] px on the long side (smaller photos are never enlarged), JPEG
//!   quality [`JPEG_QUALITY`], typically 250–500 KB for a 12 MP photo;
//! * a [`THUMB_LONG_SIDE`] px thumbnail for lists;
//! * the SHA-256 of the main JPEG, which names the file and deduplicates uploads.
//!
//! Speed matters on cheap phones, so the decode asks the JPEG decoder for a DCT-scaled image
//! (1/2, 1/4 or 1/8 size straight out of the inverse DCT, never smaller than the target), then
//! `fast_image_resize` does the final step with SIMD, and orientation is applied to the small
//! image. Inputs the scaled decoder rejects (and PNGs) fall back to the `image` crate.

use std::fmt;
use std::io::Cursor;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, Utc};
use fast_image_resize as fr;
use image::{DynamicImage, RgbImage, metadata::Orientation};
use serde::{Serialize, Serializer};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// Longest side of the stored photo, in pixels.
pub const MAX_LONG_SIDE: u32 = 1600;
/// Longest side of the thumbnail, in pixels.
pub const THUMB_LONG_SIDE: u32 = 320;
/// JPEG quality (1–100) of the stored photo and the thumbnail.
pub const JPEG_QUALITY: u8 = 80;

/// When the photo was taken, from EXIF `DateTimeOriginal`.
///
/// Cameras record their local wall-clock time; only newer ones add `OffsetTimeOriginal`. With
/// the offset the instant is known and kept in UTC; without it the value is the camera's local
/// time and must not be presented as UTC (in practice it is China time, UTC+8, but a phone with
/// a wrong zone setting exists too).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptureTime {
    /// `DateTimeOriginal` + `OffsetTimeOriginal`: an exact instant.
    Utc(DateTime<Utc>),
    /// `DateTimeOriginal` alone: the camera's local wall-clock time, zone unknown.
    Local(NaiveDateTime),
}

/// RFC 3339 with `Z` for [`CaptureTime::Utc`]; without any zone (`2018-07-25T16:34:23`) for
/// [`CaptureTime::Local`], so a reader cannot mistake local time for UTC.
impl fmt::Display for CaptureTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CaptureTime::Utc(t) => write!(f, "{}", t.format("%Y-%m-%dT%H:%M:%SZ")),
            CaptureTime::Local(t) => write!(f, "{}", t.format("%Y-%m-%dT%H:%M:%S")),
        }
    }
}

impl Serialize for CaptureTime {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The result of [`process_photo`].
#[derive(Clone, PartialEq, Eq)]
pub struct ProcessedPhoto {
    /// The upright, metadata-free JPEG to store and upload.
    pub jpeg: Vec<u8>,
    /// The thumbnail JPEG (long side ≤ [`THUMB_LONG_SIDE`]).
    pub thumb: Vec<u8>,
    /// Lower-case hex SHA-256 of [`jpeg`](Self::jpeg).
    pub sha256: String,
    /// Displayed (upright) width of `jpeg`.
    pub width: u32,
    /// Displayed (upright) height of `jpeg`.
    pub height: u32,
    /// Capture time from EXIF, if the camera wrote a readable one.
    pub taken_at: Option<CaptureTime>,
}

impl fmt::Debug for ProcessedPhoto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProcessedPhoto")
            .field("jpeg", &format_args!("{} bytes", self.jpeg.len()))
            .field("thumb", &format_args!("{} bytes", self.thumb.len()))
            .field("sha256", &self.sha256)
            .field("width", &self.width)
            .field("height", &self.height)
            .field("taken_at", &self.taken_at)
            .finish()
    }
}

/// What the pipeline reads from EXIF before the metadata is dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ExifFacts {
    /// EXIF orientation 1–8 (anything else is treated as 1).
    orientation: u8,
    taken_at: Option<CaptureTime>,
}

fn read_exif(bytes: &[u8]) -> ExifFacts {
    let mut facts = ExifFacts {
        orientation: 1,
        taken_at: None,
    };
    // A photo with broken or no EXIF is still a photo: keep the defaults.
    let Ok(exif) = exif::Reader::new().read_from_container(&mut Cursor::new(bytes)) else {
        return facts;
    };
    if let Some(o) = exif
        .get_field(exif::Tag::Orientation, exif::In::PRIMARY)
        .and_then(|f| f.value.get_uint(0))
        && (1..=8).contains(&o)
    {
        facts.orientation = o as u8;
    }
    let ascii = |tag| match exif.get_field(tag, exif::In::PRIMARY).map(|f| &f.value) {
        Some(exif::Value::Ascii(v)) => v.first().cloned(),
        _ => None,
    };
    if let Some(raw) = ascii(exif::Tag::DateTimeOriginal)
        && let Ok(mut dt) = exif::DateTime::from_ascii(&raw)
    {
        if let Some(off) = ascii(exif::Tag::OffsetTimeOriginal) {
            // An unparsable offset leaves `dt.offset` at None: local time, not an error.
            let _ = dt.parse_offset(&off);
        }
        facts.taken_at = capture_time(&dt);
    }
    facts
}

fn capture_time(dt: &exif::DateTime) -> Option<CaptureTime> {
    let naive = NaiveDate::from_ymd_opt(dt.year.into(), dt.month.into(), dt.day.into())?
        .and_hms_opt(dt.hour.into(), dt.minute.into(), dt.second.into())?;
    Some(match dt.offset {
        Some(minutes) => {
            let offset = FixedOffset::east_opt(i32::from(minutes) * 60)?;
            CaptureTime::Utc(
                naive
                    .and_local_timezone(offset)
                    .single()?
                    .with_timezone(&Utc),
            )
        }
        None => CaptureTime::Local(naive),
    })
}

/// `(w, h)` scaled so that the long side is at most `max_long` (never enlarged), rounding to
/// the nearest pixel and never below 1.
pub fn fit_within(w: u32, h: u32, max_long: u32) -> (u32, u32) {
    let long = w.max(h);
    if long <= max_long {
        return (w, h);
    }
    let scale = |side: u32| {
        ((u64::from(side) * u64::from(max_long) + u64::from(long) / 2) / u64::from(long)).max(1)
            as u32
    };
    (scale(w), scale(h))
}

/// Decodes to RGB8 at a size whose long side is at least `min_long` where the JPEG's DCT scaling
/// allows (the result may be larger than `min_long`, never smaller unless the photo is).
fn decode_rgb(bytes: &[u8], min_long: u32) -> Result<RgbImage> {
    match decode_scaled_jpeg(bytes, min_long) {
        Ok(img) => Ok(img),
        Err(jpeg_err) => image::load_from_memory(bytes)
            .map(|i| i.into_rgb8())
            .map_err(|e| Error::Photo(format!("{jpeg_err}; {e}"))),
    }
}

fn decode_scaled_jpeg(bytes: &[u8], min_long: u32) -> std::result::Result<RgbImage, String> {
    let mut dec = jpeg_decoder::Decoder::new(Cursor::new(bytes));
    dec.read_info().map_err(|e| e.to_string())?;
    let info = dec.info().ok_or("no JPEG header")?;
    let (fw, fh) = (u32::from(info.width), u32::from(info.height));
    let (mut w, mut h) = (fw, fh);
    if fw.max(fh) > min_long {
        let want = u16::try_from(min_long).unwrap_or(u16::MAX);
        // The decoder takes the smallest scale where *either* side reaches the request, so ask
        // only for the long side.
        (w, h) = if fw >= fh {
            dec.scale(want, u16::MAX)
        } else {
            dec.scale(u16::MAX, want)
        }
        .map(|(w, h)| (u32::from(w), u32::from(h)))
        .map_err(|e| e.to_string())?;
    }
    let pixels = dec.decode().map_err(|e| e.to_string())?;
    let rgb = match info.pixel_format {
        jpeg_decoder::PixelFormat::RGB24 => pixels,
        jpeg_decoder::PixelFormat::L8 => pixels.iter().flat_map(|&l| [l, l, l]).collect(),
        jpeg_decoder::PixelFormat::L16 => pixels
            .chunks_exact(2)
            .flat_map(|c| [c[0], c[0], c[0]])
            .collect(),
        // Naive CMYK→RGB; CMYK JPEGs come from scanners/print tools, not phone cameras.
        jpeg_decoder::PixelFormat::CMYK32 => pixels
            .chunks_exact(4)
            .flat_map(|c| {
                let k = u16::from(c[3]);
                [0, 1, 2].map(|i| ((u16::from(c[i]) * k) / 255) as u8)
            })
            .collect(),
    };
    RgbImage::from_raw(w, h, rgb).ok_or_else(|| "decoded size mismatch".to_string())
}

fn resize_rgb(src: &RgbImage, w: u32, h: u32) -> Result<RgbImage> {
    if src.dimensions() == (w, h) {
        return Ok(src.clone());
    }
    let photo_err = |e: &dyn fmt::Display| Error::Photo(e.to_string());
    let src_view =
        fr::images::ImageRef::new(src.width(), src.height(), src.as_raw(), fr::PixelType::U8x3)
            .map_err(|e| photo_err(&e))?;
    let mut dst = fr::images::Image::new(w, h, fr::PixelType::U8x3);
    let options =
        fr::ResizeOptions::new().resize_alg(fr::ResizeAlg::Convolution(fr::FilterType::Bilinear));
    fr::Resizer::new()
        .resize(&src_view, &mut dst, &options)
        .map_err(|e| photo_err(&e))?;
    RgbImage::from_raw(w, h, dst.into_vec()).ok_or_else(|| Error::Photo("resize".into()))
}

fn encode_jpeg(img: &RgbImage) -> Result<Vec<u8>> {
    let too_big = || Error::Photo("图片尺寸过大".into());
    let w = u16::try_from(img.width()).map_err(|_| too_big())?;
    let h = u16::try_from(img.height()).map_err(|_| too_big())?;
    let mut out = Vec::with_capacity(img.as_raw().len() / 8);
    jpeg_encoder::Encoder::new(&mut out, JPEG_QUALITY)
        .encode(img.as_raw(), w, h, jpeg_encoder::ColorType::Rgb)
        .map_err(|e| Error::Photo(e.to_string()))?;
    Ok(out)
}

/// Runs the whole capture pipeline on the bytes of a camera JPEG (PNG and other formats the
/// `image` crate reads are accepted too, without the fast path).
pub fn process_photo(bytes: &[u8]) -> Result<ProcessedPhoto> {
    let facts = read_exif(bytes);
    let orientation =
        Orientation::from_exif(facts.orientation).unwrap_or(Orientation::NoTransforms);
    let decoded = decode_rgb(bytes, MAX_LONG_SIDE)?;
    // Orientation does not change the long side, so fit in stored (sideways) coordinates and
    // turn the small image afterwards.
    let (w, h) = fit_within(decoded.width(), decoded.height(), MAX_LONG_SIDE);
    let main = resize_rgb(&decoded, w, h)?;
    drop(decoded);
    let mut upright = DynamicImage::ImageRgb8(main);
    upright.apply_orientation(orientation);
    let upright = upright.into_rgb8();
    let (tw, th) = fit_within(upright.width(), upright.height(), THUMB_LONG_SIDE);
    let thumb = encode_jpeg(&resize_rgb(&upright, tw, th)?)?;
    let jpeg = encode_jpeg(&upright)?;
    let sha256 = hex_sha256(&jpeg);
    Ok(ProcessedPhoto {
        width: upright.width(),
        height: upright.height(),
        jpeg,
        thumb,
        sha256,
        taken_at: facts.taken_at,
    })
}

fn hex_sha256(bytes: &[u8]) -> String {
    use std::fmt::Write;
    Sha256::digest(bytes)
        .iter()
        .fold(String::with_capacity(64), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_within_rounds_and_never_enlarges() {
        assert_eq!(fit_within(1800, 1200, 1600), (1600, 1067));
        assert_eq!(fit_within(1200, 1800, 1600), (1067, 1600));
        assert_eq!(fit_within(640, 480, 1600), (640, 480));
        assert_eq!(fit_within(4000, 3000, 320), (320, 240));
        assert_eq!(fit_within(10000, 1, 1600), (1600, 1));
    }

    #[test]
    fn capture_time_with_and_without_offset() {
        let mut dt = exif::DateTime::from_ascii(b"2022:08:14 14:12:31").expect("parse");
        let local = capture_time(&dt).expect("valid");
        assert_eq!(local.to_string(), "2022-08-14T14:12:31");
        dt.parse_offset(b"+03:00").expect("offset");
        let utc = capture_time(&dt).expect("valid");
        assert_eq!(utc.to_string(), "2022-08-14T11:12:31Z");
    }
}
