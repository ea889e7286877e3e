//! Every seed (`fuzz/seeds/<target>/`, hand-written and past findings) and every input the
//! fuzzers kept (`fuzz/corpus/<target>/`) replayed through the same checks the fuzz targets run,
//! so a finding fixed once stays fixed without cargo-fuzz.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::fuzz_bodies as fuzz;
use std::path::Path;

fn replay(target: &str, check: fn(&[u8]) -> Result<(), String>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        if let Err(broken) = check(&bytes) {
            panic!("{}: {broken}", path.display());
        }
        count += 1;
    }
    assert!(count > 0, "no corpus for {target}");
    eprintln!("{target}: {count} inputs");
}

#[test]
fn the_decode_and_validate_corpus_keeps_every_invariant() {
    replay("decode_validate", fuzz::decode_and_validate);
}

#[test]
fn the_csv_reader_corpus_keeps_every_invariant() {
    replay("csv_reader", fuzz::read_csv_bytes);
}

#[test]
fn the_jsonl_reader_corpus_keeps_every_invariant() {
    replay("jsonl_reader", fuzz::read_jsonl_bytes);
}

/// The seeds reach both sides of every check: a candle that validates and one that is refused.
#[test]
fn the_seed_corpus_reaches_the_accept_and_the_refuse_paths() {
    use signal_worker::contract::CandleMessage;
    use signal_worker::contract::codec::{Encoding, decode};
    use signal_worker::core::validate::{ValidationSettings, validate_candle};
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/decode_validate");
    let validate = |name: &str| {
        let bytes = std::fs::read(dir.join(name)).unwrap();
        let message: CandleMessage = decode(&bytes, Encoding::MessagePack).unwrap();
        validate_candle(
            &message,
            None,
            Some(i64::MAX / 4),
            &ValidationSettings::default(),
        )
    };
    assert!(validate("valid.msgpack").is_ok());
    let refused = validate("high_below.msgpack").unwrap_err();
    assert_eq!(refused.code.as_str(), "high_below_body");
}
