//! `train`: find a winning ticket by iterative magnitude pruning with rewinding (MIR-L).
//! Round 0 trains the dense network; each later round prunes, rewinds the survivors and
//! retrains with a fresh optimizer and schedule. Every round's ticket, a report and a
//! checkpoint go to the run folder; `--resume` continues a killed run bit for bit.

pub mod checkpoint;
pub mod interrupt;
pub mod masks;
pub mod report;
pub mod run;
pub mod step;

use std::path::{Path, PathBuf};

use anyhow::{bail, ensure, Context, Result};
use mirl::ticket::Precision;
use mirl::PromptIrConfig;
use serde::{Deserialize, Serialize};

use crate::backend::BackendKind;
use crate::data::{parse_tasks, Dataset, TaskMix};
use crate::fsio;
use masks::{Masks, Scope};
use step::{AdamSettings, Loss};

/// Degradations trained on by default: the all-in-one web mix.
pub const DEFAULT_TASKS: &str = "noise,osn,rain,haze,noise+osn";
/// Degradations scored on the validation photos after each round.
pub const DEFAULT_VAL_TASKS: &str = "noise:25,jpeg:20,rain,haze";

/// Train a network and prune it into a ticket (.mirl).
///
/// Example: `native-trainer train --data ../shared/data/train --out runs/quick --preset quick`
/// writes runs/quick/round-00.mirl (dense), round-01.mirl, ... and report.md.
#[derive(clap::Args, Clone)]
// A later value of an option replaces an earlier one, so scripts can append overrides to a recipe.
#[command(args_override_self = true)]
pub struct Args {
    /// Folder of clean training photos (PNG, JPEG, BMP, WebP, TIFF). A few are held out for validation.
    #[arg(long)]
    data: PathBuf,
    /// Run folder: tickets, report.json, report.md and the checkpoint.
    #[arg(long)]
    out: PathBuf,
    /// Training recipe: a network and defaults for rounds, steps, batch and crop.
    #[arg(long, value_enum, default_value = "quick")]
    preset: Recipe,
    /// Network config (config.json schema) instead of the preset's network.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Pruning rounds after the dense round 0.
    #[arg(long)]
    rounds: Option<u32>,
    /// Optimisation steps per round.
    #[arg(long, conflicts_with = "epochs_per_round")]
    steps_per_round: Option<u64>,
    /// Steps per round as epochs: passes of one crop per training photo.
    #[arg(long)]
    epochs_per_round: Option<f64>,
    /// Train each round for this many seconds instead of a number of steps; the learning-rate
    /// schedule follows the clock, and the reports give the steps taken.
    #[arg(long, conflicts_with_all = ["steps_per_round", "epochs_per_round"])]
    round_secs: Option<f64>,
    /// Fit the whole run (with --and-control, the control too) into this many seconds: once
    /// the first step has compiled the kernels, the time left is shared between the rounds.
    #[arg(long, conflicts_with_all = ["steps_per_round", "epochs_per_round", "round_secs"])]
    time_budget: Option<f64>,
    /// Linear warm-up steps at the start of each round (default: a ninth of the round).
    #[arg(long)]
    warmup_steps: Option<u64>,
    /// Crops per batch.
    #[arg(long)]
    batch: Option<usize>,
    /// Crop side in pixels (a multiple of 8).
    #[arg(long)]
    crop: Option<u32>,
    /// Peak learning rate [default: 2e-4, as MIR-L; 1e-3 for quick].
    #[arg(long)]
    lr: Option<f64>,
    #[arg(long, default_value_t = 0.01)]
    weight_decay: f64,
    /// What a step minimises: l1 over R, G, B (MIR-L), or luma (the error's Y, Cb, Cr, the
    /// colour differences weighted a quarter).
    #[arg(long, value_enum, default_value = "l1")]
    loss: Loss,
    /// Fraction of the surviving prunable weights cut each round [default: 0.2].
    #[arg(long, conflicts_with = "target_density")]
    prune_fraction: Option<f64>,
    /// Density of prunable weights to reach after the last round; sets the fraction per round.
    #[arg(long)]
    target_density: Option<f64>,
    /// Magnitude threshold over all layers at once, or per layer.
    #[arg(long, value_enum, default_value = "global")]
    scope: Scope,
    /// Rewind survivors to their values after this many steps of round 0 (0: initialisation).
    #[arg(long, default_value_t = 0)]
    rewind_step: u64,
    /// Also rewind prompt_param and temperature (MIR-L keeps their trained values).
    #[arg(long)]
    rewind_all: bool,
    /// Train one round at the masks of --masks-from instead of pruning: with fresh random
    /// weights (random-reinit) or random masks at its per-layer density (random-prune), the
    /// controls for the lottery-ticket claim; or with this run's own initial weights at --seed
    /// (rewound: the weights a run with --rewind-step 0 rewinds to), to retrain a found ticket
    /// on another --tasks mix.
    #[arg(long, value_enum, requires = "masks_from")]
    control: Option<Control>,
    /// The ticket whose masks a control uses.
    #[arg(long, requires = "control")]
    masks_from: Option<PathBuf>,
    /// After the last round, also train this control at the final ticket's masks with the
    /// same steps (or seconds) per round, into OUT/control-<kind>.
    #[arg(long, value_enum, conflicts_with = "control")]
    and_control: Option<Control>,
    /// Training degradations with optional weights, e.g. "noise@2,osn,rain,haze,clean@0.5"
    /// (`clean`: photos left as they are, to be left alone).
    #[arg(long, default_value = DEFAULT_TASKS)]
    tasks: String,
    /// Degradations scored on the validation photos after each round.
    #[arg(long, default_value = DEFAULT_VAL_TASKS)]
    val_tasks: String,
    /// Photos held out from --data for validation.
    #[arg(long)]
    val_images: Option<usize>,
    /// Side of the centre crop of each validation photo.
    #[arg(long)]
    val_crop: Option<u32>,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Precision of the round tickets.
    #[arg(long, value_enum, default_value = "f16")]
    precision: Precision,
    #[arg(long, value_enum, default_value = "cpu")]
    backend: BackendKind,
    /// Continue the run in --out from its checkpoint (same settings required).
    #[arg(long)]
    resume: bool,
    /// Seconds between checkpoints within a round (one is also written after every round;
    /// 0 writes one after every step).
    #[arg(long, default_value_t = 120.0)]
    checkpoint_secs: f64,
    /// Threads preparing batches.
    #[arg(long, default_value_t = 2)]
    workers: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Control {
    RandomReinit,
    RandomPrune,
    Rewound,
}

/// Training recipes: a network and defaults for rounds, steps, batch, crop and validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Recipe {
    /// The `tiny` network, 2 rounds of 300 steps at a high learning rate: about 10 minutes on
    /// 2 CPU cores.
    Quick,
    /// The `small` network (the browser's), 8 rounds of 2,000 steps on 64-pixel crops.
    Small,
    /// MIR-L's network and schedule: 15 rounds of 20,000 steps.
    Paper,
    /// The `tiny` network for a handful of steps: for tests.
    Tiny,
}

