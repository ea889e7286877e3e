//! NATS subject filters over candle subjects (`<prefix>.<exchange>.<symbol>.<interval>`), as
//! routes name the candles their model scores.
//!
//! A candle subject always has exactly three identity tokens after its prefix, so a filter is
//! normalised to three positions, each a literal token or `*` (a trailing `>` covers every
//! position left). Matching and overlap are then exact and cheap: two filters overlap when every
//! position is compatible, which is precisely "some candle subject matches both".

/// One position of a normalised filter.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// Exactly this token.
    Literal(String),
    /// Any one token (`*`, or a position covered by a trailing `>`).
    Any,
}

impl Token {
    fn matches(&self, token: &str) -> bool {
        match self {
            Token::Literal(l) => l == token,
            Token::Any => true,
        }
    }

    fn compatible(&self, other: &Token) -> bool {
        match (self, other) {
            (Token::Literal(a), Token::Literal(b)) => a == b,
            _ => true,
        }
    }
}

/// A subject filter over candle subjects, normalised to the three identity positions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectFilter {
    /// The filter as written (for messages and metrics).
    text: String,
    positions: [Token; 3],
}

/// Why a filter is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    /// Not a NATS subject filter: an empty token, whitespace, a wildcard inside a token or `>`
    /// before the end.
    #[error("{0:?} is not a NATS subject filter: {1}")]
    Malformed(String, &'static str),
    /// The filter does not start with the candle subject prefix.
    #[error("{filter:?} is not a filter over candle subjects (it must start with {prefix:?})")]
    NotCandles {
        /// The filter.
        filter: String,
        /// The candle subject prefix.
        prefix: String,
    },
    /// The filter has too many or too few tokens for `<prefix>.<exchange>.<symbol>.<interval>`.
    #[error("{0:?} matches no candle subject (<prefix>.<exchange>.<symbol>.<interval>)")]
    MatchesNothing(String),
}

impl SubjectFilter {
    /// Parses `text` as a filter over the candle subjects under `prefix` (itself literal
    /// tokens, e.g. `candles`).
    pub fn parse(text: &str, prefix: &str) -> Result<Self, FilterError> {
        let malformed = |why| FilterError::Malformed(text.to_owned(), why);
        let tokens: Vec<&str> = text.split('.').collect();
        for (i, token) in tokens.iter().enumerate() {
            if token.is_empty() {
                return Err(malformed("an empty token"));
            }
            if token.chars().any(char::is_whitespace) {
                return Err(malformed("whitespace"));
            }
            if token.len() > 1 && (token.contains('*') || token.contains('>')) {
                return Err(malformed("a wildcard inside a token"));
            }
            if *token == ">" && i + 1 != tokens.len() {
                return Err(malformed("`>` before the last token"));
            }
        }
        let prefix_tokens: Vec<&str> = prefix.split('.').collect();
        let starts_with_prefix = tokens.len() >= prefix_tokens.len()
            && tokens.iter().zip(&prefix_tokens).all(|(t, p)| t == p);
        if !starts_with_prefix {
            return Err(FilterError::NotCandles {
                filter: text.to_owned(),
                prefix: prefix.to_owned(),
            });
        }
        let identity = &tokens[prefix_tokens.len()..];
        let mut positions = [Token::Any, Token::Any, Token::Any];
        let mut covered = 0;
        for token in identity {
            if *token == ">" {
                covered = 3;
                break;
            }
            let Some(slot) = positions.get_mut(covered) else {
                return Err(FilterError::MatchesNothing(text.to_owned()));
            };
            if *token != "*" {
                *slot = Token::Literal((*token).to_owned());
            }
            covered += 1;
        }
        // `>` needs at least one token; without it, exactly three identity tokens.
        let ends_open = identity.last() == Some(&">");
        if covered != 3 || (ends_open && identity.len() > 3) {
            return Err(FilterError::MatchesNothing(text.to_owned()));
        }
        Ok(Self {
            text: text.to_owned(),
            positions,
        })
    }

    /// `<prefix>.>`: every candle subject.
    pub fn everything(prefix: &str) -> Self {
        Self {
            text: format!("{prefix}.>"),
            positions: [Token::Any, Token::Any, Token::Any],
        }
    }

    /// The filter as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the candle subject of `exchange`, `symbol`, `interval` matches.
    pub fn matches(&self, exchange: &str, symbol: &str, interval: &str) -> bool {
        let [e, s, i] = &self.positions;
        e.matches(exchange) && s.matches(symbol) && i.matches(interval)
    }

    /// Whether some candle subject matches both filters.
    pub fn overlaps(&self, other: &SubjectFilter) -> bool {
        self.positions
            .iter()
            .zip(&other.positions)
            .all(|(a, b)| a.compatible(b))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn f(text: &str) -> SubjectFilter {
        SubjectFilter::parse(text, "candles").unwrap()
    }

    #[test]
    fn wildcards_match_as_nats_does() {
        assert!(f("candles.*.*.1h").matches("binance", "BTCUSDT", "1h"));
        assert!(!f("candles.*.*.1h").matches("binance", "BTCUSDT", "1m"));
        assert!(f("candles.>").matches("a", "b", "c"));
        assert!(f("candles.cffex.>").matches("cffex", "IC", "1m"));
        assert!(!f("candles.cffex.>").matches("binance", "IC", "1m"));
        assert!(f("candles.cffex.IF.1m").matches("cffex", "IF", "1m"));
        assert!(!f("candles.cffex.IF.1m").matches("cffex", "IC", "1m"));
    }

    #[test]
    fn overlap_is_some_subject_matching_both() {
        assert!(f("candles.*.*.1h").overlaps(&f("candles.binance.>")));
        assert!(f("candles.>").overlaps(&f("candles.a.b.c")));
        assert!(!f("candles.*.*.1h").overlaps(&f("candles.*.*.1m")));
        assert!(!f("candles.a.>").overlaps(&f("candles.b.*.*")));
        assert!(f("candles.a.*.1m").overlaps(&f("candles.*.x.*")));
    }

    #[test]
    fn malformed_or_foreign_filters_are_refused() {
        let refused = |text: &str| SubjectFilter::parse(text, "candles").unwrap_err();
        assert!(matches!(refused("candles..1h"), FilterError::Malformed(..)));
        assert!(matches!(
            refused("candles.>.1h"),
            FilterError::Malformed(..)
        ));
        assert!(matches!(
            refused("candles.a*.b.c"),
            FilterError::Malformed(..)
        ));
        assert!(matches!(
            refused("candles.a b.c.d"),
            FilterError::Malformed(..)
        ));
        assert!(matches!(
            refused("signals.*.*.1h"),
            FilterError::NotCandles { .. }
        ));
        assert!(matches!(refused(">"), FilterError::NotCandles { .. }));
        assert!(matches!(
            refused("candles.*.1h"),
            FilterError::MatchesNothing(_)
        ));
        assert!(matches!(
            refused("candles.a.b.c.d"),
            FilterError::MatchesNothing(_)
        ));
        assert!(matches!(refused("candles"), FilterError::MatchesNothing(_)));
    }

    #[test]
    fn a_dotted_prefix_is_matched_token_by_token() {
        let filter = SubjectFilter::parse("md.candles.*.*.1d", "md.candles").unwrap();
        assert!(filter.matches("x", "y", "1d"));
        assert!(SubjectFilter::parse("md.*.*.*.1d", "md.candles").is_err());
    }
}
