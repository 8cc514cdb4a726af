//! `degrade`: make a degraded copy of a photo, as the training data and evaluation do.

use std::path::PathBuf;

use anyhow::{Context, Result};
use image::{DynamicImage, ImageFormat};
use mirl::degrade::Degradation;

use crate::{fsio, imageio};

/// Degrade a photo: noise:SIGMA, jpeg:Q, osn (a social network: osn:reshare, osn:x0.8:70, ...),
/// rain, haze, or a chain (noise:25+jpeg:40).
#[derive(clap::Args)]
pub struct Args {
    input: PathBuf,
    /// Where to write the result. A .jpg after a degradation that ends in a compression is
    /// that compression's own file, as the network would deliver it.
    #[arg(short, long)]
    output: PathBuf,
    /// The degradation, e.g. noise:25, jpeg:20, osn:reshare, rain, haze, noise:25+jpeg:40.
    #[arg(long)]
    kind: String,
    /// Also write the clean photo taken through the same resize and crop here (what a
    /// restore should give back; the photo itself where nothing resized it).
    #[arg(long, value_name = "PATH")]
    reference: Option<PathBuf>,
    /// Seed: the same photo, kind and seed always give the same result.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

pub fn run(args: Args) -> Result<()> {
    let kind: Degradation = args.kind.parse()?;
    let image = imageio::load(&args.input)?;
    let out = kind
        .degrade(&image.to_rgb8(), args.seed)
        .with_context(|| format!("degrading {}", args.input.display()))?;
    let inputs = [args.input.as_path()];
    match (&out.file, ImageFormat::from_path(&args.output)) {
        (Some(file), Ok(ImageFormat::Jpeg)) => fsio::write_atomic(&args.output, file, &inputs)?,
        _ => imageio::save(&DynamicImage::ImageRgb8(out.image), &args.output, &inputs)?,
    }
    if let Some(path) = &args.reference {
        imageio::save(&DynamicImage::ImageRgb8(out.reference), path, &inputs)?;
    }
    println!(
        "{} -> {} ({kind}, seed {})",
        args.input.display(),
        args.output.display(),
        args.seed
    );
    Ok(())
}