/// A recipe's defaults.
struct Defaults {
    network: &'static str,
    rounds: u32,
    steps_per_round: u64,
    batch: usize,
    crop: u32,
    val_images: usize,
    val_crop: u32,
    lr: f64,
}

impl Recipe {
    fn name(self) -> String {
        clap::ValueEnum::to_possible_value(&self)
            .expect("no variant is skipped")
            .get_name()
            .to_string()
    }

    fn defaults(self) -> Defaults {
        let d =
            |network, rounds, steps_per_round, batch, crop, val_images, val_crop, lr| Defaults {
                network,
                rounds,
                steps_per_round,
                batch,
                crop,
                val_images,
                val_crop,
                lr,
            };
        match self {
            Recipe::Tiny => d("tiny", 2, 6, 2, 32, 1, 32, 2e-4),
            Recipe::Quick => d("tiny", 2, 300, 8, 32, 4, 128, 1e-3),
            Recipe::Small => d("small", 8, 2000, 8, 64, 8, 256, 2e-4),
            Recipe::Paper => d("paper", 15, 20_000, 8, 64, 8, 256, 2e-4),
        }
    }
}

/// Everything that determines a run's result; a resume must match it exactly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    pub preset: String,
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
}

/// How long each round trains, as the arguments say it.
enum RoundLength {
    Steps(u64),
    /// Passes of one crop per training photo: steps once the photos are counted.
    Epochs(f64),
    /// On the clock (`--round-secs`, `--time-budget`).
    Timed,
}

