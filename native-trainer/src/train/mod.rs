//! `train`: find a winning ticket by iterative magnitude pruning with rewinding (MIR-L).
//! Round 0 trains the dense network; each later round prunes, rewinds the survivors and
//! retrains with a fresh optimizer and schedule. Every round's ticket, a report and a
//! checkpoint go to the run folder; `--resume` continues a killed run bit for bit.

pub mod checkpoint;
pub mod interrupt;
pub mod masks;
pub mod report;
pub mod settings;
pub mod step;
pub mod training;

use std::path::{Path, PathBuf};

use anyhow::{ensure, Context, Result};
use mirl::ticket::Precision;
use mirl::PromptIrConfig;

use crate::backend::BackendKind;
use crate::data::{parse_tasks, Dataset, TaskMix};
use crate::fsio;
use crate::ranks::Ranks;
use masks::{Masks, Scope};
use settings::{Control, Settings};
use step::{AdamSettings, Loss};

/// Degradations trained on by default: the all-in-one web mix.
pub const DEFAULT_TASKS: &str = "noise,osn,rain,haze,noise+osn";
/// Degradations scored on the validation photos after each round.
pub const DEFAULT_VAL_TASKS: &str = "noise:25,jpeg:20,rain,haze";

/// Train a network and prune it into a ticket (.mirl).
///
/// Example: `native-trainer train --data ../shared/data/train --out runs/quick --recipe quick`
/// writes runs/quick/round-00.mirl (dense), round-01.mirl, ... and report.md.
#[derive(clap::Args, Clone)]
// A later value of an option replaces an earlier one, so scripts can append overrides to a recipe.
#[command(args_override_self = true)]
pub struct Args {
    /// Folder of clean training photos (PNG, JPEG, BMP, WebP, TIFF). A few are held out for validation.
    #[arg(long)]
    data: PathBuf,
    /// Run folder: tickets, report.json, report.md and the checkpoint.
    #[arg(long, required_unless_present = "runs", conflicts_with = "runs")]
    out: Option<PathBuf>,
    /// Instead of --out: a folder of runs (a sweep), where this run's folder is named by a
    /// hash of its settings. A finished run is skipped and an interrupted one resumed, so
    /// the same command can be repeated until it is done (a cluster's array job).
    #[arg(long)]
    runs: Option<PathBuf>,
    /// Training recipe: a network and defaults for rounds, steps, batch and crop (`--preset`
    /// is an older name for it; `--config` picks the network).
    #[arg(long = "recipe", alias = "preset", value_enum, default_value = "quick")]
    recipe: Recipe,
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
    /// Magnitude threshold over all layers at once, per layer, or over layer-adaptive scores.
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
        settings::value_name(&self)
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

/// How long each round trains, as the arguments say it.
#[derive(Clone)]
enum RoundLength {
    Steps(u64),
    /// Passes of one crop per training photo: steps once the photos are counted.
    Epochs(f64),
    /// On the clock: seconds per round, or for the whole run (shared between its rounds
    /// once it has started).
    Timed {
        round_secs: Option<f64>,
        time_budget: Option<f64>,
    },
}

/// Pruning rounds, or one control round at the masks of a ticket.
#[derive(Clone)]
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

/// Where the network's config comes from.
#[derive(Clone)]
enum Network {
    /// A config.json.
    File(PathBuf),
    /// The recipe's preset network.
    Preset(&'static str),
}

/// The command line resolved against the recipe and checked, before anything is read from
/// disk: every mistake in it is reported without loading a photo. A run reads nothing else
/// of the command line; its control (`--and-control`) is the same plan with a few changes.
#[derive(Clone)]
struct Plan {
    recipe: Recipe,
    network: Network,
    data: PathBuf,
    out: PathBuf,
    crop: u32,
    batch: usize,
    val_images: usize,
    val_crop: u32,
    tasks: TaskMix,
    val_tasks: String,
    length: RoundLength,
    warmup_steps: Option<u64>,
    adam: AdamSettings,
    loss: Loss,
    scope: Scope,
    rewind_step: u64,
    rewind_all: bool,
    pruning: Pruning,
    seed: u64,
    precision: Precision,
    backend: BackendKind,
    resume: bool,
    checkpoint_secs: f64,
    workers: usize,
    and_control: Option<Control>,
}

impl Plan {
    fn new(args: &Args) -> Result<Self> {
        let defaults = args.recipe.defaults();
        let crop = args.crop.unwrap_or(defaults.crop);
        ensure!(
            crop >= 8 && crop.is_multiple_of(8),
            "--crop {crop}: must be a positive multiple of 8 (the network downsamples 3 times)"
        );
        let batch = args.batch.unwrap_or(defaults.batch);
        ensure!(batch >= 1, "--batch must be at least 1");
        let val_crop = args.val_crop.unwrap_or(defaults.val_crop);
        ensure!(
            val_crop >= 8 && val_crop.is_multiple_of(8),
            "--val-crop {val_crop}: must be a positive multiple of 8"
        );
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
        let lr = args.lr.unwrap_or(defaults.lr);
        ensure!(lr > 0.0 && lr.is_finite(), "--lr must be positive");
        let mut plan = Plan {
            recipe: args.recipe,
            network: match &args.config {
                Some(path) => Network::File(path.clone()),
                None => Network::Preset(defaults.network),
            },
            data: args.data.clone(),
            out: PathBuf::new(),
            crop,
            batch,
            val_images: args.val_images.unwrap_or(defaults.val_images),
            val_crop,
            tasks: args.tasks.parse().context("in --tasks")?,
            val_tasks: args.val_tasks.clone(),
            length: round_length(args, &defaults)?,
            warmup_steps: args.warmup_steps,
            adam: AdamSettings {
                lr,
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
                weight_decay: args.weight_decay,
            },
            loss: args.loss,
            scope: args.scope,
            rewind_step: args.rewind_step,
            rewind_all: args.rewind_all,
            pruning: pruning(args, &defaults)?,
            seed: args.seed,
            precision: args.precision,
            backend: args.backend,
            resume: args.resume,
            checkpoint_secs: args.checkpoint_secs,
            workers: args.workers,
            and_control: args.and_control,
        };
        match (&args.out, &args.runs) {
            (Some(out), _) => plan.out = out.clone(),
            (None, Some(runs)) => {
                plan.out = runs.join(format!("run-{}", plan.key()?));
                plan.resume = plan.out.join(checkpoint::FILE).exists();
            }
            (None, None) => unreachable!("clap requires --out or --runs"),
        }
        Ok(plan)
    }

