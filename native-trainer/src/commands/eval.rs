//! `eval`: PSNR/SSIM per task on a folder of clean photos, degraded reproducibly: the means,
//! and photo by photo how many came out worse than their input and the worst of them.

use std::path::PathBuf;

use anyhow::{Context, Result};
use image::DynamicImage;
use indicatif::{ProgressBar, ProgressStyle};
use mirl::bundled::Bundled;
use mirl::degrade::{test_seed, Degradation};
use mirl::detect::Findings;
use mirl::jpeg_file::JpegFile;
use mirl::metrics::{psnr, ssim};
use mirl::pipeline::{self, TileSize, DEFAULT_TILE};
use mirl::tasks::{Examination, Tasks};
use mirl::ModelBackend;
use serde::Serialize;

use super::tickets::TicketArg;
use crate::backend::{dispatch, BackendKind, WithBackend};
use crate::{fsio, imageio};

pub const DEFAULT_TASKS: &str =
    "noise:15,noise:25,noise:50,jpeg:10,jpeg:20,jpeg:30,jpeg:40,rain,haze";

/// Evaluate a ticket: crop each photo to a multiple of 16, degrade it (seeded per photo and
/// task), restore it, and report mean PSNR/SSIM of the degraded input and of the output, how
/// many photos came out worse than their input, and the worst one.
///
/// The task `clean` restores the photos as they are: its output PSNR says how much the ticket
/// changes photos that need nothing (its input PSNR is infinite, null in the JSON); a clean
/// photo below 40 dB counts as worse.
#[derive(clap::Args)]
pub struct Args {
    /// The ticket, as `restore --ticket`: `auto` (a bundled ticket picked for each photo),
    /// `allinone`, `osn`, or a .mirl file.
    #[arg(long, default_value = "auto")]
    ticket: TicketArg,
    /// Folder of clean test photos.
    #[arg(long)]
    data: PathBuf,
    /// Comma-separated degradations, and `clean` for the photos as they are.
    #[arg(long, default_value = DEFAULT_TASKS)]
    tasks: String,
    /// Also write the table as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Use only the first N photos (in name order).
    #[arg(long)]
    limit: Option<usize>,
    /// What the restores remove, as `restore --tasks`: `auto` (what each photo shows), `all`
    /// (the network as it is), or names such as `noise,jpeg`.
    #[arg(long, default_value = "auto")]
    remove: Tasks,
    /// Tile side in pixels, as `restore --tile` (capped to the same memory budget).
    #[arg(long, default_value_t = DEFAULT_TILE)]
    tile: u32,
    #[arg(long, value_enum, default_value = "cpu")]
    backend: BackendKind,
}

/// A clean photo restored below this PSNR against itself counts as made worse.
pub const CLEAN_FLOOR_DB: f64 = 40.0;

/// One photo's scores for one task.
#[derive(Serialize, Clone)]
pub struct PhotoScore {
    pub photo: String,
    /// Infinite (null in the JSON) for `clean`.
    pub input_psnr: f64,
    pub output_psnr: f64,
    /// What the restore removed from it, and what was found in it.
    pub removed: String,
    /// The bundled ticket that restored it, where one was picked for it.
    pub ticket: Option<Bundled>,
    pub found: Findings,
    /// In `auto`: the restore's change over the one the findings explain, and whether that
    /// held it back (the photo returned as it was).
    pub change_ratio: Option<f32>,
    pub held_back: bool,
}

impl PhotoScore {
    /// How much the restore changed this photo's PSNR; for `clean`, its PSNR above
    /// [`CLEAN_FLOOR_DB`]. Below 0: made worse.
    pub fn gain(&self) -> f64 {
        if self.input_psnr.is_finite() {
            self.output_psnr - self.input_psnr
        } else {
            self.output_psnr - CLEAN_FLOOR_DB
        }
    }
}

#[derive(Serialize, Default, Clone)]
pub struct TaskScore {
    pub task: String,
    pub images: usize,
    pub input_psnr: f64,
    pub input_ssim: f64,
    pub output_psnr: f64,
    pub output_ssim: f64,
    /// Photos the network ran on (the others came back as they were).
    pub restored: usize,
    /// Photos that came out worse than their input ([`PhotoScore::gain`] below 0).
    pub worse: usize,
    /// Every photo, in name order.
    pub photos: Vec<PhotoScore>,
}

impl TaskScore {
    /// The photo the restore served worst (lowest [`PhotoScore::gain`]).
    pub fn worst(&self) -> Option<&PhotoScore> {
        self.photos
            .iter()
            .min_by(|a, b| a.gain().total_cmp(&b.gain()))
    }
}

struct Eval {
    ticket: TicketArg,
    files: Vec<PathBuf>,
    tasks: Vec<(String, Degradation)>,
    remove: Tasks,
    tile: u32,
}

