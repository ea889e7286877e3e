//! The wire contract: both encodings round-trip, and real values validate
//! against the JSON Schemas in `schemas/` while broken ones do not.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may fail loudly

use serde_json::{Value, json};
use signal_worker::contract::backtest::SIMULATION_WARNING;
use signal_worker::contract::codec::{self, Encoding};
use signal_worker::contract::{
    BacktestRequest, CandleMessage, ClassProbabilities, ModelRef, Side, Signal, Thresholds,
};
use signal_worker::error::{ErrorCode, ErrorReply};

fn schema(name: &str) -> jsonschema::Validator {
    let path = format!("{}/schemas/{name}.schema.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

fn candle() -> CandleMessage {
    // The first bar of data/btcusd-1h.csv.
    CandleMessage {
        exchange: "coinbase".into(),
        symbol: "BTCUSD".into(),
        interval: "1h".into(),
        open_time: 1_498_906_800_000,
        close_time: Some(1_498_910_399_999),
        open: 2505.56,
        high: 2513.38,
        low: 2495.12,
        close: 2509.17,
        volume: 114.6,
        trades: Some(312),
        is_closed: true,
    }
}

fn signal() -> Signal {
    Signal {
        exchange: "coinbase".into(),
        symbol: "BTCUSD".into(),
        interval: "1h".into(),
        open_time: 1_498_906_800_000,
        side: Side::Long,
        confidence: 0.61,
        probabilities: ClassProbabilities {
            long: 0.61,
            short: 0.14,
            neutral: 0.25,
        },
        model: ModelRef {
            name: "default".into(),
            version: "1".into(),
            sha256: "ab".repeat(32).into(),
        },
        thresholds: Thresholds {
            min_confidence: 0.45,
        },
    }
}

fn round_trip<T>(value: &T)
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    for enc in [Encoding::MessagePack, Encoding::Json] {
        let bytes = codec::encode(value, enc).unwrap();
        let back: T = codec::decode(&bytes, enc).unwrap();
        assert_eq!(&back, value, "{enc:?}");
    }
}

#[test]
fn every_wire_type_round_trips_in_both_encodings() {
    round_trip(&candle());
    round_trip(&signal());
    round_trip(
        &ErrorReply::new(ErrorCode::OutOfOrder, "older", Some("m-1".into()), 42)
            .with_detail("last", 7),
    );
    round_trip(&BacktestRequest {
        request_id: "bt-1".into(),
        exchange: Some("coinbase".into()),
        symbol: None,
        interval: Some("1h".into()),
        start: Some(1),
        end: None,
        model: None,
    });
}

#[test]
fn messagepack_uses_named_fields() {
    // Named fields (maps) let fields be added without breaking old readers.
    let bytes = codec::encode(&candle(), Encoding::MessagePack).unwrap();
    let generic: Value = rmp_serde::from_slice(&bytes).unwrap();
    assert_eq!(generic["symbol"], "BTCUSD");
    assert_eq!(generic["open_time"], 1_498_906_800_000_i64);
}

#[test]
fn content_type_selects_the_encoding() {
    assert_eq!(Encoding::from_content_type(None), Encoding::MessagePack);
    assert_eq!(
        Encoding::from_content_type(Some("application/json")),
        Encoding::Json
    );
    assert_eq!(
        Encoding::from_content_type(Some("application/json; charset=utf-8")),
        Encoding::Json
    );
    assert_eq!(
        Encoding::from_content_type(Some("application/msgpack")),
        Encoding::MessagePack
    );
}

fn assert_valid(validator: &jsonschema::Validator, value: &Value) {
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{value}: {errors:?}");
}

#[test]
fn real_values_validate_against_the_schemas() {
    assert_valid(&schema("candle"), &serde_json::to_value(candle()).unwrap());
    let mut no_optionals = candle();
    no_optionals.close_time = None;
    no_optionals.trades = None;
    assert_valid(
        &schema("candle"),
        &serde_json::to_value(no_optionals).unwrap(),
    );
    assert_valid(&schema("signal"), &serde_json::to_value(signal()).unwrap());
    for code in ErrorCode::ALL {
        let reply = ErrorReply::new(code, "m", None, 1).with_detail("k", "v");
        assert_valid(
            &schema("error-reply"),
            &serde_json::to_value(reply).unwrap(),
        );
    }
    let backtest = ErrorReply::new(
        ErrorCode::NotImplemented,
        SIMULATION_WARNING,
        Some("bt-1".into()),
        1,
    );
    assert_valid(
        &schema("error-reply"),
        &serde_json::to_value(backtest).unwrap(),
    );
    assert_valid(
        &schema("backtest-request"),
        &json!({"request_id": "bt-1", "symbol": "BTCUSD", "interval": "1h"}),
    );
}

#[test]
fn broken_values_fail_the_schemas() {
    let validator = schema("candle");
    let good = serde_json::to_value(candle()).unwrap();
    let breakages: [(&str, Value); 5] = [
        ("interval", json!("2m")),
        ("open", json!(-1.0)),
        ("volume", json!(-3)),
        ("symbol", json!("BTC.USD")),
        ("open_time", json!("yesterday")),
    ];
    for (field, bad) in breakages {
        let mut v = good.clone();
        v[field] = bad;
        assert!(
            !validator.is_valid(&v),
            "{field} should break the candle schema"
        );
    }
    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("is_closed");
    assert!(!validator.is_valid(&missing));
    let mut extra = good;
    extra["surprise"] = json!(1);
    assert!(!validator.is_valid(&extra));

    let mut s = serde_json::to_value(signal()).unwrap();
    s["side"] = json!("buy");
    assert!(!schema("signal").is_valid(&s));
    let mut s = serde_json::to_value(signal()).unwrap();
    s["confidence"] = json!(1.5);
    assert!(!schema("signal").is_valid(&s));

    let mut e = serde_json::to_value(ErrorReply::new(ErrorCode::Internal, "x", None, 1)).unwrap();
    e["error"]["code"] = json!("oops");
    assert!(!schema("error-reply").is_valid(&e));
    assert!(!schema("backtest-request").is_valid(&json!({"symbol": "BTCUSD"})));
}

#[test]
fn signal_message_id_is_deterministic() {
    let s = signal();
    assert_eq!(
        s.message_id(12),
        format!("coinbase:BTCUSD:1h:1498906800000:{}", &"ab".repeat(6))
    );
    assert_eq!(s.message_id(12), s.clone().message_id(12));
}
