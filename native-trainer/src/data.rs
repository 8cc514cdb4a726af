//! Training data: a folder of clean photos held in memory, a held-out validation split, and
//! batches of (degraded, clean) crops made on worker threads. Every batch is a pure function of
//! (seed, round, step), so a resumed run sees exactly the data an uninterrupted one would.

use std::ops::Range;
use std::path::Path;
use std::str::FromStr;
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;

use anyhow::{bail, ensure, Context, Result};
use image::{imageops, RgbImage};
use mirl::degrade::Degradation;
use mirl::jpeg_file::{quality_planes, JpegFile, QUALITY_PLANES};
use rand::{RngExt, SeedableRng};
use rand_pcg::Pcg64Mcg;

use crate::imageio;

/// A clean photo and its file name.
pub struct Photo {
    pub name: String,
    pub image: RgbImage,
}

/// The photos of a training folder, split into training and validation sets.
pub struct Dataset {
    pub train: Vec<Photo>,
    pub val: Vec<Photo>,
}

impl Dataset {
    /// Loads every image in `dir`. Files that do not decode are skipped with a warning naming
    /// them, and so are photos smaller than `crop` on either side. The last `val` photos in name
    /// order are held out for validation.
    pub fn load(dir: &Path, crop: u32, val: usize) -> Result<Self> {
        let files = imageio::list_images(dir)?;
        let mut photos = Vec::new();
        let mut small = 0;
        for file in &files {
            match imageio::load(file) {
                Ok(img) => {
                    let image = img.to_rgb8();
                    if image.width() < crop || image.height() < crop {
                        small += 1;
                        continue;
                    }
                    photos.push(Photo {
                        name: file_name(file),
                        image,
                    });
                }
                Err(err) => eprintln!("warning: skipping {}: {err:#}", file.display()),
            }
        }
        if small > 0 {
            eprintln!(
                "warning: skipping {small} photo(s) in {} smaller than the {crop}x{crop} crop",
                dir.display()
            );
        }
        if photos.is_empty() {
            if small > 0 {
                bail!(
                    "every photo in {} is smaller than the {crop}x{crop} crop; use a smaller --crop",
                    dir.display()
                );
            }
            bail!("{} holds no readable images", dir.display());
        }
        ensure!(
            photos.len() > val,
            "{} has {} usable photo(s): too few to hold out {val} for validation and train on the rest",
            dir.display(),
            photos.len()
        );
        let val_photos = photos.split_off(photos.len() - val);
        Ok(Self {
            train: photos,
            val: val_photos,
        })
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned()
}

/// A degradation by name (`noise:25`, `osn`, `clean`, ...).
pub fn parse_task(name: &str) -> Result<Degradation> {
    Ok(name.trim().parse()?)
}

/// A comma-separated list of tasks (see [`parse_task`]), each with its name.
pub fn parse_tasks(list: &str) -> Result<Vec<(String, Degradation)>> {
    let tasks = list
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| Ok((t.to_string(), parse_task(t)?)))
        .collect::<Result<Vec<_>>>()?;
    ensure!(!tasks.is_empty(), "no tasks given");
    Ok(tasks)
}

/// Degradations to train on, each with a relative weight: `noise,osn@2,rain,haze,noise+osn`.
/// `clean` gives the photo unchanged, to be returned unchanged: it teaches the network to leave
/// alone what needs no restoring (bright skies are not haze).
#[derive(Debug, Clone, PartialEq)]
pub struct TaskMix {
    pub tasks: Vec<(String, Degradation, f64)>,
}

/// As the run's settings record it: every task with its weight, `noise@1,osn@2`.
impl std::fmt::Display for TaskMix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let items: Vec<String> = self
            .tasks
            .iter()
            .map(|(n, _, w)| format!("{n}@{w}"))
            .collect();
        f.write_str(&items.join(","))
    }
}

impl FromStr for TaskMix {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        let mut tasks = Vec::new();
        for item in s.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            let (name, weight) = match item.split_once('@') {
                Some((name, w)) => {
                    let weight: f64 = w
                        .parse()
                        .ok()
                        .filter(|w: &f64| w.is_finite() && *w > 0.0)
                        .with_context(|| {
                            format!("task {item:?}: the weight after @ must be a positive number")
                        })?;
                    (name, weight)
                }
                None => (item, 1.0),
            };
            let kind = parse_task(name)?;
            tasks.push((name.to_string(), kind, weight));
        }
        ensure!(!tasks.is_empty(), "no tasks given");
        Ok(Self { tasks })
    }
}

