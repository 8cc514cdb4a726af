//! Direct loops for the CPU backend's [`ModelBackend`](super::ModelBackend) operations, on
//! row-major f32 slices. Inner loops run along a row of pixels, so the compiler vectorises them;
//! each kernel is compiled for several instruction sets (AVX-512, AVX2, ...) and the widest the
//! processor has is chosen at run time. Helpers are inlined so that they get the same width.

use multiversion::multiversion;

use std::f32::consts::{FRAC_1_SQRT_2, FRAC_2_SQRT_PI};

use super::l2_norm::MIN_SQUARED;
use super::layer_norm::EPS;

/// A depthwise convolution with "same" zero padding: `x` is [b, c, h, w], `weight` [c, 1, k, k].
#[multiversion(targets = "simd")]
pub fn depthwise_conv(x: &[f32], weight: &[f32], [b, c, h, w]: [usize; 4], k: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; x.len()];
    for (plane, (xs, os)) in x
        .chunks_exact(h * w)
        .zip(out.chunks_exact_mut(h * w))
        .enumerate()
        .take(b * c)
    {
        let taps = &weight[(plane % c) * k * k..][..k * k];
        for (i, row) in os.chunks_exact_mut(w).enumerate() {
            depthwise_row(row, xs, taps, i, k);
        }
    }
    out
}

/// Output row i of a depthwise convolution of the plane `xs` (rows of `row.len()` pixels) with
/// the k x k `taps`, added into `row` (zeros on entry).
#[inline(always)]
fn depthwise_row(row: &mut [f32], xs: &[f32], taps: &[f32], i: usize, k: usize) {
    let w = row.len();
    let h = xs.len() / w;
    let p = k / 2;
    if k == 3 && (1..h.saturating_sub(1)).contains(&i) && w >= 3 {
        let rows = [
            &xs[(i - 1) * w..][..w],
            &xs[i * w..][..w],
            &xs[(i + 1) * w..][..w],
        ];
        return depthwise_row_3x3(row, rows, taps.try_into().unwrap());
    }
    // Otherwise a pass over the row a tap.
    for ky in 0..k {
        let Some(src) = source_row(i, ky, p, h) else {
            continue;
        };
        let xr = &xs[src * w..][..w];
        for kx in 0..k {
            let t = taps[ky * k + kx];
            // A pruned tap adds nothing.
            if t == 0.0 {
                continue;
            }
            let Some((j0, j1)) = output_columns(w, p, kx) else {
                continue;
            };
            let xs = &xr[j0 + kx - p..j1 + kx - p];
            for (o, v) in row[j0..j1].iter_mut().zip(xs) {
                *o += t * v;
            }
        }
    }
}

/// One output row of a 3x3 depthwise convolution whose three input rows are all inside the
/// image: the nine taps in one pass (the output read and written once, not once a tap), in the
/// (ky, kx) order of the pass-a-tap loop, so the sums are the same for finite inputs.
#[inline(always)]
fn depthwise_row_3x3(row: &mut [f32], [r0, r1, r2]: [&[f32]; 3], t: &[f32; 9]) {
    let w = row.len();
    let n = w - 2;
    let (a0, b0, c0) = (&r0[..n], &r0[1..][..n], &r0[2..][..n]);
    let (a1, b1, c1) = (&r1[..n], &r1[1..][..n], &r1[2..][..n]);
    let (a2, b2, c2) = (&r2[..n], &r2[1..][..n], &r2[2..][..n]);
    let out = &mut row[1..][..n];
    for j in 0..n {
        out[j] = t[0] * a0[j]
            + t[1] * b0[j]
            + t[2] * c0[j]
            + t[3] * a1[j]
            + t[4] * b1[j]
            + t[5] * c1[j]
            + t[6] * a2[j]
            + t[7] * b2[j]
            + t[8] * c2[j];
    }
    // The two edge columns, without the taps that fall outside the row.
    row[0] =
        t[1] * r0[0] + t[2] * r0[1] + t[4] * r1[0] + t[5] * r1[1] + t[7] * r2[0] + t[8] * r2[1];
    row[w - 1] = t[0] * r0[w - 2]
        + t[1] * r0[w - 1]
        + t[3] * r1[w - 2]
        + t[4] * r1[w - 1]
        + t[6] * r2[w - 2]
        + t[7] * r2[w - 1];
}

