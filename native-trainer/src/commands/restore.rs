//! `restore`: a photo in, the restored photo out.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use image::{DynamicImage, Rgb, RgbImage};
use indicatif::{ProgressBar, ProgressStyle};
use mirl::pipeline::{self, DEFAULT_TILE};
use mirl::ModelBackend;

use crate::backend::{dispatch, BackendKind, WithBackend};
use crate::imageio;

/// Restore a photo (noise, JPEG artifacts, rain, haze) with a ticket.
#[derive(clap::Args)]
pub struct Args {
    /// The photo to restore (PNG, JPEG or BMP; grey, RGB or RGBA).
    input: PathBuf,
    /// Where to write the result (.png, .jpg or .bmp).
    #[arg(short, long)]
    output: PathBuf,
    /// The ticket (.mirl) [default: the bundled one].
    #[arg(long)]
    ticket: Option<PathBuf>,
    /// Tile side in pixels (a multiple of 8); larger images are restored in overlapping tiles.
    #[arg(long, default_value_t = DEFAULT_TILE)]
    tile: u32,
    #[arg(long, value_enum, default_value = "cpu")]
    backend: BackendKind,
    /// Also write the input and the result side by side (input on the left) here.
    #[arg(long, value_name = "PATH")]
    before_after: Option<PathBuf>,
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
    ticket: mirl::ticket::Ticket,
    image: DynamicImage,
    tile: u32,
}

impl WithBackend for Restore {
    type Output = DynamicImage;
    fn run<B: ModelBackend>(self, device: B::Device) -> Result<DynamicImage> {
        let model = self.ticket.build::<B>(&device)?;
        let bar = ProgressBar::new(0).with_style(
            ProgressStyle::with_template("{bar:30} tile {pos}/{len} {elapsed}").unwrap(),
        );
        let out = pipeline::restore(
            &model,
            &self.image,
            Some(self.tile),
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
    let ticket = super::ticket_or_default(args.ticket.as_deref())?;
    let image = imageio::load(&args.input)?;
    let (w, h) = (image.width(), image.height());
    let before = args.before_after.as_ref().map(|_| image.clone());
    let start = Instant::now();
    let out = dispatch(
        args.backend,
        Restore {
            ticket,
            image,
            tile: args.tile,
        },
    )?;
    let mut inputs = vec![args.input.as_path()];
    inputs.extend(args.ticket.as_deref());
    imageio::save(&out, &args.output, &inputs)?;
    if let (Some(path), Some(before)) = (&args.before_after, before) {
        imageio::save(&before_after(&before, &out), path, &inputs)?;
    }
    println!(
        "restored {}x{} in {:.2} s -> {}",
        w,
        h,
        start.elapsed().as_secs_f64(),
        args.output.display()
    );
    Ok(())
}
