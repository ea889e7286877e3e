//! JSON lines: one candle message per line, identity in the body.

use super::{ReadError, Record};
use crate::contract::CandleMessage;
use crate::contract::codec::{self, Encoding};
use crate::core::Rejection;
use crate::error::ErrorCode;
use std::io::{BufRead, BufReader, Read, Write};

/// Reads a JSONL candle file; blank lines are skipped, lines over
/// `max_record_bytes` are refused as oversize without being parsed.
pub fn read_jsonl<R: Read + Send + 'static>(
    path: &str,
    input: R,
    max_record_bytes: usize,
) -> impl Iterator<Item = Result<Record, ReadError>> + Send + use<R> {
    let path = path.to_owned();
    let mut reader = BufReader::new(input);
    let mut line = Vec::new();
    let mut number = 0u64;
    std::iter::from_fn(move || {
        loop {
            line.clear();
            number += 1;
            match reader.read_until(b'\n', &mut line) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(source) => {
                    return Some(Err(ReadError::Io {
                        path: path.clone(),
                        source,
                    }));
                }
            }
            let text = line.trim_ascii();
            if text.is_empty() {
                continue;
            }
            let candle = if text.len() > max_record_bytes {
                Err(Rejection::new(
                    ErrorCode::Oversize,
                    format!("{} bytes > limit {max_record_bytes}", text.len()),
                ))
            } else {
                codec::decode::<CandleMessage>(text, Encoding::Json)
                    .map_err(|e| Rejection::new(ErrorCode::Undecodable, e.to_string()))
            };
            return Some(Ok(Record { number, candle }));
        }
    })
}

/// Writes candles as JSON lines.
pub fn write_jsonl<'a, W: Write>(
    mut out: W,
    candles: impl IntoIterator<Item = &'a CandleMessage>,
) -> std::io::Result<()> {
    for c in candles {
        serde_json::to_writer(&mut out, c)?;
        out.write_all(b"\n")?;
    }
    out.flush()
}
