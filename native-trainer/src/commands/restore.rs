//! `restore`: photos in, the restored photos out: one file, or several files and folders into
//! a folder. The command line is resolved and checked first ([`Batch::resolve`]), so a bad
//! output path costs no restore; a photo that fails is reported and skipped.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use image::{DynamicImage, Rgb, RgbImage};
use indicatif::{ProgressBar, ProgressStyle};
use mirl::pipeline::{self, TileSize, DEFAULT_TILE};
use mirl::plan::Plan;
use mirl::tasks::{Examination, Task, Tasks};
use mirl::ModelBackend;

use super::tickets::{Networks, TicketArg};
use crate::backend::{dispatch, BackendKind, WithBackend};
use crate::imageio::{self, Format, JPEG_QUALITY};

/// Restore photos (noise, JPEG artifacts, rain, haze) with a ticket. By default (`--tasks
/// auto`) it removes only the noise and JPEG artefacts each photo shows, and returns a photo
/// that needs nothing as it was. A photo is restored as its file stores it and written
/// upright, with its colour profile and EXIF.
#[derive(clap::Args)]
pub struct Args {
    /// The photos to restore: files, or folders of them (PNG, JPEG, WebP, TIFF or BMP; grey,
    /// RGB or RGBA).
    #[arg(required = true, value_name = "PHOTO or FOLDER")]
    inputs: Vec<PathBuf>,
    /// Where to write: for one photo a file (.png, .jpg, .webp or .bmp) or a folder; for
    /// several, or a folder of them, a folder (made where missing), each photo under its own
    /// name in `--format`.
    #[arg(short, long)]
    output: PathBuf,
    /// The format of photos written into a folder [default: png].
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// JPEG quality of .jpg outputs, 1 to 100 [default: 95]. WebP is written lossless.
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=100))]
    quality: Option<u8>,
    /// Replace outputs in a folder that exist already (they are skipped otherwise). A single
    /// output file named by `--output` is always written.
    #[arg(long)]
    overwrite: bool,
    /// The ticket: `auto` (the bundled OSN ticket for a JPEG that shows no noise, the bundled
    /// all-in-one ticket otherwise), `allinone`, `osn`, or a .mirl file.
    #[arg(long, default_value = "auto")]
    ticket: TicketArg,
    /// Tile side in pixels (a multiple of 8); larger images are restored in overlapping tiles.
    /// Capped so that one tile's activations stay within 256 MiB (the paper network: 224).
    #[arg(long, default_value_t = DEFAULT_TILE)]
    tile: u32,
    #[arg(long, value_enum, default_value = "cpu")]
    backend: BackendKind,
    /// What to remove: `auto` (the noise and JPEG the photo shows; never haze or rain), `all`
    /// (the network as it is), `none`, or names joined by commas: noise, jpeg, rain, haze.
    /// Without haze the result keeps the photo's tones.
    #[arg(long, default_value = "auto")]
    tasks: Tasks,
    /// Also write the input and the result side by side (input on the left) here (one photo
    /// only).
    #[arg(long, value_name = "PATH")]
    before_after: Option<PathBuf>,
    /// Show only this region in the before/after picture, magnified: X,Y,W,H in pixels of the
    /// photo, then `xN` to scale it N times (nearest neighbour, so blocks and noise stay
    /// visible), e.g. `120,40,64,48x4`.
    #[arg(long, value_name = "X,Y,W,H[xN]", requires = "before_after")]
    zoom: Option<Zoom>,
}

/// A region of the photo and how many times to magnify it.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Zoom {
    x: u32,
    y: u32,
    w: u32,
    h: u32,
    scale: u32,
}

impl FromStr for Zoom {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (region, scale) = s.split_once('x').unwrap_or((s, "1"));
        let scale: u32 = scale
            .parse()
            .ok()
            .filter(|n| (1..=MAX_ZOOM).contains(n))
            .ok_or_else(|| format!("the scale after `x` must be 1 to {MAX_ZOOM}, not {scale:?}"))?;
        let numbers: Vec<u32> = region
            .split(',')
            .map(|n| n.trim().parse::<u32>())
            .collect::<Result<_, _>>()
            .map_err(|_| format!("expected X,Y,W,H in whole pixels, got {region:?}"))?;
        let [x, y, w, h] = numbers[..] else {
            return Err(format!("expected four numbers X,Y,W,H, got {region:?}"));
        };
        if w == 0 || h == 0 {
            return Err(format!("the region {region:?} is empty"));
        }
        Ok(Zoom { x, y, w, h, scale })
    }
}

