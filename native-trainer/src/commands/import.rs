//! `import`: reference weights (safetensors or PyTorch checkpoint) -> `.mirl` ticket.

use std::path::PathBuf;

use anyhow::{Context, Result};
use mirl::ticket::{Precision, Provenance, Ticket};
use mirl::PromptIrConfig;

use crate::{fsio, weights};

/// Convert PromptIR / MIR-L weights into a compact sparse ticket.
///
/// WEIGHTS is a safetensors file with the reference's parameter names, or a PyTorch /
/// PyTorch-Lightning checkpoint (a `state_dict` whose names may carry a `net.` prefix).
/// Pickled data is parsed, never executed.
#[derive(clap::Args)]
pub struct Args {
    /// Weights to import (.safetensors, .ckpt, .pt, .pth).
    weights: PathBuf,
    /// The network's config.json (its keys: docs/ticket-format.md, "The network config").
    #[arg(long)]
    config: PathBuf,
    /// Where to write the ticket.
    #[arg(short, long)]
    output: PathBuf,
    /// How to store values: f32 is exact, f16 halves the size, int8 quarters it.
    #[arg(long, value_enum, default_value = "f16")]
    precision: Precision,
}

pub fn run(args: Args) -> Result<()> {
    let text = std::fs::read_to_string(&args.config)
        .with_context(|| format!("cannot read {}", args.config.display()))?;
    let config = PromptIrConfig::from_json(&text)
        .with_context(|| format!("in {}", args.config.display()))?;
    let precision = args.precision;
    let loaded = weights::load(&args.weights)?;
    let kept = loaded.params.len();
    let provenance = Provenance {
        source: Some(format!(
            "import {}",
            args.weights
                .file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default()
        )),
        ..Default::default()
    };
    let ticket = Ticket::new(config, loaded.params, precision, provenance).with_context(|| {
        format!(
            "{} does not fit {}",
            args.weights.display(),
            args.config.display()
        )
    })?;
    let bytes = ticket.to_bytes()?;
    fsio::write_atomic(&args.output, &bytes, &[&args.weights, &args.config])?;

    let info = Ticket::inspect(&bytes)?;
    if !loaded.prefix.is_empty() {
        println!("stripped prefix  {:?}", loaded.prefix);
    }
    println!(
        "kept             {kept} tensors, {} parameters ({} non-zero, density {:.4})",
        info.summary.parameters, info.summary.nonzero, info.summary.density
    );
    if !loaded.dropped.is_empty() {
        let modules: std::collections::BTreeSet<&str> = loaded
            .dropped
            .iter()
            .filter_map(|n| n.split('.').next())
            .collect();
        println!(
            "dropped          {} tensors of unused modules: {}",
            loaded.dropped.len(),
            modules.into_iter().collect::<Vec<_>>().join(", ")
        );
    }
    println!(
        "wrote            {} ({} bytes, {})",
        args.output.display(),
        bytes.len(),
        precision.name()
    );
    Ok(())
}
