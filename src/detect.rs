//! What a photo's own pixels say about how it was degraded, measured before restoring, so that
//! a restore in `auto` acts only on what is there (`tasks::Tasks::Auto`, which reads these). Each measure
//! is one that clean photos and degraded ones keep apart (QUALITY.md, "Never worse"):
//!
//! - **Noise** is measured in the colour differences R−G and B−G. Sensor noise added per
//!   channel lands there in full, while photos carry almost no fine detail in colour
//!   differences (demosaicing and 4:2:0 JPEG both smooth them), so textures do not pass for
//!   noise as they do in luma.
//! - **JPEG** leaves the low-frequency DCT coefficients of each 8x8 luma block at multiples
//!   of the quantization step; the step found gives the quality (IJG scale) it was saved at.
//! - **Haze** lifts the dark channel (the least of R, G and B over a neighbourhood, He et
//!   al. 2009): a clear photo has dark shadows somewhere in most of its regions. So does a
//!   pale or overcast one, so this is reported, not acted on (by `tasks`).

use image::RgbaImage;
use serde::{Deserialize, Serialize};

/// What [`detect`] found in a photo.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Findings {
    /// Standard deviation of the noise per colour channel, in 8-bit levels (about 0.5 on a
    /// clean photo, 15 with σ 15 noise added).
    pub noise_sigma: f32,
    /// The JPEG quality (IJG scale, 1-100) whose quantization the 8x8 luma blocks show, or
    /// `None` where no step above 3 levels shows (never saved as JPEG, or above about 90).
    pub jpeg_quality: Option<u8>,
    /// How hazy: the dark channel of the 16x16 blocks at their 10th percentile, in [0, 1].
    pub haze: f32,
}

/// Measures noise, JPEG quantization and haze in `img` (alpha ignored). Linear in the pixels,
/// with memory of a few kilobytes beyond one value per 16x16 block.
pub fn detect(img: &RgbaImage) -> Findings {
    Findings {
        noise_sigma: noise_sigma(img),
        jpeg_quality: jpeg_quality(&jpeg_steps(img)),
        haze: haze(img),
    }
}

/// A histogram over non-negative values in steps of `1 / scale`, for medians and percentiles
/// without sorting or holding a copy of the values.
struct Histogram {
    counts: Vec<u64>,
    scale: f32,
    total: u64,
}

impl Histogram {
    fn new(max: f32, scale: f32) -> Self {
        Self {
            counts: vec![0; (max * scale) as usize + 2],
            scale,
            total: 0,
        }
    }

    fn add(&mut self, v: f32) {
        let last = self.counts.len() - 1;
        self.counts[((v * self.scale).round() as usize).min(last)] += 1;
        self.total += 1;
    }

    /// The value below which a fraction `q` of the values lie (0 when empty).
    fn quantile(&self, q: f64) -> f32 {
        let rank = (q * self.total as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return i as f32 / self.scale;
            }
        }
        0.0
    }
}

/// Donoho's robust estimate, median(|HH|) / 0.6745, of the diagonal Haar detail of the two
/// colour differences (each scaled by 1/√2, so that independent noise of σ per channel reads σ).
fn noise_sigma(img: &RgbaImage) -> f32 {
    let (w, h) = (img.width() / 2 * 2, img.height() / 2 * 2);
    // |HH| of a difference of 8-bit values is below 255 · √2.
    let mut hist = Histogram::new(400.0, 8.0);
    let diffs = |x: u32, y: u32| {
        let [r, g, b, _] = img.get_pixel(x, y).0.map(f32::from);
        [r - g, b - g]
    };
    for y in (0..h).step_by(2) {
        for x in (0..w).step_by(2) {
            let (a, b, c, d) = (
                diffs(x, y),
                diffs(x + 1, y),
                diffs(x, y + 1),
                diffs(x + 1, y + 1),
            );
            for k in 0..2 {
                hist.add(((a[k] - b[k] - c[k] + d[k]) / (2.0 * std::f32::consts::SQRT_2)).abs());
            }
        }
    }
    hist.quantile(0.5) / 0.6745
}

