//! The tickets that ship with mirl, and which of them a photo gets.
//!
//! Two tickets are bundled (`tickets/README.md` says how each was made): the all-in-one ticket,
//! trained on noise, JPEG, rain and haze, and the OSN ticket, trained only on what social
//! networks do to a photo (JPEG at quality 10 to 95, resized, re-shared). Given no ticket, a
//! restore picks by what the photo is ([`Pick::for_photo`]): a JPEG without noise goes to
//! the OSN ticket, anything else to the all-in-one.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::tasks::{Examination, Task, Tasks, AUTO_NOISE_SIGMA};

/// A ticket that ships with mirl.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Bundled {
    /// Noise, JPEG, rain and haze (`tickets/allinone.mirl`).
    AllInOne,
    /// Photos as social networks deliver them (`tickets/osn.mirl`).
    Osn,
}

impl Bundled {
    pub const ALL: [Bundled; 2] = [Bundled::AllInOne, Bundled::Osn];

    /// The name callers choose it by: `allinone` or `osn`.
    pub fn name(self) -> &'static str {
        match self {
            Bundled::AllInOne => "allinone",
            Bundled::Osn => "osn",
        }
    }

    /// The `.mirl` file.
    pub fn bytes(self) -> &'static [u8] {
        match self {
            Bundled::AllInOne => include_bytes!("../tickets/allinone.mirl"),
            Bundled::Osn => include_bytes!("../tickets/osn.mirl"),
        }
    }
}

impl fmt::Display for Bundled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Bundled {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Bundled::ALL
            .into_iter()
            .find(|b| b.name() == s)
            .ok_or_else(|| {
                Error::Input(format!(
                    "unknown bundled ticket {s:?} (use allinone or osn)"
                ))
            })
    }
}

/// The bundled ticket a restore used, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pick {
    pub ticket: Bundled,
    /// Why it was picked, for people: "the photo is a JPEG (its file says quality 85)".
    pub why: String,
}

impl Pick {
    /// The caller's own choice.
    pub fn chosen(ticket: Bundled) -> Self {
        Pick {
            ticket,
            why: "the caller chose it".into(),
        }
    }

    /// The bundled ticket for a photo that asks for `asked`, as `examined`: the OSN ticket for
    /// a JPEG that shows no noise (or where only JPEG is asked for), the all-in-one ticket for
    /// anything else (noise, rain or haze asked for, noise found, or no JPEG compression found).
    pub fn for_photo(asked: &Tasks, examined: &Examination) -> Self {
        let pick = |ticket, why: String| Pick { ticket, why };
        if let Tasks::Only(tasks) = asked {
            if tasks.iter().any(|t| *t != Task::Jpeg) {
                return pick(
                    Bundled::AllInOne,
                    format!("{asked} asked for; the OSN ticket removes only JPEG"),
                );
            }
        }
        let noise = examined.findings.noise_sigma;
        if matches!(asked, Tasks::Auto) && noise >= AUTO_NOISE_SIGMA {
            return pick(
                Bundled::AllInOne,
                format!("noise σ {noise:.1} found; the OSN ticket removes only JPEG"),
            );
        }
        if let Some(file) = &examined.jpeg_file {
            return pick(
                Bundled::Osn,
                format!("the photo is a JPEG file (quality {})", file.quality),
            );
        }
        match examined.findings.jpeg_quality {
            Some(q) => pick(
                Bundled::Osn,
                format!("the pixels show JPEG compression (quality {q})"),
            ),
            None if matches!(asked, Tasks::Only(_)) => {
                pick(Bundled::Osn, format!("{asked} asked for"))
            }
            None => pick(Bundled::AllInOne, "no JPEG compression found".into()),
        }
    }
}

impl fmt::Display for Pick {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the {} ticket: {}", self.ticket, self.why)
    }
}

/// Which ticket restores: one of the bundled ones, picked per photo (`auto`) or named.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Choice {
    #[default]
    Auto,
    Bundled(Bundled),
}

impl Choice {
    /// The ticket for a photo that asks for `asked`, as `examined`.
    pub fn pick(self, asked: &Tasks, examined: &Examination) -> Pick {
        match self {
            Choice::Auto => Pick::for_photo(asked, examined),
            Choice::Bundled(ticket) => Pick::chosen(ticket),
        }
    }
}

impl FromStr for Choice {
    type Err = Error;
    /// `auto`, `allinone` or `osn`.
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "auto" => Ok(Choice::Auto),
            name => name.parse().map(Choice::Bundled).map_err(|_| {
                Error::Input(format!(
                    "unknown ticket {name:?} (use auto, allinone or osn)"
                ))
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::Findings;
    use crate::jpeg_file::JpegFile;

    fn examined(noise_sigma: f32, jpeg_quality: Option<u8>, file: Option<u8>) -> Examination {
        Examination {
            findings: Findings {
                noise_sigma,
                jpeg_quality,
                haze: 0.1,
            },
            jpeg_file: file.map(|quality| JpegFile {
                quality,
                chroma_quality: Some(quality),
                full_chroma: false,
                progressive: true,
                tables: None,
            }),
        }
    }

    #[test]
    fn a_jpeg_goes_to_the_osn_ticket_and_anything_else_to_the_all_in_one() {
        let auto = |e: &Examination| Pick::for_photo(&Tasks::Auto, e).ticket;
        assert_eq!(auto(&examined(0.5, None, Some(85))), Bundled::Osn);
        assert_eq!(auto(&examined(0.5, Some(40), None)), Bundled::Osn);
        assert_eq!(auto(&examined(0.5, None, None)), Bundled::AllInOne);
        assert_eq!(auto(&examined(20.0, Some(40), Some(40))), Bundled::AllInOne);
        let asked = |tasks: &str, e| Pick::for_photo(&tasks.parse().unwrap(), &e).ticket;
        assert_eq!(asked("jpeg", examined(20.0, None, None)), Bundled::Osn);
        assert_eq!(
            asked("noise,jpeg", examined(0.5, None, Some(30))),
            Bundled::AllInOne
        );
        assert_eq!(
            asked("all", examined(0.5, None, Some(30))),
            Bundled::AllInOne
        );
        let why = Pick::for_photo(&Tasks::Auto, &examined(0.5, None, Some(85))).to_string();
        assert_eq!(why, "the osn ticket: the photo is a JPEG file (quality 85)");
    }

    #[test]
    fn choices_parse_by_name_and_bundled_tickets_load() {
        assert_eq!("auto".parse::<Choice>().unwrap(), Choice::Auto);
        assert_eq!(
            "osn".parse::<Choice>().unwrap(),
            Choice::Bundled(Bundled::Osn)
        );
        let err = "default".parse::<Choice>().unwrap_err().to_string();
        assert!(err.contains("use auto, allinone or osn"), "{err}");
        for b in Bundled::ALL {
            crate::ticket::Ticket::from_bytes(b.bytes()).unwrap();
        }
    }
}
