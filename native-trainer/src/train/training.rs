//! The training run itself: rounds of masked training, validation, a ticket per round,
//! pruning and rewinding, with checkpoints along the way.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use burn::module::{AutodiffModule, Module};
use burn::optim::Optimizer;
use burn::record::{FullPrecisionSettings, NamedMpkBytesRecorder, Recorder};
use image::DynamicImage;
use indicatif::{ProgressBar, ProgressStyle};
use mirl::metrics::psnr;
use mirl::params::{load_params, read_params, NamedParams};
use mirl::pipeline;
use mirl::tasks::Tasks;
use mirl::ticket::{Precision, Provenance, Ticket};
use mirl::{ModelBackend, PromptIr};

use super::checkpoint::{self, Checkpoint, Progress};
use super::interrupt::{self, Interrupted};
use super::masks::{rewind, Masks};
use super::report::{self, RoundReport};
use super::settings::{Control, Settings};
use super::step::{learning_rate, timed_learning_rate, train_step, Adam, DeviceMasks, StepRun};
use crate::backend::{TrainBackend, WithAutodiff};
use crate::data::{
    make_batch, mix_seed, parse_tasks, Batch, BatchSpec, Dataset, Photo, Prefetcher, TaskMix,
};
use crate::fsio;
use crate::ranks::Ranks;

/// The initial weights in the run folder: what a rewind to initialisation goes back to.
pub const INIT_FILE: &str = "init.mirl";

/// The ticket of a round in the run folder.
pub fn ticket_file(round: u32) -> String {
    format!("round-{round:02}.mirl")
}

/// Steps whose mean loss is reported as a round's final loss.
const LOSS_WINDOW: usize = 50;
/// How often a run without a terminal logs its progress.
const LOG_EVERY: Duration = Duration::from_secs(60);

type Rec = NamedMpkBytesRecorder<FullPrecisionSettings>;

/// A training run ready to start or resume: its settings, photos and where it writes.
pub struct Training<'a> {
    pub settings: Settings,
    pub data: Dataset,
    /// For control runs: the fixed masks.
    pub control_masks: Option<Masks>,
    pub existing: Option<Checkpoint>,
    pub out: PathBuf,
    pub checkpoint_secs: f64,
    pub workers: usize,
    /// Parts of each batch trained in parallel ([`train_step`]).
    pub shards: usize,
    /// Rounds that follow this run and share its time budget (a control).
    pub later_rounds: u32,
    /// When the command started, for the time budget.
    pub started: Instant,
    /// The processes the run is spread over; rank 0 writes the run folder.
    pub ranks: &'a Ranks,
}

/// The mutable state of a run between steps.
struct State<AB: TrainBackend> {
    model: PromptIr<AB>,
    optim: Adam<AB>,
    masks: Masks,
    init: NamedParams,
    rewind_to: Option<NamedParams>,
    progress: Progress,
}

