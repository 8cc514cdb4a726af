//! Which degradations a restore removes: the ones the caller names, or in [`Tasks::Auto`] the
//! ones [`detect`] finds with confidence, so that a photo that needs nothing comes back as it
//! was. The network is blind (it removes whatever it believes it sees), so a restore keeps
//! to what was asked in two ways: with nothing to remove the network does not run, and
//! without haze the result keeps the photo's tones ([`crate::tone`]), since brightness and
//! contrast over large areas is what dehazing changes and what noise, JPEG and rain removal
//! must leave alone.
//!
//! And `auto` checks the result: the change a restore made must be one that the degradations
//! found explain ([`AUTO_CHANGE_RATIO`]); where it is larger (the network saw more than the
//! photo shows: a pale photo "dehazed"), the photo comes back as it was.
//!
//! `auto` never removes haze or rain; they are removed when asked for. A photo's pixels do not
//! tell haze apart from a pale, misty or overcast clear photo (a dark channel above every clear
//! training photo's finds a tenth of the hazy ones, and a grey wall reads as thick haze), and
//! the bundled ticket "dehazes" such photos, darkening them. Rain, it does not remove
//! reliably (QUALITY.md).

use std::fmt;
use std::str::FromStr;

use image::RgbaImage;
use serde::{Deserialize, Serialize};

use crate::bundled::Pick;
use crate::detect::{detect, Findings};
use crate::error::{Error, Result};
use crate::jpeg_constraint::QuantTables;
use crate::jpeg_file::JpegFile;

/// A degradation a restore can remove.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    Noise,
    /// JPEG artifacts, as social networks' recompression leaves them.
    Jpeg,
    Rain,
    Haze,
}

impl Task {
    pub const ALL: [Task; 4] = [Task::Noise, Task::Jpeg, Task::Rain, Task::Haze];

    pub fn name(self) -> &'static str {
        match self {
            Task::Noise => "noise",
            Task::Jpeg => "jpeg",
            Task::Rain => "rain",
            Task::Haze => "haze",
        }
    }
}

/// Noise of at least this σ (8-bit levels, per channel) is removed in `auto`. Clean training
/// photos read below 0.6, and σ 15 noise (clipped to 8 bits) at least 12.6. The bundled ticket
/// was trained on σ 15, 25 and 50: below, it smooths away the texture of some photos with the
/// noise (on the training photos, 4 of 432 came out worse at σ 12, 32 at σ 5; QUALITY.md).
pub const AUTO_NOISE_SIGMA: f32 = 13.0;
/// JPEG saved at this quality or below is restored in `auto` by a ticket that says nothing
/// else ([`crate::bundled::Bundled::auto_jpeg_quality`]): above it the all-in-one ticket gains
/// nothing, and a restore could only lose.
pub const AUTO_JPEG_QUALITY: u8 = 75;

/// In `auto`, a restore may change a photo by at most this many times the RMS difference
/// that the degradations found would have made to it ([`Plan::check`]): 1, and a tenth for
/// the error of the estimates (removing noise of σ changes a training photo by 0.93 to 1.07
/// times σ; at 1.1 the most JPEG and noise is gained on the training photos, QUALITY.md).
pub const AUTO_CHANGE_RATIO: f32 = 1.1;

/// What to remove: the degradations found (`auto`), or the ones named.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Tasks {
    /// What [`detect`] finds with confidence: noise and JPEG (not haze or rain: see above).
    #[default]
    Auto,
    /// Exactly these (none: the photo comes back as it is).
    Only(Vec<Task>),
}

impl Tasks {
    /// Every degradation the network knows: the network's output as it is.
    pub fn all() -> Self {
        Tasks::Only(Task::ALL.to_vec())
    }
}

impl FromStr for Tasks {
    type Err = Error;

    /// `auto`, `all`, `none`, or names joined by commas: `noise,jpeg`.
    fn from_str(s: &str) -> Result<Self> {
        match s.trim() {
            "auto" => return Ok(Tasks::Auto),
            "all" => return Ok(Tasks::all()),
            "none" => return Ok(Tasks::Only(Vec::new())),
            _ => {}
        }
        let mut tasks = Vec::new();
        for name in s.split(',').map(str::trim) {
            let task = Task::ALL
                .into_iter()
                .find(|t| t.name() == name)
                .ok_or_else(|| {
                    Error::Input(format!(
                        "unknown task {name:?}: use auto, all, none, or some of noise, jpeg, rain, haze joined by commas"
                    ))
                })?;
            if !tasks.contains(&task) {
                tasks.push(task);
            }
        }
        tasks.sort();
        Ok(Tasks::Only(tasks))
    }
}

