//! Picking the reader for a file.

use super::csv_file::{CsvIdentity, read_csv};
use super::jsonl::read_jsonl;
use super::msgpack::read_msgpack;
use super::{ReadError, Records};
use std::fs::File;
use std::path::Path;

/// The recorded-file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FileFormat {
    /// `timestamp,open,high,low,close,volume`, identity from the command line.
    Csv,
    /// One JSON candle message per line.
    Jsonl,
    /// MessagePack candle messages back to back.
    Msgpack,
}

impl FileFormat {
    /// The format implied by a file name's extension.
    pub fn from_path(path: &Path) -> Option<Self> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "csv" => Some(Self::Csv),
            "jsonl" | "ndjson" => Some(Self::Jsonl),
            "msgpack" | "mpk" | "msgpacks" => Some(Self::Msgpack),
            _ => None,
        }
    }
}

/// Opens a recorded candle file.
///
/// `format` overrides the extension; `identity` is required for CSV;
/// `max_record_bytes` bounds a JSONL line like the wire limit bounds a message.
pub fn open_candles(
    path: &Path,
    format: Option<FileFormat>,
    identity: Option<CsvIdentity>,
    max_record_bytes: usize,
) -> Result<Records, ReadError> {
    let name = path.display().to_string();
    let format = format
        .or_else(|| FileFormat::from_path(path))
        .ok_or_else(|| ReadError::UnknownFormat { path: name.clone() })?;
    let file = File::open(path).map_err(|source| ReadError::Io {
        path: name.clone(),
        source,
    })?;
    Ok(match format {
        FileFormat::Csv => {
            let identity =
                identity.ok_or_else(|| ReadError::MissingIdentity { path: name.clone() })?;
            Box::new(read_csv(&name, file, identity)?)
        }
        FileFormat::Jsonl => Box::new(read_jsonl(&name, file, max_record_bytes)),
        FileFormat::Msgpack => Box::new(read_msgpack(&name, file)),
    })
}
