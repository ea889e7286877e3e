//! What `train` reads: one or more candle files, each holding one or more series, named by
//! their identity. `--input FILE[@EXCHANGE/SYMBOL/INTERVAL]` (repeatable) or a manifest:
//!
//! ```toml
//! [[series]]
//! input = "icl8-cffex-1m.csv"   # relative to the manifest's directory
//! exchange = "cffex"            # CSV only: JSONL/MessagePack records carry their identity
//! symbol = "IC"
//! interval = "1m"
//! ```
//!
//! A JSONL or MessagePack file holding several series gives one training series each; two
//! inputs naming the same series are refused (one series is one history).

use super::series_args::SeriesArgs;
use crate::config::Settings;
use crate::contract::CandleMessage;
use crate::core::dataset::feature_rows;
use crate::core::features::FEATURE_NAMES;
use crate::io::csv_file::CsvIdentity;
use crate::io::open_candles;
use crate::model::TrainingData;
use crate::model::digest::sha256_hex;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One `--input` or manifest entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrainInput {
    /// The candle file.
    pub path: PathBuf,
    /// The identity of its CSV rows; `None`: the command's `--exchange/--symbol/--interval`.
    pub identity: Option<CsvIdentity>,
}

/// Parses `FILE` or `FILE@EXCHANGE/SYMBOL/INTERVAL` (the clap value parser of `--input`).
pub fn parse_input(value: &str) -> Result<TrainInput, String> {
    let plain = || TrainInput {
        path: PathBuf::from(value),
        identity: None,
    };
    let Some((path, identity)) = value.rsplit_once('@') else {
        return Ok(plain());
    };
    if !identity.is_empty() && !identity.contains('/') {
        // An `@` in the file name, not an identity.
        return Ok(plain());
    }
    let parts: Vec<&str> = identity.split('/').collect();
    match parts.as_slice() {
        [exchange, symbol, interval]
            if !path.is_empty() && parts.iter().all(|p| !p.trim().is_empty()) =>
        {
            Ok(TrainInput {
                path: PathBuf::from(path),
                identity: Some(CsvIdentity {
                    exchange: (*exchange).to_owned(),
                    symbol: (*symbol).to_owned(),
                    interval: (*interval).to_owned(),
                }),
            })
        }
        _ => Err(format!(
            "`{value}`: expected FILE or FILE@EXCHANGE/SYMBOL/INTERVAL, e.g. data/icl8-cffex-1m.csv@cffex/IC/1m"
        )),
    }
}

/// A manifest file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    series: Vec<ManifestEntry>,
}

/// One manifest entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestEntry {
    input: PathBuf,
    exchange: Option<String>,
    symbol: Option<String>,
    interval: Option<String>,
}

/// The inputs a manifest lists, paths resolved against its directory.
pub fn read_manifest(path: &Path) -> Result<Vec<TrainInput>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let manifest: Manifest =
        toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let base = path.parent().unwrap_or_else(|| Path::new(""));
    manifest
        .series
        .into_iter()
        .map(|entry| {
            let identity = match (entry.exchange, entry.symbol, entry.interval) {
                (Some(exchange), Some(symbol), Some(interval)) => Some(CsvIdentity {
                    exchange,
                    symbol,
                    interval,
                }),
                (None, None, None) => None,
                _ => {
                    return Err(format!(
                        "{}: entry `{}` needs all of exchange, symbol and interval, or none",
                        path.display(),
                        entry.input.display()
                    ));
                }
            };
            Ok(TrainInput {
                path: base.join(entry.input),
                identity,
            })
        })
        .collect()
}

/// One training series read from an input.
#[derive(Debug)]
pub struct LoadedSeries {
    /// `exchange.symbol.interval`.
    pub name: String,
    /// Its feature rows.
    pub data: TrainingData,
}

/// Reads every input into feature rows, one series per identity, in input order (and by name
/// within a file); two inputs with the same series are refused.
pub fn load_series(
    inputs: &[TrainInput],
    fallback: &SeriesArgs,
    settings: &Settings,
) -> Result<Vec<LoadedSeries>, String> {
    let mut out: Vec<LoadedSeries> = Vec::new();
    for input in inputs {
        for series in load_one(input, fallback, settings)? {
            if out.iter().any(|s| s.name == series.name) {
                return Err(format!(
                    "{}: series {} is already given by another input; one series is one history",
                    input.path.display(),
                    series.name
                ));
            }
            out.push(series);
        }
    }
    Ok(out)
}

fn load_one(
    input: &TrainInput,
    fallback: &SeriesArgs,
    settings: &Settings,
) -> Result<Vec<LoadedSeries>, String> {
    let path = &input.path;
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let source_sha256 = sha256_hex(&bytes);
    drop(bytes);
    let identity = input.identity.clone().unwrap_or_else(|| CsvIdentity {
        exchange: fallback.exchange.clone(),
        symbol: fallback.symbol.clone(),
        interval: fallback.interval.clone(),
    });
    let records = open_candles(
        path,
        None,
        Some(identity),
        settings.validation.max_message_bytes,
    )
    .map_err(|e| e.to_string())?;
    let mut by_series: BTreeMap<String, Vec<CandleMessage>> = BTreeMap::new();
    let mut undecodable = 0u64;
    for record in records {
        match record.map_err(|e| e.to_string())?.candle {
            Ok(c) => by_series
                .entry(format!("{}.{}.{}", c.exchange, c.symbol, c.interval))
                .or_default()
                .push(c),
            Err(_) => undecodable += 1,
        }
    }
    if by_series.is_empty() {
        return Err(format!("{}: no candle could be read", path.display()));
    }
    let mut out = Vec::with_capacity(by_series.len());
    for (name, candles) in by_series {
        let table = feature_rows(candles, &settings.validation, &settings.features);
        eprintln!(
            "train: {name} from {}: {} feature rows ({} warm-up bars, {} rejected records)",
            path.display(),
            table.closes.len(),
            table.warmup,
            table.rejected + std::mem::take(&mut undecodable)
        );
        out.push(LoadedSeries {
            name,
            data: TrainingData {
                feature_names: FEATURE_NAMES.iter().map(|s| (*s).to_owned()).collect(),
                rows: table.rows,
                closes: table.closes,
                open_times: table.open_times,
                source_sha256: source_sha256.clone(),
            },
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_input_with_an_identity_parses_and_a_bad_one_is_explained() {
        let parsed = parse_input("data/a@b.csv@cffex/IC/1m");
        assert_eq!(
            parsed,
            Ok(TrainInput {
                path: PathBuf::from("data/a@b.csv"),
                identity: Some(CsvIdentity {
                    exchange: "cffex".into(),
                    symbol: "IC".into(),
                    interval: "1m".into(),
                }),
            })
        );
        for plain in ["data/a.csv", "data/a@b.csv"] {
            assert_eq!(parse_input(plain).map(|i| i.path), Ok(PathBuf::from(plain)));
        }
        for bad in [
            "a.csv@cffex/IC",
            "a.csv@cffex//1m",
            "@cffex/IC/1m",
            "a.csv@",
        ] {
            assert!(parse_input(bad).is_err(), "{bad}");
        }
    }
}
