//! CSV files `timestamp,open,high,low,close,volume` (timestamp = bar open, Unix ms UTC).
//!
//! The rows carry no identity, so the series (exchange, symbol, interval) is
//! given by the caller; every row is a closed bar.

use super::{ReadError, Record};
use crate::contract::CandleMessage;
use crate::core::Rejection;
use crate::error::ErrorCode;
use std::io::Read;

/// The exact header the reader accepts.
pub const CSV_HEADER: [&str; 6] = ["timestamp", "open", "high", "low", "close", "volume"];

/// The series a CSV file belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvIdentity {
    /// Exchange name.
    pub exchange: String,
    /// Symbol.
    pub symbol: String,
    /// Interval token.
    pub interval: String,
}

/// Reads a CSV candle file; the header is checked before any row is yielded.
pub fn read_csv<R: Read + Send + 'static>(
    path: &str,
    input: R,
    identity: CsvIdentity,
) -> Result<impl Iterator<Item = Result<Record, ReadError>> + Send + use<R>, ReadError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        // Lines end at '\n' only (a CRLF's '\r' is trimmed with the field): a stray '\r' inside a
        // line would otherwise split it into two records reported under one line number (found
        // by fuzzing), and a bad row must be named by a line number that is its own.
        .terminator(csv::Terminator::Any(b'\n'))
        .from_reader(input);
    let header = reader
        .byte_headers()
        .map_err(|e| ReadError::Parse {
            path: path.to_owned(),
            message: e.to_string(),
        })?
        .clone();
    let found: Vec<String> = header
        .iter()
        .map(|f| String::from_utf8_lossy(f).trim().to_owned())
        .collect();
    if found != CSV_HEADER {
        return Err(ReadError::Header {
            path: path.to_owned(),
            expected: CSV_HEADER.join(","),
            found: found.join(","),
        });
    }
    let path = path.to_owned();
    let mut row = csv::ByteRecord::new();
    Ok(std::iter::from_fn(move || {
        match reader.read_byte_record(&mut row) {
            Ok(false) => None,
            Ok(true) => {
                let number = row.position().map_or(0, |p| p.line());
                Some(Ok(Record {
                    number,
                    candle: parse_row(&row, &identity),
                }))
            }
            Err(e) => Some(Err(ReadError::Parse {
                path: path.clone(),
                message: e.to_string(),
            })),
        }
    }))
}

fn parse_row(row: &csv::ByteRecord, identity: &CsvIdentity) -> Result<CandleMessage, Rejection> {
    if row.len() != CSV_HEADER.len() {
        return Err(Rejection::new(
            ErrorCode::InvalidField,
            format!("expected {} fields, found {}", CSV_HEADER.len(), row.len()),
        ));
    }
    let field = |i: usize| -> Result<&str, Rejection> {
        std::str::from_utf8(&row[i]).map(str::trim).map_err(|_| {
            Rejection::new(
                ErrorCode::InvalidField,
                format!("{} is not UTF-8", CSV_HEADER[i]),
            )
        })
    };
    let number = |i: usize| -> Result<f64, Rejection> {
        let text = field(i)?;
        text.parse::<f64>().map_err(|_| {
            Rejection::new(
                ErrorCode::InvalidField,
                format!("{} {text:?} is not a number", CSV_HEADER[i]),
            )
        })
    };
    let ts_text = field(0)?;
    let open_time = ts_text.parse::<i64>().map_err(|_| {
        Rejection::new(
            ErrorCode::InvalidField,
            format!("timestamp {ts_text:?} is not integer milliseconds"),
        )
    })?;
    Ok(CandleMessage {
        exchange: identity.exchange.clone(),
        symbol: identity.symbol.clone(),
        interval: identity.interval.clone(),
        open_time,
        close_time: None,
        open: number(1)?,
        high: number(2)?,
        low: number(3)?,
        close: number(4)?,
        volume: number(5)?,
        trades: None,
        is_closed: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbers(text: &str) -> Vec<(u64, bool)> {
        let identity = CsvIdentity {
            exchange: "e".into(),
            symbol: "S".into(),
            interval: "1m".into(),
        };
        read_csv(
            "t.csv",
            std::io::Cursor::new(text.as_bytes().to_vec()),
            identity,
        )
        .unwrap()
        .map(|r| r.unwrap())
        .map(|r| (r.number, r.candle.is_ok()))
        .collect()
    }

    #[test]
    fn crlf_files_read_like_lf_files_and_a_stray_cr_stays_in_its_line() {
        let crlf = "timestamp,open,high,low,close,volume\r\n60000,1,2,0.5,1.5,3\r\n120000,1,2,0.5,1.5,3\r\n";
        assert_eq!(numbers(crlf), vec![(2, true), (3, true)]);
        let stray =
            "timestamp,open,high,low,close,volume\n60000,1,2\r0.5,1.5,3\n120000,1,2,0.5,1.5,3\n";
        assert_eq!(numbers(stray), vec![(2, false), (3, true)]);
    }
}
