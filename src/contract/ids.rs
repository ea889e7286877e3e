//! Exchange and symbol names: validated newtypes, because they become NATS
//! subject tokens and Redis keys and must never contain separators.

use super::text::Text;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Longest accepted exchange or symbol name; longer ones are typos or attacks.
pub const MAX_NAME_LEN: usize = 64;

/// Why a name cannot be used as an exchange or symbol.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// The name is empty.
    #[error("{kind} is empty")]
    Empty {
        /// Which name ("exchange" or "symbol").
        kind: &'static str,
    },
    /// The name is longer than [`MAX_NAME_LEN`].
    #[error("{kind} is longer than {MAX_NAME_LEN} bytes")]
    TooLong {
        /// Which name.
        kind: &'static str,
    },
    /// The name has a character outside `[A-Za-z0-9_-]`.
    #[error("{kind} {value:?} may only contain ASCII letters, digits, '_' and '-'")]
    BadCharacter {
        /// Which name.
        kind: &'static str,
        /// The offending name.
        value: String,
    },
}

fn check(kind: &'static str, value: &str) -> Result<(), NameError> {
    if value.is_empty() {
        return Err(NameError::Empty { kind });
    }
    if value.len() > MAX_NAME_LEN {
        return Err(NameError::TooLong { kind });
    }
    // '.', '*', '>' and whitespace would break NATS subjects; ':' would break
    // the Nats-Msg-Id and Redis keys.
    if !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(NameError::BadCharacter {
            kind,
            value: value.to_owned(),
        });
    }
    Ok(())
}

macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        ///
        /// Shared ([`Text`]): a series' key is copied into every candle's bookkeeping of a
        /// batch (its pending forward pass, its scoring entry, its signal), and a copy is then a
        /// reference count, not an allocation per candle.
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(Text);

        impl $name {
            /// Validates and wraps a name.
            pub fn new(value: impl AsRef<str>) -> Result<Self, NameError> {
                let value = value.as_ref();
                check($kind, value)?;
                Ok(Self(Text::from(value)))
            }

            /// Checks a name without keeping it.
            pub fn check(value: &str) -> Result<(), NameError> {
                check($kind, value)
            }

            /// The name as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The name as shared text (a signal takes it without copying it).
            pub fn text(&self) -> &Text {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = NameError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::new(value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.0.into()
            }
        }

        impl std::str::FromStr for $name {
            type Err = NameError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::new(s)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

name_type!(
    /// An exchange name such as `binance` or `cffex`.
    Exchange,
    "exchange"
);
name_type!(
    /// An instrument symbol such as `BTCUSDT` or `IC-L8`.
    Symbol,
    "symbol"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_names() {
        assert!(Exchange::new("binance").is_ok());
        assert!(Symbol::new("BTC-USD_PERP").is_ok());
    }

    #[test]
    fn refuses_subject_breaking_names() {
        for bad in ["", "BTC.USD", "BTC*", ">", "a b", "x:y"] {
            assert!(Symbol::new(bad).is_err(), "{bad:?} accepted");
        }
        assert!(matches!(
            Exchange::new("e".repeat(65)),
            Err(NameError::TooLong { .. })
        ));
    }
}