impl fmt::Display for Tasks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tasks::Auto => f.write_str("auto"),
            Tasks::Only(t) if t.is_empty() => f.write_str("none"),
            Tasks::Only(t) => {
                let names: Vec<&str> = t.iter().map(|t| t.name()).collect();
                f.write_str(&names.join(","))
            }
        }
    }
}

/// What a photo was found to be before restoring: what its pixels show, and what its JPEG
/// file (where it came as one) says of its last compression.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Examination {
    pub findings: Findings,
    pub jpeg_file: Option<JpegFile>,
}

impl Examination {
    /// Measures `img` ([`detect`]) beside what its file said (`jpeg_file`).
    pub fn of(img: &RgbaImage, jpeg_file: Option<JpegFile>) -> Self {
        Examination {
            findings: detect(img),
            jpeg_file,
        }
    }

    /// The JPEG quality the photo was saved at: the lower of what its file says (its last
    /// compression) and what its pixels show (an earlier one, on the same grid, can be
    /// heavier); `None` where neither shows one below 96.
    pub fn jpeg_quality(&self) -> Option<u8> {
        let file = self.jpeg_file.map(|f| f.quality).filter(|&q| q <= 95);
        match (file, self.findings.jpeg_quality) {
            (Some(f), Some(p)) => Some(f.min(p)),
            (f, p) => f.or(p),
        }
    }
}

/// What one restore removes, and what was found in the photo.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    /// The degradations removed, in [`Task`] order; empty: the photo is returned as it is.
    pub tasks: Vec<Task>,
    /// Whether `tasks` came from detection (`auto`) rather than the caller.
    pub auto: bool,
    pub findings: Findings,
    /// What the photo's JPEG file said of its last compression, where it came as one.
    pub jpeg_file: Option<JpegFile>,
    /// The bundled ticket that restores it and why, where the caller gave no ticket of its own.
    pub ticket: Option<Pick>,
    /// In `auto`, once restored: the RMS change the restore made over the one the
    /// degradations found explain ([`Plan::check`]).
    pub change_ratio: Option<f32>,
    /// Whether the restore was held back (the photo returned as it was) because it changed
    /// more than the degradations found explain.
    pub held_back: bool,
}

impl Plan {
    /// Settles what to remove from a photo, as `examined`: in `auto`, noise of
    /// [`AUTO_NOISE_SIGMA`] or more, and JPEG at `auto_jpeg_quality` or below (the ticket's
    /// [`crate::bundled::Bundled::auto_jpeg_quality`]).
    pub fn new(asked: &Tasks, examined: Examination, auto_jpeg_quality: u8) -> Self {
        let quality = examined.jpeg_quality();
        let Examination {
            findings,
            jpeg_file,
        } = examined;
        let tasks = match asked {
            Tasks::Only(t) => t.clone(),
            Tasks::Auto => Task::ALL
                .into_iter()
                .filter(|t| match t {
                    Task::Noise => findings.noise_sigma >= AUTO_NOISE_SIGMA,
                    Task::Jpeg => quality.is_some_and(|q| q <= auto_jpeg_quality),
                    Task::Rain | Task::Haze => false,
                })
                .collect(),
        };
        Plan {
            tasks,
            auto: *asked == Tasks::Auto,
            findings,
            jpeg_file,
            ticket: None,
            change_ratio: None,
            held_back: false,
        }
    }

    /// Whether the result is checked against the input ([`Plan::check`]): in `auto`, where
    /// the network runs (for noise or JPEG, whose size the findings tell).
    pub fn checks(&self) -> bool {
        self.auto && self.runs_network()
    }

    /// Whether `output` is a restore of `input` that the degradations found explain: the
    /// RMS of their difference at most [`AUTO_CHANGE_RATIO`] times the RMS that noise of the
    /// σ found and JPEG at the quality found would have made (the second measured by saving
    /// `output` as such a JPEG: what it did to the original, had `output` been it). If not,
    /// the plan is marked held back.
    pub fn check(&mut self, input: &RgbaImage, output: &RgbaImage) -> Result<bool> {
        let mut explained = 0.0;
        if self.tasks.contains(&Task::Noise) {
            explained += self.findings.noise_sigma.powi(2);
        }
        if let (true, Some(q)) = (self.tasks.contains(&Task::Jpeg), self.jpeg_quality()) {
            let out = image::DynamicImage::ImageRgba8(output.clone()).into_rgb8();
            let saved = crate::degrade::jpeg(&out, q.clamp(10, 95))?;
            explained += mean_square(&out, &saved, 3);
        }
        let ratio = (mean_square(input, output, 4) / explained.max(1e-6)).sqrt();
        self.change_ratio = Some(ratio);
        self.held_back = ratio > AUTO_CHANGE_RATIO;
        Ok(!self.held_back)
    }

