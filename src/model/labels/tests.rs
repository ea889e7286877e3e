use super::*;

#[test]
fn labels_follow_thresholds_and_leave_the_tail_unlabelled() {
    let spec = LabelSpec {
        horizon: 2,
        long_threshold: 0.01,
        short_threshold: -0.01,
        ..LabelSpec::default()
    };
    let closes = [100.0, 100.0, 101.0, 99.0, 98.9, 99.0];
    let labels = spec.label(&closes);
    assert_eq!(
        labels,
        Ok(vec![
            Some(Side::Long),    // 101/100-1 = +1 % (>= threshold)
            Some(Side::Short),   // 99/100-1 = -1 %
            Some(Side::Short),   // 98.9/101-1 = -2.1 %
            Some(Side::Neutral), // 99/99-1 = 0
            None,
            None,
        ])
    );
}

#[test]
fn bad_spec_and_bad_closes_are_refused() {
    let spec = LabelSpec::default();
    assert_eq!(
        LabelSpec { horizon: 0, ..spec }.validate(),
        Err(LabelError::ZeroHorizon)
    );
    assert!(
        LabelSpec {
            long_threshold: -0.1,
            ..spec
        }
        .validate()
        .is_err()
    );
    assert!(matches!(
        spec.label(&[1.0, 0.0, 2.0]),
        Err(LabelError::BadClose { row: 1, .. })
    ));
}

pub(super) fn walk(n: usize) -> Vec<f64> {
    let mut x = 100.0;
    (0..n)
        .map(|i| {
            let u = ((i as f64 * 12.9898).sin() * 43_758.545).fract();
            x *= 1.0 + 0.01 * (u - 0.5);
            x
        })
        .collect()
}

fn volatility(k: f64) -> LabelSpec {
    LabelSpec {
        kind: LabelKind::Volatility,
        horizon: 4,
        volatility_k: k,
        volatility_window: 20,
        ..LabelSpec::default()
    }
}

#[test]
fn volatility_labels_never_look_ahead() {
    let closes = walk(600);
    let spec = volatility(0.5);
    let labels = spec.label(&closes).unwrap_or_default();
    for cut in [100, 250, 599] {
        // Rewrite everything from `cut` on: the labels of rows whose horizon ends before it
        // stay as they were.
        let mut rewritten = closes.clone();
        for (i, c) in rewritten.iter_mut().enumerate().skip(cut) {
            *c *= 1.0 + 0.05 * ((i % 7) as f64 - 3.0);
        }
        let again = spec.label(&rewritten).unwrap_or_default();
        assert_eq!(
            labels[..cut - spec.horizon],
            again[..cut - spec.horizon],
            "cut {cut}"
        );
    }
    // No label without a full window before or a full horizon after.
    assert!(labels[..20].iter().all(Option::is_none));
    assert!(labels[600 - 4..].iter().all(Option::is_none));
    assert!(labels[20..600 - 4].iter().all(Option::is_some));
}

#[test]
fn volatility_labels_scale_with_k_and_read_alike_at_any_price_scale() {
    let closes = walk(2_000);
    let count =
        |labels: &[Option<Side>], side: Side| labels.iter().filter(|l| **l == Some(side)).count();
    let tight = volatility(0.1).label(&closes).unwrap_or_default();
    let wide = volatility(2.0).label(&closes).unwrap_or_default();
    assert!(count(&wide, Side::Neutral) > count(&tight, Side::Neutral));
    assert!(count(&tight, Side::Long) > count(&wide, Side::Long));
    // Ten times the volatility (every return scaled): the same labels.
    let calm = walk(2_000);
    let mut wild = vec![calm[0]];
    for w in calm.windows(2) {
        let r = (w[1] / w[0]).ln() * 10.0;
        let last = wild.last().copied().unwrap_or(1.0);
        wild.push(last * r.exp());
    }
    let spec = volatility(0.5);
    assert_eq!(spec.label(&calm), spec.label(&wild));
    assert!(volatility(0.0).validate().is_err());
    assert!(
        LabelSpec {
            volatility_window: 1,
            ..volatility(1.0)
        }
        .validate()
        .is_err()
    );
}
