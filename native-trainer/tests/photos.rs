//! Photos as people have them, through `restore`: turned by an EXIF Orientation tag, with a
//! colour profile and EXIF, and many at once in folders.

mod common;

use std::path::{Path, PathBuf};

use common::{cli, err, ok, shared};
use image::codecs::jpeg::JpegEncoder;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageEncoder, ImageReader, RgbImage};

/// An EXIF block (big-endian TIFF): Make "cam" and the Orientation tag `orientation`.
fn exif(orientation: u8) -> Vec<u8> {
    let mut b = b"MM\0\x2a\0\0\0\x08\0\x02".to_vec();
    // Make (0x010F), ASCII, 4 bytes, stored in the entry itself.
    b.extend_from_slice(&[0x01, 0x0f, 0, 2, 0, 0, 0, 4, b'c', b'a', b'm', 0]);
    // Orientation (0x0112), SHORT, 1 value, left in the entry's 4 bytes.
    b.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, orientation, 0, 0]);
    b.extend_from_slice(&[0, 0, 0, 0]);
    b
}

/// A stand-in colour profile: the bytes are carried, not interpreted.
const ICC: &[u8] = b"a colour profile's bytes, carried as they are";

/// `stored` as a JPEG file at `quality`, tagged with `orientation`, the profile and Make.
fn tagged_jpeg(stored: &RgbImage, quality: u8, orientation: u8) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut encoder = JpegEncoder::new_with_quality(&mut bytes, quality);
    encoder.set_icc_profile(ICC.to_vec()).unwrap();
    encoder.set_exif_metadata(exif(orientation)).unwrap();
    encoder
        .write_image(
            stored.as_raw(),
            stored.width(),
            stored.height(),
            image::ExtendedColorType::Rgb8,
        )
        .unwrap();
    bytes
}

/// A file's pixels as stored, its orientation, profile and EXIF.
fn read_back(path: &Path) -> (RgbImage, Orientation, Option<Vec<u8>>, Option<Vec<u8>>) {
    let mut decoder = ImageReader::open(path)
        .unwrap()
        .with_guessed_format()
        .unwrap()
        .into_decoder()
        .unwrap();
    let orientation = decoder.orientation().unwrap();
    let icc = decoder.icc_profile().unwrap();
    let exif = decoder.exif_metadata().unwrap();
    let image = DynamicImage::from_decoder(decoder).unwrap().to_rgb8();
    (image, orientation, icc, exif)
}

fn psnr(a: &RgbImage, b: &RgbImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions());
    let n = a.as_raw().len() as f64;
    let mse = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(&x, &y)| (x as f64 - y as f64).powi(2))
        .sum::<f64>()
        / n;
    10.0 * (255.0f64 * 255.0 / mse).log10()
}

fn turned(image: &RgbImage, orientation: u8) -> RgbImage {
    let mut image = DynamicImage::ImageRgb8(image.clone());
    image.apply_orientation(Orientation::from_exif(orientation).unwrap());
    image.to_rgb8()
}

/// A phone stores its photo on the sensor's grid and tags how to turn it. The restore works
/// on that grid (where the file's blocks lie) and writes the result upright, untagged, with
/// the profile and the rest of the EXIF: a turned photo gains what the unturned one gains.
#[test]
fn a_turned_jpeg_comes_back_upright_with_its_profile_and_the_same_gain() {
    let dir = tempfile::tempdir().unwrap();
    let photo = image::open(shared().join("data/test/cbsd68/101085.png"))
        .unwrap()
        .to_rgb8();
    // A multiple of 16 on both sides, and one that is a multiple of neither 8 nor 16.
    for (w, h) in [(160, 96), (101, 75)] {
        let sensor = image::imageops::crop_imm(&photo, 40, 30, w, h).to_image();
        let mut gains = Vec::new();
        for orientation in [1, 3, 6, 8] {
            let input = dir.path().join(format!("o{orientation}-{w}.jpg"));
            std::fs::write(&input, tagged_jpeg(&sensor, 30, orientation)).unwrap();
            let output = dir.path().join(format!("o{orientation}-{w}.png"));
            ok(&[&"restore", &input, &"-o", &output]);
            let (restored, tag, icc, exif) = read_back(&output);
            let (stored, ..) = read_back(&input);
            let upright = turned(&sensor, orientation);
            assert_eq!(restored.dimensions(), upright.dimensions(), "{orientation}");
            assert_eq!(
                tag,
                Orientation::NoTransforms,
                "the result is upright, untagged"
            );
            assert_eq!(icc.as_deref(), Some(ICC), "the profile is kept");
            let exif = exif.expect("the EXIF is kept");
            assert!(exif.windows(4).any(|w| w == b"cam\0"), "Make is kept");
            let gain = psnr(&upright, &restored) - psnr(&upright, &turned(&stored, orientation));
            println!("{w}x{h}, orientation {orientation}: {gain:+.3} dB");
            gains.push(gain);
        }
        assert!(gains[0] > 0.3, "quality 30 is restored: {gains:?}");
        for g in &gains {
            assert!((g - gains[0]).abs() <= 0.05, "{w}x{h}: {gains:?}");
        }
    }
}

/// `metrics` and `degrade` read a photo as it is shown, as viewers do.
#[test]
fn photos_are_scored_as_they_are_shown() {
    let dir = tempfile::tempdir().unwrap();
    let sensor = RgbImage::from_fn(48, 32, |x, y| {
        image::Rgb([(x * 5) as u8, (y * 7) as u8, 90])
    });
    let turned_file = dir.path().join("turned.jpg");
    std::fs::write(&turned_file, tagged_jpeg(&sensor, 95, 6)).unwrap();
    let upright = dir.path().join("upright.png");
    turned(&sensor, 6).save(&upright).unwrap();
    let out = ok(&[&"metrics", &upright, &turned_file, &"--json"]);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert!(v["psnr"].as_f64().unwrap() > 35.0, "{v}");
}