    /// The JPEG quality the photo was saved at: the lower of what its file says (its last
    /// compression) and what its pixels show (an earlier one, on the same grid, can be
    /// heavier); `None` where neither shows one below 96.
    pub fn jpeg_quality(&self) -> Option<u8> {
        Examination {
            findings: self.findings,
            jpeg_file: self.jpeg_file,
        }
        .jpeg_quality()
    }

    /// Whether the network runs at all.
    pub fn runs_network(&self) -> bool {
        !self.tasks.is_empty()
    }

    /// The file's quantization tables and whether it kept full chroma, where the result is
    /// kept within what they allow ([`crate::jpeg_constraint`]): JPEG alone removed from a
    /// JPEG file (noise added before the compression moves the original outside them).
    pub fn jpeg_constraint(&self) -> Option<(QuantTables, bool)> {
        let file = self.jpeg_file?;
        (self.tasks == [Task::Jpeg]).then_some((file.tables?, file.full_chroma))
    }

    /// Whether the result keeps the photo's tones (all but haze removal).
    pub fn keeps_tone(&self) -> bool {
        !self.tasks.contains(&Task::Haze)
    }
}

impl fmt::Display for Plan {
    /// "removed noise, jpeg (auto: noise σ 14.8, JPEG quality 40, dark channel 0.02)".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let found = &self.findings;
        let mut jpeg = match self.jpeg_quality() {
            Some(q) => format!("JPEG quality {q}"),
            None => "no JPEG quantization".into(),
        };
        if let Some(file) = &self.jpeg_file {
            jpeg += &format!(
                " (the file: quality {}, {}{})",
                file.quality,
                if file.full_chroma { "4:4:4" } else { "4:2:0" },
                if file.progressive {
                    ", progressive"
                } else {
                    ""
                }
            );
        }
        let what = if self.held_back {
            format!(
                "nothing removed: removing {} changed the photo more than that explains, so it is as it was",
                Tasks::Only(self.tasks.clone())
            )
        } else if self.tasks.is_empty() {
            "nothing removed, the photo is as it was".to_string()
        } else {
            format!("removed {}", Tasks::Only(self.tasks.clone()))
        };
        let how = if self.auto { "auto" } else { "as asked" };
        write!(
            f,
            "{what} ({how}; found noise σ {:.1}, {jpeg}, dark channel {:.2})",
            found.noise_sigma, found.haze
        )?;
        match &self.ticket {
            Some(pick) => write!(f, " with {pick}"),
            None => Ok(()),
        }
    }
}

/// Mean squared difference over R, G and B of two images of one size with `channels` values a
/// pixel (alpha, the fourth, ignored), in 8-bit levels squared.
fn mean_square(a: &[u8], b: &[u8], channels: usize) -> f32 {
    let (mut sum, mut n) = (0f64, 0u64);
    for (p, q) in a.chunks_exact(channels).zip(b.chunks_exact(channels)) {
        for c in 0..3 {
            sum += (p[c] as f64 - q[c] as f64).powi(2);
        }
        n += 3;
    }
    (sum / n.max(1) as f64) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tasks_parse_and_print() {
        assert_eq!("auto".parse::<Tasks>().unwrap(), Tasks::Auto);
        assert_eq!("all".parse::<Tasks>().unwrap(), Tasks::all());
        assert_eq!("none".parse::<Tasks>().unwrap(), Tasks::Only(vec![]));
        let t: Tasks = " haze, noise ,haze".parse().unwrap();
        assert_eq!(t, Tasks::Only(vec![Task::Noise, Task::Haze]));
        assert_eq!(t.to_string(), "noise,haze");
        let err = "noise,blur".parse::<Tasks>().unwrap_err().to_string();
        assert!(err.contains("unknown task \"blur\""), "{err}");
        assert!("".parse::<Tasks>().is_err());
    }

    #[test]
    fn a_plan_keeps_tone_unless_haze_is_removed() {
        // Flat and pale: a thick haze to the dark channel, which `auto` leaves alone.
        let img = RgbaImage::from_pixel(32, 32, image::Rgba([200, 210, 220, 255]));
        let examine = || Examination::of(&img, None);
        let plan = Plan::new(&Tasks::Auto, examine(), AUTO_JPEG_QUALITY);
        assert!(plan.findings.haze > 0.7, "{plan}");
        assert!(
            plan.auto && !plan.runs_network() && !plan.checks(),
            "{plan}"
        );
        let plan = Plan::new(&"noise".parse().unwrap(), examine(), AUTO_JPEG_QUALITY);
        assert!(!plan.auto && plan.runs_network() && plan.keeps_tone());
        assert!(!Plan::new(&Tasks::all(), examine(), AUTO_JPEG_QUALITY).keeps_tone());
    }
}