impl WithAutodiff for Training<'_> {
    fn run<AB: TrainBackend>(self, device: AB::Device) -> Result<()> {
        let Training {
            settings,
            data,
            control_masks,
            existing,
            out,
            checkpoint_secs,
            workers,
            shards,
            later_rounds,
            started,
            ranks,
        } = self;
        let root = ranks.is_root();
        let settings_json = serde_json::to_value(&settings)?;
        let mut state = match existing {
            Some(c) => resume::<AB>(&settings, c, &device)?,
            None => {
                let state = start::<AB>(&settings, control_masks, &device)?;
                if root {
                    begin(&settings, &settings_json, &state, &out)?;
                }
                state
            }
        };
        let mix: TaskMix = settings.tasks.parse()?;
        let val_tasks = parse_tasks(&settings.val_tasks)?;
        let spec = BatchSpec {
            crops: ranks.share(settings.batch),
            crop: settings.crop,
            seed: settings.seed,
            quality_map: settings.network.quality_map,
        };
        // Fail on a bad degradation now rather than on a worker thread later.
        make_batch(&data.train, &mix, &spec, 0, 0)?;
        let train = Arc::new(data.train);
        let total_rounds = settings.rounds + 1;

        let timed = settings.round_secs.is_some() || settings.time_budget.is_some();
        if timed && !state.progress.done {
            // The first step compiles the GPU kernels: keep that off a round's clock.
            let batch = make_batch(&train, &mix, &spec, state.progress.round, 0)?;
            compile_kernels(&state, &settings, batch, shards, &data.val, &device)?;
            if state.progress.round_secs.is_none() {
                let rounds_left = total_rounds - state.progress.round + later_rounds;
                state.progress.round_secs = Some(round_secs(&settings, started, rounds_left)?);
            }
        }
        let rounds = Rounds {
            settings: &settings,
            settings_json: &settings_json,
            train,
            mix,
            spec,
            out: &out,
            every: Duration::from_secs_f64(checkpoint_secs),
            workers,
            shards,
            timed,
            ranks,
            device: &device,
        };
        while !state.progress.done {
            state = rounds.train(state)?;
            let round = state.progress.round;
            if ranks.size() > 1 {
                ranks.check_same("weights and masks", checksum(&state))?;
            }
            // Rank 0 scores and writes the round; the others hold the same weights.
            if root {
                let row = finish_round(&settings, &state, &data.val, &val_tasks, &out, &device)?;
                eprintln!("{}", summary(&row, total_rounds));
                state.progress.rows.push(row);
                write_reports(&out, &settings, &settings_json, &state.progress.rows)?;
            }
            if round + 1 == total_rounds {
                state.progress.done = true;
            } else {
                next_round(&settings, &mut state, &device)?;
            }
            if root {
                save(&out, &settings_json, &state)?;
            }
        }
        if ranks.size() > 1 {
            let crc = checksum(&state);
            ranks.check_same("weights and masks", crc)?;
            if root {
                eprintln!(
                    "{} ranks ended with the same weights and masks (crc32 {crc:08x})",
                    ranks.size()
                );
            }
        }
        if root {
            eprintln!(
                "done: {} rounds in {}; report in {}",
                total_rounds,
                out.display(),
                out.join(report::MARKDOWN).display()
            );
        }
        Ok(())
    }
}

/// Writes a fresh run's initial weights (the run folder's INIT_FILE, the rewind point) and
/// its first checkpoint.
fn begin<AB: TrainBackend>(
    settings: &Settings,
    settings_json: &serde_json::Value,
    state: &State<AB>,
    out: &Path,
) -> Result<()> {
    let init = Ticket::new(
        settings.network.clone(),
        state.init.clone(),
        Precision::F32,
        Provenance {
            source: Some("native-trainer train: initial weights".into()),
            seed: Some(settings.seed),
            ..Default::default()
        },
    )?;
    fsio::write_atomic(&out.join(INIT_FILE), &init.to_bytes()?, &[])?;
    save(out, settings_json, state)
}

/// CRC-32 of a run's weights and masks, which every rank must share.
fn checksum<AB: TrainBackend>(state: &State<AB>) -> u32 {
    let mut h = crc32fast::Hasher::new();
    for (name, t) in read_params(&state.model) {
        h.update(name.as_bytes());
        for v in &t.data {
            h.update(&v.to_le_bytes());
        }
    }
    for (name, keep) in &state.masks.keep {
        h.update(name.as_bytes());
        h.update(&keep.iter().map(|&k| k as u8).collect::<Vec<_>>());
    }
    h.finalize()
}

/// Seconds each of the `rounds` still to train gets on the clock: `--round-secs`, or what is
/// left of `--time-budget` shared between them.
fn round_secs(settings: &Settings, started: Instant, rounds: u32) -> Result<f64> {
    if let Some(secs) = settings.round_secs {
        return Ok(secs);
    }
    let left = settings.time_budget.unwrap_or(0.0) - started.elapsed().as_secs_f64();
    // A twentieth is kept for validation, tickets and checkpoints.
    let secs = 0.95 * left / rounds as f64;
    ensure!(
        secs >= 1.0,
        "the --time-budget is spent: {left:.0} s are left for {rounds} rounds after start-up"
    );
    eprintln!("time budget: {secs:.0} s a round for {rounds} rounds");
    Ok(secs)
}

