//! Synthetic degradations of 8-bit RGB photos, each deterministic from a seed: Gaussian noise
//! (as the paper), JPEG, what social networks do (resize, JPEG, re-shares: [`osn`]), rain
//! streaks, haze, and compositions of these ("noise:25+jpeg:40").

pub mod osn;

use std::fmt;
use std::str::FromStr;

use image::RgbImage;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, Normal};
use rand_pcg::Pcg64Mcg;

use crate::error::{Error, Result};
pub use osn::{JpegSettings, Osn, OSN_MAX_SIDE, PROFILES};

/// Noise levels the paper trains and tests on; `noise` without a level draws one of them.
pub const NOISE_SIGMAS: [f32; 3] = [15.0, 25.0, 50.0];
/// JPEG qualities accepted.
pub const JPEG_QUALITY: std::ops::RangeInclusive<u8> = 10..=95;
/// Haze: scattering coefficient beta and airlight A are drawn uniformly from these ranges.
pub const HAZE_BETA: (f32, f32) = (0.3, 1.0);
pub const HAZE_AIRLIGHT: (f32, f32) = (0.7, 0.95);

/// One degradation, or a chain of them applied left to right.
#[derive(Debug, Clone, PartialEq)]
pub enum Degradation {
    /// Additive Gaussian noise of standard deviation `sigma` (in 8-bit units); `None` draws
    /// sigma from [`NOISE_SIGMAS`].
    Noise { sigma: Option<f32> },
    /// One JPEG compression at `quality`, 4:2:0 chroma subsampling.
    Jpeg { quality: u8 },
    /// What a social network does to an upload, or to a re-share ([`osn`]).
    Osn(Osn),
    /// Synthetic rain streaks in the manner of Rain100L.
    Rain,
    /// Atmospheric scattering over a synthetic depth map.
    Haze,
    /// Nothing: the photo as it is, which a restorer should leave alone.
    Clean,
    /// Several degradations in order.
    Chain(Vec<Degradation>),
}

pub(crate) fn bad(msg: String) -> Error {
    Error::Input(msg)
}

pub(crate) fn parse_quality(s: &str, what: &str) -> Result<u8> {
    let q: u8 = s
        .parse()
        .map_err(|_| bad(format!("{what}: quality {s:?} is not a number")))?;
    if !JPEG_QUALITY.contains(&q) {
        return Err(bad(format!(
            "{what}: quality {q} is outside {}..={}",
            JPEG_QUALITY.start(),
            JPEG_QUALITY.end()
        )));
    }
    Ok(q)
}

impl FromStr for Degradation {
    type Err = Error;

    /// `noise`, `noise:25`, `jpeg:20`, `osn`, `osn:30`, `osn:30:50`, `osn:reshare`,
    /// `osn:x0.8:70` ([`osn`]), `rain`, `haze`, `clean`, and chains joined by `+`
    /// (`noise:25+jpeg:40`).
    fn from_str(s: &str) -> Result<Self> {
        let s = s.trim();
        if s.contains('+') {
            return Ok(Degradation::Chain(
                s.split('+').map(str::parse).collect::<Result<_>>()?,
            ));
        }
        let mut parts = s.split(':');
        let kind = parts.next().unwrap_or("");
        let args: Vec<&str> = parts.collect();
        let too_many = |n: usize| -> Result<()> {
            if args.len() > n {
                Err(bad(format!("degradation {s:?} has too many parameters")))
            } else {
                Ok(())
            }
        };
        match kind {
            "noise" => {
                too_many(1)?;
                let sigma = match args.first() {
                    None => None,
                    Some(a) => {
                        let v: f32 = a.parse().map_err(|_| bad(format!("noise level {a:?} is not a number")))?;
                        if !(v > 0.0 && v <= 100.0) {
                            return Err(bad(format!("noise level {v} is outside (0, 100]")));
                        }
                        Some(v)
                    }
                };
                Ok(Degradation::Noise { sigma })
            }
            "jpeg" => {
                too_many(1)?;
                let q = args.first().ok_or_else(|| bad("jpeg needs a quality, e.g. jpeg:20".into()))?;
                Ok(Degradation::Jpeg { quality: parse_quality(q, "jpeg")? })
            }
            "osn" => Ok(Degradation::Osn(Osn::parse(&args)?)),
            "rain" | "haze" | "clean" => {
                too_many(0)?;
                Ok(match kind {
                    "rain" => Degradation::Rain,
                    "haze" => Degradation::Haze,
                    _ => Degradation::Clean,
                })
            }
            other => Err(bad(format!(
                "unknown degradation {other:?} (known: noise[:SIGMA], jpeg:Q, osn[:STEPS or PROFILE], rain, haze, clean, and chains joined by +)"
            ))),
        }
    }
}

