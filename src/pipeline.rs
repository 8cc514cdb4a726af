//! Whole-image restoration: any size of 8-bit grey, RGB or RGBA image in, the same out.
//! The image is reflect-padded to a multiple of 8, cut into overlapping tiles when large,
//! each tile restored, and the tiles blended with weights that sum to one.
//!
//! What the restore removes is settled first ([`Plan`]): with nothing to remove the network
//! does not run and the photo comes back as it was; without haze, the result keeps the
//! photo's tones ([`Tone`]).
//!
//! The steps are split ([`Restoration::new`], [`Restoration::tile_input`],
//! [`Restoration::add_tile_output`], [`Restoration::finish`]) so that the browser can read each
//! tile back asynchronously and report progress; [`restore`] runs them all natively.

use std::io::Cursor;

use burn::tensor::{Tensor, TensorData};
use image::metadata::Orientation;
use image::{DynamicImage, ImageReader, RgbaImage};

use crate::bundled::Pick;
use crate::config::PromptIrConfig;
use crate::error::{Error, Result};
use crate::jpeg_constraint;
use crate::jpeg_file::{quality_planes, JpegFile, QUALITY_PLANES};
use crate::model::PromptIr;
use crate::plan::Plan;
use crate::tasks::{Examination, Tasks, AUTO_JPEG_QUALITY};
use crate::ticket::Provenance;
use crate::tone::Tone;
use crate::ModelBackend;

/// Largest image accepted, in pixels (e.g. 8000 x 4000).
pub const MAX_PIXELS: u64 = 32_000_000;
/// Default tile side. PromptIR pools over the whole input (prompts from the global mean,
/// attention over all pixels), so tiles change the result slightly; this size keeps a tiled
/// restore within 40 dB PSNR of an untiled one while bounding memory.
pub const DEFAULT_TILE: u32 = 512;
/// Overlap between neighbouring tiles, blended linearly.
pub const DEFAULT_OVERLAP: u32 = 64;
/// Smallest tile side accepted.
pub const MIN_TILE: u32 = 16;
/// Memory the network's activations may take for one tile; [`TileSize::within_budget`] keeps tiles within
/// it. With the tile, a restore needs 4 bytes per pixel of the photo and 12 per pixel of a
/// row of tiles on top (so a 32-megapixel photo stays well below 1 GB).
pub const ACTIVATION_BUDGET: u64 = 256 << 20;

/// How a restore runs: what it removes, in what tiles, and what the photo's JPEG file says
/// of its compression.
#[derive(Debug, Clone)]
pub struct Options {
    /// What to remove ([`Plan::new`] settles what that is for a photo).
    pub tasks: Tasks,
    /// How large the tiles are.
    pub tile: TileSize,
    /// The header of the JPEG file the photo was decoded from, where it was one.
    pub jpeg: Option<JpegFile>,
    /// What the photo was found to be, where the caller examined it already (to pick a
    /// ticket, [`crate::bundled`]); the restore examines it otherwise (with `jpeg`).
    pub examined: Option<Examination>,
    /// The bundled ticket that restores and why, where it was picked for the photo: the plan
    /// says which it was.
    pub pick: Option<Pick>,
    /// In `auto`, JPEG saved at this quality or below is removed: the restoring ticket's
    /// [`crate::ticket::Provenance::auto_jpeg_quality`] ([`Options::for_ticket`]).
    pub auto_jpeg_quality: u8,
    /// How the photo's file says its pixels are turned to be shown ([`crate::orientation`]):
    /// the restore works on them as stored and turns the result upright.
    pub orientation: Orientation,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            tasks: Tasks::default(),
            tile: TileSize::default(),
            jpeg: None,
            examined: None,
            pick: None,
            auto_jpeg_quality: AUTO_JPEG_QUALITY,
            orientation: Orientation::NoTransforms,
        }
    }
}

impl Options {
    pub fn new(tasks: Tasks, tile: TileSize) -> Self {
        Self {
            tasks,
            tile,
            ..Self::default()
        }
    }

