//! `degrade`: make a degraded copy of a photo, as the training data and evaluation do.

use std::path::PathBuf;

use anyhow::{Context, Result};
use image::DynamicImage;
use mirl::degrade::Degradation;

use crate::imageio;

/// Degrade a photo: noise:SIGMA, jpeg:Q, osn[:Q[:Q2]], rain, haze, or a chain (noise:25+jpeg:40).
#[derive(clap::Args)]
pub struct Args {
    input: PathBuf,
    #[arg(short, long)]
    output: PathBuf,
    /// The degradation, e.g. noise:25, jpeg:20, osn, rain, haze, noise:25+jpeg:40.
    #[arg(long)]
    kind: String,
    /// Seed: the same photo, kind and seed always give the same result.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

pub fn run(args: Args) -> Result<()> {
    let kind: Degradation = args.kind.parse()?;
    let image = imageio::load(&args.input)?;
    let out = kind
        .apply(&image.to_rgb8(), args.seed)
        .with_context(|| format!("degrading {}", args.input.display()))?;
    imageio::save(&DynamicImage::ImageRgb8(out), &args.output, &[&args.input])?;
    println!(
        "{} -> {} ({kind}, seed {})",
        args.input.display(),
        args.output.display(),
        args.seed
    );
    Ok(())
}