/// The unfolded columns of `x` [b, c, h, w] for a k x k convolution with "same" zero padding:
/// [b, c·k², h·w], row (ch·k + ky)·k + kx holding x[.., ch, i + ky − p, j + kx − p].
#[multiversion(targets = "simd")]
pub fn im2col(x: &[f32], [b, c, h, w]: [usize; 4], k: usize) -> Vec<f32> {
    let p = k / 2;
    let mut cols = vec![0.0f32; b * c * k * k * h * w];
    for (plane, xs) in x.chunks_exact(h * w).enumerate().take(b * c) {
        for ky in 0..k {
            for kx in 0..k {
                let row = (plane * k + ky) * k + kx;
                let out = &mut cols[row * h * w..][..h * w];
                for_shifted_rows(h, w, k, ky, kx, |i, src, j0, j1| {
                    out[i * w + j0..i * w + j1]
                        .copy_from_slice(&xs[src * w + j0 + kx - p..][..j1 - j0]);
                });
            }
        }
    }
    cols
}

/// The adjoint of [`im2col`]: each column value added back to the pixel it was read from.
#[multiversion(targets = "simd")]
pub fn col2im(cols: &[f32], [b, c, h, w]: [usize; 4], k: usize) -> Vec<f32> {
    let p = k / 2;
    let mut x = vec![0.0f32; b * c * h * w];
    for (plane, xs) in x.chunks_exact_mut(h * w).enumerate().take(b * c) {
        for ky in 0..k {
            for kx in 0..k {
                let row = (plane * k + ky) * k + kx;
                let col = &cols[row * h * w..][..h * w];
                for_shifted_rows(h, w, k, ky, kx, |i, src, j0, j1| {
                    let dst = &mut xs[src * w + j0 + kx - p..][..j1 - j0];
                    for (d, v) in dst.iter_mut().zip(&col[i * w + j0..i * w + j1]) {
                        *d += v;
                    }
                });
            }
        }
    }
    x
}

/// For tap (ky, kx) of a k x k "same" convolution over an h x w plane: calls
/// `f(i, src, j0, j1)` for each output row i whose input row src = i + ky − p is inside the
/// image, with j0..j1 the output columns whose input column j + kx − p is inside too.
#[inline(always)]
fn for_shifted_rows(
    h: usize,
    w: usize,
    k: usize,
    ky: usize,
    kx: usize,
    mut f: impl FnMut(usize, usize, usize, usize),
) {
    let p = k / 2;
    let Some((j0, j1)) = output_columns(w, p, kx) else {
        return;
    };
    for i in 0..h {
        if let Some(src) = source_row(i, ky, p, h) {
            f(i, src, j0, j1);
        }
    }
}

/// The input row i + ky − p that output row i reads at kernel row ky, when inside the image.
#[inline(always)]
fn source_row(i: usize, ky: usize, p: usize, h: usize) -> Option<usize> {
    (i + ky).checked_sub(p).filter(|&r| r < h)
}

/// The output columns j0..j1 whose input column j + kx − p is inside a row of width w.
#[inline(always)]
fn output_columns(w: usize, p: usize, kx: usize) -> Option<(usize, usize)> {
    let (j0, j1) = (p.saturating_sub(kx), (w + p).saturating_sub(kx).min(w));
    (j0 < j1).then_some((j0, j1))
}

