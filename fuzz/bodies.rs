//! The bodies of the fuzz targets in `fuzz/fuzz_targets/`, shared with the corpus regression
//! test (`tests/pipeline/fuzz_corpus.rs`, which includes this file), so every input the fuzzer
//! ever kept is replayed by `cargo test`. Outside the worker's library: it is test harness.
//!
//! Each takes arbitrary bytes and returns `Err` with a description when an invariant breaks;
//! a panic inside is a finding too (libFuzzer reports it, the test fails).

use signal_worker::contract::CandleMessage;
use signal_worker::contract::codec::{self, Encoding};
use signal_worker::contract::subject::parse_subject;
use signal_worker::core::validate::{ValidationSettings, validate_candle};
use signal_worker::io::csv_file::{CsvIdentity, read_csv};
use signal_worker::io::jsonl::read_jsonl;
use signal_worker::io::{ReadError, Record};
use std::io::Cursor;

/// "Now" for validation: 2026-01-01, so every plausible open time is in the past.
const NOW_MS: i64 = 1_767_225_600_000;

/// Decodes the bytes as a candle message (MessagePack, then JSON) and validates what decodes,
/// with and without a subject. A validated candle must satisfy every price and time rule; a
/// rejection must say why.
pub fn decode_and_validate(bytes: &[u8]) -> Result<(), String> {
    let settings = ValidationSettings::default();
    for encoding in [Encoding::MessagePack, Encoding::Json] {
        let Ok(message) = codec::decode::<CandleMessage>(bytes, encoding) else {
            continue;
        };
        let subject = format!(
            "candles.{}.{}.{}",
            message.exchange, message.symbol, message.interval
        );
        let tokens = parse_subject("candles", &subject);
        for subject in [None, tokens.as_ref()] {
            match validate_candle(&message, subject, Some(NOW_MS), &settings) {
                Ok(candle) => {
                    let prices = [candle.open, candle.high, candle.low, candle.close];
                    if prices.iter().any(|p| !p.is_finite() || *p <= 0.0) {
                        return Err(format!(
                            "accepted a non-positive or non-finite price: {candle:?}"
                        ));
                    }
                    if !candle.volume.is_finite() || candle.volume < 0.0 {
                        return Err(format!("accepted a bad volume: {candle:?}"));
                    }
                    if candle.high < candle.open.max(candle.close)
                        || candle.low > candle.open.min(candle.close)
                    {
                        return Err(format!("accepted an inconsistent range: {candle:?}"));
                    }
                    if candle.open_time > NOW_MS + settings.max_future_skew_ms {
                        return Err(format!("accepted a future open time: {candle:?}"));
                    }
                }
                Err(rejection) if rejection.detail.is_empty() => {
                    return Err(format!("rejection without a reason: {:?}", rejection.code));
                }
                Err(_) => {}
            }
        }
    }
    Ok(())
}

/// Reads the bytes as a CSV candle file.
pub fn read_csv_bytes(bytes: &[u8]) -> Result<(), String> {
    let identity = CsvIdentity {
        exchange: "fuzz".into(),
        symbol: "FUZZ".into(),
        interval: "1m".into(),
    };
    match read_csv("fuzz.csv", Cursor::new(bytes.to_vec()), identity) {
        Ok(records) => check_records(records),
        Err(_) => Ok(()),
    }
}

/// Reads the bytes as a JSON-lines candle file (records of at most 4 KiB).
pub fn read_jsonl_bytes(bytes: &[u8]) -> Result<(), String> {
    check_records(read_jsonl("fuzz.jsonl", Cursor::new(bytes.to_vec()), 4096))
}

/// Record numbers increase, and every refused record says why.
fn check_records(records: impl Iterator<Item = Result<Record, ReadError>>) -> Result<(), String> {
    let mut last = 0;
    for record in records {
        let Ok(record) = record else {
            break;
        };
        if record.number <= last {
            return Err(format!("record {} after {last}", record.number));
        }
        last = record.number;
        if let Err(rejection) = &record.candle
            && rejection.detail.is_empty()
        {
            return Err(format!("record {} refused without a reason", record.number));
        }
    }
    Ok(())
}