impl TaskMix {
    /// Draws a task with probability proportional to its weight.
    fn pick(&self, rng: &mut Pcg64Mcg) -> &Degradation {
        let total: f64 = self.tasks.iter().map(|t| t.2).sum();
        let mut x = rng.random::<f64>() * total;
        for (_, kind, w) in &self.tasks {
            if x < *w {
                return kind;
            }
            x -= w;
        }
        &self.tasks.last().expect("a mix has tasks").1
    }
}

/// A batch in NCHW layout, values in [0, 1] (the quality planes aside).
pub struct Batch {
    /// R, G, B, then `planes` quality planes.
    pub input: Vec<f32>,
    /// R, G, B.
    pub target: Vec<f32>,
    /// The target's shape.
    pub shape: [usize; 4],
    /// Quality planes after the input's R, G and B ([`mirl::jpeg_file::quality_planes`]).
    pub planes: usize,
}

impl Batch {
    /// The input's shape.
    pub fn input_shape(&self) -> [usize; 4] {
        let [n, c, h, w] = self.shape;
        [n, c + self.planes, h, w]
    }

    /// At most `parts` batches of consecutive crops, as even in size as the crops allow.
    pub fn split(self, parts: usize) -> Vec<Batch> {
        let [n, c, h, w] = self.shape;
        let parts = parts.clamp(1, n.max(1));
        let (per_target, per_input) = (c * h * w, (c + self.planes) * h * w);
        let mut start = 0;
        (0..parts)
            .map(|i| {
                let crops = n / parts + usize::from(i < n % parts);
                let (a, b) = (start, start + crops);
                start += crops;
                Batch {
                    input: self.input[a * per_input..b * per_input].to_vec(),
                    target: self.target[a * per_target..b * per_target].to_vec(),
                    shape: [crops, c, h, w],
                    planes: self.planes,
                }
            })
            .collect()
    }
}

/// What a batch is made of.
#[derive(Clone)]
pub struct BatchSpec {
    /// The crops of the batch this process makes: all of them, or its rank's share
    /// (`Ranks::share`). Each crop is the same whichever process makes it.
    pub crops: Range<usize>,
    pub crop: u32,
    pub seed: u64,
    /// Whether the input carries the quality planes (the network reads them).
    pub quality_map: bool,
}

/// Mixes several numbers into one well-spread 64-bit seed (splitmix64 steps).
pub fn mix_seed(parts: &[u64]) -> u64 {
    let mut z = 0x9E37_79B9_7F4A_7C15u64;
    for &p in parts {
        z ^= p;
        z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
    }
    z
}

/// One of the 8 flips/rotations of the square: bit 0 flips left-right, bits 1-2 rotate by
/// multiples of 90 degrees. 0 is the identity.
pub fn transform(img: &RgbImage, t: u8) -> RgbImage {
    let flipped;
    let img = if t & 1 == 1 {
        flipped = imageops::flip_horizontal(img);
        &flipped
    } else {
        img
    };
    match (t >> 1) & 3 {
        0 => img.clone(),
        1 => imageops::rotate90(img),
        2 => imageops::rotate180(img),
        _ => imageops::rotate270(img),
    }
}

