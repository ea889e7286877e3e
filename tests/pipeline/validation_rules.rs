//! One test per validation rule: each breaks exactly one thing in a real candle
//! (the first bar of the bundled BTC/USD file) and expects exactly its code.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may fail loudly

use signal_worker::contract::CandleMessage;
use signal_worker::contract::codec::{self, Encoding};
use signal_worker::contract::subject::parse_subject;
use signal_worker::core::intake::{Intake, Verdict};
use signal_worker::core::sequence::{SequenceOutcome, SequenceSettings};
use signal_worker::core::validate::{ValidationSettings, decode_candle, validate_candle};
use signal_worker::error::ErrorCode;

const HOUR: i64 = 3_600_000;
/// 2017-07-01 11:00 UTC, the first bar of data/btcusd-1h.csv.
const T0: i64 = 1_498_906_800_000;

fn real() -> CandleMessage {
    CandleMessage {
        exchange: "coinbase".into(),
        symbol: "BTCUSD".into(),
        interval: "1h".into(),
        open_time: T0,
        close_time: Some(T0 + HOUR - 1),
        open: 2505.56,
        high: 2513.38,
        low: 2495.12,
        close: 2509.17,
        volume: 114.6,
        trades: None,
        is_closed: true,
    }
}

fn code_of(msg: &CandleMessage) -> Option<ErrorCode> {
    validate_candle(msg, None, Some(T0 + HOUR), &ValidationSettings::default())
        .err()
        .map(|r| r.code)
}

#[test]
fn the_real_candle_is_valid() {
    assert_eq!(code_of(&real()), None);
    let mut end_convention = real();
    end_convention.close_time = Some(T0 + HOUR);
    assert_eq!(code_of(&end_convention), None);
    let mut no_close_time = real();
    no_close_time.close_time = None;
    assert_eq!(code_of(&no_close_time), None);
}

#[test]
fn non_finite_numbers() {
    for f in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let mut m = real();
        m.close = f;
        assert_eq!(code_of(&m), Some(ErrorCode::NonFinite));
        let mut m = real();
        m.volume = f;
        assert_eq!(code_of(&m), Some(ErrorCode::NonFinite));
    }
}

#[test]
fn non_positive_prices() {
    let mut m = real();
    m.low = 0.0;
    assert_eq!(code_of(&m), Some(ErrorCode::NonPositivePrice));
    let mut m = real();
    m.open = -1.0;
    assert_eq!(code_of(&m), Some(ErrorCode::NonPositivePrice));
}

#[test]
fn negative_volume() {
    let mut m = real();
    m.volume = -0.5;
    assert_eq!(code_of(&m), Some(ErrorCode::NegativeVolume));
    m.volume = 0.0;
    assert_eq!(
        code_of(&m),
        None,
        "zero volume is real (btcusd has 28 such bars)"
    );
}

#[test]
fn high_below_body() {
    let mut m = real();
    m.high = 2509.0; // below close 2509.17
    assert_eq!(code_of(&m), Some(ErrorCode::HighBelowBody));
}

#[test]
fn low_above_body() {
    let mut m = real();
    m.low = 2506.0; // above open 2505.56
    assert_eq!(code_of(&m), Some(ErrorCode::LowAboveBody));
}

#[test]
fn misaligned_open_time() {
    let mut m = real();
    m.open_time += 60_000;
    m.close_time = None;
    assert_eq!(code_of(&m), Some(ErrorCode::MisalignedOpenTime));
}

#[test]
fn inconsistent_close_time() {
    let mut m = real();
    m.close_time = Some(T0 + 60_000);
    assert_eq!(code_of(&m), Some(ErrorCode::InconsistentCloseTime));
}

#[test]
fn subject_tokens_must_agree_with_the_body() {
    let ok = parse_subject("candles", "candles.coinbase.BTCUSD.1h").unwrap();
    let settings = ValidationSettings::default();
    assert!(validate_candle(&real(), Some(&ok), None, &settings).is_ok());
    for subject in [
        "candles.binance.BTCUSD.1h",
        "candles.coinbase.ETHUSD.1h",
        "candles.coinbase.BTCUSD.4h",
    ] {
        let tokens = parse_subject("candles", subject).unwrap();
        let err = validate_candle(&real(), Some(&tokens), None, &settings).unwrap_err();
        assert_eq!(err.code, ErrorCode::SubjectMismatch, "{subject}");
    }
}

