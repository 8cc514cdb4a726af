//! Image quality metrics equal to scikit-image's: PSNR over RGB in [0, 1] and SSIM with its
//! defaults (7x7 uniform window, sample covariance, K1 0.01, K2 0.03, data_range 1, mean over
//! channels).

use image::RgbImage;

use crate::error::{Error, Result};

fn check_sizes(a: &RgbImage, b: &RgbImage) -> Result<()> {
    if a.dimensions() != b.dimensions() {
        return Err(Error::Input(format!(
            "images differ in size: {}x{} and {}x{}",
            a.width(),
            a.height(),
            b.width(),
            b.height()
        )));
    }
    if a.width() == 0 || a.height() == 0 {
        return Err(Error::Input("the images are empty".into()));
    }
    Ok(())
}

/// Peak signal-to-noise ratio in dB of `test` against `reference`, both read as RGB in [0, 1].
/// Identical images give infinity.
pub fn psnr(reference: &RgbImage, test: &RgbImage) -> Result<f64> {
    check_sizes(reference, test)?;
    let sum: u64 = reference
        .iter()
        .zip(test.iter())
        .map(|(&a, &b)| (a as i64 - b as i64).pow(2) as u64)
        .sum();
    let mse = sum as f64 / reference.len() as f64 / (255.0 * 255.0);
    Ok(10.0 * (1.0 / mse).log10())
}

/// Side of skimage's default SSIM window.
const WIN: usize = 7;

/// Structural similarity as `skimage.metrics.structural_similarity(a, b, channel_axis=2,
/// data_range=1)` on images scaled to [0, 1]. Needs at least 7x7 pixels.
pub fn ssim(reference: &RgbImage, test: &RgbImage) -> Result<f64> {
    check_sizes(reference, test)?;
    let (w, h) = (reference.width() as usize, reference.height() as usize);
    if w < WIN || h < WIN {
        return Err(Error::Input(format!(
            "SSIM needs at least {WIN}x{WIN} pixels, the images are {w}x{h}"
        )));
    }
    let mut total = 0.0;
    for c in 0..3 {
        let x: Vec<f64> = reference.pixels().map(|p| p.0[c] as f64 / 255.0).collect();
        let y: Vec<f64> = test.pixels().map(|p| p.0[c] as f64 / 255.0).collect();
        total += ssim_channel(&x, &y, w, h);
    }
    Ok(total / 3.0)
}

/// Mean SSIM of one channel over every window that lies fully inside the image (skimage crops
/// (WIN-1)/2 pixels at each border, which leaves exactly those windows, so its filter's
/// boundary mode never matters).
fn ssim_channel(x: &[f64], y: &[f64], w: usize, h: usize) -> f64 {
    let (c1, c2) = ((0.01f64).powi(2), (0.03f64).powi(2));
    let n = (WIN * WIN) as f64;
    let cov_norm = n / (n - 1.0);
    let xx: Vec<f64> = x.iter().map(|v| v * v).collect();
    let yy: Vec<f64> = y.iter().map(|v| v * v).collect();
    let xy: Vec<f64> = x.iter().zip(y).map(|(a, b)| a * b).collect();
    let sums = [x, y, &xx[..], &yy[..], &xy[..]].map(|img| window_means(img, w, h));
    let [ux, uy, uxx, uyy, uxy] = &sums;
    let mut total = 0.0;
    for i in 0..ux.len() {
        let vx = cov_norm * (uxx[i] - ux[i] * ux[i]);
        let vy = cov_norm * (uyy[i] - uy[i] * uy[i]);
        let vxy = cov_norm * (uxy[i] - ux[i] * uy[i]);
        let num = (2.0 * ux[i] * uy[i] + c1) * (2.0 * vxy + c2);
        let den = (ux[i] * ux[i] + uy[i] * uy[i] + c1) * (vx + vy + c2);
        total += num / den;
    }
    total / ux.len() as f64
}

/// Means over every WIN x WIN window fully inside a w x h image, via a summed-area table.
fn window_means(img: &[f64], w: usize, h: usize) -> Vec<f64> {
    let mut table = vec![0.0f64; (w + 1) * (h + 1)];
    for y in 0..h {
        let mut row = 0.0;
        for x in 0..w {
            row += img[y * w + x];
            table[(y + 1) * (w + 1) + x + 1] = table[y * (w + 1) + x + 1] + row;
        }
    }
    let at = |y: usize, x: usize| table[y * (w + 1) + x];
    let area = (WIN * WIN) as f64;
    let mut out = Vec::with_capacity((w - WIN + 1) * (h - WIN + 1));
    for y in 0..=h - WIN {
        for x in 0..=w - WIN {
            out.push((at(y + WIN, x + WIN) - at(y, x + WIN) - at(y + WIN, x) + at(y, x)) / area);
        }
    }
    out
}
