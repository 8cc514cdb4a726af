//! A photo's orientation: how its stored pixels are turned to be shown, as its EXIF
//! Orientation tag says (a phone held upright stores the photo sideways and tags it 6 or 8).
//!
//! A restore works on the pixels as stored, where a JPEG file's 8x8 blocks and quantization
//! intervals lie ([`crate::jpeg_constraint`]), so that a turned photo gets what an unturned
//! one gets; the result is then turned upright ([`crate::pipeline::Options::orientation`]) and
//! carries no tag. The browser decodes photos turned already: the page turns them back first
//! ([`stored`]).

use std::io::Cursor;

use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageReader, RgbaImage};

/// The orientation a file's metadata gives (EXIF in JPEG, PNG, WebP and TIFF); no turn where
/// it has none, or none this build can read.
pub fn of_file(bytes: &[u8]) -> Orientation {
    ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .ok()
        .and_then(|reader| reader.into_decoder().ok())
        .and_then(|mut decoder| decoder.orientation().ok())
        .unwrap_or(Orientation::NoTransforms)
}

/// The turn that undoes `orientation`: only the quarter turns differ from their own inverse
/// (the flips, the half turn, the transpose and the anti-transpose undo themselves).
pub fn inverse(orientation: Orientation) -> Orientation {
    match orientation {
        Orientation::Rotate90 => Orientation::Rotate270,
        Orientation::Rotate270 => Orientation::Rotate90,
        other => other,
    }
}

/// The pixels of a photo as shown (as a browser decodes it), turned back to how its file
/// stores them.
pub fn stored(shown: RgbaImage, orientation: Orientation) -> RgbaImage {
    if orientation == Orientation::NoTransforms {
        return shown;
    }
    let mut image = DynamicImage::ImageRgba8(shown);
    image.apply_orientation(inverse(orientation));
    image.into_rgba8()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Orientation; 8] = [
        Orientation::NoTransforms,
        Orientation::Rotate90,
        Orientation::Rotate180,
        Orientation::Rotate270,
        Orientation::FlipHorizontal,
        Orientation::FlipVertical,
        Orientation::Rotate90FlipH,
        Orientation::Rotate270FlipH,
    ];

    #[test]
    fn stored_undoes_every_orientation() {
        let photo = RgbaImage::from_fn(5, 3, |x, y| image::Rgba([x as u8, y as u8, 7, 255]));
        for o in ALL {
            let mut shown = DynamicImage::ImageRgba8(photo.clone());
            shown.apply_orientation(o);
            assert_eq!(stored(shown.into_rgba8(), o), photo, "{o:?}");
        }
    }

    #[test]
    fn a_file_without_a_tag_or_unreadable_is_not_turned() {
        assert_eq!(of_file(b"not an image"), Orientation::NoTransforms);
        let jpeg = crate::degrade::JpegSettings::new(90)
            .encode(&image::RgbImage::new(16, 16))
            .unwrap();
        assert_eq!(of_file(&jpeg), Orientation::NoTransforms);
    }
}