#[test]
fn unknown_interval() {
    let mut m = real();
    m.interval = "2m".into();
    assert_eq!(code_of(&m), Some(ErrorCode::UnknownInterval));
}

#[test]
fn bad_names_are_invalid_fields() {
    let mut m = real();
    m.symbol = "BTC.USD".into();
    assert_eq!(code_of(&m), Some(ErrorCode::InvalidField));
}

#[test]
fn future_open_time_uses_the_clock_passed_in() {
    let settings = ValidationSettings {
        max_future_skew_ms: 5_000,
        ..ValidationSettings::default()
    };
    // An open (not yet closed) bar: only its open time is judged against the clock.
    let mut m = real();
    m.is_closed = false;
    assert!(
        validate_candle(&m, None, Some(T0 - 5_000), &settings).is_ok(),
        "within skew"
    );
    let err = validate_candle(&m, None, Some(T0 - 5_001), &settings).unwrap_err();
    assert_eq!(err.code, ErrorCode::FutureOpenTime);
    assert!(
        validate_candle(&m, None, None, &settings).is_ok(),
        "no clock, no future check"
    );
}

#[test]
fn a_bar_marked_closed_must_have_ended() {
    let settings = ValidationSettings {
        max_future_skew_ms: 5_000,
        ..ValidationSettings::default()
    };
    let closed = real();
    let end = T0 + HOUR;
    assert!(validate_candle(&closed, None, Some(end - 5_000), &settings).is_ok());
    let err = validate_candle(&closed, None, Some(end - 5_001), &settings).unwrap_err();
    assert_eq!(err.code, ErrorCode::FutureOpenTime);
    assert!(err.detail.contains("marked closed"), "{}", err.detail);
    assert!(validate_candle(&closed, None, None, &settings).is_ok());
}

#[test]
fn oversize_messages_are_refused_before_decoding() {
    let settings = ValidationSettings {
        max_message_bytes: 100,
        ..ValidationSettings::default()
    };
    let bytes = codec::encode(&real(), Encoding::Json).unwrap();
    assert!(bytes.len() > 100);
    let err = decode_candle(&bytes, Encoding::Json, &settings).unwrap_err();
    assert_eq!(err.code, ErrorCode::Oversize);
    assert!(decode_candle(&bytes, Encoding::Json, &ValidationSettings::default()).is_ok());
}

#[test]
fn undecodable_bytes() {
    let settings = ValidationSettings::default();
    for bytes in [&b"\xc1\xff\x00"[..], b"{\"exchange\": 1}", b""] {
        for enc in [Encoding::MessagePack, Encoding::Json] {
            let err = decode_candle(bytes, enc, &settings).unwrap_err();
            assert_eq!(err.code, ErrorCode::Undecodable);
        }
    }
    // JSON bytes sent without the JSON content type are not MessagePack.
    let json = codec::encode(&real(), Encoding::Json).unwrap();
    assert_eq!(
        decode_candle(&json, Encoding::MessagePack, &settings)
            .unwrap_err()
            .code,
        ErrorCode::Undecodable
    );
}

#[test]
fn per_series_duplicates_out_of_order_and_gaps() {
    let mut intake: Intake = Intake::new(
        ValidationSettings::default(),
        SequenceSettings {
            gap_reset_bars: 3,
            ..Default::default()
        },
    );
    let at = |t: i64| {
        let mut m = real();
        m.open_time = t;
        m.close_time = None;
        m
    };
    let seq = |v: Verdict| match v {
        Verdict::Accepted { sequence, .. } => Ok(sequence),
        Verdict::Duplicate(_) => Err(ErrorCode::Duplicate),
        Verdict::Rejected(r) => Err(r.code),
        Verdict::NotClosed(_) => Err(ErrorCode::InvalidField),
    };
    assert_eq!(
        seq(intake.judge(&at(T0), None, None)),
        Ok(SequenceOutcome::First)
    );
    assert_eq!(
        seq(intake.judge(&at(T0 + HOUR), None, None)),
        Ok(SequenceOutcome::Next)
    );
    assert_eq!(
        seq(intake.judge(&at(T0 + HOUR), None, None)),
        Err(ErrorCode::Duplicate)
    );
    assert_eq!(
        seq(intake.judge(&at(T0), None, None)),
        Err(ErrorCode::OutOfOrder)
    );
    assert_eq!(
        seq(intake.judge(&at(T0 + 4 * HOUR), None, None)),
        Ok(SequenceOutcome::Gap {
            missing: 2,
            reset: false
        })
    );
    assert_eq!(
        seq(intake.judge(&at(T0 + 9 * HOUR), None, None)),
        Ok(SequenceOutcome::Gap {
            missing: 4,
            reset: true
        })
    );
    // Another series is ordered independently.
    let mut other = at(T0);
    other.symbol = "ETHUSD".into();
    assert_eq!(
        seq(intake.judge(&other, None, None)),
        Ok(SequenceOutcome::First)
    );
    assert_eq!(intake.series_count(), 2);
    // An open (not closed) bar never reaches the series state.
    let mut open = at(T0 + 10 * HOUR);
    open.is_closed = false;
    assert!(matches!(
        intake.judge(&open, None, None),
        Verdict::NotClosed(_)
    ));
    assert_eq!(
        seq(intake.judge(&at(T0 + 10 * HOUR), None, None)),
        Ok(SequenceOutcome::Next)
    );
}