    /// These options for a restore by a ticket of this provenance (its `auto` JPEG bar).
    pub fn for_ticket(self, provenance: &Provenance) -> Self {
        Self {
            auto_jpeg_quality: provenance.auto_jpeg_quality(),
            ..self
        }
    }
}

/// How large a restore's tiles are. [`restore`] and the browser's engine keep them within
/// the memory budget ([`TileSize::within_budget`]), whatever the caller asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TileSize {
    /// [`DEFAULT_TILE`].
    #[default]
    Default,
    /// At most this many pixels a side: a multiple of 8, at least [`MIN_TILE`].
    Side(u32),
    /// The whole image in one pass, whatever memory that takes (tests, validation crops).
    Whole,
}

impl From<Option<u32>> for TileSize {
    /// A caller's tile side; none: the default.
    fn from(side: Option<u32>) -> Self {
        side.map_or(TileSize::Default, TileSize::Side)
    }
}

impl TileSize {
    /// Tiles whose activations fit [`ACTIVATION_BUDGET`] in a network that takes
    /// `bytes_per_pixel` ([`PromptIrConfig::activation_bytes_per_pixel`]); `Whole` stays whole.
    pub fn within_budget(self, bytes_per_pixel: u64) -> Self {
        let cap = max_side(bytes_per_pixel);
        match self {
            TileSize::Default => TileSize::Side(DEFAULT_TILE.min(cap)),
            TileSize::Side(side) => TileSize::Side(side.min(cap)),
            TileSize::Whole => TileSize::Whole,
        }
    }

    /// The side in pixels (`usize::MAX` for the whole image), checked.
    fn side(self) -> Result<usize> {
        match self {
            TileSize::Default => Ok(DEFAULT_TILE as usize),
            TileSize::Side(t) if t < MIN_TILE || t % 8 != 0 => Err(Error::Input(format!(
                "tile size {t} must be a multiple of 8 and at least {MIN_TILE}"
            ))),
            TileSize::Side(t) => Ok(t as usize),
            TileSize::Whole => Ok(usize::MAX),
        }
    }
}

/// A tile of the padded image, in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tile {
    pub x: usize,
    pub y: usize,
    pub width: usize,
    pub height: usize,
}

/// The channels of the image given, restored as they came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    Grey,
    Rgb,
    Rgba,
}

/// A restoration in progress. Memory stays at one RGBA copy of the photo plus one row of
/// tiles: the tiles are blended in order, and each row of pixels, once no later tile covers
/// it, is written back over the input row it came from (no later tile reads it either).
pub struct Restoration {
    layout: Layout,
    plan: Plan,
    /// How the result is turned to be shown.
    orientation: Orientation,
    /// The input's tones, where the result keeps them.
    tone: Option<Tone>,
    /// A copy of the input, where the result is checked against it ([`Plan::checks`]).
    input: Option<RgbaImage>,
    /// The photo; rows above `band_y` already hold the result.
    image: RgbaImage,
    /// The image reflect-padded to a multiple of 8 (the network halves it three times).
    padded_w: usize,
    padded_h: usize,
    tiles: Vec<Tile>,
    overlap: usize,
    /// Blend weights summed over all tiles, per padded column and per padded row. A tile's
    /// weight at a pixel is a column ramp times a row ramp and the tiles form a grid, so the
    /// sum over tiles is the product of these two.
    col_weight: Vec<f32>,
    row_weight: Vec<f32>,
    /// Weighted tile outputs for padded rows `band_y..band_y + band rows`, laid out
    /// [row][channel][column].
    band: Vec<f32>,
    band_y: usize,
    /// The tile whose output comes next.
    next: usize,
    /// The quantization planes each tile's input carries, for a network that reads them.
    planes: Option<[f32; QUALITY_PLANES]>,
}