/// Pruning rounds, or one control round at the masks of a ticket.
enum Pruning {
    Rounds {
        rounds: u32,
        fraction: f64,
    },
    Control {
        control: Control,
        masks_from: PathBuf,
    },
}

/// The arguments resolved against the recipe and checked, before anything is read from disk:
/// every mistake in the command line is reported without loading a photo.
struct Plan {
    recipe: Recipe,
    defaults: Defaults,
    crop: u32,
    batch: usize,
    val_images: usize,
    val_crop: u32,
    tasks: TaskMix,
    length: RoundLength,
    lr: f64,
    pruning: Pruning,
}

impl Plan {
    fn new(args: &Args) -> Result<Self> {
        let recipe = args.preset;
        let defaults = recipe.defaults();
        let crop = args.crop.unwrap_or(defaults.crop);
        ensure!(
            crop >= 8 && crop.is_multiple_of(8),
            "--crop {crop}: must be a positive multiple of 8 (the network downsamples 3 times)"
        );
        let batch = args.batch.unwrap_or(defaults.batch);
        ensure!(batch >= 1, "--batch must be at least 1");
        let val_images = args.val_images.unwrap_or(defaults.val_images);
        let val_crop = args.val_crop.unwrap_or(defaults.val_crop);
        ensure!(
            val_crop >= 8 && val_crop.is_multiple_of(8),
            "--val-crop {val_crop}: must be a positive multiple of 8"
        );
        let tasks: TaskMix = args.tasks.parse().context("in --tasks")?;
        let val_tasks = parse_tasks(&args.val_tasks).context("in --val-tasks")?;
        // Validation scores go into the checkpoint as JSON, which has no infinity.
        ensure!(
            val_tasks.iter().all(|(name, _)| name != "clean"),
            "--val-tasks: `clean` has an infinite input PSNR; score it with `eval --tasks clean`"
        );
        ensure!(
            args.checkpoint_secs >= 0.0 && args.checkpoint_secs.is_finite(),
            "--checkpoint-secs must be 0 or more"
        );

        for (flag, secs) in [
            ("--round-secs", args.round_secs),
            ("--time-budget", args.time_budget),
        ] {
            if let Some(secs) = secs {
                ensure!(
                    secs > 0.0 && secs.is_finite(),
                    "{flag} {secs}: must be positive"
                );
            }
        }
        let length = match (args.epochs_per_round, args.steps_per_round) {
            _ if args.round_secs.is_some() || args.time_budget.is_some() => {
                ensure!(
                    args.warmup_steps.is_none() && args.rewind_step == 0,
                    "timed rounds warm up for a ninth of each round and rewind to initialisation; drop --warmup-steps and --rewind-step"
                );
                RoundLength::Timed
            }
            (Some(e), _) => {
                ensure!(
                    e > 0.0 && e.is_finite(),
                    "--epochs-per-round must be positive"
                );
                RoundLength::Epochs(e)
            }
            (None, steps) => {
                let steps = steps.unwrap_or(defaults.steps_per_round);
                ensure!(steps >= 1, "--steps-per-round must be at least 1");
                RoundLength::Steps(steps)
            }
        };
        let lr = args.lr.unwrap_or(defaults.lr);
        ensure!(lr > 0.0 && lr.is_finite(), "--lr must be positive");

        let pruning = match args.control {
            Some(control) => {
                ensure!(
                    args.rounds.is_none() && args.target_density.is_none(),
                    "a control run trains one round at the masks' density; drop --rounds and --target-density"
                );
                let masks_from = args.masks_from.clone().expect("clap requires --masks-from");
                Pruning::Control {
                    control,
                    masks_from,
                }
            }
            None => {
                let rounds = args.rounds.unwrap_or(defaults.rounds);
                let fraction = match args.target_density {
                    Some(d) => {
                        ensure!(
                            d > 0.0 && d < 1.0,
                            "--target-density {d}: must be between 0 and 1 (exclusive)"
                        );
                        ensure!(rounds >= 1, "--target-density needs at least one round");
                        1.0 - d.powf(1.0 / rounds as f64)
                    }
                    None => args.prune_fraction.unwrap_or(0.2),
                };
                ensure!(
                    fraction > 0.0 && fraction < 1.0,
                    "--prune-fraction {fraction}: must be between 0 and 1 (exclusive)"
                );
                Pruning::Rounds { rounds, fraction }
            }
        };
        Ok(Plan {
            recipe,
            defaults,
            crop,
            batch,
            val_images,
            val_crop,
            tasks,
            length,
            lr,
            pruning,
        })
    }

