//! Reading and writing photos, with the checks a user needs: a file that does not decode, is
//! empty or is too large is named in the error; outputs are written atomically.

use std::io::Cursor;
use std::path::Path;

use anyhow::{Context, Result};
use image::{DynamicImage, ImageFormat};
use mirl::jpeg_file::JpegFile;

use crate::fsio;

/// Decodes an image file, refusing empty or oversized images before decoding the pixels.
pub fn load(path: &Path) -> Result<DynamicImage> {
    let bytes = fsio::read(path)?;
    mirl::pipeline::decode(&bytes)
        .with_context(|| format!("cannot read the photo {}", path.display()))
}

/// Decodes a photo as [`load`] does and, where it is a JPEG file, reads how it was compressed
/// (a header that does not say is warned about: the restore then reads the pixels alone).
pub fn load_photo(path: &Path) -> Result<(DynamicImage, Option<JpegFile>)> {
    let bytes = fsio::read(path)?;
    let image = mirl::pipeline::decode(&bytes)
        .with_context(|| format!("cannot read the photo {}", path.display()))?;
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
    Ok((image, jpeg))
}

/// Encodes `img` in the format named by `path`'s extension and writes it atomically; never
/// over any of `inputs`.
pub fn save(img: &DynamicImage, path: &Path, inputs: &[&Path]) -> Result<()> {
    let format = ImageFormat::from_path(path)
        .ok()
        .filter(|f| matches!(f, ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::Bmp))
        .with_context(|| {
            format!(
                "cannot tell the output format of {}: use .png, .jpg or .bmp",
                path.display()
            )
        })?;
    let img = match format {
        // JPEG and BMP carry no alpha.
        ImageFormat::Jpeg | ImageFormat::Bmp if img.color().has_alpha() => {
            DynamicImage::ImageRgb8(img.to_rgb8())
        }
        _ => img.clone(),
    };
    let mut buf = Cursor::new(Vec::new());
    if format == ImageFormat::Jpeg {
        img.write_with_encoder(image::codecs::jpeg::JpegEncoder::new_with_quality(
            &mut buf, 95,
        ))?;
    } else {
        img.write_to(&mut buf, format)?;
    }
    fsio::write_atomic(path, buf.get_ref(), inputs)
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
