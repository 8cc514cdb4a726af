//! `runs`: the training runs under a folder (a sweep of `train --runs`, or any runs) side by
//! side, from their report.json files: what sets each apart, how far it got, the density
//! reached and the validation PSNR of the last round's ticket, against its control where it
//! has one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{ensure, Context, Result};
use serde::Serialize;
use serde_json::Value;

use crate::train::report::{self, RoundReport};

/// Gather the reports of the training runs under DIR into one table.
///
/// Example: `native-trainer runs runs/sweep` after `train --runs runs/sweep ...` jobs.
#[derive(clap::Args)]
pub struct Args {
    /// Folder holding run folders (each with a report.json), at any depth.
    dir: PathBuf,
    /// Print the rows as JSON instead of a Markdown table.
    #[arg(long)]
    json: bool,
}

/// One run's line of the table.
#[derive(Serialize)]
struct Row {
    /// The run's folder, under DIR.
    run: String,
    /// The settings in which the runs differ.
    settings: BTreeMap<String, Value>,
    /// Rounds finished, and in all (round 0 included).
    rounds_done: usize,
    rounds: u64,
    /// The last finished round: its density of prunable weights and validation PSNR per task.
    density: Option<f64>,
    val_psnr: BTreeMap<String, f64>,
    val_input_psnr: BTreeMap<String, f64>,
    /// The same for its control (`--and-control`), where it has one: (kind, PSNR per task).
    control: Option<(String, BTreeMap<String, f64>)>,
}

/// A report.json: the run's settings and its finished rounds.
struct Report {
    settings: BTreeMap<String, Value>,
    rounds: Vec<RoundReport>,
}

fn read_report(path: &Path) -> Result<Report> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let json: Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    let settings = serde_json::from_value(json["settings"].clone())
        .with_context(|| format!("{} has no settings", path.display()))?;
    let rounds = serde_json::from_value(json["rounds"].clone())
        .with_context(|| format!("{} has no rounds", path.display()))?;
    Ok(Report { settings, rounds })
}

/// Whether `path` is a run's control folder (`--and-control` writes OUT/control-KIND).
fn is_control(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with("control-"))
}

/// Run folders under `dir`: those holding a report.json, controls (`control-*`) left out.
fn run_folders(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))?;
    let mut subdirs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    subdirs.sort();
    if dir.join(report::JSON).is_file() {
        out.push(dir.to_path_buf());
    }
    for sub in subdirs {
        if !is_control(&sub) {
            run_folders(&sub, out)?;
        }
    }
    Ok(())
}

pub fn run(args: Args) -> Result<()> {
    let mut folders = Vec::new();
    run_folders(&args.dir, &mut folders)?;
    ensure!(
        !folders.is_empty(),
        "no training runs under {} (no report.json)",
        args.dir.display()
    );
    let reports: Vec<Report> = folders
        .iter()
        .map(|f| read_report(&f.join(report::JSON)))
        .collect::<Result<_>>()?;
    // The settings that differ between runs; where they all agree, the table leaves them out.
    let varying: Vec<&String> = reports[0]
        .settings
        .keys()
        .chain(reports.iter().flat_map(|r| r.settings.keys()))
        .filter(|k| !matches!(k.as_str(), "data_fingerprint" | "masks_from"))
        .filter(|k| {
            reports
                .iter()
                .any(|r| r.settings.get(*k) != reports[0].settings.get(*k))
        })
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut rows = Vec::new();
    for (folder, report) in folders.iter().zip(&reports) {
        let last = report.rounds.last();
        let control = control_of(folder)?;
        rows.push(Row {
            run: folder
                .strip_prefix(&args.dir)
                .unwrap_or(folder)
                .display()
                .to_string(),
            settings: varying
                .iter()
                .map(|k| {
                    let v = report.settings.get(*k).cloned().unwrap_or(Value::Null);
                    (k.to_string(), v)
                })
                .collect(),
            rounds_done: report.rounds.len(),
            rounds: report
                .settings
                .get("rounds")
                .and_then(Value::as_u64)
                .unwrap_or(0)
                + 1,
            density: last.map(|r| r.density),
            val_psnr: last.map(|r| finite(&r.val_psnr)).unwrap_or_default(),
            val_input_psnr: last.map(|r| finite(&r.val_input_psnr)).unwrap_or_default(),
            control,
        });
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        print!("{}", markdown(&rows));
    }
    Ok(())
}

/// A run's control: its kind and the PSNR of its last round, where it has finished one.
fn control_of(folder: &Path) -> Result<Option<(String, BTreeMap<String, f64>)>> {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return Ok(None);
    };
    let mut controls: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| is_control(p) && p.join(report::JSON).is_file())
        .collect();
    controls.sort();
    let Some(path) = controls.first() else {
        return Ok(None);
    };
    let report = read_report(&path.join(report::JSON))?;
    let kind = path.file_name().unwrap().to_string_lossy()["control-".len()..].to_string();
    Ok(report.rounds.last().map(|r| (kind, finite(&r.val_psnr))))
}

/// A round's PSNR per task, the infinite ones (an unchanged crop) left out.
fn finite(psnr: &BTreeMap<String, f64>) -> BTreeMap<String, f64> {
    psnr.iter()
        .filter(|(_, v)| v.is_finite())
        .map(|(task, v)| (task.clone(), *v))
        .collect()
}

fn markdown(rows: &[Row]) -> String {
    let tasks: std::collections::BTreeSet<&String> =
        rows.iter().flat_map(|r| r.val_psnr.keys()).collect();
    let settings: Vec<&String> = rows
        .first()
        .map(|r| r.settings.keys().collect())
        .unwrap_or_default();
    let mut head = vec!["run".to_string()];
    head.extend(settings.iter().map(|s| s.to_string()));
    head.extend(["rounds".into(), "density".into()]);
    head.extend(tasks.iter().map(|t| format!("{t} dB (input; control)")));
    let mut text = format!("| {} |\n|{}\n", head.join(" | "), "---|".repeat(head.len()));
    for r in rows {
        let mut cells = vec![r.run.clone()];
        cells.extend(settings.iter().map(|k| r.settings[*k].to_string()));
        cells.push(format!("{}/{}", r.rounds_done, r.rounds));
        cells.push(r.density.map_or("-".into(), |d| format!("{d:.4}")));
        for t in &tasks {
            let ticket = r.val_psnr.get(*t).map_or("-".into(), |v| format!("{v:.2}"));
            let input = r
                .val_input_psnr
                .get(*t)
                .map_or("-".into(), |v| format!("{v:.2}"));
            let control = r
                .control
                .as_ref()
                .and_then(|(kind, psnr)| psnr.get(*t).map(|v| format!("; {kind} {v:.2}")))
                .unwrap_or_default();
            cells.push(format!("{ticket} ({input}{control})"));
        }
        text.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    text
}
