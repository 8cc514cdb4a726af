//! What determines a run's result, as its checkpoint and reports record it: a resume must
//! match it exactly. The command line resolves into it (`train::Plan::load`).

use mirl::ticket::Precision;
use mirl::PromptIrConfig;
use serde::{Deserialize, Serialize};

use super::masks::Scope;
use super::step::{AdamSettings, Loss};

/// A control for the lottery-ticket claim, or a found ticket retrained: one round at a
/// ticket's masks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Control {
    RandomReinit,
    RandomPrune,
    Rewound,
}

impl Control {
    /// The name on the command line, and of the control's folder.
    pub fn name(self) -> String {
        value_name(&self)
    }
}

/// Everything that determines a run's result; a resume must match it exactly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// The training recipe (`--recipe`), under the name runs have always stored it with.
    #[serde(rename = "preset")]
    pub recipe: String,
    pub network: PromptIrConfig,
    pub data: String,
    /// Photos used and a CRC of their names and sizes, so a changed folder is noticed.
    pub data_fingerprint: String,
    pub rounds: u32,
    /// Steps per round; 0 when rounds are timed (`round_secs`, `time_budget`).
    pub steps_per_round: u64,
    /// Seconds per round, for timed rounds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round_secs: Option<f64>,
    /// Seconds for the whole run; the seconds per round are settled once it has started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_budget: Option<f64>,
    pub warmup_steps: u64,
    pub batch: usize,
    pub crop: u32,
    pub adam: AdamSettings,
    /// Runs from before the choice trained on L1.
    #[serde(default)]
    pub loss: Loss,
    pub prune_fraction: f64,
    pub scope: Scope,
    pub rewind_step: u64,
    pub rewind_all: bool,
    pub control: Option<Control>,
    pub masks_from: Option<String>,
    pub tasks: String,
    pub val_tasks: String,
    pub val_images: usize,
    pub val_crop: u32,
    pub seed: u64,
    pub precision: Precision,
    /// Processes the run is spread over (MPI ranks): the gradients' sums, and so the result,
    /// depend on it. Absent (1) in runs of one process.
    #[serde(default = "one_rank", skip_serializing_if = "is_one_rank")]
    pub ranks: usize,
}

fn one_rank() -> usize {
    1
}

fn is_one_rank(ranks: &usize) -> bool {
    *ranks == 1
}

/// A command-line value's name as clap spells it (`random-reinit`, `quick`): how settings and
/// folders name recipes and controls.
pub fn value_name(value: &impl clap::ValueEnum) -> String {
    value
        .to_possible_value()
        .expect("no variant is skipped")
        .get_name()
        .to_string()
}
