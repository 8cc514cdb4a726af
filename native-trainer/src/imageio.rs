//! Reading and writing photos, with the checks a user needs: a file that does not decode, is
//! empty or is too large is named in the error; outputs are written atomically. A restored
//! photo keeps its file's colour profile and EXIF ([`Metadata`]).

use std::io::Cursor;
use std::path::Path;

use anyhow::{bail, Context, Result};
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::codecs::webp::WebPEncoder;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageEncoder, ImageFormat, ImageReader};
use mirl::jpeg_file::JpegFile;

use crate::fsio;

/// The quality JPEG outputs are written at unless asked otherwise.
pub const JPEG_QUALITY: u8 = 95;

/// A photo as its file holds it: the pixels as stored (not yet turned as the file says to
/// show them: a JPEG file's blocks lie on this grid), and what a restore keeps of the file.
pub struct Photo {
    pub image: DynamicImage,
    /// How the file was compressed, where it is a JPEG file that says.
    pub jpeg: Option<JpegFile>,
    /// How the pixels are turned to be shown (EXIF Orientation).
    pub orientation: Orientation,
    pub metadata: Metadata,
}

/// What an output keeps of its input's file besides the pixels.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metadata {
    /// The ICC colour profile: the values are in its colour space, as stored (the network
    /// runs on them as they are), so the output keeps it.
    pub icc: Option<Vec<u8>>,
    /// The EXIF block (date, camera, place), its Orientation set to 1: the output is upright.
    pub exif: Option<Vec<u8>>,
}

/// Decodes an image file as it is shown (turned as its EXIF Orientation says), refusing empty
/// or oversized images before decoding the pixels.
pub fn load(path: &Path) -> Result<DynamicImage> {
    let bytes = fsio::read(path)?;
    let (mut image, orientation, _) = decode(&bytes, path)?;
    image.apply_orientation(orientation);
    Ok(image)
}

/// Decodes a photo as stored, with its orientation, profile and EXIF and, where it is a JPEG
/// file, how it was compressed (a header that does not say is warned about: the restore
/// then reads the pixels alone).
pub fn load_photo(path: &Path) -> Result<Photo> {
    let bytes = fsio::read(path)?;
    let (image, orientation, metadata) = decode(&bytes, path)?;
    let jpeg = match image::guess_format(&bytes) {
        Ok(ImageFormat::Jpeg) => JpegFile::read(&bytes)
            .map_err(|e| {
                eprintln!(
                    "warning: {}: {e}; estimating its compression from the pixels",
                    path.display()
                )
            })
            .ok(),
        _ => None,
    };
    Ok(Photo {
        image,
        jpeg,
        orientation,
        metadata,
    })
}

/// The pixels of an image file as stored, its orientation and what an output keeps of it.
fn decode(bytes: &[u8], path: &Path) -> Result<(DynamicImage, Orientation, Metadata)> {
    let cannot = || format!("cannot read the photo {}", path.display());
    // The size is checked from the header, before any pixel is decoded.
    let (width, height) = mirl::pipeline::decode_header(bytes).with_context(cannot)?;
    let mut decoder = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()?
        .into_decoder()
        .with_context(cannot)?;
    // Metadata that does not parse costs only itself, never the photo.
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let icc = decoder.icc_profile().ok().flatten();
    let exif = decoder.exif_metadata().ok().flatten().map(|mut exif| {
        let _ = Orientation::remove_from_exif_chunk(&mut exif);
        exif
    });
    let image = DynamicImage::from_decoder(decoder)
        .with_context(|| format!("the {width}x{height} image does not decode"))
        .with_context(cannot)?;
    Ok((image, orientation, Metadata { icc, exif }))
}

/// The formats outputs are written in (`restore --format` names them too).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Png,
    Jpg,
    Webp,
    Bmp,
}

