//! Keeps a restored JPEG within what its file allows. A JPEG stores each 8x8 block's DCT
//! coefficients as whole multiples of the quantization table's steps, so the photo before the
//! compression had every coefficient within half a step of what the file holds. Moving each
//! coefficient of the restore back into that interval is a projection onto a convex set that
//! holds the original: it can only bring the restore closer to it (in luma, the channel
//! where the constraint is known exactly), and it undoes what a network changed that the
//! file rules out, as on photos saved at high quality, where the intervals are narrow.
//!
//! Chroma is left as restored where the file halved it (4:2:0): the decoder's upsampling
//! hides the stored coefficients, and most of a JPEG's error is in luma.

use image::RgbaImage;
use serde::{Deserialize, Serialize};

/// A file's quantization tables, in natural (row-major) order, 8 rows of 8 steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuantTables {
    pub luma: [[u16; 8]; 8],
    /// The Cb and Cr table, where the file has colour.
    pub chroma: Option<[[u16; 8]; 8]>,
}

impl QuantTables {
    /// From tables of 64 steps in natural order.
    pub fn new(luma: &[u16; 64], chroma: Option<&[u16; 64]>) -> Self {
        let rows = |t: &[u16; 64]| std::array::from_fn(|r| std::array::from_fn(|c| t[r * 8 + c]));
        Self {
            luma: rows(luma),
            chroma: chroma.map(rows),
        }
    }
}

type Block = [[f32; 8]; 8];

/// The orthonormal 8-point DCT-II: `BASIS[u][x]`. JPEG's 2-D transform is `BASIS f BASISᵀ`;
/// the basis being orthonormal, its inverse is the same with the basis transposed.
fn basis() -> Block {
    std::array::from_fn(|u| {
        let c = if u == 0 { (0.5f32).sqrt() } else { 1.0 };
        std::array::from_fn(|x| {
            0.5 * c * (((2 * x + 1) as f32 * u as f32 * std::f32::consts::PI) / 16.0).cos()
        })
    })
}

fn transposed(m: &Block) -> Block {
    std::array::from_fn(|i| std::array::from_fn(|j| m[j][i]))
}

/// `m x mᵀ`, rows first: the forward transform with [`basis`], the inverse with its transpose.
fn separable(m: &Block, x: &Block) -> Block {
    let mut rows = [[0f32; 8]; 8];
    for i in 0..8 {
        for j in 0..8 {
            rows[i][j] = (0..8).map(|k| m[j][k] * x[i][k]).sum();
        }
    }
    let mut out = [[0f32; 8]; 8];
    for i in 0..8 {
        for j in 0..8 {
            out[i][j] = (0..8).map(|k| m[i][k] * rows[k][j]).sum();
        }
    }
    out
}

/// JFIF's full-range YCbCr of one pixel.
fn ycbcr(p: [u8; 4]) -> [f32; 3] {
    let [r, g, b] = [p[0] as f32, p[1] as f32, p[2] as f32];
    [
        0.299 * r + 0.587 * g + 0.114 * b,
        -0.168_736 * r - 0.331_264 * g + 0.5 * b + 128.0,
        0.5 * r - 0.418_688 * g - 0.081_312 * b + 128.0,
    ]
}

fn rgb(ycc: [f32; 3]) -> [u8; 3] {
    let [y, cb, cr] = [ycc[0], ycc[1] - 128.0, ycc[2] - 128.0];
    [
        y + 1.402 * cr,
        y - 0.344_136 * cb - 0.714_136 * cr,
        y + 1.772 * cb,
    ]
    .map(|v| v.round().clamp(0.0, 255.0) as u8)
}