/// Checks an image's size against [`MAX_PIXELS`] and emptiness.
pub fn check_size(width: u32, height: u32) -> Result<()> {
    if width == 0 || height == 0 {
        return Err(Error::EmptyImage { width, height });
    }
    if width as u64 * height as u64 > MAX_PIXELS {
        return Err(Error::ImageTooLarge {
            width,
            height,
            limit: MAX_PIXELS,
        });
    }
    Ok(())
}

/// The image formats [`decode`] reads in this build (PNG, JPEG and BMP always; WebP and TIFF
/// where the `image` crate's features are on, as in the command line).
pub fn readable_formats() -> Vec<&'static str> {
    image::ImageFormat::all()
        .filter(|f| f.reading_enabled())
        .map(|f| f.extensions_str()[0])
        .collect()
}

/// Decodes an image file in any of [`readable_formats`], refusing empty or oversized images
/// from their header, before any pixel is decoded.
pub fn decode(bytes: &[u8]) -> Result<DynamicImage> {
    let (width, height) = decode_header(bytes)?;
    reader(bytes)?
        .decode()
        .map_err(|e| Error::image(format!("the {width}x{height} image does not decode"), e))
}

/// The size an image file's header gives, checked ([`check_size`]).
pub fn decode_header(bytes: &[u8]) -> Result<(u32, u32)> {
    let (width, height) = reader(bytes)?.into_dimensions().map_err(|e| {
        let formats = readable_formats().join(", ");
        Error::image(format!("not an image this build can decode ({formats})"), e)
    })?;
    check_size(width, height)?;
    Ok((width, height))
}

fn reader(bytes: &[u8]) -> Result<ImageReader<Cursor<&[u8]>>> {
    ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| Error::image("cannot read the image", e))
}

/// The largest tile side whose activations fit [`ACTIVATION_BUDGET`] for `config`.
pub fn max_tile(config: &PromptIrConfig) -> u32 {
    max_side(config.activation_bytes_per_pixel())
}

