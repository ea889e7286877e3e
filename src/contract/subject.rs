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

/// The subject transform that spreads series over `partitions` partitions: source
/// `<prefix>.*.*.*`, destination `<prefix>.{{partition(P,1,2,3)}}.<exchange>.<symbol>.<interval>`.
///
/// NATS hashes the three identity tokens, so a series always lands in the same partition and
/// a partition's messages keep their stream order.
pub fn partition_transform(prefix: &str, partitions: u32) -> (String, String) {
    (
        format!("{prefix}.*.*.*"),
        format!(
            "{prefix}.{{{{partition({partitions},1,2,3)}}}}.{{{{wildcard(1)}}}}.{{{{wildcard(2)}}}}.{{{{wildcard(3)}}}}"
        ),
    )
}

/// The subject prefix of partition `partition`'s stored candles: `<prefix>.<partition>`. Parsing
/// a stored subject with it ([`parse_subject`]) yields the series it belongs to.
pub fn partition_prefix(prefix: &str, partition: u32) -> String {
    format!("{prefix}.{partition}")
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

    #[test]
    fn a_partition_prefix_parses_the_stored_subjects_of_its_partition_only() {
        let p = partition_prefix("candles", 3);
        let t = parse_subject(&p, "candles.3.binance.BTCUSDT.1m").unwrap();
        assert_eq!(
            (t.exchange, t.symbol, t.interval),
            ("binance", "BTCUSDT", "1m")
        );
        assert!(parse_subject(&p, "candles.2.binance.BTCUSDT.1m").is_none());
        assert!(parse_subject(&p, "candles.binance.BTCUSDT.1m").is_none());
        let (source, dest) = partition_transform("candles", 4);
        assert_eq!(source, "candles.*.*.*");
        assert_eq!(
            dest,
            "candles.{{partition(4,1,2,3)}}.{{wildcard(1)}}.{{wildcard(2)}}.{{wildcard(3)}}"
        );
    }
}
