//! Guarded division: the one place where "what if the denominator is zero"
//! is answered, so no feature can become NaN or infinite through a division.

/// `num / den`, or `fallback` when the quotient is not a finite number
/// (zero, subnormal-overflowing or non-finite denominator). Each caller
/// passes the value that means "no information" for its feature.
#[inline]
pub(crate) fn ratio_or(num: f64, den: f64, fallback: f64) -> f64 {
    let q = num / den;
    if q.is_finite() { q } else { fallback }
}

#[cfg(test)]
mod tests {
    use super::ratio_or;

    #[test]
    fn divides_normally() {
        assert_eq!(ratio_or(3.0, 2.0, 9.0), 1.5);
    }

    #[test]
    fn zero_and_non_finite_denominators_fall_back() {
        assert_eq!(ratio_or(1.0, 0.0, 7.0), 7.0);
        assert_eq!(ratio_or(0.0, 0.0, 7.0), 7.0);
        assert_eq!(ratio_or(1.0, f64::NAN, 7.0), 7.0);
        assert_eq!(ratio_or(f64::MAX, 1e-300, 7.0), 7.0);
    }
}
