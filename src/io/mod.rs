//! Recorded candle files: CSV, JSON lines and MessagePack streams.
//!
//! Readers yield one [`Record`] per input record: a decoded message or the
//! reason it could not be decoded, with its line (or record) number, so a bad
//! row is reported and skipped instead of aborting the whole file.

pub mod csv_file;
pub(crate) mod format;
pub mod jsonl;
pub mod msgpack;

pub use format::{FileFormat, open_candles};

use crate::contract::CandleMessage;
use crate::core::Rejection;

/// One record of a recorded file.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// 1-based line number (CSV, JSONL; the CSV header is line 1) or record
    /// number (MessagePack stream).
    pub number: u64,
    /// The decoded candle or why it could not be decoded.
    pub candle: Result<CandleMessage, Rejection>,
}

/// A file that cannot be read at all (as opposed to a bad record in it).
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The operating system refused.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A CSV file whose header is not the expected one.
    #[error("{path}: expected the CSV header `{expected}`, found `{found}`")]
    Header {
        /// The file.
        path: String,
        /// The header the reader needs.
        expected: String,
        /// The header found.
        found: String,
    },
    /// The file's format cannot be told from its name.
    #[error("{path}: cannot tell the format from the extension; use --format csv|jsonl|msgpack")]
    UnknownFormat {
        /// The file.
        path: String,
    },
    /// A CSV file needs the series identity from the command line.
    #[error(
        "{path}: a CSV file carries no series identity; pass --exchange, --symbol and --interval"
    )]
    MissingIdentity {
        /// The file.
        path: String,
    },
    /// A lower-level read failure inside the CSV parser.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// What failed.
        message: String,
    },
}

/// An iterator over a file's records; I/O failures mid-file end it with an error.
pub type Records = Box<dyn Iterator<Item = Result<Record, ReadError>> + Send>;