impl fmt::Display for Degradation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Degradation::Noise { sigma: None } => write!(f, "noise"),
            Degradation::Noise { sigma: Some(s) } => write!(f, "noise:{s}"),
            Degradation::Jpeg { quality } => write!(f, "jpeg:{quality}"),
            Degradation::Osn(osn) => write!(f, "{osn}"),
            Degradation::Rain => write!(f, "rain"),
            Degradation::Haze => write!(f, "haze"),
            Degradation::Clean => write!(f, "clean"),
            Degradation::Chain(parts) => {
                let names: Vec<String> = parts.iter().map(|p| p.to_string()).collect();
                write!(f, "{}", names.join("+"))
            }
        }
    }
}

/// The seed of a test photo's degradation for one task, from the photo's file name and the
/// task: the same on every run, machine and order, so evaluations and validations compare.
pub fn test_seed(file: &str, task: &str) -> u64 {
    let mut h = crc32fast::Hasher::new();
    h.update(file.as_bytes());
    h.update(b"|");
    h.update(task.as_bytes());
    h.finalize() as u64
}

/// A degraded photo: the clean photo taken through the same geometry (what a restore should
/// give back; the photo itself unless a social network resized or cropped it), the degraded
/// pixels, and the JPEG file they were decoded from when a compression came last.
#[derive(Debug, Clone)]
pub struct Degraded {
    pub reference: RgbImage,
    pub image: RgbImage,
    pub file: Option<Vec<u8>>,
}

impl Degradation {
    /// Applies the degradation; the same image, kind and seed always give the same result.
    pub fn apply(&self, img: &RgbImage, seed: u64) -> Result<RgbImage> {
        Ok(self.degrade(img, seed)?.image)
    }

    /// Applies the degradation and keeps the reference and the file ([`Degraded`]).
    pub fn degrade(&self, img: &RgbImage, seed: u64) -> Result<Degraded> {
        if img.width() == 0 || img.height() == 0 {
            return Err(bad("the image is empty".into()));
        }
        let mut rng = Pcg64Mcg::seed_from_u64(seed);
        let start = Degraded {
            reference: img.clone(),
            image: img.clone(),
            file: None,
        };
        self.apply_with(start, &mut rng)
    }

    /// Whether it only compresses (JPEG, a social network's processing) or leaves the photo
    /// as it is: a ticket trained on such degradations alone removes only JPEG.
    pub fn compression_only(&self) -> bool {
        match self {
            Degradation::Jpeg { .. } | Degradation::Osn(_) | Degradation::Clean => true,
            Degradation::Chain(parts) => parts.iter().all(Degradation::compression_only),
            Degradation::Noise { .. } | Degradation::Rain | Degradation::Haze => false,
        }
    }

    /// The smallest factor the degradation can shrink a photo by (long-side limits aside):
    /// a training crop is taken this much larger.
    pub fn least_scale(&self) -> f32 {
        match self {
            Degradation::Osn(osn) => osn.least_scale(),
            Degradation::Chain(parts) => parts.iter().map(Degradation::least_scale).product(),
            _ => 1.0,
        }
    }

    /// Whether the degradation can move the JPEG grid against the photo's origin (a resize or
    /// crop before a compression): its training crops may start anywhere.
    pub fn moves_grid(&self) -> bool {
        match self {
            Degradation::Osn(_) => true,
            Degradation::Chain(parts) => parts.iter().any(Degradation::moves_grid),
            _ => false,
        }
    }

    fn apply_with(&self, photo: Degraded, rng: &mut Pcg64Mcg) -> Result<Degraded> {
        let pixels = |photo: Degraded, image: RgbImage| Degraded {
            reference: photo.reference,
            image,
            file: None,
        };
        Ok(match self {
            Degradation::Noise { sigma } => {
                let sigma =
                    sigma.unwrap_or_else(|| NOISE_SIGMAS[rng.random_range(0..NOISE_SIGMAS.len())]);
                let image = add_noise(&photo.image, sigma, rng);
                pixels(photo, image)
            }
            Degradation::Jpeg { quality } => {
                osn::deliver(photo, &[osn::Step::Jpeg(JpegSettings::new(*quality))])?
            }
            Degradation::Osn(kind) => osn::deliver(photo, &kind.steps(rng))?,
            Degradation::Rain => {
                let image = rain(&photo.image, rng);
                pixels(photo, image)
            }
            Degradation::Haze => {
                let image = haze(&photo.image, rng);
                pixels(photo, image)
            }
            Degradation::Clean => photo,
            Degradation::Chain(parts) => {
                let mut out = photo;
                for part in parts {
                    out = part.apply_with(out, rng)?;
                }
                out
            }
        })
    }
}

/// x + N(0, sigma^2), clipped to [0, 255] and truncated to 8 bits, as the paper's data code.
fn add_noise(img: &RgbImage, sigma: f32, rng: &mut Pcg64Mcg) -> RgbImage {
    let normal = Normal::new(0.0f32, sigma).expect("sigma is positive");
    let mut out = img.clone();
    for v in out.iter_mut() {
        *v = (*v as f32 + normal.sample(rng)).clamp(0.0, 255.0) as u8;
    }
    out
}

/// Encodes as JPEG (4:2:0, baseline) at `quality` and decodes it again.
pub fn jpeg(img: &RgbImage, quality: u8) -> Result<RgbImage> {
    osn::decode(&JpegSettings::new(quality).encode(img)?)
}