/// What every round of a run reads, fixed once the run has started.
struct Rounds<'a, AB: TrainBackend> {
    settings: &'a Settings,
    settings_json: &'a serde_json::Value,
    train: Arc<Vec<Photo>>,
    mix: TaskMix,
    spec: BatchSpec,
    out: &'a Path,
    /// Time between checkpoints within a round.
    every: Duration,
    workers: usize,
    shards: usize,
    /// Rounds last a number of seconds, not of steps.
    timed: bool,
    ranks: &'a Ranks,
    device: &'a AB::Device,
}

impl<AB: TrainBackend> Rounds<'_, AB> {
    /// Trains the current round of `state` from its step to its end (steps or seconds), with a
    /// checkpoint every `every`; an interrupt saves one and ends the run.
    fn train(&self, mut state: State<AB>) -> Result<State<AB>> {
        let settings = self.settings;
        let steps = settings.steps_per_round;
        let round = state.progress.round;
        let device_masks = DeviceMasks::<AB::InnerBackend>::new(&state.masks, self.device);
        let round_secs = state.progress.round_secs;
        let end = if self.timed { u64::MAX } else { steps };
        let mut batches = Prefetcher::new(
            self.train.clone(),
            self.mix.clone(),
            self.spec.clone(),
            round,
            state.progress.step,
            end,
            self.workers,
        );
        let round_start = Instant::now() - Duration::from_secs_f64(state.progress.round_seconds);
        let mut display = RoundDisplay::new(
            round,
            settings.rounds + 1,
            steps,
            round_secs,
            state.progress.step,
            round_start,
        );
        let mut last_save = Instant::now();
        let mut s = state.progress.step;
        loop {
            let elapsed = round_start.elapsed().as_secs_f64();
            let lr = match round_secs {
                Some(secs) if elapsed >= secs => break,
                Some(secs) => timed_learning_rate(settings.adam.lr, elapsed / secs),
                None if s >= steps => break,
                None => learning_rate(settings.adam.lr, s, steps, settings.warmup_steps),
            };
            if round == 0 && s == settings.rewind_step && settings.rewind_step > 0 {
                state.rewind_to = Some(read_params(&state.model));
            }
            let batch = batches.next_batch()?;
            let (model, loss) = train_step(
                state.model,
                &mut state.optim,
                device_masks.as_ref(),
                batch,
                StepRun {
                    lr,
                    loss: settings.loss,
                    shards: self.shards,
                    crops: settings.batch,
                },
                self.ranks,
                self.device,
            );
            state.model = model;
            ensure!(
                loss.is_finite(),
                "the loss became {loss} at round {round}, step {s}; try a lower --lr"
            );
            let losses = &mut state.progress.losses;
            losses.push(loss);
            if losses.len() > LOSS_WINDOW {
                losses.remove(0);
            }
            s += 1;
            state.progress.step = s;
            display.step(s, loss, losses);
            // An interrupt on any rank stops them all after the same step.
            let stop = self.ranks.any(interrupt::requested());
            if stop || (last_save.elapsed() >= self.every && (self.timed || s < steps)) {
                state.progress.round_seconds = round_start.elapsed().as_secs_f64();
                if self.ranks.is_root() {
                    save(self.out, self.settings_json, &state)?;
                }
                last_save = Instant::now();
            }
            if stop {
                display.finish();
                return Err(Interrupted { round, step: s }.into());
            }
        }
        display.finish();
        state.progress.round_seconds = round_start.elapsed().as_secs_f64();
        Ok(state)
    }
}

/// What a round shows while it trains: a bar on a terminal; without one (a log file, nohup)
/// the bar is hidden and a line a minute is logged instead.
struct RoundDisplay {
    bar: ProgressBar,
    round: u32,
    total_rounds: u32,
    steps: u64,
    round_secs: Option<f64>,
    round_start: Instant,
    first_step: u64,
    started: Instant,
    last_log: Instant,
}

