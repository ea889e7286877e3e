//! `signal-worker demo --routes`: two markets through one routed pipeline, each scored by the
//! model bound to its subjects, with every route's live scores against both baselines.
//!
//! The bundled hourly BTC/USD file and the two CFFEX 1-minute files (IC, IM) are merged by open
//! time (as a bus would interleave them) and routed by the settings' `[[models]]`, or, when there
//! are none, by the shipped routes: `crypto-1h` (`models/crypto-1h`, `candles.*.*.1h`) and
//! `futures-1m` (`models/cffex-1m`, `candles.cffex.*.1m`).

use crate::config::Settings;
use crate::config::routes::ModelRouteSettings;
use crate::contract::codec::{self, Encoding};
use crate::core::pipeline::{Input, Outcome};
use crate::core::routing::{Role, Router};
use crate::core::scoring::Scoreboard;
use crate::io::csv_file::CsvIdentity;
use std::collections::BTreeMap;
use std::path::Path;

/// The bundled files the routed demo interleaves, with their series identity.
const MARKETS: [(&str, &str, &str, &str); 3] = [
    ("data/btcusd-1h.csv", "coinbase", "BTCUSD", "1h"),
    ("data/icl8-cffex-1m.csv", "cffex", "IC", "1m"),
    ("data/iml8-cffex-1m.csv", "cffex", "IM", "1m"),
];

/// The shipped routes: each bundled market's own model.
fn shipped_routes() -> Vec<ModelRouteSettings> {
    let route = |name: &str, dir: &str, subject: &str| ModelRouteSettings {
        name: name.into(),
        dir: dir.into(),
        subjects: vec![subject.into()],
        role: Role::Live,
    };
    vec![
        route("crypto-1h", "models/crypto-1h", "candles.*.*.1h"),
        route("futures-1m", "models/cffex-1m", "candles.cffex.*.1m"),
    ]
}

/// Per route: candles routed to it, its signals, and its scoreboard.
struct RouteTally {
    candles: u64,
    signals: u64,
    board: Scoreboard,
}

/// Runs the routed demo over the bundled markets, `batch_size` candles per batch.
pub fn run(settings: &Settings, batch_size: usize) -> Result<(), String> {
    let routes = match settings.models.is_empty() {
        true => shipped_routes(),
        false => settings.models.clone(),
    };
    let pipelines = routes
        .iter()
        .map(|route| {
            let predictor = crate::runtime::model::load_predictor(settings, Path::new(&route.dir))
                .map_err(|e| format!("route {:?} ({}): {e}", route.name, route.dir))?;
            crate::runtime::model::build_pipeline(settings, predictor).map_err(|e| e.to_string())
        })
        .collect::<Result<Vec<_>, String>>()?;
    let specs: Vec<_> = routes.iter().map(ModelRouteSettings::spec).collect();
    let prefix = &settings.nats.candle_subject_prefix;
    let mut router = Router::new(&specs, pipelines, prefix, prefix).map_err(|e| e.to_string())?;
    let mut tallies: Vec<RouteTally> = router
        .lanes()
        .iter()
        .map(|lane| RouteTally {
            candles: 0,
            signals: 0,
            board: Scoreboard::new(
                lane.pipeline.training_counts(),
                lane.pipeline.feature_names(),
                settings.serve.score_window,
            ),
        })
        .collect();
    let bodies = interleaved(settings)?;
    let (mut unrouted, mut rejected) = (0u64, 0u64);
    for chunk in bodies.chunks(batch_size.max(1)) {
        let inputs: Vec<Input<'_>> = chunk.iter().map(|b| Input::recorded(b)).collect();
        let outcomes = router.process(&inputs, None).map_err(|e| e.to_string())?;
        for (input, outcome) in inputs.iter().zip(&outcomes) {
            match outcome {
                Outcome::Unrouted => unrouted += 1,
                Outcome::Rejected(_) => rejected += 1,
                _ => {}
            }
            let (live, shadows) = router.routes_of(input);
            for lane in live.into_iter().chain(shadows) {
                if let Some(tally) = tallies.get_mut(lane) {
                    tally.candles += 1;
                }
            }
            if let Some(tally) = live.and_then(|i| tallies.get_mut(i)) {
                tally.signals += u64::from(matches!(outcome, Outcome::Signal(_)));
            }
        }
        for shadow in router.take_shadow_signals() {
            let lane = router.lanes().iter().position(|l| l.name == shadow.route);
            if let Some(tally) = lane.and_then(|i| tallies.get_mut(i)) {
                tally.signals += 1;
            }
        }
        for (lane, tally) in router.lanes_mut().iter_mut().zip(&mut tallies) {
            tally.board.record(&lane.pipeline.take_scores());
        }
    }
    println!(
        "routed demo: {} candles from {} markets, {unrouted} unrouted, {rejected} rejected",
        bodies.len(),
        MARKETS.len()
    );
    println!(
        "  (each bundled file holds its shipped model's training slice: the untouched test slices \
         and walk-forward folds are in models/*/REPORT.md)"
    );
    for (lane, tally) in router.lanes().iter().zip(&tallies) {
        let model = lane.pipeline.model();
        let subjects: Vec<&str> = routes
            .iter()
            .find(|r| r.name == lane.name)
            .map(|r| r.subjects.iter().map(String::as_str).collect())
            .unwrap_or_default();
        println!(
            "route {} ({}, {}) model {} v{}: {} candles, {} signals",
            lane.name,
            lane.role.as_str(),
            subjects.join(" "),
            model.name,
            model.version,
            tally.candles,
            tally.signals
        );
        super::demo::print_scores(&tally.board.report(&lane.name));
    }
    Ok(())
}

/// The bundled markets' candles, MessagePack-encoded and merged by open time (stable: a tie
/// keeps file order).
fn interleaved(settings: &Settings) -> Result<Vec<Vec<u8>>, String> {
    let mut all: BTreeMap<(i64, usize, usize), Vec<u8>> = BTreeMap::new();
    for (market, (file, exchange, symbol, interval)) in MARKETS.iter().enumerate() {
        let identity = CsvIdentity {
            exchange: (*exchange).into(),
            symbol: (*symbol).into(),
            interval: (*interval).into(),
        };
        let records = crate::io::open_candles(
            Path::new(file),
            None,
            Some(identity),
            settings.validation.max_message_bytes,
        )
        .map_err(|e| format!("{file}: {e}"))?;
        for (row, record) in records.enumerate() {
            let record = record.map_err(|e| format!("{file}: {e}"))?;
            if let Ok(msg) = record.candle {
                let body = codec::encode(&msg, Encoding::MessagePack).map_err(|e| e.to_string())?;
                all.insert((msg.open_time, market, row), body);
            }
        }
    }
    Ok(all.into_values().collect())
}
