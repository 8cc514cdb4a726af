//! PSNR and SSIM against scikit-image's values (tests/data/metrics/vectors.json, made by
//! make_vectors.py there) on photo pairs and synthetic pairs.

#![cfg(not(target_arch = "wasm32"))]

mod common;

use image::RgbImage;
use mirl::metrics::{psnr, ssim};
use serde_json::Value;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/metrics");

fn load(path: &std::path::Path) -> image::DynamicImage {
    image::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The degraded crop: the clean crop of the shared photo plus the stored residual.
fn photo_pair(v: &Value) -> (RgbImage, RgbImage) {
    let photo = common::shared()
        .join("data/test/cbsd68")
        .join(v["photo"].as_str().unwrap());
    let c: Vec<u32> = v["crop"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as u32)
        .collect();
    let clean =
        image::imageops::crop_imm(&load(&photo).to_rgb8(), c[0], c[1], c[2], c[3]).to_image();
    let residual =
        load(&std::path::Path::new(DIR).join(v["residual"].as_str().unwrap())).to_luma16();
    let mut degraded = clean.clone();
    for (px, r) in degraded.iter_mut().zip(residual.iter()) {
        *px = (*px as i32 + *r as i32 - 32768) as u8;
    }
    (clean, degraded)
}

#[test]
fn psnr_and_ssim_equal_scikit_image() {
    let vectors: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(format!("{DIR}/vectors.json")).unwrap())
            .unwrap();
    assert!(vectors.len() >= 7);
    for v in &vectors {
        let (a, b) = if v.get("photo").is_some() {
            photo_pair(v)
        } else {
            let a = load(&std::path::Path::new(DIR).join(v["a"].as_str().unwrap())).to_rgb8();
            let b = load(&std::path::Path::new(DIR).join(v["b"].as_str().unwrap())).to_rgb8();
            (a, b)
        };
        let (p, s) = (psnr(&a, &b).unwrap(), ssim(&a, &b).unwrap());
        let (want_p, want_s) = (v["psnr"].as_f64().unwrap(), v["ssim"].as_f64().unwrap());
        println!(
            "{}: psnr {p:.6} (skimage {want_p:.6}), ssim {s:.6} (skimage {want_s:.6})",
            v.get("residual").or(v.get("a")).unwrap()
        );
        assert!((p - want_p).abs() < 1e-3, "psnr {p} vs {want_p}");
        assert!((s - want_s).abs() < 1e-4, "ssim {s} vs {want_s}");
    }
}

#[test]
fn identical_images_and_bad_pairs() {
    let a = RgbImage::from_fn(20, 10, |x, y| image::Rgb([x as u8 * 10, y as u8 * 20, 7]));
    assert_eq!(psnr(&a, &a).unwrap(), f64::INFINITY);
    assert!((ssim(&a, &a).unwrap() - 1.0).abs() < 1e-12);
    let b = RgbImage::new(10, 20);
    assert!(psnr(&a, &b)
        .unwrap_err()
        .to_string()
        .contains("differ in size"));
    let small = RgbImage::new(6, 6);
    assert!(ssim(&small, &small)
        .unwrap_err()
        .to_string()
        .contains("7x7"));
}
