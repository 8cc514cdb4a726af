//! Whole-image restoration: any size of 8-bit grey, RGB or RGBA image in, the same out.
//! The image is reflect-padded to a multiple of 8, cut into overlapping tiles when large,
//! each tile restored, and the tiles blended with weights that sum to one.
//!
//! The steps are split ([`Restoration::new`], [`Restoration::tile_input`],
//! [`Restoration::add_tile_output`], [`Restoration::finish`]) so that the browser can read each
//! tile back asynchronously and report progress; [`restore`] runs them all natively.

use burn::tensor::{Tensor, TensorData};
use image::{DynamicImage, GrayImage, RgbImage, RgbaImage};

use crate::error::{Error, Result};
use crate::model::PromptIr;
use crate::ModelBackend;

/// Largest image accepted, in pixels (e.g. 8000 x 4000).
pub const MAX_PIXELS: u64 = 32_000_000;
/// Default tile side. PromptIR pools over the whole input (prompts from the global mean,
/// attention over all pixels), so tiles change the result slightly; this size keeps a tiled
/// restore within 40 dB PSNR of an untiled one while bounding memory.
pub const DEFAULT_TILE: u32 = 512;
/// Overlap between neighbouring tiles, blended linearly.
pub const DEFAULT_OVERLAP: u32 = 64;

/// A tile of the padded image, in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tile {
    pub x: usize,
    pub y: usize,
    pub width: usize,
    pub height: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    Grey,
    Rgb,
    Rgba,
}

/// A restoration in progress.
pub struct Restoration {
    layout: Layout,
    width: usize,
    height: usize,
    padded_w: usize,
    padded_h: usize,
    /// Padded input, planar RGB in [0, 1].
    input: Vec<f32>,
    alpha: Option<Vec<u8>>,
    tiles: Vec<Tile>,
    overlap: usize,
    sum: Vec<f32>,
    weight: Vec<f32>,
}

/// Checks an image's size against [`MAX_PIXELS`] and emptiness.
pub fn check_size(width: u32, height: u32) -> Result<()> {
    if width == 0 || height == 0 {
        return Err(Error::Input(format!(
            "the image is empty ({width}x{height})"
        )));
    }
    let pixels = width as u64 * height as u64;
    if pixels > MAX_PIXELS {
        return Err(Error::Input(format!(
            "the image has {width}x{height} = {pixels} pixels, more than the limit of {MAX_PIXELS}"
        )));
    }
    Ok(())
}

/// Index into 0..n of i mirrored at the edges without repeating them (PyTorch's "reflect").
fn reflect(i: isize, n: usize) -> usize {
    if n == 1 {
        return 0;
    }
    let period = 2 * (n as isize - 1);
    let m = i.rem_euclid(period);
    (if m < n as isize { m } else { period - m }) as usize
}

/// Tile origins along one axis: tiles of `tile` with at least `overlap` shared, the last one
/// flush with the end.
fn tile_starts(len: usize, tile: usize, overlap: usize) -> Vec<usize> {
    if len <= tile {
        return vec![0];
    }
    let step = tile - overlap;
    let mut starts: Vec<usize> = (0..)
        .map(|i| i * step)
        .take_while(|&s| s + tile < len)
        .collect();
    starts.push(len - tile);
    starts
}

