//! `signal-worker check`: the bundled real data passes; every kind of bad row
//! is reported on its own line with the right code; exit codes 0 / 1 / 2.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may fail loudly

use crate::common::bin;

use signal_worker::contract::CandleMessage;
use signal_worker::io::{jsonl::write_jsonl, msgpack::write_msgpack};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

const HOUR: i64 = 3_600_000;
const T0: i64 = 1_498_906_800_000;

fn btc_args(c: &mut Command) -> &mut Command {
    c.args([
        "--exchange",
        "coinbase",
        "--symbol",
        "BTCUSD",
        "--interval",
        "1h",
    ])
}

/// `LINE CODE` pairs from the output, ignoring the summary.
fn rejections(out: &Output) -> BTreeMap<u64, String> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut it = l.splitn(3, ' ');
            let line = it.next()?.parse().ok()?;
            Some((line, it.next()?.to_owned()))
        })
        .collect()
}

#[test]
fn the_bundled_real_file_is_valid() {
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/data/btcusd-1h.csv");
    let out = btc_args(bin().arg("check").arg(data)).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(rejections(&out).is_empty());
    assert!(
        stdout.contains("summary: 20111 records, 20111 accepted, 0 rejected"),
        "{stdout}"
    );
}

#[test]
fn every_kind_of_bad_csv_row_gets_its_code() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.csv");
    let t = |i: i64| T0 + i * HOUR;
    let rows = [
        format!("{},2505.56,2513.38,2495.12,2509.17,114.6", t(0)), // line 2 ok
        format!("{},2509.17,2512.87,2484.99,2488.43,157.36", t(1)), // 3 ok
        format!("{},2509.17,2512.87,2484.99,2488.43,157.36", t(1)), // 4 duplicate
        format!("{},2509.17,2512.87,2484.99,2488.43,157.36", t(0)), // 5 out_of_order
        format!("{},NaN,2512.87,2484.99,2488.43,1", t(2)),         // 6 non_finite
        format!("{},0,2512.87,2484.99,2488.43,1", t(2)),           // 7 non_positive_price
        format!("{},2509.17,2512.87,2484.99,2488.43,-1", t(2)),    // 8 negative_volume
        format!("{},2509.17,2500,2484.99,2488.43,1", t(2)),        // 9 high_below_body
        format!("{},2509.17,2512.87,2490,2488.43,1", t(2)),        // 10 low_above_body
        format!("{},2509.17,2512.87,2484.99,2488.43,1", t(2) + 1), // 11 misaligned_open_time
        format!("{},2509.17,2512.87,2484.99", t(2)),               // 12 invalid_field (short row)
        format!("{},2509.17,abc,2484.99,2488.43,1", t(2)),         // 13 invalid_field (number)
        format!(
            "{},2509.17,2512.87,2484.99,2488.43,1",
            4_102_444_800_000_i64
        ), // 14 future_open_time (2100)
        format!("{},2509.17,2512.87,2484.99,2488.43,1", t(5)),     // 15 ok after a gap
    ];
    std::fs::write(
        &path,
        format!(
            "timestamp,open,high,low,close,volume\n{}\n",
            rows.join("\n")
        ),
    )
    .unwrap();
    let out = btc_args(bin().arg("check").arg(&path)).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let expected: BTreeMap<u64, String> = [
        (4, "duplicate"),
        (5, "out_of_order"),
        (6, "non_finite"),
        (7, "non_positive_price"),
        (8, "negative_volume"),
        (9, "high_below_body"),
        (10, "low_above_body"),
        (11, "misaligned_open_time"),
        (12, "invalid_field"),
        (13, "invalid_field"),
        (14, "future_open_time"),
    ]
    .into_iter()
    .map(|(l, c)| (l, c.to_owned()))
    .collect();
    assert_eq!(rejections(&out), expected);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("14 records, 3 accepted, 11 rejected"),
        "{stdout}"
    );
    assert!(stdout.contains("1 gaps (3 missing bars"), "{stdout}");
}

