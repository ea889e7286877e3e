//! MessagePack streams: candle messages (named-field maps) back to back, the
//! same bytes the worker receives on the wire.
//!
//! A MessagePack stream has no record separator, so after an undecodable
//! record the reader cannot find the next one: it reports the record and stops.

use super::{ReadError, Record};
use crate::contract::CandleMessage;
use crate::core::Rejection;
use crate::error::ErrorCode;
use serde::Deserialize;
use std::io::{BufRead, BufReader, Read, Write};

/// Reads a MessagePack stream of candle messages.
pub fn read_msgpack<R: Read + Send + 'static>(
    path: &str,
    input: R,
) -> impl Iterator<Item = Result<Record, ReadError>> + Send + use<R> {
    let path = path.to_owned();
    let mut reader = BufReader::new(input);
    let mut number = 0u64;
    let mut done = false;
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        match reader.fill_buf() {
            Ok([]) => return None,
            Ok(_) => {}
            Err(source) => {
                done = true;
                return Some(Err(ReadError::Io {
                    path: path.clone(),
                    source,
                }));
            }
        }
        number += 1;
        let mut de = rmp_serde::Deserializer::new(&mut reader);
        let candle = CandleMessage::deserialize(&mut de).map_err(|e| {
            done = true;
            Rejection::new(
                ErrorCode::Undecodable,
                format!("{e} (the rest of the stream cannot be resynchronised)"),
            )
        });
        Some(Ok(Record { number, candle }))
    })
}

/// Writes candles as a MessagePack stream.
pub fn write_msgpack<'a, W: Write>(
    mut out: W,
    candles: impl IntoIterator<Item = &'a CandleMessage>,
) -> std::io::Result<()> {
    for c in candles {
        let bytes = rmp_serde::to_vec_named(c).map_err(std::io::Error::other)?;
        out.write_all(&bytes)?;
    }
    out.flush()
}