impl Restoration {
    /// Prepares `img` for restoration in tiles of at most `tile` x `tile` pixels (a multiple
    /// of 8; `None` for one pass over the whole image).
    pub fn new(img: &DynamicImage, tile: Option<u32>) -> Result<Self> {
        check_size(img.width(), img.height())?;
        let (layout, rgb, alpha) = match img {
            DynamicImage::ImageLuma8(_) | DynamicImage::ImageLuma16(_) => {
                (Layout::Grey, img.to_rgb8(), None)
            }
            DynamicImage::ImageLumaA8(_) | DynamicImage::ImageLumaA16(_) => {
                let rgba = img.to_rgba8();
                let alpha = rgba.pixels().map(|p| p.0[3]).collect();
                (Layout::Rgba, img.to_rgb8(), Some(alpha))
            }
            DynamicImage::ImageRgba8(_)
            | DynamicImage::ImageRgba16(_)
            | DynamicImage::ImageRgba32F(_) => {
                let rgba = img.to_rgba8();
                let alpha = rgba.pixels().map(|p| p.0[3]).collect();
                (Layout::Rgba, img.to_rgb8(), Some(alpha))
            }
            _ => (Layout::Rgb, img.to_rgb8(), None),
        };
        let tile = match tile {
            Some(t) if t < 16 || t % 8 != 0 => {
                return Err(Error::Input(format!(
                    "tile size {t} must be a multiple of 8 and at least 16"
                )))
            }
            Some(t) => t as usize,
            None => usize::MAX,
        };
        let (width, height) = (rgb.width() as usize, rgb.height() as usize);
        let (padded_w, padded_h) = (width.div_ceil(8) * 8, height.div_ceil(8) * 8);
        let mut input = vec![0f32; 3 * padded_w * padded_h];
        for y in 0..padded_h {
            let sy = reflect(y as isize, height);
            for x in 0..padded_w {
                let p = rgb
                    .get_pixel(reflect(x as isize, width) as u32, sy as u32)
                    .0;
                for c in 0..3 {
                    input[(c * padded_h + y) * padded_w + x] = p[c] as f32 / 255.0;
                }
            }
        }
        let (tile_w, tile_h) = (tile.min(padded_w), tile.min(padded_h));
        let overlap = (DEFAULT_OVERLAP as usize).min(tile / 4 / 8 * 8);
        let mut tiles = Vec::new();
        for y in tile_starts(padded_h, tile_h, overlap) {
            for x in tile_starts(padded_w, tile_w, overlap) {
                tiles.push(Tile {
                    x,
                    y,
                    width: tile_w,
                    height: tile_h,
                });
            }
        }
        Ok(Self {
            layout,
            width,
            height,
            padded_w,
            padded_h,
            input,
            alpha,
            tiles,
            overlap,
            sum: vec![0.0; 3 * padded_w * padded_h],
            weight: vec![0.0; padded_w * padded_h],
        })
    }

    pub fn tiles(&self) -> &[Tile] {
        &self.tiles
    }

    /// The network input for tile `i`: planar RGB, shape (1, 3, height, width).
    pub fn tile_input(&self, i: usize) -> (Vec<f32>, [usize; 4]) {
        let t = self.tiles[i];
        let mut out = Vec::with_capacity(3 * t.width * t.height);
        for c in 0..3 {
            for y in t.y..t.y + t.height {
                let row = (c * self.padded_h + y) * self.padded_w;
                out.extend_from_slice(&self.input[row + t.x..row + t.x + t.width]);
            }
        }
        (out, [1, 3, t.height, t.width])
    }

    /// Blend weight of a pixel `d` pixels from a tile edge that borders another tile.
    fn ramp(&self, d: usize, interior: bool) -> f32 {
        if !interior || self.overlap == 0 {
            1.0
        } else {
            ((d as f32 + 0.5) / self.overlap as f32).min(1.0)
        }
    }

    /// Accumulates the network's output for tile `i` (same shape as its input).
    pub fn add_tile_output(&mut self, i: usize, output: &[f32]) -> Result<()> {
        let t = self.tiles[i];
        if output.len() != 3 * t.width * t.height {
            return Err(Error::Input(format!(
                "tile {i}: got {} values, expected {}",
                output.len(),
                3 * t.width * t.height
            )));
        }
        let (left, top) = (t.x > 0, t.y > 0);
        let (right, bottom) = (
            t.x + t.width < self.padded_w,
            t.y + t.height < self.padded_h,
        );
        for y in 0..t.height {
            let wy = self.ramp(y, top).min(self.ramp(t.height - 1 - y, bottom));
            for x in 0..t.width {
                let w = wy * self.ramp(x, left).min(self.ramp(t.width - 1 - x, right));
                let dst = (t.y + y) * self.padded_w + t.x + x;
                self.weight[dst] += w;
                for c in 0..3 {
                    let v = output[(c * t.height + y) * t.width + x];
                    self.sum[c * self.padded_w * self.padded_h + dst] += w * v;
                }
            }
        }
        Ok(())
    }

