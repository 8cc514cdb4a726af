//! The plan a restore follows: what it removes from a photo (the tasks asked, or in `auto`
//! those the examination found), what it found, which bundled ticket runs and why, and,
//! once restored, whether `auto`'s check held the result back. The browser reports it as
//! `onPlan`'s argument, the command line prints it.

use std::fmt;

use image::RgbaImage;
use serde::Serialize;

use crate::bundled::Pick;
use crate::detect::Findings;
use crate::error::Result;
use crate::jpeg_constraint::QuantTables;
use crate::jpeg_file::JpegFile;
use crate::tasks::{Examination, Task, Tasks, AUTO_CHANGE_RATIO, AUTO_NOISE_SIGMA};

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
    /// [`crate::ticket::Provenance::auto_jpeg_quality`]).
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
    /// the network runs (for noise or JPEG, whose size the findings tell), unless the result
    /// is kept within what the photo's JPEG file allows ([`Plan::jpeg_constraint`]): any such
    /// result compresses back to the file, so the file explains the change. The check would
    /// misjudge it where the file was compressed before, on another grid (a re-share): it
    /// counts only the last compression, and held back 4 of LIVE1's 29 `osn:recrop` photos.
    pub fn checks(&self) -> bool {
        self.auto && self.runs_network() && self.jpeg_constraint().is_none()
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
    use crate::tasks::AUTO_JPEG_QUALITY;

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

    #[test]
    fn a_result_kept_within_its_jpeg_file_is_not_checked() {
        let photo = image::RgbImage::from_fn(32, 32, |x, y| {
            image::Rgb([(x * 7) as u8, (y * 5) as u8, 90])
        });
        let file = JpegFile::read(
            &crate::degrade::JpegSettings::new(50)
                .encode(&photo)
                .unwrap(),
        )
        .unwrap();
        let rgba = image::DynamicImage::ImageRgb8(photo).to_rgba8();
        let plan = Plan::new(
            &Tasks::Auto,
            Examination::of(&rgba, Some(file)),
            AUTO_JPEG_QUALITY,
        );
        assert_eq!(plan.tasks, [Task::Jpeg], "{plan}");
        assert!(plan.jpeg_constraint().is_some() && !plan.checks(), "{plan}");
        // The same JPEG known from its pixels alone: no constraint, so the result is checked.
        let from_pixels = Plan {
            jpeg_file: None,
            ..plan
        };
        assert!(from_pixels.jpeg_constraint().is_none() && from_pixels.checks());
    }
}
