//! The series identity of a CSV input, shared by the commands that read the bundled data.

use crate::config::Settings;
use crate::io::csv_file::CsvIdentity;
use crate::io::{Records, open_candles};
use std::path::Path;

/// `--exchange/--symbol/--interval` for a CSV file (JSONL and MessagePack
/// files carry their own identity); the defaults name the bundled BTC/USD file.
#[derive(Debug, Clone, clap::Args)]
pub struct SeriesArgs {
    /// Exchange of a CSV file's series.
    #[arg(long, default_value = "coinbase")]
    pub exchange: String,
    /// Symbol of a CSV file's series.
    #[arg(long, default_value = "BTCUSD")]
    pub symbol: String,
    /// Interval of a CSV file's series (1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d 1w).
    #[arg(long, default_value = "1h")]
    pub interval: String,
}

impl SeriesArgs {
    /// Opens `path` (format from its extension) with this identity for CSV rows.
    pub fn open(&self, path: &Path, settings: &Settings) -> Result<Records, String> {
        let identity = CsvIdentity {
            exchange: self.exchange.clone(),
            symbol: self.symbol.clone(),
            interval: self.interval.clone(),
        };
        open_candles(
            path,
            None,
            Some(identity),
            settings.validation.max_message_bytes,
        )
        .map_err(|e| e.to_string())
    }
}
