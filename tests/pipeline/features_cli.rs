//! `signal-worker features`: the golden indicator columns under their golden
//! names, then every model feature; empty cells during warm-up.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may fail loudly

use crate::common::bin;

use signal_worker::core::features::{FEATURE_NAMES, INDICATOR_NAMES, WARM_UP_BARS};

const ROWS: usize = 400;

fn read(path: &str) -> Vec<String> {
    std::fs::read_to_string(format!("{}/{path}", env!("CARGO_MANIFEST_DIR")))
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn writes_golden_indicators_and_features_for_a_real_file() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("head.csv");
    let output = dir.path().join("features.csv");
    let data = read("data/btcusd-1h.csv");
    std::fs::write(&input, data[..=ROWS].join("\n")).unwrap();
    let run = bin()
        .args([
            "features",
            "--exchange",
            "coinbase",
            "--symbol",
            "BTCUSD",
            "--interval",
            "1h",
            "--input",
        ])
        .arg(&input)
        .arg("--output")
        .arg(&output)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let table: Vec<String> = std::fs::read_to_string(&output)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    let header: Vec<&str> = table[0].split(',').collect();
    let expected: Vec<&str> = std::iter::once("timestamp")
        .chain(INDICATOR_NAMES)
        .chain(FEATURE_NAMES)
        .collect();
    assert_eq!(header, expected);
    assert_eq!(table.len(), ROWS + 1);

    let golden = read("tests/data/golden/btcusd-1h.csv");
    let golden_header: Vec<&str> = golden[0].split(',').collect();
    assert_eq!(
        &golden_header[..],
        &header[..=INDICATOR_NAMES.len()],
        "indicator columns carry the golden names"
    );
    for (row, (ours, theirs)) in table[1..].iter().zip(&golden[1..]).enumerate() {
        let ours: Vec<&str> = ours.split(',').collect();
        let theirs: Vec<&str> = theirs.split(',').collect();
        assert_eq!(ours.len(), header.len());
        assert_eq!(ours[0], theirs[0]);
        for col in 1..=INDICATOR_NAMES.len() {
            match (ours[col].parse::<f64>(), theirs[col].parse::<f64>()) {
                (Ok(a), Ok(b)) => assert!(
                    (a - b).abs() <= 1e-9 * b.abs().max(1.0),
                    "row {row} {}: {a} vs {b}",
                    header[col]
                ),
                _ => assert_eq!(
                    ours[col].is_empty(),
                    theirs[col].is_empty(),
                    "row {row} {}",
                    header[col]
                ),
            }
        }
        let features = &ours[1 + INDICATOR_NAMES.len()..];
        let complete = row + 1 >= WARM_UP_BARS;
        assert!(
            features.iter().all(|c| c.is_empty() != complete),
            "row {row}: warm-up cells must be empty, later ones full"
        );
        if complete {
            assert!(
                features
                    .iter()
                    .all(|c| c.parse::<f64>().is_ok_and(f64::is_finite))
            );
        }
    }
}

#[test]
fn gaps_reset_state_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("gap.csv");
    let mut data = read("data/btcusd-1h.csv");
    data.truncate(201);
    // Cut 10 bars out of the middle: a gap of 10 missing hours.
    data.drain(101..111);
    std::fs::write(&input, data.join("\n")).unwrap();
    let cells = |extra: &[&str]| -> Vec<String> {
        let out = bin()
            .args([
                "features",
                "--exchange",
                "coinbase",
                "--symbol",
                "BTCUSD",
                "--interval",
                "1h",
                "--input",
            ])
            .arg(&input)
            .args(extra)
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    };
    let continuous = cells(&[]);
    let reset = cells(&["--reset-after-gaps", "5"]);
    assert_eq!(continuous.len(), reset.len());
    // Row 101 (the first after the gap): continuous state has a full vector, a reset one is warming up.
    let last_col = |line: &str| line.rsplit(',').next().unwrap().to_owned();
    assert!(!last_col(&continuous[101]).is_empty());
    assert!(last_col(&reset[101]).is_empty());
    assert_eq!(continuous[100], reset[100], "before the gap both agree");
}
