//! `inspect`: what a ticket holds.

use std::path::PathBuf;

use anyhow::{Context, Result};
use mirl::ticket::Ticket;

/// Show a ticket's format, config, provenance, sizes and per-layer density.
#[derive(clap::Args)]
pub struct Args {
    /// The ticket (.mirl).
    ticket: PathBuf,
    /// Print one JSON object (keys parameters, nonzero, prunable, prunable_nonzero, density,
    /// prunable_density, layers, ...) instead of text.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<()> {
    let bytes = crate::fsio::read(&args.ticket)?;
    let info = Ticket::inspect(&bytes)
        .with_context(|| format!("cannot load ticket {}", args.ticket.display()))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&info)?);
        return Ok(());
    }
    println!("ticket           {}", args.ticket.display());
    println!(
        "format version   {} ({})",
        info.summary.format_version,
        info.summary.precision.name()
    );
    println!("file size        {} bytes", info.summary.file_bytes);
    println!("config           {}", info.summary.config.to_json());
    println!(
        "provenance       {}",
        serde_json::to_string(&info.summary.provenance)?
    );
    println!(
        "parameters       {} ({} non-zero, density {:.4})",
        info.summary.parameters, info.summary.nonzero, info.summary.density
    );
    println!(
        "prunable         {} ({} non-zero, density {:.4})",
        info.summary.prunable, info.summary.prunable_nonzero, info.summary.prunable_density
    );
    println!(
        "compute          {:.1} GMAC per megapixel",
        info.summary.config.macs_per_pixel() / 1e3
    );
    println!();
    println!(
        "{:<48} {:>18} {:>10} {:>8} {:>7} {:>10}",
        "layer", "shape", "params", "density", "stored", "bytes"
    );
    for l in &info.layers {
        println!(
            "{:<48} {:>18} {:>10} {:>8.4} {:>7} {:>10}",
            l.name,
            format!("{:?}", l.shape),
            l.parameters,
            l.density,
            l.encoding,
            l.bytes
        );
    }
    Ok(())
}
