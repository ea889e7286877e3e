//! The series the stream tests run on: the bundled markets, synthetic series made to hit every
//! branch, and the column copies a stream opens on.

use crate::core::bar::Bar;
use crate::core::features::bars::Columns;

/// The column copies of `bars`, as a history hands them to an opener.
pub(super) fn columns(bars: &[Bar]) -> Columns {
    Columns {
        high: bars.iter().map(|b| b.high).collect(),
        low: bars.iter().map(|b| b.low).collect(),
        close: bars.iter().map(|b| b.close).collect(),
        volume: bars.iter().map(|b| b.volume).collect(),
    }
}

/// A bundled market file (`data/`), every row a bar.
pub(super) fn bundled(name: &str) -> Vec<Bar> {
    let path = format!("{}/data/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    text.lines()
        .skip(1)
        .map(|line| {
            let f: Vec<f64> = line.split(',').map(|v| v.parse().unwrap()).collect();
            Bar {
                open_time: f[0] as i64,
                open: f[1],
                high: f[2],
                low: f[3],
                close: f[4],
                volume: f[5],
            }
        })
        .collect()
}

/// xorshift64*: a few lines of deterministic noise, so the core needs no model import.
struct Noise(u64);

impl Noise {
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A random walk at `level` with flat stretches (every price equal: the flat-range guard and
/// VAR's anchored re-seed), frozen closes inside a range, spikes, and regime changes of scale.
pub(super) fn synthetic(seed: u64, level: f64, n: usize) -> Vec<Bar> {
    let mut noise = Noise(seed | 1);
    let mut close = level;
    let mut bars = Vec::with_capacity(n);
    for i in 0..n {
        let phase = (i / 40) % 5;
        let (open, high, low);
        match phase {
            0 => {
                // Flat: every price the same for 40 bars.
                open = close;
                high = close;
                low = close;
            }
            1 => {
                // Frozen close, moving range.
                open = close;
                high = close * (1.0 + noise.unit() * 1e-3);
                low = close * (1.0 - noise.unit() * 1e-3);
            }
            _ => {
                open = close;
                let spike = if noise.unit() < 0.02 { 50.0 } else { 1.0 };
                close *= 1.0 + (noise.unit() - 0.5) * 0.02 * spike;
                close = close.max(level * 1e-6);
                high = open.max(close) * (1.0 + noise.unit() * 0.01);
                low = open.min(close) * (1.0 - noise.unit() * 0.01);
            }
        }
        bars.push(Bar {
            open_time: i as i64 * 60_000,
            open,
            high,
            low,
            close,
            volume: 1.0,
        });
    }
    bars
}
