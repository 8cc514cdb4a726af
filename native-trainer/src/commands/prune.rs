//! `prune`: one round of magnitude pruning of a ticket, as `train` prunes between rounds.

use std::path::PathBuf;

use anyhow::{bail, Result};
use mirl::ticket::Ticket;

use crate::commands::tickets::read_ticket;
use crate::fsio;
use crate::train::masks::{Masks, Scope};

/// Cut a ticket's smallest prunable weights, as `train` does between rounds.
///
/// The survivors keep their values. To train them as a lottery ticket, rewound to their
/// initialisation (a round of iterative pruning by hand, say with another --scope):
/// `train --control rewound --masks-from OUTPUT` with the run's settings.
#[derive(clap::Args)]
pub struct Args {
    /// The ticket to prune (.mirl).
    ticket: PathBuf,
    /// Where to write the pruned ticket.
    #[arg(short, long)]
    output: PathBuf,
    /// Fraction of the surviving prunable weights to cut.
    #[arg(long, required_unless_present = "density", conflicts_with = "density")]
    fraction: Option<f64>,
    /// Density of the prunable weights to leave, instead of --fraction.
    #[arg(long)]
    density: Option<f64>,
    /// Magnitude threshold over all layers at once, per layer, or over layer-adaptive scores.
    #[arg(long, value_enum, default_value = "global")]
    scope: Scope,
}

pub fn run(args: Args) -> Result<()> {
    let ticket = read_ticket(&args.ticket)?;
    let mut masks = Masks::from_nonzero(&ticket.params);
    let before = masks.density();
    let fraction = match (args.fraction, args.density) {
        (Some(f), _) if f > 0.0 && f < 1.0 => f,
        (Some(f), _) => bail!("--fraction {f}: give a fraction above 0 and below 1"),
        (None, Some(d)) if d > 0.0 && d < before => 1.0 - d / before,
        (None, Some(d)) => {
            bail!("--density {d}: give a density above 0 and below the ticket's {before:.4}")
        }
        (None, None) => unreachable!("clap requires --fraction or --density"),
    };
    masks.prune(&ticket.params, fraction, args.scope);
    let mut params = ticket.params;
    masks.apply(&mut params);
    let mut provenance = ticket.provenance;
    provenance.rounds = Some(provenance.rounds.unwrap_or(0) + 1);
    provenance
        .extra
        .insert("scope".into(), serde_json::to_value(args.scope)?);
    let pruned = Ticket::new(ticket.config, params, ticket.precision, provenance)?;
    let bytes = pruned.to_bytes()?;
    fsio::write_atomic(&args.output, &bytes, &[&args.ticket])?;
    println!(
        "pruned           {:.4} -> {:.4} of the prunable weights ({} kept), scope {}",
        before,
        masks.density(),
        masks.kept(),
        serde_json::to_value(args.scope)?
    );
    println!(
        "wrote            {} ({} bytes)",
        args.output.display(),
        bytes.len()
    );
    Ok(())
}
