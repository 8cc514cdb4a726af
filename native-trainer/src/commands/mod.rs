//! One module per subcommand, each with its clap `Args` and a `run`.

pub mod degrade;
pub mod eval;
pub mod export;
pub mod import;
pub mod infer;
pub mod inspect;
pub mod metrics;
pub mod prune;
pub mod restore;
pub mod runs;
pub mod tickets;
