//! Shared immutable text for the contract's names: a series' exchange, symbol and interval, a
//! model's name, version and hash.
//!
//! Every signal carries its series' names and its model's reference. As `String`s each signal
//! made six allocations, one per name, although the series and the model already hold the very
//! same text. A [`Text`] is a reference-counted `str`: a signal takes its names from its series
//! and its model by bumping a count. On the wire it is a plain string, exactly as before.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

/// A reference-counted, immutable string: cloned without allocating, compared by content,
/// serialised as a plain string.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Text(Arc<str>);

impl Text {
    /// The text as a `&str`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for Text {
    fn default() -> Self {
        Self(Arc::from(""))
    }
}

impl Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for Text {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for Text {
    fn from(value: &str) -> Self {
        Self(Arc::from(value))
    }
}

impl From<String> for Text {
    fn from(value: String) -> Self {
        Self(Arc::from(value))
    }
}

impl From<&String> for Text {
    fn from(value: &String) -> Self {
        Self(Arc::from(value.as_str()))
    }
}

impl From<Text> for String {
    fn from(value: Text) -> Self {
        value.0.to_string()
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

impl PartialEq<String> for Text {
    fn eq(&self, other: &String) -> bool {
        &*self.0 == other.as_str()
    }
}

impl PartialEq<Text> for &str {
    fn eq(&self, other: &Text) -> bool {
        *self == &*other.0
    }
}

impl PartialEq<Text> for String {
    fn eq(&self, other: &Text) -> bool {
        self.as_str() == &*other.0
    }
}

impl Serialize for Text {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clone_shares_the_text_and_compares_by_content() {
        let a = Text::from("binance");
        let b = a.clone();
        assert!(Arc::ptr_eq(&a.0, &b.0));
        assert_eq!(a, Text::from(String::from("binance")));
        assert_eq!(a, "binance");
        assert_eq!("binance", a);
        assert_ne!(a, "cffex");
        assert_eq!(a.to_string(), "binance");
        assert_eq!(format!("{a:?}"), "\"binance\"");
    }

    #[test]
    fn is_a_plain_string_on_the_wire() {
        let text = Text::from("1h");
        let json = serde_json::to_string(&text).unwrap();
        assert_eq!(json, "\"1h\"");
        assert_eq!(serde_json::from_str::<Text>(&json).unwrap(), text);
        let packed = rmp_serde::to_vec(&text).unwrap();
        assert_eq!(packed, rmp_serde::to_vec("1h").unwrap());
        assert_eq!(rmp_serde::from_slice::<Text>(&packed).unwrap(), text);
    }
}
