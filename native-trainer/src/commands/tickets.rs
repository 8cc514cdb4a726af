//! `--ticket`: a ticket file, or one of the bundled tickets by name, or `auto` to pick a
//! bundled ticket for each photo ([`mirl::bundled`]).

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{bail, Context, Result};
use mirl::bundled::{Bundled, Choice};
use mirl::pipeline::Options;
use mirl::tasks::Examination;
use mirl::ticket::{Provenance, Ticket};
use mirl::{ModelBackend, PromptIr};

/// What `--ticket` names: `auto`, `allinone`, `osn`, or any other value a `.mirl` file (write
/// `./osn` for a file of that name).
#[derive(Clone, Debug, PartialEq)]
pub enum TicketArg {
    Bundled(Choice),
    File(PathBuf),
}

impl FromStr for TicketArg {
    type Err = Infallible;
    fn from_str(s: &str) -> Result<Self, Infallible> {
        Ok(match s.parse::<Choice>() {
            Ok(choice) => TicketArg::Bundled(choice),
            Err(_) => TicketArg::File(s.into()),
        })
    }
}

impl TicketArg {
    /// The file, where it names one (outputs must not overwrite it).
    pub fn path(&self) -> Option<&Path> {
        match self {
            TicketArg::File(path) => Some(path),
            TicketArg::Bundled(_) => None,
        }
    }

    /// How to name it in messages and reports.
    pub fn name(&self) -> String {
        match self {
            TicketArg::File(path) => path.display().to_string(),
            TicketArg::Bundled(Choice::Auto) => "auto (a bundled ticket per photo)".into(),
            TicketArg::Bundled(Choice::Bundled(b)) => format!("the bundled {b} ticket"),
        }
    }

    /// The one ticket it names, for commands that take exactly one.
    pub fn load_one(&self) -> Result<Ticket> {
        match self {
            TicketArg::File(path) => read_ticket(path),
            TicketArg::Bundled(Choice::Bundled(b)) => Ok(Ticket::from_bytes(b.bytes())?),
            TicketArg::Bundled(Choice::Auto) => {
                bail!("this command takes one ticket: allinone, osn or a .mirl file, not auto")
            }
        }
    }

    /// Its networks on `device`, read (a file checked) before any photo is.
    pub fn networks<B: ModelBackend>(&self, device: &B::Device) -> Result<Networks<B>> {
        Ok(match self {
            TicketArg::File(path) => {
                let ticket = read_ticket(path)?;
                Networks::Own(Box::new((ticket.build(device)?, ticket.provenance)))
            }
            TicketArg::Bundled(choice) => Networks::Bundled {
                choice: *choice,
                built: Vec::new(),
            },
        })
    }
}

/// Reads and validates a ticket file, naming it in any error.
pub fn read_ticket(path: &Path) -> Result<Ticket> {
    let bytes = crate::fsio::read(path)?;
    Ticket::from_bytes(&bytes).with_context(|| format!("cannot load ticket {}", path.display()))
}

/// A network, and where its ticket came from (which sets what `auto` asks of it).
type Network<B> = (PromptIr<B>, Provenance);

/// The networks a command restores with: the caller's own, or bundled ones, each built on the
/// device the first time a photo needs it.
pub enum Networks<B: ModelBackend> {
    Own(Box<Network<B>>),
    Bundled {
        choice: Choice,
        built: Vec<(Bundled, Network<B>)>,
    },
}

impl<B: ModelBackend> Networks<B> {
    /// The network for a photo restored with `options`, as `examined`; `options` take in
    /// the examination, the ticket's `auto` JPEG bar and, for a bundled ticket, which it is
    /// and why.
    pub fn for_photo(
        &mut self,
        examined: Examination,
        options: &mut Options,
        device: &B::Device,
    ) -> Result<&PromptIr<B>> {
        let (network, pick) = match self {
            Networks::Own(network) => (&**network, None),
            Networks::Bundled { choice, built } => {
                let pick = choice.pick(&options.tasks, &examined);
                let i = match built.iter().position(|(b, _)| *b == pick.ticket) {
                    Some(i) => i,
                    None => {
                        let ticket = Ticket::from_bytes(pick.ticket.bytes())?;
                        built.push((pick.ticket, (ticket.build(device)?, ticket.provenance)));
                        built.len() - 1
                    }
                };
                (&built[i].1, Some(pick))
            }
        };
        let (model, provenance) = network;
        *options = Options {
            examined: Some(examined),
            pick,
            ..std::mem::take(options).for_ticket(provenance)
        };
        Ok(model)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_bundled_tickets_and_anything_else_a_file() {
        let arg = |s: &str| s.parse::<TicketArg>().unwrap();
        assert_eq!(arg("auto"), TicketArg::Bundled(Choice::Auto));
        assert_eq!(
            arg("osn"),
            TicketArg::Bundled(Choice::Bundled(Bundled::Osn))
        );
        assert_eq!(arg("./osn"), TicketArg::File("./osn".into()));
        assert_eq!(arg("t.mirl").path(), Some(Path::new("t.mirl")));
        let err = arg("auto").load_one().unwrap_err().to_string();
        assert!(err.contains("not auto"), "{err}");
    }
}
