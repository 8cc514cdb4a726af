//! The degradations' statistics: noise level, JPEG quality ordering, rain and haze effects,
//! determinism, and the names users type.

#![cfg(not(target_arch = "wasm32"))]

use image::RgbImage;
use mirl::degrade::{depth_map, haze_with, Degradation};
use mirl::metrics::psnr;

fn photo() -> RgbImage {
    // A smooth, textured synthetic photo: gradients plus a few edges.
    RgbImage::from_fn(160, 120, |x, y| {
        let edge = if (x / 20 + y / 20) % 2 == 0 {
            40.0
        } else {
            0.0
        };
        let f = |a: f32| (a + edge).clamp(0.0, 255.0) as u8;
        image::Rgb([
            f(x as f32 * 1.2 + 30.0),
            f(y as f32 * 1.5 + 20.0),
            f(((x + y) as f32 * 0.6) + 50.0),
        ])
    })
}

fn kind(s: &str) -> Degradation {
    s.parse().unwrap()
}

#[test]
fn noise_has_the_requested_sigma() {
    let grey = RgbImage::from_pixel(256, 256, image::Rgb([128, 128, 128]));
    for sigma in [15.0f64, 25.0, 50.0] {
        let out = kind(&format!("noise:{sigma}")).apply(&grey, 1).unwrap();
        let n = out.len() as f64;
        // Truncation to 8 bits shifts the mean by -0.5; the spread is what we measure.
        let mean = out.iter().map(|&v| v as f64).sum::<f64>() / n;
        let std = (out.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n).sqrt();
        println!("sigma {sigma}: measured {std:.3}, mean {mean:.3}");
        if sigma <= 25.0 {
            assert!((std - sigma).abs() < 0.5, "sigma {sigma}: {std}");
        }
        assert!((mean - 127.5).abs() < 0.5);
    }
}

#[test]
fn lower_jpeg_quality_loses_more() {
    let img = photo();
    let q10 = psnr(&img, &kind("jpeg:10").apply(&img, 0).unwrap()).unwrap();
    let q50 = psnr(&img, &kind("jpeg:50").apply(&img, 0).unwrap()).unwrap();
    let q90 = psnr(&img, &kind("jpeg:90").apply(&img, 0).unwrap()).unwrap();
    println!("jpeg psnr q10 {q10:.2}, q50 {q50:.2}, q90 {q90:.2}");
    assert!(q10 < q50 && q50 < q90, "{q10} {q50} {q90}");
    // A re-shared image (second compression) loses more than one compression.
    let once = psnr(&img, &kind("osn:30").apply(&img, 0).unwrap()).unwrap();
    let twice = psnr(&img, &kind("osn:30:20").apply(&img, 0).unwrap()).unwrap();
    assert!(twice < once);
}

#[test]
fn osn_shrinks_large_images() {
    let big = RgbImage::from_pixel(3000, 1000, image::Rgb([10, 200, 30]));
    let out = kind("osn:50").apply(&big, 3).unwrap();
    assert_eq!(out.dimensions(), (2048, 683));
}

#[test]
fn rain_adds_bright_streaks() {
    let img = RgbImage::from_pixel(200, 150, image::Rgb([60, 70, 80]));
    let out = kind("rain").apply(&img, 5).unwrap();
    let changed = out
        .pixels()
        .zip(img.pixels())
        .filter(|(a, b)| a != b)
        .count() as f64
        / (200.0 * 150.0);
    let darker = out.iter().zip(img.iter()).any(|(a, b)| a < b);
    println!("rain covers {:.1}% of pixels", changed * 100.0);
    assert!(!darker, "rain only brightens");
    assert!(changed > 0.02 && changed < 0.6, "{changed}");
}

#[test]
fn haze_lowers_contrast_monotonically_with_beta() {
    let img = photo();
    let depth = depth_map(160, 120, &mut rand_pcg::Pcg64Mcg::new(9));
    let contrast = |im: &RgbImage| {
        let v: Vec<f64> = im.iter().map(|&x| x as f64).collect();
        let m = v.iter().sum::<f64>() / v.len() as f64;
        (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len() as f64).sqrt()
    };
    let mut last = contrast(&img);
    for beta in [0.5, 1.0, 1.5, 2.0, 3.0] {
        let c = contrast(&haze_with(&img, beta, 0.9, &depth));
        assert!(c < last, "beta {beta}: contrast {c} not below {last}");
        last = c;
    }
    let d = depth_map(50, 40, &mut rand_pcg::Pcg64Mcg::new(1));
    assert!(d.iter().all(|v| (0.0..=1.0).contains(v)));
    // Smooth: neighbouring depths differ little.
    assert!(d.windows(2).filter(|w| (w[0] - w[1]).abs() > 0.2).count() < 40);
}

#[test]
fn same_seed_same_result_other_seed_other_result() {
    let img = photo();
    for k in ["noise", "osn", "rain", "haze", "noise:25+jpeg:40"] {
        let a = kind(k).apply(&img, 11).unwrap();
        assert_eq!(a, kind(k).apply(&img, 11).unwrap(), "{k}");
        if k != "osn" {
            assert_ne!(a, kind(k).apply(&img, 12).unwrap(), "{k}");
        }
    }
}

