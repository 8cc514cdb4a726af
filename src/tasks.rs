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

use crate::detect::{detect, Findings};
use crate::error::{Error, Result};
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
/// JPEG saved at this quality or below is restored in `auto` by a ticket trained for more
/// than JPEG, as the all-in-one ticket: above it that ticket gains nothing, and a restore
/// could only lose (QUALITY.md). [`crate::ticket::Provenance::auto_jpeg_quality`] says which
/// bar a ticket gets.
pub const AUTO_JPEG_QUALITY: u8 = 75;
/// The same for a ticket trained only for JPEG, as the OSN ticket (trained up to quality
/// 95). On 40 training photos forced through the bundled OSN ticket from their JPEG files (and
/// so kept within what the files' tables allow), none came out worse at quality 92, 4:2:0 or
/// 4:4:4 (+1.67 and +1.17 dB), one at 93 (−0.41 dB) and three at 93 4:4:4: 92 is the bar.
/// From pixels alone, JPEG above about quality 90 reads as none, so above 90 only a JPEG
/// file's header brings a restore.
pub const JPEG_TICKET_AUTO_QUALITY: u8 = 92;

/// In `auto`, a restore may change a photo by at most this many times the RMS difference
/// that the degradations found would have made to it (`plan::Plan::check`): 1, and a tenth for
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
}
