//! What a JPEG file says about how it was compressed: the quantization tables (as an IJG
//! quality), the chroma subsampling and whether it is progressive. A restore given the file
//! knows the compression instead of estimating it from the pixels ([`crate::detect`]).

use serde::{Deserialize, Serialize};

use crate::detect::ijg_step;
use crate::error::{Error, Result};
use crate::jpeg_constraint::QuantTables;

/// IJG's luma and chroma quantization tables at quality 50 (the JPEG standard's tables K.1
/// and K.2), in natural (row-major) order.
const IJG_LUMA_50: [u16; 64] = [
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113,
    92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
];
const IJG_CHROMA_50: [u16; 64] = [
    17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99,
    47, 66, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
];

/// Planes of a network that reads the quantization ([`crate::PromptIrConfig::quality_map`]).
pub const QUALITY_PLANES: usize = 2;

/// The quantization planes' values for a photo saved at luma quality `luma` and chroma
/// quality `chroma` (IJG scale; `None`: not quantized): IJG's table scale over 100, so 5 at
/// quality 10, 1 at 50, 0.2 at 90 and 0 unquantized, as QGCN reads the tables' strength.
pub fn quality_planes(luma: Option<u8>, chroma: Option<u8>) -> [f32; QUALITY_PLANES] {
    let scale = |q: Option<u8>| match q {
        None => 0.0,
        Some(q) if q < 50 => 50.0 / q.max(1) as f32,
        Some(q) => 2.0 - q.min(100) as f32 / 50.0,
    };
    [scale(luma), scale(chroma.or(luma))]
}

/// A JPEG file's compression.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JpegFile {
    /// The IJG quality (1-100) whose luma table is nearest the file's (other encoders' tables
    /// read as the IJG quality of the same strength).
    pub quality: u8,
    /// The same for the chroma table, where the file has colour.
    pub chroma_quality: Option<u8>,
    /// Chroma kept at full resolution (4:4:4), not halved (4:2:0, 4:2:2).
    pub full_chroma: bool,
    pub progressive: bool,
    /// The quantization tables themselves: a restore keeps within what they allow
    /// ([`crate::jpeg_constraint`]).
    #[serde(default)]
    pub tables: Option<QuantTables>,
}

impl JpegFile {
    /// Reads the header of a JPEG file. Errors name what is missing or malformed.
    pub fn read(bytes: &[u8]) -> Result<Self> {
        let bad = |context: &str, e: gufo_jpeg::Error| Error::JpegFile {
            context: context.into(),
            source: Some(e),
        };
        let missing = |context: String| Error::JpegFile {
            context,
            source: None,
        };
        if !bytes.starts_with(&[0xFF, 0xD8]) {
            return Err(missing("no start-of-image marker".into()));
        }
        let jpeg =
            gufo_jpeg::Jpeg::new(bytes.to_vec()).map_err(|e| bad("unreadable", e.err().clone()))?;
        let sof = jpeg.sof().map_err(|e| bad("no frame header", e))?;
        let tables = jpeg.dqts().map_err(|e| bad("bad quantization table", e))?;
        let table = |component: usize| -> Result<Option<[u16; 64]>> {
            let Some(c) = sof.parameters.get(component) else {
                return Ok(None);
            };
            let t = tables.get(&c.tq).ok_or_else(|| {
                missing(format!(
                    "component {component} uses quantization table {}, which the file lacks",
                    c.tq
                ))
            })?;
            Ok(Some(t.qk_ordered()))
        };
        let luma = table(0)?.ok_or_else(|| missing("the frame has no components".into()))?;
        let chroma = table(1)?;
        let full_chroma = match (sof.parameters.first(), sof.parameters.get(1)) {
            (Some(y), Some(c)) => y.h == c.h && y.v == c.v,
            _ => true,
        };
        Ok(Self {
            quality: nearest_quality(&luma, &IJG_LUMA_50),
            chroma_quality: chroma.map(|t| nearest_quality(&t, &IJG_CHROMA_50)),
            full_chroma,
            progressive: jpeg
                .is_progressive()
                .map_err(|e| bad("no frame header", e))?,
            tables: Some(QuantTables::new(&luma, chroma.as_ref())),
        })
    }
}

/// The IJG quality whose scaled `base` table is nearest `table` (in log ratio, entry by entry).
fn nearest_quality(table: &[u16; 64], base: &[u16; 64]) -> u8 {
    let error = |q: u8| -> f32 {
        table
            .iter()
            .zip(base)
            .map(|(&t, &b)| (t.max(1) as f32 / ijg_step(b as f32, q)).ln().abs())
            .sum()
    };
    (1..=100u8)
        .min_by(|&a, &b| error(a).total_cmp(&error(b)))
        .expect("qualities")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::degrade::JpegSettings;
    use image::RgbImage;

    fn photo() -> RgbImage {
        RgbImage::from_fn(64, 48, |x, y| {
            image::Rgb([(x * 4) as u8, (y * 5) as u8, ((x + y) * 2) as u8])
        })
    }

    #[test]
    fn reads_quality_subsampling_and_scan_type() {
        for (quality, full_chroma, progressive) in [
            (85, false, true),
            (92, true, true),
            (20, false, false),
            (70, true, false),
        ] {
            let settings = JpegSettings {
                quality,
                full_chroma,
                progressive,
            };
            let file = JpegFile::read(&settings.encode(&photo()).unwrap()).unwrap();
            assert_eq!(file.quality, quality, "{settings}");
            assert!(
                file.chroma_quality.unwrap().abs_diff(quality) <= 1,
                "{settings}: {file:?}"
            );
            assert_eq!(
                (file.full_chroma, file.progressive),
                (full_chroma, progressive),
                "{settings}"
            );
        }
    }

    #[test]
    fn other_files_get_an_error_that_names_the_problem() {
        let png = b"\x89PNG\r\n\x1a\n";
        let err = JpegFile::read(png).unwrap_err().to_string();
        assert!(err.contains("start-of-image"), "{err}");
        let cut = &JpegSettings::new(50).encode(&photo()).unwrap()[..30];
        assert!(JpegFile::read(cut).is_err());
        assert!(JpegFile::read(&[]).is_err());
    }
}