/// Largest magnification `--zoom` accepts: beyond it a picture of a tiny region gets huge.
const MAX_ZOOM: u32 = 16;

impl Zoom {
    /// The region of `image`, magnified; an error if the region leaves the image.
    fn apply(&self, image: &DynamicImage) -> Result<DynamicImage> {
        let (w, h) = (image.width(), image.height());
        if self.x.checked_add(self.w).is_none_or(|r| r > w)
            || self.y.checked_add(self.h).is_none_or(|b| b > h)
        {
            bail!(
                "--zoom {},{},{},{} is outside the {w}x{h} photo",
                self.x,
                self.y,
                self.w,
                self.h
            );
        }
        let region = image.crop_imm(self.x, self.y, self.w, self.h);
        Ok(region.resize_exact(
            self.w * self.scale,
            self.h * self.scale,
            image::imageops::FilterType::Nearest,
        ))
    }
}

/// Gap between the two halves of a before/after picture, in pixels.
const GAP: u32 = 4;

/// `before` and `after` side by side on white, `before` on the left.
fn before_after(before: &DynamicImage, after: &DynamicImage) -> DynamicImage {
    let (w, h) = (before.width(), before.height());
    let mut pair = RgbImage::from_pixel(2 * w + GAP, h, Rgb([255, 255, 255]));
    image::imageops::replace(&mut pair, &before.to_rgb8(), 0, 0);
    image::imageops::replace(&mut pair, &after.to_rgb8(), (w + GAP) as i64, 0);
    DynamicImage::ImageRgb8(pair)
}

/// One photo to restore, and where its result goes.
struct Item {
    input: PathBuf,
    output: PathBuf,
}

/// The command line resolved and checked: every photo and its output, before any restore.
struct Batch {
    items: Vec<Item>,
    /// Photos whose output exists already, left as they are.
    skipped: Vec<PathBuf>,
    /// One photo into one named file: progress by tile, and the before/after picture.
    single: bool,
    jpeg_quality: u8,
}

impl Batch {
    fn resolve(args: &Args) -> Result<Batch> {
        let mut photos = Vec::new();
        let mut folder_given = false;
        for input in &args.inputs {
            if input.is_dir() {
                folder_given = true;
                photos.extend(imageio::list_images(input)?);
            } else {
                photos.push(input.clone());
            }
        }
        let into_folder = photos.len() > 1 || folder_given || args.output.is_dir();
        let format = if into_folder {
            args.format.unwrap_or(Format::Png)
        } else {
            if args.format.is_some() {
                bail!(
                    "--format names the format of photos written into a folder; {} names its own by its extension",
                    args.output.display()
                );
            }
            Format::of_path(&args.output)?
        };
        if args.quality.is_some() && format != Format::Jpg {
            bail!(
                "--quality sets the quality of JPEG outputs; .{} is not one (WebP is written lossless)",
                format.extension()
            );
        }
        if into_folder && args.before_after.is_some() {
            bail!("--before-after pictures one photo restored into a named file, not photos written into a folder");
        }
        if !into_folder {
            let input = photos.pop().expect("one input at least (clap)");
            return Ok(Batch {
                items: vec![Item {
                    input,
                    output: args.output.clone(),
                }],
                skipped: Vec::new(),
                single: true,
                jpeg_quality: args.quality.unwrap_or(JPEG_QUALITY),
            });
        }
        if args.output.exists() && !args.output.is_dir() {
            bail!(
                "{} is a file: {} photos need a folder to be written into",
                args.output.display(),
                photos.len()
            );
        }
        std::fs::create_dir_all(&args.output)
            .with_context(|| format!("cannot make the folder {}", args.output.display()))?;
        // Two photos of one name (a.jpg and a.png) would write one output.
        let mut named: HashMap<PathBuf, &Path> = HashMap::new();
        let (mut items, mut skipped) = (Vec::new(), Vec::new());
        for input in &photos {
            let stem = input
                .file_stem()
                .with_context(|| format!("{} names no file", input.display()))?;
            // Not `with_extension`, which would cut a stem with dots (IMG.2024) at its last.
            let mut name = stem.to_os_string();
            name.push(".");
            name.push(format.extension());
            let output = args.output.join(name);
            if let Some(other) = named.insert(output.clone(), input) {
                bail!(
                    "{} and {} would both be written to {}: restore them into different folders",
                    other.display(),
                    input.display(),
                    output.display()
                );
            }
            if output.exists() && !args.overwrite {
                skipped.push(output);
            } else {
                items.push(Item {
                    input: input.clone(),
                    output,
                });
            }
        }
        Ok(Batch {
            items,
            skipped,
            single: false,
            jpeg_quality: args.quality.unwrap_or(JPEG_QUALITY),
        })
    }
}