impl WithBackend for Eval {
    type Output = Vec<TaskScore>;
    fn run<B: ModelBackend>(self, device: B::Device) -> Result<Vec<TaskScore>> {
        let mut networks = self.ticket.networks::<B>(&device)?;
        let mut scores: Vec<TaskScore> = self
            .tasks
            .iter()
            .map(|(name, _)| TaskScore {
                task: name.clone(),
                ..Default::default()
            })
            .collect();
        let bar = ProgressBar::new((self.files.len() * self.tasks.len()) as u64).with_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} {msg} [{elapsed} < {eta}]").unwrap(),
        );
        for file in &self.files {
            let name = file
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .to_string();
            let photo = imageio::crop_to_multiple(&imageio::load(file)?.to_rgb8(), 16)
                .with_context(|| format!("in {}", file.display()))?;
            for ((task, kind), score) in self.tasks.iter().zip(scores.iter_mut()) {
                bar.set_message(format!("{name} {task}"));
                // A social network's resize changes the size: the photo is scored against
                // itself taken through the same geometry.
                let out = kind.degrade(&photo, test_seed(&name, task))?;
                let (clean, degraded) = (&out.reference, &out.image);
                let degraded_rgba = DynamicImage::ImageRgb8(degraded.clone());
                // As a user restoring the file would: with what its header says.
                let jpeg = out.file.as_deref().map(JpegFile::read).transpose()?;
                let examined = Examination::of(&degraded_rgba.to_rgba8(), jpeg);
                let mut options =
                    pipeline::Options::new(self.remove.clone(), TileSize::Side(self.tile));
                let model = networks.for_photo(examined, &mut options, &device)?;
                let (restored, plan) =
                    pipeline::restore(model, &degraded_rgba, &options, |_, _| {}, &device)?;
                let restored = restored.to_rgb8();
                let photo = PhotoScore {
                    photo: name.clone(),
                    input_psnr: psnr(clean, degraded)?,
                    output_psnr: psnr(clean, &restored)?,
                    removed: Tasks::Only(plan.tasks.clone()).to_string(),
                    ticket: plan.ticket.as_ref().map(|p| p.ticket),
                    found: plan.findings,
                    change_ratio: plan.change_ratio,
                    held_back: plan.held_back,
                };
                score.images += 1;
                score.restored += plan.runs_network() as usize;
                score.worse += (photo.gain() < 0.0) as usize;
                score.input_psnr += photo.input_psnr;
                score.input_ssim += ssim(clean, degraded)?;
                score.output_psnr += photo.output_psnr;
                score.output_ssim += ssim(clean, &restored)?;
                score.photos.push(photo);
                bar.inc(1);
            }
        }
        bar.finish_and_clear();
        for s in &mut scores {
            let n = s.images as f64;
            s.input_psnr /= n;
            s.input_ssim /= n;
            s.output_psnr /= n;
            s.output_ssim /= n;
        }
        Ok(scores)
    }
}

pub fn run(args: Args) -> Result<()> {
    let mut files = imageio::list_images(&args.data)?;
    if let Some(n) = args.limit {
        anyhow::ensure!(n > 0, "--limit must be at least 1");
        files.truncate(n);
    }
    let tasks = crate::data::parse_tasks(&args.tasks).context("in --tasks")?;
    let count = files.len();
    let scores = dispatch(
        args.backend,
        Eval {
            ticket: args.ticket.clone(),
            files,
            tasks,
            remove: args.remove.clone(),
            tile: args.tile,
        },
    )?;
    println!(
        "{} photos from {}, ticket {}, removing {}",
        count,
        args.data.display(),
        args.ticket.name(),
        args.remove
    );
    println!(
        "{:<16} {:>10} {:>10} {:>11} {:>11} {:>8} {:>6}  worst photo (dB gained; clean: dB above {CLEAN_FLOOR_DB})",
        "task", "input PSNR", "input SSIM", "output PSNR", "output SSIM", "restored", "worse"
    );
    for s in &scores {
        let worst = s
            .worst()
            .map(|w| format!("{} {:+.2}", w.photo, w.gain()))
            .unwrap_or_default();
        println!(
            "{:<16} {:>10.2} {:>10.4} {:>11.2} {:>11.4} {:>8} {:>6}  {worst}",
            s.task, s.input_psnr, s.input_ssim, s.output_psnr, s.output_ssim, s.restored, s.worse
        );
    }
    if let Some(path) = &args.json {
        let doc = serde_json::json!({
            "ticket": args.ticket.name(),
            "data": args.data,
            "images": count,
            "remove": args.remove.to_string(),
            "tasks": scores,
        });
        fsio::write_atomic(
            path,
            serde_json::to_string_pretty(&doc)?.as_bytes(),
            &args.ticket.path().into_iter().collect::<Vec<_>>(),
        )?;
    }
    Ok(())
}
