//! What social networks do to a photo: resize it, compress it as JPEG (4:2:0 or 4:4:4,
//! baseline or progressive), and, when it is re-shared, resize or crop it and compress it again
//! on a grid that no longer lines up with the first.
//!
//! A process is written as steps joined by `:` after `osn` (`osn:max2048:85p:x0.8:75`):
//! - `Q` a JPEG at quality Q (10..=95), 4:2:0; `Qf` keeps full chroma (4:4:4), `Qp` is
//!   progressive, `Qfp` both;
//! - `maxN` shrinks the long side to at most N pixels (networks deliver 1080 to 2048);
//! - `xS` resizes by S (0.25..=1), `shiftDX-DY` crops DX, DY pixels off the top left
//!   (0..=7): either moves the grid of the next compression against the last one.
//!
//! Named profiles stand for the processes photos go through (PROFILES); `osn` alone draws one
//! from the training family ([`Osn::draw`]).

use std::fmt;

use image::{imageops, RgbImage};
use rand::RngExt;
use rand_pcg::Pcg64Mcg;

use super::{bad, parse_quality, Degraded};
use crate::error::{Error, Result};

/// Long side networks shrink uploads to (the largest of 1080 to 2048 in use).
pub const OSN_MAX_SIDE: u32 = 2048;
/// Qualities of the training family: heavy recompression (10..=60, the LIVE1 benchmarks' range)
/// and what networks deliver today (60..=95), drawn half and half.
pub const OSN_LOW_QUALITY: std::ops::RangeInclusive<u8> = 10..=60;
pub const OSN_HIGH_QUALITY: std::ops::RangeInclusive<u8> = 60..=95;
/// Resizes of the training family (a re-share at a smaller size, or an upload scaled down).
pub const OSN_SCALE: std::ops::Range<f32> = 0.5..0.95;

/// The realistic profiles: name, process, and what it stands for.
pub const PROFILES: [(&str, &str, &str); 5] = [
    (
        "upload",
        "max2048:85p",
        "a first upload: long side 2048, quality 85, 4:2:0, progressive",
    ),
    (
        "upload444",
        "max2048:92fp",
        "a network that keeps full chroma: quality 92, 4:4:4, progressive",
    ),
    (
        "messenger",
        "x0.8:70",
        "a messenger: scaled down, quality 70",
    ),
    (
        "reshare",
        "max2048:85p:x0.8:75p",
        "a re-share: the upload scaled down and compressed again at 75 (grids not aligned)",
    ),
    (
        "recrop",
        "max2048:85p:shift3-5:80",
        "a re-share of a crop: the grid moved by (3, 5), compressed again at 80",
    ),
];

/// How one JPEG compression is made.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JpegSettings {
    pub quality: u8,
    /// 4:4:4 instead of 4:2:0.
    pub full_chroma: bool,
    pub progressive: bool,
}

impl JpegSettings {
    /// Baseline 4:2:0, the common case.
    pub fn new(quality: u8) -> Self {
        Self {
            quality,
            full_chroma: false,
            progressive: false,
        }
    }

    /// Encodes `img` as a JPEG file.
    pub fn encode(&self, img: &RgbImage) -> Result<Vec<u8>> {
        let (w, h) = (img.width(), img.height());
        if w > u16::MAX as u32 || h > u16::MAX as u32 {
            return Err(bad(format!(
                "{w}x{h} is too large for JPEG (65535 pixels a side at most)"
            )));
        }
        let mut buf = Vec::new();
        let mut encoder = jpeg_encoder::Encoder::new(&mut buf, self.quality);
        encoder.set_sampling_factor(if self.full_chroma {
            jpeg_encoder::SamplingFactor::R_4_4_4
        } else {
            jpeg_encoder::SamplingFactor::R_4_2_0
        });
        encoder.set_progressive(self.progressive);
        encoder
            .encode(
                img.as_raw(),
                w as u16,
                h as u16,
                jpeg_encoder::ColorType::Rgb,
            )
            .map_err(|e| Error::image("JPEG encoding failed", e))?;
        Ok(buf)
    }
}

impl fmt::Display for JpegSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.quality)?;
        if self.full_chroma {
            write!(f, "f")?;
        }
        if self.progressive {
            write!(f, "p")?;
        }
        Ok(())
    }
}

/// Decodes a JPEG file to RGB.
pub fn decode(file: &[u8]) -> Result<RgbImage> {
    Ok(
        image::load_from_memory_with_format(file, image::ImageFormat::Jpeg)
            .map_err(|e| Error::image("JPEG decoding failed", e))?
            .to_rgb8(),
    )
}

