//! The run's report: one row per finished round, as report.json and as a Markdown table.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::{Deserialize, Serialize};

/// The report's files in the run folder.
pub const JSON: &str = "report.json";
pub const MARKDOWN: &str = "report.md";

/// What one round did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoundReport {
    pub round: u32,
    /// Kept / all prunable weights.
    pub density: f64,
    /// Non-zero / all parameters.
    pub density_all: f64,
    pub nonzero: usize,
    pub steps: u64,
    /// Mean L1 loss over the round's last steps.
    pub final_loss: f64,
    /// Validation PSNR (dB) of the degraded input and of the output, per task; infinite where
    /// an image came out identical to the clean one (a degradation that left a crop unchanged).
    #[serde(deserialize_with = "psnr_map")]
    pub val_input_psnr: BTreeMap<String, f64>,
    #[serde(deserialize_with = "psnr_map")]
    pub val_psnr: BTreeMap<String, f64>,
    pub seconds: f64,
    /// The round's ticket, relative to the run folder.
    pub ticket: String,
    pub ticket_bytes: usize,
}

/// A PSNR map as serde_json writes it: JSON has no infinity, so an infinite PSNR is written as
/// null, and read back here as infinity.
fn psnr_map<'de, D: serde::Deserializer<'de>>(d: D) -> Result<BTreeMap<String, f64>, D::Error> {
    let map = BTreeMap::<String, Option<f64>>::deserialize(d)?;
    Ok(map
        .into_iter()
        .map(|(task, psnr)| (task, psnr.unwrap_or(f64::INFINITY)))
        .collect())
}

/// report.md: the settings and a table of rounds.
pub fn markdown(title: &str, settings: &serde_json::Value, rows: &[RoundReport]) -> String {
    let mut s = format!("# {title}\n\n");
    let tasks: Vec<&String> = rows
        .first()
        .map(|r| r.val_psnr.keys().collect())
        .unwrap_or_default();
    s.push_str("| round | density (prunable) | density (all) | non-zero | steps | final loss |");
    for t in &tasks {
        let _ = write!(s, " {t} dB |");
    }
    s.push_str(" time | ticket |\n|");
    s.push_str(&"---|".repeat(8 + tasks.len()));
    s.push('\n');
    for r in rows {
        let _ = write!(
            s,
            "| {} | {:.4} | {:.4} | {} | {} | {:.5} |",
            r.round, r.density, r.density_all, r.nonzero, r.steps, r.final_loss
        );
        for t in &tasks {
            let _ = write!(
                s,
                " {:.2} |",
                r.val_psnr.get(*t).copied().unwrap_or(f64::NAN)
            );
        }
        let _ = writeln!(
            s,
            " {:.0} s | {} ({} bytes) |",
            r.seconds, r.ticket, r.ticket_bytes
        );
    }
    if let Some(r) = rows.first() {
        s.push_str("\nValidation PSNR of the degraded inputs: ");
        let parts: Vec<String> = r
            .val_input_psnr
            .iter()
            .map(|(t, v)| format!("{t} {v:.2} dB"))
            .collect();
        s.push_str(&parts.join(", "));
        s.push_str(".\n");
    }
    let _ = write!(
        s,
        "\n## Settings\n\n```json\n{}\n```\n",
        serde_json::to_string_pretty(settings).unwrap_or_default()
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An infinite PSNR (a crop the degradation left unchanged) survives report.json and back,
    /// as the checkpoint and the random-reinit control read it.
    #[test]
    fn an_infinite_psnr_round_trips() {
        let psnr = |v: f64| BTreeMap::from([("rain".to_string(), v), ("haze".to_string(), 28.5)]);
        let row = RoundReport {
            round: 0,
            density: 1.0,
            density_all: 1.0,
            nonzero: 10,
            steps: 6,
            final_loss: 0.08,
            val_input_psnr: psnr(f64::INFINITY),
            val_psnr: psnr(24.9),
            seconds: 16.2,
            ticket: "round-00.mirl".into(),
            ticket_bytes: 100,
        };
        let json = serde_json::to_string(&row).unwrap();
        assert_eq!(serde_json::from_str::<RoundReport>(&json).unwrap(), row);
    }
}