/// The low frequencies (row, column) whose quantization steps [`jpeg_steps`] reads.
const JPEG_FREQS: [(usize, usize); 5] = [(0, 1), (1, 0), (1, 1), (0, 2), (2, 0)];
/// IJG's luma quantization table at quality 50, at [`JPEG_FREQS`].
const IJG_LUMA_50: [f32; 5] = [11.0, 12.0, 12.0, 10.0, 14.0];
/// Largest step [`jpeg_steps`] looks for (quality about 8 and below read as this).
const MAX_STEP: usize = 80;
/// Coefficients needed, at least this far from zero, before a step is believed.
const MIN_COEFFICIENTS: u64 = 50;
/// Resolution of the coefficient histograms, in steps per unit.
const COEFF_SCALE: f32 = 4.0;

/// For each of [`JPEG_FREQS`], the quantization step its coefficients sit at in the 8x8
/// blocks of luma on the grid from the top left (1 where none shows). A step q shows when the
/// coefficients at least q/2 from zero cluster at its multiples: the mean of cos(2πc/q) over
/// them exceeds 1/2 (about 0 for unquantized values). The largest such q is the step, since
/// its divisors show too.
fn jpeg_steps(img: &RgbaImage) -> [usize; 5] {
    let limit = 1024.0; // |coefficient| of an orthonormal 8x8 DCT of values in [-128, 127]
    let bins = (2.0 * limit * COEFF_SCALE) as usize + 1;
    let mut hists = vec![vec![0u64; bins]; JPEG_FREQS.len()];
    let basis: Vec<[f32; 64]> = JPEG_FREQS
        .iter()
        .map(|&(u, v)| {
            let mut b = [0f32; 64];
            for y in 0..8 {
                for x in 0..8 {
                    b[y * 8 + x] = dct_basis(u, y) * dct_basis(v, x);
                }
            }
            b
        })
        .collect();
    let mut block = [0f32; 64];
    for by in 0..img.height() / 8 {
        for bx in 0..img.width() / 8 {
            for y in 0..8 {
                for x in 0..8 {
                    let [r, g, b, _] = img.get_pixel(bx * 8 + x, by * 8 + y).0.map(f32::from);
                    // JPEG's luma (ITU-R BT.601), level-shifted as the encoder does.
                    block[(y * 8 + x) as usize] = 0.299 * r + 0.587 * g + 0.114 * b - 128.0;
                }
            }
            for (hist, b) in hists.iter_mut().zip(&basis) {
                let c: f32 = block.iter().zip(b).map(|(p, q)| p * q).sum();
                let i = ((c.clamp(-limit, limit) + limit) * COEFF_SCALE).round() as usize;
                hist[i] += 1;
            }
        }
    }
    let mut steps = [1; 5];
    for (step, hist) in steps.iter_mut().zip(&hists) {
        for q in 2..=MAX_STEP {
            let (mut n, mut sum) = (0u64, 0f64);
            for (i, &count) in hist.iter().enumerate() {
                let c = i as f64 / COEFF_SCALE as f64 - limit as f64;
                if count > 0 && c.abs() >= q as f64 / 2.0 {
                    n += count;
                    sum += count as f64 * (std::f64::consts::TAU * c / q as f64).cos();
                }
            }
            if n < MIN_COEFFICIENTS {
                break;
            }
            if sum / n as f64 > 0.5 {
                *step = q;
            }
        }
    }
    steps
}

/// The orthonormal 8-point DCT-II basis: frequency `u` at position `x`.
fn dct_basis(u: usize, x: usize) -> f32 {
    let scale = if u == 0 { (1.0f32 / 8.0).sqrt() } else { 0.5 };
    scale * ((2 * x + 1) as f32 * u as f32 * std::f32::consts::PI / 16.0).cos()
}

/// The IJG step of a quality-50 table entry at `quality` (libjpeg's `jpeg_quality_scaling`).
pub(crate) fn ijg_step(base: f32, quality: u8) -> f32 {
    let q = quality.clamp(1, 100) as f32;
    let scale = if q < 50.0 {
        5000.0 / q
    } else {
        200.0 - 2.0 * q
    };
    ((base * scale + 50.0) / 100.0).floor().clamp(1.0, 255.0)
}

