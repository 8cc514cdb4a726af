//! A photo's tones kept through a restore: the output's local means (over cells of 8x8
//! pixels, smoothed over about 24 pixels) are moved back to the input's. Noise, JPEG blocks
//! and rain streaks live below that scale and stay removed; what dehazing changes (brightness
//! and contrast over large areas) returns to what the photo had. Only the cell means are
//! kept, so a 32-megapixel photo needs about 12 MB here.

use image::RgbaImage;

/// Side of the cells whose means are kept, in pixels (the JPEG block).
const CELL: usize = 8;
/// Standard deviation of the smoothing over cells, in cells.
const SIGMA: f32 = 3.0;

/// The cell means of an image, per colour channel.
pub struct Tone {
    cols: usize,
    rows: usize,
    /// [row][column][channel].
    means: Vec<f32>,
}

impl Tone {
    /// The cell means of `img` (alpha ignored; partial cells at the edges average what they hold).
    pub fn of(img: &RgbaImage) -> Self {
        let (w, h) = (img.width() as usize, img.height() as usize);
        let (cols, rows) = (w.div_ceil(CELL), h.div_ceil(CELL));
        let mut sums = vec![0f32; cols * rows * 3];
        for (x, y, p) in img.enumerate_pixels() {
            let cell = (y as usize / CELL * cols + x as usize / CELL) * 3;
            for c in 0..3 {
                sums[cell + c] += p.0[c] as f32;
            }
        }
        for row in 0..rows {
            let ch = (h - row * CELL).min(CELL);
            for col in 0..cols {
                let n = (ch * (w - col * CELL).min(CELL)) as f32;
                for v in &mut sums[(row * cols + col) * 3..][..3] {
                    *v /= n;
                }
            }
        }
        Self {
            cols,
            rows,
            means: sums,
        }
    }

    /// smooth(input − out) over the cells.
    fn smoothed_difference(&self, out: &RgbaImage) -> Vec<f32> {
        let now = Tone::of(out);
        assert_eq!((now.cols, now.rows), (self.cols, self.rows), "sizes differ");
        let diff: Vec<f32> = self
            .means
            .iter()
            .zip(&now.means)
            .map(|(a, b)| a - b)
            .collect();
        self.smooth(&diff)
    }

    /// Moves `out`'s smoothed cell means to this input's: `out += smooth(input − out)`,
    /// interpolated between cell centres. `out` has the input's size.
    pub fn apply_to(&self, out: &mut RgbaImage) {
        let diff = self.smoothed_difference(out);
        let (cols, rows) = (self.cols, self.rows);
        // Position of a pixel between cell centres: index of the cell before and the weight of
        // the one after.
        let place = |p: u32, n: usize| {
            let f = ((p as f32 + 0.5) / CELL as f32 - 0.5).clamp(0.0, (n - 1) as f32);
            let i = (f as usize).min(n.saturating_sub(2));
            (i, (i + 1).min(n - 1), f - i as f32)
        };
        let xs: Vec<_> = (0..out.width()).map(|x| place(x, cols)).collect();
        for y in 0..out.height() {
            let (r0, r1, ty) = place(y, rows);
            for (x, &(c0, c1, tx)) in xs.iter().enumerate() {
                let at = |r: usize, c: usize, k: usize| diff[(r * cols + c) * 3 + k];
                let p = out.get_pixel_mut(x as u32, y);
                for k in 0..3 {
                    let top = at(r0, c0, k) * (1.0 - tx) + at(r0, c1, k) * tx;
                    let bottom = at(r1, c0, k) * (1.0 - tx) + at(r1, c1, k) * tx;
                    let d = top * (1.0 - ty) + bottom * ty;
                    p.0[k] = (p.0[k] as f32 + d).round().clamp(0.0, 255.0) as u8;
                }
            }
        }
    }

    /// Gaussian smoothing over the cell grid, separable; weights renormalised at the edges so
    /// that the border keeps its level.
    fn smooth(&self, values: &[f32]) -> Vec<f32> {
        let radius = (3.0 * SIGMA).ceil() as isize;
        let kernel: Vec<f32> = (-radius..=radius)
            .map(|d| (-(d * d) as f32 / (2.0 * SIGMA * SIGMA)).exp())
            .collect();
        let pass = |src: &[f32], len: usize, stride: usize, lines: usize, step: usize| {
            let mut dst = vec![0f32; src.len()];
            for line in 0..lines {
                for i in 0..len {
                    let (mut acc, mut norm) = ([0f32; 3], 0f32);
                    for (k, &w) in kernel.iter().enumerate() {
                        let j = i as isize + k as isize - radius;
                        if j < 0 || j >= len as isize {
                            continue;
                        }
                        let at = (line * step + j as usize * stride) * 3;
                        for c in 0..3 {
                            acc[c] += w * src[at + c];
                        }
                        norm += w;
                    }
                    let at = (line * step + i * stride) * 3;
                    for c in 0..3 {
                        dst[at + c] = acc[c] / norm;
                    }
                }
            }
            dst
        };
        let across = pass(values, self.cols, 1, self.rows, self.cols);
        pass(&across, self.rows, self.cols, self.cols, 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgba;

    fn photo() -> RgbaImage {
        RgbaImage::from_fn(101, 67, |x, y| {
            Rgba([
                (x * 2) as u8,
                (50 + y * 3) as u8,
                ((x * y) % 200) as u8,
                255,
            ])
        })
    }

    #[test]
    fn a_darkened_copy_gets_its_tones_back_and_detail_stays() {
        let input = photo();
        let mut out = input.clone();
        // A smooth darkening, as a false dehaze makes, plus fine detail the network changed.
        for (x, y, p) in out.enumerate_pixels_mut() {
            let dark = 40.0 * (1.0 - x as f32 / 101.0);
            let detail = if (x + y) % 2 == 0 { 6.0 } else { -6.0 };
            for c in 0..3 {
                p.0[c] = (p.0[c] as f32 - dark + detail).clamp(0.0, 255.0) as u8;
            }
        }
        Tone::of(&input).apply_to(&mut out);
        let (mut tone_err, mut detail) = (0f32, 0f32);
        for y in 8..59 {
            for x in 8..93 {
                let (a, b) = (input.get_pixel(x, y).0, out.get_pixel(x, y).0);
                let d = b[1] as f32 - a[1] as f32;
                tone_err += d;
                detail += d.abs();
            }
        }
        let n = (51 * 85) as f32;
        assert!((tone_err / n).abs() < 1.0, "mean shift {}", tone_err / n);
        assert!(
            detail / n > 4.0,
            "the ±6 detail should stay: {}",
            detail / n
        );
    }

    #[test]
    fn the_input_itself_is_unchanged() {
        let input = photo();
        let mut out = input.clone();
        Tone::of(&input).apply_to(&mut out);
        assert_eq!(out, input);
        let mut tiny = RgbaImage::from_pixel(3, 5, Rgba([9, 8, 7, 255]));
        Tone::of(&tiny.clone()).apply_to(&mut tiny);
        assert_eq!(tiny.get_pixel(2, 4).0, [9, 8, 7, 255]);
    }
}