    /// Reads what the plan names (the network's config, the photos, a control's ticket) and
    /// settles the figures that depend on them.
    fn load(self, args: &Args) -> Result<(Settings, Dataset, Option<Masks>)> {
        let network = match &args.config {
            Some(path) => PromptIrConfig::from_json(&String::from_utf8_lossy(&fsio::read(path)?))
                .with_context(|| format!("in {}", path.display()))?,
            None => PromptIrConfig::preset(self.defaults.network)?,
        };
        let data = Dataset::load(&args.data, self.crop.max(self.val_crop), self.val_images)?;
        let steps_per_round = match self.length {
            RoundLength::Steps(steps) => steps,
            RoundLength::Epochs(e) => {
                (e * data.train.len() as f64 / self.batch as f64).ceil() as u64
            }
            RoundLength::Timed => 0,
        };
        let timed = matches!(self.length, RoundLength::Timed);
        let warmup_steps = args.warmup_steps.unwrap_or(steps_per_round / 9);
        ensure!(
            warmup_steps <= steps_per_round,
            "--warmup-steps {warmup_steps} is longer than the round ({steps_per_round} steps)"
        );
        ensure!(
            timed || args.rewind_step < steps_per_round,
            "--rewind-step {} must be inside round 0 ({steps_per_round} steps)",
            args.rewind_step
        );

        let (rounds, prune_fraction, control_masks, masks_from) = match &self.pruning {
            Pruning::Control {
                control,
                masks_from,
            } => {
                let bytes = fsio::read(masks_from)?;
                let ticket = crate::commands::tickets::read_ticket(masks_from)?;
                ensure!(
                    ticket.config == network,
                    "{} is a different network from this run's; pass its config or preset",
                    masks_from.display()
                );
                let masks = Masks::from_nonzero(&ticket.params);
                let masks = match control {
                    Control::RandomReinit | Control::Rewound => masks,
                    Control::RandomPrune => {
                        masks.random_like(crate::data::mix_seed(&[args.seed, 2]))
                    }
                };
                let source = format!(
                    "{} (crc32 {:08x})",
                    canonical(masks_from),
                    crc32fast::hash(&bytes)
                );
                (0, 0.0, Some(masks), Some(source))
            }
            Pruning::Rounds { rounds, fraction } => (*rounds, *fraction, None, None),
        };
        let settings = Settings {
            preset: self.recipe.name(),
            network,
            data: canonical(&args.data),
            data_fingerprint: fingerprint(&data),
            rounds,
            steps_per_round,
            round_secs: args.round_secs,
            time_budget: args.time_budget,
            warmup_steps,
            batch: self.batch,
            crop: self.crop,
            adam: AdamSettings {
                lr: self.lr,
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
                weight_decay: args.weight_decay,
            },
            loss: args.loss,
            prune_fraction,
            scope: args.scope,
            rewind_step: args.rewind_step,
            rewind_all: args.rewind_all,
            control: args.control,
            masks_from,
            tasks: self
                .tasks
                .tasks
                .iter()
                .map(|(n, _, w)| format!("{n}@{w}"))
                .collect::<Vec<_>>()
                .join(","),
            val_tasks: args.val_tasks.clone(),
            val_images: self.val_images,
            val_crop: self.val_crop,
            seed: args.seed,
            precision: args.precision,
        };
        Ok((settings, data, control_masks))
    }
}

