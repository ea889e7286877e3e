//! Each stream here against ta-lib's own, bit for bit, bar by bar: opened on the same history,
//! then updated bar after bar (the live path, reading a history of the fewest bars a warm series
//! keeps), and opened again part-way on a later stretch (the restore path).

use super::{Atr, Bbands, Cci, Ema, Macd, Obv, ReadsBack, Roc, Rsi, Stoch, TakesBars, Willr};
use crate::core::bar::Bar;
use crate::core::features::FEWEST_RETAINED_BARS;
use crate::core::features::bars::{BarHistory, Columns};
use series::{bundled, columns, synthetic};

mod series;
use ta_lib::{
    AtrStream, BbandsStream, CciStream, Core, EmaStream, MAType, MacdStream, ObvStream, RetCode,
    RocStream, RsiStream, SmaStream, StochStream, WillrStream,
};

/// The windowed streams, then the exponential ones.
type Ours = (
    (Stoch<14, 3, 3>, Willr<14>, Bbands<20>, Roc<12>, Cci<20>),
    (
        Rsi<14>,
        Macd<12, 26, 9>,
        Ema<9>,
        Ema<21>,
        Ema<50>,
        Atr<14>,
        Obv,
    ),
);
type Theirs = (
    (
        StochStream,
        WillrStream,
        BbandsStream,
        SmaStream,
        RocStream,
        CciStream,
    ),
    (
        RsiStream,
        MacdStream,
        EmaStream,
        EmaStream,
        EmaStream,
        AtrStream,
        ObvStream,
    ),
);

/// Every output of both sets, as bits: stoch k, d, willr, sma, upper, middle, lower, roc, cci,
/// rsi, macd, signal, hist, ema 9, 21, 50, atr, obv.
type Row = [u64; 18];

fn bits(values: [f64; 18]) -> Row {
    values.map(f64::to_bits)
}

fn open_ours(c: &Columns) -> Result<(Ours, Row), RetCode> {
    let (stoch, (k, d)) = Stoch::open(c)?;
    let (willr, r) = Willr::open(c)?;
    let (bbands, (sma, up, mid, low)) = Bbands::open(c, 2.0)?;
    let (roc, rate) = Roc::open(c)?;
    let (cci, channel) = Cci::open(c)?;
    let (rsi, strength) = Rsi::open(c)?;
    let (macd, (m, sig, hist)) = Macd::open(c)?;
    let (e9, v9) = Ema::open(c)?;
    let (e21, v21) = Ema::open(c)?;
    let (e50, v50) = Ema::open(c)?;
    let (atr, range) = Atr::open(c)?;
    let (obv, level) = Obv::open(c)?;
    let row = [
        k, d, r, sma, up, mid, low, rate, channel, strength, m, sig, hist, v9, v21, v50, range,
        level,
    ];
    Ok((
        (
            (stoch, willr, bbands, roc, cci),
            (rsi, macd, e9, e21, e50, atr, obv),
        ),
        bits(row),
    ))
}

fn open_theirs(c: &Columns) -> Result<(Theirs, Row), RetCode> {
    let core = Core::new();
    let (stoch, (k, d)) = core.stoch_open(
        &c.high,
        &c.low,
        &c.close,
        14,
        3,
        MAType::SMA,
        3,
        MAType::SMA,
    )?;
    let (willr, r) = core.willr_open(&c.high, &c.low, &c.close, 14)?;
    let (bbands, (up, mid, low)) = core.bbands_open(&c.close, 20, 2.0, 2.0, MAType::SMA)?;
    let (sma, s) = core.sma_open(&c.close, 20)?;
    let (roc, rate) = core.roc_open(&c.close, 12)?;
    let (cci, channel) = core.cci_open(&c.high, &c.low, &c.close, 20)?;
    let (rsi, strength) = core.rsi_open(&c.close, 14)?;
    let (macd, (m, sig, hist)) = core.macd_open(&c.close, 12, 26, 9)?;
    let (e9, v9) = core.ema_open(&c.close, 9)?;
    let (e21, v21) = core.ema_open(&c.close, 21)?;
    let (e50, v50) = core.ema_open(&c.close, 50)?;
    let (atr, range) = core.atr_open(&c.high, &c.low, &c.close, 14)?;
    let (obv, level) = core.obv_open(&c.close, &c.volume)?;
    let row = [
        k, d, r, s, up, mid, low, rate, channel, strength, m, sig, hist, v9, v21, v50, range, level,
    ];
    Ok((
        (
            (stoch, willr, bbands, sma, roc, cci),
            (rsi, macd, e9, e21, e50, atr, obv),
        ),
        bits(row),
    ))
}

