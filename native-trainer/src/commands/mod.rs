//! One module per subcommand, each with its clap `Args` and a `run`.

pub mod degrade;
pub mod eval;
pub mod import;
pub mod infer;
pub mod inspect;
pub mod metrics;
pub mod restore;

use std::path::Path;

use anyhow::{Context, Result};
use mirl::ticket::Ticket;

/// Reads and validates a ticket file, naming it in any error.
pub fn read_ticket(path: &Path) -> Result<Ticket> {
    let bytes = crate::fsio::read(path)?;
    Ticket::from_bytes(&bytes).with_context(|| format!("cannot load ticket {}", path.display()))
}
