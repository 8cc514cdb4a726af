//! `metrics`: PSNR and SSIM of a photo against a reference, as scikit-image computes them.

use std::path::PathBuf;

use anyhow::Result;

use crate::imageio;

/// Print PSNR (dB) and SSIM of TEST against REF (RGB in [0, 1], scikit-image's definitions).
#[derive(clap::Args)]
pub struct Args {
    /// The clean reference image.
    reference: PathBuf,
    /// The image to score.
    test: PathBuf,
    /// Print exactly one JSON object {"psnr": .., "ssim": ..}.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<()> {
    let a = imageio::load(&args.reference)?.to_rgb8();
    let b = imageio::load(&args.test)?.to_rgb8();
    let psnr = mirl::metrics::psnr(&a, &b)?;
    let ssim = mirl::metrics::ssim(&a, &b)?;
    if args.json {
        // JSON has no infinity: identical images report null PSNR.
        let psnr = if psnr.is_finite() {
            serde_json::json!(psnr)
        } else {
            serde_json::Value::Null
        };
        println!("{}", serde_json::json!({ "psnr": psnr, "ssim": ssim }));
    } else {
        println!("PSNR {psnr:.4} dB");
        println!("SSIM {ssim:.6}");
    }
    Ok(())
}