/// The batch for `step` of `round`: per item a random photo, a random crop, one of the 7
/// non-identity flips/rotations (as the paper), and a degradation drawn from the mix.
///
/// A degradation that resizes or crops (a social network's) gets a larger crop, and the
/// batch's crop is cut from what it delivers, at a multiple of 8 from its origin: the last
/// compression's grid lines up with the crop, as with a photo, and the earlier ones do not.
pub fn make_batch(
    photos: &[Photo],
    mix: &TaskMix,
    spec: &BatchSpec,
    round: u32,
    step: u64,
) -> Result<Batch> {
    let c = spec.crop as usize;
    let plane = c * c;
    let planes = if spec.quality_map { QUALITY_PLANES } else { 0 };
    let n = spec.crops.len();
    let mut input = vec![0.0f32; n * (3 + planes) * plane];
    let mut target = vec![0.0f32; n * 3 * plane];
    for (k, i) in spec.crops.clone().enumerate() {
        let mut rng = Pcg64Mcg::seed_from_u64(mix_seed(&[spec.seed, round as u64, step, i as u64]));
        let photo = &photos[rng.random_range(0..photos.len())];
        let (w, h) = photo.image.dimensions();
        let kind = mix.pick(&mut rng);
        let side = if kind.moves_grid() {
            // Room for the resize, a re-share's crop of up to 7 pixels, and the crop's offset.
            let wanted = ((spec.crop + 8) as f32 / kind.least_scale()).ceil() as u32 + 8;
            wanted.min(w).min(h)
        } else {
            spec.crop
        };
        let x = rng.random_range(0..=w - side);
        let y = rng.random_range(0..=h - side);
        let crop = imageops::crop_imm(&photo.image, x, y, side, side).to_image();
        let clean = transform(&crop, rng.random_range(1..8u8));
        let out = kind
            .degrade(&clean, rng.random())
            .with_context(|| format!("degrading a crop of {} with {kind}", photo.name))?;
        let (dw, dh) = out.image.dimensions();
        ensure!(
            dw >= spec.crop && dh >= spec.crop,
            "{kind} shrank a {side}-pixel crop of {} to {dw}x{dh}, below the {}-pixel crop",
            photo.name,
            spec.crop
        );
        let (ox, oy) = (
            8 * rng.random_range(0..=(dw - spec.crop) / 8),
            8 * rng.random_range(0..=(dh - spec.crop) / 8),
        );
        let degraded = imageops::crop_imm(&out.image, ox, oy, spec.crop, spec.crop).to_image();
        let clean = imageops::crop_imm(&out.reference, ox, oy, spec.crop, spec.crop).to_image();
        let (base_in, base_out) = (k * (3 + planes) * plane, k * 3 * plane);
        for (p, (d, t)) in degraded.pixels().zip(clean.pixels()).enumerate() {
            for ch in 0..3 {
                input[base_in + ch * plane + p] = d[ch] as f32 / 255.0;
                target[base_out + ch * plane + p] = t[ch] as f32 / 255.0;
            }
        }
        if planes > 0 {
            // What the delivered file's header says, as a restore of that file reads it.
            let file = out.file.as_deref().map(JpegFile::read).transpose()?;
            let values =
                quality_planes(file.map(|f| f.quality), file.and_then(|f| f.chroma_quality));
            for (k, v) in values.into_iter().enumerate() {
                let start = base_in + (3 + k) * plane;
                input[start..start + plane].fill(v);
            }
        }
    }
    Ok(Batch {
        input,
        target,
        shape: [n, 3, c, c],
        planes,
    })
}

/// Batches for steps `start..end` of a round, made ahead of time on `workers` threads and
/// handed out in step order.
pub struct Prefetcher {
    queues: Vec<Receiver<Result<Batch>>>,
    next: u64,
    start: u64,
}

impl Prefetcher {
    pub fn new(
        photos: Arc<Vec<Photo>>,
        mix: TaskMix,
        spec: BatchSpec,
        round: u32,
        start: u64,
        end: u64,
        workers: usize,
    ) -> Self {
        let workers = workers.max(1) as u64;
        let queues = (0..workers)
            .map(|w| {
                // Each worker makes every `workers`-th batch and stays at most 2 ahead.
                let (tx, rx) = sync_channel(2);
                let (photos, mix, spec) = (photos.clone(), mix.clone(), spec.clone());
                std::thread::spawn(move || {
                    let mut step = start + w;
                    while step < end {
                        let batch = make_batch(&photos, &mix, &spec, round, step);
                        if tx.send(batch).is_err() {
                            return; // the consumer is gone
                        }
                        step += workers;
                    }
                });
                rx
            })
            .collect();
        Self {
            queues,
            next: start,
            start,
        }
    }

