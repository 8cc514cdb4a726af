//! native-trainer: make, import, inspect and run MIR-L restoration tickets.

mod backend;
mod commands;
mod fsio;
mod imageio;
mod weights;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Train, prune and run MIR-L restoration networks ("winning tickets").
///
/// A ticket (.mirl) is a pruned PromptIR network in one small file. Make one with
/// `native-trainer import WEIGHTS --config CONFIG.json -o T.mirl` from PyTorch PromptIR/MIR-L
/// weights, look inside with `inspect`, restore photos with `restore IN -o OUT --ticket T.mirl`,
/// and score it with `degrade`, `metrics` and `eval`.
#[derive(Parser)]
#[command(name = "native-trainer", version, arg_required_else_help = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Import(commands::import::Args),
    Inspect(commands::inspect::Args),
    Infer(commands::infer::Args),
    Restore(commands::restore::Args),
    Degrade(commands::degrade::Args),
    Metrics(commands::metrics::Args),
    Eval(commands::eval::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Import(args) => commands::import::run(args),
        Command::Infer(args) => commands::infer::run(args),
        Command::Inspect(args) => commands::inspect::run(args),
        Command::Restore(args) => commands::restore::run(args),
        Command::Degrade(args) => commands::degrade::run(args),
        Command::Metrics(args) => commands::metrics::run(args),
        Command::Eval(args) => commands::eval::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("native-trainer: error: {err}");
            for cause in err.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::from(2)
        }
    }
}