fn msg(i: i64) -> CandleMessage {
    CandleMessage {
        exchange: "coinbase".into(),
        symbol: "BTCUSD".into(),
        interval: "1h".into(),
        open_time: T0 + i * HOUR,
        close_time: Some(T0 + (i + 1) * HOUR - 1),
        open: 100.0,
        high: 101.0,
        low: 99.0,
        close: 100.5,
        volume: 3.0,
        trades: None,
        is_closed: true,
    }
}

#[test]
fn jsonl_files_report_identity_and_decoding_rules() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.jsonl");
    let mut good = Vec::new();
    write_jsonl(&mut good, &[msg(0)]).unwrap();
    let good = String::from_utf8(good).unwrap();
    let mut unknown = msg(1);
    unknown.interval = "2m".into();
    let mut close = msg(1);
    close.close_time = Some(close.open_time + 5);
    let lines = [
        good.trim().to_owned(),                           // 1 ok
        serde_json::to_string(&unknown).unwrap(),         // 2 unknown_interval
        serde_json::to_string(&close).unwrap(),           // 3 inconsistent_close_time
        "{not json".to_owned(),                           // 4 undecodable
        format!("{{\"pad\": \"{}\"}}", "x".repeat(5000)), // 5 oversize
        String::new(),                                    // 6 blank: skipped
        serde_json::to_string(&msg(1)).unwrap(),          // 7 ok
    ];
    std::fs::write(&path, lines.join("\n")).unwrap();
    let out = bin().arg("check").arg(&path).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = rejections(&out);
    let want: BTreeMap<u64, String> = [
        (2, "unknown_interval"),
        (3, "inconsistent_close_time"),
        (4, "undecodable"),
        (5, "oversize"),
    ]
    .into_iter()
    .map(|(l, c)| (l, c.to_owned()))
    .collect();
    assert_eq!(got, want);
}

#[test]
fn messagepack_streams_are_checked_record_by_record() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("candles.msgpack");
    let mut bad = msg(2);
    bad.low = 100.8; // above min(open, close) = 100.0
    let candles = [msg(0), msg(1), bad, msg(3)];
    write_msgpack(std::fs::File::create(&path).unwrap(), &candles).unwrap();
    let out = bin().arg("check").arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        rejections(&out),
        BTreeMap::from([(3, "low_above_body".to_owned())])
    );

    let good_path = dir.path().join("good.mpk");
    write_msgpack(
        std::fs::File::create(&good_path).unwrap(),
        &[msg(0), msg(1)],
    )
    .unwrap();
    let out = bin().arg("check").arg(&good_path).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn usage_and_io_errors_exit_2() {
    let missing = bin()
        .args([
            "check",
            "/nonexistent/file.csv",
            "--exchange",
            "e",
            "--symbol",
            "s",
            "--interval",
            "1h",
        ])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/btcusd-1h.csv");
    let no_identity = bin().arg("check").arg(&data).output().unwrap();
    assert_eq!(no_identity.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&no_identity.stderr).contains("--exchange"));
    let dir = tempfile::tempdir().unwrap();
    let header = dir.path().join("h.csv");
    std::fs::write(&header, "time,o,h,l,c,v\n1,1,1,1,1,1\n").unwrap();
    let bad_header = btc_args(bin().arg("check").arg(&header)).output().unwrap();
    assert_eq!(bad_header.status.code(), Some(2));
    let bad_env = btc_args(
        bin()
            .env("SIGNAL_WORKER_NATS_URLL", "x")
            .arg("check")
            .arg(&data),
    )
    .output()
    .unwrap();
    assert_eq!(bad_env.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad_env.stderr).contains("SIGNAL_WORKER_NATS_URLL"));
}

#[test]
fn every_subcommand_has_help() {
    let out = bin().arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let commands: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .collect();
    assert!(commands.contains(&"check"), "{text}");
    for c in commands {
        let out = bin().args([c, "--help"]).output().unwrap();
        assert!(out.status.success(), "{c} --help");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Usage:"),
            "{c}"
        );
    }
}