    /// The batch for the next step.
    pub fn next_batch(&mut self) -> Result<Batch> {
        let worker = ((self.next - self.start) % self.queues.len() as u64) as usize;
        self.next += 1;
        self.queues[worker]
            .recv()
            .context("the data loader stopped early")?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_eight_transforms_are_distinct() {
        let img = RgbImage::from_fn(3, 3, |x, y| image::Rgb([(x * 3 + y) as u8, 0, 0]));
        let all: Vec<Vec<u8>> = (0..8).map(|t| transform(&img, t).into_raw()).collect();
        for a in 0..8 {
            for b in a + 1..8 {
                assert_ne!(all[a], all[b], "transforms {a} and {b} agree");
            }
        }
        assert_eq!(all[0], img.into_raw());
    }

    #[test]
    fn task_mix_parses_weights_and_rejects_bad_ones() {
        let mix: TaskMix = "noise, osn@2 ,rain+haze".parse().unwrap();
        let weights: Vec<f64> = mix.tasks.iter().map(|t| t.2).collect();
        assert_eq!(weights, vec![1.0, 2.0, 1.0]);
        assert!("noise@0".parse::<TaskMix>().is_err());
        assert!("noise@x".parse::<TaskMix>().is_err());
        assert!("snow".parse::<TaskMix>().is_err());
        assert!("".parse::<TaskMix>().is_err());
    }

    #[test]
    fn the_clean_task_leaves_photos_as_they_are() {
        let mix: TaskMix = "clean".parse().unwrap();
        let spec = BatchSpec {
            crops: 0..2,
            crop: 16,
            seed: 3,
            quality_map: false,
        };
        let b = make_batch(&photos(), &mix, &spec, 0, 0).unwrap();
        assert_eq!(b.input, b.target);
    }

    #[test]
    fn task_mix_draws_in_proportion() {
        let mix: TaskMix = "noise:25@3,jpeg:20".parse().unwrap();
        let mut rng = Pcg64Mcg::seed_from_u64(1);
        let n = 20_000;
        let noise = (0..n)
            .filter(|_| matches!(mix.pick(&mut rng), Degradation::Noise { .. }))
            .count();
        let frac = noise as f64 / n as f64;
        assert!((frac - 0.75).abs() < 0.02, "noise drawn {frac}");
    }

    fn photos() -> Vec<Photo> {
        (0..3)
            .map(|k| Photo {
                name: format!("p{k}.png"),
                image: RgbImage::from_fn(40, 30, |x, y| {
                    image::Rgb([(x * 6) as u8, (y * 8) as u8, (k * 80) as u8])
                }),
            })
            .collect()
    }

    /// A social network's resize shrinks a larger crop to the batch's: the target is the clean
    /// photo through the same resize, the input a JPEG of it.
    #[test]
    fn resizing_degradations_still_fill_the_crop() {
        let photos: Vec<Photo> = (0..2)
            .map(|k| Photo {
                name: format!("p{k}.png"),
                image: RgbImage::from_fn(160, 120, |x, y| {
                    image::Rgb([(x * 3 / 2) as u8, (y * 2) as u8, ((x + y) * (k + 1)) as u8])
                }),
            })
            .collect();
        let spec = BatchSpec {
            crops: 0..3,
            crop: 32,
            seed: 5,
            quality_map: false,
        };
        for mix in ["osn", "osn:x0.5:70", "osn:reshare", "osn:recrop"] {
            let mix: TaskMix = mix.parse().unwrap();
            let b = make_batch(&photos, &mix, &spec, 0, 1).unwrap();
            assert_eq!(b.shape, [3, 3, 32, 32]);
            let mean_abs = b
                .input
                .iter()
                .zip(&b.target)
                .map(|(i, t)| (i - t).abs())
                .sum::<f32>()
                / b.input.len() as f32;
            // A JPEG of the same pixels: close (a few levels), not equal, not another place.
            assert!(mean_abs > 1e-4 && mean_abs < 0.03, "{mix:?}: {mean_abs}");
        }
    }

    #[test]
    fn batches_are_deterministic_and_prefetch_keeps_order() {
        let photos = Arc::new(photos());
        let mix: TaskMix = "noise:25,jpeg:20".parse().unwrap();
        let spec = BatchSpec {
            crops: 0..2,
            crop: 16,
            seed: 7,
            quality_map: false,
        };
        let a = make_batch(&photos, &mix, &spec, 1, 5).unwrap();
        let b = make_batch(&photos, &mix, &spec, 1, 5).unwrap();
        assert_eq!(a.input, b.input);
        assert_eq!(a.shape, [2, 3, 16, 16]);
        let c = make_batch(&photos, &mix, &spec, 1, 6).unwrap();
        assert_ne!(a.target, c.target);
        assert!(a.input.iter().all(|v| (0.0..=1.0).contains(v)));
        assert_ne!(a.input, a.target, "the input is degraded");

        let mut pre = Prefetcher::new(photos.clone(), mix.clone(), spec.clone(), 1, 3, 9, 3);
        for step in 3..9 {
            let got = pre.next_batch().unwrap();
            let want = make_batch(&photos, &mix, &spec, 1, step).unwrap();
            assert_eq!(got.input, want.input, "step {step}");
        }
        assert!(pre.next_batch().is_err());
    }
}