/// A restore of a batch on one backend: the networks are built once, for all its photos.
struct Restore {
    batch: Batch,
    ticket: TicketArg,
    options: pipeline::Options,
    before_after: Option<(PathBuf, Option<Zoom>)>,
}

/// What a batch came to.
#[derive(Default)]
struct Summary {
    restored: usize,
    unchanged: usize,
    failed: usize,
    /// Photos by what was removed from them.
    removed: BTreeMap<Task, usize>,
}

impl WithBackend for Restore {
    type Output = Summary;
    fn run<B: ModelBackend>(self, device: B::Device) -> Result<Summary> {
        let mut networks = self.ticket.networks::<B>(&device)?;
        let mut summary = Summary::default();
        if self.batch.single {
            let item = &self.batch.items[0];
            let bar = ProgressBar::new(0).with_style(
                ProgressStyle::with_template("{bar:30} tile {pos}/{len} {elapsed}").unwrap(),
            );
            let start = Instant::now();
            let (w, h, plan) = self.one(item, &mut networks, &bar, &device)?;
            bar.finish_and_clear();
            println!(
                "restored {w}x{h} in {:.2} s -> {}: {plan}",
                start.elapsed().as_secs_f64(),
                item.output.display()
            );
            summary.add(&plan);
            return Ok(summary);
        }
        let bar = ProgressBar::new(self.batch.items.len() as u64).with_style(
            ProgressStyle::with_template("{bar:30} photo {pos}/{len} {elapsed} {msg}").unwrap(),
        );
        let tiles = ProgressBar::hidden();
        for item in &self.batch.items {
            bar.set_message(item.input.display().to_string());
            let start = Instant::now();
            match self.one(item, &mut networks, &tiles, &device) {
                // Beside the bar where it is drawn, and whether or not it is (a pipe).
                Ok((_, _, plan)) => {
                    bar.suspend(|| {
                        println!(
                            "{} -> {} in {:.2} s: {plan}",
                            item.input.display(),
                            item.output.display(),
                            start.elapsed().as_secs_f64()
                        )
                    });
                    summary.add(&plan);
                }
                Err(e) => {
                    bar.suspend(|| eprintln!("error: {}: {e:#}", item.input.display()));
                    summary.failed += 1;
                }
            }
            bar.inc(1);
        }
        bar.finish_and_clear();
        Ok(summary)
    }
}

impl Restore {
    /// Restores one photo into its output: its size as shown, and what was removed.
    fn one<B: ModelBackend>(
        &self,
        item: &Item,
        networks: &mut Networks<B>,
        bar: &ProgressBar,
        device: &B::Device,
    ) -> Result<(u32, u32, Plan)> {
        let photo = imageio::load_photo(&item.input)?;
        let mut options = pipeline::Options {
            jpeg: photo.jpeg,
            orientation: photo.orientation,
            ..self.options.clone()
        };
        // The picture's left half, cut before restoring, so a bad --zoom costs no restore.
        let before = match &self.before_after {
            None => None,
            Some((_, zoom)) => {
                let mut shown = photo.image.clone();
                shown.apply_orientation(photo.orientation);
                Some(match zoom {
                    Some(zoom) => zoom.apply(&shown)?,
                    None => shown,
                })
            }
        };
        let examined = Examination::of(&photo.image.to_rgba8(), options.jpeg);
        let model = networks.for_photo(examined, &mut options, device)?;
        let (out, plan) = pipeline::restore(
            model,
            &photo.image,
            &options,
            |done, total| {
                bar.set_length(total as u64);
                bar.set_position(done as u64);
            },
            device,
        )?;
        let mut inputs = vec![item.input.as_path()];
        inputs.extend(self.ticket.path());
        imageio::save_with(
            &out,
            &item.output,
            &inputs,
            &photo.metadata,
            self.batch.jpeg_quality,
        )?;
        if let (Some((path, zoom)), Some(before)) = (&self.before_after, before) {
            let after = match zoom {
                Some(zoom) => zoom.apply(&out)?,
                None => out.clone(),
            };
            imageio::save(&before_after(&before, &after), path, &inputs)?;
        }
        Ok((out.width(), out.height(), plan))
    }
}