#[test]
fn names_round_trip_and_bad_names_are_explained() {
    for s in [
        "noise",
        "noise:25",
        "jpeg:20",
        "osn",
        "osn:30",
        "osn:30:50",
        "osn:reshare",
        "osn:x0.8:70",
        "osn:max1080:85fp:shift3-5:75p",
        "osn:92f",
        "rain",
        "haze",
        "clean",
        "noise:25+jpeg:40",
    ] {
        assert_eq!(kind(s).to_string(), s);
    }
    assert_eq!(kind("clean").apply(&photo(), 3).unwrap(), photo());
    for (s, expect) in [
        ("blur", "unknown degradation"),
        ("jpeg:5", "outside 10..=95"),
        ("jpeg", "needs a quality"),
        ("noise:-3", "outside (0, 100]"),
        ("noise:abc", "not a number"),
        ("rain:3", "too many"),
        ("osn:x0.8", "compress nothing"),
        ("osn:x2:70", "outside 0.25..=1"),
        ("osn:shift9-1:70", "0 to 7 pixels"),
        ("osn:70q", "unknown step"),
        ("osn:bigshare", "unknown step"),
        ("osn:max8:70", "outside 16..=65535"),
    ] {
        let msg = s.parse::<Degradation>().unwrap_err().to_string();
        assert!(msg.contains(expect), "{s}: {msg}");
    }
    let empty = RgbImage::new(0, 0);
    assert!(kind("rain").apply(&empty, 0).is_err());
}

/// What a social network delivers: the reference is the clean photo taken through the same
/// resize and crop, the last compression's file comes along, and a re-share's grid no longer
/// lines up with the first one.
#[test]
fn osn_profiles_keep_a_reference_of_their_size_and_the_file() {
    use mirl::jpeg_file::JpegFile;
    let img = photo();
    let messenger = kind("osn:messenger").degrade(&img, 0).unwrap();
    assert_eq!(messenger.image.dimensions(), (128, 96));
    assert_eq!(messenger.reference.dimensions(), (128, 96));
    let file = JpegFile::read(messenger.file.as_ref().unwrap()).unwrap();
    assert_eq!(
        (file.quality, file.full_chroma, file.progressive),
        (70, false, false)
    );
    // Against its own reference the delivery is a JPEG at 70: close, not equal.
    let p = psnr(&messenger.reference, &messenger.image).unwrap();
    assert!(p > 25.0 && p < 45.0, "{p}");

    let recrop = kind("osn:recrop").degrade(&img, 0).unwrap();
    assert_eq!(recrop.image.dimensions(), (157, 115));
    assert_eq!(
        recrop.reference,
        image::imageops::crop_imm(&img, 3, 5, 157, 115).to_image()
    );
    let file = JpegFile::read(recrop.file.as_ref().unwrap()).unwrap();
    assert_eq!((file.quality, file.progressive), (80, false));

    let kept = JpegFile::read(
        &kind("osn:upload444")
            .degrade(&img, 0)
            .unwrap()
            .file
            .unwrap(),
    )
    .unwrap();
    assert!(kept.full_chroma && kept.progressive && kept.quality == 92);
    // Degradations that end in pixels carry no file; a photo too small to crop is refused.
    assert!(kind("jpeg:30+noise:5")
        .degrade(&img, 0)
        .unwrap()
        .file
        .is_none());
    let tiny = RgbImage::from_pixel(4, 4, image::Rgb([1, 2, 3]));
    let err = kind("osn:shift5-5:70")
        .degrade(&tiny, 0)
        .unwrap_err()
        .to_string();
    assert!(err.contains("too small to crop"), "{err}");
}

/// The training family draws over the whole range: low and high qualities, 4:4:4, resizes
/// and re-shares, never shrinking a crop below half its side.
#[test]
fn the_drawn_family_covers_what_networks_do() {
    use mirl::degrade::osn::{Osn, Step};
    use rand::SeedableRng;
    let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(1);
    let (mut low, mut high, mut full, mut scaled, mut shifted, mut twice) = (0, 0, 0, 0, 0, 0);
    for _ in 0..2000 {
        let steps = Osn::draw(&mut rng);
        let jpegs: Vec<_> = steps
            .iter()
            .filter_map(|s| {
                if let Step::Jpeg(j) = s {
                    Some(*j)
                } else {
                    None
                }
            })
            .collect();
        low += jpegs.iter().filter(|j| j.quality < 60).count();
        high += jpegs.iter().filter(|j| j.quality > 60).count();
        full += jpegs.iter().filter(|j| j.full_chroma).count();
        twice += (jpegs.len() == 2) as usize;
        let scale: f32 = steps
            .iter()
            .map(|s| if let Step::Scale(f) = s { *f } else { 1.0 })
            .product();
        assert!(scale >= 0.5, "{steps:?}");
        scaled += (scale < 1.0) as usize;
        shifted += steps.iter().any(|s| matches!(s, Step::Shift(..))) as usize;
    }
    for (what, n) in [
        ("low", low),
        ("high", high),
        ("4:4:4", full),
        ("scaled", scaled),
        ("shifted", shifted),
        ("re-shared", twice),
    ] {
        assert!(n > 200, "{what}: {n} of 2000");
    }
}