/// The IJG quality whose luma table best matches `steps` (in log ratio, over the frequencies
/// where a step showed), or `None` where none above 3 showed: below that, rounding to 8 bits
/// hides the quantization, and the photo is as good as unquantized.
fn jpeg_quality(steps: &[usize; 5]) -> Option<u8> {
    if steps.iter().all(|&s| s <= 3) {
        return None;
    }
    let error = |quality: u8| -> f32 {
        steps
            .iter()
            .zip(IJG_LUMA_50)
            .filter(|(&s, _)| s > 1)
            .map(|(&s, base)| {
                ((s as f32).min(MAX_STEP as f32) / ijg_step(base, quality))
                    .ln()
                    .abs()
            })
            .sum()
    };
    (1..=100u8).min_by(|&a, &b| error(a).total_cmp(&error(b)))
}

/// Side of the blocks whose darkest value makes the dark channel.
const DARK_BLOCK: u32 = 16;

/// The 10th percentile, over 16x16 blocks, of each block's least R, G or B, in [0, 1]. Haze
/// adds airlight everywhere, so even the darker blocks lift; a clear photo's are near 0.
fn haze(img: &RgbaImage) -> f32 {
    let (bw, bh) = (img.width() / DARK_BLOCK, img.height() / DARK_BLOCK);
    if bw == 0 || bh == 0 {
        return 0.0;
    }
    let mut hist = Histogram::new(255.0, 1.0);
    for by in 0..bh {
        for bx in 0..bw {
            let mut dark = u8::MAX;
            for y in by * DARK_BLOCK..(by + 1) * DARK_BLOCK {
                for x in bx * DARK_BLOCK..(bx + 1) * DARK_BLOCK {
                    let [r, g, b, _] = img.get_pixel(x, y).0;
                    dark = dark.min(r).min(g).min(b);
                }
            }
            hist.add(dark as f32);
        }
    }
    hist.quantile(0.1) / 255.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::degrade::Degradation;
    use image::RgbImage;

    /// A real photo: the demo's CC0 cat.
    fn photo() -> RgbImage {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/www/samples/cat.png");
        image::open(path).expect("the cat sample").to_rgb8()
    }

    fn findings(kind: &str) -> Findings {
        let img = kind
            .parse::<Degradation>()
            .unwrap()
            .apply(&photo(), 7)
            .unwrap();
        detect(&image::DynamicImage::ImageRgb8(img).to_rgba8())
    }

    #[test]
    fn noise_reads_its_level_and_clean_reads_none() {
        assert!(findings("clean").noise_sigma < 1.0);
        for sigma in [5.0f32, 15.0, 25.0] {
            let found = findings(&format!("noise:{sigma}")).noise_sigma;
            assert!(
                (found - sigma).abs() < 0.15 * sigma,
                "σ {sigma}: read {found}"
            );
        }
    }

    #[test]
    fn jpeg_reads_its_quality_and_clean_or_q95_read_none() {
        assert_eq!(findings("clean").jpeg_quality, None);
        assert_eq!(findings("jpeg:95").jpeg_quality, None);
        for q in [10u8, 30, 50, 75] {
            let found = findings(&format!("jpeg:{q}")).jpeg_quality.expect("found");
            assert!(found.abs_diff(q) <= q / 5 + 2, "q {q}: read {found}");
        }
    }

    #[test]
    fn haze_lifts_the_dark_channel() {
        assert!(findings("haze").haze > findings("clean").haze + 0.1);
    }

    #[test]
    fn quantiles_of_the_histogram() {
        let mut h = Histogram::new(10.0, 2.0);
        for v in [1.0, 2.0, 3.0, 4.0, 100.0] {
            h.add(v);
        }
        assert_eq!(h.quantile(0.5), 3.0);
        assert_eq!(h.quantile(1.0), 10.5); // clamped into the last bin
        assert_eq!(Histogram::new(1.0, 1.0).quantile(0.5), 0.0);
    }
}