impl Summary {
    fn add(&mut self, plan: &Plan) {
        if plan.held_back || plan.tasks.is_empty() {
            self.unchanged += 1;
        } else {
            self.restored += 1;
            for task in &plan.tasks {
                *self.removed.entry(*task).or_default() += 1;
            }
        }
    }
}

pub fn run(args: Args) -> Result<()> {
    let batch = Batch::resolve(&args)?;
    let (single, skipped) = (batch.single, batch.skipped.clone());
    for path in &skipped {
        eprintln!(
            "skipped: {} exists (--overwrite replaces it)",
            path.display()
        );
    }
    let start = Instant::now();
    let summary = dispatch(
        args.backend,
        Restore {
            batch,
            ticket: args.ticket.clone(),
            options: pipeline::Options::new(args.tasks, TileSize::Side(args.tile)),
            before_after: args.before_after.clone().map(|path| (path, args.zoom)),
        },
    )?;
    if single {
        return Ok(());
    }
    let removed: Vec<String> = Task::ALL
        .iter()
        .filter_map(|t| {
            summary
                .removed
                .get(t)
                .map(|n| format!("{} from {n}", t.name()))
        })
        .collect();
    println!(
        "{} photos in {:.1} s: {} restored{}, {} returned as they were, {} skipped (their outputs exist), {} failed",
        summary.restored + summary.unchanged + summary.failed + skipped.len(),
        start.elapsed().as_secs_f64(),
        summary.restored,
        if removed.is_empty() {
            String::new()
        } else {
            format!(" ({})", removed.join(", "))
        },
        summary.unchanged,
        skipped.len(),
        summary.failed,
    );
    if summary.failed > 0 {
        bail!(
            "{} of the photos could not be restored (above)",
            summary.failed
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zoom_parses_a_region_and_a_scale() {
        let z = |x, y, w, h, scale| Zoom { x, y, w, h, scale };
        assert_eq!("120,40,64,48x4".parse(), Ok(z(120, 40, 64, 48, 4)));
        assert_eq!("0,0,8,8".parse(), Ok(z(0, 0, 8, 8, 1)));
        for bad in [
            "1,2,3",
            "1,2,3,4,5",
            "a,2,3,4",
            "1,2,0,4",
            "1,2,3,4x0",
            "1,2,3,4x17",
            "1,2,3,4x",
        ] {
            assert!(bad.parse::<Zoom>().is_err(), "{bad}");
        }
    }

    #[test]
    fn zoom_magnifies_the_region_and_refuses_one_outside_the_photo() {
        let image =
            DynamicImage::ImageRgb8(RgbImage::from_fn(10, 6, |x, y| Rgb([x as u8, y as u8, 0])));
        let zoomed = "2,1,3,2x3"
            .parse::<Zoom>()
            .unwrap()
            .apply(&image)
            .unwrap()
            .to_rgb8();
        assert_eq!(zoomed.dimensions(), (9, 6));
        assert_eq!(zoomed.get_pixel(0, 0).0, [2, 1, 0]);
        assert_eq!(zoomed.get_pixel(8, 5).0, [4, 2, 0]);
        let err = "8,0,3,2"
            .parse::<Zoom>()
            .unwrap()
            .apply(&image)
            .unwrap_err();
        assert!(err.to_string().contains("outside the 10x6 photo"), "{err}");
    }
}
