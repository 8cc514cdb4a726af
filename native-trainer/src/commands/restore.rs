//! `restore`: a photo in, the restored photo out.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Instant;

use anyhow::{bail, Result};
use image::{DynamicImage, Rgb, RgbImage};
use indicatif::{ProgressBar, ProgressStyle};
use mirl::pipeline::{self, TileSize, DEFAULT_TILE};
use mirl::plan::Plan;
use mirl::tasks::{Examination, Tasks};
use mirl::ModelBackend;

use super::tickets::TicketArg;
use crate::backend::{dispatch, BackendKind, WithBackend};
use crate::imageio;

/// Restore a photo (noise, JPEG artifacts, rain, haze) with a ticket. By default (`--tasks
/// auto`) it removes only the noise and JPEG artefacts the photo shows, and returns a photo
/// that needs nothing as it was.
#[derive(clap::Args)]
pub struct Args {
    /// The photo to restore (PNG, JPEG or BMP; grey, RGB or RGBA).
    input: PathBuf,
    /// Where to write the result (.png, .jpg or .bmp).
    #[arg(short, long)]
    output: PathBuf,
    /// The ticket: `auto` (the bundled OSN ticket for a JPEG that shows no noise, the bundled
    /// all-in-one ticket otherwise), `allinone`, `osn`, or a .mirl file.
    #[arg(long, default_value = "auto")]
    ticket: TicketArg,
    /// Tile side in pixels (a multiple of 8); larger images are restored in overlapping tiles.
    /// Capped so that one tile's activations stay within 256 MiB (the paper network: 224).
    #[arg(long, default_value_t = DEFAULT_TILE)]
    tile: u32,
    #[arg(long, value_enum, default_value = "cpu")]
    backend: BackendKind,
    /// What to remove: `auto` (the noise and JPEG the photo shows; never haze or rain), `all`
    /// (the network as it is), `none`, or names joined by commas: noise, jpeg, rain, haze.
    /// Without haze the result keeps the photo's tones.
    #[arg(long, default_value = "auto")]
    tasks: Tasks,
    /// Also write the input and the result side by side (input on the left) here.
    #[arg(long, value_name = "PATH")]
    before_after: Option<PathBuf>,
    /// Show only this region in the before/after picture, magnified: X,Y,W,H in pixels of the
    /// photo, then `xN` to scale it N times (nearest neighbour, so blocks and noise stay
    /// visible), e.g. `120,40,64,48x4`.
    #[arg(long, value_name = "X,Y,W,H[xN]", requires = "before_after")]
    zoom: Option<Zoom>,
}

/// A region of the photo and how many times to magnify it.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Zoom {
    x: u32,
    y: u32,
    w: u32,
    h: u32,
    scale: u32,
}

impl FromStr for Zoom {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (region, scale) = s.split_once('x').unwrap_or((s, "1"));
        let scale: u32 = scale
            .parse()
            .ok()
            .filter(|n| (1..=MAX_ZOOM).contains(n))
            .ok_or_else(|| format!("the scale after `x` must be 1 to {MAX_ZOOM}, not {scale:?}"))?;
        let numbers: Vec<u32> = region
            .split(',')
            .map(|n| n.trim().parse::<u32>())
            .collect::<Result<_, _>>()
            .map_err(|_| format!("expected X,Y,W,H in whole pixels, got {region:?}"))?;
        let [x, y, w, h] = numbers[..] else {
            return Err(format!("expected four numbers X,Y,W,H, got {region:?}"));
        };
        if w == 0 || h == 0 {
            return Err(format!("the region {region:?} is empty"));
        }
        Ok(Zoom { x, y, w, h, scale })
    }
}

/// Largest magnification `--zoom` accepts: beyond it a picture of a tiny region gets huge.
const MAX_ZOOM: u32 = 16;

impl Zoom {
    /// The region of `image`, magnified; an error if the region leaves the image.
    fn apply(&self, image: &DynamicImage) -> Result<DynamicImage> {
        let (w, h) = (image.width(), image.height());
        if self.x.checked_add(self.w).is_none_or(|r| r > w)
            || self.y.checked_add(self.h).is_none_or(|b| b > h)
        {
            bail!(
                "--zoom {},{},{},{} is outside the {w}x{h} photo",
                self.x,
                self.y,
                self.w,
                self.h
            );
        }
        let region = image.crop_imm(self.x, self.y, self.w, self.h);
        Ok(region.resize_exact(
            self.w * self.scale,
            self.h * self.scale,
            image::imageops::FilterType::Nearest,
        ))
    }
}

