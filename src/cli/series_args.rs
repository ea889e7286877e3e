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

/// `--exchange/--symbol/--interval` where they are needed only for CSV
/// inputs: all three or none.
#[derive(Debug, Clone, clap::Args)]
pub struct OptionalSeriesArgs {
    /// Exchange of CSV inputs.
    #[arg(long)]
    pub exchange: Option<String>,
    /// Symbol of CSV inputs.
    #[arg(long)]
    pub symbol: Option<String>,
    /// Interval of CSV inputs (1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d 1w).
    #[arg(long)]
    pub interval: Option<String>,
}

impl OptionalSeriesArgs {
    /// The identity for CSV rows, `None` when no flag is given; an error when only some are.
    pub fn identity(&self) -> Result<Option<CsvIdentity>, String> {
        match (&self.exchange, &self.symbol, &self.interval) {
            (Some(e), Some(s), Some(i)) => Ok(Some(CsvIdentity {
                exchange: e.clone(),
                symbol: s.clone(),
                interval: i.clone(),
            })),
            (None, None, None) => Ok(None),
            _ => Err("--exchange, --symbol and --interval go together".into()),
        }
    }
}
