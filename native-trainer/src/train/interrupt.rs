//! Ctrl+C (SIGINT) during training: the first one asks the run to stop after the current
//! step, with a checkpoint written; a second one ends the process at once, as usual.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

use anyhow::{Context, Result};

static REQUESTED: AtomicBool = AtomicBool::new(false);

/// The error a run ends with when interrupted; `main` exits with 130, as shells expect.
#[derive(Debug, thiserror::Error)]
#[error("interrupted at round {round}, step {step}: the checkpoint is written; continue with the same command and --resume")]
pub struct Interrupted {
    pub round: u32,
    pub step: u64,
}

/// Installs the handler; later calls (a run followed by its control) keep the first one.
pub fn install() -> Result<()> {
    static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();
    INSTALLED
        .get_or_init(|| {
            ctrlc::set_handler(|| {
                if REQUESTED.swap(true, Ordering::SeqCst) {
                    std::process::exit(130);
                }
                eprintln!(
                    "\nstopping after this step (Ctrl+C again to stop at once, without a checkpoint)"
                );
            })
            .map_err(|e| e.to_string())
        })
        .clone()
        .map_err(anyhow::Error::msg)
        .context("cannot install the Ctrl+C handler")
}

/// Whether Ctrl+C was pressed.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}
