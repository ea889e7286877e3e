//! Subject names: `<prefix>.<exchange>.<symbol>.<interval>`.

/// The three identity tokens carried by a candle or signal subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectTokens<'a> {
    /// Token 2: exchange.
    pub exchange: &'a str,
    /// Token 3: symbol.
    pub symbol: &'a str,
    /// Token 4: interval.
    pub interval: &'a str,
}

/// Splits `subject` into its identity tokens if it is `<prefix>.<e>.<s>.<i>`.
pub fn parse_subject<'a>(prefix: &str, subject: &'a str) -> Option<SubjectTokens<'a>> {
    let rest = subject.strip_prefix(prefix)?.strip_prefix('.')?;
    let mut parts = rest.split('.');
    let (exchange, symbol, interval) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || exchange.is_empty() || symbol.is_empty() || interval.is_empty() {
        return None;
    }
    Some(SubjectTokens {
        exchange,
        symbol,
        interval,
    })
}

/// Builds `<prefix>.<exchange>.<symbol>.<interval>`.
pub fn series_subject(prefix: &str, exchange: &str, symbol: &str, interval: &str) -> String {
    format!("{prefix}.{exchange}.{symbol}.{interval}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_four_token_subjects_only() {
        let t = parse_subject("candles", "candles.binance.BTCUSDT.1m").unwrap();
        assert_eq!(
            (t.exchange, t.symbol, t.interval),
            ("binance", "BTCUSDT", "1m")
        );
        assert!(parse_subject("candles", "candles.binance.BTCUSDT").is_none());
        assert!(parse_subject("candles", "candles.a.b.c.d").is_none());
        assert!(parse_subject("candles", "signals.a.b.c").is_none());
        assert!(parse_subject("candles", "candlesx.a.b.c").is_none());
        assert!(parse_subject("candles", "candles.a..c").is_none());
    }

    #[test]
    fn builds_what_it_parses() {
        let s = series_subject("signals", "e", "s", "1h");
        let t = parse_subject("signals", &s).unwrap();
        assert_eq!((t.exchange, t.symbol, t.interval), ("e", "s", "1h"));
    }
}