impl RoundDisplay {
    fn new(
        round: u32,
        total_rounds: u32,
        steps: u64,
        round_secs: Option<f64>,
        first_step: u64,
        round_start: Instant,
    ) -> Self {
        let bar = match round_secs {
            None => ProgressBar::new(steps).with_style(
                ProgressStyle::with_template(
                    "round {prefix} {bar:25} {pos}/{len} {msg} {per_sec} ETA {eta}",
                )
                .expect("a valid template"),
            ),
            // On the clock the bar counts seconds.
            Some(secs) => ProgressBar::new(secs.ceil() as u64).with_style(
                ProgressStyle::with_template("round {prefix} {bar:25} {pos}/{len} s {msg}")
                    .expect("a valid template"),
            ),
        };
        bar.set_prefix(format!("{round}/{}", total_rounds - 1));
        Self {
            bar,
            round,
            total_rounds,
            steps,
            round_secs,
            round_start,
            first_step,
            started: Instant::now(),
            last_log: Instant::now(),
        }
    }

    /// After step `s` (counted from 1) with its loss; `losses` are the latest few.
    fn step(&mut self, s: u64, loss: f32, losses: &[f32]) {
        let elapsed = self.round_start.elapsed();
        match self.round_secs {
            None => self.bar.set_position(s),
            Some(_) => self.bar.set_position(elapsed.as_secs()),
        }
        self.bar.set_message(format!("step {s}, loss {loss:.4}"));
        if !self.bar.is_hidden() || self.last_log.elapsed() < LOG_EVERY {
            return;
        }
        let mean = losses.iter().sum::<f32>() / losses.len() as f32;
        let of = match self.round_secs {
            None => format!("/{}", self.steps),
            Some(secs) => format!(" ({:.0}/{secs:.0} s)", elapsed.as_secs_f64()),
        };
        eprintln!(
            "round {}/{}: step {s}{of}, loss {mean:.4} (mean of the last {}), {:.2} steps/s",
            self.round,
            self.total_rounds - 1,
            losses.len(),
            (s - self.first_step) as f64 / self.started.elapsed().as_secs_f64(),
        );
        self.last_log = Instant::now();
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// One step thrown away, and one validation crop restored, so that a timed run compiles its
/// GPU kernels before the clock starts.
fn compile_kernels<AB: TrainBackend>(
    state: &State<AB>,
    settings: &Settings,
    batch: Batch,
    shards: usize,
    val: &[Photo],
    device: &AB::Device,
) -> Result<()> {
    let t = Instant::now();
    let masks = DeviceMasks::<AB::InnerBackend>::new(&state.masks, device);
    let mut optim = settings.adam.init::<AB>();
    train_step(
        state.model.clone(),
        &mut optim,
        masks.as_ref(),
        batch,
        StepRun {
            lr: 0.0,
            loss: settings.loss,
            shards,
            crops: settings.batch,
        },
        // Timed rounds run on one rank only (`train::run` refuses them on several).
        &Ranks::one(),
        device,
    );
    let tasks = [("noise:25".to_string(), "noise:25".parse()?)];
    validate(
        &state.model.valid(),
        &val[..val.len().min(1)],
        &tasks,
        settings.val_crop,
        device,
    )?;
    eprintln!("compiled the kernels in {:.1} s", t.elapsed().as_secs_f64());
    Ok(())
}

/// A fresh run: seeded initial weights, and masks (dense, or a control's).
fn start<AB: TrainBackend>(
    settings: &Settings,
    control_masks: Option<Masks>,
    device: &AB::Device,
) -> Result<State<AB>> {
    // Controls draw weights from their own stream, so a random-reinit control never
    // reproduces the initial weights of the run that found the ticket; a rewound retrain
    // takes exactly those.
    let seed = match settings.control {
        None | Some(Control::Rewound) => settings.seed,
        Some(Control::RandomReinit) => mix_seed(&[settings.seed, 1]),
        Some(Control::RandomPrune) => mix_seed(&[settings.seed, 2]),
    };
    AB::seed(device, seed);
    let init = read_params(&settings.network.init::<AB>(device));
    let masks = control_masks.unwrap_or_else(|| Masks::dense(&init));
    let mut start = init.clone();
    masks.apply(&mut start);
    let model = load_params(settings.network.init::<AB>(device), &start, device)?;
    Ok(State {
        model,
        optim: settings.adam.init(),
        masks,
        init,
        rewind_to: None,
        progress: Progress {
            round: 0,
            step: 0,
            round_seconds: 0.0,
            losses: Vec::new(),
            rows: Vec::new(),
            done: false,
            round_secs: None,
        },
    })
}

/// A run continued from its checkpoint.
fn resume<AB: TrainBackend>(
    settings: &Settings,
    c: Checkpoint,
    device: &AB::Device,
) -> Result<State<AB>> {
    let rec = Rec::default();
    let model_record = rec
        .load(c.model, device)
        .context("the checkpoint's model state does not load")?;
    let optim_record = rec
        .load(c.optim, device)
        .context("the checkpoint's optimizer state does not load")?;
    Ok(State {
        model: settings
            .network
            .init::<AB>(device)
            .load_record(model_record),
        optim: settings.adam.init::<AB>().load_record(optim_record),
        masks: c.masks,
        init: c.init,
        rewind_to: c.rewind_to,
        progress: c.progress,
    })
}

fn save<AB: TrainBackend>(
    out: &Path,
    settings: &serde_json::Value,
    state: &State<AB>,
) -> Result<()> {
    let rec = Rec::default();
    let c = Checkpoint {
        settings: settings.clone(),
        progress: state.progress.clone(),
        masks: state.masks.clone(),
        init: state.init.clone(),
        rewind_to: state.rewind_to.clone(),
        model: rec.record(state.model.clone().into_record(), ())?,
        optim: rec.record(state.optim.to_record(), ())?,
    };
    fsio::write_atomic(&out.join(checkpoint::FILE), &c.to_bytes()?, &[])
        .context("cannot save the checkpoint; the previous one is kept")
}

/// Prune the trained weights, rewind the survivors, and start the next round's optimizer.
fn next_round<AB: TrainBackend>(
    settings: &Settings,
    state: &mut State<AB>,
    device: &AB::Device,
) -> Result<()> {
    let trained = read_params(&state.model);
    state
        .masks
        .prune(&trained, settings.prune_fraction, settings.scope);
    let origin = state.rewind_to.as_ref().unwrap_or(&state.init);
    let start = rewind(&trained, origin, &state.masks, settings.rewind_all);
    state.model = load_params(state.model.clone(), &start, device)?;
    state.optim = settings.adam.init();
    let p = &mut state.progress;
    p.round += 1;
    p.step = 0;
    p.round_seconds = 0.0;
    p.losses.clear();
    Ok(())
}

/// Writes the round's ticket and scores it on the validation photos.
fn finish_round<AB: TrainBackend>(
    settings: &Settings,
    state: &State<AB>,
    val: &[Photo],
    val_tasks: &[(String, mirl::degrade::Degradation)],
    out: &Path,
    device: &AB::Device,
) -> Result<RoundReport> {
    let round = state.progress.round;
    let mut extra = serde_json::Map::new();
    extra.insert("recipe".into(), settings.recipe.clone().into());
    match state.progress.round_secs {
        Some(secs) => extra.insert("round_secs".into(), secs.into()),
        None => extra.insert("steps_per_round".into(), settings.steps_per_round.into()),
    };
    match settings.control {
        // A control's masks come from another ticket (whose provenance tells how it was
        // pruned), not from this run's scope.
        Some(c) => {
            extra.insert("control".into(), serde_json::to_value(c)?);
            if let Some(from) = &settings.masks_from {
                extra.insert("masks_from".into(), from.clone().into());
            }
        }
        None => {
            extra.insert("scope".into(), serde_json::to_value(settings.scope)?);
        }
    }
    let provenance = Provenance {
        source: Some("native-trainer train".into()),
        rounds: Some(round),
        prune_rate: Some(settings.prune_fraction),
        rewind: Some(match settings.rewind_step {
            0 => "init".into(),
            k => format!("step:{k}"),
        }),
        seed: Some(settings.seed),
        data: Some(settings.data.clone()),
        tasks: Some(settings.tasks.split(',').map(str::to_owned).collect()),
        extra,
    };
    let ticket = Ticket::from_module(
        settings.network.clone(),
        &state.model,
        settings.precision,
        provenance,
    )?;
    let bytes = ticket.to_bytes()?;
    let info = Ticket::inspect(&bytes)?;
    let name = ticket_file(round);
    fsio::write_atomic(&out.join(&name), &bytes, &[])?;

    let model = state.model.valid();
    let (val_input_psnr, val_psnr) = validate(&model, val, val_tasks, settings.val_crop, device)?;
    let losses = &state.progress.losses;
    Ok(RoundReport {
        round,
        density: state.masks.density(),
        density_all: info.summary.density,
        nonzero: info.summary.nonzero,
        steps: state.progress.step,
        final_loss: losses.iter().map(|&l| l as f64).sum::<f64>() / losses.len().max(1) as f64,
        val_input_psnr,
        val_psnr,
        seconds: state.progress.round_seconds,
        ticket: name,
        ticket_bytes: bytes.len(),
    })
}

type Scores = std::collections::BTreeMap<String, f64>;

/// Mean PSNR per task of the degraded and the restored centre crops of the validation photos.
fn validate<B: ModelBackend>(
    model: &PromptIr<B>,
    val: &[Photo],
    tasks: &[(String, mirl::degrade::Degradation)],
    crop: u32,
    device: &B::Device,
) -> Result<(Scores, Scores)> {
    let (mut input, mut output) = (Scores::new(), Scores::new());
    for (task, kind) in tasks {
        let (mut sum_in, mut sum_out) = (0.0, 0.0);
        for photo in val {
            let (w, h) = photo.image.dimensions();
            let centre =
                image::imageops::crop_imm(&photo.image, (w - crop) / 2, (h - crop) / 2, crop, crop)
                    .to_image();
            let out = kind.degrade(&centre, mirl::degrade::test_seed(&photo.name, task))?;
            let (clean, degraded) = (out.reference, out.image);
            let restored = pipeline::restore(
                model,
                &DynamicImage::ImageRgb8(degraded.clone()),
                // The network as it is: validation scores what training made of it.
                &pipeline::Options::new(Tasks::all(), pipeline::TileSize::Whole),
                |_, _| {},
                device,
            )?
            .0
            .to_rgb8();
            sum_in += psnr(&clean, &degraded)?;
            sum_out += psnr(&clean, &restored)?;
        }
        input.insert(task.clone(), sum_in / val.len() as f64);
        output.insert(task.clone(), sum_out / val.len() as f64);
    }
    Ok((input, output))
}

fn summary(r: &RoundReport, total: u32) -> String {
    let scores: Vec<String> = r
        .val_psnr
        .iter()
        .map(|(t, v)| format!("{t} {v:.2} (input {:.2})", r.val_input_psnr[t]))
        .collect();
    format!(
        "round {}/{}: density {:.4} of prunable weights, loss {:.4}, {:.0} s; validation PSNR dB: {}",
        r.round,
        total - 1,
        r.density,
        r.final_loss,
        r.seconds,
        scores.join(", ")
    )
}

fn write_reports(
    out: &Path,
    settings: &Settings,
    settings_json: &serde_json::Value,
    rows: &[RoundReport],
) -> Result<()> {
    let json = serde_json::json!({ "settings": settings_json, "rounds": rows });
    fsio::write_atomic(
        &out.join(report::JSON),
        serde_json::to_string_pretty(&json)?.as_bytes(),
        &[],
    )?;
    let title = match settings.control {
        Some(Control::RandomReinit) => "Control run: ticket masks, random re-initialisation",
        Some(Control::RandomPrune) => "Control run: random masks at the ticket's density",
        Some(Control::Rewound) => "Retrain: ticket masks, weights rewound to initialisation",
        None => "Iterative magnitude pruning with rewinding",
    };
    fsio::write_atomic(
        &out.join(report::MARKDOWN),
        report::markdown(title, settings_json, rows).as_bytes(),
        &[],
    )
}