fn max_side(bytes_per_pixel: u64) -> u32 {
    let side = (ACTIVATION_BUDGET as f64 / bytes_per_pixel as f64).sqrt();
    ((side as u32) / 8 * 8).max(MIN_TILE)
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

/// The tile length along an axis of `len` pixels: at most `tile`, and as even as the overlap
/// allows, so that a 600-pixel side takes two tiles of 336 rather than 512 and 512.
fn balanced_tile(len: usize, tile: usize, overlap: usize) -> usize {
    if len <= tile {
        return len;
    }
    let count = (len - overlap).div_ceil(tile - overlap);
    ((len + (count - 1) * overlap).div_ceil(count)).div_ceil(8) * 8
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

/// Blend weight of a pixel `d` pixels from a tile edge: a linear ramp across the overlap
/// where the edge borders another tile, 1 elsewhere.
fn ramp(d: usize, interior: bool, overlap: usize) -> f32 {
    if !interior || overlap == 0 {
        1.0
    } else {
        ((d as f32 + 0.5) / overlap as f32).min(1.0)
    }
}

/// Weight of position `i` in a tile of `size` starting at `start` on an axis of `len`.
fn edge_weight(i: usize, start: usize, size: usize, len: usize, overlap: usize) -> f32 {
    let before = ramp(i, start > 0, overlap);
    let after = ramp(size - 1 - i, start + size < len, overlap);
    before.min(after)
}

/// Per-position sums of the edge weights of the tiles along one axis.
fn weight_sums(len: usize, tile: usize, starts: &[usize], overlap: usize) -> Vec<f32> {
    let mut sums = vec![0.0; len];
    for &s in starts {
        for i in 0..tile {
            sums[s + i] += edge_weight(i, s, tile, len, overlap);
        }
    }
    sums
}

impl Restoration {
    /// Prepares a restore of `img` ([`Options`]). Where there is nothing to remove there are
    /// no tiles.
    pub fn new(img: &DynamicImage, options: &Options) -> Result<Self> {
        let layout = match img {
            DynamicImage::ImageLuma8(_) | DynamicImage::ImageLuma16(_) => Layout::Grey,
            DynamicImage::ImageLumaA8(_)
            | DynamicImage::ImageLumaA16(_)
            | DynamicImage::ImageRgba8(_)
            | DynamicImage::ImageRgba16(_)
            | DynamicImage::ImageRgba32F(_) => Layout::Rgba,
            _ => Layout::Rgb,
        };
        // Before the copy, so an oversized image allocates nothing.
        check_size(img.width(), img.height())?;
        Self::with_layout(img.to_rgba8(), layout, options)
    }

    /// As [`Restoration::new`] for an RGBA image, which it takes over rather than copies (the
    /// browser's case: the page's pixels are the only copy in wasm memory).
    pub fn from_rgba(img: RgbaImage, options: &Options) -> Result<Self> {
        Self::with_layout(img, Layout::Rgba, options)
    }

    fn with_layout(image: RgbaImage, layout: Layout, options: &Options) -> Result<Self> {
        check_size(image.width(), image.height())?;
        let tile = options.tile.side()?;
        let (width, height) = (image.width() as usize, image.height() as usize);
        let (padded_w, padded_h) = (width.div_ceil(8) * 8, height.div_ceil(8) * 8);
        let overlap = (DEFAULT_OVERLAP as usize).min(tile / 4 / 8 * 8);
        let tile_w = balanced_tile(padded_w, tile, overlap);
        let tile_h = balanced_tile(padded_h, tile, overlap);
        let (xs, ys) = (
            tile_starts(padded_w, tile_w, overlap),
            tile_starts(padded_h, tile_h, overlap),
        );
        let examined = options
            .examined
            .unwrap_or_else(|| Examination::of(&image, options.jpeg));
        let mut plan = Plan::new(&options.tasks, examined, options.auto_jpeg_quality);
        plan.ticket = options.pick.clone();
        let tiles = if plan.runs_network() {
            ys.iter()
                .flat_map(|&y| {
                    xs.iter().map(move |&x| Tile {
                        x,
                        y,
                        width: tile_w,
                        height: tile_h,
                    })
                })
                .collect()
        } else {
            Vec::new()
        };
        let tone = (plan.runs_network() && plan.keeps_tone()).then(|| Tone::of(&image));
        let input = (plan.checks() || plan.jpeg_constraint().is_some()).then(|| image.clone());
        Ok(Self {
            layout,
            plan,
            orientation: options.orientation,
            tone,
            input,
            image,
            padded_w,
            padded_h,
            tiles,
            overlap,
            col_weight: weight_sums(padded_w, tile_w, &xs, overlap),
            row_weight: weight_sums(padded_h, tile_h, &ys, overlap),
            band: vec![0.0; 3 * tile_h * padded_w],
            band_y: 0,
            next: 0,
            planes: None,
        })
    }

    /// Gives each tile's input the quantization planes of the plan's JPEG quality, for a
    /// network that reads them ([`PromptIrConfig::quality_map`]).
    pub fn set_quality_input(&mut self, on: bool) {
        self.planes = on.then(|| {
            let luma = self.plan.jpeg_quality();
            // The file's chroma table, where the file's compression is the one that counts.
            let chroma = self
                .plan
                .jpeg_file
                .filter(|f| Some(f.quality) == luma)
                .and_then(|f| f.chroma_quality);
            quality_planes(luma, chroma)
        });
    }

    pub fn tiles(&self) -> &[Tile] {
        &self.tiles
    }

    /// What this restore removes, and what was found in the photo.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// The network input for tile `i`: planar RGB in [0, 1], shape (1, 3, height, width).
    pub fn tile_input(&self, i: usize) -> (Vec<f32>, [usize; 4]) {
        let t = self.tiles[i];
        let (width, height) = (self.image.width() as usize, self.image.height() as usize);
        let columns: Vec<u32> = (t.x..t.x + t.width)
            .map(|x| reflect(x as isize, width) as u32)
            .collect();
        let planes: &[f32] = self.planes.as_ref().map_or(&[], |p| &p[..]);
        let plane = t.width * t.height;
        let mut out = vec![0f32; (3 + planes.len()) * plane];
        for y in 0..t.height {
            let sy = reflect((t.y + y) as isize, height) as u32;
            for (x, &sx) in columns.iter().enumerate() {
                let p = self.image.get_pixel(sx, sy).0;
                for c in 0..3 {
                    out[(c * t.height + y) * t.width + x] = p[c] as f32 / 255.0;
                }
            }
        }
        for (k, v) in planes.iter().enumerate() {
            out[(3 + k) * plane..(4 + k) * plane].fill(*v);
        }
        (out, [1, 3 + planes.len(), t.height, t.width])
    }

    /// Blends in the network's output for tile `i` (same shape as its input). Tiles come in
    /// order: rows that no later tile covers are final and written out as soon as they are.
    pub fn add_tile_output(&mut self, i: usize, output: &[f32]) -> Result<()> {
        if i >= self.tiles.len() {
            return Err(Error::Input(format!(
                "no tile {i}: the image has {} tiles",
                self.tiles.len()
            )));
        }
        if i != self.next {
            return Err(Error::Input(format!(
                "tile {i} came before tile {}: tiles are blended in order",
                self.next
            )));
        }
        let t = self.tiles[i];
        if output.len() != 3 * t.width * t.height {
            return Err(Error::Input(format!(
                "tile {i}: got {} values, expected {}",
                output.len(),
                3 * t.width * t.height
            )));
        }
        // Rows above this tile are covered by no later tile.
        self.write_rows(t.y);
        let w = self.padded_w;
        for y in 0..t.height {
            let wy = edge_weight(y, t.y, t.height, self.padded_h, self.overlap);
            let row = &mut self.band[(t.y + y - self.band_y) * 3 * w..][..3 * w];
            for x in 0..t.width {
                let wx = edge_weight(x, t.x, t.width, w, self.overlap);
                for c in 0..3 {
                    row[c * w + t.x + x] += wy * wx * output[(c * t.height + y) * t.width + x];
                }
            }
        }
        self.next += 1;
        Ok(())
    }

    /// Writes the blended rows above `end` over the image (padding rows are dropped) and
    /// moves the band down to start there.
    fn write_rows(&mut self, end: usize) {
        let w = self.padded_w;
        let height = self.image.height() as usize;
        for y in self.band_y..end.min(height) {
            let row = &self.band[(y - self.band_y) * 3 * w..][..3 * w];
            for x in 0..self.image.width() as usize {
                let weight = self.row_weight[y] * self.col_weight[x];
                let p = self.image.get_pixel_mut(x as u32, y as u32);
                for c in 0..3 {
                    let v = if weight > 0.0 {
                        row[c * w + x] / weight
                    } else {
                        0.0
                    };
                    p.0[c] = (v.clamp(0.0, 1.0) * 255.0).round() as u8;
                }
            }
        }
        let done = (end - self.band_y) * 3 * w;
        self.band.drain(..done);
        self.band.resize(self.band.len() + done, 0.0);
        self.band_y = end;
    }

    /// The restored image, in the input's size and layout (alpha passed through), and what
    /// was removed from it (in `auto`, with the check's outcome).
    pub fn finish(mut self) -> Result<(DynamicImage, Plan)> {
        if self.next != self.tiles.len() {
            return Err(Error::Input(format!(
                "the restore is unfinished: {} of {} tiles done",
                self.next,
                self.tiles.len()
            )));
        }
        if !self.tiles.is_empty() {
            self.write_rows(self.padded_h);
        }
        if let Some(tone) = &self.tone {
            tone.apply_to(&mut self.image);
        }
        if let (Some(input), Some((tables, full_chroma))) =
            (&self.input, self.plan.jpeg_constraint())
        {
            jpeg_constraint::constrain(input, &mut self.image, &tables, full_chroma);
        }
        if let Some(input) = self.input.take().filter(|_| self.plan.checks()) {
            if !self.plan.check(&input, &self.image)? {
                self.image = input;
            }
        }
        let mut image = match self.layout {
            Layout::Grey => {
                DynamicImage::ImageLuma8(DynamicImage::ImageRgba8(self.image).to_luma8())
            }
            Layout::Rgb => DynamicImage::ImageRgb8(DynamicImage::ImageRgba8(self.image).to_rgb8()),
            Layout::Rgba => DynamicImage::ImageRgba8(self.image),
        };
        image.apply_orientation(self.orientation);
        Ok((image, self.plan))
    }
}

/// Restores a whole image on the model's device ([`Options`]), calling `progress(done, total)`
/// after each tile; returns the result and what was removed.
pub fn restore<B: ModelBackend>(
    model: &PromptIr<B>,
    img: &DynamicImage,
    options: &Options,
    mut progress: impl FnMut(usize, usize),
    device: &B::Device,
) -> Result<(DynamicImage, Plan)> {
    let options = Options {
        tile: options
            .tile
            .within_budget(model.activation_bytes_per_pixel()),
        ..options.clone()
    };
    let mut job = Restoration::new(img, &options)?;
    job.set_quality_input(model.reads_quality());
    let total = job.tiles().len();
    for i in 0..total {
        let (data, shape) = job.tile_input(i);
        let x = Tensor::<B, 4>::from_data(TensorData::new(data, shape), device);
        let out = crate::params::host_values(model.forward(x).into_data())?;
        job.add_tile_output(i, &out)?;
        progress(i + 1, total);
    }
    job.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::RgbImage;

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
        for tile in [None, Some(64), Some(48), Some(16)] {
            let mut job = Restoration::new(&img, &Options::new(Tasks::all(), tile.into())).unwrap();
            for i in 0..job.tiles().len() {
                let (data, _) = job.tile_input(i);
                job.add_tile_output(i, &data).unwrap();
            }
            assert_eq!(job.finish().unwrap().0, img, "tile {tile:?}");
        }
        let grey = DynamicImage::ImageLuma8(image::GrayImage::from_fn(37, 20, |x, y| {
            image::Luma([(x * 7 + y) as u8])
        }));
        let mut job =
            Restoration::new(&grey, &Options::new(Tasks::all(), TileSize::Side(16))).unwrap();
        for i in 0..job.tiles().len() {
            let (data, _) = job.tile_input(i);
            job.add_tile_output(i, &data).unwrap();
        }
        assert_eq!(job.finish().unwrap().0, grey);
    }

    #[test]
    fn nothing_to_remove_means_no_tiles_and_the_photo_as_it_was() {
        let img = DynamicImage::ImageRgb8(RgbImage::from_fn(64, 48, |x, y| {
            image::Rgb([(x * 3) as u8, (y * 5) as u8, 90])
        }));
        for tasks in [Tasks::Auto, Tasks::Only(vec![])] {
            let job =
                Restoration::new(&img, &Options::new(tasks.clone(), TileSize::Side(32))).unwrap();
            assert!(job.tiles().is_empty() && job.plan().tasks.is_empty());
            assert_eq!(job.finish().unwrap().0, img, "{tasks}");
        }
    }

    #[test]
    fn tiles_are_balanced_and_cover_the_image() {
        // 600 pixels: two tiles of 336 (overlap 64) rather than 512 and 512.
        assert_eq!(balanced_tile(600, 512, 64), 336);
        assert_eq!(balanced_tile(400, 512, 64), 400);
        for len in [17, 512, 513, 600, 1000, 4000] {
            let len = len / 8 * 8 + 8;
            let tile = balanced_tile(len, 512, 64);
            assert!(tile <= 512 && tile.is_multiple_of(8), "{len}: {tile}");
            let starts = tile_starts(len, tile, 64.min(tile));
            assert_eq!(starts[0], 0);
            assert_eq!(starts.last().unwrap() + tile, len);
            for pair in starts.windows(2) {
                assert!(
                    pair[1] - pair[0] <= tile - 64.min(tile),
                    "{len}: {starts:?}"
                );
            }
        }
    }

    #[test]
    fn tiles_come_in_order_and_all_of_them() {
        let img = DynamicImage::ImageRgb8(RgbImage::new(100, 100));
        let mut job =
            Restoration::new(&img, &Options::new(Tasks::all(), TileSize::Side(32))).unwrap();
        let (data, _) = job.tile_input(1);
        let err = job.add_tile_output(1, &data).unwrap_err().to_string();
        assert!(err.contains("before tile 0"), "{err}");
        let (data, _) = job.tile_input(0);
        job.add_tile_output(0, &data).unwrap();
        let err = job.finish().unwrap_err().to_string();
        assert!(err.contains("1 of"), "{err}");
    }

    #[test]
    fn tiles_keep_to_the_memory_budget() {
        let tiny = PromptIrConfig::preset("tiny").unwrap();
        let paper = PromptIrConfig::preset("paper").unwrap();
        let budget = |config: &PromptIrConfig, tile: TileSize| {
            tile.within_budget(config.activation_bytes_per_pixel())
        };
        assert_eq!(
            budget(&tiny, TileSize::Default),
            TileSize::Side(DEFAULT_TILE)
        );
        assert_eq!(budget(&tiny, TileSize::Side(256)), TileSize::Side(256));
        assert_eq!(budget(&tiny, TileSize::Whole), TileSize::Whole);
        let cap = max_tile(&paper);
        assert!(cap < DEFAULT_TILE && cap.is_multiple_of(8));
        assert_eq!(budget(&paper, TileSize::Side(4096)), TileSize::Side(cap));
        assert_eq!(budget(&paper, TileSize::Default), TileSize::Side(cap));
        for config in [tiny, paper] {
            let side = max_tile(&config) as u64;
            assert!(side * side * config.activation_bytes_per_pixel() <= ACTIVATION_BUDGET);
        }
    }

    #[test]
    fn decoding_names_what_is_wrong() {
        let mut bmp = std::io::Cursor::new(Vec::new());
        DynamicImage::ImageRgb8(RgbImage::new(2, 2))
            .write_to(&mut bmp, image::ImageFormat::Bmp)
            .unwrap();
        let bmp = bmp.into_inner();
        assert_eq!(decode(&bmp).unwrap().width(), 2);
        let err = decode(b"hello").unwrap_err().to_string();
        assert!(err.contains("not an image"), "{err}");
        // A header claiming 40000x1000 pixels is refused before the pixels are decoded.
        let mut huge = bmp.clone();
        huge[18..22].copy_from_slice(&40_000i32.to_le_bytes());
        huge[22..26].copy_from_slice(&1_000i32.to_le_bytes());
        let err = decode(&huge).unwrap_err().to_string();
        assert!(err.contains("limit"), "{err}");
        let err = decode(&bmp[..bmp.len() - 4]).unwrap_err().to_string();
        assert!(err.contains("does not decode"), "{err}");
    }

    #[test]
    fn bad_sizes_are_refused() {
        let empty = DynamicImage::ImageRgb8(RgbImage::new(0, 5));
        assert!(matches!(
            Restoration::new(&empty, &Options::new(Tasks::all(), TileSize::Whole)),
            Err(Error::EmptyImage {
                width: 0,
                height: 5
            })
        ));
        let img = DynamicImage::ImageRgb8(RgbImage::new(16, 16));
        assert!(matches!(
            Restoration::new(&img, &Options::new(Tasks::all(), TileSize::Side(20))),
            Err(Error::Input(_))
        ));
        let too_large = check_size(40_000, 1_000).unwrap_err();
        assert_eq!(too_large.code(), "IMAGE_TOO_LARGE");
        assert!(too_large
            .to_string()
            .contains("the limit is 32 megapixels (32000000 pixels)"));
    }
}