    /// What sets this run apart from others in a sweep: its resolved settings as JSON (keys
    /// sorted), less where it writes and how it is run (folder, workers, backend,
    /// checkpoints), which do not change its result.
    fn key_settings(&self) -> Result<serde_json::Value> {
        let network = match &self.network {
            Network::File(path) => serde_json::json!({
                "config": crc32fast::hash(&fsio::read(path)?),
            }),
            Network::Preset(name) => serde_json::json!({ "preset": name }),
        };
        let length = match self.length {
            RoundLength::Steps(steps) => serde_json::json!({ "steps": steps }),
            RoundLength::Epochs(epochs) => serde_json::json!({ "epochs": epochs }),
            RoundLength::Timed {
                round_secs,
                time_budget,
            } => serde_json::json!({ "round_secs": round_secs, "time_budget": time_budget }),
        };
        let pruning = match &self.pruning {
            Pruning::Rounds { rounds, fraction } => {
                serde_json::json!({ "rounds": rounds, "fraction": fraction })
            }
            Pruning::Control {
                control,
                masks_from,
            } => serde_json::json!({ "control": control, "masks_from": canonical(masks_from) }),
        };
        Ok(serde_json::json!({
            "recipe": self.recipe.name(),
            "network": network,
            "data": canonical(&self.data),
            "crop": self.crop,
            "batch": self.batch,
            "val_images": self.val_images,
            "val_crop": self.val_crop,
            "tasks": self.tasks.to_string(),
            "val_tasks": self.val_tasks,
            "length": length,
            "warmup_steps": self.warmup_steps,
            "adam": self.adam,
            "loss": self.loss,
            "scope": self.scope,
            "rewind_step": self.rewind_step,
            "rewind_all": self.rewind_all,
            "pruning": pruning,
            "seed": self.seed,
            "precision": self.precision,
            "and_control": self.and_control,
        }))
    }