fn update_ours(s: &mut Ours, history: &BarHistory, bar: &Bar) -> Result<Row, RetCode> {
    let (w, e) = s;
    let (k, d) = w.0.update(history)?;
    let r = w.1.update(history)?;
    let (sma, up, mid, low) = w.2.update(history)?;
    let rate = w.3.update(history)?;
    let channel = w.4.update(history)?;
    let strength = e.0.update(bar)?;
    let (m, sig, hist) = e.1.update(bar)?;
    let (v9, v21, v50) = (e.2.update(bar)?, e.3.update(bar)?, e.4.update(bar)?);
    let range = e.5.update(bar)?;
    let level = e.6.update(bar)?;
    Ok(bits([
        k, d, r, sma, up, mid, low, rate, channel, strength, m, sig, hist, v9, v21, v50, range,
        level,
    ]))
}

fn update_theirs(s: &mut Theirs, bar: &Bar) -> Result<Row, RetCode> {
    let (w, e) = s;
    let (k, d) = w.0.update(bar.high, bar.low, bar.close)?;
    let r = w.1.update(bar.high, bar.low, bar.close)?;
    let (up, mid, low) = w.2.update(bar.close)?;
    let sma = w.3.update(bar.close)?;
    let rate = w.4.update(bar.close)?;
    let channel = w.5.update(bar.high, bar.low, bar.close)?;
    let strength = e.0.update(bar.close)?;
    let (m, sig, hist) = e.1.update(bar.close)?;
    let (v9, v21, v50) = (
        e.2.update(bar.close)?,
        e.3.update(bar.close)?,
        e.4.update(bar.close)?,
    );
    let range = e.5.update(bar.high, bar.low, bar.close)?;
    let level = e.6.update(bar.close, bar.volume)?;
    Ok(bits([
        k, d, r, sma, up, mid, low, rate, channel, strength, m, sig, hist, v9, v21, v50, range,
        level,
    ]))
}

/// Opens both sets on `bars[from..]` as soon as both can (never one without the other), then
/// updates both on every later bar; returns how many rows were compared.
fn assert_same(bars: &[Bar], from: usize, label: &str) -> usize {
    let bars = &bars[from..];
    let mut history = BarHistory::new(FEWEST_RETAINED_BARS);
    let mut open: Option<(Ours, Theirs)> = None;
    let mut compared = 0;
    for (n, bar) in bars.iter().enumerate() {
        history.push(*bar, false);
        let (ours, theirs) = match open.as_mut() {
            Some((ours, theirs)) => (update_ours(ours, &history, bar), update_theirs(theirs, bar)),
            None => {
                let c = columns(&bars[..=n]);
                match (open_ours(&c), open_theirs(&c)) {
                    (Ok((o, row_o)), Ok((t, row_t))) => {
                        open = Some((o, t));
                        (Ok(row_o), Ok(row_t))
                    }
                    (Err(a), Err(b)) => {
                        assert_eq!(a, b, "{label}: bar {n}: both refuse to open, alike");
                        continue;
                    }
                    (a, b) => panic!(
                        "{label}: bar {n}: one opens and not the other: {:?} vs {:?}",
                        a.map(|r| r.1),
                        b.map(|r| r.1)
                    ),
                }
            }
        };
        assert_eq!(ours, theirs, "{label}: bar {} (from {from})", n + from);
        compared += 1;
    }
    compared
}

#[test]
fn equal_to_ta_lib_over_the_bundled_markets() {
    for name in ["btcusd-1h.csv", "icl8-cffex-1m.csv", "iml8-cffex-1m.csv"] {
        let bars = bundled(name);
        let compared = assert_same(&bars, 0, name);
        assert_eq!(
            compared,
            bars.len() - 49,
            "{name}: every bar from EMA(50)'s first"
        );
        // A restore: opened on a later stretch of retained bars.
        assert_same(&bars, bars.len() / 2, name);
    }
}

#[test]
fn equal_to_ta_lib_on_flat_spiking_and_rescaled_series() {
    for (seed, level) in [(1, 100.0), (2, 1e-6), (3, 3.2e9), (4, 0.5), (5, 65_000.0)] {
        let bars = synthetic(seed, level, 4_000);
        let label = format!("seed {seed} level {level}");
        assert!(assert_same(&bars, 0, &label) > 3_900);
        // Volumes that vary (OBV's three branches).
        let mut varied = bars.clone();
        for (i, bar) in varied.iter_mut().enumerate() {
            bar.volume = (i % 7) as f64 * 1.5;
        }
        assert_same(&varied, 0, &label);
        assert_same(&bars, 1_234, &label);
    }
}