/// One step of a network's processing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Step {
    Jpeg(JpegSettings),
    /// Shrink so that the long side is at most this.
    MaxSide(u32),
    /// Resize by this factor.
    Scale(f32),
    /// Crop this many pixels off the left and the top.
    Shift(u32, u32),
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Jpeg(j) => write!(f, "{j}"),
            Step::MaxSide(n) => write!(f, "max{n}"),
            Step::Scale(s) => write!(f, "x{s}"),
            Step::Shift(dx, dy) => write!(f, "shift{dx}-{dy}"),
        }
    }
}

impl Step {
    fn parse(s: &str) -> Result<Self> {
        let number = |t: &str, what: &str| -> Result<f32> {
            t.parse::<f32>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| bad(format!("osn: {what} {t:?} is not a number")))
        };
        if let Some(n) = s.strip_prefix("max") {
            let n = number(n, "long side")?;
            if !(16.0..=65535.0).contains(&n) || n.fract() != 0.0 {
                return Err(bad(format!("osn: long side {n} is outside 16..=65535")));
            }
            return Ok(Step::MaxSide(n as u32));
        }
        if let Some(f) = s.strip_prefix('x') {
            let f = number(f, "scale")?;
            if !(0.25..=1.0).contains(&f) {
                return Err(bad(format!("osn: scale {f} is outside 0.25..=1")));
            }
            return Ok(Step::Scale(f));
        }
        if let Some(d) = s.strip_prefix("shift") {
            let (dx, dy) = d
                .split_once('-')
                .ok_or_else(|| bad(format!("osn: {s:?} should read shiftDX-DY, e.g. shift3-5")))?;
            let (dx, dy) = (number(dx, "shift")?, number(dy, "shift")?);
            if !(0.0..=7.0).contains(&dx)
                || !(0.0..=7.0).contains(&dy)
                || dx.fract() != 0.0
                || dy.fract() != 0.0
            {
                return Err(bad(format!("osn: a shift is 0 to 7 pixels, not {s:?}")));
            }
            return Ok(Step::Shift(dx as u32, dy as u32));
        }
        let digits = s.trim_end_matches(['f', 'p']);
        let flags = &s[digits.len()..];
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || flags.len() > 2 {
            return Err(bad(format!(
                "osn: unknown step {s:?} (known: Q, Qf, Qp, Qfp, maxN, xS, shiftDX-DY, or a profile: {})",
                PROFILES.map(|p| p.0).join(", ")
            )));
        }
        Ok(Step::Jpeg(JpegSettings {
            quality: parse_quality(digits, "osn")?,
            full_chroma: flags.contains('f'),
            progressive: flags.contains('p'),
        }))
    }
}

/// A social network's processing: a named profile, explicit steps, or one drawn per photo.
#[derive(Debug, Clone, PartialEq)]
pub enum Osn {
    /// Drawn from the training family for each photo ([`Osn::draw`]).
    Drawn,
    Profile(&'static str),
    Steps(Vec<Step>),
}

impl Osn {
    /// Parses what follows `osn:` (`osn` alone is [`Osn::Drawn`]). Plain qualities keep their
    /// old meaning: `osn:30` and `osn:30:50` shrink to 2048 first.
    pub fn parse(args: &[&str]) -> Result<Self> {
        let profile = |name: &str| PROFILES.iter().find(|p| p.0 == name).map(|p| p.0);
        match args {
            [] => Ok(Osn::Drawn),
            [name] if profile(name).is_some() => Ok(Osn::Profile(profile(name).expect("found"))),
            _ => {
                let steps = args
                    .iter()
                    .map(|s| Step::parse(s))
                    .collect::<Result<Vec<_>>>()?;
                if !steps.iter().any(|s| matches!(s, Step::Jpeg(_))) {
                    return Err(bad(
                        "osn: the steps compress nothing (add a quality, e.g. osn:x0.8:75)".into(),
                    ));
                }
                if steps.iter().all(|s| matches!(s, Step::Jpeg(_))) {
                    // The old spelling: an upload shrunk to the networks' size, then compressed.
                    return Ok(Osn::Steps(
                        [vec![Step::MaxSide(OSN_MAX_SIDE)], steps].concat(),
                    ));
                }
                Ok(Osn::Steps(steps))
            }
        }
    }

    /// The steps for one photo.
    pub fn steps(&self, rng: &mut Pcg64Mcg) -> Vec<Step> {
        match self {
            Osn::Drawn => Self::draw(rng),
            Osn::Profile(name) => {
                let process = PROFILES.iter().find(|p| p.0 == *name).expect("a profile").1;
                process
                    .split(':')
                    .map(|s| Step::parse(s).expect("profiles parse"))
                    .collect()
            }
            Osn::Steps(steps) => steps.clone(),
        }
    }