    /// The run's name in a sweep: 16 hex digits of a 64-bit FNV-1a hash of
    /// [`Plan::key_settings`].
    fn key(&self) -> Result<String> {
        let text = self.key_settings()?.to_string();
        let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3)
        });
        Ok(format!("{hash:016x}"))
    }

    /// Reads what the plan names (the network's config, the photos, a control's ticket) and
    /// settles the figures that depend on them.
    fn load(&self, ranks: &Ranks) -> Result<(Settings, Dataset, Option<Masks>)> {
        let network = match &self.network {
            Network::File(path) => {
                PromptIrConfig::from_json(&String::from_utf8_lossy(&fsio::read(path)?))
                    .with_context(|| format!("in {}", path.display()))?
            }
            Network::Preset(name) => PromptIrConfig::preset(name)?,
        };
        let data = Dataset::load(&self.data, self.crop.max(self.val_crop), self.val_images)?;
        let steps_per_round = match self.length {
            RoundLength::Steps(steps) => steps,
            RoundLength::Epochs(e) => {
                (e * data.train.len() as f64 / self.batch as f64).ceil() as u64
            }
            RoundLength::Timed { .. } => 0,
        };
        let (round_secs, time_budget) = match self.length {
            RoundLength::Timed {
                round_secs,
                time_budget,
            } => (round_secs, time_budget),
            _ => (None, None),
        };
        let warmup_steps = self.warmup_steps.unwrap_or(steps_per_round / 9);
        ensure!(
            warmup_steps <= steps_per_round,
            "--warmup-steps {warmup_steps} is longer than the round ({steps_per_round} steps)"
        );
        ensure!(
            round_secs.is_some() || time_budget.is_some() || self.rewind_step < steps_per_round,
            "--rewind-step {} must be inside round 0 ({steps_per_round} steps)",
            self.rewind_step
        );
        let (rounds, prune_fraction, control, control_masks, masks_from) = match &self.pruning {
            Pruning::Control {
                control,
                masks_from,
            } => {
                let (masks, source) = self.control_masks(*control, masks_from, &network)?;
                (0, 0.0, Some(*control), Some(masks), Some(source))
            }
            Pruning::Rounds { rounds, fraction } => (*rounds, *fraction, None, None, None),
        };
        let settings = Settings {
            recipe: self.recipe.name(),
            network,
            data: canonical(&self.data),
            data_fingerprint: fingerprint(&data),
            rounds,
            steps_per_round,
            round_secs,
            time_budget,
            warmup_steps,
            batch: self.batch,
            crop: self.crop,
            adam: self.adam,
            loss: self.loss,
            prune_fraction,
            scope: self.scope,
            rewind_step: self.rewind_step,
            rewind_all: self.rewind_all,
            control,
            masks_from,
            tasks: self.tasks.to_string(),
            val_tasks: self.val_tasks.clone(),
            val_images: self.val_images,
            val_crop: self.val_crop,
            seed: self.seed,
            precision: self.precision,
            ranks: ranks.size(),
        };
        Ok((settings, data, control_masks))
    }

    /// A control's masks, from the ticket at `masks_from`, and how the settings name it.
    fn control_masks(
        &self,
        control: Control,
        masks_from: &Path,
        network: &PromptIrConfig,
    ) -> Result<(Masks, String)> {
        let bytes = fsio::read(masks_from)?;
        let ticket = crate::commands::tickets::read_ticket(masks_from)?;
        ensure!(
            &ticket.config == network,
            "{} is a different network from this run's; pass its config or preset",
            masks_from.display()
        );
        let masks = Masks::from_nonzero(&ticket.params);
        let masks = match control {
            Control::RandomReinit | Control::Rewound => masks,
            Control::RandomPrune => masks.random_like(crate::data::mix_seed(&[self.seed, 2])),
        };
        let source = format!(
            "{} (crc32 {:08x})",
            canonical(masks_from),
            crc32fast::hash(&bytes)
        );
        Ok((masks, source))
    }

    /// The control that `--and-control` trains after this run: one round at the final
    /// ticket's masks, with the same steps (or seconds) per round, in OUT/control-<kind>.
    fn control(&self, control: Control) -> Result<Plan> {
        let saved =
            checkpoint::Checkpoint::from_bytes(&fsio::read(&self.out.join(checkpoint::FILE))?)?;
        let last = saved
            .progress
            .rows
            .last()
            .context("the run finished no round")?;
        let out = self.out.join(format!("control-{}", control.name()));
        let length = match self.length {
            // The run's budget was shared out: the control takes a round's share.
            RoundLength::Timed {
                time_budget: Some(_),
                ..
            } => RoundLength::Timed {
                round_secs: saved.progress.round_secs,
                time_budget: None,
            },
            ref length => length.clone(),
        };
        Ok(Plan {
            pruning: Pruning::Control {
                control,
                masks_from: self.out.join(&last.ticket),
            },
            resume: out.join(checkpoint::FILE).exists(),
            out,
            length,
            and_control: None,
            ..self.clone()
        })
    }
}

/// `--steps-per-round`, `--epochs-per-round`, `--round-secs` or `--time-budget`, checked.
fn round_length(args: &Args, defaults: &Defaults) -> Result<RoundLength> {
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
    if args.round_secs.is_some() || args.time_budget.is_some() {
        ensure!(
            args.warmup_steps.is_none() && args.rewind_step == 0,
            "timed rounds warm up for a ninth of each round and rewind to initialisation; drop --warmup-steps and --rewind-step"
        );
        return Ok(RoundLength::Timed {
            round_secs: args.round_secs,
            time_budget: args.time_budget,
        });
    }
    if let Some(e) = args.epochs_per_round {
        ensure!(
            e > 0.0 && e.is_finite(),
            "--epochs-per-round must be positive"
        );
        return Ok(RoundLength::Epochs(e));
    }
    let steps = args.steps_per_round.unwrap_or(defaults.steps_per_round);
    ensure!(steps >= 1, "--steps-per-round must be at least 1");
    Ok(RoundLength::Steps(steps))
}