#[test]
fn open_time_has_bounds_and_extreme_times_never_overflow() {
    let settings = ValidationSettings::default();
    for t in [
        i64::MIN,
        -HOUR,
        i64::MAX,
        i64::MAX - HOUR + 1,
        253_402_300_800_000,
    ] {
        let mut m = real();
        m.open_time = t;
        m.close_time = Some(t.wrapping_add(HOUR));
        let err = validate_candle(&m, None, Some(T0), &settings).unwrap_err();
        assert_eq!(err.code, ErrorCode::OpenTimeOutOfRange, "{t}");
    }
    // Inside the range, no clock: still judged without overflow.
    let mut m = real();
    m.open_time = 253_402_297_200_000; // 9999-12-31 23:00 UTC
    m.close_time = None;
    assert!(validate_candle(&m, None, None, &settings).is_ok());
    let narrow = ValidationSettings {
        min_open_time_ms: T0 + HOUR,
        ..ValidationSettings::default()
    };
    assert_eq!(
        validate_candle(&real(), None, None, &narrow)
            .unwrap_err()
            .code,
        ErrorCode::OpenTimeOutOfRange
    );
}

#[test]
fn allow_lists_refuse_other_exchanges_and_intervals() {
    let settings = ValidationSettings {
        allowed_exchanges: vec!["coinbase".into()],
        allowed_intervals: vec!["1h".into(), "1m".into()],
        ..ValidationSettings::default()
    };
    assert!(validate_candle(&real(), None, None, &settings).is_ok());
    let mut other_exchange = real();
    other_exchange.exchange = "madeup".into();
    let mut other_interval = real();
    other_interval.interval = "5m".into();
    other_interval.open_time = T0;
    other_interval.close_time = None;
    for m in [other_exchange, other_interval] {
        assert_eq!(
            validate_candle(&m, None, None, &settings).unwrap_err().code,
            ErrorCode::NotAllowed
        );
    }
    assert!(
        ValidationSettings {
            allowed_intervals: vec!["7m".into()],
            ..ValidationSettings::default()
        }
        .validate()
        .is_err()
    );
}