/// dW[c, ky, kx] = Σ over batch and pixels of x[.., c, i + ky - p, j + kx - p] · grad[.., c, i, j]
/// with zeros outside the image; `x` and `grad` are [b, c, h, w].
#[multiversion(targets = "simd")]
pub fn depthwise_weight_grad(
    x: &[f32],
    grad: &[f32],
    [b, c, h, w]: [usize; 4],
    k: usize,
) -> Vec<f32> {
    let p = (k / 2) as isize;
    let mut out = vec![0.0f32; c * k * k];
    for plane in 0..b * c {
        let ch = plane % c;
        let xs = &x[plane * h * w..][..h * w];
        let gs = &grad[plane * h * w..][..h * w];
        for ky in 0..k {
            let dy = ky as isize - p;
            let rows = (0isize.max(-dy) as usize)..((h as isize).min(h as isize - dy) as usize);
            for kx in 0..k {
                let dx = kx as isize - p;
                let j0 = 0isize.max(-dx) as usize;
                let j1 = (w as isize).min(w as isize - dx) as usize;
                let mut acc = 0.0f32;
                for i in rows.clone() {
                    let x_row = ((i as isize + dy) as usize) * w;
                    let xr = &xs[x_row + (j0 as isize + dx) as usize..][..j1 - j0];
                    let gr = &gs[i * w + j0..i * w + j1];
                    acc += dot(xr, gr);
                }
                out[(ch * k + ky) * k + kx] += acc;
            }
        }
    }
    out
}