#[test]
fn each_opens_on_exactly_the_history_ta_lib_opens_on() {
    let bars = synthetic(9, 10.0, 60);
    let core = Core::new();
    let answer = |r: Result<(), RetCode>| r.err();
    for n in 1..=bars.len() {
        let c = columns(&bars[..n]);
        let pairs = [
            (
                answer(Stoch::<14, 3, 3>::open(&c).map(drop)),
                answer(
                    core.stoch_open(
                        &c.high,
                        &c.low,
                        &c.close,
                        14,
                        3,
                        MAType::SMA,
                        3,
                        MAType::SMA,
                    )
                    .map(drop),
                ),
            ),
            (
                answer(Willr::<14>::open(&c).map(drop)),
                answer(core.willr_open(&c.high, &c.low, &c.close, 14).map(drop)),
            ),
            (
                answer(Bbands::<20>::open(&c, 2.0).map(drop)),
                answer(
                    core.bbands_open(&c.close, 20, 2.0, 2.0, MAType::SMA)
                        .map(drop),
                ),
            ),
            (
                answer(Roc::<12>::open(&c).map(drop)),
                answer(core.roc_open(&c.close, 12).map(drop)),
            ),
            (
                answer(Cci::<20>::open(&c).map(drop)),
                answer(core.cci_open(&c.high, &c.low, &c.close, 20).map(drop)),
            ),
            (
                answer(Rsi::<14>::open(&c).map(drop)),
                answer(core.rsi_open(&c.close, 14).map(drop)),
            ),
            (
                answer(Macd::<12, 26, 9>::open(&c).map(drop)),
                answer(core.macd_open(&c.close, 12, 26, 9).map(drop)),
            ),
            (
                answer(Ema::<50>::open(&c).map(drop)),
                answer(core.ema_open(&c.close, 50).map(drop)),
            ),
            (
                answer(Atr::<14>::open(&c).map(drop)),
                answer(core.atr_open(&c.high, &c.low, &c.close, 14).map(drop)),
            ),
            (
                answer(Obv::open(&c).map(drop)),
                answer(core.obv_open(&c.close, &c.volume).map(drop)),
            ),
        ];
        for (i, (ours, theirs)) in pairs.into_iter().enumerate() {
            assert_eq!(ours, theirs, "stream {i} on {n} bars");
        }
    }
    // The first bars each can open on: lookback + 1.
    let first =
        |open: &dyn Fn(&Columns) -> bool| (1..=bars.len()).find(|&n| open(&columns(&bars[..n])));
    assert_eq!(first(&|c| Stoch::<14, 3, 3>::open(c).is_ok()), Some(18));
    assert_eq!(first(&|c| Willr::<14>::open(c).is_ok()), Some(14));
    assert_eq!(first(&|c| Bbands::<20>::open(c, 2.0).is_ok()), Some(20));
    assert_eq!(first(&|c| Roc::<12>::open(c).is_ok()), Some(13));
    assert_eq!(first(&|c| Cci::<20>::open(c).is_ok()), Some(20));
    assert_eq!(first(&|c| Rsi::<14>::open(c).is_ok()), Some(15));
    assert_eq!(first(&|c| Macd::<12, 26, 9>::open(c).is_ok()), Some(34));
    assert_eq!(first(&|c| Ema::<50>::open(c).is_ok()), Some(50));
    assert_eq!(first(&|c| Atr::<14>::open(c).is_ok()), Some(15));
    assert_eq!(first(&|c| Obv::open(c).is_ok()), Some(1));
}

#[test]
fn a_history_missing_the_window_is_an_error_not_a_panic() {
    let bars = synthetic(11, 10.0, 60);
    let (mut bbands, _) = Bbands::<20>::open(&columns(&bars), 2.0).unwrap();
    let mut short = BarHistory::new(FEWEST_RETAINED_BARS);
    short.push(bars[0], false);
    assert_eq!(bbands.update(&short).err(), Some(RetCode::InternalError));
}

#[test]
fn the_streams_hold_no_heap_and_little_inline() {
    // Against ta-lib's 1,360 (STOCH) + 840 (BBANDS) bytes inline, and their heap rings.
    assert!(std::mem::size_of::<Stoch<14, 3, 3>>() <= 160);
    assert!(std::mem::size_of::<Willr<14>>() <= 48);
    assert!(std::mem::size_of::<Bbands<20>>() <= 72);
    assert!(std::mem::size_of::<Roc<12>>() <= 8);
    assert!(std::mem::size_of::<Cci<20>>() <= 8);
}