/// `--rounds` with `--prune-fraction` or `--target-density`, or `--control`, checked.
fn pruning(args: &Args, defaults: &Defaults) -> Result<Pruning> {
    if let Some(control) = args.control {
        ensure!(
            args.rounds.is_none() && args.target_density.is_none(),
            "a control run trains one round at the masks' density; drop --rounds and --target-density"
        );
        let masks_from = args.masks_from.clone().expect("clap requires --masks-from");
        return Ok(Pruning::Control {
            control,
            masks_from,
        });
    }
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
    Ok(Pruning::Rounds { rounds, fraction })
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
    let plan = Plan::new(&args)?;
    let ranks = Ranks::from_launcher()?;
    if ranks.size() > 1 {
        ensure!(
            !matches!(plan.length, RoundLength::Timed { .. }),
            "timed rounds (--round-secs, --time-budget) would end at a different step on each rank; give --steps-per-round or --epochs-per-round"
        );
        // The ranks on one machine share its cores.
        // (Asking rayon for its thread count would start its pool at the full size.)
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let threads = (cores / ranks.local_size()).max(1);
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build_global()
            .context("cannot size the thread pool for this rank")?;
        if ranks.is_root() {
            eprintln!(
                "{} ranks, {threads} threads each on this machine; rank 0 writes {}",
                ranks.size(),
                plan.out.display()
            );
        }
    }
    train(plan, &ranks)
}

/// Trains the run `plan` describes, then its control if it asks for one.
fn train(plan: Plan, ranks: &Ranks) -> Result<()> {
    let started = std::time::Instant::now();
    let (settings, data, control_masks) = plan.load(ranks)?;
    let out = &plan.out;
    std::fs::create_dir_all(out)
        .with_context(|| format!("cannot create the run folder {}", out.display()))?;
    interrupt::install()?;
    let existing = existing_run(&plan, &settings)?;
    // Every rank has looked at the folder before rank 0 writes to it.
    ranks.barrier();
    match &existing {
        // A finished run may still owe its control: a stop can fall between the two.
        Some(c) if c.progress.done => eprintln!(
            "{} is complete: {} round(s) trained",
            out.display(),
            c.progress.rows.len()
        ),
        _ => {
            let training = training::Training {
                settings,
                data,
                control_masks,
                existing,
                out: out.clone(),
                checkpoint_secs: plan.checkpoint_secs,
                workers: plan.workers,
                shards: plan.backend.shards(),
                // A time budget is shared with the control that follows.
                later_rounds: plan.and_control.is_some() as u32,
                started,
                ranks,
            };
            crate::backend::dispatch_autodiff(plan.backend, ranks.local_rank(), training)?;
        }
    }
    // Rank 0 has written the checkpoint that the control reads.
    ranks.barrier();
    match plan.and_control {
        Some(kind) => {
            let control = plan.control(kind)?;
            eprintln!("control ({}): {}", kind.name(), control.out.display());
            train(control, ranks)
        }
        None => Ok(()),
    }
}

/// The checkpoint of the run in `plan.out` where `--resume` continues one (with the same
/// settings); none for a fresh run, which must not overwrite another.
fn existing_run(plan: &Plan, settings: &Settings) -> Result<Option<checkpoint::Checkpoint>> {
    let out = &plan.out;
    let path = out.join(checkpoint::FILE);
    if !path.exists() {
        ensure!(
            !plan.resume,
            "nothing to resume: {} has no {}",
            out.display(),
            checkpoint::FILE
        );
        for earlier in [report::JSON, &training::ticket_file(0), training::INIT_FILE] {
            ensure!(
                !out.join(earlier).exists(),
                "{} holds {earlier} from an earlier run; choose another --out",
                out.display()
            );
        }
        return Ok(None);
    }
    ensure!(
        plan.resume,
        "{} already holds a run; pass --resume to continue it, or choose another --out",
        out.display()
    );
    let saved = checkpoint::Checkpoint::from_bytes(&fsio::read(&path)?)
        .with_context(|| format!("cannot resume from {}", path.display()))?;
    let saved_ranks = saved
        .settings
        .get("ranks")
        .and_then(|r| r.as_u64())
        .unwrap_or(1);
    ensure!(
        saved_ranks == settings.ranks as u64,
        "{} was trained on {saved_ranks} rank(s) and this is {}: resume it on {saved_ranks} (`mpirun -n {saved_ranks}`), as the gradients' sums depend on it",
        out.display(),
        settings.ranks
    );
    let diffs = checkpoint::differences(&saved.settings, &serde_json::to_value(settings)?);
    ensure!(
        diffs.is_empty(),
        "cannot resume {} with different settings:\n  {}",
        out.display(),
        diffs.join("\n  ")
    );
    Ok(Some(saved))
}
