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

/// Whether `subject` is a literal NATS subject a message may be published to: non-empty
/// tokens separated by single dots, no wildcard, no whitespace or control character, at most
/// [`MAX_SUBJECT_BYTES`] bytes.
///
/// A few lines rather than a dependency: async-nats validates subjects only as an option of
/// the client, and a reply subject must be judged before anything is published.
pub fn is_valid_subject(subject: &str) -> bool {
    valid_tokens(subject, false)
}

/// Whether `filter` is a valid subject filter: like [`is_valid_subject`], but a token may be
/// `*`, and the last one `>`.
pub fn is_valid_filter(filter: &str) -> bool {
    valid_tokens(filter, true)
}

/// Longest subject accepted as a reply subject (the server's own default control-line limit
/// is 4 KiB for the whole protocol line).
pub const MAX_SUBJECT_BYTES: usize = 1_024;

fn valid_tokens(text: &str, wildcards: bool) -> bool {
    if text.is_empty() || text.len() > MAX_SUBJECT_BYTES {
        return false;
    }
    let tokens: Vec<&str> = text.split('.').collect();
    let last = tokens.len() - 1;
    tokens.iter().enumerate().all(|(i, token)| {
        if token.is_empty() || token.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return false;
        }
        match *token {
            "*" => wildcards,
            ">" => wildcards && i == last,
            t => !t.contains(['*', '>']),
        }
    })
}

/// Whether the literal `subject` matches the subject `filter` (`*` one token, `>` one or more
/// trailing tokens), as the NATS server matches them.
pub fn matches_filter(filter: &str, subject: &str) -> bool {
    let mut subject_tokens = subject.split('.');
    for f in filter.split('.') {
        match (f, subject_tokens.next()) {
            (">", Some(_)) => return true,
            ("*", Some(_)) => {}
            (f, Some(t)) if f == t => {}
            _ => return false,
        }
    }
    subject_tokens.next().is_none()
}

/// Whether `reply` may be answered: a valid literal subject matched by one of `allowed`.
pub fn reply_allowed(allowed: &[String], reply: &str) -> bool {
    is_valid_subject(reply) && allowed.iter().any(|f| matches_filter(f, reply))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn judges_subjects_and_filters_as_the_server_does() {
        for ok in ["_INBOX.abc", "a", "a.b.c", "_INBOX.x-y_z.1"] {
            assert!(is_valid_subject(ok), "{ok}");
        }
        for bad in [
            "",
            ".",
            "a.",
            ".a",
            "a..b",
            "a b",
            "a.*",
            "a.>",
            "a\tb",
            "a\r\nPUB x",
        ] {
            assert!(!is_valid_subject(bad), "{bad:?}");
        }
        assert!(!is_valid_subject(&"a".repeat(MAX_SUBJECT_BYTES + 1)));
        for ok in ["_INBOX.>", "a.*.c", ">", "*"] {
            assert!(is_valid_filter(ok), "{ok}");
        }
        for bad in ["a.>.c", "a*", "a.b>", ""] {
            assert!(!is_valid_filter(bad), "{bad:?}");
        }
    }

    #[test]
    fn filters_match_like_nats() {
        assert!(matches_filter("_INBOX.>", "_INBOX.a"));
        assert!(matches_filter("_INBOX.>", "_INBOX.a.b"));
        assert!(!matches_filter("_INBOX.>", "_INBOX"));
        assert!(matches_filter("a.*.c", "a.b.c"));
        assert!(!matches_filter("a.*.c", "a.b.c.d"));
        assert!(!matches_filter("a.*", "a"));
        assert!(matches_filter("a.b", "a.b"));
        assert!(!matches_filter("a.b", "a.bb"));
    }

    #[test]
    fn only_allowed_valid_replies_are_answered() {
        let allowed = vec!["_INBOX.>".to_owned()];
        assert!(reply_allowed(&allowed, "_INBOX.k3j4.1"));
        for bad in [
            "signals.a.b.1h",
            "candles.a.b.1h",
            "dlq.oversize",
            "$JS.API.STREAM.DELETE.SIGNALS",
            "_INBOX.a b",
            "_INBOX",
            "_INBOX.>",
        ] {
            assert!(!reply_allowed(&allowed, bad), "{bad}");
        }
    }

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
