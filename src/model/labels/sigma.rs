//! The volatility a volatility-scaled label is measured against: the standard deviation of
//! one-bar log returns, rolled forward over a file for training, or computed directly from the
//! recent closes of one series for live scoring. Both must agree (tested).

/// The standard deviation (n − 1) of the one-bar log returns of `closes` — the last `window + 1`
/// closes up to a row give that row's `σ`, computed directly from exact sums (equal to
/// [`rolling_sigma`] to rounding; tested). `None` with fewer than two returns.
pub fn sigma_of(closes: &[f64]) -> Option<f64> {
    if closes.len() < 3 {
        return None;
    }
    let returns = closes.windows(2).map(|w| (w[1] / w[0]).ln());
    let (sum, sum_sq) = returns.fold((0.0f64, 0.0f64), |(s, q), r| (s + r, q + r * r));
    let n = (closes.len() - 1) as f64;
    let mean = sum / n;
    Some(((sum_sq - n * mean * mean) / (n - 1.0)).max(0.0).sqrt())
}

/// The standard deviation of the `window` one-bar log returns ending at each row (`None` until
/// `window` returns exist). Computed forward only, so a row's value never depends on later rows.
/// Sums are rebuilt every `window` rows: a running sum's rounding cannot drift over a long file.
pub(super) fn rolling_sigma(closes: &[f64], window: usize) -> Vec<Option<f64>> {
    let returns: Vec<f64> = closes.windows(2).map(|w| (w[1] / w[0]).ln()).collect();
    let mut out = vec![None; closes.len()];
    let (mut sum, mut sum_sq) = (0.0f64, 0.0f64);
    for (i, r) in returns.iter().enumerate() {
        if i % window == 0 && i >= window {
            // Exact sums of the window ending at i - 1.
            let past = &returns[i - window..i];
            sum = past.iter().sum();
            sum_sq = past.iter().map(|x| x * x).sum();
        }
        sum += r;
        sum_sq += r * r;
        if i >= window {
            let old = returns[i - window];
            sum -= old;
            sum_sq -= old * old;
        }
        if i + 1 >= window {
            let n = window as f64;
            let mean = sum / n;
            let variance = ((sum_sq - n * mean * mean) / (n - 1.0)).max(0.0);
            // Row i + 1's close ends return i.
            if let Some(slot) = out.get_mut(i + 1) {
                *slot = Some(variance.sqrt());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::tests::walk;
    use super::*;

    #[test]
    fn rolling_sigma_matches_the_direct_computation() {
        let closes = walk(500);
        let sigma = rolling_sigma(&closes, 20);
        for (t, got) in sigma.iter().enumerate() {
            if t < 20 {
                assert_eq!(*got, None, "row {t}");
                continue;
            }
            let r: Vec<f64> = (t - 19..=t)
                .map(|i| (closes[i] / closes[i - 1]).ln())
                .collect();
            let mean = r.iter().sum::<f64>() / 20.0;
            let var = r.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 19.0;
            let got = got.unwrap_or(f64::NAN);
            assert!(
                (got - var.sqrt()).abs() < 1e-12,
                "row {t}: {got} vs {}",
                var.sqrt()
            );
            // The live scorer's direct form, over the 21 closes ending at t.
            let direct = sigma_of(&closes[t - 20..=t]).unwrap_or(f64::NAN);
            assert!((got - direct).abs() < 1e-12, "row {t}: {got} vs {direct}");
        }
    }
}
