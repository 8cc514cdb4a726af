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

/// The ticket that ships with mirl (tickets/README.md says how it was made), used when a
/// command is given no `--ticket`.
pub const DEFAULT_TICKET: &[u8] = include_bytes!("../../../tickets/default.mirl");

/// The ticket at `path`, or the bundled default.
pub fn ticket_or_default(path: Option<&Path>) -> Result<Ticket> {
    match path {
        Some(path) => read_ticket(path),
        None => Ok(Ticket::from_bytes(DEFAULT_TICKET)?),
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