/// Moves `restored`'s coefficients, block by block on the file's grid (the top left corner),
/// into the intervals that `input`'s (the decoded file's) quantized coefficients stand for:
/// luma always, chroma where the file kept it at full resolution. Blocks cut by the right
/// or bottom edge are left as they are (the encoder padded them with pixels no one kept).
// Index loops: pixels and coefficients are addressed as the transform's formulas write them.
#[allow(clippy::needless_range_loop)]
pub fn constrain(
    input: &RgbaImage,
    restored: &mut RgbaImage,
    tables: &QuantTables,
    full_chroma: bool,
) {
    let b = basis();
    let bt = transposed(&b);
    let chroma = tables.chroma.filter(|_| full_chroma);
    let (bw, bh) = (input.width() / 8, input.height() / 8);
    for by in 0..bh {
        for bx in 0..bw {
            let mut planes_in = [[[0f32; 8]; 8]; 3];
            let mut planes_out = [[[0f32; 8]; 8]; 3];
            for y in 0..8 {
                for x in 0..8 {
                    let (px, py) = (bx * 8 + x as u32, by * 8 + y as u32);
                    let [a, c] = [
                        ycbcr(input.get_pixel(px, py).0),
                        ycbcr(restored.get_pixel(px, py).0),
                    ];
                    for ch in 0..3 {
                        planes_in[ch][y][x] = a[ch] - 128.0;
                        planes_out[ch][y][x] = c[ch] - 128.0;
                    }
                }
            }
            let mut changed = false;
            for (ch, table) in [Some(&tables.luma), chroma.as_ref(), chroma.as_ref()]
                .into_iter()
                .enumerate()
            {
                let Some(table) = table else { continue };
                let (fin, mut fout) = (
                    separable(&b, &planes_in[ch]),
                    separable(&b, &planes_out[ch]),
                );
                let mut moved = false;
                for v in 0..8 {
                    for u in 0..8 {
                        let q = table[v][u].max(1) as f32;
                        // The stored coefficient: the step nearest the decoded one. Widening
                        // the interval for the decoder's rounding (by half a level) only lost
                        // on 40 training photos and on CBSD68's 302008 at q 92 4:4:4.
                        let centre = (fin[v][u] / q).round() * q;
                        let (lo, hi) = (centre - q / 2.0, centre + q / 2.0);
                        let c = fout[v][u].clamp(lo, hi);
                        if c != fout[v][u] {
                            fout[v][u] = c;
                            moved = true;
                        }
                    }
                }
                if moved {
                    planes_out[ch] = separable(&bt, &fout);
                    changed = true;
                }
            }
            if !changed {
                continue;
            }
            for y in 0..8 {
                for x in 0..8 {
                    let p = restored.get_pixel_mut(bx * 8 + x as u32, by * 8 + y as u32);
                    let ycc = [0, 1, 2].map(|ch| planes_out[ch][y][x] + 128.0);
                    let [r, g, bl] = rgb(ycc);
                    p.0[..3].copy_from_slice(&[r, g, bl]);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::degrade::JpegSettings;
    use crate::jpeg_file::JpegFile;
    use image::{Rgb, RgbImage};

    /// Texture in luma (the same in every channel) over a smooth colour gradient.
    fn photo() -> RgbImage {
        RgbImage::from_fn(96, 64, |x, y| {
            let t = (x as f32 * 0.9).sin() * 40.0
                + (y as f32 * 0.7).cos() * 30.0
                + ((x * y) % 11) as f32 * 3.0;
            Rgb([
                120.0 + t + x as f32 * 0.3,
                110.0 + t,
                100.0 + t + y as f32 * 0.4,
            ]
            .map(|v| v.clamp(0.0, 255.0) as u8))
        })
    }

    fn mse(a: &RgbaImage, b: &RgbImage) -> f64 {
        let n = (a.width() * a.height() * 3) as f64;
        a.pixels()
            .zip(b.pixels())
            .flat_map(|(p, q)| (0..3).map(move |c| (p[c] as f64 - q[c] as f64).powi(2)))
            .sum::<f64>()
            / n
    }

    #[test]
    fn the_transform_is_orthonormal() {
        let b = basis();
        let block: Block =
            std::array::from_fn(|y| std::array::from_fn(|x| (x * 7 + y * 3) as f32 - 20.0));
        let back = separable(&transposed(&b), &separable(&b, &block));
        for y in 0..8 {
            for x in 0..8 {
                assert!((back[y][x] - block[y][x]).abs() < 1e-3);
            }
        }
    }

    #[test]
    fn a_restore_that_strays_is_brought_back_towards_the_original() {
        for (quality, full_chroma) in [(90, true), (50, false), (90, false)] {
            let clean = photo();
            let settings = JpegSettings {
                quality,
                full_chroma,
                progressive: false,
            };
            let bytes = settings.encode(&clean).unwrap();
            let file = JpegFile::read(&bytes).unwrap();
            let decoded = image::load_from_memory(&bytes).unwrap().to_rgba8();
            // A "restore" that blurs: far outside what the file allows.
            let mut restored = image::imageops::blur(&decoded, 2.0);
            let before = mse(&restored, &clean);
            constrain(
                &decoded,
                &mut restored,
                file.tables.as_ref().unwrap(),
                file.full_chroma,
            );
            let after = mse(&restored, &clean);
            assert!(
                after < before * 0.7,
                "q {quality} {full_chroma}: {before} -> {after}"
            );
            // The decoded file itself is inside: it is left as it was.
            let mut same = decoded.clone();
            constrain(
                &decoded,
                &mut same,
                file.tables.as_ref().unwrap(),
                file.full_chroma,
            );
            let moved = same
                .pixels()
                .zip(decoded.pixels())
                .filter(|(a, b)| a != b)
                .count();
            assert!(
                moved < 10,
                "q {quality}: {moved} pixels of the decoded file moved"
            );
        }
    }
}