/// Every photo of a folder, skipping the outputs that exist, and a photo that fails reported
/// while the others are still done.
#[test]
fn a_folder_of_photos_is_restored_into_a_folder() {
    let dir = tempfile::tempdir().unwrap();
    let photos = dir.path().join("photos");
    std::fs::create_dir(&photos).unwrap();
    let photo = image::open(shared().join("data/test/cbsd68/101085.png"))
        .unwrap()
        .to_rgb8();
    let crop = |x| image::imageops::crop_imm(&photo, x, 0, 96, 64).to_image();
    std::fs::write(photos.join("a.jpg"), tagged_jpeg(&crop(0), 20, 6)).unwrap();
    // A name with dots keeps all of them.
    crop(200).save(photos.join("IMG.2024.png")).unwrap();
    crop(100).save(photos.join("b.png")).unwrap();
    std::fs::write(photos.join("c.jpg"), b"not a photo").unwrap();
    std::fs::write(photos.join("notes.txt"), b"not an image name").unwrap();
    let out = dir.path().join("restored");

    let run = cli(&[
        &"restore",
        &photos,
        &"-o",
        &out,
        &"--format",
        &"jpg",
        &"--quality",
        &"90",
    ]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr),
    );
    assert_eq!(run.status.code(), Some(2), "a photo failed: {stdout}");
    assert!(stderr.contains("c.jpg"), "the failure is named: {stderr}");
    assert!(
        stdout.contains("4 photos") && stdout.contains("1 failed"),
        "the summary: {stdout}"
    );
    assert!(
        stdout.contains("jpeg from 1"),
        "the summary says what was removed: {stdout}"
    );
    let (a, tag, icc, _) = read_back(&out.join("a.jpg"));
    assert_eq!(
        (a.width(), a.height(), tag),
        (64, 96, Orientation::NoTransforms)
    );
    assert_eq!(icc.as_deref(), Some(ICC));
    assert!(out.join("b.jpg").exists() && !out.join("c.jpg").exists());
    assert!(out.join("IMG.2024.jpg").exists());
    assert!(!out.join("notes.jpg").exists());

    // Again: the outputs exist and are kept, unless asked.
    let before = std::fs::read(out.join("a.jpg")).unwrap();
    std::fs::write(out.join("a.jpg"), b"kept").unwrap();
    std::fs::remove_file(photos.join("c.jpg")).unwrap();
    let stdout = ok(&[&"restore", &photos, &"-o", &out, &"--format", &"jpg"]);
    assert!(stdout.contains("3 skipped"), "{stdout}");
    assert_eq!(std::fs::read(out.join("a.jpg")).unwrap(), b"kept");
    let stdout = ok(&[
        &"restore",
        &photos.join("a.jpg"),
        &photos.join("b.png"),
        &"-o",
        &out,
        &"--format",
        &"jpg",
        &"--quality",
        &"90",
        &"--overwrite",
    ]);
    assert!(
        stdout.contains("2 photos") && stdout.contains("0 skipped"),
        "{stdout}"
    );
    assert_eq!(
        std::fs::read(out.join("a.jpg")).unwrap(),
        before,
        "the same result again"
    );
}

/// What cannot be done is refused before any photo is restored or written.
#[test]
fn batch_mistakes_are_refused_first() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.png"), dir.path().join("sub/a.jpg"));
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    let photo = RgbImage::from_pixel(16, 16, image::Rgb([9, 9, 9]));
    photo.save(&a).unwrap();
    photo.save(&b).unwrap();
    let out: PathBuf = dir.path().join("out");
    let msg = err(&[&"restore", &a, &b, &"-o", &out]);
    assert!(msg.contains("would both be written to"), "{msg}");
    let file = dir.path().join("file.png");
    std::fs::write(&file, b"x").unwrap();
    let msg = err(&[&"restore", &a, &b, &"-o", &file]);
    assert!(msg.contains("is a file"), "{msg}");
    let msg = err(&[
        &"restore",
        &a,
        &"-o",
        &dir.path().join("x.png"),
        &"--format",
        &"jpg",
    ]);
    assert!(msg.contains("--format names the format"), "{msg}");
    let msg = err(&[
        &"restore",
        &a,
        &"-o",
        &dir.path().join("x.webp"),
        &"--quality",
        &"80",
    ]);
    assert!(msg.contains("lossless"), "{msg}");
    let msg = err(&[&"restore", &a, &"-o", &dir.path().join("x.gif")]);
    assert!(msg.contains("output format"), "{msg}");
    let msg = err(&[
        &"restore",
        &a,
        &b,
        &"-o",
        &out,
        &"--before-after",
        &dir.path().join("p.png"),
    ]);
    assert!(
        msg.contains("one photo restored into a named file"),
        "{msg}"
    );
    assert!(!dir.path().join("x.png").exists());
    // A profile is not silently dropped: BMP keeps none.
    let jpeg = dir.path().join("profiled.jpg");
    std::fs::write(&jpeg, tagged_jpeg(&photo, 90, 1)).unwrap();
    let msg = err(&[&"restore", &jpeg, &"-o", &dir.path().join("p.bmp")]);
    assert!(msg.contains("BMP keeps neither"), "{msg}");
}
