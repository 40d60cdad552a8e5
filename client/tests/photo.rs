//! The capture pipeline on real camera files: orientation 0–8, metadata stripping, no upscaling.

use std::path::{Path, PathBuf};

use image::RgbImage;
use sha2::{Digest, Sha256};
use yijian_client::photo::{CaptureTime, ProcessedPhoto, process_photo};

fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/photos")
        .join(rel)
}

fn run(rel: &str) -> ProcessedPhoto {
    let bytes = std::fs::read(data(rel)).expect("read test photo");
    process_photo(&bytes).expect("process photo")
}

fn decode(jpeg: &[u8]) -> RgbImage {
    image::load_from_memory(jpeg)
        .expect("decode output")
        .into_rgb8()
}

/// Mean absolute difference per channel of two same-sized images.
fn mean_abs_diff(a: &RgbImage, b: &RgbImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions());
    let total: u64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(x, y)| u64::from(x.abs_diff(*y)))
        .sum();
    total as f64 / a.as_raw().len() as f64
}

/// True if the JPEG has an APP1 segment (EXIF or XMP) before the image data.
fn has_app1(jpeg: &[u8]) -> bool {
    let mut i = 2;
    while i + 4 <= jpeg.len() && jpeg[i] == 0xFF {
        let marker = jpeg[i + 1];
        if marker == 0xE1 {
            return true;
        }
        if marker == 0xDA {
            return false;
        }
        let len = usize::from(u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]]));
        i += 2 + len;
    }
    false
}

fn assert_stripped(p: &ProcessedPhoto) {
    assert!(!has_app1(&p.jpeg), "APP1 segment in output");
    assert!(!has_app1(&p.thumb), "APP1 segment in thumbnail");
    assert!(
        !p.jpeg.windows(6).any(|w| w == b"Exif\0\0"),
        "Exif marker bytes in output"
    );
    let found = exif::Reader::new().read_from_container(&mut std::io::Cursor::new(&p.jpeg));
    assert!(found.is_err(), "kamadak-exif found EXIF in the output");
}

#[test]
fn every_orientation_comes_out_upright_unmirrored_and_resized() {
    for (kind, w, h) in [("Landscape", 1600, 1067), ("Portrait", 1067, 1600)] {
        let reference = run(&format!("orientation/{kind}_1.jpg"));
        let ref_img = decode(&reference.jpeg);
        assert_eq!(ref_img.dimensions(), (w, h));
        for n in 0..=8 {
            let p = run(&format!("orientation/{kind}_{n}.jpg"));
            assert_eq!((p.width, p.height), (w, h), "{kind}_{n} dimensions");
            let img = decode(&p.jpeg);
            assert_eq!(img.dimensions(), (w, h), "{kind}_{n} decoded dimensions");
            let diff = mean_abs_diff(&img, &ref_img);
            assert!(diff < 8.0, "{kind}_{n} differs from _1 by {diff:.1}");
            let thumb = decode(&p.thumb);
            assert_eq!(
                thumb.width().max(thumb.height()),
                320,
                "{kind}_{n} thumbnail"
            );
            assert_stripped(&p);
            assert_eq!(p.taken_at, None, "{kind}_{n} has no capture time");
        }
        // The comparison can tell: a mirrored or half-turned picture is far from `_1`.
        let flipped = image::imageops::flip_horizontal(&ref_img);
        let wrong = mean_abs_diff(&flipped, &ref_img);
        assert!(wrong > 20.0, "{kind} mirror differs only by {wrong:.1}");
        let turned = image::imageops::rotate180(&ref_img);
        let wrong = mean_abs_diff(&turned, &ref_img);
        assert!(wrong > 20.0, "{kind} half turn differs only by {wrong:.1}");
    }
}

#[test]
fn small_gps_photo_is_not_enlarged_and_loses_its_gps() {
    let original = std::fs::read(data("nikon_p6000_gps_small.jpg")).expect("read");
    let exif = exif::Reader::new()
        .read_from_container(&mut std::io::Cursor::new(&original))
        .expect("the input has EXIF");
    assert!(
        exif.get_field(exif::Tag::GPSLatitude, exif::In::PRIMARY)
            .is_some(),
        "the input has GPS"
    );
    let p = process_photo(&original).expect("process");
    assert_eq!((p.width, p.height), (640, 480));
    assert_eq!(decode(&p.jpeg).dimensions(), (640, 480));
    assert_eq!(decode(&p.thumb).dimensions(), (320, 240));
    assert_stripped(&p);
    let taken = p.taken_at.expect("capture time kept");
    assert!(matches!(taken, CaptureTime::Local(_)));
    assert_eq!(taken.to_string(), "2008-10-22T16:28:39");
}

#[test]
fn sha256_names_the_output_bytes() {
    let p = run("orientation/Landscape_6.jpg");
    let digest = Sha256::digest(&p.jpeg);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(p.sha256, hex);
    assert_eq!(p.sha256.len(), 64);
    // Deterministic: the same input gives the same file name.
    assert_eq!(run("orientation/Landscape_6.jpg").sha256, p.sha256);
}

#[test]
fn not_a_photo_is_an_invalid_input_error() {
    let e = process_photo(b"definitely not a jpeg").expect_err("garbage rejected");
    assert_eq!(e.kind(), yijian_client::ErrorKind::Invalid);
    assert!(e.to_string().contains("照片"));
}
