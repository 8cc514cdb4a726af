//! One module per subcommand, each with its clap `Args` and a `run`.

pub mod degrade;
pub mod eval;
pub mod export;
pub mod import;
pub mod infer;
pub mod inspect;
pub mod metrics;
pub mod restore;

use std::path::Path;

use anyhow::{Context, Result};
use mirl::ticket::Ticket;

/// The ticket at `path`, or the bundled default.
pub fn ticket_or_default(path: Option<&Path>) -> Result<Ticket> {
    match path {
        Some(path) => read_ticket(path),
        None => Ok(Ticket::from_bytes(mirl::ticket::DEFAULT_TICKET)?),
    }
}

/// How to name a ticket argument in messages.
pub fn ticket_name(path: Option<&Path>) -> String {
    path.map_or("the default ticket".into(), |p| p.display().to_string())
}

/// Reads and validates a ticket file, naming it in any error.
pub fn read_ticket(path: &Path) -> Result<Ticket> {
    let bytes = crate::fsio::read(path)?;
    Ticket::from_bytes(&bytes).with_context(|| format!("cannot load ticket {}", path.display()))
}
