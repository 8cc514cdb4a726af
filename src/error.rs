//! The crate's error type: every way a config, a ticket or an input can be wrong, named.

/// Errors from building a network, reading or writing a ticket, or restoring an image.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The network config is inconsistent or out of the supported range.
    #[error("invalid network config: {0}")]
    Config(String),
    /// The network config is not JSON of the config's shape.
    #[error("invalid network config: not a PromptIR config")]
    ConfigJson(#[source] serde_json::Error),
    /// The ticket file is not a valid mirl ticket.
    #[error("invalid ticket: {0}")]
    Ticket(String),
    /// A part of the ticket file does not parse (its safetensors container, a JSON field).
    #[error("invalid ticket: {context}")]
    TicketParse {
        context: String,
        #[source]
        source: BoxError,
    },
    /// The ticket was written by a newer or unknown version of the format.
    #[error("unsupported ticket format version {found} (this build reads version {supported})")]
    TicketVersion { found: String, supported: u32 },
    /// A set of named weights does not match what the config expects.
    #[error("weights do not match the network: {0}")]
    Weights(String),
    /// An input tensor or image is unusable.
    #[error("invalid input: {0}")]
    Input(String),
    /// A JPEG file whose header does not say how it was compressed.
    #[error("invalid JPEG file: {context}")]
    JpegFile {
        context: String,
        #[source]
        source: Option<gufo_jpeg::Error>,
    },
    /// A backend's result that cannot be read back into host memory.
    #[error("cannot read a result back from the backend: {0}")]
    Readback(String),
    /// An image that does not read or decode, or a JPEG round trip that fails.
    #[error("{context}")]
    Image {
        context: String,
        #[source]
        source: BoxError,
    },
}

/// The cause kept inside an [`Error`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl Error {
    /// An [`Error::TicketParse`] with its cause.
    pub(crate) fn ticket_parse(context: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Error::TicketParse {
            context: context.into(),
            source: source.into(),
        }
    }

    /// An [`Error::Image`] with its cause.
    pub(crate) fn image(context: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Error::Image {
            context: context.into(),
            source: source.into(),
        }
    }
}

/// An error and its causes on one line (`outer: cause: cause`), for where only a message
/// travels: JavaScript errors, a test's assertion.
pub fn report(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        text.push_str(": ");
        text.push_str(&e.to_string());
        cause = e.source();
    }
    text
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