/// Rain100L-style streaks: sparse seeds blurred along one direction into lines, added to the
/// image. Angle, length, density and brightness are random per image.
fn rain(img: &RgbImage, rng: &mut Pcg64Mcg) -> RgbImage {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let angle = rng.random_range(-30.0f32..30.0).to_radians();
    let length = rng.random_range(10..=30);
    let density = rng.random_range(0.001f32..0.004);
    let brightness = rng.random_range(0.3f32..0.7);
    let thickness = rng.random_range(1..=2);
    // Seeds of varying strength.
    let mut seeds = vec![0f32; w * h];
    for s in seeds.iter_mut() {
        if rng.random::<f32>() < density {
            *s = rng.random_range(0.5f32..1.0);
        }
    }
    // Motion blur along the streak direction (line kernel), a few pixels thick.
    let (dx, dy) = (angle.sin(), angle.cos());
    let mut streaks = vec![0f32; w * h];
    for y in 0..h as i32 {
        for x in 0..w as i32 {
            let s = seeds[y as usize * w + x as usize];
            if s == 0.0 {
                continue;
            }
            for t in 0..length {
                let fade = 1.0 - t as f32 / length as f32 * 0.5;
                for k in 0..thickness {
                    let px = (x as f32 + dx * t as f32).round() as i32 + k;
                    let py = (y as f32 + dy * t as f32).round() as i32;
                    if px >= 0 && py >= 0 && (px as usize) < w && (py as usize) < h {
                        let v = &mut streaks[py as usize * w + px as usize];
                        *v = v.max(s * fade);
                    }
                }
            }
        }
    }
    let mut out = img.clone();
    for (i, px) in out.pixels_mut().enumerate() {
        let r = streaks[i] * brightness * 255.0;
        for c in px.0.iter_mut() {
            // Screen blend: streaks brighten, never darken, and saturate gracefully.
            let v = *c as f32;
            *c = (v + r - v * r / 255.0).round().clamp(0.0, 255.0) as u8;
        }
    }
    out
}

/// I = J t + A (1 - t), t = exp(-beta d), with d a smooth random depth in [0, 1]: farther towards
/// the top of the frame, modulated by low-frequency noise.
fn haze(img: &RgbImage, rng: &mut Pcg64Mcg) -> RgbImage {
    let beta = rng.random_range(HAZE_BETA.0..HAZE_BETA.1);
    let airlight = rng.random_range(HAZE_AIRLIGHT.0..HAZE_AIRLIGHT.1);
    haze_with(
        img,
        beta,
        airlight,
        &depth_map(img.width() as usize, img.height() as usize, rng),
    )
}

/// Haze with given parameters over a given depth map (values in [0, 1]).
pub fn haze_with(img: &RgbImage, beta: f32, airlight: f32, depth: &[f32]) -> RgbImage {
    let mut out = img.clone();
    for (px, &d) in out.pixels_mut().zip(depth) {
        let t = (-beta * d).exp();
        for c in px.0.iter_mut() {
            let j = *c as f32 / 255.0;
            *c = ((j * t + airlight * (1.0 - t)) * 255.0)
                .round()
                .clamp(0.0, 255.0) as u8;
        }
    }
    out
}

/// A smooth plausible depth map: a vertical ramp (sky and horizon far, ground near) plus
/// bilinearly upsampled coarse noise, normalised to [0, 1].
pub fn depth_map(w: usize, h: usize, rng: &mut impl RngExt) -> Vec<f32> {
    const GRID: usize = 5;
    let coarse: Vec<f32> = (0..GRID * GRID).map(|_| rng.random::<f32>()).collect();
    let tilt = rng.random_range(0.5f32..1.0);
    let mut depth = vec![0f32; w * h];
    for y in 0..h {
        let fy = y as f32 / h.max(2).saturating_sub(1) as f32 * (GRID - 1) as f32;
        let (y0, ty) = (fy.floor() as usize, fy.fract());
        let y1 = (y0 + 1).min(GRID - 1);
        for x in 0..w {
            let fx = x as f32 / w.max(2).saturating_sub(1) as f32 * (GRID - 1) as f32;
            let (x0, tx) = (fx.floor() as usize, fx.fract());
            let x1 = (x0 + 1).min(GRID - 1);
            let c = |yy: usize, xx: usize| coarse[yy * GRID + xx];
            let n = (c(y0, x0) * (1.0 - tx) + c(y0, x1) * tx) * (1.0 - ty)
                + (c(y1, x0) * (1.0 - tx) + c(y1, x1) * tx) * ty;
            let ramp = 1.0 - y as f32 / h.max(1) as f32;
            depth[y * w + x] = tilt * ramp + (1.0 - tilt) * n;
        }
    }
    let (lo, hi) = depth
        .iter()
        .fold((f32::MAX, f32::MIN), |(l, h), &v| (l.min(v), h.max(v)));
    let span = (hi - lo).max(1e-6);
    depth.iter_mut().for_each(|v| *v = (*v - lo) / span);
    depth
}