fn canonical(p: &Path) -> String {
    p.canonicalize()
        .unwrap_or_else(|_| p.to_path_buf())
        .display()
        .to_string()
}

fn fingerprint(data: &Dataset) -> String {
    let mut h = crc32fast::Hasher::new();
    for p in data.train.iter().chain(&data.val) {
        h.update(p.name.as_bytes());
        h.update(&p.image.width().to_le_bytes());
        h.update(&p.image.height().to_le_bytes());
    }
    format!(
        "{} train + {} validation photos, crc32 {:08x}",
        data.train.len(),
        data.val.len(),
        h.finalize()
    )
}

pub fn run(args: Args) -> Result<()> {
    let started = std::time::Instant::now();
    let (settings, data, control_masks) = Plan::new(&args)?.load(&args)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create the run folder {}", args.out.display()))?;
    interrupt::install()?;
    let ckpt_path = args.out.join(checkpoint::FILE);
    let existing = if ckpt_path.exists() {
        ensure!(
            args.resume,
            "{} already holds a run; pass --resume to continue it, or choose another --out",
            args.out.display()
        );
        Some(
            checkpoint::Checkpoint::from_bytes(&fsio::read(&ckpt_path)?)
                .with_context(|| format!("cannot resume from {}", ckpt_path.display()))?,
        )
    } else {
        ensure!(
            !args.resume,
            "nothing to resume: {} has no {}",
            args.out.display(),
            checkpoint::FILE
        );
        for earlier in ["report.json", "round-00.mirl", "init.mirl"] {
            ensure!(
                !args.out.join(earlier).exists(),
                "{} holds {earlier} from an earlier run; choose another --out",
                args.out.display()
            );
        }
        None
    };
    if let Some(c) = &existing {
        let diffs = checkpoint::differences(&c.settings, &serde_json::to_value(&settings)?);
        if !diffs.is_empty() {
            bail!(
                "cannot resume {} with different settings:\n  {}",
                args.out.display(),
                diffs.join("\n  ")
            );
        }
    }
    match &existing {
        // A finished run may still owe its control: a stop can fall between the two.
        Some(c) if c.progress.done => eprintln!(
            "{} is complete: {} round(s) trained",
            args.out.display(),
            c.progress.rows.len()
        ),
        _ => {
            let training = run::Training {
                settings,
                data,
                control_masks,
                existing,
                out: args.out.clone(),
                checkpoint_secs: args.checkpoint_secs,
                workers: args.workers,
                shards: args.backend.shards(),
                // A time budget is shared with the control that follows.
                later_rounds: args.and_control.is_some() as u32,
                started,
            };
            crate::backend::dispatch_autodiff(args.backend, training)?;
        }
    }
    match args.and_control {
        Some(control) => run(control_args(&args, control)?),
        None => Ok(()),
    }
}

/// The arguments of the control that `--and-control` trains after the run in `args.out`:
/// the final ticket's masks, and the same steps or seconds per round as the run's.
fn control_args(args: &Args, control: Control) -> Result<Args> {
    let out = &args.out;
    let saved = checkpoint::Checkpoint::from_bytes(&fsio::read(&out.join(checkpoint::FILE))?)?;
    let last = saved
        .progress
        .rows
        .last()
        .context("the run finished no round")?;
    let kind = serde_json::to_value(control)?;
    let kind = kind.as_str().unwrap_or("run");
    let mut c = args.clone();
    c.control = Some(control);
    c.and_control = None;
    c.masks_from = Some(out.join(&last.ticket));
    c.out = out.join(format!("control-{kind}"));
    (c.rounds, c.target_density, c.prune_fraction) = (None, None, None);
    if args.time_budget.is_some() {
        c.time_budget = None;
        c.round_secs = saved.progress.round_secs;
    }
    c.resume = c.out.join(checkpoint::FILE).exists();
    eprintln!("control ({kind}): {}", c.out.display());
    Ok(c)
}