    /// The restored image, cropped to the input's size, clamped, in the input's layout.
    pub fn finish(self) -> DynamicImage {
        let plane = self.padded_w * self.padded_h;
        let rgb = RgbImage::from_fn(self.width as u32, self.height as u32, |x, y| {
            let i = y as usize * self.padded_w + x as usize;
            let w = self.weight[i];
            image::Rgb(std::array::from_fn(|c| {
                let v = if w > 0.0 {
                    self.sum[c * plane + i] / w
                } else {
                    0.0
                };
                (v.clamp(0.0, 1.0) * 255.0).round() as u8
            }))
        });
        match (self.layout, self.alpha) {
            (Layout::Grey, _) => {
                DynamicImage::ImageLuma8(GrayImage::from(DynamicImage::ImageRgb8(rgb).to_luma8()))
            }
            (Layout::Rgba, Some(alpha)) => {
                let mut rgba = RgbaImage::new(self.width as u32, self.height as u32);
                for ((dst, src), a) in rgba.pixels_mut().zip(rgb.pixels()).zip(alpha) {
                    *dst = image::Rgba([src.0[0], src.0[1], src.0[2], a]);
                }
                DynamicImage::ImageRgba8(rgba)
            }
            _ => DynamicImage::ImageRgb8(rgb),
        }
    }
}

/// Restores a whole image on the model's device, calling `progress(done, total)` after each tile.
pub fn restore<B: ModelBackend>(
    model: &PromptIr<B>,
    img: &DynamicImage,
    tile: Option<u32>,
    mut progress: impl FnMut(usize, usize),
    device: &B::Device,
) -> Result<DynamicImage> {
    let mut job = Restoration::new(img, tile)?;
    let total = job.tiles().len();
    for i in 0..total {
        let (data, shape) = job.tile_input(i);
        let x = Tensor::<B, 4>::from_data(TensorData::new(data, shape), device);
        let out = model
            .forward(x)
            .into_data()
            .convert::<f32>()
            .into_vec::<f32>()
            .map_err(|e| Error::Input(format!("{e:?}")))?;
        job.add_tile_output(i, &out)?;
        progress(i + 1, total);
    }
    Ok(job.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reflect_mirrors_without_repeating_the_edge() {
        let idx: Vec<usize> = (-3..8).map(|i| reflect(i, 5)).collect();
        assert_eq!(idx, vec![3, 2, 1, 0, 1, 2, 3, 4, 3, 2, 1]);
        assert_eq!(reflect(9, 1), 0);
        assert_eq!(reflect(5, 2), 1);
    }

    #[test]
    fn tiles_cover_the_axis_and_overlap() {
        assert_eq!(tile_starts(100, 128, 16), vec![0]);
        let s = tile_starts(1000, 256, 64);
        assert_eq!(*s.last().unwrap(), 1000 - 256);
        for pair in s.windows(2) {
            assert!(pair[1] - pair[0] <= 256 - 64);
        }
    }

    /// With an identity "network", blending must reproduce the input exactly: the weights sum
    /// to one everywhere, padding is cropped, alpha passes through.
    #[test]
    fn identity_tiles_blend_back_to_the_input() {
        let img = RgbaImage::from_fn(203, 141, |x, y| {
            image::Rgba([
                (x * 3) as u8,
                (y * 5) as u8,
                ((x + y) % 256) as u8,
                (x % 7) as u8 * 30,
            ])
        });
        let img = DynamicImage::ImageRgba8(img);
        for tile in [None, Some(64), Some(48)] {
            let mut job = Restoration::new(&img, tile).unwrap();
            for i in 0..job.tiles().len() {
                let (data, _) = job.tile_input(i);
                job.add_tile_output(i, &data).unwrap();
            }
            assert_eq!(job.finish(), img, "tile {tile:?}");
        }
    }

    #[test]
    fn bad_sizes_are_refused() {
        let empty = DynamicImage::ImageRgb8(RgbImage::new(0, 5));
        assert!(Restoration::new(&empty, None)
            .err()
            .expect("refused")
            .to_string()
            .contains("empty"));
        let img = DynamicImage::ImageRgb8(RgbImage::new(16, 16));
        assert!(Restoration::new(&img, Some(20)).is_err());
        assert!(check_size(40_000, 1_000)
            .unwrap_err()
            .to_string()
            .contains("32000000"));
    }
}