impl Format {
    pub fn extension(self) -> &'static str {
        match self {
            Format::Png => "png",
            Format::Jpg => "jpg",
            Format::Webp => "webp",
            Format::Bmp => "bmp",
        }
    }

    /// The output format `path`'s extension names.
    pub fn of_path(path: &Path) -> Result<Format> {
        match ImageFormat::from_path(path) {
            Ok(ImageFormat::Png) => Ok(Format::Png),
            Ok(ImageFormat::Jpeg) => Ok(Format::Jpg),
            Ok(ImageFormat::WebP) => Ok(Format::Webp),
            Ok(ImageFormat::Bmp) => Ok(Format::Bmp),
            _ => {
                let known: Vec<_> = [Format::Png, Format::Jpg, Format::Webp, Format::Bmp]
                    .map(Format::extension)
                    .into();
                bail!(
                    "cannot tell the output format of {}: use .{}",
                    path.display(),
                    known.join(", .")
                )
            }
        }
    }
}

/// Encodes `img` in the format named by `path`'s extension and writes it atomically; never
/// over any of `inputs`.
pub fn save(img: &DynamicImage, path: &Path, inputs: &[&Path]) -> Result<()> {
    save_with(img, path, inputs, &Metadata::default(), JPEG_QUALITY)
}

/// As [`save`], with `metadata` in the file (PNG, JPEG and WebP carry both; BMP neither, and
/// is refused where there is some to keep) and JPEG at `jpeg_quality`. WebP is written
/// lossless.
pub fn save_with(
    img: &DynamicImage,
    path: &Path,
    inputs: &[&Path],
    metadata: &Metadata,
    jpeg_quality: u8,
) -> Result<()> {
    let format = Format::of_path(path)?;
    let img = match format {
        // JPEG and BMP carry no alpha.
        Format::Jpg | Format::Bmp if img.color().has_alpha() => {
            DynamicImage::ImageRgb8(img.to_rgb8())
        }
        _ => img.clone(),
    };
    let mut buf = Vec::new();
    let carry = |encoder: &mut dyn ImageEncoder| -> Result<()> {
        if let Some(icc) = &metadata.icc {
            encoder.set_icc_profile(icc.clone())?;
        }
        if let Some(exif) = &metadata.exif {
            encoder.set_exif_metadata(exif.clone())?;
        }
        Ok(())
    };
    match format {
        Format::Jpg => {
            let mut encoder = JpegEncoder::new_with_quality(&mut buf, jpeg_quality);
            carry(&mut encoder)?;
            img.write_with_encoder(encoder)?;
        }
        Format::Png => {
            let mut encoder = PngEncoder::new(&mut buf);
            carry(&mut encoder)?;
            img.write_with_encoder(encoder)?;
        }
        Format::Webp => {
            let mut encoder = WebPEncoder::new_lossless(&mut buf);
            carry(&mut encoder)?;
            img.write_with_encoder(encoder)?;
        }
        Format::Bmp => {
            if *metadata != Metadata::default() {
                bail!(
                    "{} would lose the photo's colour profile and EXIF (BMP keeps neither): write .png, .jpg or .webp",
                    path.display()
                );
            }
            img.write_to(&mut Cursor::new(&mut buf), ImageFormat::Bmp)?;
        }
    }
    fsio::write_atomic(path, &buf, inputs)
}

/// The image files directly in `dir` (by extension, in any format `load` reads), sorted by name.
pub fn list_images(dir: &Path) -> Result<Vec<std::path::PathBuf>> {
    let entries = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read the folder {}", dir.display()))?;
    let mut files: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| ImageFormat::from_path(p).is_ok_and(|f| f.reading_enabled()))
        .collect();
    files.sort();
    anyhow::ensure!(
        !files.is_empty(),
        "{} holds no images ({})",
        dir.display(),
        mirl::pipeline::readable_formats().join(", ")
    );
    Ok(files)
}

/// Centre crop to multiples of `base` on both sides, as PromptIR's evaluation does.
pub fn crop_to_multiple(img: &image::RgbImage, base: u32) -> Result<image::RgbImage> {
    let (w, h) = img.dimensions();
    let (cw, ch) = (w / base * base, h / base * base);
    anyhow::ensure!(
        cw > 0 && ch > 0,
        "a {w}x{h} image is smaller than {base}x{base}"
    );
    Ok(image::imageops::crop_imm(img, (w - cw) / 2, (h - ch) / 2, cw, ch).to_image())
}