#[test]
fn the_series_cap_refuses_new_series_and_idle_ones_are_evicted() {
    let mut intake: Intake = Intake::new(
        ValidationSettings::default(),
        SequenceSettings {
            max_series: 2,
            idle_evict_ms: 10 * HOUR,
            ..Default::default()
        },
    );
    let series = |symbol: &str, t: i64| {
        let mut m = real();
        m.symbol = symbol.into();
        m.open_time = t;
        m.close_time = None;
        m
    };
    let now = T0 + HOUR;
    assert!(matches!(
        intake.judge(&series("A", T0), None, Some(now)),
        Verdict::Accepted { .. }
    ));
    assert!(matches!(
        intake.judge(&series("B", T0), None, Some(now)),
        Verdict::Accepted { .. }
    ));
    match intake.judge(&series("C", T0), None, Some(now)) {
        Verdict::Rejected(r) => assert_eq!(r.code, ErrorCode::SeriesLimit),
        other => panic!("{other:?}"),
    }
    assert_eq!(intake.series_count(), 2, "a refused series leaves no state");
    // Known series go on past the cap.
    assert!(matches!(
        intake.judge(&series("A", T0 + HOUR), None, Some(now + HOUR)),
        Verdict::Accepted { .. }
    ));
    // B falls silent: evicted once idle for 10 h plus two of its bars, A is not.
    assert!(intake.evict_idle(now + 12 * HOUR).is_empty());
    let evicted = intake.evict_idle(now + 12 * HOUR + 1);
    assert_eq!(evicted.len(), 1);
    assert_eq!(evicted[0].symbol.as_str(), "B");
    assert_eq!(intake.series_count(), 1);
    // Room again: C is accepted now, and B starts afresh.
    assert!(matches!(
        intake.judge(&series("C", T0 + 13 * HOUR), None, Some(now + 13 * HOUR)),
        Verdict::Accepted {
            sequence: SequenceOutcome::First,
            ..
        }
    ));
    // Full again: B cannot come back until another series is evicted; then it starts afresh.
    match intake.judge(&series("B", T0 + 13 * HOUR), None, Some(now + 13 * HOUR)) {
        Verdict::Rejected(r) => assert_eq!(r.code, ErrorCode::SeriesLimit),
        other => panic!("{other:?}"),
    }
    assert_eq!(intake.evict_idle(now + 100 * HOUR).len(), 2);
    assert!(matches!(
        intake.judge(&series("B", T0 + 14 * HOUR), None, Some(now + 100 * HOUR)),
        Verdict::Accepted {
            sequence: SequenceOutcome::First,
            ..
        }
    ));
    // Off when idle_evict_ms is 0.
    let mut never: Intake = Intake::new(
        ValidationSettings::default(),
        SequenceSettings {
            idle_evict_ms: 0,
            ..Default::default()
        },
    );
    never.judge(&series("A", T0), None, Some(now));
    assert!(never.evict_idle(i64::MAX).is_empty());
}

#[test]
fn session_closures_are_no_gap_and_outages_still_reset() {
    const MIN: i64 = 60_000;
    // 2024-03-04 (Monday) 09:30 Asia/Shanghai = 01:30 UTC.
    const MON_0930: i64 = 1_709_515_800_000;
    const DAY: i64 = 24 * 60 * MIN;
    let mut intake: Intake =
        Intake::new(ValidationSettings::default(), SequenceSettings::default());
    let bar = |exchange: &str, t: i64| {
        let mut m = real();
        m.exchange = exchange.into();
        m.symbol = "IC".into();
        m.interval = "1m".into();
        m.open_time = t;
        m.close_time = None;
        m
    };
    let seq = |v: Verdict| match v {
        Verdict::Accepted { sequence, .. } => Some(sequence),
        _ => None,
    };
    // The same instants on the shipped CFFEX session and on a 24/7 exchange.
    let close_mon = MON_0930 + 5 * 60 * MIN + 29 * MIN; // 14:59 local
    let open_tue = MON_0930 + DAY; // 09:30 local
    let lunch = (MON_0930 + 119 * MIN, MON_0930 + 210 * MIN); // 11:29 → 13:00
    for (exchange, night, lunch_gap) in [
        ("cffex", SequenceOutcome::Next, SequenceOutcome::Next),
        (
            "anywhere",
            SequenceOutcome::Gap {
                missing: 1_110,
                reset: true,
            },
            SequenceOutcome::Gap {
                missing: 90,
                reset: false,
            },
        ),
    ] {
        assert_eq!(
            seq(intake.judge(&bar(exchange, lunch.0), None, None)),
            Some(SequenceOutcome::First)
        );
        assert_eq!(
            seq(intake.judge(&bar(exchange, lunch.1), None, None)),
            Some(lunch_gap),
            "{exchange}: lunch"
        );
        intake.judge(&bar(exchange, close_mon), None, None);
        assert_eq!(
            seq(intake.judge(&bar(exchange, open_tue), None, None)),
            Some(night),
            "{exchange}: night"
        );
    }
    // A real outage inside the sessions still resets: Tuesday 5 March 09:30 → Tuesday 12 March
    // 09:30 misses the rest of Tuesday and four trading days (the weekend is a closure).
    assert_eq!(
        seq(intake.judge(&bar("cffex", open_tue + 7 * DAY), None, None)),
        Some(SequenceOutcome::Gap {
            missing: 239 + 4 * 240,
            reset: true
        })
    );
    // And one missing bar inside a session is a one-bar gap.
    let next = open_tue + 7 * DAY;
    assert_eq!(
        seq(intake.judge(&bar("cffex", next + 2 * MIN), None, None)),
        Some(SequenceOutcome::Gap {
            missing: 1,
            reset: false
        })
    );
}