/// Gap between the two halves of a before/after picture, in pixels.
const GAP: u32 = 4;

/// `before` and `after` side by side on white, `before` on the left.
fn before_after(before: &DynamicImage, after: &DynamicImage) -> DynamicImage {
    let (w, h) = (before.width(), before.height());
    let mut pair = RgbImage::from_pixel(2 * w + GAP, h, Rgb([255, 255, 255]));
    image::imageops::replace(&mut pair, &before.to_rgb8(), 0, 0);
    image::imageops::replace(&mut pair, &after.to_rgb8(), (w + GAP) as i64, 0);
    DynamicImage::ImageRgb8(pair)
}

struct Restore {
    ticket: TicketArg,
    image: DynamicImage,
    options: pipeline::Options,
}

impl WithBackend for Restore {
    type Output = (DynamicImage, Plan);
    fn run<B: ModelBackend>(self, device: B::Device) -> Result<(DynamicImage, Plan)> {
        let mut networks = self.ticket.networks::<B>(&device)?;
        let mut options = self.options;
        let examined = Examination::of(&self.image.to_rgba8(), options.jpeg);
        let model = networks.for_photo(examined, &mut options, &device)?;
        let bar = ProgressBar::new(0).with_style(
            ProgressStyle::with_template("{bar:30} tile {pos}/{len} {elapsed}").unwrap(),
        );
        let out = pipeline::restore(
            model,
            &self.image,
            &options,
            |done, total| {
                bar.set_length(total as u64);
                bar.set_position(done as u64);
            },
            &device,
        )?;
        bar.finish_and_clear();
        Ok(out)
    }
}

pub fn run(args: Args) -> Result<()> {
    let (image, jpeg) = imageio::load_photo(&args.input)?;
    let (w, h) = (image.width(), image.height());
    // The picture's left half, cut before restoring, so a bad --zoom costs no restore.
    let before = match (&args.before_after, &args.zoom) {
        (None, _) => None,
        (Some(_), Some(zoom)) => Some(zoom.apply(&image)?),
        (Some(_), None) => Some(image.clone()),
    };
    let start = Instant::now();
    let (out, plan) = dispatch(
        args.backend,
        Restore {
            ticket: args.ticket.clone(),
            image,
            options: pipeline::Options {
                jpeg,
                ..pipeline::Options::new(args.tasks, TileSize::Side(args.tile))
            },
        },
    )?;
    let mut inputs = vec![args.input.as_path()];
    inputs.extend(args.ticket.path());
    imageio::save(&out, &args.output, &inputs)?;
    if let (Some(path), Some(before)) = (&args.before_after, before) {
        let after = match &args.zoom {
            Some(zoom) => zoom.apply(&out)?,
            None => out,
        };
        imageio::save(&before_after(&before, &after), path, &inputs)?;
    }
    println!(
        "restored {}x{} in {:.2} s -> {}: {plan}",
        w,
        h,
        start.elapsed().as_secs_f64(),
        args.output.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zoom_parses_a_region_and_a_scale() {
        let z = |x, y, w, h, scale| Zoom { x, y, w, h, scale };
        assert_eq!("120,40,64,48x4".parse(), Ok(z(120, 40, 64, 48, 4)));
        assert_eq!("0,0,8,8".parse(), Ok(z(0, 0, 8, 8, 1)));
        for bad in [
            "1,2,3",
            "1,2,3,4,5",
            "a,2,3,4",
            "1,2,0,4",
            "1,2,3,4x0",
            "1,2,3,4x17",
            "1,2,3,4x",
        ] {
            assert!(bad.parse::<Zoom>().is_err(), "{bad}");
        }
    }

    #[test]
    fn zoom_magnifies_the_region_and_refuses_one_outside_the_photo() {
        let image =
            DynamicImage::ImageRgb8(RgbImage::from_fn(10, 6, |x, y| Rgb([x as u8, y as u8, 0])));
        let zoomed = "2,1,3,2x3"
            .parse::<Zoom>()
            .unwrap()
            .apply(&image)
            .unwrap()
            .to_rgb8();
        assert_eq!(zoomed.dimensions(), (9, 6));
        assert_eq!(zoomed.get_pixel(0, 0).0, [2, 1, 0]);
        assert_eq!(zoomed.get_pixel(8, 5).0, [4, 2, 0]);
        let err = "8,0,3,2"
            .parse::<Zoom>()
            .unwrap()
            .apply(&image)
            .unwrap_err();
        assert!(err.to_string().contains("outside the 10x6 photo"), "{err}");
    }
}
