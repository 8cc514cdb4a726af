//! native-trainer: make, import, inspect and run MIR-L restoration tickets.

mod alloc;
mod backend;
mod commands;
mod data;
mod fsio;
mod imageio;
mod ranks;
mod train;
mod weights;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Train, prune and run MIR-L restoration networks ("winning tickets").
///
/// A ticket (.mirl) is a pruned PromptIR network in one small file. Look inside one with
/// `inspect`, restore photos with `restore`, and score it with `degrade`, `metrics` and `eval`.
#[derive(Parser)]
#[command(
    name = "native-trainer",
    version = backend::VERSION,
    arg_required_else_help = true,
    after_help = "\
To make a ticket, train one (about 10 minutes on 2 CPU cores):
  native-trainer train --data ../shared/data/train/cbsd432 --out runs/quick --recipe quick
The ticket is runs/quick/round-02.mirl; runs/quick/report.md shows each round. Or convert
PyTorch PromptIR/MIR-L weights:
  native-trainer import WEIGHTS --config CONFIG.json -o T.mirl
Then: native-trainer restore PHOTO.jpg -o CLEAN.png --ticket runs/quick/round-02.mirl"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once per run: the size of the largest variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    Train(train::Args),
    Prune(commands::prune::Args),
    Import(commands::import::Args),
    Export(commands::export::Args),
    Inspect(commands::inspect::Args),
    Infer(commands::infer::Args),
    Restore(commands::restore::Args),
    Degrade(commands::degrade::Args),
    Metrics(commands::metrics::Args),
    Eval(commands::eval::Args),
    Runs(commands::runs::Args),
}

fn main() -> ExitCode {
    alloc::keep_freed_memory();
    // Like other Unix tools (and ripgrep), end quietly when the reader of our output goes
    // away (`native-trainer inspect T.mirl | head`), instead of panicking in println!.
    #[cfg(unix)]
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Train(args) => train::run(args),
        Command::Prune(args) => commands::prune::run(args),
        Command::Import(args) => commands::import::run(args),
        Command::Export(args) => commands::export::run(args),
        Command::Infer(args) => commands::infer::run(args),
        Command::Inspect(args) => commands::inspect::run(args),
        Command::Restore(args) => commands::restore::run(args),
        Command::Degrade(args) => commands::degrade::run(args),
        Command::Metrics(args) => commands::metrics::run(args),
        Command::Eval(args) => commands::eval::run(args),
        Command::Runs(args) => commands::runs::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if err.is::<train::interrupt::Interrupted>() => {
            eprintln!("native-trainer: {err}");
            ExitCode::from(130)
        }
        Err(err) => {
            eprintln!("native-trainer: error: {err}");
            for cause in err.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::from(2)
        }
    }
}