    /// The training family: an upload at a quality drawn half from 10..=60 and half from
    /// 60..=95, a fifth of them 4:4:4 and half progressive; a third scaled down first; half
    /// re-shared, then scaled down (two in three) or cropped by 1 to 7 pixels (one in three)
    /// and compressed again. At most one resize, so that a crop keeps at least half its side.
    pub fn draw(rng: &mut Pcg64Mcg) -> Vec<Step> {
        let jpeg = |rng: &mut Pcg64Mcg| {
            let range = if rng.random_bool(0.5) {
                OSN_LOW_QUALITY
            } else {
                OSN_HIGH_QUALITY
            };
            Step::Jpeg(JpegSettings {
                quality: rng.random_range(range),
                full_chroma: rng.random_bool(0.2),
                progressive: rng.random_bool(0.5),
            })
        };
        let mut steps = vec![Step::MaxSide(OSN_MAX_SIDE)];
        let scaled_first = rng.random_bool(1.0 / 3.0);
        if scaled_first {
            steps.push(Step::Scale(rng.random_range(OSN_SCALE)));
        }
        steps.push(jpeg(rng));
        if rng.random_bool(0.5) {
            if !scaled_first && rng.random_bool(2.0 / 3.0) {
                steps.push(Step::Scale(rng.random_range(OSN_SCALE)));
            } else {
                steps.push(Step::Shift(rng.random_range(0..8), rng.random_range(1..8)));
            }
            steps.push(jpeg(rng));
        }
        steps
    }

    /// The smallest factor the steps can shrink a small photo by (`maxN` aside): what a
    /// training crop must allow for.
    pub fn least_scale(&self) -> f32 {
        match self {
            Osn::Drawn => OSN_SCALE.start,
            other => other
                .steps(&mut rand::SeedableRng::seed_from_u64(0))
                .iter()
                .map(|s| if let Step::Scale(f) = s { *f } else { 1.0 })
                .product(),
        }
    }
}

impl fmt::Display for Osn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Osn::Drawn => write!(f, "osn"),
            Osn::Profile(name) => write!(f, "osn:{name}"),
            Osn::Steps(steps) => {
                // The old spelling when it is one.
                let steps = match steps.split_first() {
                    Some((Step::MaxSide(OSN_MAX_SIDE), rest))
                        if !rest.is_empty() && rest.iter().all(|s| matches!(s, Step::Jpeg(_))) =>
                    {
                        rest
                    }
                    _ => steps,
                };
                write!(f, "osn")?;
                for s in steps {
                    write!(f, ":{s}")?;
                }
                Ok(())
            }
        }
    }
}

/// Runs the steps on a photo.
pub fn deliver(photo: Degraded, steps: &[Step]) -> Result<Degraded> {
    let Degraded {
        mut reference,
        mut image,
        mut file,
    } = photo;
    for step in steps {
        let (w, h) = image.dimensions();
        let resized = |w2: u32, h2: u32, reference: &mut RgbImage, image: &mut RgbImage| {
            if (w2, h2) != (w, h) {
                *reference = resize(reference, w2, h2);
                *image = resize(image, w2, h2);
            }
        };
        match *step {
            Step::Jpeg(settings) => {
                let bytes = settings.encode(&image)?;
                image = decode(&bytes)?;
                file = Some(bytes);
            }
            Step::MaxSide(max) => {
                let scale = (max as f64 / w.max(h) as f64).min(1.0);
                let (w2, h2) = scaled(w, h, scale);
                resized(w2, h2, &mut reference, &mut image);
            }
            Step::Scale(s) => {
                let (w2, h2) = scaled(w, h, s as f64);
                resized(w2, h2, &mut reference, &mut image);
            }
            Step::Shift(dx, dy) => {
                if dx >= w || dy >= h {
                    return Err(bad(format!(
                        "a {w}x{h} photo is too small to crop by ({dx}, {dy})"
                    )));
                }
                reference = imageops::crop_imm(&reference, dx, dy, w - dx, h - dy).to_image();
                image = imageops::crop_imm(&image, dx, dy, w - dx, h - dy).to_image();
            }
        }
        if !matches!(step, Step::Jpeg(_)) {
            file = None;
        }
    }
    Ok(Degraded {
        reference,
        image,
        file,
    })
}

fn scaled(w: u32, h: u32, scale: f64) -> (u32, u32) {
    (
        ((w as f64 * scale).round() as u32).max(1),
        ((h as f64 * scale).round() as u32).max(1),
    )
}

/// Catmull-Rom resampling, close to what networks' image servers use.
fn resize(img: &RgbImage, w: u32, h: u32) -> RgbImage {
    imageops::resize(img, w, h, imageops::FilterType::CatmullRom)
}
