//! `eval`: mean PSNR/SSIM per task on a folder of clean photos, degraded reproducibly.

use std::path::PathBuf;

use anyhow::{Context, Result};
use image::DynamicImage;
use indicatif::{ProgressBar, ProgressStyle};
use mirl::degrade::{test_seed, Degradation};
use mirl::metrics::{psnr, ssim};
use mirl::pipeline::{self, DEFAULT_TILE};
use mirl::ModelBackend;
use serde::Serialize;

use crate::backend::{dispatch, BackendKind, WithBackend};
use crate::{fsio, imageio};

pub const DEFAULT_TASKS: &str =
    "noise:15,noise:25,noise:50,jpeg:10,jpeg:20,jpeg:30,jpeg:40,rain,haze";

/// Evaluate a ticket: crop each photo to a multiple of 16, degrade it (seeded per photo and
/// task), restore it, and report mean PSNR/SSIM of the degraded input and of the output.
///
/// The task `clean` restores the photos as they are: its output PSNR says how much the ticket
/// changes photos that need nothing (its input PSNR is infinite, null in the JSON).
#[derive(clap::Args)]
pub struct Args {
    /// The ticket (.mirl) [default: the bundled one].
    #[arg(long)]
    ticket: Option<PathBuf>,
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
    #[arg(long, default_value_t = DEFAULT_TILE)]
    tile: u32,
    #[arg(long, value_enum, default_value = "cpu")]
    backend: BackendKind,
}

#[derive(Serialize, Default, Clone)]
pub struct TaskScore {
    pub task: String,
    pub images: usize,
    pub input_psnr: f64,
    pub input_ssim: f64,
    pub output_psnr: f64,
    pub output_ssim: f64,
}

struct Eval {
    ticket: mirl::ticket::Ticket,
    files: Vec<PathBuf>,
    tasks: Vec<(String, Degradation)>,
    tile: u32,
}

impl WithBackend for Eval {
    type Output = Vec<TaskScore>;
    fn run<B: ModelBackend>(self, device: B::Device) -> Result<Vec<TaskScore>> {
        let model = self.ticket.build::<B>(&device)?;
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
            let clean = imageio::crop_to_multiple(&imageio::load(file)?.to_rgb8(), 16)
                .with_context(|| format!("in {}", file.display()))?;
            for ((task, kind), score) in self.tasks.iter().zip(scores.iter_mut()) {
                bar.set_message(format!("{name} {task}"));
                let degraded = kind.apply(&clean, test_seed(&name, task))?;
                let restored = pipeline::restore(
                    &model,
                    &DynamicImage::ImageRgb8(degraded.clone()),
                    Some(self.tile),
                    |_, _| {},
                    &device,
                )?
                .to_rgb8();
                score.images += 1;
                score.input_psnr += psnr(&clean, &degraded)?;
                score.input_ssim += ssim(&clean, &degraded)?;
                score.output_psnr += psnr(&clean, &restored)?;
                score.output_ssim += ssim(&clean, &restored)?;
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
    let ticket = super::ticket_or_default(args.ticket.as_deref())?;
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
            ticket,
            files,
            tasks,
            tile: args.tile,
        },
    )?;
    println!(
        "{} photos from {}, ticket {}",
        count,
        args.data.display(),
        super::ticket_name(args.ticket.as_deref())
    );
    println!(
        "{:<20} {:>12} {:>12} {:>12} {:>12}",
        "task", "input PSNR", "input SSIM", "output PSNR", "output SSIM"
    );
    for s in &scores {
        println!(
            "{:<20} {:>12.2} {:>12.4} {:>12.2} {:>12.4}",
            s.task, s.input_psnr, s.input_ssim, s.output_psnr, s.output_ssim
        );
    }
    if let Some(path) = &args.json {
        let doc = serde_json::json!({ "ticket": super::ticket_name(args.ticket.as_deref()), "data": args.data, "images": count, "tasks": scores });
        fsio::write_atomic(
            path,
            serde_json::to_string_pretty(&doc)?.as_bytes(),
            &args.ticket.iter().map(PathBuf::as_path).collect::<Vec<_>>(),
        )?;
    }
    Ok(())
}
