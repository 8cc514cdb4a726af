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
    /// A ticket that cannot be written (a tensor safetensors refuses).
    #[error("cannot write the ticket: {context}")]
    TicketWrite {
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
    /// An image with no pixels.
    #[error("invalid input: the image is empty ({width}x{height})")]
    EmptyImage { width: u32, height: u32 },
    /// An image over the pixel limit (`pipeline::MAX_PIXELS`).
    #[error("invalid input: the image is {width}x{height} ({:.1} megapixels); the limit is {} megapixels ({limit} pixels)", *width as f64 * *height as f64 / 1e6, *limit as f64 / 1e6)]
    ImageTooLarge { width: u32, height: u32, limit: u64 },
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
    /// The kind of error as a stable name that callers can branch on: JavaScript's
    /// `error.code` (js/README.md lists them). Several variants share a kind where a caller
    /// would handle them alike (every malformed ticket is `INVALID_TICKET`).
    pub fn code(&self) -> &'static str {
        match self {
            Error::Config(_) | Error::ConfigJson(_) => "INVALID_CONFIG",
            Error::Ticket(_) | Error::TicketParse { .. } => "INVALID_TICKET",
            Error::TicketWrite { .. } => "TICKET_WRITE_FAILED",
            Error::TicketVersion { .. } => "UNSUPPORTED_TICKET_VERSION",
            Error::Weights(_) => "WEIGHTS_MISMATCH",
            Error::Input(_) => "INVALID_INPUT",
            Error::EmptyImage { .. } => "EMPTY_IMAGE",
            Error::ImageTooLarge { .. } => "IMAGE_TOO_LARGE",
            Error::JpegFile { .. } => "INVALID_JPEG",
            Error::Readback(_) => "BACKEND_FAILED",
            Error::Image { .. } => "NOT_AN_IMAGE",
        }
    }

    /// An [`Error::TicketWrite`] with its cause.
    pub(crate) fn ticket_write(context: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Error::TicketWrite {
            context: context.into(),
            source: source.into(),
        }
    }

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
