//! The crate's error type: every way a config, a ticket or an input can be wrong, named.

use thiserror::Error;

/// Errors from building a network, reading or writing a ticket, or restoring an image.
#[derive(Debug, Error)]
pub enum Error {
    /// The network config is inconsistent or out of the supported range.
    #[error("invalid network config: {0}")]
    Config(String),
    /// The ticket file is not a valid mirl ticket.
    #[error("invalid ticket: {0}")]
    Ticket(String),
    /// The ticket was written by a newer or unknown version of the format.
    #[error("unsupported ticket format version {found} (this build reads version {supported})")]
    TicketVersion { found: String, supported: u32 },
    /// A set of named weights does not match what the config expects.
    #[error("weights do not match the network: {0}")]
    Weights(String),
    /// An input tensor or image is unusable.
    #[error("invalid input: {0}")]
    Input(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