/// Σ a·b in eight running sums, an order the compiler may vectorise (one running sum it may not).
#[inline(always)]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let (a8, b8) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = a8
        .remainder()
        .iter()
        .zip(b8.remainder())
        .map(|(x, y)| x * y)
        .sum();
    let mut lanes = [0.0f32; 8];
    for (x, y) in a8.zip(b8) {
        for l in 0..8 {
            lanes[l] += x[l] * y[l];
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// Per pixel of one image `x` [c, hw]: the channel mean and 1 / standard deviation.
#[inline(always)]
fn pixel_stats(x: &[f32], c: usize, hw: usize) -> (Vec<f32>, Vec<f32>) {
    let inv_c = 1.0 / c as f32;
    let mut mean = vec![0.0f32; hw];
    for row in x.chunks_exact(hw) {
        mean.iter_mut().zip(row).for_each(|(m, v)| *m += v);
    }
    mean.iter_mut().for_each(|m| *m *= inv_c);
    let mut var = vec![0.0f32; hw];
    for row in x.chunks_exact(hw) {
        for ((s, v), m) in var.iter_mut().zip(row).zip(&mean) {
            *s += (v - m) * (v - m);
        }
    }
    let rstd = var.iter().map(|s| 1.0 / (s * inv_c + EPS).sqrt()).collect();
    (mean, rstd)
}

/// y = (x − mean) / std · weight + bias across the channels of each pixel; `x` is [b, c, h, w].
#[multiversion(targets = "simd")]
pub fn layer_norm(x: &[f32], weight: &[f32], bias: &[f32], [b, c, h, w]: [usize; 4]) -> Vec<f32> {
    let hw = h * w;
    let mut y = vec![0.0f32; x.len()];
    for (xi, yi) in x
        .chunks_exact(c * hw)
        .zip(y.chunks_exact_mut(c * hw))
        .take(b)
    {
        let (mean, rstd) = pixel_stats(xi, c, hw);
        for (ch, (xr, yr)) in xi.chunks_exact(hw).zip(yi.chunks_exact_mut(hw)).enumerate() {
            let (g, s) = (weight[ch], bias[ch]);
            for (((y, v), m), r) in yr.iter_mut().zip(xr).zip(&mean).zip(&rstd) {
                *y = (v - m) * r * g + s;
            }
        }
    }
    y
}

/// The gradients of [`layer_norm`] with respect to x, weight and bias, given the output's
/// gradient `grad`: with x̂ the normalised input and g = grad · weight,
/// dx = (g − mean_c(g) − x̂ · mean_c(g · x̂)) / std, dweight = Σ grad · x̂, dbias = Σ grad.
#[multiversion(targets = "simd")]
pub fn layer_norm_backward(
    x: &[f32],
    weight: &[f32],
    grad: &[f32],
    [b, c, h, w]: [usize; 4],
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let hw = h * w;
    let inv_c = 1.0 / c as f32;
    let mut dx = vec![0.0f32; x.len()];
    let (mut dweight, mut dbias) = (vec![0.0f32; c], vec![0.0f32; c]);
    let mut xhat = vec![0.0f32; c * hw];
    let images = x.chunks_exact(c * hw).zip(grad.chunks_exact(c * hw));
    for ((xi, gi), dxi) in images.zip(dx.chunks_exact_mut(c * hw)).take(b) {
        let (mean, rstd) = pixel_stats(xi, c, hw);
        let (mut mean_g, mut mean_gx) = (vec![0.0f32; hw], vec![0.0f32; hw]);
        for (ch, (xr, gr)) in xi.chunks_exact(hw).zip(gi.chunks_exact(hw)).enumerate() {
            let xh = &mut xhat[ch * hw..][..hw];
            let (mut sum_g, mut sum_gx) = (0.0f32, 0.0f32);
            for i in 0..hw {
                xh[i] = (xr[i] - mean[i]) * rstd[i];
                let g = gr[i] * weight[ch];
                mean_g[i] += g;
                mean_gx[i] += g * xh[i];
                sum_g += gr[i];
                sum_gx += gr[i] * xh[i];
            }
            dbias[ch] += sum_g;
            dweight[ch] += sum_gx;
        }
        for ch in 0..c {
            let (xh, gr) = (&xhat[ch * hw..][..hw], &gi[ch * hw..][..hw]);
            let dr = &mut dxi[ch * hw..][..hw];
            for i in 0..hw {
                let g = gr[i] * weight[ch];
                dr[i] = (g - mean_g[i] * inv_c - xh[i] * mean_gx[i] * inv_c) * rstd[i];
            }
        }
    }
    (dx, dweight, dbias)
}

/// `gelu(a) * b` elementwise, GELU exact (with erf) as PyTorch's default: the feed-forward gate.
/// One pass, and an erf the compiler vectorises, where libm's is a scalar call per value.
#[multiversion(targets = "simd")]
pub fn gelu_gate(a: &[f32], b: &[f32]) -> Vec<f32> {
    a.iter()
        .zip(b)
        .map(|(&a, &b)| 0.5 * a * (1.0 + erf(a * FRAC_1_SQRT_2)) * b)
        .collect()
}

/// The gradients of [`gelu_gate`] given its output's `grad`: with Φ and φ the normal
/// distribution and density, da = grad · b · (Φ(a) + a · φ(a)) and db = grad · a · Φ(a).
#[multiversion(targets = "simd")]
pub fn gelu_gate_backward(a: &[f32], b: &[f32], grad: &[f32]) -> (Vec<f32>, Vec<f32>) {
    const INV_SQRT_2PI: f32 = 0.5 * FRAC_2_SQRT_PI * FRAC_1_SQRT_2;
    let (mut da, mut db) = (vec![0.0f32; a.len()], vec![0.0f32; a.len()]);
    for ((((&a, &b), &g), da), db) in a.iter().zip(b).zip(grad).zip(&mut da).zip(&mut db) {
        let cdf = 0.5 * (1.0 + erf(a * FRAC_1_SQRT_2));
        let pdf = exp(-0.5 * a * a) * INV_SQRT_2PI;
        *da = g * b * (cdf + a * pdf);
        *db = g * a * cdf;
    }
    (da, db)
}

/// e^x, Cephes' polynomial for `expf` (within a couple of units in the last place), which the
/// compiler vectorises where libm's is a scalar call per value. Below −87 it gives about 1e-38,
/// not 0 or a subnormal; above 88, about 1.6e38, not infinity.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    let n = (x * std::f32::consts::LOG2_E).round();
    // x − n·ln 2 in two parts, so that the reduction is exact to f32.
    let r = x - n * 0.693_359_4 + n * 2.121_944_4e-4;
    let mut p = 1.987_569_1e-4;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5;
    let e = p * r * r + r + 1.0;
    e * f32::from_bits(((n as i32 + 127) as u32) << 23)
}

/// Each row of `x` (rows of `n` values) divided by its length, clamped to at least 1e-12.
#[multiversion(targets = "simd")]
pub fn l2_normalize(x: &[f32], n: usize) -> Vec<f32> {
    let mut y = vec![0.0f32; x.len()];
    for (xs, ys) in x.chunks_exact(n).zip(y.chunks_exact_mut(n)) {
        let norm = dot(xs, xs).max(MIN_SQUARED).sqrt();
        for (y, &x) in ys.iter_mut().zip(xs) {
            *y = x / norm;
        }
    }
    y
}

/// The gradient of [`l2_normalize`] given its output's `grad`: with n the clamped length,
/// dx = (grad − x · Σ grad · x / n²) / n, the sum dropped where the clamp holds n constant.
#[multiversion(targets = "simd")]
pub fn l2_normalize_backward(x: &[f32], grad: &[f32], n: usize) -> Vec<f32> {
    let mut dx = vec![0.0f32; x.len()];
    let rows = x.chunks_exact(n).zip(grad.chunks_exact(n));
    for ((xs, gs), ds) in rows.zip(dx.chunks_exact_mut(n)) {
        let squared = dot(xs, xs);
        let norm = squared.max(MIN_SQUARED).sqrt();
        let along = if squared > MIN_SQUARED {
            dot(gs, xs) / (norm * norm)
        } else {
            0.0
        };
        for ((d, &g), &x) in ds.iter_mut().zip(gs).zip(xs) {
            *d = (g - x * along) / norm;
        }
    }
    dx
}

/// erf as a ratio of polynomials on [-4, 4] (beyond, ±1 to f32 precision): the approximation of
/// Eigen and XLA, within a few units in the last place.
#[inline(always)]
pub fn erf(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let mut p = x2 * -2.726_142_3e-10 + 2.770_681_4e-8;
    p = x2 * p - 2.101_024e-6;
    p = x2 * p - 5.692_506_4e-5;
    p = x2 * p - 7.349_906_3e-4;
    p = x2 * p - 2.954_6e-3;
    p = x2 * p - 1.609_603_3e-2;
    let mut q = x2 * -1.456_607_2e-5 - 2.133_740_6e-4;
    q = x2 * q - 1.682_827e-3;
    q = x2 * q - 7.373_329e-3;
    q = x2 * q - 1.426_474e-2;
    x * p / q
}

/// A 1x1 convolution from a mostly-zero weight: `x` is [b, c, hw], `weight` [o, c]; the result is
/// [b, o, hw]. Each output row adds up the input rows its non-zero weights name, so the work is
/// proportional to the non-zeros; pixels go in blocks that keep those input rows in cache.
#[multiversion(targets = "simd")]
pub fn sparse_pointwise(x: &[f32], weight: &[f32], [b, c, hw]: [usize; 3], o: usize) -> Vec<f32> {
    const BLOCK: usize = 2048;
    let rows: Vec<Vec<(usize, f32)>> = weight
        .chunks_exact(c)
        .map(|row| {
            row.iter()
                .enumerate()
                .filter(|&(_, &w)| w != 0.0)
                .map(|(i, &w)| (i, w))
                .collect()
        })
        .collect();
    let mut out = vec![0.0f32; b * o * hw];
    for (xs, os) in x.chunks_exact(c * hw).zip(out.chunks_exact_mut(o * hw)) {
        for start in (0..hw).step_by(BLOCK) {
            let len = BLOCK.min(hw - start);
            for (r, row) in rows.iter().enumerate() {
                let dst = &mut os[r * hw + start..][..len];
                let src = |i: usize| &xs[i * hw + start..][..len];
                // Four non-zeros a pass, so that the output is read and written once for four;
                // the sum keeps the order of a pass each.
                let quads = row.chunks_exact(4);
                let rest = quads.remainder();
                for q in quads {
                    let (w0, w1, w2, w3) = (q[0].1, q[1].1, q[2].1, q[3].1);
                    let (s0, s1, s2, s3) = (src(q[0].0), src(q[1].0), src(q[2].0), src(q[3].0));
                    for j in 0..len {
                        dst[j] = dst[j] + w0 * s0[j] + w1 * s1[j] + w2 * s2[j] + w3 * s3[j];
                    }
                }
                for &(i, w) in rest {
                    for (d, s) in dst.iter_mut().zip(src(i)) {
                        *d += w * s;
                    }
                }
            }
        }
    }
    out
}

/// A k x k convolution with "same" zero padding from a mostly-zero weight: `x` is [b, c, h, w],
/// `weight` [o, c, k, k]; the result is [b, o, h, w]. Each output plane adds up the shifted input
/// rows its non-zero weights name, so the work is proportional to the non-zeros; rows go in
/// bands that keep an output plane's band in cache while its taps add into it.
#[multiversion(targets = "simd")]
pub fn sparse_conv(
    x: &[f32],
    weight: &[f32],
    [b, c, h, w]: [usize; 4],
    o: usize,
    k: usize,
) -> Vec<f32> {
    let band = (4096 / w).max(1);
    let p = k / 2;
    // Per output channel: (input channel, ky, kx, value) of each non-zero.
    let taps: Vec<Vec<(usize, usize, usize, f32)>> = weight
        .chunks_exact(c * k * k)
        .map(|row| {
            row.iter()
                .enumerate()
                .filter(|&(_, &v)| v != 0.0)
                .map(|(i, &v)| (i / (k * k), i / k % k, i % k, v))
                .collect()
        })
        .collect();
    let mut out = vec![0.0f32; b * o * h * w];
    for (xs, os) in x
        .chunks_exact(c * h * w)
        .zip(out.chunks_exact_mut(o * h * w))
    {
        for top in (0..h).step_by(band) {
            let rows = top..(top + band).min(h);
            for (plane, taps) in os.chunks_exact_mut(h * w).zip(&taps) {
                for &(ch, ky, kx, v) in taps {
                    let Some((j0, j1)) = output_columns(w, p, kx) else {
                        continue;
                    };
                    let input = &xs[ch * h * w..][..h * w];
                    for i in rows.clone() {
                        let Some(src) = source_row(i, ky, p, h) else {
                            continue;
                        };
                        let xs = &input[src * w + j0 + kx - p..][..j1 - j0];
                        for (d, s) in plane[i * w + j0..i * w + j1].iter_mut().zip(xs) {
                            *d += v * s;
                        }
                    }
                }
            }
        }
    }
    out
}

/// PixelShuffle(2): `x` [b, 4c, h, w] to [b, c, 2h, 2w]; output channel c at (2y + i, 2x + j)
/// reads input channel 4c + 2i + j at (y, x). Each output row interleaves two input rows.
pub fn pixel_shuffle(x: &[f32], [b, c, h, w]: [usize; 4]) -> Vec<f32> {
    let mut out = vec![0.0f32; x.len()];
    for (plane, os) in out.chunks_exact_mut(4 * h * w).enumerate().take(b * c / 4) {
        let xs = &x[plane * 4 * h * w..][..4 * h * w];
        for (r, row) in os.chunks_exact_mut(2 * w).enumerate() {
            let (y, i) = (r / 2, r % 2);
            let left = &xs[(2 * i * h + y) * w..][..w];
            let right = &xs[((2 * i + 1) * h + y) * w..][..w];
            for ((pair, &l), &r) in row.chunks_exact_mut(2).zip(left).zip(right) {
                pair.copy_from_slice(&[l, r]);
            }
        }
    }
    out
}

/// PixelUnshuffle(2), the inverse of [`pixel_shuffle`]: `x` [b, c, h, w] to [b, 4c, h/2, w/2].
pub fn pixel_unshuffle(x: &[f32], [b, c, h, w]: [usize; 4]) -> Vec<f32> {
    let (oh, ow) = (h / 2, w / 2);
    let mut out = vec![0.0f32; x.len()];
    for (plane, os) in out.chunks_exact_mut(4 * oh * ow).enumerate().take(b * c) {
        let xs = &x[plane * h * w..][..h * w];
        for r in 0..2 * oh {
            let (y, i) = (r / 2, r % 2);
            let src = &xs[r * w..][..2 * ow];
            let (left, right) = os[2 * i * oh * ow..][..2 * oh * ow].split_at_mut(oh * ow);
            let (left, right) = (&mut left[y * ow..][..ow], &mut right[y * ow..][..ow]);
            for ((pair, l), r) in src.chunks_exact(2).zip(left).zip(right) {
                (*l, *r) = (pair[0], pair[1]);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use burn::backend::Flex;
    use burn::tensor::{Tensor, TensorData};

    fn tensor<const D: usize>(values: &[f32], shape: [usize; D]) -> Tensor<Flex, D> {
        Tensor::from_data(TensorData::new(values.to_vec(), shape), &Default::default())
    }

    /// The largest |a - b| over a burn result `b`.
    fn largest_difference<const D: usize>(a: &[f32], b: Tensor<Flex, D>) -> f32 {
        let b = b.into_data().into_vec::<f32>().unwrap();
        a.iter()
            .zip(&b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max)
    }

    /// The fused gate against burn's GELU (libm's erf) on the CPU backend, over the whole range
    /// where GELU is not yet 0 or x, and beyond.
    #[test]
    fn gelu_gate_matches_burns_gelu() {
        let a: Vec<f32> = (-12_000..=12_000).map(|i| i as f32 * 1e-3).collect();
        let b: Vec<f32> = a.iter().map(|v| 1.0 - 0.3 * v.sin()).collect();
        let ours = super::gelu_gate(&a, &b);
        let reference =
            burn::tensor::activation::gelu(tensor(&a, [a.len()])) * tensor(&b, [b.len()]);
        let reference = reference.into_data().into_vec::<f32>().unwrap();
        let worst = ours
            .iter()
            .zip(&reference)
            .map(|(x, y)| (x - y).abs() / y.abs().max(1.0))
            .fold(0.0f32, f32::max);
        assert!(worst < 1e-6, "largest difference {worst}");
    }

    /// The vectorisable exp against libm's, over the range where it is neither 0 nor infinite.
    #[test]
    fn exp_matches_libms() {
        let worst = (-87_000..=88_000)
            .map(|i| i as f32 / 1e3)
            .map(|x| (super::exp(x) - x.exp()).abs() / x.exp())
            .fold(0.0f32, f32::max);
        assert!(worst < 3e-7, "largest relative difference {worst}");
    }

    /// The sparse 1x1 convolution against the matrix product, across a pixel-block boundary
    /// and with whole rows and columns of zeros.
    #[test]
    fn sparse_pointwise_matches_the_matrix_product() {
        let ([b, c, hw], o) = ([2, 5, 2_100], 7);
        let x: Vec<f32> = (0..b * c * hw)
            .map(|i| ((i * 7919) % 997) as f32 / 997.0 - 0.5)
            .collect();
        let w: Vec<f32> = (0..o * c)
            .map(|i| {
                if i % 3 == 0 && i / c != 2 && i % c != 4 {
                    i as f32 * 0.1 - 1.0
                } else {
                    0.0
                }
            })
            .collect();
        let ours = super::sparse_pointwise(&x, &w, [b, c, hw], o);
        let reference = tensor(&w, [1, o, c]).matmul(tensor(&x, [b, c, hw]));
        let worst = largest_difference(&ours, reference);
        assert!(worst < 1e-5, "largest difference {worst}");
    }

    /// The sparse k x k convolution against burn's, for k 1, 3 and 5, over several row bands,
    /// with whole output channels, input channels and taps of zeros.
    #[test]
    fn sparse_conv_matches_burns_convolution() {
        use burn::tensor::module::conv2d;
        use burn::tensor::ops::ConvOptions;
        let ([b, c, h, w], o) = ([2, 5, 37, 300], 7);
        let x: Vec<f32> = (0..b * c * h * w)
            .map(|i| ((i * 7919) % 997) as f32 / 997.0 - 0.5)
            .collect();
        for k in [1, 3, 5] {
            let weight: Vec<f32> = (0..o * c * k * k)
                .map(|i| {
                    let (out, ch) = (i / (c * k * k), i / (k * k) % c);
                    if i % 4 == 1 && out != 2 && ch != 4 {
                        (i % 13) as f32 * 0.1 - 0.6
                    } else {
                        0.0
                    }
                })
                .collect();
            let ours = super::sparse_conv(&x, &weight, [b, c, h, w], o, k);
            let options = ConvOptions::new([1, 1], [k / 2, k / 2], [1, 1], 1);
            let (x, weight) = (tensor(&x, [b, c, h, w]), tensor(&weight, [o, c, k, k]));
            let worst = largest_difference(&ours, conv2d(x, weight, None, options));
            assert!(worst < 1e-5, "k {k}: largest difference {worst}");
        }
    }

    /// The depthwise convolution against burn's grouped one, for k 3 and 5, on rows narrower
    /// than its window and wider, with pruned taps.
    #[test]
    fn depthwise_conv_matches_burns_convolution() {
        use burn::tensor::module::conv2d;
        use burn::tensor::ops::ConvOptions;
        let [b, c] = [2, 3];
        for (k, h, w) in [(3, 5, 1), (3, 4, 2), (5, 3, 4), (3, 9, 13), (5, 7, 30)] {
            let x: Vec<f32> = (0..b * c * h * w)
                .map(|i| ((i * 7919) % 997) as f32 / 997.0 - 0.5)
                .collect();
            let weight: Vec<f32> = (0..c * k * k)
                .map(|i| {
                    if i % 4 == 2 {
                        0.0
                    } else {
                        (i % 11) as f32 * 0.1 - 0.5
                    }
                })
                .collect();
            let ours = super::depthwise_conv(&x, &weight, [b, c, h, w], k);
            let options = ConvOptions::new([1, 1], [k / 2, k / 2], [1, 1], c);
            let (x, weight) = (tensor(&x, [b, c, h, w]), tensor(&weight, [c, 1, k, k]));
            let worst = largest_difference(&ours, conv2d(x, weight, None, options));
            assert!(worst < 1e-5, "k {k}, {h}x{w}: largest difference {worst}");
        }
    }

    /// The pixel (un)shuffle loops against burn's reshapes and permutations, both ways.
    #[test]
    fn pixel_shuffles_match_burns_permutation() {
        use crate::ops::convert::{float, primitive};
        use crate::ops::shuffle::{pixel_shuffle_by_burn, pixel_unshuffle_by_burn};
        use burn::tensor::ops::FloatTensor;
        let [b, c, h, w] = [2, 8, 6, 10];
        let x: Vec<f32> = (0..b * c * h * w).map(|i| i as f32).collect();
        let burn = |f: fn(FloatTensor<Flex>) -> FloatTensor<Flex>| {
            float::<Flex, 4>(f(primitive(tensor(&x, [b, c, h, w]))))
        };
        let ours = super::pixel_shuffle(&x, [b, c, h, w]);
        assert_eq!(
            largest_difference(&ours, burn(pixel_shuffle_by_burn::<Flex>)),
            0.0
        );
        let ours = super::pixel_unshuffle(&x, [b, c, h, w]);
        assert_eq!(
            largest_difference(&ours, burn(pixel_unshuffle_by_burn::<Flex>)),
            0.0
        );
        let back = super::pixel_shuffle(&ours, [b, 4 * c, h / 2, w / 2]);
        assert_eq!(back, x);
    }
}
